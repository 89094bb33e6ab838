/**
 * The one valid shape of a *packed* ciphertext for a parameter set.
 *
 * SEAL stores every coefficient in a u64 although each is below a prime of at
 * most 60 bits; for `bfv-8192-t40` that wastes 4 of every 64 bits. The packed
 * encoding keeps SEAL's 113-byte prefix verbatim (so header, parms_id and
 * metadata are checked against the same reference as SEAL bytes) and then
 * writes the coefficients as one little-endian bit stream, each in exactly
 * `bitlen(q_j)` bits, in SEAL's order (poly-major: for each polynomial, for
 * each RNS prime q_j, N coefficients). Bit k of the stream is bit (k mod 8) of
 * byte floor(k / 8) after the prefix; the last byte's unused high bits must be
 * zero so that every ciphertext has exactly one packed form.
 *
 * The length is fixed by the parameter set (113 + 2 x 8192 x 60 / 8 = 122,993
 * bytes for `bfv-8192-t40`), there is nothing to decompress and nothing
 * variable to parse: this is a deterministic re-encoding, not compression.
 */
import { FedmartCryptoError } from './errors.js';
import type { SealObjectLayout } from './seal-format.js';

/** One run of coefficients under the same prime: (polynomial, prime) in SEAL's order. */
export interface PackedSegment {
  /** The prime q_j every coefficient of the run must be below. */
  readonly modulus: bigint;
  /** High and low 32-bit halves of q_j, for comparisons without BigInt. */
  readonly qHi: number;
  readonly qLo: number;
  /** Bits per coefficient: the bit length of q_j (at most 60). */
  readonly bits: number;
  /** Coefficients in the run (N). */
  readonly count: number;
  /** Index of the run's first coefficient in the whole ciphertext. */
  readonly firstIndex: number;
  /** Bit offset of the run's first coefficient in the stream after the prefix. */
  readonly bitOffset: number;
}

/** Layout of a packed ciphertext, derived once per context from its SEAL layout. */
export interface PackedLayout {
  /** The SEAL layout whose prefix and moduli the packed form reuses. */
  readonly seal: SealObjectLayout;
  /** Exact packed length in bytes. */
  readonly byteLength: number;
  /** Offset of the bit stream (= the SEAL prefix length, 113). */
  readonly dataOffset: number;
  /** Total number of coefficients (polys x primes x N). */
  readonly coefficientCount: number;
  /** Runs in stream order. */
  readonly segments: readonly PackedSegment[];
  /** Bits of the stream that carry coefficients; the rest of the last byte is zero padding. */
  readonly streamBits: number;
  /**
   * True when every run is 60-bit with an even count, so the whole stream is
   * pairs of coefficients in 15-byte groups and the uint32 fast paths apply.
   */
  readonly pairs60: boolean;
}

/** SEAL never makes primes above 60 bits; 2 is the least width with a prime below it. */
export const MAX_PACKED_BITS = 60;
const MIN_PACKED_BITS = 2;
const TWO_32 = 0x1_0000_0000;

/** Bit length of a positive bigint. */
function bitLength(v: bigint): number {
  return v.toString(2).length;
}

/**
 * Derives the packed layout from a ciphertext's SEAL layout.
 * @throws FedmartCryptoError HE_PARAMETERS_INVALID for a prime outside 2..60 bits
 */
export function packedLayoutOf(seal: SealObjectLayout): PackedLayout {
  const segments: PackedSegment[] = [];
  let bitOffset = 0;
  let firstIndex = 0;
  let pairs60 = true;
  for (let poly = 0; poly < seal.polyCount; poly++) {
    for (const modulus of seal.moduli) {
      const bits = modulus > 0n ? bitLength(modulus) : 0;
      if (bits < MIN_PACKED_BITS || bits > MAX_PACKED_BITS) {
        throw new FedmartCryptoError(
          'HE_PARAMETERS_INVALID',
          `cannot pack coefficients below a ${bits}-bit modulus; packing supports primes of ${MIN_PACKED_BITS}..${MAX_PACKED_BITS} bits`,
        );
      }
      segments.push({
        modulus,
        qHi: Number(modulus >> 32n),
        qLo: Number(modulus % BigInt(TWO_32)),
        bits,
        count: seal.degree,
        firstIndex,
        bitOffset,
      });
      if (bits !== 60 || seal.degree % 2 !== 0) pairs60 = false;
      bitOffset += bits * seal.degree;
      firstIndex += seal.degree;
    }
  }
  return Object.freeze({
    seal,
    byteLength: seal.dataOffset + Math.ceil(bitOffset / 8),
    dataOffset: seal.dataOffset,
    coefficientCount: firstIndex,
    segments: Object.freeze(segments),
    streamBits: bitOffset,
    pairs60,
  });
}
