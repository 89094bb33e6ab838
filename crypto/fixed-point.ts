/**
 * Slot layout: how a vector of non-negative integer statistics is spread over
 * BFV batching slots so that the sum over all contributors never wraps the
 * plain modulus t.
 *
 * Each value is split into base-2^limbBits limbs (least significant first),
 * one limb per slot. limbBits is the largest width (at most 32) such that
 * `maxContributors * (2^limbBits - 1) < t`, so after adding up to
 * maxContributors honest encodings every slot sum is still the true integer
 * sum of that limb, and the totals are recovered exactly by recombining
 * `sum_i limbSum_i * 2^(limbBits * i)` in BigInt — however large the totals.
 *
 * Fields are laid out in order, each field's limbs contiguous; a field may
 * straddle two ciphertexts. Unused trailing slots are zero.
 *
 * BFV proves nothing about inputs: a dishonest contributor can still put any
 * value below t into a slot. Range proofs are out of scope; signatures bind
 * each contribution to an enrolled shop.
 */
import { OverflowRiskError } from './errors.js';
import { assertArray, assertBigInt, assertInteger, assertString, describe } from './assert.js';
import { statementDigest } from './canonical.js';

export { parseFixedPoint, formatFixedPoint, MAX_SCALE_DIGITS } from './decimal.js';

/** Domain of `SlotLayout.digest()`. */
export const SLOT_LAYOUT_DOMAIN = 'fedmart/v1/slot-layout';
/** Widest limb; 32 bits keeps 255 contributors below a 40-bit t. */
export const MAX_LIMB_BITS = 32;
/** Narrowest acceptable limb; below this a layout would waste too many slots. */
export const MIN_LIMB_BITS = 8;
/**
 * Most ciphertexts one contribution may need (64 x 128 KiB = 8 MiB). Layouts
 * are built from query specifications that arrive over the network; the cap
 * stops a spec with absurd bounds from making a shop allocate and encrypt
 * without limit.
 */
export const MAX_LAYOUT_CIPHERTEXTS = 64;

/** One statistic in the layout. */
export interface FieldSpec {
  readonly name: string;
  /** Inclusive upper bound of the per-contributor value, >= 0. */
  readonly max: bigint;
}

/** Parameters a layout depends on. */
export interface SlotLayoutOptions {
  /** BFV plain modulus t (`HeContext.plainModulus`). */
  readonly plainModulus: bigint;
  /** Slots per ciphertext (`HeContext.slotCount`). */
  readonly slotCount: number;
  /** Largest number of contributions that will be summed. */
  readonly maxContributors: number;
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

export class SlotLayout {
  readonly fields: readonly FieldSpec[];
  /** Width of one limb in bits (8..32). */
  readonly limbBits: number;
  /** Total limbs (= slots used) over all fields. */
  readonly slotsUsed: number;
  /** Ciphertexts needed per contribution: ceil(slotsUsed / slotCount). */
  readonly ciphertextCount: number;
  readonly plainModulus: bigint;
  readonly slotCount: number;
  readonly maxContributors: number;
  readonly #limbCounts: readonly number[];
  readonly #offsets: readonly number[];

  /**
   * @throws TypeError/RangeError naming the argument: no fields, duplicate or
   * empty names, negative max, maxContributors < 1, t too small for 8-bit limbs.
   */
  constructor(fields: readonly FieldSpec[], options: SlotLayoutOptions) {
    assertArray(fields, 'fields');
    if (fields.length === 0) throw new RangeError('fields must contain at least one field');
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    assertBigInt(options.plainModulus, 'options.plainModulus');
    if (options.plainModulus < 3n) throw new RangeError(`options.plainModulus must be at least 3, got ${options.plainModulus}`);
    assertInteger(options.slotCount, 'options.slotCount', 1);
    assertInteger(options.maxContributors, 'options.maxContributors', 1);

    const seen = new Set<string>();
    const copy: FieldSpec[] = [];
    fields.forEach((f, i) => {
      if (typeof f !== 'object' || f === null) throw new TypeError(`fields[${i}] must be an object, got ${describe(f)}`);
      assertString(f.name, `fields[${i}].name`, true);
      assertBigInt(f.max, `fields[${i}].max`);
      if (f.max < 0n) throw new RangeError(`fields[${i}].max (field "${f.name}") must be >= 0, got ${f.max}`);
      if (seen.has(f.name)) throw new RangeError(`fields[${i}].name duplicates field "${f.name}"`);
      seen.add(f.name);
      copy.push(Object.freeze({ name: f.name, max: f.max }));
    });

    const headroom = (options.plainModulus - 1n) / BigInt(options.maxContributors);
    const limbBits = Math.min(MAX_LIMB_BITS, bitLength(headroom) - 1);
    if (limbBits < MIN_LIMB_BITS) {
      throw new RangeError(
        `options.maxContributors (${options.maxContributors}) is too large for plain modulus ${options.plainModulus}: limbs would be ${Math.max(limbBits, 0)} bits, minimum ${MIN_LIMB_BITS}`,
      );
    }

    const limbCounts = copy.map((f) => Math.max(1, Math.ceil(bitLength(f.max) / limbBits)));
    const offsets: number[] = [];
    let used = 0;
    for (const c of limbCounts) {
      offsets.push(used);
      used += c;
    }
    if (used > MAX_LAYOUT_CIPHERTEXTS * options.slotCount) {
      throw new RangeError(
        `fields need ${used} slots, more than ${MAX_LAYOUT_CIPHERTEXTS} ciphertexts of ${options.slotCount} slots; reduce the bounds or split the query`,
      );
    }

    this.fields = Object.freeze(copy);
    this.limbBits = limbBits;
    this.slotsUsed = used;
    this.ciphertextCount = Math.ceil(used / options.slotCount);
    this.plainModulus = options.plainModulus;
    this.slotCount = options.slotCount;
    this.maxContributors = options.maxContributors;
    this.#limbCounts = Object.freeze(limbCounts);
    this.#offsets = Object.freeze(offsets);
  }

  #assertFieldIndex(fieldIndex: number): void {
    assertInteger(fieldIndex, 'fieldIndex', 0, this.fields.length - 1);
  }

  /** Number of limbs (slots) used by field `fieldIndex`. */
  limbCount(fieldIndex: number): number {
    this.#assertFieldIndex(fieldIndex);
    return this.#limbCounts[fieldIndex] as number;
  }

  /** Global slot index of the least significant limb of field `fieldIndex`. */
  slotOffset(fieldIndex: number): number {
    this.#assertFieldIndex(fieldIndex);
    return this.#offsets[fieldIndex] as number;
  }

  /**
   * Largest value any single limb of field `fieldIndex` can take for a value
   * within [0, max]: the max itself for a one-limb field, else 2^limbBits - 1.
   */
  maxLimbValue(fieldIndex: number): bigint {
    this.#assertFieldIndex(fieldIndex);
    const f = this.fields[fieldIndex] as FieldSpec;
    return (this.#limbCounts[fieldIndex] as number) === 1 ? f.max : (1n << BigInt(this.limbBits)) - 1n;
  }

  /** Largest contributor count for which no slot sum can reach t (>= maxContributors). */
  get maxSafeContributors(): bigint {
    let best: bigint | undefined;
    for (let i = 0; i < this.fields.length; i++) {
      const m = this.maxLimbValue(i);
      if (m === 0n) continue;
      const limit = (this.plainModulus - 1n) / m;
      if (best === undefined || limit < best) best = limit;
    }
    return best ?? BigInt(Number.MAX_SAFE_INTEGER);
  }

  /**
   * Splits one contributor's values into limbs: returns `ciphertextCount`
   * arrays of length `slotCount`, ready for `HeEncryptor.encrypt`.
   * @throws RangeError naming the field if a value is < 0 or > max, or if the count is wrong
   */
  encode(values: readonly bigint[]): BigUint64Array[] {
    assertArray(values, 'values');
    if (values.length !== this.fields.length) {
      throw new RangeError(`values must have one entry per field (${this.fields.length}), got ${values.length}`);
    }
    const out: BigUint64Array[] = [];
    for (let c = 0; c < this.ciphertextCount; c++) out.push(new BigUint64Array(this.slotCount));
    const mask = (1n << BigInt(this.limbBits)) - 1n;
    const shift = BigInt(this.limbBits);
    for (let i = 0; i < this.fields.length; i++) {
      const f = this.fields[i] as FieldSpec;
      const v = values[i];
      if (typeof v !== 'bigint') throw new TypeError(`values[${i}] (field "${f.name}") must be a bigint, got ${describe(v)}`);
      if (v < 0n || v > f.max) {
        throw new RangeError(`values[${i}] (field "${f.name}") must be in [0, ${f.max}], got ${v}`);
      }
      let rest = v;
      const base = this.#offsets[i] as number;
      const n = this.#limbCounts[i] as number;
      for (let k = 0; k < n; k++) {
        const g = base + k;
        (out[Math.floor(g / this.slotCount)] as BigUint64Array)[g % this.slotCount] = rest & mask;
        rest >>= shift;
      }
    }
    return out;
  }

  /**
   * Recombines decrypted slot sums into per-field totals (exact BigInt).
   * @throws RangeError if the shape is wrong or a slot is not below t
   */
  decode(slotSums: readonly BigUint64Array[]): bigint[] {
    assertArray(slotSums, 'slotSums');
    if (slotSums.length !== this.ciphertextCount) {
      throw new RangeError(`slotSums must have ${this.ciphertextCount} arrays (one per ciphertext), got ${slotSums.length}`);
    }
    slotSums.forEach((a, c) => {
      if (!(a instanceof BigUint64Array)) throw new TypeError(`slotSums[${c}] must be a BigUint64Array, got ${describe(a)}`);
      if (a.length !== this.slotCount) {
        throw new RangeError(`slotSums[${c}] must have ${this.slotCount} slots, got ${a.length}`);
      }
    });
    const shift = BigInt(this.limbBits);
    const totals: bigint[] = [];
    for (let i = 0; i < this.fields.length; i++) {
      const base = this.#offsets[i] as number;
      const n = this.#limbCounts[i] as number;
      let total = 0n;
      for (let k = n - 1; k >= 0; k--) {
        const g = base + k;
        const c = Math.floor(g / this.slotCount);
        const s = (slotSums[c] as BigUint64Array)[g % this.slotCount] as bigint;
        if (s >= this.plainModulus) {
          throw new RangeError(`slotSums[${c}][${g % this.slotCount}] must be below the plain modulus, got ${s}`);
        }
        total = (total << shift) + s;
      }
      totals.push(total);
    }
    return totals;
  }

  /**
   * The first place where decrypted slot sums of `contributors` shops exceed
   * what honest shops can produce: a limb sum above contributors × the
   * field's largest limb, or a field total above contributors × its max.
   * BFV proves nothing about a shop's plaintext, so a shop that skips its own
   * bound checks can put any value below t in a slot; this caps one shop's
   * effect at its declared maximum. `totals` are the field totals of
   * `slotSums` when the caller has decoded them already. Returns a
   * description naming the field, or undefined when every total is within bounds.
   * @throws RangeError / TypeError for a wrong shape (as {@link decode})
   */
  boundsViolation(slotSums: readonly BigUint64Array[], contributors: number, totals: readonly bigint[] = this.decode(slotSums)): string | undefined {
    assertInteger(contributors, 'contributors', 0);
    if (totals.length !== this.fields.length) throw new RangeError(`totals must have one entry per field (${this.fields.length}), got ${totals.length}`);
    const n = BigInt(contributors);
    for (let i = 0; i < this.fields.length; i++) {
      const f = this.fields[i] as FieldSpec;
      const base = this.#offsets[i] as number;
      const limbMax = n * this.maxLimbValue(i);
      for (let k = 0; k < (this.#limbCounts[i] as number); k++) {
        const g = base + k;
        const s = (slotSums[Math.floor(g / this.slotCount)] as BigUint64Array)[g % this.slotCount] as bigint;
        if (s > limbMax) return `field "${f.name}": limb ${k} sums to ${s}, above ${contributors} x its largest limb ${this.maxLimbValue(i)}`;
      }
      const total = totals[i] as bigint;
      if (total > n * f.max) return `field "${f.name}": the total ${total} is above ${contributors} x its bound ${f.max}`;
    }
    return undefined;
  }

  /**
   * Refuses a round whose sum could wrap t: throws OverflowRiskError naming
   * the first field for which `contributors * maxLimbValue >= t`. Call before
   * publishing a round and again before adding (with the actual count).
   */
  assertNoWrap(contributors: number): void {
    assertInteger(contributors, 'contributors', 0);
    const n = BigInt(contributors);
    for (let i = 0; i < this.fields.length; i++) {
      const m = this.maxLimbValue(i);
      if (n * m >= this.plainModulus) {
        const f = this.fields[i] as FieldSpec;
        throw new OverflowRiskError(
          f.name,
          `field "${f.name}": ${contributors} contributors x max limb ${m} could reach the plain modulus ${this.plainModulus} and wrap silently`,
        );
      }
    }
  }

  /**
   * BLAKE2b-256 of the canonical description (field names and bounds, limb
   * width, t, slot count); shops sign it inside their envelopes so that the
   * coordinator cannot decode with a different layout. Requires `cryptoReady()`.
   */
  digest(): Uint8Array {
    return statementDigest(SLOT_LAYOUT_DOMAIN, [
      this.fields.map((f) => f.name),
      this.fields.map((f) => f.max),
      this.limbBits,
      this.plainModulus,
      this.slotCount,
    ]);
  }
}
