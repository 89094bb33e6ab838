/**
 * The exact samplers against their exact distributions: chi-square over
 * 10^6 seeded draws for the discrete Gaussian and the discrete Laplace
 * (CKS20), moments at a large scale, the Bernoulli(exp(-γ)) building block,
 * and interval half-widths against the exact tail mass.
 */
import { describe, expect, it } from 'vitest';
import { RandomReader } from '../../../compliance/index.js';
import { bernoulliExp } from '../../../compliance/disclosure/bernoulli.js';
import { discreteGaussianHalfWidth, discreteGaussianPmf, normalQuantile, sampleDiscreteGaussian } from '../../../compliance/disclosure/discrete-gaussian.js';
import { discreteLaplaceHalfWidth, discreteLaplacePmf, discreteLaplaceTail, sampleDiscreteLaplace } from '../../../compliance/disclosure/discrete-laplace.js';
import { uniformBelow } from '../../../compliance/disclosure/random-source.js';
import type { Fraction } from '../../../compliance/disclosure/integer-math.js';
import { seededSource } from './seeded-source.js';

const DRAWS = 1_000_000;

/** Upper p-quantile of chi-square with `df` degrees of freedom (Wilson–Hilferty). */
function chiSquareQuantile(df: number, p: number): number {
  const z = normalQuantile(p);
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/**
 * Pearson's statistic of `draws` against `pmf` over the integers
 * [-radius, radius] one by one, with both tails pooled into one bin.
 */
function chiSquare(draw: () => bigint, pmf: (x: number) => number, radius: number): { stat: number; df: number } {
  const counts = new Map<number, number>();
  let tail = 0;
  for (let i = 0; i < DRAWS; i++) {
    const x = Number(draw());
    if (Math.abs(x) > radius) tail++;
    else counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  let stat = 0;
  let inside = 0;
  for (let x = -radius; x <= radius; x++) {
    const p = pmf(x);
    inside += p;
    const expected = p * DRAWS;
    stat += ((counts.get(x) ?? 0) - expected) ** 2 / expected;
  }
  const expectedTail = (1 - inside) * DRAWS;
  stat += (tail - expectedTail) ** 2 / expectedTail;
  return { stat, df: 2 * radius + 1 };
}

const report: string[] = [];

describe('discrete Gaussian sampler (CKS20 Algorithm 3)', () => {
  it.each([
    ['9', { num: 9n, den: 1n }, 12],
    ['5/2', { num: 5n, den: 2n }, 7],
  ] as const)('matches the exact pmf for σ² = %s (chi-square, 10^6 draws, fixed seed)', (label, sigma2: Fraction, radius) => {
    const rng = new RandomReader(seededSource(`gauss-${label}`), 1 << 16);
    const pmf = discreteGaussianPmf(sigma2, radius);
    const { stat, df } = chiSquare(() => sampleDiscreteGaussian(sigma2, rng), (x) => pmf.get(x) as number, radius);
    const critical = chiSquareQuantile(df, 0.999);
    report.push(`discrete Gaussian σ²=${label}: χ²=${stat.toFixed(2)} df=${df} (0.999 critical ${critical.toFixed(2)})`);
    expect(stat).toBeLessThan(critical);
  }, 120_000);

  it('has mean 0 and variance σ² at σ² = 10^12 (exact integers, no float gaps)', () => {
    const rng = new RandomReader(seededSource('gauss-large'), 1 << 16);
    const sigma2 = { num: 10n ** 12n, den: 1n };
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = Number(sampleDiscreteGaussian(sigma2, rng));
      sum += x;
      sq += x * x;
    }
    const sd = 1e6;
    expect(Math.abs(sum / n)).toBeLessThan((4 * sd) / Math.sqrt(n));
    expect(Math.abs(sq / n / 1e12 - 1)).toBeLessThan(0.02);
  });
});

describe('discrete Laplace sampler (CKS20 Algorithm 2)', () => {
  it.each([
    ['3/2', { num: 3n, den: 2n }, 10],
    ['7', { num: 7n, den: 1n }, 40],
  ] as const)('matches the exact pmf for τ = %s (chi-square, 10^6 draws, fixed seed)', (label, scale: Fraction, radius) => {
    const rng = new RandomReader(seededSource(`laplace-${label}`), 1 << 16);
    const { stat, df } = chiSquare(() => sampleDiscreteLaplace(scale, rng), (x) => discreteLaplacePmf(scale, x), radius);
    const critical = chiSquareQuantile(df, 0.999);
    report.push(`discrete Laplace τ=${label}: χ²=${stat.toFixed(2)} df=${df} (0.999 critical ${critical.toFixed(2)})`);
    expect(stat).toBeLessThan(critical);
  }, 120_000);

  it('detects a wrong distribution (the test has power)', () => {
    const rng = new RandomReader(seededSource('laplace-power'), 1 << 16);
    // Draws at τ = 3/2 tested against the pmf of τ = 8/5 must fail.
    const { stat, df } = chiSquare(() => sampleDiscreteLaplace({ num: 3n, den: 2n }, rng), (x) => discreteLaplacePmf({ num: 8n, den: 5n }, x), 10);
    expect(stat).toBeGreaterThan(chiSquareQuantile(df, 0.999));
  }, 120_000);

  it('prints the measured statistics', () => {
    console.log(report.join('\n'));
  });
});

describe('building blocks', () => {
  it('Bernoulli(exp(-γ)) has frequency exp(-γ) for γ below and above 1', () => {
    const rng = new RandomReader(seededSource('bern'), 1 << 16);
    for (const [num, den] of [[1n, 3n], [5n, 2n], [0n, 1n]] as const) {
      const n = 200_000;
      let hits = 0;
      for (let i = 0; i < n; i++) if (bernoulliExp(num, den, rng)) hits++;
      const p = Math.exp(-Number(num) / Number(den));
      expect(Math.abs(hits / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n) + 1e-9);
    }
  });

  it('uniformBelow is uniform and in range, for small and big bounds', () => {
    const rng = new RandomReader(seededSource('uniform'), 1 << 16);
    const counts = [0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 70_000; i++) counts[Number(uniformBelow(7n, rng))]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    const big = 3n ** 80n;
    for (let i = 0; i < 1000; i++) {
      const v = uniformBelow(big, rng);
      expect(v >= 0n && v < big).toBe(true);
    }
    expect(() => uniformBelow(0n, rng)).toThrow(/n: expected a bigint >= 1/);
  });

  it('half-widths are the smallest with the stated coverage', () => {
    const tau = { num: 10n, den: 1n };
    const h = discreteLaplaceHalfWidth(tau, 0.95);
    expect(discreteLaplaceTail(tau, h)).toBeLessThanOrEqual(0.05);
    expect(discreteLaplaceTail(tau, h - 1)).toBeGreaterThan(0.05);
    const s2 = { num: 100n, den: 1n };
    const g = discreteGaussianHalfWidth(s2, 0.95);
    const pmf = discreteGaussianPmf(s2, g);
    const mass = [...pmf.values()].reduce((a, b) => a + b, 0);
    expect(mass).toBeGreaterThanOrEqual(0.95);
    expect(mass - 2 * (pmf.get(g) as number)).toBeLessThan(0.95);
    // Large σ: the normal quantile, conservative.
    expect(discreteGaussianHalfWidth({ num: 10n ** 10n, den: 1n }, 0.95)).toBe(Math.ceil(normalQuantile(0.975) * 1e5));
  });

  it('refuses bad parameters, naming them', () => {
    const rng = new RandomReader(seededSource('bad'));
    expect(() => sampleDiscreteGaussian({ num: 0n, den: 1n }, rng)).toThrow(/sigma2/);
    expect(() => sampleDiscreteLaplace({ num: 1n, den: 0n }, rng)).toThrow(/scale/);
    expect(() => bernoulliExp(-1n, 1n, rng)).toThrow(/gamma/);
  });
});
