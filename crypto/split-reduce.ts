/**
 * Exact reduction modulo q of coefficient sums kept as two doubles.
 *
 * The accumulator adds the low 32 bits and the high bits of each coefficient
 * into separate Float64Arrays, so a sum S = H * 2^32 + L of up to K
 * coefficients below q < 2^60 has L < K * 2^32 and H < K * 2^28, exact while
 * K <= 2^21. Reducing once per round (not per addition) gives the same
 * residue as SEAL's `evaluator.add`, which reduces after every addition.
 *
 * Per coefficient, without BigInt: estimate k = floor(S / q) in floating
 * point (S / q < K, so the estimate is off by at most one), subtract k * q
 * exactly limb by limb (k * qLo < 2^53 and k * qHi < 2^53), renormalise the
 * low limb into [0, 2^32) and correct the remainder into [0, q) with at most
 * one addition or subtraction of q.
 *
 * Internal module: not re-exported from `index.ts`.
 */
import type { SplitCoefficients } from './bit-pack.js';
import type { PackedLayout } from './packed-layout.js';

const TWO_32 = 0x1_0000_0000;

/**
 * Largest number of addends whose split sums stay exact in doubles and whose
 * quotient estimate keeps k * qLo below 2^53: K * 2^32 <= 2^53.
 */
export const MAX_EXACT_ADDENDS = 2 ** 21;

/**
 * Writes (sumHi[i] * 2^32 + sumLo[i]) mod q_i into `out` for every coefficient.
 * Inputs must be non-negative integers from at most MAX_EXACT_ADDENDS
 * coefficients each below its modulus.
 */
export function reduceSplitSums(sumLo: Float64Array, sumHi: Float64Array, layout: PackedLayout, out: SplitCoefficients): void {
  for (const seg of layout.segments) {
    const { qHi, qLo } = seg;
    const q = qHi * TWO_32 + qLo; // rounded to a double: only used for the estimate
    const end = seg.firstIndex + seg.count;
    for (let i = seg.firstIndex; i < end; i++) {
      const l = sumLo[i] as number;
      const h = sumHi[i] as number;
      const k = Math.floor((h * TWO_32 + l) / q);
      let rLo = l - k * qLo;
      let rHi = h - k * qHi;
      const carry = Math.floor(rLo / TWO_32);
      rLo -= carry * TWO_32;
      rHi += carry;
      // Now S - k*q = rHi * 2^32 + rLo with rLo in [0, 2^32); bring it into [0, q).
      while (rHi < 0) {
        rLo += qLo;
        rHi += qHi;
        if (rLo >= TWO_32) {
          rLo -= TWO_32;
          rHi += 1;
        }
      }
      while (rHi > qHi || (rHi === qHi && rLo >= qLo)) {
        rLo -= qLo;
        rHi -= qHi;
        if (rLo < 0) {
          rLo += TWO_32;
          rHi -= 1;
        }
      }
      out.lo[i] = rLo;
      out.hi[i] = rHi;
    }
  }
}
