/**
 * The pooled reference of a logistic fit with declared clipping, written
 * here from the rule and not with the library's code: every feature moved
 * into [−F, F], every row's gradient x · (y − p) scaled down to norm G when
 * longer, the Hessian Σ p(1 − p) x xᵀ of the clipped features, and Newton
 * steps β ← β + H⁻¹ g from β = 0 until the largest step is below the
 * tolerance or the round limit is reached (as the federated fit stops).
 */
import type { FeatureRow } from '../../analytics/index.js';
import { solve } from './pooled-logistic.js';

export interface Clipping {
  readonly maxFeatureAbs: number;
  /** Clip features to ±maxFeatureAbs (otherwise they are used as they are). */
  readonly clipFeatures: boolean;
  readonly gradientClip?: number;
}

/** A row's features clipped to ±F when the spec clips. */
export function clipRow(x: readonly number[], c: Clipping): number[] {
  return c.clipFeatures ? x.map((v) => (v > c.maxFeatureAbs ? c.maxFeatureAbs : v < -c.maxFeatureAbs ? -c.maxFeatureAbs : v)) : [...x];
}

/** One row's gradient x · (y − p), scaled to norm G when longer. */
export function rowGradient(x: readonly number[], y: number, beta: readonly number[], c: Clipping): { g: number[]; p: number; clipped: boolean } {
  let t = 0;
  for (let j = 0; j < x.length; j++) t += x[j]! * beta[j]!;
  const p = 1 / (1 + Math.exp(-t));
  const g = x.map((v) => v * (y - p));
  const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
  if (c.gradientClip === undefined || norm <= c.gradientClip) return { g, p, clipped: false };
  return { g: g.map((v) => (v * c.gradientClip!) / norm), p, clipped: true };
}

/** The pooled clipped gradient and Hessian at β. */
export function pooledClippedSums(rows: readonly FeatureRow[], beta: readonly number[], c: Clipping): { gradient: number[]; hessian: number[][]; clippedRows: number } {
  const d = beta.length;
  const gradient = new Array<number>(d).fill(0);
  const hessian = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  let clippedRows = 0;
  for (const r of rows) {
    const x = clipRow(r.x, c);
    const { g, p, clipped } = rowGradient(x, r.y, beta, c);
    if (clipped) clippedRows++;
    for (let j = 0; j < d; j++) {
      gradient[j]! += g[j]!;
      for (let k = 0; k < d; k++) hessian[j]![k]! += p * (1 - p) * x[j]! * x[k]!;
    }
  }
  return { gradient, hessian, clippedRows };
}

/** The pooled clipped fit (no l2 penalty), stopped as the federated fit stops. */
export function pooledClippedLogistic(rows: readonly FeatureRow[], d: number, c: Clipping, limits: { tolerance: number; maxRounds: number }): { beta: number[]; se: number[]; rounds: number } {
  let beta = new Array<number>(d).fill(0);
  for (let round = 1; ; round++) {
    const { gradient, hessian } = pooledClippedSums(rows, beta, c);
    const step = solve(hessian, gradient);
    beta = beta.map((b, j) => b + step[j]!);
    if (Math.max(...step.map(Math.abs)) < limits.tolerance || round >= limits.maxRounds) {
      const se = Array.from({ length: d }, (_, j) => Math.sqrt(solve(hessian, Array.from({ length: d }, (_, i) => (i === j ? 1 : 0)))[j]!));
      return { beta, se, rounds: round };
    }
  }
}
