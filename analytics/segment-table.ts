/**
 * Result types of `segment-stats`, shared by the exact (released) path and
 * the floating-point pooled check so that both can be printed side by side.
 *
 * @module
 */
import type { AgeBand, CityLevel } from './customer-groups.js';
import type { LifecycleStage } from './shop-data.js';

/**
 * The statistics of one group. Every statistic is `null` when the cell was
 * suppressed or when it is undefined for the data (no customers, fewer than
 * two orders for a variance, no intervals).
 */
export interface SegmentStatValues {
  readonly suppressed: boolean;
  /** Consented customers in the stage. */
  readonly customers: number | null;
  /** Consented customers with at least two orders. */
  readonly repeatCustomers: number | null;
  readonly orders: number | null;
  /** repeatCustomers / customers (复购率). */
  readonly repurchaseRate: number | null;
  /** Mean order value, yuan. */
  readonly orderValueMean: number | null;
  /** Sample variance (n - 1) of order value, yuan². */
  readonly orderValueVariance: number | null;
  /** Mean gap between a customer's consecutive orders, days (购买间隔). */
  readonly meanDaysBetweenOrders: number | null;
}

/** One lifecycle stage (the default grouping; the shape demos and reports rely on). */
export interface SegmentStatsRow extends SegmentStatValues {
  readonly stage: LifecycleStage;
}

/** Rows in LIFECYCLE_STAGES order. */
export interface SegmentStatsTable {
  readonly rows: readonly SegmentStatsRow[];
}

/**
 * One age band or city level. `stage?: never` keeps `row.stage` readable (as
 * undefined) on a row of either table, so code written for stage rows still
 * type-checks against any `segment-stats` result.
 */
export interface SegmentGroupRow extends SegmentStatValues {
  readonly group: AgeBand | CityLevel;
  readonly stage?: never;
}

/** Rows in the declared order of AGE_BANDS or CITY_LEVELS. */
export interface SegmentGroupTable {
  readonly groupBy: 'age_band' | 'city_level';
  readonly rows: readonly SegmentGroupRow[];
}

/** What `segment-stats` finalises to: a stage table unless grouped otherwise. */
export type SegmentStatsResult = SegmentStatsTable | SegmentGroupTable;
