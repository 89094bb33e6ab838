/**
 * Exact Bernoulli trials with rational parameters, the building blocks of
 * the discrete Laplace and discrete Gaussian samplers of Canonne, Kamath and
 * Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020),
 * Algorithm 1.
 *
 * Why exact: a floating-point sampler has gaps and biases in its tails that
 * break the privacy proof (Mironov 2012). Every probability here is a ratio
 * of bigints and every trial compares a uniform integer against it, so the
 * output distribution is exactly the mathematical one.
 *
 * @module
 */
import { uniformBelow, type RandomReader } from './random-source.js';

function assertFraction(num: bigint, den: bigint, what: string): void {
  if (typeof num !== 'bigint' || typeof den !== 'bigint') throw new TypeError(`${what}: expected bigint numerator and denominator`);
  if (den < 1n) throw new RangeError(`${what}: denominator must be >= 1, got ${den}`);
  if (num < 0n) throw new RangeError(`${what}: must be >= 0, got ${num}/${den}`);
}

/** Bernoulli(num/den) for 0 <= num/den <= 1. */
export function bernoulli(num: bigint, den: bigint, rng: RandomReader): boolean {
  assertFraction(num, den, 'p');
  if (num > den) throw new RangeError(`p: must be <= 1, got ${num}/${den}`);
  return uniformBelow(den, rng) < num;
}

/** Bernoulli(exp(-γ)) for γ = num/den in [0, 1] (CKS20 Algorithm 1, first case). */
function bernoulliExpUnit(num: bigint, den: bigint, rng: RandomReader): boolean {
  // K counts how many Bernoulli(γ/K) trials succeed in a row, plus one;
  // P[K odd] = exp(-γ).
  let k = 1n;
  while (bernoulli(num, den * k, rng)) k += 1n;
  return (k & 1n) === 1n;
}

/**
 * Bernoulli(exp(-γ)) for rational γ = num/den >= 0 (CKS20 Algorithm 1):
 * exp(-γ) = exp(-1)^⌊γ⌋ · exp(-(γ - ⌊γ⌋)), one unit trial per factor,
 * stopping at the first failure.
 */
export function bernoulliExp(num: bigint, den: bigint, rng: RandomReader): boolean {
  assertFraction(num, den, 'gamma');
  if (num <= den) return bernoulliExpUnit(num, den, rng);
  const whole = num / den;
  for (let i = 0n; i < whole; i++) {
    if (!bernoulliExpUnit(1n, 1n, rng)) return false;
  }
  return bernoulliExpUnit(num - whole * den, den, rng);
}
