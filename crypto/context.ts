/**
 * `HeContext`: the one owner of a SEAL context, batch encoder and evaluator
 * for a parameter set.
 *
 * Anyone who must add ciphertexts (the coordinator) or encrypt/decrypt (shops,
 * key holder) creates one context per parameter set and closes it on
 * shutdown. All untrusted bytes are checked structurally in TypeScript before
 * SEAL sees them (see `seal-format.ts`).
 */
import type { HeParamSet, HeParamSetName } from './params.js';
import { DEFAULT_HE_PARAM_SET, getHeParamSet } from './params.js';
import { loadSeal } from './seal-loader.js';
import type { SEALLibrary } from './seal-loader.js';
import { CiphertextFormatError, FedmartCryptoError } from './errors.js';
import { assertArray } from './assert.js';
import { ciphertextLayout, secretKeyLayout, validateSerialized } from './seal-format.js';
import type { SealObjectLayout } from './seal-format.js';
import { packedLayoutOf } from './packed-layout.js';
import type { PackedLayout } from './packed-layout.js';
import { internalsOf, registerInternals, unregisterInternals } from './context-internals.js';
import type { Context } from './context-internals.js';

/** Anything SEAL-side with a `delete()` method. */
interface Deletable {
  delete(): void;
}

/** Deletes every object, continuing past failures, so a `finally` never masks the original error. */
export function deleteAll(...objects: readonly (Deletable | undefined | null)[]): void {
  for (const o of objects) {
    if (o === undefined || o === null) continue;
    try {
      o.delete();
    } catch {
      // Deleting twice or after a WASM abort: nothing more to free.
    }
  }
}

/** Reads a ParmsIdType getter's words and frees the temporary wrapper. */
function parmsIdWords(get: () => { values: BigUint64Array; delete(): void }): BigUint64Array {
  const id = get();
  try {
    return BigUint64Array.from(id.values);
  } finally {
    id.delete();
  }
}

function coeffModulusOf(context: Context, which: 'first' | 'key'): bigint[] {
  const data = which === 'first' ? context.firstContextData : context.keyContextData;
  try {
    const parms = data.parms;
    try {
      return Array.from(parms.coeffModulus);
    } finally {
      parms.delete();
    }
  } finally {
    data.delete();
  }
}

/**
 * Module-private reader of a context's packed layout (set by a static block
 * of `HeContext`, which alone can read its private fields). `index.ts` does
 * not re-export it. Pure data: it stays usable after `close()`.
 */
let readPackedLayout: ((ctx: HeContext) => PackedLayout) | undefined;

/**
 * The packed-ciphertext layout of `ctx`, for `packed-ciphertext.ts` and the
 * accumulator. Never touches SEAL.
 * @throws TypeError unless `ctx` was made by `HeContext.create`
 */
export function packedLayoutOfContext(ctx: HeContext, name = 'ctx'): PackedLayout {
  if (!(ctx instanceof HeContext) || readPackedLayout === undefined) {
    throw new TypeError(`${name} must be an HeContext`);
  }
  return readPackedLayout(ctx);
}

/** Compares what SEAL derived with the values recorded in the parameter set (used by `withoutSeal`). */
function assertDerivedMatches(paramSet: HeParamSet, actual: HeParamSet['derived']): void {
  const d = paramSet.derived;
  const same = (a: readonly bigint[], b: readonly bigint[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  if (actual.plainModulus !== d.plainModulus || !same(actual.dataModuli, d.dataModuli) || !same(actual.keyModuli, d.keyModuli) ||
      !same(actual.firstParmsId, d.firstParmsId) || !same(actual.keyParmsId, d.keyParmsId)) {
    throw new FedmartCryptoError(
      'SEAL_FORMAT_MISMATCH',
      `SEAL derived other moduli or parms ids for ${paramSet.name} than crypto/params.ts records; update params.ts (and check compatibility) before using this node-seal`,
    );
  }
}

/** Compares SEAL's actual serialization prefix with the layout built in TypeScript. */
function assertPrefixMatches(actual: Uint8Array, layout: SealObjectLayout): void {
  let same = actual.length === layout.byteLength;
  for (let i = 0; same && i < layout.dataOffset; i++) {
    if (actual[i] !== layout.prefix[i]) same = false;
  }
  if (!same) {
    throw new FedmartCryptoError(
      'SEAL_FORMAT_MISMATCH',
      `SEAL's ${layout.kind} serialization does not match the expected SEAL 4.1 layout; refusing to validate untrusted input against a wrong shape`,
    );
  }
}

export class HeContext {
  /** The parameter set this context implements. */
  readonly paramSet: HeParamSet;
  /** Number of batching slots per ciphertext (N). */
  readonly slotCount: number;
  /** The BFV plain modulus t: slot sums are taken modulo t. */
  readonly plainModulus: bigint;
  /** Exact length of an accepted (uncompressed, fresh-level) ciphertext. */
  readonly ciphertextByteLength: number;
  /** Exact length of an accepted (uncompressed) public key. */
  readonly publicKeyByteLength: number;
  /** Exact length of an accepted (uncompressed) secret key. */
  readonly secretKeyByteLength: number;
  /**
   * Exact length of a packed ciphertext (`packCiphertext`): SEAL's prefix plus
   * every coefficient in bitlen(q_j) bits, 122,993 bytes for `bfv-8192-t40`.
   * This is the length on the wire.
   */
  readonly packedCiphertextByteLength: number;
  /** The data-level RNS primes q_j (coefficients of a ciphertext must be below them). */
  readonly ciphertextModuli: readonly bigint[];

  readonly #ciphertextLayout: SealObjectLayout;
  readonly #publicKeyLayout: SealObjectLayout;
  readonly #secretKeyLayout: SealObjectLayout;
  readonly #packedLayout: PackedLayout;
  #closed = false;

  static {
    readPackedLayout = (ctx) => ctx.#packedLayout;
  }

  private constructor(paramSet: HeParamSet, plainModulus: bigint, layouts: {
    ciphertext: SealObjectLayout;
    publicKey: SealObjectLayout;
    secretKey: SealObjectLayout;
  }) {
    this.paramSet = paramSet;
    this.slotCount = paramSet.polyModulusDegree;
    this.plainModulus = plainModulus;
    this.#ciphertextLayout = layouts.ciphertext;
    this.#publicKeyLayout = layouts.publicKey;
    this.#secretKeyLayout = layouts.secretKey;
    this.ciphertextByteLength = layouts.ciphertext.byteLength;
    this.publicKeyByteLength = layouts.publicKey.byteLength;
    this.secretKeyByteLength = layouts.secretKey.byteLength;
    this.ciphertextModuli = Object.freeze([...layouts.ciphertext.moduli]);
    this.#packedLayout = packedLayoutOf(layouts.ciphertext);
    this.packedCiphertextByteLength = this.#packedLayout.byteLength;
  }

  /**
   * Loads SEAL (once per process), builds the context for `name` and checks,
   * with a throwaway key pair, that SEAL's serializations have exactly the
   * layout the validators expect. Takes ~0.3 s on first use (WASM start).
   */
  static async create(name: HeParamSetName = DEFAULT_HE_PARAM_SET): Promise<HeContext> {
    const paramSet = getHeParamSet(name);
    const seal = await loadSeal();
    return HeContext.#build(seal, paramSet);
  }

  /**
   * A context for validating, unpacking and adding packed ciphertexts and
   * validating public keys in TypeScript, built from the parameter set's
   * recorded SEAL values without loading SEAL (instant, no WASM heap). For
   * processes that never encrypt, decrypt or call SEAL (the coordinator):
   * `add`, keys, encryptors and decryptors made from it throw CONTEXT_CLOSED.
   */
  static withoutSeal(name: HeParamSetName = DEFAULT_HE_PARAM_SET): HeContext {
    const paramSet = getHeParamSet(name);
    const d = paramSet.derived;
    const n = paramSet.polyModulusDegree;
    return new HeContext(paramSet, d.plainModulus, {
      ciphertext: ciphertextLayout('ciphertext', { parmsId: BigUint64Array.from(d.firstParmsId), moduli: [...d.dataModuli], degree: n }, 2, false),
      publicKey: ciphertextLayout('public key', { parmsId: BigUint64Array.from(d.keyParmsId), moduli: [...d.keyModuli], degree: n }, 2, true),
      secretKey: secretKeyLayout({ parmsId: BigUint64Array.from(d.keyParmsId), moduli: [...d.keyModuli], degree: n }),
    });
  }

  static #build(seal: SEALLibrary, paramSet: HeParamSet): HeContext {
    const n = paramSet.polyModulusDegree;
    const parms = seal.EncryptionParameters(seal.SchemeType.bfv);
    let coeffVector: { delete(): void } | undefined;
    let plainMod: { delete(): void; value: bigint } | undefined;
    let context: Context | undefined;
    let encoder: ReturnType<SEALLibrary['BatchEncoder']> | undefined;
    let evaluator: ReturnType<SEALLibrary['Evaluator']> | undefined;
    let handedOver = false;
    try {
      parms.setPolyModulusDegree(n);
      const cv = seal.CoeffModulus.Create(n, Int32Array.from(paramSet.coeffModulusBits));
      coeffVector = cv;
      parms.setCoeffModulus(cv);
      const pm = seal.PlainModulus.Batching(n, paramSet.plainModulusBits);
      plainMod = pm;
      parms.setPlainModulus(pm);
      const plainModulus = pm.value;
      context = seal.Context(parms, true, seal.SecurityLevel.tc128);
      if (!context.parametersSet()) {
        throw new FedmartCryptoError('HE_PARAMETERS_INVALID', `SEAL rejected parameter set ${paramSet.name}`);
      }
      const ctx = context;
      const dataModuli = coeffModulusOf(ctx, 'first');
      const keyModuli = coeffModulusOf(ctx, 'key');
      const firstId = parmsIdWords(() => ctx.firstParmsId);
      const keyId = parmsIdWords(() => ctx.keyParmsId);
      assertDerivedMatches(paramSet, { plainModulus, dataModuli, keyModuli, firstParmsId: [...firstId], keyParmsId: [...keyId] });
      const layouts = {
        ciphertext: ciphertextLayout('ciphertext', { parmsId: firstId, moduli: dataModuli, degree: n }, 2, false),
        publicKey: ciphertextLayout('public key', { parmsId: keyId, moduli: keyModuli, degree: n }, 2, true),
        secretKey: secretKeyLayout({ parmsId: keyId, moduli: keyModuli, degree: n }),
      };
      encoder = seal.BatchEncoder(ctx);
      if (encoder.slotCount !== n) {
        throw new FedmartCryptoError('HE_PARAMETERS_INVALID', `batching is not available for ${paramSet.name}`);
      }
      evaluator = seal.Evaluator(ctx);
      selfTest(seal, ctx, encoder, layouts);
      const he = new HeContext(paramSet, plainModulus, layouts);
      registerInternals(he, {
        seal,
        context: ctx,
        encoder,
        evaluator,
        ciphertextLayout: layouts.ciphertext,
        publicKeyLayout: layouts.publicKey,
        secretKeyLayout: layouts.secretKey,
      });
      handedOver = true;
      return he;
    } finally {
      deleteAll(parms, coeffVector, plainMod);
      if (!handedOver) deleteAll(evaluator, encoder, context);
    }
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Checks that `bytes` is exactly a fresh-level, uncompressed ciphertext of
   * this parameter set with every coefficient in range. Pure TypeScript:
   * never calls SEAL, so it is safe on hostile input and works after close().
   * Passing this check does NOT prove the ciphertext is honest (see
   * `seal-format.ts`); verify the envelope signature as well.
   * @throws CiphertextFormatError with a code naming the first defect.
   */
  validateCiphertext(bytes: Uint8Array): void {
    validateSerialized(bytes, this.#ciphertextLayout);
  }

  /** Like validateCiphertext, for a serialized public key (key level, NTT form). */
  validatePublicKey(bytes: Uint8Array): void {
    validateSerialized(bytes, this.#publicKeyLayout);
  }

  /** Like validateCiphertext, for a serialized secret key (read back from storage). */
  validateSecretKey(bytes: Uint8Array): void {
    validateSerialized(bytes, this.#secretKeyLayout);
  }

  /**
   * Homomorphically adds ciphertexts and returns the uncompressed serialized
   * sum. Every input is validated before the first SEAL call, so one bad input
   * rejects the whole call and nothing is half-added.
   * @throws RangeError if the list is empty or longer than `paramSet.maxAddends`
   * @throws CiphertextFormatError naming the index of the first bad input
   */
  add(ciphertexts: readonly Uint8Array[]): Uint8Array {
    assertArray(ciphertexts, 'ciphertexts');
    if (ciphertexts.length === 0) {
      throw new RangeError('ciphertexts must contain at least one ciphertext');
    }
    if (ciphertexts.length > this.paramSet.maxAddends) {
      throw new RangeError(
        `ciphertexts must contain at most ${this.paramSet.maxAddends} ciphertexts (noise budget), got ${ciphertexts.length}`,
      );
    }
    ciphertexts.forEach((c, i) => {
      try {
        this.validateCiphertext(c);
      } catch (e) {
        if (e instanceof CiphertextFormatError) {
          throw new CiphertextFormatError(e.code, `ciphertexts[${i}]: ${e.message}`);
        }
        if (e instanceof TypeError) throw new TypeError(`ciphertexts[${i}] must be a Uint8Array`);
        throw e;
      }
    });
    const { seal, context, evaluator } = internalsOf(this);
    const acc = seal.CipherText();
    const next = seal.CipherText();
    try {
      acc.loadArray(context, ciphertexts[0] as Uint8Array);
      for (let i = 1; i < ciphertexts.length; i++) {
        next.loadArray(context, ciphertexts[i] as Uint8Array);
        evaluator.add(acc, next, acc);
      }
      return acc.saveArray(seal.ComprModeType.none);
    } catch (e) {
      throw new FedmartCryptoError('SEAL_FAILURE', `SEAL failed while adding ciphertexts: ${String(e)}`, { cause: e });
    } finally {
      deleteAll(next, acc);
    }
  }

  /**
   * Frees the SEAL objects. Idempotent. Encryptors and decryptors made from
   * this context stop working (they throw CONTEXT_CLOSED); close them too.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const internals = unregisterInternals(this);
    if (internals !== undefined) {
      deleteAll(internals.evaluator, internals.encoder, internals.context);
    }
  }
}

/**
 * Generates a throwaway key pair, encrypts zero and checks that every SEAL
 * serialization matches the TypeScript layouts byte-for-byte in the prefix
 * and passes full validation. Guards against a node-seal upgrade silently
 * changing the format the validators assume.
 */
function selfTest(
  seal: SEALLibrary,
  context: Context,
  encoder: ReturnType<SEALLibrary['BatchEncoder']>,
  layouts: { ciphertext: SealObjectLayout; publicKey: SealObjectLayout; secretKey: SealObjectLayout },
): void {
  const keygen = seal.KeyGenerator(context);
  let pk: ReturnType<typeof keygen.createPublicKey> | undefined;
  let sk: ReturnType<typeof keygen.secretKey> | undefined;
  let encryptor: ReturnType<SEALLibrary['Encryptor']> | undefined;
  let plain: ReturnType<SEALLibrary['PlainText']> | undefined;
  let cipher: ReturnType<SEALLibrary['CipherText']> | undefined;
  try {
    pk = keygen.createPublicKey();
    sk = keygen.secretKey();
    const pkBytes = pk.saveArray(seal.ComprModeType.none);
    const skBytes = sk.saveArray(seal.ComprModeType.none);
    encryptor = seal.Encryptor(context, pk);
    plain = seal.PlainText();
    encoder.encode(new BigUint64Array(encoder.slotCount), plain);
    cipher = seal.CipherText();
    encryptor.encrypt(plain, cipher);
    const ctBytes = cipher.saveArray(seal.ComprModeType.none);
    assertPrefixMatches(ctBytes, layouts.ciphertext);
    assertPrefixMatches(pkBytes, layouts.publicKey);
    assertPrefixMatches(skBytes, layouts.secretKey);
    validateSerialized(ctBytes, layouts.ciphertext);
    validateSerialized(pkBytes, layouts.publicKey);
    validateSerialized(skBytes, layouts.secretKey);
    skBytes.fill(0);
  } finally {
    deleteAll(cipher, plain, encryptor, sk, pk, keygen);
  }
}
