import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blake2b256, canonicalEncode, cryptoReady, statementDigest, toHex } from '../../crypto/index.js';
import type { CanonicalValue } from '../../crypto/index.js';

beforeAll(async () => {
  await cryptoReady();
});

const enc = (values: readonly CanonicalValue[], domain = 'test/v1') => toHex(canonicalEncode(domain, values));

const leaf: fc.Arbitrary<CanonicalValue> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.uint8Array({ maxLength: 6 }),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
  fc.maxSafeInteger(),
  fc.boolean(),
);
const { value: valueArb } = fc.letrec<{ value: CanonicalValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 })),
}));
const valuesArb = fc.array(valueArb, { maxLength: 5 });

/** Structural equality that distinguishes types (5 vs 5n vs "5") and -0 from 0 only as integers. */
function sameValue(a: CanonicalValue, b: CanonicalValue): boolean {
  if (typeof a !== typeof b) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && toHex(a) === toHex(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i] as CanonicalValue));
  }
  return a === b;
}

/**
 * Independent parser of the documented format. If every encoding parses back
 * to its input, the encoding is injective (a left inverse exists).
 */
function decode(bytes: Uint8Array): { domain: string; values: CanonicalValue[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const take = (n: number): Uint8Array => {
    if (pos + n > bytes.length) throw new Error('truncated');
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u32 = (): number => {
    take(4);
    return view.getUint32(pos - 4, false);
  };
  const value = (): CanonicalValue => {
    const tag = take(1)[0];
    switch (tag) {
      case 1:
        return new TextDecoder('utf-8', { fatal: true }).decode(take(u32()));
      case 2:
        return Uint8Array.from(take(u32()));
      case 3: {
        const neg = take(1)[0] === 1;
        const mag = take(u32());
        const v = mag.length === 0 ? 0n : BigInt('0x' + toHex(mag));
        return neg ? -v : v;
      }
      case 4:
        take(8);
        return Number(view.getBigInt64(pos - 8, false));
      case 5:
        return take(1)[0] === 1;
      case 6: {
        const n = u32();
        return Array.from({ length: n }, () => value());
      }
      default:
        throw new Error(`bad tag ${tag}`);
    }
  };
  if (new TextDecoder().decode(take(4)) !== 'FMC1') throw new Error('bad magic');
  const domain = new TextDecoder().decode(take(take(1)[0]!));
  const values = value();
  if (pos !== bytes.length) throw new Error('trailing bytes');
  return { domain, values: values as CanonicalValue[] };
}

describe('canonicalEncode', () => {
  it('property: an independent parser recovers every input exactly (so the encoding is injective)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21-\x7e]{1,40}$/), valuesArb, (domain, values) => {
        const back = decode(canonicalEncode(domain, values));
        expect(back.domain).toBe(domain);
        expect(sameValue(back.values, values)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('is length-prefixed: ["ab","c"] and ["a","bc"] differ, and so do nested splits', () => {
    expect(enc(['ab', 'c'])).not.toBe(enc(['a', 'bc']));
    expect(enc([['a'], 'b'])).not.toBe(enc([['a', 'b']]));
    expect(enc([Uint8Array.of(1, 2), Uint8Array.of(3)])).not.toBe(enc([Uint8Array.of(1), Uint8Array.of(2, 3)]));
    expect(enc([[]])).not.toBe(enc([]));
  });

  it('is typed: 5, 5n, "5", [5] and bytes [5] all differ', () => {
    const all = [[5], [5n], ['5'], [[5]], [Uint8Array.of(5)], [true], [1], [1n]] as CanonicalValue[][];
    expect(new Set(all.map((v) => enc(v))).size).toBe(all.length);
  });

  it('separates domains', () => {
    expect(enc(['x'], 'a/v1')).not.toBe(enc(['x'], 'b/v1'));
    expect(enc(['x'], 'ab')).not.toBe(enc(['x'], 'a'));
  });

  it('has a fixed, documented byte format', () => {
    expect(enc(['ab', Uint8Array.of(0xff), 258n, -1n, 0n, -2, true, ['c']], 'd')).toBe(
      [
        '464d4331', // "FMC1"
        '01', '64', // domain "d"
        '06', '00000008', // list of 8
        '01', '00000002', '6162',
        '02', '00000001', 'ff',
        '03', '00', '00000002', '0102',
        '03', '01', '00000001', '01',
        '03', '00', '00000000',
        '04', 'fffffffffffffffe',
        '05', '01',
        '06', '00000001', '01', '00000001', '63',
      ].join(''),
    );
  });

  it('writes magnitudes beyond 2^53 - 1 and non-ASCII strings as documented (minimal big-endian, UTF-8)', () => {
    expect(enc([2n ** 64n, -(2n ** 53n), 2n ** 53n - 1n, 'aé𝄞', 'é', 2n ** 96n - 1n, 0x1_0203_0405_0607_0809_0a0bn], 'd')).toBe(
      [
        '464d4331', '01', '64', '06', '00000007',
        '03', '00', '00000009', '010000000000000000',
        '03', '01', '00000007', '20000000000000',
        '03', '00', '00000007', '1fffffffffffff',
        '01', '00000007', '61', 'c3a9', 'f09d849e',
        '01', '00000002', 'c3a9',
        '03', '00', '0000000c', 'ffffffffffffffffffffffff',
        '03', '00', '0000000b', '0102030405060708090a0b',
      ].join(''),
    );
  });

  it('property: distinct inputs give distinct encodings', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, (a, b) => {
        fc.pre(!sameValue(a, b));
        expect(enc(a)).not.toBe(enc(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a modified copy (one field changed, split, or moved) encodes differently', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 8 }), { minLength: 2, maxLength: 6 }), fc.nat(), (strs, k) => {
        const i = k % (strs.length - 1);
        const joined = [...strs.slice(0, i), strs[i]! + strs[i + 1]!, ...strs.slice(i + 2)];
        expect(enc(joined)).not.toBe(enc(strs));
      }),
    );
  });

  it('is deterministic and independent of array subclass / Buffer', () => {
    const a = canonicalEncode('d', [Buffer.from([1, 2, 3]), 'x']);
    const b = canonicalEncode('d', [Uint8Array.of(1, 2, 3), 'x']);
    expect(toHex(a)).toBe(toHex(b));
  });

  it('rejects what it cannot encode injectively', () => {
    expect(() => canonicalEncode('d', [1.5])).toThrow(/values\[0\].*safe integer/);
    expect(() => canonicalEncode('d', [2 ** 53])).toThrow(RangeError);
    expect(() => canonicalEncode('d', [NaN])).toThrow(RangeError);
    expect(() => canonicalEncode('d', ['\ud800'])).toThrow(/lone surrogate/);
    expect(() => canonicalEncode('d', [['ok', null as unknown as CanonicalValue]])).toThrow(/values\[0\]\[1\]/);
    expect(() => canonicalEncode('d', [{} as unknown as CanonicalValue])).toThrow(TypeError);
    expect(() => canonicalEncode('', [])).toThrow(/domain/);
    expect(() => canonicalEncode('has space', [])).toThrow(/domain/);
    expect(() => canonicalEncode('d', 'x' as unknown as CanonicalValue[])).toThrow(/values/);
    const cyclic: CanonicalValue[] = [];
    cyclic.push(cyclic);
    expect(() => canonicalEncode('d', cyclic)).toThrow(/deeper/);
  });

  it('statementDigest is BLAKE2b-256 of the encoding', () => {
    const values: CanonicalValue[] = ['q1', 3n, [Uint8Array.of(9)]];
    expect(toHex(statementDigest('fedmart/v1/x', values))).toBe(toHex(blake2b256(canonicalEncode('fedmart/v1/x', values))));
  });
});
