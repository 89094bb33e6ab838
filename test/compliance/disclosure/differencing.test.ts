/**
 * The differencing defence on recorded row sets. Shops' sketches of the
 * rows each release read are built from plain per-customer contents, and
 * the defence is checked against the plain answer computed here from the
 * same contents: the customers present in one release only or whose
 * compared content differs, and the merchants that differ. Pairs differing
 * by 1..k−1 customers or 1..m−1 merchants are found whatever the kinds;
 * rounds of one fit are not compared; records without sketches fall back
 * to counts.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady } from '../../../crypto/index.js';
import { buildRowSetSketch, compareRowSets, findDifferencing, releaseRowSet, rowSetPowers, type PopulationRecord } from '../../../compliance/index.js';
import { linearComplexity } from '../../../compliance/disclosure/row-set-difference.js';
import { populationDifference } from '../../../compliance/disclosure/differencing.js';
import { ROW_SET_MODULUS, type RowSetSketch } from '../../../compliance/row-set.js';
import type { RowContents } from '../../../analytics/index.js';

/** One shop's rows as a release reads them: customer → field → content. */
type ShopRows = Record<string, Record<string, string>>;

const KEYS: Record<string, Uint8Array> = { a: new Uint8Array(32).fill(1), b: new Uint8Array(32).fill(2), c: new Uint8Array(32).fill(3), d: new Uint8Array(32).fill(4) };

function contentsOf(rows: ShopRows, fields: readonly string[]): RowContents {
  return {
    fields: [...fields].sort(),
    customers: new Map(Object.entries(rows).map(([id, f]) => [id, new Map(fields.map((name) => [name, f[name] ?? '']))])),
    shop: new Map(),
  };
}

function sketches(shops: Record<string, ShopRows>, fields: readonly string[], k: number): Map<string, RowSetSketch> {
  return new Map(Object.entries(shops).map(([m, rows]) => [m, buildRowSetSketch(contentsOf(rows, fields), rowSetPowers(k), KEYS[m] as Uint8Array)]));
}

function record(queryId: string, kind: string, shops: Record<string, ShopRows>, fields: readonly string[], k: number, extra: Partial<PopulationRecord> = {}): PopulationRecord {
  const merchants = Object.fromEntries(Object.entries(shops).map(([m, rows]) => [m, Object.keys(rows).length]));
  return {
    queryId,
    kind,
    specDigest: '00',
    merchants,
    attestedSubjects: Object.values(merchants).reduce((a, b) => a + b, 0),
    releasedAt: new Date(0).toISOString(),
    rowSet: releaseRowSet(sketches(shops, fields, k)),
    ...extra,
  };
}

/** The plain answer: customers (per shop) differing in membership or in any field both read, and merchants that differ. */
function plainDifference(x: Record<string, ShopRows>, y: Record<string, ShopRows>, shared: readonly string[]): { customers: number; merchants: string[] } {
  let customers = 0;
  const merchants: string[] = [];
  for (const m of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
    const a = x[m] ?? {};
    const b = y[m] ?? {};
    let here = 0;
    for (const id of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(id in a) || !(id in b) || shared.some((f) => a[id]![f] !== b[id]![f])) here++;
    }
    customers += here;
    if (here > 0 || !(m in x) || !(m in y)) merchants.push(m);
  }
  return { customers, merchants };
}

function shop(prefix: string, n: number, field = 'order.amount'): ShopRows {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { [field]: `o${i}=${100 + i}`, 'customer.lifecycle_stage': i % 2 ? 'new' : 'loyal' }]));
}

const K = 10;
const M = 3;
const BASE = { a: shop('a', 40), b: shop('b', 30), c: shop('c', 25) };
const FIELDS = ['customer.lifecycle_stage', 'order.amount'];

beforeAll(async () => {
  await cryptoReady();
});

describe('linearComplexity (Berlekamp–Massey over GF(2^61 − 1))', () => {
  it('is the number of terms of Σ a_i y_i^j with distinct nonzero y_i and nonzero a_i', () => {
    const p = ROW_SET_MODULUS;
    const pow = (y: bigint, j: number) => {
      let r = 1n;
      for (let i = 0; i < j; i++) r = (r * y) % p;
      return r;
    };
    fc.assert(
      fc.property(fc.uniqueArray(fc.bigInt({ min: 1n, max: p - 1n }), { minLength: 0, maxLength: 12 }), fc.array(fc.bigInt({ min: 1n, max: p - 1n }), { minLength: 12, maxLength: 12 }), (ys, as) => {
        const seq = Array.from({ length: 2 * ys.length + 4 }, (_, j) => ys.reduce((s, y, i) => (s + (as[i] as bigint) * pow(y, j + 1)) % p, 0n));
        expect(linearComplexity(seq)).toBe(ys.length);
      }),
      { numRuns: 60 },
    );
  });

  it('gives the known answers of small sequences', () => {
    expect(linearComplexity([0n, 0n, 0n, 0n])).toBe(0);
    expect(linearComplexity([1n, 1n, 1n, 1n])).toBe(1); // s_j = 1^j
    expect(linearComplexity([1n, 1n, 2n, 3n, 5n, 8n])).toBe(2); // Fibonacci
    expect(linearComplexity([0n, 0n, 0n, 1n])).toBe(4); // an impulse needs the full length
    expect(() => linearComplexity([ROW_SET_MODULUS])).toThrow(RangeError);
  });
});

describe('compareRowSets and findDifferencing', () => {
  it('counts one order placed between two releases, in the field that holds it, whatever the kinds', () => {
    const after = { ...BASE, b: { ...BASE.b, b3: { ...BASE.b.b3!, 'order.amount': 'o3=103\no99=5000' } } };
    const earlier = record('q-reg-1', 'linear-regression', BASE, FIELDS, K);
    const next = record('q-hist', 'histogram', after, ['order.amount'], K);
    const c = compareRowSets(earlier.rowSet!, next.rowSet!);
    expect(c.customers).toEqual({ count: 1, exact: true, via: 'order.amount' });
    expect(c.merchants).toEqual(['b']);
    expect(c.sharedFields).toEqual(['order.amount']);
    expect(findDifferencing([earlier], next, { minSubjects: K, minMerchants: M })).toMatchObject({ code: 'DIFFERENCING', difference: 1, exact: true, via: 'order.amount' });
  });

  it('sees as many customers joining as leaving, which counts cannot', () => {
    const { a0: _gone, ...rest } = BASE.a;
    const after = { ...BASE, a: { ...rest, aNew: { 'order.amount': 'o1=1', 'customer.lifecycle_stage': 'new' } } };
    expect(populationDifference(record('x', 'k', BASE, FIELDS, K).merchants, record('y', 'k', after, FIELDS, K).merchants)).toBe(0);
    const hit = findDifferencing([record('q1', 'segment-stats', BASE, FIELDS, K)], record('q2', 'rfm', after, FIELDS, K), { minSubjects: K, minMerchants: M });
    expect(hit).toMatchObject({ code: 'DIFFERENCING', difference: 2, exact: true });
  });

  it('compares only the fields both releases read: a change in an unread field is not a difference', () => {
    const after = { ...BASE, a: { ...BASE.a, a1: { ...BASE.a.a1!, 'order.amount': 'changed' } } };
    const earlier = record('q-life', 'x', BASE, ['customer.lifecycle_stage'], K);
    const next = record('q-life-2', 'y', after, ['customer.lifecycle_stage'], K);
    expect(compareRowSets(earlier.rowSet!, next.rowSet!)).toEqual({ customers: null, merchants: [], sharedFields: ['customer.lifecycle_stage'] });
    expect(findDifferencing([earlier], next, { minSubjects: K, minMerchants: M })).toBeUndefined();
  });

  it('refuses merchant sets differing by fewer than m shops, and lets equal rows and large differences through', () => {
    const three = record('q3', 'segment-stats', BASE, FIELDS, K);
    const four = record('q4', 'segment-stats', { ...BASE, d: shop('d', 30) }, FIELDS, K);
    // Shop d alone is the difference: 30 customers, but one merchant.
    expect(findDifferencing([three], four, { minSubjects: K, minMerchants: M })).toMatchObject({ code: 'MERCHANT_DIFFERENCING', difference: 1, merchants: ['d'] });
    expect(findDifferencing([three], record('q5', 'rfm', BASE, FIELDS, K), { minSubjects: K, minMerchants: M })).toBeUndefined();
    const allChanged = Object.fromEntries(Object.entries(BASE).map(([m, rows]) => [m, Object.fromEntries(Object.entries(rows).map(([id, f]) => [id, { ...f, 'order.amount': `${f['order.amount']}\nnew` }]))]));
    expect(findDifferencing([three], record('q6', 'rfm', allChanged, FIELDS, K), { minSubjects: K, minMerchants: M })).toBeUndefined();
    expect(findDifferencing([three], { ...three }, { minSubjects: K, minMerchants: M })).toBeUndefined(); // the same query again
  });

  it('does not compare rounds of one fit, and compares them with other fits', () => {
    const after = { ...BASE, c: { ...BASE.c, c2: { ...BASE.c.c2!, 'order.amount': 'x' } } };
    const r1 = record('q-r1', 'logistic-irls-round', BASE, FIELDS, K, { fitId: 'fit-1' });
    expect(findDifferencing([r1], record('q-r2', 'logistic-irls-round', after, FIELDS, K, { fitId: 'fit-1' }), { minSubjects: K, minMerchants: M })).toBeUndefined();
    expect(findDifferencing([r1], record('q-r3', 'logistic-irls-round', after, FIELDS, K, { fitId: 'fit-2' }), { minSubjects: K, minMerchants: M })).toMatchObject({ code: 'DIFFERENCING', difference: 1 });
  });

  it('falls back to attested counts for records without sketches', () => {
    const legacy: PopulationRecord = { queryId: 'old', kind: 'histogram', specDigest: '00', merchants: { a: 40, b: 30, c: 25 }, attestedSubjects: 95, releasedAt: new Date(0).toISOString() };
    expect(findDifferencing([legacy], record('q', 'x', { ...BASE, a: shop('a', 39) }, FIELDS, K), { minSubjects: K, minMerchants: M })).toMatchObject({ code: 'DIFFERENCING', difference: 1, via: 'counts' });
  });

  it('finds exactly the pairs the plain answer says differ by 1..k−1 customers or 1..m−1 merchants (property)', () => {
    const ids = fc.constantFrom(...Array.from({ length: 14 }, (_, i) => `c${i}`));
    const rows = fc.dictionary(ids, fc.record({ 'order.amount': fc.constantFrom('1', '2', '3'), 'customer.lifecycle_stage': fc.constantFrom('new', 'loyal') }), { maxKeys: 14 });
    const shops = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), rows, { minKeys: 1 });
    const fieldSets = fc.constantFrom(['order.amount'], ['customer.lifecycle_stage'], FIELDS);
    fc.assert(
      fc.property(shops, shops, fieldSets, fieldSets, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 4 }), (x, y, fx, fy, k, m) => {
        const shared = fx.filter((f) => fy.includes(f));
        const plain = plainDifference(x, y, shared);
        const c = compareRowSets(record('q1', 'a', x, fx, k).rowSet!, record('q2', 'b', y, fy, k).rowSet!);
        // Customers: exact below k; otherwise at least k is all that is claimed.
        if (plain.customers === 0) expect(c.customers).toBeNull();
        else if (plain.customers < k) expect(c.customers?.count).toBe(plain.customers);
        else expect(c.customers!.count).toBeGreaterThanOrEqual(Math.min(k, plain.customers));
        expect(c.merchants).toEqual(plain.merchants);
        const hit = findDifferencing([record('q1', 'a', x, fx, k)], record('q2', 'b', y, fy, k), { minSubjects: k, minMerchants: m });
        const refuse = (plain.customers > 0 && plain.customers < k) || (plain.merchants.length > 0 && plain.merchants.length < m);
        expect(hit !== undefined).toBe(refuse);
      }),
      { numRuns: 150 },
    );
  });

  it('checks its arguments', () => {
    const r = record('q', 'x', BASE, FIELDS, K);
    expect(() => findDifferencing(null as unknown as PopulationRecord[], r, { minSubjects: K, minMerchants: M })).toThrow(/earlier/);
    expect(() => findDifferencing([], r, { minSubjects: 0, minMerchants: M })).toThrow(/minSubjects/);
    expect(() => releaseRowSet(new Map([['a', null]]))).toThrow(/no row-set sketch/);
    const s = sketches({ a: BASE.a, b: BASE.b }, FIELDS, K);
    s.set('b', { ...s.get('b')!, fields: { 'order.amount': s.get('b')!.fields['order.amount']! } });
    expect(() => releaseRowSet(s)).toThrow(/other fields/);
  });
});
