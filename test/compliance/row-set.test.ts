/**
 * Row-set sketches as power sums over GF(2^61 − 1), checked with plain
 * BigInt arithmetic: one customer's sequence is the powers of one point,
 * sketches of disjoint customer sets add element-wise, a sketch made for a
 * larger k extends the one for a smaller k, and sketches made for k = 5 and
 * k = 12 compare exactly below 5 and as a lower bound beyond. The parser
 * accepts exactly what the documented rules allow (a plain validator written
 * here, over random mutations of a valid sketch), names the path of what it
 * refuses, and every sketch it accepts round-trips through JSON.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RowContents } from '../../analytics/index.js';
import { DisclosureError, buildRowSetSketch, compareRowSets, releaseRowSet, rowSetPowers } from '../../compliance/index.js';
import { ROW_SET_MODULUS, addRowSetValues, mulMod61, parseRowSetSketch, rowSetDigest, rowSetValues, type RowSetSketch } from '../../compliance/row-set.js';
import { cryptoReady } from '../../crypto/index.js';

const P = ROW_SET_MODULUS;
const KEY = new Uint8Array(32).fill(9);
const FIELDS = ['customer.lifecycle_stage', 'order.amount'];

/** customer → field → content */
type Rows = Record<string, Record<string, string>>;

function contentsOf(rows: Rows, shop: Record<string, string> = {}): RowContents {
  return {
    fields: FIELDS,
    customers: new Map(Object.entries(rows).map(([id, f]) => [id, new Map(FIELDS.map((name) => [name, f[name] ?? '']))])),
    shop: new Map(Object.entries(shop)),
  };
}

const sketch = (rows: Rows, k: number, key = KEY, shop: Record<string, string> = {}): RowSetSketch => buildRowSetSketch(contentsOf(rows, shop), rowSetPowers(k), key);

function rowsOf(n: number, prefix = 'c', tag = ''): Rows {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { 'customer.lifecycle_stage': i % 2 ? 'new' : 'loyal', 'order.amount': `"o${i}"=${100 + i}${tag}` }]));
}

/** Random customers: ids from a small pool, contents from a few values. */
const rowsArb = fc.dictionary(
  fc.constantFrom(...Array.from({ length: 16 }, (_, i) => `id${i}`)),
  fc.record({ 'customer.lifecycle_stage': fc.constantFrom('"new"', '"loyal"'), 'order.amount': fc.constantFrom('', '"o1"=5', '"o1"=5\n"o2"=7') }),
  { maxKeys: 16 },
);

beforeAll(async () => {
  await cryptoReady();
});

describe('rowSetPowers', () => {
  it.each([
    [1, 4],
    [2, 6],
    [5, 12],
    [10, 22],
    [12, 26],
    [1000, 2002],
  ])('k = %i needs 2(k − 1) + 4 = %i power sums', (k, t) => {
    expect(rowSetPowers(k)).toBe(t);
  });

  it.each([0, 1001, 2.5, Number.NaN, -3])('refuses k = %s', (k) => {
    expect(() => rowSetPowers(k)).toThrow(RangeError);
  });
});

describe('sketch arithmetic', () => {
  it('mulMod61 is the product mod 2^61 − 1 (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: P - 1n }), fc.bigInt({ min: 0n, max: P - 1n }), (a, b) => {
        expect(mulMod61(a, b)).toBe((a * b) % P);
      }),
      { numRuns: 200 },
    );
    expect(mulMod61(P - 1n, P - 1n)).toBe(1n);
  });

  it('gives one customer the powers x, x², …, x^T of one point, and each field w·x^j', () => {
    for (const id of ['a', 'b', 'customer-7']) {
      const s = sketch({ [id]: { 'customer.lifecycle_stage': '"new"', 'order.amount': '"o1"=5' } }, 4);
      const m = rowSetValues(s.members);
      const x = m[0]!;
      expect(x > 0n && x < P).toBe(true);
      let power = x;
      for (let j = 0; j < m.length; j++, power = (power * x) % P) expect(m[j]).toBe(power);
      for (const f of FIELDS) {
        const v = rowSetValues(s.fields[f]!);
        // v_j = w·x^(j+1): each term is the one before times x.
        for (let j = 1; j < v.length; j++) expect(v[j]).toBe((v[j - 1]! * x) % P);
        expect(v[0]).not.toBe(0n);
      }
    }
  });

  it('adds: the sketch of disjoint customer sets is the element-wise sum mod 2^61 − 1 of their sketches (property)', () => {
    fc.assert(
      fc.property(rowsArb, fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), fc.integer({ min: 1, max: 6 }), (rows, side, k) => {
        const left = Object.fromEntries(Object.entries(rows).filter(([id]) => side[Number(id.slice(2))]));
        const right = Object.fromEntries(Object.entries(rows).filter(([id]) => !side[Number(id.slice(2))]));
        const [all, a, b] = [sketch(rows, k), sketch(left, k), sketch(right, k)];
        const plainSum = (x: readonly string[], y: readonly string[]) => rowSetValues(x).map((v, i) => (v + rowSetValues(y)[i]!) % P);
        expect(rowSetValues(all.members)).toEqual(plainSum(a.members, b.members));
        expect(addRowSetValues(rowSetValues(a.members), rowSetValues(b.members))).toEqual(rowSetValues(all.members));
        for (const f of FIELDS) expect(rowSetValues(all.fields[f]!)).toEqual(plainSum(a.fields[f]!, b.fields[f]!));
        // The order customers come in does not matter.
        expect(sketch(Object.fromEntries(Object.entries(rows).reverse()), k)).toEqual(all);
      }),
      { numRuns: 100 },
    );
  });

  it('is all zeros for no customers, and releaseRowSet sums the shops', () => {
    const empty = sketch({}, 3);
    expect(empty.members).toEqual(Array(8).fill('0'.repeat(16)));
    const a = sketch(rowsOf(5, 'a'), 3);
    const b = sketch(rowsOf(4, 'b'), 3, new Uint8Array(32).fill(2));
    const r = releaseRowSet(new Map([['shop-b', b], ['shop-a', a]]));
    expect(rowSetValues(r.members)).toEqual(rowSetValues(a.members).map((v, i) => (v + rowSetValues(b.members)[i]!) % P));
    expect(Object.keys(r.merchants)).toEqual(['shop-a', 'shop-b']);
    expect(r.merchants['shop-a']).toEqual({ members: rowSetDigest(a.members), fields: { 'customer.lifecycle_stage': rowSetDigest(a.fields['customer.lifecycle_stage']!), 'order.amount': rowSetDigest(a.fields['order.amount']!) }, shop: {} });
    // Shops of one release must send sketches of one size.
    expect(() => releaseRowSet(new Map([['shop-a', a], ['shop-b', sketch(rowsOf(4, 'b'), 4)]]))).toThrow(expect.objectContaining({ code: 'ROW_SET_INVALID' }));
  });

  it('changes only the sequence of the field whose content changed, and every sequence under another key', () => {
    const base = sketch(rowsOf(6), 3);
    const changed = sketch({ ...rowsOf(6), c2: { 'customer.lifecycle_stage': 'loyal', 'order.amount': '"o2"=999' } }, 3);
    expect(changed.members).toEqual(base.members);
    expect(changed.fields['customer.lifecycle_stage']).toEqual(base.fields['customer.lifecycle_stage']);
    expect(changed.fields['order.amount']).not.toEqual(base.fields['order.amount']);
    const other = sketch(rowsOf(6), 3, new Uint8Array(32).fill(10));
    expect(other.members).not.toEqual(base.members);
    expect(other.fields['order.amount']).not.toEqual(base.fields['order.amount']);
    // Shop-level fields: a keyed digest of their content.
    const s1 = sketch({}, 1, KEY, { 'shop_metrics.orders': '"2025-01"=10' });
    expect(s1.shop['shop_metrics.orders']).toMatch(/^[0-9a-f]{64}$/);
    expect(sketch({}, 1, KEY, { 'shop_metrics.orders': '"2025-01"=11' }).shop['shop_metrics.orders']).not.toBe(s1.shop['shop_metrics.orders']);
    expect(sketch({}, 1, KEY, { 'shop_metrics.orders': '"2025-01"=10' }).shop).toEqual(s1.shop);
  });

  it('extends: a sketch for a larger k starts with the sketch for a smaller k, and their digests agree', () => {
    const small = sketch(rowsOf(20), 5);
    const large = sketch(rowsOf(20), 12);
    expect(small.powers).toBe(12);
    expect(large.powers).toBe(26);
    expect(large.members.slice(0, 12)).toEqual(small.members);
    for (const f of FIELDS) {
      expect(large.fields[f]!.slice(0, 12)).toEqual(small.fields[f]);
      expect(rowSetDigest(large.fields[f]!)).toBe(rowSetDigest(small.fields[f]!));
    }
    expect(rowSetDigest(large.members)).toBe(rowSetDigest(small.members));
    expect(rowSetDigest(sketch(rowsOf(21), 5).members)).not.toBe(rowSetDigest(small.members));
    expect(() => rowSetDigest(small.members.slice(0, 3))).toThrow(RangeError);
  });

  it('checks its arguments', () => {
    expect(() => buildRowSetSketch({} as RowContents, 4, KEY)).toThrow(TypeError);
    expect(() => buildRowSetSketch(contentsOf({}), 3, KEY)).toThrow(/powers/);
    expect(() => buildRowSetSketch(contentsOf({}), 2003, KEY)).toThrow(/powers/);
    expect(() => buildRowSetSketch(contentsOf({}), 4, new Uint8Array(15))).toThrow(/pseudonymKey/);
    const missing: RowContents = { fields: FIELDS, customers: new Map([['c', new Map([['order.amount', '']])]]), shop: new Map() };
    expect(() => buildRowSetSketch(missing, 4, KEY)).toThrow(/lacks field customer.lifecycle_stage/);
  });
});

describe('compareRowSets across k (sketches for k = 5 and k = 12)', () => {
  /** A release's row set from one shop's rows. */
  const release = (rows: Rows, k: number) => releaseRowSet(new Map([['shop-a', sketch(rows, k)]]));

  it.each(Array.from({ length: 16 }, (_, d) => d))('%i differing customers: exact below 5, at least 5 beyond', (d) => {
    const base = rowsOf(40);
    // d customers differ: half leave and are replaced (membership), the rest change an order.
    const next: Rows = { ...base };
    for (let i = 0; i < d; i++) {
      if (i % 2 === 0) next[`c${i}`] = { ...base[`c${i}`]!, 'order.amount': `${base[`c${i}`]!['order.amount']}\n"new"=1` };
      else {
        delete next[`c${i}`];
        next[`n${i}`] = base[`c${i}`]!;
      }
    }
    // Leaving and joining is two customers of the membership each; the plain count of differing customers:
    const plain = Object.keys({ ...base, ...next }).filter((id) => !(id in base) || !(id in next) || base[id]!['order.amount'] !== next[id]!['order.amount']).length;
    for (const [a, b] of [
      [release(base, 5), release(next, 12)],
      [release(base, 12), release(next, 5)],
    ] as const) {
      const c = compareRowSets(a, b);
      if (plain === 0) expect(c.customers).toBeNull();
      else if (plain < 5) expect(c.customers).toMatchObject({ count: plain, exact: true });
      else expect(c.customers).toMatchObject({ count: 5, exact: false });
      expect(c.merchants).toEqual(plain === 0 ? [] : ['shop-a']);
    }
    // Two sketches for k = 12 count exactly up to 11.
    const both = compareRowSets(release(base, 12), release(next, 12)).customers;
    if (plain === 0) expect(both).toBeNull();
    else expect(both).toMatchObject(plain < 12 ? { count: plain, exact: true } : { count: 12, exact: false });
  });
});

/** The documented rules, checked plainly. */
function plainValid(o: unknown): boolean {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const name = (f: string) => /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/.test(f) && f.length <= 128;
  if (!isObject(o) || Object.keys(o).sort().join(',') !== 'fields,members,powers,shop') return false;
  const t = o.powers;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 4 || t > 2002 || t % 2 !== 0) return false;
  const sequence = (v: unknown) => Array.isArray(v) && v.length === t && v.every((x) => typeof x === 'string' && /^[0-9a-f]{16}$/.test(x) && BigInt(`0x${x}`) < P);
  if (!sequence(o.members)) return false;
  if (!isObject(o.fields) || Object.keys(o.fields).length > 64 || !Object.entries(o.fields).every(([f, v]) => name(f) && sequence(v))) return false;
  if (!isObject(o.shop) || Object.keys(o.shop).length > 64 || !Object.entries(o.shop).every(([f, v]) => name(f) && typeof v === 'string' && /^[0-9a-f]{64}$/.test(v))) return false;
  return true;
}

/** The path a ROW_SET_INVALID error names (`rowSet.fields.order.amount.3`). */
function refusedPath(e: unknown): string {
  expect(e).toBeInstanceOf(DisclosureError);
  expect((e as DisclosureError).code).toBe('ROW_SET_INVALID');
  return (e as DisclosureError).message.split(':')[0]!;
}

function refusal(json: unknown, where?: string): string {
  try {
    parseRowSetSketch(json, where);
  } catch (e) {
    return refusedPath(e);
  }
  throw new Error('accepted');
}

describe('parseRowSetSketch', () => {
  let valid: Record<string, unknown>;
  beforeAll(() => {
    valid = JSON.parse(JSON.stringify(sketch(rowsOf(3), 2, KEY, { 'shop_metrics.orders': 'x' }))) as Record<string, unknown>;
  });
  const edit = (f: (o: Record<string, any>) => void): unknown => {
    const o = structuredClone(valid) as Record<string, any>;
    f(o);
    return o;
  };

  it('accepts built sketches, which round-trip through JSON (property)', () => {
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 1, max: 12 }), (rows, k) => {
        const s = sketch(rows, k, KEY, { 'shop_metrics.orders': 'x', 'shop_metrics.period': 'y' });
        expect(parseRowSetSketch(JSON.parse(JSON.stringify(s)))).toEqual(s);
      }),
      { numRuns: 60 },
    );
  });

  it.each<[string, string, (o: Record<string, any>) => void]>([
    ['an empty object', 'rowSet', (o) => Object.keys(o).forEach((k) => delete o[k])],
    ['an extra key', 'rowSet', (o) => (o.extra = 1)],
    ['a missing key', 'rowSet', (o) => delete o.shop],
    ['odd powers', 'rowSet.powers', (o) => (o.powers = 7)],
    ['powers below 4', 'rowSet.powers', (o) => (o.powers = 2)],
    ['powers beyond k = 1000', 'rowSet.powers', (o) => (o.powers = 2004)],
    ['powers as a string', 'rowSet.powers', (o) => (o.powers = '6')],
    ['powers not matching the sequences', 'rowSet.members', (o) => (o.powers = 8)],
    ['a short membership', 'rowSet.members', (o) => o.members.pop()],
    ['a long field sequence', 'rowSet.fields.order.amount', (o) => o.fields['order.amount'].push('0'.repeat(16))],
    ['a value equal to 2^61 − 1', 'rowSet.members.3', (o) => (o.members[3] = '1fffffffffffffff')],
    ['a value above 2^61 − 1', 'rowSet.fields.order.amount.5', (o) => (o.fields['order.amount'][5] = 'ffffffffffffffff')],
    ['upper-case hex', 'rowSet.members.0', (o) => (o.members[0] = '0BCDEF0123456789')],
    ['15 hex digits', 'rowSet.members.1', (o) => (o.members[1] = '0'.repeat(15))],
    ['a number for a value', 'rowSet.members.2', (o) => (o.members[2] = 5)],
    ['a field name without a table', 'rowSet.fields', (o) => (o.fields.amount = o.fields['order.amount'])],
    ['an upper-case field name', 'rowSet.fields', (o) => (o.fields['Order.amount'] = o.fields['order.amount'])],
    ['a field name of three parts', 'rowSet.fields', (o) => (o.fields['order.amount.x'] = o.fields['order.amount'])],
    ['fields as an array', 'rowSet.fields', (o) => (o.fields = [])],
    ['65 fields', 'rowSet.fields', (o) => Array.from({ length: 63 }, (_, i) => (o.fields[`t.f${i}`] = o.members))],
    ['a short shop digest', 'rowSet.shop.shop_metrics.orders', (o) => (o.shop['shop_metrics.orders'] = 'ab')],
    ['a bad shop field name', 'rowSet.shop', (o) => (o.shop['shop metrics'] = '0'.repeat(64))],
    ['shop as null', 'rowSet.shop', (o) => (o.shop = null)],
  ])('refuses %s, naming %s', (_, path, f) => {
    expect(refusal(edit(f))).toBe(path);
  });

  it('refuses non-objects and names the place given', () => {
    for (const v of [null, 5, 'x', [], undefined]) expect(refusal(v)).toBe('rowSet');
    expect(refusal(edit((o) => (o.powers = 5)), 'attestation.rowSet')).toBe('attestation.rowSet.powers');
  });

  it('accepts exactly what the documented rules allow, naming a path at or around the change (property)', () => {
    const hex16 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => v.toString(16).padStart(16, '0'));
    const below = fc.bigInt({ min: 0n, max: P - 1n }).map((v) => v.toString(16).padStart(16, '0'));
    const value: fc.Arbitrary<unknown> = fc.oneof(
      below,
      hex16,
      fc.constantFrom('1fffffffffffffff', '1ffffffffffffffe', 'ABCDEF0123456789', '0'.repeat(64), 'f'.repeat(64), '', 'x'),
      fc.constantFrom(3, 4, 5, 6, 7, 8, 2002, 2003, 2004, 6.5, -6, null, true, {}),
      fc.array(below, { minLength: 5, maxLength: 7 }),
      fc.array(below, { minLength: 6, maxLength: 6 }),
    );
    const paths: (string | number)[][] = [[], ['powers'], ['members'], ['members', 0], ['members', 5], ['fields'], ['fields', 'order.amount'], ['fields', 'order.amount', 2], ['fields', 'customer.lifecycle_stage', 4], ['shop'], ['shop', 'shop_metrics.orders']];
    const keys = ['x', 'order.total', 'Order.amount', 'a.b', 'a_1.b_2', 'shop_metrics.returns', '__proto__', 'toString', 'members', 'fields.x'];
    const mutation = fc.record({ path: fc.constantFrom(...paths), op: fc.constantFrom('set', 'delete', 'add'), key: fc.constantFrom(...keys), value });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const o = structuredClone<Record<string, unknown>>(valid);
        const touched: string[] = [];
        for (const m of mutations) {
          // set and delete act on the path's last step; add puts a new key (or element) into the object at the path.
          const parentPath = m.op === 'add' ? m.path : m.path.slice(0, -1);
          let parent: unknown = o;
          for (const step of parentPath) parent = typeof parent === 'object' && parent !== null ? (parent as Record<string | number, unknown>)[step] : undefined;
          if (typeof parent !== 'object' || parent === null || (m.op !== 'add' && m.path.length === 0)) continue;
          const target = parent as Record<string | number, unknown>;
          const last = m.path[m.path.length - 1]!;
          if (m.op === 'set') target[last] = m.value;
          else if (m.op === 'delete') {
            if (Array.isArray(target) && typeof last === 'number') target.splice(last, 1);
            else delete target[last];
          } else Object.defineProperty(target, Array.isArray(target) ? target.length : m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
          touched.push(['rowSet', ...m.path].join('.'));
        }
        const ok = plainValid(o);
        let parsed: RowSetSketch | undefined;
        let error: unknown;
        try {
          parsed = parseRowSetSketch(o);
        } catch (e) {
          error = e;
        }
        expect(parsed !== undefined).toBe(ok);
        if (parsed !== undefined) {
          expect(parsed).toEqual(o);
          expect(parseRowSetSketch(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
          return;
        }
        const path = refusedPath(error);
        // The refusal names a path on the way to a change or inside one, unless powers changed (then the sequences no longer fit).
        if (!touched.includes('rowSet.powers') && !touched.includes('rowSet')) {
          expect(touched.some((t) => t.startsWith(path) || path.startsWith(t))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
