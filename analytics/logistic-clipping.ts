/**
 * Per-row clipping of a logistic round's features and gradients, declared
 * by the spec so that every shop's effect on the pooled sums is bounded by
 * what the spec says.
 *
 * - `featureClip`: what a shop does with a feature beyond ±maxFeatureAbs.
 *   `decline` (the default, and the behaviour of specs that do not name it)
 *   refuses the round; `clip` moves the value to the nearest bound, so an
 *   honest shop with outliers still answers.
 * - `gradientClip`: G, the largest Euclidean norm of one row's gradient
 *   vector x · (y − p), after feature clipping. A row whose vector is longer
 *   is scaled down to norm G (its direction kept). Absent, nothing is
 *   clipped and the per-row bound is what maxFeatureAbs implies.
 *
 * With G declared every row's gradient lies in the ball of radius G, so the
 * pooled gradient of n rows lies in the ball of radius G · n and each
 * component within min(maxFeatureAbs, G) times its support: the key holder
 * checks both at decode (`logisticRoundInputViolation`).
 *
 * @module
 */
import { z } from 'zod';
import { atMost, type RelationCheck } from './input-relations.js';
import type { GuideMember } from './kind-guide-types.js';

/** What a shop does with a feature beyond ±maxFeatureAbs. */
export type FeatureClip = 'decline' | 'clip';

/** The optional spec members; absent they change nothing, so specs without them keep their canonical JSON. */
export const clippingMembers = {
  /** `decline` (default): a row beyond maxFeatureAbs refuses the round; `clip`: the feature is moved to ±maxFeatureAbs. */
  featureClip: z.enum(['decline', 'clip']).optional(),
  /** Largest Euclidean norm of one row's gradient x · (y − p); longer vectors are scaled down to it. */
  gradientClip: z.number().positive().max(1e6).optional(),
};

/** The guide's members for `maxFeatureAbs` and `featureClip`, as every kind that declares both describes them. */
export const FEATURE_CLIP_GUIDE_MEMBERS: readonly GuideMember[] = [
  { name: 'maxFeatureAbs', type: 'number', required: false, default: '1000', description: 'Largest |feature| a row may have (a row beyond it is refused, or clipped under featureClip clip), at most 1e6.', sample: 100 },
  {
    name: 'featureClip',
    type: 'string',
    required: false,
    default: 'decline',
    description: 'What a shop does with a feature beyond ±maxFeatureAbs: decline (refuse the round) or clip (move it to the bound, so shops with outliers still answer).',
    values: ['decline', 'clip'],
    sample: 'clip',
  },
];

/** The clipping a round declares. */
export interface LogisticClipping {
  readonly maxFeatureAbs: number;
  readonly featureClip?: FeatureClip | undefined;
  readonly gradientClip?: number | undefined;
}

/** The clipping members to copy into a round spec or a model: only those the spec declares. */
export function declaredClipping(spec: { readonly featureClip?: FeatureClip | undefined; readonly gradientClip?: number | undefined }): { featureClip?: FeatureClip; gradientClip?: number } {
  return {
    ...(spec.featureClip === undefined ? {} : { featureClip: spec.featureClip }),
    ...(spec.gradientClip === undefined ? {} : { gradientClip: spec.gradientClip }),
  };
}

/**
 * One row's features as the round uses them: clipped to ±maxFeatureAbs
 * under `featureClip: 'clip'`, otherwise as they are. Throws RangeError
 * naming the feature when one is beyond the bound and the spec declines.
 */
export function clippedFeatures(spec: LogisticClipping, names: readonly string[], x: readonly number[]): readonly number[] {
  const f = spec.maxFeatureAbs;
  if (spec.featureClip === 'clip') return x.some((v) => Math.abs(v) > f) ? x.map((v) => Math.min(f, Math.max(-f, v))) : x;
  x.forEach((v, j) => {
    if (Math.abs(v) > f) throw new RangeError(`feature ${names[j]}: |${v}| exceeds maxFeatureAbs ${f}`);
  });
  return x;
}

/**
 * The factor a row's gradient x · r is multiplied by: min(1, G / ‖x · r‖),
 * 1 without a gradient clip.
 */
export function gradientScale(spec: Pick<LogisticClipping, 'gradientClip'>, x: readonly number[], r: number): number {
  const g = spec.gradientClip;
  if (g === undefined) return 1;
  const norm = Math.abs(r) * Math.hypot(...x);
  return norm > g ? g / norm : 1;
}

/** The largest |x_j · (y − p)| of one row after clipping: min(maxFeatureAbs, G). */
export function gradientComponentBound(spec: LogisticClipping): number {
  return spec.gradientClip === undefined ? spec.maxFeatureAbs : Math.min(spec.maxFeatureAbs, spec.gradientClip);
}

/** `bound × count` at scale 2^40, for a real per-row bound: ⌈bound · 2^20⌉ · count · 2^20, never below the exact product. */
export function perRowBoundAtScale(bound: number, count: bigint): bigint {
  return (BigInt(Math.ceil(bound * 2 ** 20)) * count) << 20n;
}

/**
 * ‖g‖² ≤ (G · n)² on the pooled gradient at scale 2^40: the triangle
 * inequality over rows of norm at most G survives adding shops. Each
 * component was rounded once per shop, so its magnitude is taken less one
 * unit per shop; `limit` already carries the rounding slack of G · n.
 */
export function gradientNormViolation(gradient: readonly bigint[], contributors: number, limit: bigint): RelationCheck {
  const c = BigInt(contributors);
  let squares = 0n;
  for (const v of gradient) {
    const magnitude = v < 0n ? -v : v;
    const rounded = magnitude > c ? magnitude - c : 0n;
    squares += rounded * rounded;
  }
  return atMost('|g|^2 (the gradient\'s squared norm, less one unit per shop and component)', squares, 'gradientClip^2 x n^2 (at scale 2^40)', limit * limit);
}
