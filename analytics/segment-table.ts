/**
 * Result types of `segment-stats`, shared by the exact (released) path and
 * the floating-point pooled check so that both can be printed side by side.
 *
 * @module
 */
import type { LifecycleStage } from './shop-data.js';

/**
 * One lifecycle stage. Every statistic is `null` when the cell was suppressed
 * or when it is undefined for the data (no customers, fewer than two orders
 * for a variance, no intervals).
 */
export interface SegmentStatsRow {
  readonly stage: LifecycleStage;
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

/** Rows in LIFECYCLE_STAGES order. */
export interface SegmentStatsTable {
  readonly rows: readonly SegmentStatsRow[];
}
