import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CiphertextAccumulator,
  CiphertextFormatError,
  HeContext,
  HeDecryptor,
  HeEncryptor,
  HE_PARAM_SETS,
  cryptoReady,
  generateHeKeys,
  unpackCiphertext,
} from '../../crypto/index.js';
import { accumulateCoefficients, allocateCoefficients } from '../../crypto/bit-pack.js';
import type { SplitCoefficients } from '../../crypto/bit-pack.js';
import { packedLayoutOfContext } from '../../crypto/context.js';
import { packedLayoutOf } from '../../crypto/packed-layout.js';
import type { PackedLayout } from '../../crypto/packed-layout.js';
import { packSplit } from '../../crypto/packed-ciphertext.js';
import { ciphertextLayout } from '../../crypto/seal-format.js';
import { MAX_EXACT_ADDENDS, reduceSplitSums } from '../../crypto/split-reduce.js';
import { coefficientsBelow, firstDifference, setPackedCoefficient, splitmix } from './packed-reference.js';

const DATA_OFFSET = 113;
const Q0 = 1152921504606748673n;

let ctx: HeContext;
let enc: HeEncryptor;
let dec: HeDecryptor;

function randomSlots(seed: bigint, bound: bigint): BigUint64Array {
  const rng = splitmix(seed);
  const slots = new BigUint64Array(ctx.slotCount);
  for (let i = 0; i < slots.length; i++) slots[i] = rng() % bound;
  return slots;
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

beforeAll(async () => {
  await cryptoReady();
  ctx = await HeContext.create();
  const keys = generateHeKeys(ctx);
  enc = new HeEncryptor(ctx, keys.publicKey);
  dec = new HeDecryptor(ctx, keys.secretKey);
});

afterAll(() => {
  enc?.close();
  dec?.close();
  ctx?.close();
});

describe('CiphertextAccumulator against SEAL', () => {
  it('sums K real encryptions byte-identically to ctx.add and decrypts to the exact slot sums', () => {
    const t = ctx.plainModulus;
    for (const k of [1, 2, 7, 33]) {
      const slots = Array.from({ length: k }, (_, i) => randomSlots(BigInt(1000 * k + i), t));
      const packed = slots.map((s) => enc.encryptPacked(s));
      const acc = new CiphertextAccumulator(ctx);
      for (const p of packed) acc.add(p);
      expect(acc.count).toBe(k);
      const viaSeal = ctx.add(packed.map((p) => unpackCiphertext(ctx, p)));
      expect(firstDifference(acc.sumSeal(), viaSeal)).toBe(-1);
      expect(firstDifference(unpackCiphertext(ctx, acc.sumPacked()), viaSeal)).toBe(-1);
      const expected = new BigUint64Array(ctx.slotCount);
      for (const s of slots) for (let i = 0; i < s.length; i++) expected[i] = (expected[i]! + s[i]!) % t;
      expect(dec.decryptPacked(acc.sumPacked())).toEqual(expected);
    }
  });

  it('accepts maxAddends = 1024 additions (byte-identical to SEAL, still decryptable) and refuses the 1025th', () => {
    const n = ctx.paramSet.maxAddends;
    expect(n).toBe(1024);
    const distinct = Array.from({ length: 4 }, (_, i) => enc.encryptPacked(randomSlots(BigInt(i), 1000n)));
    const acc = new CiphertextAccumulator(ctx);
    for (let i = 0; i < n; i++) acc.add(distinct[i % distinct.length]!);
    expect(acc.count).toBe(n);
    const before = acc.sumPacked();
    const err = thrown(() => acc.add(distinct[0]!));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/maxAddends = 1024/);
    expect(acc.count).toBe(n);
    expect(firstDifference(acc.sumPacked(), before)).toBe(-1);
    const unpacked = distinct.map((p) => unpackCiphertext(ctx, p));
    expect(firstDifference(acc.sumSeal(), ctx.add(Array.from({ length: n }, (_, i) => unpacked[i % unpacked.length]!)))).toBe(-1);
    const sum = dec.decryptPacked(before);
    const slots = distinct.map((_, i) => randomSlots(BigInt(i), 1000n));
    for (const i of [0, 1, 4095, 8191]) {
      expect(sum[i]).toBe(slots.reduce((s, x) => s + x[i]!, 0n) * BigInt(n / distinct.length));
    }
  });

  it('reduces worst-case sums exactly: 1024 copies of a ciphertext whose coefficients are all q - 1', () => {
    const layout = packedLayoutOfContext(ctx);
    const maxed = packSplit(fill(layout, Q0 - 1n), layout);
    const acc = new CiphertextAccumulator(ctx);
    for (let i = 0; i < 1024; i++) acc.add(maxed);
    // 1024 (q - 1) = 1023 q + (q - 1024)
    expect(firstDifference(acc.sumPacked(), packSplit(fill(layout, Q0 - 1024n), layout))).toBe(-1);
  });

  it('refuses an empty sum', () => {
    const acc = new CiphertextAccumulator(ctx);
    expect(() => acc.sumPacked()).toThrow(RangeError);
    expect(() => acc.sumSeal()).toThrow(/empty/);
  });

  it('checks its arguments, naming them', () => {
    expect(() => new CiphertextAccumulator({} as HeContext)).toThrow(/ctx must be an HeContext/);
    const acc = new CiphertextAccumulator(ctx);
    expect(() => acc.add('x' as unknown as Uint8Array)).toThrow(/packed must be a Uint8Array/);
    expect(acc.maxAddends).toBe(1024);
  });

  it('keeps working after the context is closed: no SEAL objects are used', async () => {
    const c2 = await HeContext.create();
    const acc = new CiphertextAccumulator(c2);
    c2.close();
    const p = enc.encryptPacked(randomSlots(5n, 100n));
    acc.add(p);
    acc.add(p);
    expect(dec.decryptPacked(acc.sumPacked())).toEqual(randomSlots(5n, 100n).map((v) => v * 2n));
  });
});

describe('invalid input leaves the running sum unchanged', () => {
  let good: Uint8Array[];
  beforeAll(() => {
    good = [1n, 2n, 3n].map((s) => enc.encryptPacked(randomSlots(s, ctx.plainModulus)));
  });

  function corrupt(kind: string): Uint8Array {
    const b = good[2]!.slice();
    switch (kind) {
      case 'short':
        return b.subarray(0, b.length - 1);
      case 'long': {
        const l = new Uint8Array(b.length + 15);
        l.set(b);
        return l;
      }
      case 'seal bytes':
        return unpackCiphertext(ctx, b);
      case 'prefix':
        b[60] = b[60]! ^ 1;
        return b;
      case 'parms_id':
        b[30] = b[30]! ^ 0x40;
        return b;
      case 'compressed':
        b[5] = 2;
        return b;
      default: {
        // 'coefficient N': that coefficient at q (the kernel must undo additions before it)
        const index = Number(kind.split(' ')[1]);
        setPackedCoefficient(b, DATA_OFFSET, 60, index, Q0);
        return b;
      }
    }
  }

  const KINDS: [string, string][] = [
    ['short', 'CIPHERTEXT_LENGTH'],
    ['long', 'CIPHERTEXT_LENGTH'],
    ['seal bytes', 'CIPHERTEXT_LENGTH'],
    ['prefix', 'CIPHERTEXT_HEADER'],
    ['parms_id', 'CIPHERTEXT_PARMS_ID'],
    ['compressed', 'CIPHERTEXT_COMPRESSED'],
    ['coefficient 0', 'CIPHERTEXT_COEFFICIENT'],
    ['coefficient 1', 'CIPHERTEXT_COEFFICIENT'],
    ['coefficient 9001', 'CIPHERTEXT_COEFFICIENT'],
    ['coefficient 16382', 'CIPHERTEXT_COEFFICIENT'],
    ['coefficient 16383', 'CIPHERTEXT_COEFFICIENT'],
  ];

  it.each(KINDS)('%s: throws %s, count and sum unchanged, later additions still exact', (kind, code) => {
    const acc = new CiphertextAccumulator(ctx);
    acc.add(good[0]!);
    acc.add(good[1]!);
    const before = acc.sumPacked();
    const err = thrown(() => acc.add(corrupt(kind)));
    expect(err).toBeInstanceOf(CiphertextFormatError);
    expect((err as CiphertextFormatError).code).toBe(code);
    expect(acc.count).toBe(2);
    expect(firstDifference(acc.sumPacked(), before)).toBe(-1);
    acc.add(good[2]!);
    expect(firstDifference(acc.sumSeal(), ctx.add(good.map((g) => unpackCiphertext(ctx, g))))).toBe(-1);
  });

  it('holds for hostile inputs in the middle of a long round', () => {
    const acc = new CiphertextAccumulator(ctx);
    const reference = new CiphertextAccumulator(ctx);
    for (let i = 0; i < 60; i++) {
      const g = good[i % 3]!;
      acc.add(g);
      reference.add(g);
      expect(() => acc.add(corrupt(KINDS[i % KINDS.length]![0]))).toThrow(CiphertextFormatError);
    }
    expect(acc.count).toBe(60);
    expect(firstDifference(acc.sumPacked(), reference.sumPacked())).toBe(-1);
  });
});

describe('split sums and their reduction (against BigInt)', () => {
  /** A small synthetic layout so that many random rounds run quickly. */
  const CASES: [string, bigint[], number, boolean][] = [
    ['60-bit fast path', [Q0], 8, false],
    ['60-bit, generic path forced', [Q0], 8, true],
    ['mixed widths (generic)', [3n, 4294967291n, 8589934583n, 18014398509481951n], 5, false],
  ];

  it.each(CASES)('%s: K random addends reduce to sum mod q', (_name, moduli, degree, forceGeneric) => {
    const seal = ciphertextLayout('ciphertext', { parmsId: new BigUint64Array(4), moduli, degree }, 2, false);
    const base = packedLayoutOf(seal);
    const layout: PackedLayout = forceGeneric ? { ...base, pairs60: false } : base;
    const qs = layout.segments.flatMap((s) => new Array<bigint>(s.count).fill(s.modulus));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1, max: 1024 }), fc.boolean(), (seed, k, allMax) => {
        const rng = splitmix(seed);
        const sumLo = new Float64Array(layout.coefficientCount);
        const sumHi = new Float64Array(layout.coefficientCount);
        const scratch = allocateCoefficients(layout);
        const exact = qs.map(() => 0n);
        for (let a = 0; a < k; a++) {
          const c = allMax ? qs.map((q) => q - 1n) : qs.map((q) => coefficientsBelow(q, 1, rng)[0]!);
          c.forEach((v, i) => (exact[i] = exact[i]! + v));
          expect(accumulateCoefficients(packSplit(split(layout, c), layout), layout, sumLo, sumHi, scratch)).toBe(-1);
        }
        const out = allocateCoefficients(layout);
        reduceSplitSums(sumLo, sumHi, layout, out);
        qs.forEach((q, i) => expect(BigInt(out.hi[i]!) * 2n ** 32n + BigInt(out.lo[i]!)).toBe(exact[i]! % q));
      }),
      { numRuns: 30 },
    );
  });

  it.each([
    ['q0 of bfv-8192-t40 (a double rounds it down)', Q0],
    ['2^60 - 127 (a double rounds it up)', (1n << 60n) - 127n],
    ['54 bits', 18014398509481951n],
    ['32 bits', 4294967291n],
  ])('%s: every multiple m q (m <= 1024), its neighbours and the largest sums reduce exactly', (_name, q) => {
    // The floating-point quotient is one too high or too low near multiples
    // of q, depending on how q rounds to a double: both corrections must run.
    const seal = ciphertextLayout('ciphertext', { parmsId: new BigUint64Array(4), moduli: [q], degree: 2 }, 1, false);
    const layout = packedLayoutOf(seal);
    const max = 1024n * (q - 1n);
    const sums: bigint[] = [0n, 1n, max, max - 1n];
    for (let m = 1n; m <= 1024n; m++) sums.push(m * q - 1n, m * q, m * q + 1n);
    const two32 = 1n << 32n;
    for (const s of sums.filter((x) => x <= max)) {
      // Any split the accumulator can produce (lo < 1024 * 2^32) must reduce correctly.
      for (const loPart of [s % two32, s % two32 + two32 * 1023n]) {
        if (loPart > s) continue;
        const hiPart = (s - loPart) / two32;
        const sumLo = Float64Array.of(Number(loPart), Number(loPart));
        const sumHi = Float64Array.of(Number(hiPart), Number(hiPart));
        const out = allocateCoefficients(layout);
        reduceSplitSums(sumLo, sumHi, layout, out);
        expect(BigInt(out.hi[0]!) * two32 + BigInt(out.lo[0]!), `sum ${s}`).toBe(s % q);
      }
    }
  });

  it('every parameter set stays within the addend count whose split sums are exact doubles', () => {
    expect(MAX_EXACT_ADDENDS * 2 ** 32).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER + 1);
    for (const set of Object.values(HE_PARAM_SETS)) expect(set.maxAddends).toBeLessThanOrEqual(MAX_EXACT_ADDENDS);
  });
});

function fill(layout: PackedLayout, value: bigint): SplitCoefficients {
  return split(layout, new Array<bigint>(layout.coefficientCount).fill(value));
}

function split(layout: PackedLayout, values: readonly bigint[]): SplitCoefficients {
  const out = allocateCoefficients(layout);
  values.forEach((v, i) => {
    out.lo[i] = Number(v & 0xffffffffn);
    out.hi[i] = Number(v >> 32n);
  });
  return out;
}
