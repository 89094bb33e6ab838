/**
 * The `segment-stats` specification and its field/cell layout.
 *
 * Layout: for each lifecycle stage, in LIFECYCLE_STAGES order, seven fields
 * (see {@link SEGMENT_STAT_NAMES}). Each stage is one released cell whose
 * subjects are the stage's consented customers, so a small stage is
 * suppressed as a whole rather than leaking through one of its fields.
 *
 * Bounds are declared by the spec, not measured from data: they must be known
 * before any shop answers so the coordinator can prove that the encrypted sum
 * of `maxContributors` shops cannot wrap the BFV plaintext modulus.
 *
 * @module
 */
import { z } from 'zod';
import type { CellSpec, FieldSpec } from './query-definition.js';
import { LIFECYCLE_STAGES, type LifecycleStage } from './shop-data.js';
import { boundSchema, parseWith } from './spec-parse.js';

/** Query kind string, also the `kind` member of the spec JSON. */
export const SEGMENT_STATS_KIND = 'segment-stats';

/** Per-stage statistic names, in layout order. */
export const SEGMENT_STAT_NAMES = [
  'customers',
  'repeat_customers',
  'orders',
  'order_value_sum_cents',
  'order_value_sumsq_cents2',
  'interval_count',
  'interval_sum_s',
] as const;

export type SegmentStatName = (typeof SEGMENT_STAT_NAMES)[number];

/** Inclusive per-shop bounds that every field's `max` derives from. */
export interface SegmentStatsBounds {
  /** Consented customers of one shop in one stage. */
  readonly maxCustomers: bigint;
  /** Orders of one shop in one stage. */
  readonly maxOrders: bigint;
  /** Value of a single order, cents. */
  readonly maxOrderCents: bigint;
  /** Longest gap between two consecutive orders of a customer, seconds. */
  readonly horizonSeconds: bigint;
}

/** Parsed, normalised `segment-stats` spec (defaults filled in). */
export interface SegmentStatsSpec {
  readonly kind: typeof SEGMENT_STATS_KIND;
  /** Processing purpose the shop's consent must cover, e.g. `marketing-analytics`. */
  readonly purpose: string;
  readonly groupBy: 'lifecycle_stage';
  /** When true, returned orders are left out of every order statistic. */
  readonly excludeReturned: boolean;
  readonly bounds: SegmentStatsBounds;
}

/** Defaults: generous enough for a large shop, small enough for BFV. */
export const DEFAULT_SEGMENT_STATS_BOUNDS: SegmentStatsBounds = {
  maxCustomers: 1_000_000n,
  maxOrders: 10_000_000n,
  maxOrderCents: 100_000_000n,
  // Ten years: a shop may hold long histories; a gap longer than this is a data error.
  horizonSeconds: 315_360_000n,
};

const specSchema = z.strictObject({
  kind: z.literal(SEGMENT_STATS_KIND),
  purpose: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a purpose code like marketing-analytics'),
  groupBy: z.literal('lifecycle_stage'),
  excludeReturned: z.boolean().optional(),
  bounds: z
    .strictObject({
      maxCustomers: boundSchema.optional(),
      maxOrders: boundSchema.optional(),
      maxOrderCents: boundSchema.optional(),
      horizonSeconds: boundSchema.optional(),
    })
    .optional(),
});

/** Validates untrusted spec JSON; throws QuerySpecError naming the path. */
export function parseSegmentStatsSpec(json: unknown): SegmentStatsSpec {
  const raw = parseWith(specSchema, json);
  const d = DEFAULT_SEGMENT_STATS_BOUNDS;
  return {
    kind: SEGMENT_STATS_KIND,
    purpose: raw.purpose,
    groupBy: raw.groupBy,
    excludeReturned: raw.excludeReturned ?? false,
    bounds: {
      maxCustomers: raw.bounds?.maxCustomers ?? d.maxCustomers,
      maxOrders: raw.bounds?.maxOrders ?? d.maxOrders,
      maxOrderCents: raw.bounds?.maxOrderCents ?? d.maxOrderCents,
      horizonSeconds: raw.bounds?.horizonSeconds ?? d.horizonSeconds,
    },
  };
}

/** Field name of one statistic of one stage, e.g. `loyal.orders`. */
export function segmentFieldName(stage: LifecycleStage, stat: SegmentStatName): string {
  return `${stage}.${stat}`;
}

/** Inclusive per-shop bound of one statistic, derived from the spec bounds. */
export function segmentStatBound(bounds: SegmentStatsBounds, stat: SegmentStatName): bigint {
  switch (stat) {
    case 'customers':
    case 'repeat_customers':
      return bounds.maxCustomers;
    case 'orders':
    case 'interval_count':
      return bounds.maxOrders;
    case 'order_value_sum_cents':
      return bounds.maxOrders * bounds.maxOrderCents;
    case 'order_value_sumsq_cents2':
      return bounds.maxOrders * bounds.maxOrderCents * bounds.maxOrderCents;
    case 'interval_sum_s':
      return bounds.maxOrders * bounds.horizonSeconds;
  }
}

/** The 28 fields, stage-major, in the order computeLocal returns values. */
export function segmentStatsFields(spec: SegmentStatsSpec): readonly FieldSpec[] {
  return LIFECYCLE_STAGES.flatMap((stage) =>
    SEGMENT_STAT_NAMES.map((stat) => ({ name: segmentFieldName(stage, stat), max: segmentStatBound(spec.bounds, stat) })),
  );
}

/** One cell per stage; subjects are the stage's consented customers. */
export function segmentStatsCells(_spec: SegmentStatsSpec): readonly CellSpec[] {
  return LIFECYCLE_STAGES.map((stage) => ({
    name: stage,
    subjectsField: segmentFieldName(stage, 'customers'),
    fields: SEGMENT_STAT_NAMES.map((stat) => segmentFieldName(stage, stat)),
  }));
}
