/**
 * The `segment-stats` specification and its field/cell layout.
 *
 * Layout: for each group of the spec's `groupBy` (lifecycle stage by default,
 * or age band, or city level; the declared lists of `customer-groups.ts`, in
 * their order), seven fields (see {@link SEGMENT_STAT_NAMES}). Each group is
 * one released cell whose subjects are the group's consented customers, so a
 * small group is suppressed as a whole rather than leaking through one of its
 * fields.
 *
 * Bounds are declared by the spec, not measured from data: they must be known
 * before any shop answers so the coordinator can prove that the encrypted sum
 * of `maxContributors` shops cannot wrap the BFV plaintext modulus.
 *
 * @module
 */
import { z } from 'zod';
import { GROUP_VALUES, SEGMENT_GROUPINGS, type SegmentGrouping } from './customer-groups.js';
import type { CellSpec, FieldSpec } from './query-definition.js';
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
  /**
   * Orders of one customer (optional). Bounds what one person can move a
   * total, which differentially private purposes calibrate their noise to;
   * without it a customer is assumed able to hold all `maxOrders`.
   */
  readonly maxOrdersPerCustomer?: bigint;
}

/** Parsed, normalised `segment-stats` spec (defaults filled in). */
export interface SegmentStatsSpec {
  readonly kind: typeof SEGMENT_STATS_KIND;
  /** Processing purpose the shop's consent must cover, e.g. `marketing-analytics`. */
  readonly purpose: string;
  /** Customer attribute the rows are grouped by (`lifecycle_stage` when the JSON omits it). */
  readonly groupBy: SegmentGrouping;
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
  groupBy: z.enum(SEGMENT_GROUPINGS).optional(),
  excludeReturned: z.boolean().optional(),
  bounds: z
    .strictObject({
      maxCustomers: boundSchema.optional(),
      maxOrders: boundSchema.optional(),
      maxOrderCents: boundSchema.optional(),
      horizonSeconds: boundSchema.optional(),
      maxOrdersPerCustomer: boundSchema.optional(),
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
    groupBy: raw.groupBy ?? 'lifecycle_stage',
    excludeReturned: raw.excludeReturned ?? false,
    bounds: {
      maxCustomers: raw.bounds?.maxCustomers ?? d.maxCustomers,
      maxOrders: raw.bounds?.maxOrders ?? d.maxOrders,
      maxOrderCents: raw.bounds?.maxOrderCents ?? d.maxOrderCents,
      horizonSeconds: raw.bounds?.horizonSeconds ?? d.horizonSeconds,
      ...(raw.bounds?.maxOrdersPerCustomer === undefined ? {} : { maxOrdersPerCustomer: raw.bounds.maxOrdersPerCustomer }),
    },
  };
}

/** Field name of one statistic of one group, e.g. `loyal.orders`, `25-34.orders`. */
export function segmentFieldName(group: string, stat: SegmentStatName): string {
  return `${group}.${stat}`;
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

/** The groups of the spec's grouping, in layout order. */
export function segmentGroups(spec: Pick<SegmentStatsSpec, 'groupBy'>): readonly string[] {
  return GROUP_VALUES[spec.groupBy];
}

/** Seven fields per group, group-major (28 for lifecycle stages), in the order computeLocal returns values. */
export function segmentStatsFields(spec: SegmentStatsSpec): readonly FieldSpec[] {
  return segmentGroups(spec).flatMap((group) =>
    SEGMENT_STAT_NAMES.map((stat) => ({ name: segmentFieldName(group, stat), max: segmentStatBound(spec.bounds, stat) })),
  );
}

/** One cell per group, named by the group; subjects are the group's consented customers. */
export function segmentStatsCells(spec: SegmentStatsSpec): readonly CellSpec[] {
  return segmentGroups(spec).map((group) => ({
    name: group,
    subjectsField: segmentFieldName(group, 'customers'),
    fields: SEGMENT_STAT_NAMES.map((stat) => segmentFieldName(group, stat)),
    // One shop must not dominate a group's revenue (the key holder's dominance rule).
    dominanceField: segmentFieldName(group, 'order_value_sum_cents'),
  }));
}
