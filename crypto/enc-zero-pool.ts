/**
 * Encryption from a pool of precomputed encryptions of zero.
 *
 * A BFV public-key encryption of m is an encryption of zero plus the
 * Δ-scaled plaintext: SEAL's `Encryptor.encrypt` computes Enc(0) and then
 * adds round(q·m / t) to c0. The expensive half (Enc(0): two polynomial
 * products with the public key and three noise samples) does not depend on
 * m, so a shop can compute it ahead of time, under the query's public key,
 * while it has nothing to send. At send time it only batch-encodes the
 * values (SEAL) and adds the scaled plaintext to c0 (TypeScript,
 * `addScaledPlain`): the result is byte for byte what SEAL's
 * `evaluator.addPlain` gives for the same Enc(0) and plaintext, with the
 * same noise as a fresh encryption of m. SEAL's `addPlain` was measured at
 * 3.9 ms per ciphertext here (128-bit division per coefficient in
 * WebAssembly), about as slow as a fresh encryption; the TypeScript addition
 * takes a fraction of a millisecond.
 *
 * ## Each Enc(0) is used once
 *
 * Two ciphertexts made from one Enc(0) reveal the difference of their
 * plaintexts to anyone who subtracts them, and a published Enc(0) reveals
 * every plaintext added to it. So:
 * - `EncZeroPool.take` removes the entry before returning it (JavaScript runs
 *   one take at a time; concurrent encryptions cannot get the same entry);
 * - the pool remembers a fingerprint of every Enc(0) it ever accepted and
 *   refuses one it has seen (`ENC_ZERO_REUSED`), so a drained and refilled
 *   pool never hands out an entry twice even if a source repeated itself;
 * - `encryptWithZero` wipes the Enc(0) bytes it consumed, so a caller
 *   holding on to them cannot use them again either (`ENC_ZERO_CONSUMED`);
 * - a pool is bound to one public key (its `heKeyId`) and refuses entries
 *   or takes for another (`ENC_ZERO_KEY_MISMATCH`).
 * Pool entries are secrets of the shop (they are the encryption randomness):
 * they are never written to disk, logged or sent, and `close()` wipes them.
 *
 * ## Ownership
 *
 * Entries are plain bytes (SEAL's uncompressed serialization), so they can
 * be made in a SEAL worker thread and transferred. `PooledEncryptor` owns
 * one `HeEncryptor` (for fresh encryption when the pool is empty, and for
 * filling in process when no other source is given) and its pool; its
 * `close()` frees both. The only SEAL objects made per encryption (one
 * plaintext) are deleted in `finally`.
 */
import type { HeContext } from './context.js';
import { deleteAll, packedLayoutOfContext } from './context.js';
import { internalsOf } from './context-internals.js';
import { FedmartCryptoError } from './errors.js';
import { assertBytes, assertInteger, describe } from './assert.js';
import { allocateCoefficients, type SplitCoefficients } from './bit-pack.js';
import type { PackedLayout } from './packed-layout.js';
import { packSplit, readSealCoefficients, writeSealCiphertext } from './packed-ciphertext.js';
import { HeEncryptor } from './keys.js';
import { heKeyId } from './envelope.js';
import { constantTimeEqual, toHex } from './sign.js';

/** Pool size used when none is given: a few contributions' worth of ciphertexts. */
export const DEFAULT_ENC_ZERO_POOL_SIZE = 8;
/** Largest pool (each entry is 131 KB of memory). */
export const MAX_ENC_ZERO_POOL_SIZE = 4096;

const TWO_32 = 2 ** 32;
const TWO_20 = 2 ** 20;
const TWO_22 = 2 ** 22;
const TWO_43 = 2 ** 43;
const TWO_44 = 2 ** 44;
/** Bytes of c1 fingerprinted per entry: 8 coefficients, about 480 random bits. */
const FINGERPRINT_BYTES = 64;

/** What the scaled-plaintext addition needs of a parameter set, as exact doubles. */
interface ScaleConstants {
  readonly layout: PackedLayout;
  readonly n: number;
  readonly t: number;
  /** floor(q / t) */
  readonly delta: number;
  /** q mod t */
  readonly qModT: number;
  /** floor((t + 1) / 2), SEAL's plain_upper_half_threshold */
  readonly half: number;
  readonly qHi: number;
  readonly qLo: number;
  /** Storage one encryption at a time works in (wiped after each). */
  readonly scratch: { readonly coefficients: SplitCoefficients; readonly plain: Float64Array };
}

const constantsCache = new WeakMap<HeContext, ScaleConstants>();

function constantsOf(ctx: HeContext): ScaleConstants {
  const cached = constantsCache.get(ctx);
  if (cached !== undefined) return cached;
  const layout = packedLayoutOfContext(ctx);
  const moduli = layout.seal.moduli;
  const t = ctx.plainModulus;
  // One data prime below 2^61 and t below 2^40 keep every step below exact in doubles.
  if (moduli.length !== 1 || (moduli[0] as bigint) >= 1n << 61n || t >= 1n << 40n || (moduli[0] as bigint) / t >= 1n << 32n) {
    throw new FedmartCryptoError('HE_PARAMETERS_UNSUPPORTED', `encryption from a pool of Enc(0) supports one data prime below 2^61 and t below 2^40; ${ctx.paramSet.name} has other parameters`);
  }
  const q = moduli[0] as bigint;
  const segment = layout.segments[0];
  if (segment === undefined) throw new FedmartCryptoError('HE_PARAMETERS_UNSUPPORTED', 'packed layout without segments');
  const c: ScaleConstants = {
    layout,
    n: ctx.slotCount,
    t: Number(t),
    delta: Number(q / t),
    qModT: Number(q % t),
    half: Number((t + 1n) / 2n),
    qHi: segment.qHi,
    qLo: segment.qLo,
    scratch: { coefficients: allocateCoefficients(layout), plain: new Float64Array(ctx.slotCount) },
  };
  constantsCache.set(ctx, c);
  return c;
}

/** (a * b) mod 2^44 for integers a, b < 2^41, exactly in doubles. */
function mulLow44(a: number, b: number): number {
  const a1 = Math.floor(a / TWO_22);
  const a0 = a - a1 * TWO_22;
  const b1 = Math.floor(b / TWO_22);
  const b0 = b - b1 * TWO_22;
  const c = a1 * b0 + a0 * b1;
  const cross = c - Math.floor(c / TWO_22) * TWO_22;
  return mod44(a0 * b0 + cross * TWO_22);
}

/** x mod 2^44 for 0 <= x < 2^53 (no fmod: division by a power of two is exact). */
function mod44(x: number): number {
  return x - Math.floor(x / TWO_44) * TWO_44;
}

/**
 * Adds round(q·m_i / t) (SEAL: floor(q/t)·m + floor(((q mod t)·m + floor((t+1)/2)) / t))
 * to c0 of `c`, modulo q, for each plaintext coefficient m_i < t. The sum
 * floor(q/t)·m + fix is below q (m < t), so only the final addition wraps.
 */
function addScaledPlain(c: SplitCoefficients, plain: Float64Array, k: ScaleConstants): void {
  const { lo, hi } = c;
  const { t, delta, qModT, half, qHi, qLo } = k;
  for (let i = 0; i < plain.length; i++) {
    const m = plain[i] as number;
    if (m === 0) continue;
    // fix = floor((qModT * m + half) / t): a double estimate off by at most one, corrected exactly mod 2^44.
    let fix = Math.floor((qModT * m + half) / t);
    const x = mod44(mulLow44(qModT, m) + half);
    let rem = mod44(x - mulLow44(fix, t) + TWO_44);
    if (rem >= TWO_43) rem -= TWO_44;
    while (rem < 0) {
      fix -= 1;
      rem += t;
    }
    while (rem >= t) {
      fix += 1;
      rem -= t;
    }
    // delta * m = b * 2^20 + a with m = mh * 2^20 + ml.
    const mh = Math.floor(m / TWO_20);
    const ml = m - mh * TWO_20;
    const a = delta * ml + fix; // < 2^52 + 2^40
    const b = delta * mh; // < 2^52
    const bHigh = Math.floor(b / 4096); // b * 2^20: these bits land in the high word, the rest in the low one
    const aHigh = Math.floor(a / TWO_32);
    let sLo = a - aHigh * TWO_32 + (b - bHigh * 4096) * TWO_20;
    let sHi = aHigh + bHigh;
    if (sLo >= TWO_32) {
      sLo -= TWO_32;
      sHi += 1;
    }
    // c0 + s mod q
    let rLo = (lo[i] as number) + sLo;
    let rHi = (hi[i] as number) + sHi;
    if (rLo >= TWO_32) {
      rLo -= TWO_32;
      rHi += 1;
    }
    if (rHi > qHi || (rHi === qHi && rLo >= qLo)) {
      rLo -= qLo;
      rHi -= qHi;
      if (rLo < 0) {
        rLo += TWO_32;
        rHi -= 1;
      }
    }
    lo[i] = rLo;
    hi[i] = rHi;
  }
}

/** Byte offsets of a batch-encoded plaintext's SEAL serialization (SEAL 4.1). */
const PLAIN_COUNT_OFFSET = 48;
const PLAIN_ARRAY_COUNT_OFFSET = 80;
const PLAIN_DATA_OFFSET = 88;

/** Batch-encodes `slots` with SEAL and returns the plaintext's coefficients (each < t), in `out` when given. */
function encodeToCoefficients(ctx: HeContext, slots: BigUint64Array, k: ScaleConstants, into?: Float64Array): Float64Array {
  const { seal, encoder } = internalsOf(ctx);
  const plain = seal.PlainText();
  let bytes: Uint8Array;
  try {
    encoder.encode(slots, plain);
    bytes = plain.saveArray(seal.ComprModeType.none);
  } catch (e) {
    throw new FedmartCryptoError('SEAL_FAILURE', `SEAL failed while encoding: ${String(e)}`, { cause: e });
  } finally {
    deleteAll(plain);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = k.n;
  if (bytes.length !== PLAIN_DATA_OFFSET + 8 * n || view.getUint32(PLAIN_COUNT_OFFSET, true) !== n || view.getUint32(PLAIN_ARRAY_COUNT_OFFSET, true) !== n) {
    throw new FedmartCryptoError('SEAL_FORMAT_MISMATCH', `a batch-encoded plaintext does not have the expected SEAL 4.1 layout (${bytes.length} bytes)`);
  }
  const out = into ?? new Float64Array(n);
  for (let i = 0, off = PLAIN_DATA_OFFSET; i < n; i++, off += 8) {
    const v = view.getUint32(off + 4, true) * TWO_32 + view.getUint32(off, true);
    if (v >= k.t) throw new FedmartCryptoError('SEAL_FORMAT_MISMATCH', `plaintext coefficient ${i} is not below t`);
    out[i] = v;
  }
  bytes.fill(0);
  return out;
}

function assertSlots(ctx: HeContext, slots: unknown): asserts slots is BigUint64Array {
  if (!(slots instanceof BigUint64Array)) {
    throw new TypeError(`slots must be a BigUint64Array, got ${describe(slots)}`);
  }
  if (slots.length !== ctx.slotCount) {
    throw new RangeError(`slots must have exactly ${ctx.slotCount} entries, got ${slots.length}`);
  }
  const t = ctx.plainModulus;
  for (let i = 0; i < slots.length; i++) {
    if ((slots[i] as bigint) >= t) {
      throw new RangeError(`slots[${i}] must be below the plain modulus ${t}, got ${slots[i]}`);
    }
  }
}

function isWiped(bytes: Uint8Array): boolean {
  // A consumed entry is all zeros; a real Enc(0) starts with SEAL's magic.
  return bytes[0] === 0 && bytes[1] === 0;
}

/**
 * Encrypts `slots` as `zero` + the Δ-scaled batch-encoded plaintext, and
 * wipes `zero` (an entry taken from an `EncZeroPool`, or any fresh Enc(0)
 * in SEAL's uncompressed format under the intended public key). Returns the
 * packed ciphertext, or SEAL's serialization with `format: 'seal'`.
 * @throws TypeError/RangeError for bad slots; CiphertextFormatError for a malformed `zero`;
 *   FedmartCryptoError ENC_ZERO_CONSUMED when `zero` was already used
 */
export function encryptWithZero(ctx: HeContext, zero: Uint8Array, slots: BigUint64Array, format: 'packed' | 'seal' = 'packed'): Uint8Array {
  assertUsableZero(ctx, zero);
  assertSlots(ctx, slots);
  return encryptWithCheckedZero(ctx, zero, slots, format);
}

/** `zero` is bytes, not a consumed (wiped) entry, and a well-formed ciphertext of `ctx`. */
function assertUsableZero(ctx: HeContext, zero: Uint8Array): void {
  assertBytes(zero, 'zero');
  if (zero.length === ctx.ciphertextByteLength && isWiped(zero)) {
    throw new FedmartCryptoError('ENC_ZERO_CONSUMED', 'this encryption of zero was already used; each one may be used once');
  }
  ctx.validateCiphertext(zero);
}

/**
 * `encryptWithZero` once `zero` has passed `assertUsableZero` and `slots`
 * `assertSlots`: a caller that checked the slots before taking an entry
 * does not check all of them twice.
 */
function encryptWithCheckedZero(ctx: HeContext, zero: Uint8Array, slots: BigUint64Array, format: 'packed' | 'seal'): Uint8Array {
  const k = constantsOf(ctx);
  // Scratch storage of the context, reused by every encryption (synchronous, one at a time per thread) and wiped
  // after each: 200 KB of garbage less per ciphertext.
  const { coefficients, plain } = k.scratch;
  try {
    readSealCoefficients(zero, k.layout, coefficients);
    zero.fill(0);
    encodeToCoefficients(ctx, slots, k, plain);
    addScaledPlain(coefficients, plain, k);
    return format === 'seal' ? writeSealCiphertext(coefficients, k.layout) : packSplit(coefficients, k.layout);
  } finally {
    plain.fill(0);
    coefficients.lo.fill(0);
    coefficients.hi.fill(0);
  }
}

/** A fingerprint of an Enc(0): the first coefficients of its c1, which are uniformly random. */
function fingerprintOf(zero: Uint8Array, layout: PackedLayout): string {
  const c1 = layout.seal.dataOffset + 8 * (layout.coefficientCount / 2);
  return Buffer.from(zero.buffer, zero.byteOffset + c1, FINGERPRINT_BYTES).toString('base64');
}

/**
 * Enc(0) entries under one public key, each handed out once. Holds plain
 * bytes only (no SEAL objects).
 */
export class EncZeroPool {
  /** `heKeyId` of the public key every entry is encrypted under. */
  readonly keyId: Uint8Array;
  /** Number of entries the pool is filled up to. */
  readonly capacity: number;
  readonly #ctx: HeContext;
  readonly #layout: PackedLayout;
  #entries: Uint8Array[] = [];
  readonly #seen = new Set<string>();
  #closed = false;
  /** Entries accepted since creation. */
  added = 0;
  /** Entries handed out since creation. */
  taken = 0;

  constructor(ctx: HeContext, keyId: Uint8Array, capacity: number = DEFAULT_ENC_ZERO_POOL_SIZE) {
    assertBytes(keyId, 'keyId', 32);
    assertInteger(capacity, 'capacity', 1, MAX_ENC_ZERO_POOL_SIZE);
    this.#ctx = ctx;
    this.#layout = packedLayoutOfContext(ctx);
    this.keyId = Uint8Array.from(keyId);
    this.capacity = capacity;
  }

  /** Entries ready now. */
  get size(): number {
    return this.#entries.length;
  }

  /** Entries missing to capacity. */
  get missing(): number {
    return this.#closed ? 0 : Math.max(0, this.capacity - this.#entries.length);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Adds fresh Enc(0)s made under the key `keyId` (SEAL's uncompressed
   * format; validated). The pool takes ownership of the arrays. Entries past
   * capacity are wiped and dropped. After close() everything is wiped.
   * @returns the number of entries kept
   * @throws FedmartCryptoError ENC_ZERO_KEY_MISMATCH for another key (nothing added);
   *   ENC_ZERO_REUSED when an entry was seen before (nothing added); CiphertextFormatError
   */
  add(keyId: Uint8Array, zeros: readonly Uint8Array[]): number {
    this.#assertKey(keyId);
    const prints: string[] = [];
    const batch = new Set<string>();
    for (const [i, z] of zeros.entries()) {
      assertBytes(z, `zeros[${i}]`);
      this.#ctx.validateCiphertext(z);
      const print = fingerprintOf(z, this.#layout);
      if (this.#seen.has(print) || batch.has(print)) {
        for (const w of zeros) w.fill(0);
        throw new FedmartCryptoError('ENC_ZERO_REUSED', `zeros[${i}] is an encryption of zero this pool has already seen; each one may be used once`);
      }
      batch.add(print);
      prints.push(print);
    }
    let kept = 0;
    for (const [i, z] of zeros.entries()) {
      this.#seen.add(prints[i] as string);
      if (this.#closed || this.#entries.length >= this.capacity) {
        z.fill(0);
        continue;
      }
      this.#entries.push(z);
      kept++;
    }
    this.added += kept;
    return kept;
  }

  /**
   * Removes and returns one entry for the key `keyId`, or undefined when the
   * pool is empty (the caller then encrypts fresh). The entry is the
   * caller's to use once (`encryptWithZero` wipes it).
   * @throws FedmartCryptoError ENC_ZERO_KEY_MISMATCH for another key
   */
  take(keyId: Uint8Array): Uint8Array | undefined {
    this.#assertKey(keyId);
    const z = this.#entries.shift();
    if (z !== undefined) this.taken++;
    return z;
  }

  /** Wipes and drops every entry; later adds are wiped too. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const z of this.#entries) z.fill(0);
    this.#entries = [];
  }

  #assertKey(keyId: Uint8Array): void {
    assertBytes(keyId, 'keyId');
    if (!constantTimeEqual(keyId, this.keyId)) {
      throw new FedmartCryptoError('ENC_ZERO_KEY_MISMATCH', `this pool holds encryptions of zero under key ${toHex(this.keyId).slice(0, 16)}…, not ${toHex(keyId).slice(0, 16)}…`);
    }
  }
}

/** Makes `count` fresh Enc(0)s (SEAL's uncompressed format) under the pool's public key. */
export type EncZeroSource = (count: number) => Promise<Uint8Array[]>;

export interface PooledEncryptorOptions {
  /** Entries kept ready (default DEFAULT_ENC_ZERO_POOL_SIZE). */
  readonly poolSize?: number;
  /**
   * Where fresh Enc(0)s come from, e.g. a SEAL worker thread
   * (`SealWorker.encryptZeros`). Default: this thread, one Enc(0) per
   * macrotask so that other work runs in between.
   */
  readonly source?: EncZeroSource;
  /** Fill the pool in the background after each use (default true). */
  readonly autoRefill?: boolean;
  /** Called when a background fill fails (it is retried at the next use). */
  readonly onFillError?: (error: unknown) => void;
}

/**
 * Encrypts under one public key from a pool of precomputed Enc(0)s, and
 * encrypts fresh (counted in `fresh`) when the pool is empty.
 * Needs libsodium ready (`cryptoReady()`) for the key id.
 */
export class PooledEncryptor {
  readonly keyId: Uint8Array;
  readonly pool: EncZeroPool;
  readonly #ctx: HeContext;
  readonly #encryptor: HeEncryptor;
  readonly #options: PooledEncryptorOptions;
  #filling: Promise<void> | undefined;
  #closed = false;
  /** Ciphertexts made from the pool. */
  pooled = 0;
  /** Ciphertexts encrypted fresh because the pool was empty. */
  fresh = 0;

  constructor(ctx: HeContext, publicKey: Uint8Array, options: PooledEncryptorOptions = {}) {
    this.#encryptor = new HeEncryptor(ctx, publicKey);
    this.#ctx = ctx;
    this.#options = options;
    this.keyId = heKeyId(publicKey);
    try {
      this.pool = new EncZeroPool(ctx, this.keyId, options.poolSize ?? DEFAULT_ENC_ZERO_POOL_SIZE);
    } catch (e) {
      this.#encryptor.close();
      throw e;
    }
  }

  /**
   * Encrypts one slot vector from the pool, or undefined when the pool is
   * empty. Starts a background refill unless autoRefill is false.
   */
  tryEncryptPacked(slots: BigUint64Array): Uint8Array | undefined {
    this.#live();
    assertSlots(this.#ctx, slots);
    const zero = this.pool.take(this.keyId);
    if (zero === undefined) {
      this.#autoRefill();
      return undefined;
    }
    try {
      // The slots were checked above, before an entry was taken; the entry is checked as encryptWithZero checks it.
      assertUsableZero(this.#ctx, zero);
      const out = encryptWithCheckedZero(this.#ctx, zero, slots, 'packed');
      this.pooled++;
      return out;
    } finally {
      zero.fill(0);
      this.#autoRefill();
    }
  }

  /** Encrypts one slot vector: from the pool, or fresh when it is empty. */
  encryptPacked(slots: BigUint64Array): Uint8Array {
    const pooled = this.tryEncryptPacked(slots);
    if (pooled !== undefined) return pooled;
    this.fresh++;
    return this.#encryptor.encryptPacked(slots);
  }

  /**
   * Fills the pool up to capacity (one fill at a time; a second call joins
   * the running one). Resolves when full, or rejects with the source's error.
   */
  refill(): Promise<void> {
    this.#live();
    this.#filling ??= this.#fill().finally(() => {
      this.#filling = undefined;
    });
    return this.#filling;
  }

  /** Fresh Enc(0)s made in this thread (the default source). */
  encryptZerosHere(count: number): Uint8Array[] {
    this.#live();
    return this.#encryptor.encryptZeros(count);
  }

  /** Wipes the pool and frees the SEAL encryptor. A running fill stops at its next step. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.pool.close();
    this.#encryptor.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #fill(): Promise<void> {
    const source = this.#options.source;
    while (!this.#closed && this.pool.missing > 0) {
      let zeros: Uint8Array[];
      if (source !== undefined) {
        zeros = await source(this.pool.missing);
      } else {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#closed) return;
        zeros = this.#encryptor.encryptZeros(1);
      }
      if (this.#closed) {
        for (const z of zeros) z.fill(0);
        return;
      }
      this.pool.add(this.keyId, zeros);
    }
  }

  #autoRefill(): void {
    if (this.#options.autoRefill === false || this.#closed || this.pool.missing === 0) return;
    this.refill().catch((e: unknown) => this.#options.onFillError?.(e));
  }

  #live(): void {
    if (this.#closed) throw new FedmartCryptoError('ENCRYPTOR_CLOSED', 'PooledEncryptor is closed');
  }
}
