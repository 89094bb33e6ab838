/**
 * Row-set sketches: what a shop attests about the rows behind one
 * contribution, so the key holder can count how many customers' rows differ
 * between two releases without learning which customers, or anything about
 * them.
 *
 * Each customer c in the release's scope (analytics/row-scope.ts) gets a
 * pseudorandom point x_c in GF(p), p = 2^61 − 1, from a key only the shop
 * holds; each field f the release reads gets a weight w_{c,f} from the same
 * key over the customer and the canonical content of the rows read. The
 * shop sends the power sums
 *
 *     M_j = Σ_c x_c^j            and   F_j = Σ_c w_{c,f} x_c^j    (j = 1..T)
 *
 * Sums of several shops add (customers of different shops are different
 * subjects), and the difference of two releases' sums is
 * Σ_c (w_c − w'_c) x_c^j over exactly the customers present in one and not
 * the other (membership), or whose content differs (fields). A sequence
 * Σ_i a_i y_i^j with distinct nonzero y_i and nonzero a_i has linear
 * complexity exactly the number of terms, which Berlekamp–Massey finds from
 * 2t terms when it is at most t (compliance/disclosure/row-set-difference.ts).
 * With T = 2(k − 1) + 4 the key holder learns the number of differing
 * customers exactly when it is below k, and otherwise that it is at least k;
 * the four spare terms make a false "fewer" (a sequence of higher
 * complexity that happens to satisfy a short recurrence) a 2^-240 event.
 * A changed customer goes unseen only if its two weights collide in GF(p)
 * (2^-61).
 *
 * What the sums reveal: nothing about any one customer (every point and
 * weight is a keyed hash); the difference of two releases reveals how many
 * customers differ and, to a solver, their pseudorandom points, which
 * identify no one.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { blake2b, toHex } from '../crypto/index.js';
import { rowContents, type AnyQueryDefinition, type RowContents, type ShopData } from '../analytics/index.js';
import type { DisclosureTerms } from './disclosure/terms.js';
import { DisclosureError } from './disclosure/errors.js';
import { MAX_MIN_SUBJECTS } from './disclosure/policy.js';

/** The prime field of the sketches: the Mersenne prime 2^61 − 1. */
export const ROW_SET_MODULUS = (1n << 61n) - 1n;
/** Power sums beyond 2(k − 1): they make a false count below k vanishingly unlikely. */
export const ROW_SET_SPARE_POWERS = 4;
/** The largest k a sketch is made for (its size grows with k): the largest k any party applies. */
export const ROW_SET_MAX_K = MAX_MIN_SUBJECTS;

/** What a shop attests about the rows behind one contribution. */
export interface RowSetSketch {
  /** T: the power sums per sequence (2(k − 1) + 4 for the query's k). */
  readonly powers: number;
  /** M_1..M_T over the customers in scope, 16 hex digits each. */
  readonly members: readonly string[];
  /** Per customer-level field read, F_1..F_T. */
  readonly fields: Readonly<Record<string, readonly string[]>>;
  /** Per shop-level field read (`shop_metrics.*`), the hex BLAKE2b-256 of its content under the shop's key. */
  readonly shop: Readonly<Record<string, string>>;
}

/** T for k = `minSubjects`. Throws RangeError beyond {@link ROW_SET_MAX_K}. */
export function rowSetPowers(minSubjects: number): number {
  if (!Number.isSafeInteger(minSubjects) || minSubjects < 1 || minSubjects > ROW_SET_MAX_K) {
    throw new RangeError(`minSubjects: expected an integer from 1 to ${ROW_SET_MAX_K}, got ${String(minSubjects)}`);
  }
  return 2 * (minSubjects - 1) + ROW_SET_SPARE_POWERS;
}

/** a·b mod 2^61 − 1 for a, b below the modulus. */
export function mulMod61(a: bigint, b: bigint): bigint {
  const x = a * b;
  const r = (x & ROW_SET_MODULUS) + (x >> 61n);
  return r >= ROW_SET_MODULUS ? r - ROW_SET_MODULUS : r;
}

const ENC = new TextEncoder();

/** A nonzero field element from the first 8 bytes of a keyed hash. */
function element(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes.subarray(0, 8)) v = (v << 8n) | BigInt(b);
  v %= ROW_SET_MODULUS;
  return v === 0n ? 1n : v;
}

const hex16 = (v: bigint): string => v.toString(16).padStart(16, '0');

/** Sketches already made, by a digest of their inputs: the rounds of one fit read the same rows. */
const recent = new Map<string, RowSetSketch>();
const RECENT_MAX = 32;

/** SHA-256 over the key, T and every content, unambiguously framed. */
function inputDigest(contents: RowContents, powers: number, pseudonymKey: Uint8Array): string {
  const h = createHash('sha256');
  const put = (text: string) => h.update(`${text.length}:`).update(text);
  h.update(pseudonymKey);
  put(String(powers));
  put(contents.fields.join(','));
  for (const [id, fields] of contents.customers) {
    put(id);
    for (const f of contents.fields) put(fields.get(f) ?? '\u0000missing');
  }
  for (const [f, content] of [...contents.shop].sort(([a], [b]) => (a < b ? -1 : 1))) {
    put(f);
    put(content);
  }
  return h.digest('hex');
}

/**
 * The sketch of `contents` under the shop's pseudonym key. A sketch of the
 * same contents made recently is returned again (a fit's rounds read the
 * same rows; the sketch is a function of its inputs). Throws RangeError
 * naming a bad argument.
 */
export function buildRowSetSketch(contents: RowContents, powers: number, pseudonymKey: Uint8Array): RowSetSketch {
  if (typeof contents !== 'object' || contents === null || !Array.isArray(contents.fields) || !(contents.customers instanceof Map) || !(contents.shop instanceof Map)) {
    throw new TypeError('contents: expected RowContents');
  }
  if (!Number.isSafeInteger(powers) || powers < ROW_SET_SPARE_POWERS || powers > rowSetPowers(ROW_SET_MAX_K)) throw new RangeError(`powers: expected an integer from ${ROW_SET_SPARE_POWERS} to ${rowSetPowers(ROW_SET_MAX_K)}`);
  if (!(pseudonymKey instanceof Uint8Array) || pseudonymKey.length < 16) throw new RangeError('pseudonymKey: expected at least 16 bytes');
  const digest = inputDigest(contents, powers, pseudonymKey);
  const known = recent.get(digest);
  if (known !== undefined) return known;
  const sketch = computeSketch(contents, powers, pseudonymKey);
  recent.set(digest, sketch);
  if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value as string);
  return sketch;
}

function computeSketch(contents: RowContents, powers: number, pseudonymKey: Uint8Array): RowSetSketch {
  const key = blake2b(ENC.encode('fedmart/v1/row-set-key'), 32, pseudonymKey);
  const fieldNames = [...contents.fields].sort();
  const members = new Array<bigint>(powers).fill(0n);
  const sums = new Map(fieldNames.map((f) => [f, new Array<bigint>(powers).fill(0n)]));
  const xp = new Array<bigint>(powers);
  for (const [id, fields] of contents.customers) {
    const x = element(blake2b(ENC.encode(`x\u0000${id}`), 16, key));
    let acc = x;
    for (let j = 0; j < powers; j++) {
      xp[j] = acc;
      const m = (members[j] as bigint) + acc;
      members[j] = m >= ROW_SET_MODULUS ? m - ROW_SET_MODULUS : m;
      acc = mulMod61(acc, x);
    }
    for (const f of fieldNames) {
      const content = fields.get(f);
      if (content === undefined) throw new RangeError(`contents.customers: a customer lacks field ${f}`);
      const w = element(blake2b(ENC.encode(`w\u0000${f}\u0000${id}\u0000${content}`), 16, key));
      const s = sums.get(f) as bigint[];
      for (let j = 0; j < powers; j++) {
        const v = (s[j] as bigint) + mulMod61(w, xp[j] as bigint);
        s[j] = v >= ROW_SET_MODULUS ? v - ROW_SET_MODULUS : v;
      }
    }
  }
  const shop: Record<string, string> = {};
  for (const [f, content] of [...contents.shop].sort(([a], [b]) => (a < b ? -1 : 1))) shop[f] = toHex(blake2b(ENC.encode(`shop\u0000${f}\u0000${content}`), 32, key));
  return Object.freeze({
    powers,
    members: Object.freeze(members.map(hex16)),
    fields: Object.freeze(Object.fromEntries(fieldNames.map((f) => [f, Object.freeze((sums.get(f) as bigint[]).map(hex16))]))),
    shop: Object.freeze(shop),
  });
}

const FIELD_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * Validates an untrusted sketch: T within limits, every sequence of T
 * 16-digit hex values below the modulus, field names `table.field` (at most
 * 64), shop digests 64 hex digits. Throws DisclosureError `ROW_SET_INVALID`
 * naming the path.
 */
export function parseRowSetSketch(json: unknown, where = 'rowSet'): RowSetSketch {
  const fail = (path: string, message: string): never => {
    throw new DisclosureError('ROW_SET_INVALID', `${where}${path}: ${message}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('', 'expected an object');
  const o = json as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'fields,members,powers,shop') fail('', 'expected exactly powers, members, fields and shop');
  const powers = o.powers;
  if (typeof powers !== 'number' || !Number.isSafeInteger(powers) || powers < ROW_SET_SPARE_POWERS || powers > rowSetPowers(ROW_SET_MAX_K) || (powers - ROW_SET_SPARE_POWERS) % 2 !== 0) {
    fail('.powers', `expected 2(k - 1) + ${ROW_SET_SPARE_POWERS} for k from 1 to ${ROW_SET_MAX_K}`);
  }
  const sequence = (v: unknown, path: string): string[] => {
    if (!Array.isArray(v) || v.length !== powers) fail(path, `expected ${String(powers)} values`);
    (v as unknown[]).forEach((x, i) => {
      if (typeof x !== 'string' || !HEX16.test(x) || BigInt(`0x${x}`) >= ROW_SET_MODULUS) fail(`${path}.${i}`, 'expected 16 hex digits below 2^61 - 1');
    });
    return [...(v as string[])];
  };
  const members = sequence(o.members, '.members');
  const fieldsIn = o.fields;
  if (typeof fieldsIn !== 'object' || fieldsIn === null || Array.isArray(fieldsIn)) fail('.fields', 'expected an object');
  const entries = Object.entries(fieldsIn as Record<string, unknown>);
  if (entries.length > 64) fail('.fields', 'at most 64 fields');
  const fields: Record<string, string[]> = {};
  for (const [f, v] of entries) {
    if (!FIELD_NAME.test(f) || f.length > 128) fail('.fields', `'${f.slice(0, 40)}' is not a table.field name`);
    fields[f] = sequence(v, `.fields.${f}`);
  }
  const shopIn = o.shop;
  if (typeof shopIn !== 'object' || shopIn === null || Array.isArray(shopIn)) fail('.shop', 'expected an object');
  const shopEntries = Object.entries(shopIn as Record<string, unknown>);
  if (shopEntries.length > 64) fail('.shop', 'at most 64 fields');
  const shop: Record<string, string> = {};
  for (const [f, v] of shopEntries) {
    if (!FIELD_NAME.test(f) || f.length > 128) fail('.shop', `'${f.slice(0, 40)}' is not a table.field name`);
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) fail(`.shop.${f}`, 'expected 64 hex digits');
    shop[f] = v as string;
  }
  return { powers: powers as number, members, fields, shop };
}

/**
 * What a shop attests about the rows one contribution reads: the sketch of
 * `view` (its round view) under the kind's input fields and scope, sized for
 * the query's k; null under a DP purpose, which the differencing defence
 * does not apply to.
 */
export function contributionRowSet(definition: AnyQueryDefinition, spec: unknown, view: ShopData, terms: DisclosureTerms, pseudonymKey: Uint8Array): RowSetSketch | null {
  if (terms.declared.mode !== 'exact') return null;
  return buildRowSetSketch(rowContents(view, definition.inputFields(spec), definition.rowScope?.(spec)), rowSetPowers(terms.minSubjects), pseudonymKey);
}

/** Hex values to field elements. */
export function rowSetValues(hex: readonly string[]): bigint[] {
  return hex.map((h) => BigInt(`0x${h}`));
}

/** Element-wise sum of sequences mod p (same length). */
export function addRowSetValues(a: readonly bigint[], b: readonly bigint[]): bigint[] {
  if (a.length !== b.length) throw new RangeError('a, b: expected sequences of the same length');
  return a.map((x, i) => {
    const v = x + (b[i] as bigint);
    return v >= ROW_SET_MODULUS ? v - ROW_SET_MODULUS : v;
  });
}

/**
 * Hex BLAKE2b-256 of the first four sums of one sequence, to tell later
 * whether one merchant's rows changed. Four sums of a difference of at most
 * four customers cannot all vanish (a Vandermonde system), and of more only
 * with probability about 2^-244; using a fixed prefix keeps digests of
 * sketches made for different k comparable.
 */
export function rowSetDigest(hex: readonly string[]): string {
  if (hex.length < ROW_SET_SPARE_POWERS) throw new RangeError(`hex: expected at least ${ROW_SET_SPARE_POWERS} values`);
  return toHex(blake2b(ENC.encode(hex.slice(0, ROW_SET_SPARE_POWERS).join(',')), 32));
}
