/**
 * How many customers, and which merchants, differ between the rows behind
 * two releases, from their row-set sketches (`compliance/row-set.ts`).
 *
 * A release's record keeps the sketches summed over its merchants and, per
 * merchant, a digest of each of its sequences. For two releases:
 *
 * - the fields both read (shared fields) and the membership are compared;
 *   a field only one of them reads cannot carry a figure of the other;
 * - customers: for each compared sequence, the difference of the two sums
 *   has linear complexity equal to the number of customers present in one
 *   and not the other, or whose content differs (Berlekamp–Massey over
 *   GF(2^61 − 1)); exact up to the sketches' capacity t = (T − 4) / 2, else
 *   "more than t". The customers differing in anything compared are at
 *   least the largest of these counts, which is what the rule is checked on
 *   (two fields differing in different customers are not added: that errs
 *   towards refusing);
 * - merchants: those in one release only, or whose digest of any compared
 *   sequence (or shared shop-level field) differs.
 *
 * @module
 */
import { ROW_SET_MODULUS, ROW_SET_SPARE_POWERS, addRowSetValues, mulMod61, rowSetDigest, rowSetValues, type RowSetSketch } from '../row-set.js';
import { DisclosureError } from './errors.js';

/** The row-set part of a release record. */
export interface ReleaseRowSet {
  /** T of the sketches (the same for every merchant of the release). */
  readonly powers: number;
  /** Membership power sums over every merchant (hex). */
  readonly members: readonly string[];
  /** Per customer-level field, power sums over every merchant (hex). */
  readonly fields: Readonly<Record<string, readonly string[]>>;
  /** Per merchant: digests of its membership, of each field's sequence and of each shop-level field. */
  readonly merchants: Readonly<Record<string, MerchantRowSetDigests>>;
}

export interface MerchantRowSetDigests {
  readonly members: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly shop: Readonly<Record<string, string>>;
}

/** Customers differing between two releases. */
export interface CustomerDifference {
  /** Lower bound on the customers whose compared rows differ (exact when `exact`). */
  readonly count: number;
  readonly exact: boolean;
  /** The compared sequence giving the bound (`members` or a field name). */
  readonly via: string;
}

export interface RowSetComparison {
  /** Null when nothing compared differs. */
  readonly customers: CustomerDifference | null;
  /** Merchants present in one release only, or whose compared rows differ; sorted. */
  readonly merchants: readonly string[];
  /** The customer-level fields both releases read. */
  readonly sharedFields: readonly string[];
}

function powMod(base: bigint, exp: bigint): bigint {
  let r = 1n;
  let b = base % ROW_SET_MODULUS;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = mulMod61(r, b);
    b = mulMod61(b, b);
    e >>= 1n;
  }
  return r;
}

/**
 * The linear complexity of `s` over GF(2^61 − 1) (Berlekamp–Massey): the
 * length of the shortest linear recurrence generating it. Throws RangeError
 * for values outside the field.
 */
export function linearComplexity(s: readonly bigint[]): number {
  const p = ROW_SET_MODULUS;
  for (const v of s) if (typeof v !== 'bigint' || v < 0n || v >= p) throw new RangeError('s: expected field elements in [0, 2^61 - 1)');
  let c: bigint[] = [1n];
  let b: bigint[] = [1n];
  let l = 0;
  let m = 1;
  let bd = 1n;
  for (let n = 0; n < s.length; n++) {
    let d = s[n] as bigint;
    for (let i = 1; i <= l; i++) {
      d += mulMod61(c[i] ?? 0n, s[n - i] as bigint);
      if (d >= p) d -= p;
    }
    if (d === 0n) {
      m++;
      continue;
    }
    const coef = mulMod61(d, powMod(bd, p - 2n));
    const previous = c.slice();
    const need = b.length + m;
    while (c.length < need) c.push(0n);
    for (let i = 0; i < b.length; i++) {
      const v = (c[i + m] as bigint) - mulMod61(coef, b[i] as bigint);
      c[i + m] = v < 0n ? v + p : v;
    }
    if (2 * l <= n) {
      l = n + 1 - l;
      b = previous;
      bd = d;
      m = 1;
    } else {
      m++;
    }
  }
  return l;
}

/** Customers behind a nonzero difference sequence: exact up to `capacity`, else capacity + 1 as a bound. */
function differing(a: readonly string[], b: readonly string[], length: number, capacity: number): { count: number; exact: boolean } {
  const x = rowSetValues(a.slice(0, length));
  const y = rowSetValues(b.slice(0, length));
  const diff = x.map((v, i) => {
    const d = v - (y[i] as bigint);
    return d < 0n ? d + ROW_SET_MODULUS : d;
  });
  if (diff.every((d) => d === 0n)) return { count: 0, exact: true };
  const l = linearComplexity(diff);
  return l <= capacity ? { count: l, exact: true } : { count: capacity + 1, exact: false };
}

/** Compares the rows behind two releases. Throws TypeError for malformed records. */
export function compareRowSets(a: ReleaseRowSet, b: ReleaseRowSet): RowSetComparison {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) throw new TypeError('a, b: expected ReleaseRowSet records');
  const length = Math.min(a.powers, b.powers);
  const capacity = Math.max(0, Math.floor((length - ROW_SET_SPARE_POWERS) / 2));
  const shared = Object.keys(a.fields).filter((f) => Object.hasOwn(b.fields, f)).sort();
  let best: CustomerDifference | null = null;
  for (const [via, sa, sb] of [['members', a.members, b.members] as const, ...shared.map((f) => [f, a.fields[f] as readonly string[], b.fields[f] as readonly string[]] as const)]) {
    const d = differing(sa, sb, length, capacity);
    if (d.count > 0 && (best === null || d.count > best.count)) best = { ...d, via };
  }
  const merchants = new Set<string>();
  for (const m of new Set([...Object.keys(a.merchants), ...Object.keys(b.merchants)])) {
    const da = a.merchants[m];
    const db = b.merchants[m];
    if (da === undefined || db === undefined) {
      merchants.add(m);
      continue;
    }
    const shopShared = Object.keys(da.shop).filter((f) => Object.hasOwn(db.shop, f));
    if (da.members !== db.members || shared.some((f) => da.fields[f] !== db.fields[f]) || shopShared.some((f) => da.shop[f] !== db.shop[f])) merchants.add(m);
  }
  return { customers: best, merchants: [...merchants].sort(), sharedFields: shared };
}

/**
 * The row-set record of a release from its shops' sketches: sequences
 * summed over the merchants (customers of different shops are different
 * subjects, so sums of sketches are sketches of the union), and per
 * merchant the digests that tell later whether its rows changed. Throws
 * DisclosureError `POLICY_MISMATCH` for a missing sketch and
 * `ROW_SET_INVALID` for sketches of different sizes or fields (every shop of
 * one query reads the same fields).
 */
export function releaseRowSet(sketches: ReadonlyMap<string, RowSetSketch | null>): ReleaseRowSet {
  let powers: number | undefined;
  let fieldNames: string | undefined;
  let members: bigint[] | undefined;
  const fields = new Map<string, bigint[]>();
  const merchants: Record<string, MerchantRowSetDigests> = {};
  for (const [merchant, r] of [...sketches].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (r === null) throw new DisclosureError('POLICY_MISMATCH', `${merchant} sent no row-set sketch, which an exact purpose needs`);
    const names = Object.keys(r.fields).sort().join(',');
    if (powers !== undefined && (r.powers !== powers || names !== fieldNames)) {
      throw new DisclosureError('ROW_SET_INVALID', `the row-set sketch of ${merchant} has another size or other fields than the other shops'`);
    }
    powers = r.powers;
    fieldNames = names;
    members = members ? addRowSetValues(members, rowSetValues(r.members)) : rowSetValues(r.members);
    for (const [f, seq] of Object.entries(r.fields)) {
      const sum = fields.get(f);
      fields.set(f, sum ? addRowSetValues(sum, rowSetValues(seq)) : rowSetValues(seq));
    }
    merchants[merchant] = {
      members: rowSetDigest(r.members),
      fields: Object.fromEntries(Object.entries(r.fields).map(([f, seq]) => [f, rowSetDigest(seq)])),
      shop: { ...r.shop },
    };
  }
  if (powers === undefined || members === undefined) throw new DisclosureError('ROW_SET_INVALID', 'no row-set sketches');
  const hex = (v: bigint[]): string[] => v.map((x) => x.toString(16).padStart(16, '0'));
  return {
    powers,
    members: hex(members),
    fields: Object.fromEntries([...fields].sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, v]) => [f, hex(v)])),
    merchants,
  };
}
