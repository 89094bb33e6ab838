/**
 * One field's noise: draw it, describe it, and bound it with an interval.
 *
 * @module
 */
import { discreteGaussianHalfWidth, sampleDiscreteGaussian } from './discrete-gaussian.js';
import { discreteLaplaceHalfWidth, sampleDiscreteLaplace } from './discrete-laplace.js';
import { formatFraction, fractionToNumber, parseFraction } from './integer-math.js';
import type { RandomReader } from './random-source.js';
import { NOISE_MECHANISMS, type FieldNoiseParameter, type NoiseMechanism } from './zcdp.js';

/** An exact integer draw of the field's noise. */
export function sampleNoise(noise: FieldNoiseParameter, rng: RandomReader): bigint {
  return noise.mechanism === 'discrete-gaussian' ? sampleDiscreteGaussian(noise.parameter, rng) : sampleDiscreteLaplace(noise.parameter, rng);
}

/** Standard deviation of the noise: σ for the discrete Gaussian (an upper bound), √(2q)/(1−q) with q = e^{-1/τ} for the discrete Laplace. */
export function noiseSd(noise: FieldNoiseParameter): number {
  const p = fractionToNumber(noise.parameter);
  if (noise.mechanism === 'discrete-gaussian') return Math.sqrt(p);
  const q = Math.exp(-1 / p);
  return Math.sqrt(2 * q) / (1 - q);
}

/** Smallest h with P[|noise| <= h] >= confidence. */
export function noiseHalfWidth(noise: FieldNoiseParameter, confidence: number): number {
  return noise.mechanism === 'discrete-gaussian'
    ? discreteGaussianHalfWidth(noise.parameter, confidence)
    : discreteLaplaceHalfWidth(noise.parameter, confidence);
}

/** The noise description a release document carries per field. */
export interface NoiseDescription {
  readonly mechanism: NoiseMechanism;
  /** σ² (discrete Gaussian) or τ (discrete Laplace), exact, as `num/den`. */
  readonly parameter: string;
  /** Standard deviation of the added noise. */
  readonly sd: number;
  /** The noisy total before clamping at zero (signed decimal), so intervals at other confidences can be formed. */
  readonly noisy: string;
  /** Interval [lo, hi] (decimal strings) that holds the true total with the release's confidence. */
  readonly ci: readonly [string, string];
}

/**
 * The description of noise added to a total whose noisy value (before
 * clamping at zero) is `noisy`. The interval is noisy ± h clipped at zero,
 * since no total is negative; its coverage is at least `confidence`.
 */
export function describeNoise(noise: FieldNoiseParameter, noisy: bigint, confidence: number): NoiseDescription {
  const h = BigInt(noiseHalfWidth(noise, confidence));
  const lo = noisy - h;
  const hi = noisy + h;
  return {
    mechanism: noise.mechanism,
    parameter: formatFraction(noise.parameter),
    sd: noiseSd(noise),
    noisy: noisy.toString(),
    ci: [(lo < 0n ? 0n : lo).toString(), (hi < 0n ? 0n : hi).toString()],
  };
}

/** Reads back the exact parameter of a stored description; RangeError naming `what` when malformed. */
export function noiseParameterOf(description: Pick<NoiseDescription, 'mechanism' | 'parameter'>, what = 'noise'): FieldNoiseParameter {
  if (!(NOISE_MECHANISMS as readonly string[]).includes(description.mechanism)) throw new RangeError(`${what}.mechanism: unknown ${String(description.mechanism)}`);
  const parameter = parseFraction(description.parameter, `${what}.parameter`);
  if (parameter.num < 1n) throw new RangeError(`${what}.parameter: must be positive`);
  return { mechanism: description.mechanism, parameter };
}
