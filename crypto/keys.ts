/**
 * BFV key generation, encryption and decryption over serialized bytes.
 *
 * Keys and ciphertexts cross process boundaries only as uncompressed SEAL
 * serializations (`Uint8Array`); every serialization is validated
 * structurally before it is loaded into SEAL. SEAL objects are freed in
 * `finally` blocks: the WASM heap is not garbage-collected promptly.
 */
import type { HeContext } from './context.js';
import { deleteAll } from './context.js';
import { internalsOf } from './context-internals.js';
import { FedmartCryptoError, NoiseBudgetExhaustedError } from './errors.js';
import { describe } from './assert.js';
import type { SEALLibrary } from './seal-loader.js';
import { packCiphertext, unpackCiphertext } from './packed-ciphertext.js';

type SealEncryptor = ReturnType<SEALLibrary['Encryptor']>;
type SealDecryptor = ReturnType<SEALLibrary['Decryptor']>;

function assertContext(ctx: unknown): asserts ctx is HeContext {
  if (typeof ctx !== 'object' || ctx === null || typeof (ctx as { validateCiphertext?: unknown }).validateCiphertext !== 'function') {
    throw new TypeError(`ctx must be an HeContext, got ${describe(ctx)}`);
  }
}

function sealFailure(what: string, e: unknown): FedmartCryptoError {
  if (e instanceof FedmartCryptoError) return e;
  return new FedmartCryptoError('SEAL_FAILURE', `SEAL failed while ${what}: ${String(e)}`, { cause: e });
}

/**
 * Generates a fresh BFV key pair (128-bit security). Only the key holder
 * calls this; the secret key must be stored encrypted at rest by the caller.
 * Returns uncompressed serializations (public key 262,257 bytes, secret key
 * 131,160 bytes for `bfv-8192-t40`).
 */
export function generateHeKeys(ctx: HeContext): { publicKey: Uint8Array; secretKey: Uint8Array } {
  assertContext(ctx);
  const { seal, context } = internalsOf(ctx);
  const keygen = seal.KeyGenerator(context);
  let pk: ReturnType<typeof keygen.createPublicKey> | undefined;
  let sk: ReturnType<typeof keygen.secretKey> | undefined;
  try {
    pk = keygen.createPublicKey();
    sk = keygen.secretKey();
    return {
      publicKey: pk.saveArray(seal.ComprModeType.none),
      secretKey: sk.saveArray(seal.ComprModeType.none),
    };
  } catch (e) {
    throw sealFailure('generating keys', e);
  } finally {
    deleteAll(sk, pk, keygen);
  }
}

/**
 * Encrypts batched plaintext vectors under one public key (a shop's view).
 * The public key is validated before SEAL loads it, so a hostile coordinator
 * cannot crash the shop's WASM instance with a malformed key.
 */
export class HeEncryptor {
  readonly #ctx: HeContext;
  #encryptor: SealEncryptor | undefined;

  constructor(ctx: HeContext, publicKey: Uint8Array) {
    assertContext(ctx);
    ctx.validatePublicKey(publicKey);
    const { seal, context } = internalsOf(ctx);
    const pk = seal.PublicKey();
    try {
      pk.loadArray(context, publicKey);
      this.#encryptor = seal.Encryptor(context, pk);
    } catch (e) {
      throw sealFailure('loading the public key', e);
    } finally {
      deleteAll(pk);
    }
    this.#ctx = ctx;
  }

  /**
   * Encrypts one vector of exactly `ctx.slotCount` slot values, each < t.
   * Returns the uncompressed serialized ciphertext (`ctx.ciphertextByteLength` bytes).
   * @throws TypeError unless `slots` is a BigUint64Array; RangeError on wrong length or a value >= t
   */
  encrypt(slots: BigUint64Array): Uint8Array {
    if (!(slots instanceof BigUint64Array)) {
      throw new TypeError(`slots must be a BigUint64Array, got ${describe(slots)}`);
    }
    const ctx = this.#ctx;
    if (slots.length !== ctx.slotCount) {
      throw new RangeError(`slots must have exactly ${ctx.slotCount} entries, got ${slots.length}`);
    }
    const t = ctx.plainModulus;
    for (let i = 0; i < slots.length; i++) {
      if ((slots[i] as bigint) >= t) {
        throw new RangeError(`slots[${i}] must be below the plain modulus ${t}, got ${slots[i]}`);
      }
    }
    const encryptor = this.#live();
    const { seal, encoder } = internalsOf(ctx);
    const plain = seal.PlainText();
    const cipher = seal.CipherText();
    try {
      encoder.encode(slots, plain);
      encryptor.encrypt(plain, cipher);
      return cipher.saveArray(seal.ComprModeType.none);
    } catch (e) {
      throw sealFailure('encrypting', e);
    } finally {
      deleteAll(cipher, plain);
    }
  }

  /**
   * `encrypt`, then `packCiphertext`: the ciphertext in its wire form
   * (`ctx.packedCiphertextByteLength` bytes, 6 % smaller than SEAL's).
   * Sign these bytes, not the SEAL serialization.
   * @throws as `encrypt`
   */
  encryptPacked(slots: BigUint64Array): Uint8Array {
    return packCiphertext(this.#ctx, this.encrypt(slots));
  }

  /**
   * `count` fresh public-key encryptions of zero (SEAL's uncompressed
   * serialization, `ctx.ciphertextByteLength` bytes each), for an
   * `EncZeroPool`. Each is the randomness of one future encryption: keep
   * them secret and use each once (`encryptWithZero`).
   */
  encryptZeros(count: number): Uint8Array[] {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${describe(count)}`);
    const encryptor = this.#live();
    const { seal } = internalsOf(this.#ctx);
    const cipher = seal.CipherText();
    try {
      const out: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        encryptor.encryptZero(cipher);
        out.push(cipher.saveArray(seal.ComprModeType.none));
      }
      return out;
    } catch (e) {
      throw sealFailure('encrypting zero', e);
    } finally {
      deleteAll(cipher);
    }
  }

  /** Frees the SEAL encryptor. Idempotent. */
  close(): void {
    const e = this.#encryptor;
    this.#encryptor = undefined;
    deleteAll(e);
  }

  #live(): SealEncryptor {
    if (this.#encryptor === undefined) {
      throw new FedmartCryptoError('ENCRYPTOR_CLOSED', 'HeEncryptor is closed');
    }
    return this.#encryptor;
  }
}

/**
 * Decrypts aggregates (the key holder's view). Ciphertexts are validated
 * first; a ciphertext whose noise budget is exhausted raises
 * NoiseBudgetExhaustedError instead of yielding wrong numbers.
 */
export class HeDecryptor {
  readonly #ctx: HeContext;
  #decryptor: SealDecryptor | undefined;

  constructor(ctx: HeContext, secretKey: Uint8Array) {
    assertContext(ctx);
    ctx.validateSecretKey(secretKey);
    const { seal, context } = internalsOf(ctx);
    const sk = seal.SecretKey();
    try {
      sk.loadArray(context, secretKey);
      this.#decryptor = seal.Decryptor(context, sk);
    } catch (e) {
      throw sealFailure('loading the secret key', e);
    } finally {
      deleteAll(sk);
    }
    this.#ctx = ctx;
  }

  /**
   * Decrypts a validated ciphertext into its `slotCount` slot values (each < t).
   * @throws CiphertextFormatError, NoiseBudgetExhaustedError
   */
  decrypt(ciphertext: Uint8Array): BigUint64Array {
    return this.#withCipher(ciphertext, (cipher, decryptor) => {
      const budget = decryptor.invariantNoiseBudget(cipher);
      if (budget <= 0) {
        throw new NoiseBudgetExhaustedError('ciphertext has no noise budget left; its decryption would be wrong');
      }
      const { seal, encoder } = internalsOf(this.#ctx);
      const plain = seal.PlainText();
      try {
        decryptor.decrypt(cipher, plain);
        return BigUint64Array.from(encoder.decodeBigInt(plain, false) as BigUint64Array);
      } finally {
        deleteAll(plain);
      }
    });
  }

  /**
   * Validates and unpacks a packed ciphertext (pure TypeScript, before any
   * SEAL call), then decrypts it as `decrypt` does.
   * @throws CiphertextFormatError, NoiseBudgetExhaustedError
   */
  decryptPacked(packed: Uint8Array): BigUint64Array {
    return this.decrypt(unpackCiphertext(this.#ctx, packed));
  }

  /** Remaining invariant noise budget in bits (0 means the ciphertext can no longer be decrypted correctly). */
  noiseBudget(ciphertext: Uint8Array): number {
    return this.#withCipher(ciphertext, (cipher, decryptor) => decryptor.invariantNoiseBudget(cipher));
  }

  /** Frees the SEAL decryptor. Idempotent. */
  close(): void {
    const d = this.#decryptor;
    this.#decryptor = undefined;
    deleteAll(d);
  }

  #withCipher<T>(ciphertext: Uint8Array, fn: (cipher: ReturnType<SEALLibrary['CipherText']>, decryptor: SealDecryptor) => T): T {
    this.#ctx.validateCiphertext(ciphertext);
    const decryptor = this.#decryptor;
    if (decryptor === undefined) {
      throw new FedmartCryptoError('DECRYPTOR_CLOSED', 'HeDecryptor is closed');
    }
    const { seal, context } = internalsOf(this.#ctx);
    const cipher = seal.CipherText();
    try {
      cipher.loadArray(context, ciphertext);
      return fn(cipher, decryptor);
    } catch (e) {
      throw sealFailure('decrypting', e);
    } finally {
      deleteAll(cipher);
    }
  }
}
