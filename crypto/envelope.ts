/**
 * Signed statements exchanged between shops, coordinator and key holder.
 *
 * Each statement is reduced to a 32-byte digest with `statementDigest` under
 * its own domain, and that digest is signed with Ed25519. Binding every field
 * (round, shop, key, parameter set, slot layout, each ciphertext's hash and
 * length, time, nonce) means a valid signature cannot be replayed into another
 * round, re-targeted at another key, or combined with swapped ciphertexts.
 */
import { statementDigest } from './canonical.js';
import { blake2b256, signDigest, verifyDigest, DIGEST_BYTES, SIGNING_PUBLIC_KEY_BYTES } from './sign.js';
import { assertArray, assertBigInt, assertBytes, assertBytesInRange, assertInteger, assertString, describe } from './assert.js';

/** Domain of contribution envelopes. */
export const ENVELOPE_DOMAIN = 'fedmart/v1/contribution-envelope';
/** Domain of merchant enrolment (proof of possession of the signing key). */
export const ENROLMENT_DOMAIN = 'fedmart/v1/enrolment';
/** Domain of the key holder's statement about a round's HE public key. */
export const PUBLIC_KEY_BUNDLE_DOMAIN = 'fedmart/v1/public-key-bundle';
/** Smallest accepted envelope nonce (replay protection needs enough entropy). */
export const ENVELOPE_NONCE_MIN_BYTES = 16;
/** Largest accepted envelope nonce. */
export const ENVELOPE_NONCE_MAX_BYTES = 64;
/** Recommended nonce length for new envelopes (`randomBytes(ENVELOPE_NONCE_BYTES)`). */
export const ENVELOPE_NONCE_BYTES = 32;
/** Longest accepted identifier (query id, merchant id, parameter set name), in UTF-16 units. */
export const MAX_ID_LENGTH = 256;

/** What a shop signs about one contribution. */
export interface ContributionEnvelope {
  readonly queryId: string;
  readonly merchantId: string;
  /** BLAKE2b-256 of the query specification the shop answered. */
  readonly specDigest: Uint8Array;
  /** `heKeyId` of the public key the ciphertexts are encrypted under. */
  readonly keyId: Uint8Array;
  readonly paramSet: string;
  /** `SlotLayout.digest()` of the layout used for encoding. */
  readonly layoutDigest: Uint8Array;
  /** BLAKE2b-256 of each serialized ciphertext, in order. */
  readonly ciphertextDigests: readonly Uint8Array[];
  /** Byte length of each serialized ciphertext, in order. */
  readonly ciphertextLengths: readonly number[];
  /** Creation time, Unix milliseconds. */
  readonly createdUnixMs: bigint;
  /** 16–64 random bytes; the coordinator rejects a repeated nonce. */
  readonly nonce: Uint8Array;
  /**
   * BLAKE2b-256 of the exact bytes of the shop's consent attestation for this
   * round, so the signature covers the consent evidence as well as the data.
   */
  readonly attestationDigest: Uint8Array;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function assertId(value: unknown, name: string): asserts value is string {
  assertString(value, name, true);
  if (value.length > MAX_ID_LENGTH) {
    throw new RangeError(`${name} must be at most ${MAX_ID_LENGTH} characters, got ${value.length}`);
  }
  // The canonical encoding needs UTF-8, so validation refuses what digesting would.
  if (LONE_SURROGATE.test(value)) throw new RangeError(`${name} must be well-formed Unicode (it contains a lone surrogate)`);
}

/**
 * Checks every field's type and size. Called by the digest/sign/verify
 * functions; exported so that an intake can reject a malformed envelope with
 * a precise message before looking at signatures.
 */
export function validateEnvelope(env: ContributionEnvelope): void {
  if (typeof env !== 'object' || env === null) throw new TypeError(`env must be an object, got ${describe(env)}`);
  assertId(env.queryId, 'env.queryId');
  assertId(env.merchantId, 'env.merchantId');
  assertBytes(env.specDigest, 'env.specDigest', DIGEST_BYTES);
  assertBytes(env.keyId, 'env.keyId', DIGEST_BYTES);
  assertId(env.paramSet, 'env.paramSet');
  assertBytes(env.layoutDigest, 'env.layoutDigest', DIGEST_BYTES);
  assertArray(env.ciphertextDigests, 'env.ciphertextDigests');
  assertArray(env.ciphertextLengths, 'env.ciphertextLengths');
  if (env.ciphertextDigests.length === 0) throw new RangeError('env.ciphertextDigests must not be empty');
  if (env.ciphertextLengths.length !== env.ciphertextDigests.length) {
    throw new RangeError(
      `env.ciphertextLengths must have one entry per ciphertext digest (${env.ciphertextDigests.length}), got ${env.ciphertextLengths.length}`,
    );
  }
  env.ciphertextDigests.forEach((d, i) => assertBytes(d, `env.ciphertextDigests[${i}]`, DIGEST_BYTES));
  env.ciphertextLengths.forEach((n, i) => assertInteger(n, `env.ciphertextLengths[${i}]`, 1));
  assertBigInt(env.createdUnixMs, 'env.createdUnixMs');
  if (env.createdUnixMs < 0n || env.createdUnixMs >= 1n << 63n) {
    throw new RangeError(`env.createdUnixMs must be in [0, 2^63), got ${env.createdUnixMs}`);
  }
  assertBytesInRange(env.nonce, 'env.nonce', ENVELOPE_NONCE_MIN_BYTES, ENVELOPE_NONCE_MAX_BYTES);
  assertBytes(env.attestationDigest, 'env.attestationDigest', DIGEST_BYTES);
}

/** The 32-byte digest a shop signs for `env` (domain `fedmart/v1/contribution-envelope`). */
export function envelopeDigest(env: ContributionEnvelope): Uint8Array {
  validateEnvelope(env);
  return statementDigest(ENVELOPE_DOMAIN, [
    env.queryId,
    env.merchantId,
    env.specDigest,
    env.keyId,
    env.paramSet,
    env.layoutDigest,
    [...env.ciphertextDigests],
    [...env.ciphertextLengths],
    env.createdUnixMs,
    env.nonce,
    env.attestationDigest,
  ]);
}

/** Signs `env` with the shop's Ed25519 secret key (64 bytes). */
export function signEnvelope(env: ContributionEnvelope, secretKey: Uint8Array): Uint8Array {
  return signDigest(envelopeDigest(env), secretKey);
}

/**
 * True iff `signature` is the shop's valid signature over `env`. A malformed
 * envelope throws (it is a different failure from a forged signature); a
 * wrong-length or invalid signature or key returns false.
 */
export function verifyEnvelope(env: ContributionEnvelope, signature: Uint8Array, publicKey: Uint8Array): boolean {
  return verifyDigest(signature, envelopeDigest(env), publicKey);
}

/**
 * Statement a merchant signs at enrolment to prove it holds the secret key
 * of `signingPublicKey` and binds that key to its merchant id.
 */
export function enrolmentDigest(merchantId: string, signingPublicKey: Uint8Array): Uint8Array {
  assertId(merchantId, 'merchantId');
  assertBytes(signingPublicKey, 'signingPublicKey', SIGNING_PUBLIC_KEY_BYTES);
  return statementDigest(ENROLMENT_DOMAIN, [merchantId, signingPublicKey]);
}

/**
 * Statement the key holder signs to vouch for an HE public key: shops encrypt
 * only under a key whose bundle signature verifies against the key holder's
 * signing key, so the coordinator cannot substitute a key it controls.
 */
export function publicKeyBundleDigest(paramSet: string, keyId: Uint8Array): Uint8Array {
  assertId(paramSet, 'paramSet');
  assertBytes(keyId, 'keyId', DIGEST_BYTES);
  return statementDigest(PUBLIC_KEY_BUNDLE_DOMAIN, [paramSet, keyId]);
}

/** Identifier of an HE public key: BLAKE2b-256 of its uncompressed serialization. */
export function heKeyId(publicKey: Uint8Array): Uint8Array {
  assertBytes(publicKey, 'publicKey');
  if (publicKey.length === 0) throw new RangeError('publicKey must not be empty');
  return blake2b256(publicKey);
}
