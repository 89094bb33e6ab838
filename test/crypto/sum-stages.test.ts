/**
 * Staged sums (crypto/sum-contributions.ts): more contributions than one
 * sum keeps noise budget for are cut, in the order given, into the fewest
 * runs of at most `maxAddends`, as equal as possible, each summed on its own; the stage sums decrypt to the
 * stages' own totals. Checked against the accumulator and the decrypted
 * plaintext, and the stage sizes as a property.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CiphertextAccumulator,
  HeContext,
  HeDecryptor,
  HeEncryptor,
  byMerchantId,
  generateHeKeys,
  sumPackedContributions,
  sumStageSizes,
} from '../../crypto/index.js';

let ctx: HeContext;
let keys: { publicKey: Uint8Array; secretKey: Uint8Array };

beforeAll(async () => {
  ctx = await HeContext.create();
  keys = generateHeKeys(ctx);
});

afterAll(() => ctx?.close());

describe('sumStageSizes', () => {
  it('cuts count into the fewest stages of at most maxAddends, as equal as possible, larger ones first', () => {
    fc.assert(fc.property(fc.nat(20_000), fc.integer({ min: 1, max: 5000 }), (count, max) => {
      const sizes = sumStageSizes(count, max);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(count);
      expect(sizes.length).toBe(Math.ceil(count / max));
      for (const s of sizes) expect(s).toBeGreaterThanOrEqual(1);
      for (const s of sizes) expect(s).toBeLessThanOrEqual(max);
      if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      sizes.slice(1).forEach((s, i) => expect(s).toBeLessThanOrEqual(sizes[i]!));
      // Beyond one stage, none holds fewer than half of maxAddends: no stage sum is of a few shops.
      if (sizes.length > 1) for (const s of sizes) expect(s).toBeGreaterThanOrEqual(Math.floor(max / 2));
    }));
    expect(sumStageSizes(1030, 1024)).toEqual([515, 515]);
    expect(sumStageSizes(1025, 1024)).toEqual([513, 512]);
    expect(sumStageSizes(10_000, 1024)).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    expect(sumStageSizes(1024, 1024)).toEqual([1024]);
    expect(sumStageSizes(0, 1024)).toEqual([]);
  });

  it('refuses a negative or fractional count and a maxAddends below 1, naming the argument', () => {
    expect(() => sumStageSizes(-1, 4)).toThrow(/^count must be/);
    expect(() => sumStageSizes(1.5, 4)).toThrow(RangeError);
    expect(() => sumStageSizes(4, 0)).toThrow(/^maxAddends must be/);
  });
});

describe('byMerchantId', () => {
  it('orders by UTF-16 code units, as JavaScript compares strings, whatever a database collation says', () => {
    const ids = ['m-b', 'm_a', 'mA', 'm-a', 'M1', 'm0'];
    expect([...ids].map((merchantId) => ({ merchantId })).sort(byMerchantId).map((x) => x.merchantId)).toEqual([...ids].sort());
  });
});

describe('sumPackedContributions beyond maxAddends', () => {
  it('adds 1,030 contributions as two stages of 515, each decrypting to its own total', () => {
    expect(ctx.paramSet.maxAddends).toBe(1024);
    const enc = new HeEncryptor(ctx, keys.publicKey);
    const dec = new HeDecryptor(ctx, keys.secretKey);
    try {
      // Distinct plaintexts so that a stage boundary in the wrong place changes the totals.
      const values = Array.from({ length: 8 }, (_, v) => new BigUint64Array(ctx.slotCount).fill(BigInt(v + 1)));
      const cts = values.map((slots) => enc.encryptPacked(slots));
      const contributions = Array.from({ length: 1030 }, (_, i) => cts[i % cts.length]!);
      const sums = sumPackedContributions(ctx, contributions, 1);
      expect(sums).toHaveLength(2);

      const stageTotal = (from: number, to: number) => contributions.slice(from, to).reduce((t, _, i) => t + BigInt(((from + i) % cts.length) + 1), 0n);
      expect(dec.decryptPacked(sums[0]!)[0]).toBe(stageTotal(0, 515));
      expect(dec.decryptPacked(sums[1]!)[17]).toBe(stageTotal(515, 1030));

      const first = new CiphertextAccumulator(ctx);
      for (const c of contributions.slice(0, 515)) first.add(c);
      expect(sums[0]).toEqual(first.sumPacked());

      // Up to maxAddends: one sum per ciphertext position, as before stages.
      const whole = new CiphertextAccumulator(ctx);
      for (const c of contributions.slice(0, 1024)) whole.add(c);
      expect(sumPackedContributions(ctx, contributions.slice(0, 1024), 1)).toEqual([whole.sumPacked()]);
    } finally {
      enc.close();
      dec.close();
    }
  });

  it('is stage-major for several ciphertexts per contribution: sums[stage * count + position]', () => {
    const enc = new HeEncryptor(ctx, keys.publicKey);
    const dec = new HeDecryptor(ctx, keys.secretKey);
    try {
      const a = enc.encryptPacked(new BigUint64Array(ctx.slotCount).fill(2n));
      const b = enc.encryptPacked(new BigUint64Array(ctx.slotCount).fill(3n));
      const both = Buffer.concat([a, b]);
      const sums = sumPackedContributions(ctx, Array.from({ length: 1025 }, () => both), 2);
      // 1,025 contributions: stages of 513 and 512.
      expect(sums.map((s) => dec.decryptPacked(s)[0])).toEqual([2n * 513n, 3n * 513n, 2n * 512n, 3n * 512n]);
    } finally {
      enc.close();
      dec.close();
    }
  });
});
