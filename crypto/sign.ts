/**
 * Ed25519 signatures, BLAKE2b hashing and randomness through libsodium.
 *
 * libsodium is WebAssembly that initialises asynchronously: `await
 * cryptoReady()` once at start-up; every function below throws
 * `CRYPTO_NOT_READY` if called earlier instead of failing obscurely inside
 * libsodium. The hex codec and `constantTimeEqual` need no initialisation.
 */
import sodium from 'libsodium-wrappers';
import { FedmartCryptoError } from './errors.js';
import { assertBytes, assertInteger } from './assert.js';
import { isBytes } from './assert.js';

export { toHex, fromHex, constantTimeEqual } from './bytes.js';

/** Ed25519 public key length. */
export const SIGNING_PUBLIC_KEY_BYTES = 32;
/** Ed25519 secret key length in libsodium's format (seed || public key). */
export const SIGNING_SECRET_KEY_BYTES = 64;
/** Ed25519 seed length. */
export const SIGNING_SEED_BYTES = 32;
/** Ed25519 detached signature length. */
export const SIGNATURE_BYTES = 64;
/** Output length of `blake2b256`. */
export const DIGEST_BYTES = 32;
/** Largest single `randomBytes` request (1 MiB), a guard against accidental huge allocations. */
export const MAX_RANDOM_BYTES = 1 << 20;

let readyPromise: Promise<void> | undefined;
let ready = false;

/** Initialises libsodium once per process; safe to call (and await) many times. */
export function cryptoReady(): Promise<void> {
  if (readyPromise === undefined) {
    readyPromise = sodium.ready.then(() => {
      ready = true;
    });
  }
  return readyPromise;
}

function lib(): typeof sodium {
  if (!ready) {
    throw new FedmartCryptoError('CRYPTO_NOT_READY', 'await cryptoReady() before using signatures, hashes or randomness');
  }
  return sodium;
}

/** An Ed25519 key pair; `secretKey` is libsodium's 64-byte seed||publicKey form. */
export interface SigningKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** Generates an Ed25519 key pair from the OS random source. */
export function generateSigningKeyPair(): SigningKeyPair {
  const kp = lib().crypto_sign_keypair();
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/**
 * Derives an Ed25519 key pair from a 32-byte seed (RFC 8032 "private key").
 * Deterministic: used for test vectors and for keys stored as seeds.
 */
export function signingKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  assertBytes(seed, 'seed', SIGNING_SEED_BYTES);
  const kp = lib().crypto_sign_seed_keypair(seed);
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/**
 * Ed25519 detached signature over `digest` (any byte string; by convention
 * a 32-byte `statementDigest`, so that what is signed is always a
 * domain-separated canonical statement).
 */
export function signDigest(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes(digest, 'digest');
  assertBytes(secretKey, 'secretKey', SIGNING_SECRET_KEY_BYTES);
  return lib().crypto_sign_detached(digest, secretKey);
}

/**
 * Verifies an Ed25519 detached signature. Returns false — never throws — for
 * a wrong-length signature or key, a non-canonical or small-order key, or a
 * bad signature: these come from untrusted peers and are simply "not valid".
 * Only a non-Uint8Array argument (a programming error) throws TypeError.
 */
export function verifyDigest(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean {
  assertBytes(signature, 'signature');
  assertBytes(digest, 'digest');
  assertBytes(publicKey, 'publicKey');
  const s = lib();
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== SIGNING_PUBLIC_KEY_BYTES) return false;
  try {
    return s.crypto_sign_verify_detached(signature, digest, publicKey);
  } catch {
    return false;
  }
}

/**
 * BLAKE2b with a 256-bit output (not a truncation of BLAKE2b-512: the output
 * length is part of BLAKE2b's parameter block). Optional `key` (16–64 bytes)
 * gives keyed BLAKE2b, a MAC/PRF used e.g. for shop-held pseudonym keys.
 */
export function blake2b256(data: Uint8Array, key?: Uint8Array): Uint8Array {
  return blake2b(data, DIGEST_BYTES, key);
}

/**
 * BLAKE2b with a chosen output length (16–64 bytes) and optional 16–64-byte
 * key. `blake2b256` is the project default; other lengths exist for
 * interoperability and for checking against published BLAKE2b-512 vectors.
 */
export function blake2b(data: Uint8Array, outputLength: number, key?: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  assertInteger(outputLength, 'outputLength', 16, 64);
  const s = lib();
  if (key !== undefined) {
    if (!isBytes(key)) throw new TypeError('key must be a Uint8Array or undefined');
    if (key.length < s.crypto_generichash_KEYBYTES_MIN || key.length > s.crypto_generichash_KEYBYTES_MAX) {
      throw new RangeError(
        `key must be ${s.crypto_generichash_KEYBYTES_MIN}..${s.crypto_generichash_KEYBYTES_MAX} bytes long, got ${key.length}`,
      );
    }
  }
  return s.crypto_generichash(outputLength, data, key ?? null);
}

/** `n` bytes from libsodium's CSPRNG (the OS random source). 0 <= n <= 1 MiB. */
export function randomBytes(n: number): Uint8Array {
  assertInteger(n, 'n', 0, MAX_RANDOM_BYTES);
  if (n === 0) return new Uint8Array(0);
  return lib().randombytes_buf(n);
}
