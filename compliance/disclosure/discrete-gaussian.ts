/**
 * The discrete Gaussian on the integers, N_Z(0, σ²):
 * P[X = x] ∝ e^{-x²/(2σ²)}.
 *
 * Adding N_Z(0, σ²) to an integer total of sensitivity Δ gives
 * (Δ²/(2σ²))-zCDP (CKS20 Theorem 14), exactly as the continuous Gaussian
 * does, but the output stays an integer and the sampler is exact. The
 * sampler is CKS20 Algorithm 3: a discrete Laplace proposal with scale
 * t = ⌊σ⌋ + 1, accepted with probability e^{-(|Y| - σ²/t)²/(2σ²)}.
 *
 * @module
 */
import { bernoulliExp } from './bernoulli.js';
import { sampleDiscreteLaplace } from './discrete-laplace.js';
import { isqrt } from '../../analytics/index.js';
import { fractionToNumber, type Fraction } from './integer-math.js';
import type { RandomReader } from './random-source.js';

function assertVariance(sigma2: Fraction): void {
  if (typeof sigma2 !== 'object' || sigma2 === null || typeof sigma2.num !== 'bigint' || typeof sigma2.den !== 'bigint') {
    throw new TypeError('sigma2: expected a Fraction { num, den } of bigints');
  }
  if (sigma2.num < 1n || sigma2.den < 1n) throw new RangeError(`sigma2: must be a positive fraction, got ${sigma2.num}/${sigma2.den}`);
}

/** One exact draw from N_Z(0, sigma2), sigma2 = a/b > 0 (CKS20 Algorithm 3). */
export function sampleDiscreteGaussian(sigma2: Fraction, rng: RandomReader): bigint {
  assertVariance(sigma2);
  const a = sigma2.num;
  const b = sigma2.den;
  const t = isqrt(a / b) + 1n; // ⌊σ⌋ + 1, since ⌊√⌊x⌋⌋ = ⌊√x⌋
  const proposal: Fraction = { num: t, den: 1n };
  for (;;) {
    const y = sampleDiscreteLaplace(proposal, rng);
    const abs = y < 0n ? -y : y;
    // γ = (|y| - σ²/t)² / (2σ²) = (|y|·b·t - a)² / (2·a·b·t²)
    const d = abs * b * t - a;
    if (bernoulliExp(d * d, 2n * a * b * t * t, rng)) return y;
  }
}

/** σ as a double, for display. */
export function gaussianSigma(sigma2: Fraction): number {
  assertVariance(sigma2);
  return Math.sqrt(fractionToNumber(sigma2));
}

/** Normalised P[X = x] for |x| <= radius, summing the exact kernel numerically (tests, small σ). */
export function discreteGaussianPmf(sigma2: Fraction, radius: number): Map<number, number> {
  assertVariance(sigma2);
  const s2 = fractionToNumber(sigma2);
  const sigma = Math.sqrt(s2);
  const span = Math.max(radius, Math.ceil(40 * sigma) + 10);
  let z = 0;
  for (let x = -span; x <= span; x++) z += Math.exp(-(x * x) / (2 * s2));
  const out = new Map<number, number>();
  for (let x = -radius; x <= radius; x++) out.set(x, Math.exp(-(x * x) / (2 * s2)) / z);
  return out;
}

/** Quantile of the standard normal (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p: expected a number in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

/** Above this σ the half-width uses the normal quantile; below, the exact discrete sum. */
const EXACT_SUM_MAX_SIGMA = 10_000;

/**
 * Smallest integer h >= 0 with P[|X| <= h] >= confidence under N_Z(0, σ²).
 * For σ <= 10^4 the probability is summed term by term; above, h = ⌈z σ⌉,
 * which is conservative because P[|X| <= h] ≈ P[|Z| <= (h + ½)/σ] for the
 * discrete Gaussian with an error far below 10^-12 at such σ.
 */
export function discreteGaussianHalfWidth(sigma2: Fraction, confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence: expected a number in (0, 1), got ${confidence}`);
  assertVariance(sigma2);
  const s2 = fractionToNumber(sigma2);
  const sigma = Math.sqrt(s2);
  const z = normalQuantile(0.5 + confidence / 2);
  if (sigma > EXACT_SUM_MAX_SIGMA) return Math.ceil(z * sigma);
  const span = Math.ceil(40 * sigma) + 10;
  let total = 0;
  for (let x = -span; x <= span; x++) total += Math.exp(-(x * x) / (2 * s2));
  let mass = 1 / total; // x = 0
  let h = 0;
  while (mass < confidence && h < span) {
    h++;
    mass += (2 * Math.exp(-(h * h) / (2 * s2))) / total;
  }
  return h;
}
