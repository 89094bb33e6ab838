/**
 * What the key holder needs to know about `segment-stats` for disclosure
 * control: the relation between its cells and each field's sensitivity.
 *
 * Margins: every consented customer is in exactly one group, so the groups'
 * totals add up to the attested subject total of the release and to the
 * grand totals any other grouping of the same population releases; one
 * relation over all groups.
 *
 * Sensitivity, from the spec's declared bounds (for DP purposes):
 * A customer is in one group, so groups compose in parallel. With m the
 * most orders one customer may have (`bounds.maxOrdersPerCustomer`, or the
 * per-shop `maxOrders` when the spec does not declare it), adding or removing
 * the customer changes: customers and repeat_customers by at most 1; orders
 * by m; the order-value sum by m · maxOrderCents and the sum of squares by
 * m · maxOrderCents²; interval_count by m − 1 and interval_sum_s by
 * (m − 1) · horizonSeconds. Tight bounds in the spec mean little noise;
 * shops refuse data outside them rather than clamp it.
 *
 * @module
 */
import type { CellMargin, SubjectSensitivity } from './query-definition.js';
import { SEGMENT_STAT_NAMES, segmentFieldName, segmentGroups, type SegmentStatName, type SegmentStatsSpec } from './segment-stats-spec.js';

/** Per-customer sensitivity of every field of the spec's layout. */
export function segmentStatsSubjectSensitivity(spec: SegmentStatsSpec): SubjectSensitivity {
  const b = spec.bounds;
  const m = b.maxOrdersPerCustomer ?? b.maxOrders;
  const gaps = m > 0n ? m - 1n : 0n;
  const of: Record<SegmentStatName, bigint> = {
    customers: 1n,
    repeat_customers: 1n,
    orders: m,
    order_value_sum_cents: m * b.maxOrderCents,
    order_value_sumsq_cents2: m * b.maxOrderCents * b.maxOrderCents,
    interval_count: gaps,
    interval_sum_s: gaps * b.horizonSeconds,
  };
  const perField: Record<string, bigint> = {};
  for (const group of segmentGroups(spec)) for (const stat of SEGMENT_STAT_NAMES) perField[segmentFieldName(group, stat)] = of[stat];
  return { perField, disjointCells: true };
}

/** One relation over all groups (their sum is published elsewhere). */
export function segmentStatsMargins(spec: SegmentStatsSpec): readonly CellMargin[] {
  return [{ parts: [...segmentGroups(spec)] }];
}
