import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  OverflowRiskError,
  SlotLayout,
  cryptoReady,
  formatFixedPoint,
  parseFixedPoint,
  toHex,
} from '../../crypto/index.js';
import type { FieldSpec } from '../../crypto/fixed-point.js';

const T40 = 1099511480321n; // bfv-8192-t40 plain modulus
const T17 = 65537n; // a small batching-style prime to exercise narrow limbs

beforeAll(async () => {
  await cryptoReady();
});

/** Plain BigInt model of what BFV does: slot-wise sums modulo t. */
function sumModT(encodings: BigUint64Array[][], t: bigint): BigUint64Array[] {
  const first = encodings[0]!;
  return first.map((_, c) => {
    const out = new BigUint64Array(first[c]!.length);
    for (const e of encodings) {
      const a = e[c]!;
      for (let i = 0; i < a.length; i++) out[i] = (out[i]! + a[i]!) % t;
    }
    return out;
  });
}

const layoutArb = fc
  .record({
    t: fc.constantFrom(T40, T17),
    slotCount: fc.integer({ min: 1, max: 16 }),
    maxes: fc.array(fc.bigInt({ min: 0n, max: (1n << 80n) - 1n }), { minLength: 1, maxLength: 6 }),
    contributorsLog: fc.integer({ min: 0, max: 11 }),
  })
  .map(({ t, slotCount, maxes, contributorsLog }) => {
    const cap = t === T17 ? 256 : 2048;
    const maxContributors = Math.min(cap, 1 + Math.floor(2 ** contributorsLog));
    const fields: FieldSpec[] = maxes.map((max, i) => ({ name: `f${i}`, max }));
    return new SlotLayout(fields, { plainModulus: t, slotCount, maxContributors });
  });

describe('SlotLayout', () => {
  it('chooses limbBits = min(32, floor(log2((t-1)/maxContributors)))', () => {
    const mk = (m: number, t = T40) => new SlotLayout([{ name: 'x', max: 1n }], { plainModulus: t, slotCount: 8192, maxContributors: m });
    expect(mk(1).limbBits).toBe(32);
    expect(mk(255).limbBits).toBe(32);
    expect(mk(256).limbBits).toBe(31);
    expect(mk(1000).limbBits).toBe(30);
    expect(mk(256, T17).limbBits).toBe(8);
    expect(() => mk(257, T17)).toThrow(/maxContributors/);
    expect(() => mk(0)).toThrow(/maxContributors/);
    expect(() => mk(1.5)).toThrow(RangeError);
  });

  it('lays a 64-bit value out as two 32-bit limbs and counts slots and ciphertexts', () => {
    const layout = new SlotLayout(
      [
        { name: 'revenue', max: (1n << 64n) - 1n },
        { name: 'count', max: 0xffffffffn },
        { name: 'zero', max: 0n },
        { name: 'wide', max: 1n << 64n },
      ],
      { plainModulus: T40, slotCount: 4, maxContributors: 255 },
    );
    expect([0, 1, 2, 3].map((i) => layout.limbCount(i))).toEqual([2, 1, 1, 3]);
    expect(layout.slotsUsed).toBe(7);
    expect(layout.ciphertextCount).toBe(2);
    const [a, b] = layout.encode([0x1122334455667788n, 5n, 0n, 1n << 64n]);
    expect(Array.from(a!)).toEqual([0x55667788n, 0x11223344n, 5n, 0n]);
    expect(Array.from(b!)).toEqual([0n, 0n, 1n, 0n]);
    expect(() => layout.limbCount(4)).toThrow(/fieldIndex/);
  });

  it('property: sum of up to maxContributors encodings, computed modulo t, decodes to the exact BigInt sum', () => {
    fc.assert(
      fc.property(layoutArb, fc.integer({ min: 1, max: 2048 }), fc.infiniteStream(fc.bigInt({ min: 0n, max: (1n << 81n) - 1n })), (layout, m0, rand) => {
        const m = Math.min(m0, layout.maxContributors, 64);
        const rows: bigint[][] = [];
        for (let r = 0; r < m; r++) rows.push(layout.fields.map((f) => (f.max === 0n ? 0n : rand.next().value % (f.max + 1n))));
        const decoded = layout.decode(sumModT(rows.map((row) => layout.encode(row)), layout.plainModulus));
        expect(decoded).toEqual(layout.fields.map((_, i) => rows.reduce((s, row) => s + row[i]!, 0n)));
      }),
      { numRuns: 150 },
    );
  });

  it('property: maxContributors contributions all at their max (worst case) never wrap', () => {
    fc.assert(
      fc.property(layoutArb, (layout) => {
        const m = layout.maxContributors;
        const row = layout.fields.map((f) => f.max);
        const one = layout.encode(row);
        // m identical encodings: multiply instead of adding m times.
        const slots = one.map((a) => a.map((v) => (v * BigInt(m)) % layout.plainModulus));
        expect(layout.decode(slots)).toEqual(row.map((v) => v * BigInt(m)));
        expect(() => layout.assertNoWrap(m)).not.toThrow();
      }),
      { numRuns: 150 },
    );
  });

  it('assertNoWrap passes at the exact limit and throws one past it, naming the field; past the limit sums really wrap', () => {
    const max = 1_000_003n;
    const layout = new SlotLayout(
      [
        { name: 'small', max: 3n },
        { name: 'orders', max },
      ],
      { plainModulus: T40, slotCount: 8, maxContributors: 10 },
    );
    const limit = (T40 - 1n) / max; // independent: largest n with n * max < t
    expect(limit * max).toBeLessThan(T40);
    expect((limit + 1n) * max).toBeGreaterThanOrEqual(T40);
    expect(layout.maxSafeContributors).toBe(limit);
    expect(() => layout.assertNoWrap(Number(limit))).not.toThrow();
    let err: unknown;
    try {
      layout.assertNoWrap(Number(limit) + 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OverflowRiskError);
    expect((err as OverflowRiskError).code).toBe('OVERFLOW_RISK');
    expect((err as OverflowRiskError).field).toBe('orders');
    expect((err as Error).message).toMatch(/orders/);
    // What the check prevents: limit + 1 contributions at max wrap modulo t.
    const n = limit + 1n;
    const slots = layout.encode([3n, max]).map((a) => a.map((v) => (v * n) % T40));
    expect(layout.decode(slots)[1]).not.toBe(n * max);
  });

  it('assertNoWrap uses the full limb bound for multi-limb fields', () => {
    const layout = new SlotLayout([{ name: 'u64', max: (1n << 64n) - 1n }], { plainModulus: T40, slotCount: 8, maxContributors: 255 });
    const limit = (T40 - 1n) / 0xffffffffn;
    expect(limit).toBe(255n);
    expect(() => layout.assertNoWrap(255)).not.toThrow();
    expect(() => layout.assertNoWrap(256)).toThrow(OverflowRiskError);
    expect(() => layout.assertNoWrap(-1)).toThrow(RangeError);
  });

  it('rejects bad fields and values, naming them', () => {
    const opts = { plainModulus: T40, slotCount: 8, maxContributors: 10 };
    expect(() => new SlotLayout([], opts)).toThrow(/fields/);
    expect(() => new SlotLayout([{ name: 'a', max: 1n }, { name: 'a', max: 2n }], opts)).toThrow(/duplicates field "a"/);
    expect(() => new SlotLayout([{ name: 'neg', max: -1n }], opts)).toThrow(/neg/);
    expect(() => new SlotLayout([{ name: '', max: 1n }], opts)).toThrow(/name/);
    expect(() => new SlotLayout([{ name: 'n', max: 1 as unknown as bigint }], opts)).toThrow(TypeError);
    // 64 ciphertexts x 8 slots = 512 slots of 32-bit limbs at most.
    expect(new SlotLayout([{ name: 'big', max: (1n << (512n * 32n)) - 1n }], { ...opts, maxContributors: 255 }).ciphertextCount).toBe(64);
    expect(() => new SlotLayout([{ name: 'big', max: 1n << (512n * 32n) }], { ...opts, maxContributors: 255 })).toThrow(/fields need 513 slots/);
    const layout = new SlotLayout([{ name: 'a', max: 10n }, { name: 'b', max: 5n }], opts);
    expect(() => layout.encode([1n])).toThrow(/values must have one entry per field/);
    expect(() => layout.encode([1n, 6n])).toThrow(/field "b"/);
    expect(() => layout.encode([-1n, 0n])).toThrow(/field "a"/);
    expect(() => layout.encode([1n, 2 as unknown as bigint])).toThrow(TypeError);
    expect(() => layout.decode([])).toThrow(/slotSums/);
    expect(() => layout.decode([new BigUint64Array(7)])).toThrow(/8 slots/);
    expect(() => layout.decode([new BigUint64Array(8).fill(T40)])).toThrow(/plain modulus/);
  });

  it('digest is deterministic and changes with every described property', () => {
    const opts = { plainModulus: T40, slotCount: 8192, maxContributors: 255 };
    const base = new SlotLayout([{ name: 'a', max: 10n }], opts).digest();
    expect(base.length).toBe(32);
    expect(toHex(new SlotLayout([{ name: 'a', max: 10n }], opts).digest())).toBe(toHex(base));
    const variants = [
      new SlotLayout([{ name: 'b', max: 10n }], opts),
      new SlotLayout([{ name: 'a', max: 11n }], opts),
      new SlotLayout([{ name: 'a', max: 10n }], { ...opts, maxContributors: 256 }),
      new SlotLayout([{ name: 'a', max: 10n }], { ...opts, plainModulus: T40 + 2n }),
      new SlotLayout([{ name: 'a', max: 10n }], { ...opts, slotCount: 4096 }),
      new SlotLayout([{ name: 'a', max: 10n }, { name: 'b', max: 1n }], opts),
    ];
    const hexes = new Set([toHex(base), ...variants.map((v) => toHex(v.digest()))]);
    expect(hexes.size).toBe(variants.length + 1);
  });
});

describe('parseFixedPoint / formatFixedPoint', () => {
  it('parses and formats known examples', () => {
    const cases: [string, number, bigint, string][] = [
      ['12.30', 2, 1230n, '12.30'],
      ['12.3', 2, 1230n, '12.30'],
      ['12', 2, 1200n, '12.00'],
      ['0.05', 2, 5n, '0.05'],
      ['-0.05', 2, -5n, '-0.05'],
      ['-0', 2, 0n, '0.00'],
      ['007', 0, 7n, '7'],
      ['18446744073709551615.999999', 6, 18446744073709551615999999n, '18446744073709551615.999999'],
    ];
    for (const [text, scale, value, formatted] of cases) {
      expect(parseFixedPoint(text, scale), text).toBe(value);
      expect(formatFixedPoint(value, scale)).toBe(formatted);
    }
  });

  it('rejects malformed text and too many decimals', () => {
    const bad = ['', '-', '+1', '1.', '.5', '1e3', ' 1', '1 ', '1,000', '1.2.3', '０', 'NaN', 'Infinity', '0x10', '--1', '1_000', '١'];
    for (const text of bad) expect(() => parseFixedPoint(text, 2), JSON.stringify(text)).toThrow(RangeError);
    expect(() => parseFixedPoint('1.234', 2)).toThrow(/decimal digits/);
    expect(() => parseFixedPoint('1.0', 0)).toThrow(RangeError);
    expect(() => parseFixedPoint('1'.repeat(2000), 0)).toThrow(/text/);
    expect(() => parseFixedPoint('1', -1)).toThrow(/scaleDigits/);
    expect(() => parseFixedPoint(1 as unknown as string, 2)).toThrow(TypeError);
    expect(() => formatFixedPoint(1 as unknown as bigint, 2)).toThrow(TypeError);
  });

  it('property: format then parse is the identity on integers', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 100n), max: 1n << 100n }), fc.integer({ min: 0, max: 30 }), (v, s) => {
        expect(parseFixedPoint(formatFixedPoint(v, s), s)).toBe(v);
      }),
    );
  });

  it('property: parse then format gives the text padded to the scale', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.stringMatching(/^[1-9][0-9]{0,25}$|^0$/),
        fc.stringMatching(/^[0-9]{0,8}$/),
        fc.integer({ min: 0, max: 4 }),
        (neg, int, frac, extra) => {
          const s = frac.length + extra;
          const text = (neg ? '-' : '') + int + (frac.length > 0 ? `.${frac}` : '');
          const isZero = /^0$/.test(int) && /^0*$/.test(frac);
          const expected = (neg && !isZero ? '-' : '') + int + (s > 0 ? `.${frac.padEnd(s, '0')}` : '');
          expect(formatFixedPoint(parseFixedPoint(text, s), s)).toBe(expected);
        },
      ),
    );
  });
});
