import { randomFillSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CiphertextFormatError,
  HeContext,
  HeDecryptor,
  HeEncryptor,
  cryptoReady,
  generateHeKeys,
  packCiphertext,
  unpackCiphertext,
  validatePackedCiphertext,
} from '../../crypto/index.js';
import { packedLayoutOfContext } from '../../crypto/context.js';
import { packedLayoutOf } from '../../crypto/packed-layout.js';
import type { PackedLayout } from '../../crypto/packed-layout.js';
import { ciphertextLayout } from '../../crypto/seal-format.js';
import { checkPacked, packSplit, writeSealCiphertext } from '../../crypto/packed-ciphertext.js';
import { allocateCoefficients } from '../../crypto/bit-pack.js';
import {
  coefficientsBelow,
  referencePackStream,
  sealBytesOf,
  sealCoefficients,
  setPackedCoefficient,
  splitmix,
  firstDifference,
} from './packed-reference.js';

/** SEAL 4.1 prefix length of a ciphertext; the packed stream starts here too. */
const DATA_OFFSET = 113;
/** The data prime of bfv-8192-t40 (CoeffModulus.Create(8192, [60, 60])[0]). */
const Q0 = 1152921504606748673n;
const COEFFS = 2 * 8192;

let ctx: HeContext;
let enc: HeEncryptor;
let dec: HeDecryptor;
let sealCt: Uint8Array;
let packed: Uint8Array;

function formatCode(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof CiphertextFormatError) return e.code;
    throw e;
  }
}

beforeAll(async () => {
  await cryptoReady();
  ctx = await HeContext.create();
  const keys = generateHeKeys(ctx);
  enc = new HeEncryptor(ctx, keys.publicKey);
  dec = new HeDecryptor(ctx, keys.secretKey);
  sealCt = enc.encrypt(new BigUint64Array(ctx.slotCount).fill(7n));
  packed = packCiphertext(ctx, sealCt);
});

afterAll(() => {
  enc?.close();
  dec?.close();
  ctx?.close();
});

describe('packed ciphertext size', () => {
  it('is 113 + 2 x 8192 x 60 / 8 = 122,993 bytes, about 30.03 bytes per 64-bit value', () => {
    expect(ctx.packedCiphertextByteLength).toBe(DATA_OFFSET + (COEFFS * 60) / 8);
    expect(ctx.packedCiphertextByteLength).toBe(122993);
    expect(packed.length).toBe(122993);
    expect(ctx.packedCiphertextByteLength / 4096).toBeLessThanOrEqual(32);
    expect(ctx.packedCiphertextByteLength / 4096).toBeCloseTo(30.03, 2);
  });

  it('keeps SEAL prefix bytes verbatim and uses the 60-bit fast path', () => {
    expect(packed.subarray(0, DATA_OFFSET)).toEqual(sealCt.subarray(0, DATA_OFFSET));
    const layout = packedLayoutOfContext(ctx);
    expect(layout.pairs60).toBe(true);
    expect(layout.segments.map((s) => [s.bits, s.count, s.modulus])).toEqual([
      [60, 8192, Q0],
      [60, 8192, Q0],
    ]);
  });
});

describe('pack / unpack', () => {
  it('round-trips real encryptions of random slots and matches the reference bit stream', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (seed) => {
        const rng = splitmix(seed);
        const slots = new BigUint64Array(ctx.slotCount);
        for (let i = 0; i < slots.length; i++) slots[i] = rng() % ctx.plainModulus;
        const ct = enc.encrypt(slots);
        const p = packCiphertext(ctx, ct);
        expect(p.length).toBe(ctx.packedCiphertextByteLength);
        expect(firstDifference(unpackCiphertext(ctx, p), ct)).toBe(-1);
        expect(firstDifference(p.subarray(DATA_OFFSET), referencePackStream(sealCoefficients(ct, DATA_OFFSET), new Array<number>(COEFFS).fill(60)))).toBe(-1);
      }),
      { numRuns: 8 },
    );
  });

  it('round-trips random in-range coefficient arrays (edge values included) exactly', () => {
    const prefix = sealCt.subarray(0, DATA_OFFSET);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (seed) => {
        const coefficients = coefficientsBelow(Q0, COEFFS, splitmix(seed));
        const sealBytes = sealBytesOf(prefix, coefficients);
        const p = packCiphertext(ctx, sealBytes);
        expect(firstDifference(p.subarray(DATA_OFFSET), referencePackStream(coefficients, new Array<number>(COEFFS).fill(60)))).toBe(-1);
        expect(() => validatePackedCiphertext(ctx, p)).not.toThrow();
        expect(firstDifference(unpackCiphertext(ctx, p), sealBytes)).toBe(-1);
      }),
      { numRuns: 12 },
    );
  });

  it('puts two coefficients in 15 bytes, little-endian bit order', () => {
    const coefficients = new Array<bigint>(COEFFS).fill(0n);
    coefficients[0] = 0x0123456789abcden; // 57 bits
    coefficients[1] = Q0 - 1n;
    const p = packCiphertext(ctx, sealBytesOf(sealCt.subarray(0, DATA_OFFSET), coefficients));
    const first15 = Array.from(p.subarray(DATA_OFFSET, DATA_OFFSET + 15));
    const expected = coefficients[0] + (coefficients[1] << 60n);
    expect(first15).toEqual(Array.from({ length: 15 }, (_, i) => Number((expected >> BigInt(8 * i)) & 0xffn)));
    expect(p.subarray(DATA_OFFSET + 15).every((b) => b === 0)).toBe(true);
  });

  it('validates the SEAL bytes before packing', () => {
    expect(formatCode(() => packCiphertext(ctx, sealCt.subarray(1)))).toBe('CIPHERTEXT_HEADER');
    expect(formatCode(() => packCiphertext(ctx, sealCt.subarray(0, 1000)))).toBe('CIPHERTEXT_LENGTH');
    const bad = sealCt.slice();
    new DataView(bad.buffer).setBigUint64(DATA_OFFSET + 8 * 9000, Q0, true);
    expect(formatCode(() => packCiphertext(ctx, bad))).toBe('CIPHERTEXT_COEFFICIENT');
    expect(formatCode(() => packCiphertext(ctx, packed))).toBe('CIPHERTEXT_LENGTH');
  });

  it('accepts subarray views at odd offsets', () => {
    const blob = new Uint8Array(3 + packed.length + 5).fill(0xee);
    blob.set(packed, 3);
    const view = blob.subarray(3, 3 + packed.length);
    expect(() => validatePackedCiphertext(ctx, view)).not.toThrow();
    expect(firstDifference(unpackCiphertext(ctx, view), sealCt)).toBe(-1);
    const sealBlob = new Uint8Array(1 + sealCt.length);
    sealBlob.set(sealCt, 1);
    expect(firstDifference(packCiphertext(ctx, sealBlob.subarray(1)), packed)).toBe(-1);
  });

  it('checks argument types, naming the argument', () => {
    expect(() => packCiphertext(ctx, 'x' as unknown as Uint8Array)).toThrow(/sealBytes must be a Uint8Array/);
    expect(() => validatePackedCiphertext(ctx, [1, 2] as unknown as Uint8Array)).toThrow(/packed must be a Uint8Array/);
    expect(() => unpackCiphertext({} as HeContext, packed)).toThrow(/ctx must be an HeContext/);
    expect(() => validatePackedCiphertext(null as unknown as HeContext, packed)).toThrow(TypeError);
  });

  it('works after the context is closed (pure TypeScript, no SEAL)', async () => {
    const c2 = await HeContext.create();
    c2.close();
    expect(() => validatePackedCiphertext(c2, packed)).not.toThrow();
    expect(firstDifference(unpackCiphertext(c2, packed), sealCt)).toBe(-1);
  });
});

describe('validatePackedCiphertext', () => {
  it('rejects every wrong length', () => {
    for (const n of [0, 3, 15, 16, DATA_OFFSET, packed.length - 15, packed.length - 1]) {
      expect(formatCode(() => validatePackedCiphertext(ctx, packed.subarray(0, n))), `length ${n}`).toBe('CIPHERTEXT_LENGTH');
    }
    const longer = new Uint8Array(packed.length + 1);
    longer.set(packed);
    expect(formatCode(() => validatePackedCiphertext(ctx, longer))).toBe('CIPHERTEXT_LENGTH');
    expect(formatCode(() => validatePackedCiphertext(ctx, sealCt))).toBe('CIPHERTEXT_LENGTH');
  });

  it('rejects a change to any one of the 113 prefix bytes, with the field-specific code', () => {
    for (let offset = 0; offset < DATA_OFFSET; offset++) {
      for (const flip of [0x01, 0x80]) {
        const b = packed.slice();
        b[offset] = b[offset]! ^ flip;
        const expected = offset === 5 ? 'CIPHERTEXT_COMPRESSED' : offset >= 16 && offset < 48 ? 'CIPHERTEXT_PARMS_ID' : 'CIPHERTEXT_HEADER';
        expect(formatCode(() => validatePackedCiphertext(ctx, b)), `offset ${offset}`).toBe(expected);
      }
    }
  });

  it('rejects a coefficient equal to q or 2^60 - 1 (first/second of a pair, both polys), accepts q - 1', () => {
    for (const index of [0, 1, 2, 8191, 8192, 8193, COEFFS - 2, COEFFS - 1]) {
      for (const value of [Q0, Q0 + 1n, (1n << 60n) - 1n]) {
        const b = packed.slice();
        setPackedCoefficient(b, DATA_OFFSET, 60, index, value);
        let err: unknown;
        try {
          validatePackedCiphertext(ctx, b);
        } catch (e) {
          err = e;
        }
        expect(err, `index ${index}`).toBeInstanceOf(CiphertextFormatError);
        expect((err as CiphertextFormatError).code).toBe('CIPHERTEXT_COEFFICIENT');
        expect((err as Error).message).toContain(`coefficient ${index % 8192} of polynomial ${index >= 8192 ? 1 : 0}`);
        expect(formatCode(() => unpackCiphertext(ctx, b))).toBe('CIPHERTEXT_COEFFICIENT');
      }
      const ok = packed.slice();
      setPackedCoefficient(ok, DATA_OFFSET, 60, index, Q0 - 1n);
      expect(() => validatePackedCiphertext(ctx, ok)).not.toThrow();
      expect(sealCoefficients(unpackCiphertext(ctx, ok), DATA_OFFSET)[index]).toBe(Q0 - 1n);
    }
  });

  it('rejects random bytes, of the right length and of random lengths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 130_000 }), fc.boolean(), (length, rightLength) => {
        const b = randomFillSync(new Uint8Array(rightLength ? packed.length : length));
        expect(() => validatePackedCiphertext(ctx, b)).toThrow(CiphertextFormatError);
      }),
      { numRuns: 60 },
    );
    // The right prefix followed by random coefficient bits: 2^60 - q is tiny, so
    // almost all pass the range check; each coefficient is judged exactly.
    const b = packed.slice();
    randomFillSync(b.subarray(DATA_OFFSET));
    const inRange = referenceAllBelow(b);
    expect(formatCode(() => validatePackedCiphertext(ctx, b)) === undefined).toBe(inRange);
  });

  it('random byte mutations pass exactly when the prefix is intact and every coefficient stays below q', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: packed.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (mutations, nearPrefix) => {
          const b = packed.slice();
          for (const [pos0, value] of mutations) b[nearPrefix ? pos0 % (DATA_OFFSET + 30) : pos0] = value;
          let intact = true;
          for (let i = 0; i < DATA_OFFSET; i++) if (b[i] !== packed[i]) intact = false;
          const shouldPass = intact && referenceAllBelow(b);
          expect(formatCode(() => validatePackedCiphertext(ctx, b)) === undefined).toBe(shouldPass);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** Every 60-bit coefficient of a packed ciphertext below Q0, decoded with BigInt. */
function referenceAllBelow(b: Uint8Array): boolean {
  for (let pair = 0; pair < COEFFS / 2; pair++) {
    let v = 0n;
    for (let k = 14; k >= 0; k--) v = (v << 8n) | BigInt(b[DATA_OFFSET + 15 * pair + k]!);
    if ((v & ((1n << 60n) - 1n)) >= Q0 || v >> 60n >= Q0) return false;
  }
  return true;
}

describe('encryptPacked / decryptPacked', () => {
  it('decrypts to the encrypted slots and rejects malformed input before SEAL', () => {
    const rng = splitmix(99n);
    const slots = new BigUint64Array(ctx.slotCount);
    for (let i = 0; i < slots.length; i++) slots[i] = rng() % ctx.plainModulus;
    const p = enc.encryptPacked(slots);
    expect(p.length).toBe(ctx.packedCiphertextByteLength);
    expect(dec.decryptPacked(p)).toEqual(slots);
    expect(formatCode(() => dec.decryptPacked(p.subarray(0, p.length - 1)))).toBe('CIPHERTEXT_LENGTH');
    expect(formatCode(() => dec.decryptPacked(sealCt))).toBe('CIPHERTEXT_LENGTH');
    const bad = p.slice();
    setPackedCoefficient(bad, DATA_OFFSET, 60, 5000, Q0);
    expect(formatCode(() => dec.decryptPacked(bad))).toBe('CIPHERTEXT_COEFFICIENT');
    expect(() => enc.encryptPacked(new BigUint64Array(3))).toThrow(/slots must have exactly 8192/);
  });
});

describe('generic path (other prime widths, odd counts)', () => {
  /** Synthetic layouts: the packing code must not assume 60 bits or even counts. */
  const CASES: { name: string; moduli: bigint[]; degree: number; polys: number }[] = [
    { name: '2-bit prime, odd degree', moduli: [3n], degree: 7, polys: 2 },
    { name: '32 and 33 bits', moduli: [4294967291n, 8589934583n], degree: 5, polys: 2 },
    { name: '36/37/54 bits, three polys', moduli: [68719476731n, 137438953447n, 18014398509481951n], degree: 6, polys: 3 },
    { name: '60 bits, generic path forced', moduli: [Q0], degree: 8, polys: 2 },
  ];

  function layoutFor(c: (typeof CASES)[number]): PackedLayout {
    const seal = ciphertextLayout('ciphertext', { parmsId: BigUint64Array.of(1n, 2n, 3n, 4n), moduli: c.moduli, degree: c.degree }, c.polys, false);
    const layout = packedLayoutOf(seal);
    return c.name.includes('forced') ? { ...layout, pairs60: false } : layout;
  }

  function widthsAndModuli(layout: PackedLayout): { widths: number[]; moduli: bigint[] } {
    const widths: number[] = [];
    const moduli: bigint[] = [];
    for (const s of layout.segments) for (let i = 0; i < s.count; i++) (widths.push(s.bits), moduli.push(s.modulus));
    return { widths, moduli };
  }

  it.each(CASES.map((c) => [c.name, c] as const))('%s: packs like the reference and round-trips', (_name, c) => {
    const layout = layoutFor(c);
    const { widths, moduli } = widthsAndModuli(layout);
    const totalBits = widths.reduce((a, b) => a + b, 0);
    expect(layout.byteLength).toBe(layout.dataOffset + Math.ceil(totalBits / 8));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (seed) => {
        const rng = splitmix(seed);
        const coefficients = moduli.map((q) => coefficientsBelow(q, 1, rng)[0]!);
        const split = allocateCoefficients(layout);
        coefficients.forEach((v, i) => {
          split.lo[i] = Number(v & 0xffffffffn);
          split.hi[i] = Number(v >> 32n);
        });
        const p = packSplit(split, layout);
        expect(firstDifference(p.subarray(layout.dataOffset), referencePackStream(coefficients, widths))).toBe(-1);
        const back = allocateCoefficients(layout);
        checkPacked(p, layout, back);
        expect(sealCoefficients(writeSealCiphertext(back, layout), layout.dataOffset)).toEqual(coefficients);
        // Each coefficient at its modulus is rejected.
        const i = Number(rng() % BigInt(coefficients.length));
        const bad = p.slice();
        writeCoefficient(bad, layout, widths, i, moduli[i]!);
        expect(formatCode(() => checkPacked(bad, layout, null))).toBe('CIPHERTEXT_COEFFICIENT');
      }),
      { numRuns: 25 },
    );
  });

  it('rejects non-zero padding bits in the last byte', () => {
    const layout = layoutFor(CASES[0]!); // 14 coefficients x 2 bits = 28 bits: 4 padding bits
    expect(layout.streamBits % 8).not.toBe(0);
    const p = packSplit(allocateCoefficients(layout), layout);
    expect(() => checkPacked(p, layout, null)).not.toThrow();
    p[p.length - 1] = p[p.length - 1]! | 0x80;
    expect(() => checkPacked(p, layout, null)).toThrow(/padding bits/);
  });

  it('refuses moduli it cannot pack', () => {
    for (const [modulus, bits] of [[(1n << 60n) + 1n, 61], [1n, 1]] as const) {
      const seal = ciphertextLayout('ciphertext', { parmsId: new BigUint64Array(4), moduli: [modulus], degree: 4 }, 2, false);
      expect(() => packedLayoutOf(seal)).toThrow(new RegExp(`${bits}-bit modulus`));
    }
  });
});

/** Writes `value` as coefficient `index` of a packed stream with per-coefficient `widths`. */
function writeCoefficient(packed: Uint8Array, layout: PackedLayout, widths: readonly number[], index: number, value: bigint): void {
  const bitStart = widths.slice(0, index).reduce((a, b) => a + b, 0);
  const w = widths[index]!;
  for (let k = 0; k < w; k++) {
    const bit = bitStart + k;
    const at = layout.dataOffset + (bit >> 3);
    const mask = 1 << (bit & 7);
    packed[at] = ((value >> BigInt(k)) & 1n) === 1n ? packed[at]! | mask : packed[at]! & ~mask;
  }
}
