/**
 * Per-customer sensitivity of a logistic-regression round, for DP purposes:
 * under a DP purpose every round of a fit is a release that spends the
 * purpose's ρ, and its gradient and Hessian get noise calibrated here.
 *
 * One training row is one customer. With |x_j| <= A (`maxFeatureAbs`, which
 * shops enforce), |y − p| <= 1 and p(1 − p) <= 1/4, adding or removing a
 * customer moves the gradient Σ x_j (y − p) by at most A, each Hessian entry
 * Σ p(1 − p) x_j x_k by at most A²/4, the log-likelihood by at most 40 (its
 * terms are clamped) and the row count by 1. In the fixed-point fields
 * (2^40 per unit, signed values as +/− pairs) that is A·2^40, A²/4·2^40 and
 * 40·2^40, plus two units for the rounding of each shop's total; each part
 * of a pair is given the whole bound, which over-counts when a total changes
 * sign and so only adds noise. A spec that declares `gradientClip` G bounds
 * each row's gradient vector to norm G, so a gradient field moves by at most
 * min(A, G) (logistic-clipping.ts); features beyond A are either refused or
 * clipped to A by the shop, so the other bounds hold either way.
 *
 * @module
 */
import type { SubjectSensitivity } from './query-definition.js';
import { REAL_SCALE_BITS } from './signed-real.js';
import { gradientComponentBound } from './logistic-clipping.js';

function fixedBound(x: number): bigint {
  return BigInt(Math.ceil(x * 2 ** REAL_SCALE_BITS)) + 2n;
}

/** Per-customer sensitivity of every field of a round's layout. */
export function logisticRoundSubjectSensitivity(spec: { readonly maxFeatureAbs: number; readonly gradientClip?: number | undefined; readonly features: readonly string[] }): SubjectSensitivity {
  const a = spec.maxFeatureAbs;
  const d = spec.features.length;
  const perField: Record<string, bigint> = { n: 1n };
  const pair = (name: string, bound: bigint): void => {
    perField[`${name}+`] = bound;
    perField[`${name}-`] = bound;
  };
  pair('ll', fixedBound(40));
  const g = gradientComponentBound(spec);
  for (let j = 0; j < d; j++) pair(`g.${j}`, fixedBound(g));
  for (let j = 0; j < d; j++) for (let k = j; k < d; k++) pair(`h.${j}.${k}`, fixedBound((a * a) / 4));
  return { perField, disjointCells: true };
}
