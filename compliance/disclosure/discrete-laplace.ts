/**
 * The discrete Laplace distribution on the integers, Lap_Z(τ):
 * P[X = x] = (e^{1/τ} - 1)/(e^{1/τ} + 1) · e^{-|x|/τ}.
 *
 * Adding Lap_Z(Δ/ε) to an integer total whose L1 sensitivity is Δ gives
 * ε-differential privacy, hence (ε²/2)-zCDP. The sampler is CKS20
 * Algorithm 2 with exact rational scale τ = t/s.
 *
 * @module
 */
import { bernoulli, bernoulliExp } from './bernoulli.js';
import { fractionToNumber, type Fraction } from './integer-math.js';
import { uniformBelow, type RandomReader } from './random-source.js';

function assertScale(scale: Fraction): void {
  if (typeof scale !== 'object' || scale === null || typeof scale.num !== 'bigint' || typeof scale.den !== 'bigint') {
    throw new TypeError('scale: expected a Fraction { num, den } of bigints');
  }
  if (scale.num < 1n || scale.den < 1n) throw new RangeError(`scale: must be a positive fraction, got ${scale.num}/${scale.den}`);
}

/** One exact draw from Lap_Z(scale), scale = t/s > 0 (CKS20 Algorithm 2). */
export function sampleDiscreteLaplace(scale: Fraction, rng: RandomReader): bigint {
  assertScale(scale);
  const t = scale.num;
  const s = scale.den;
  for (;;) {
    // U + t·V is geometric with parameter 1 - e^{-1/t}: U uniform below t,
    // kept with probability e^{-U/t}; V counts e^{-1} successes.
    const u = uniformBelow(t, rng);
    if (!bernoulliExp(u, t, rng)) continue;
    let v = 0n;
    while (bernoulliExp(1n, 1n, rng)) v += 1n;
    const y = (u + t * v) / s;
    const negative = bernoulli(1n, 2n, rng);
    if (negative && y === 0n) continue; // zero would otherwise be counted twice
    return negative ? -y : y;
  }
}

/** P[X = x] under Lap_Z(scale), as a double (for tests and intervals). */
export function discreteLaplacePmf(scale: Fraction, x: number): number {
  assertScale(scale);
  const tau = fractionToNumber(scale);
  const q = Math.exp(-1 / tau);
  return ((1 - q) / (1 + q)) * Math.exp(-Math.abs(x) / tau);
}

/** P[|X| > h] under Lap_Z(scale) = 2 e^{-(h+1)/τ} / (1 + e^{-1/τ}). */
export function discreteLaplaceTail(scale: Fraction, h: number): number {
  assertScale(scale);
  const tau = fractionToNumber(scale);
  return (2 * Math.exp(-(h + 1) / tau)) / (1 + Math.exp(-1 / tau));
}

/** Smallest integer h >= 0 with P[|X| <= h] >= confidence under Lap_Z(scale). */
export function discreteLaplaceHalfWidth(scale: Fraction, confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence: expected a number in (0, 1), got ${confidence}`);
  const tau = fractionToNumber(scale);
  const alpha = 1 - confidence;
  let h = Math.max(0, Math.ceil(tau * Math.log(2 / (alpha * (1 + Math.exp(-1 / tau)))) - 1));
  // Guard the floating-point estimate against an off-by-one either way.
  while (h > 0 && discreteLaplaceTail(scale, h - 1) <= alpha) h--;
  while (discreteLaplaceTail(scale, h) > alpha) h++;
  return h;
}
