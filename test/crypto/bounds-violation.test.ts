/**
 * Decode-time bounds: sums of honest encodings (every value within its
 * field's [0, max]) never violate them, for random layouts and contributors;
 * one shop that writes any limb above what an honest value can have, or a
 * value above its field's max, is caught whenever the sum then exceeds
 * contributors × the bound, and the description names the field. Checked
 * against a plain slot-wise sum modulo t.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SlotLayout, cryptoReady } from '../../crypto/index.js';
import type { FieldSpec } from '../../crypto/fixed-point.js';

const T40 = 1099511480321n;

beforeAll(async () => {
  await cryptoReady();
});

function sumModT(encodings: readonly BigUint64Array[][], t: bigint): BigUint64Array[] {
  const first = encodings[0]!;
  return first.map((_, c) => {
    const out = new BigUint64Array(first[c]!.length);
    for (const e of encodings) for (let i = 0; i < out.length; i++) out[i] = (out[i]! + e[c]![i]!) % t;
    return out;
  });
}

const layoutArb = fc
  .record({
    slotCount: fc.integer({ min: 2, max: 16 }),
    maxes: fc.array(fc.bigInt({ min: 1n, max: (1n << 70n) - 1n }), { minLength: 1, maxLength: 5 }),
    contributors: fc.integer({ min: 1, max: 40 }),
  })
  .map(({ slotCount, maxes, contributors }) => ({
    layout: new SlotLayout(maxes.map((max, i): FieldSpec => ({ name: `f${i}`, max })), { plainModulus: T40, slotCount, maxContributors: 64 }),
    contributors,
  }));

const valuesOf = (layout: SlotLayout, seed: readonly number[]): bigint[] => layout.fields.map((f, i) => (f.max * BigInt(seed[i % seed.length]!)) / 1000n);

describe('SlotLayout.boundsViolation', () => {
  it('never flags sums of honest contributions (property)', () => {
    fc.assert(
      fc.property(layoutArb, fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 8 }), ({ layout, contributors }, seed) => {
        const encodings = Array.from({ length: contributors }, (_, j) => layout.encode(valuesOf(layout, seed.map((s) => (s + j * 37) % 1001))));
        expect(layout.boundsViolation(sumModT(encodings, T40), contributors)).toBeUndefined();
        // Even every honest shop at its maximum passes.
        const full = Array.from({ length: contributors }, () => layout.encode(layout.fields.map((f) => f.max)));
        expect(layout.boundsViolation(sumModT(full, T40), contributors)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('flags one shop writing a limb or a value beyond its field bound, naming the field (property)', () => {
    fc.assert(
      fc.property(layoutArb, fc.nat(), fc.nat(), ({ layout, contributors }, pickField, pickLimb) => {
        const field = pickField % layout.fields.length;
        const honest = Array.from({ length: contributors - 1 }, () => layout.encode(layout.fields.map(() => 0n)));
        // The malicious shop's encoding: honest zeros, then one limb of `field` set to the largest value it can hold below t / 64.
        const evil = layout.encode(layout.fields.map(() => 0n));
        const g = layout.slotOffset(field) + (pickLimb % layout.limbCount(field));
        const big = (T40 - 1n) / 64n;
        evil[Math.floor(g / layout.slotCount)]![g % layout.slotCount] = big;
        const sums = sumModT([...honest, evil], T40);
        // Plain answer: the sum exceeds what `contributors` honest shops can reach iff the written limb exceeds
        // contributors × the largest limb, or the recombined value exceeds contributors × max.
        const limbMax = BigInt(contributors) * layout.maxLimbValue(field);
        const value = big << BigInt(layout.limbBits * (g - layout.slotOffset(field)));
        const exceeds = big > limbMax || value > BigInt(contributors) * layout.fields[field]!.max;
        const v = layout.boundsViolation(sums, contributors);
        expect(v !== undefined).toBe(exceeds);
        if (v !== undefined) expect(v).toContain(`field "f${field}"`);
      }),
      { numRuns: 300 },
    );
  });

  it('flags a count pushed 65,000 times past its declared bound by one of three shops', () => {
    const layout = new SlotLayout([{ name: 'customers', max: 1n << 24n }, { name: 'orders', max: 1n << 30n }], { plainModulus: T40, slotCount: 8, maxContributors: 100 });
    const honest = [layout.encode([1000n, 2000n]), layout.encode([500n, 900n])];
    const evil = layout.encode([0n, 0n]);
    evil[0]![0] = (1n << 24n) * 65_000n; // below t, far above the bound
    expect(layout.boundsViolation(sumModT([...honest, evil], T40), 3)).toMatch(/^field "customers"/);
    expect(layout.boundsViolation(sumModT(honest, T40), 2)).toBeUndefined();
    expect(() => layout.boundsViolation(sumModT(honest, T40), -1)).toThrow(/contributors/);
  });

  it('flags a top limb an honest value of a multi-limb field can never reach, though the limb is small', () => {
    // max 2^40 in 32-bit limbs: an honest top limb is at most 2^8. One shop writes 2^9 there: the limb is
    // far below 2^32 - 1, but the value, 2^41, is above the bound.
    const layout = new SlotLayout([{ name: 'spend', max: 1n << 40n }], { plainModulus: T40, slotCount: 8, maxContributors: 100 });
    expect([layout.limbBits, layout.limbCount(0)]).toEqual([32, 2]);
    const evil = layout.encode([0n]);
    evil[0]![1] = 1n << 9n;
    expect(layout.boundsViolation(sumModT([evil], T40), 1)).toBe(`field "spend": the total ${1n << 41n} is above 1 x its bound ${1n << 40n}`);
    expect(layout.boundsViolation(sumModT([layout.encode([1n << 40n])], T40), 1)).toBeUndefined();
  });
});
