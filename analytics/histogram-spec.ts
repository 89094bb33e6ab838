/**
 * The `histogram` spec's type and kind string, apart from the query so that
 * `histogram-disclosure.ts` can read a spec without importing the query that
 * uses its margins.
 *
 * @module
 */

/** Query kind string, also the `kind` member of the spec JSON. */
export const HISTOGRAM_KIND = 'histogram';

export interface HistogramBounds {
  /** Consented customers of one shop. */
  readonly maxCustomers: bigint;
  /** Orders (and so intervals) of one shop. */
  readonly maxOrders: bigint;
}

/** What both variables' specs share. */
export interface HistogramSpecBase {
  readonly kind: typeof HISTOGRAM_KIND;
  readonly purpose: string;
  /** Percentiles to estimate, increasing integers in 1..99 (default median and p90). */
  readonly percentiles: readonly number[];
  /** Returned orders are left out (of values, and of the order sequence intervals are taken from). */
  readonly excludeReturned: boolean;
  readonly bounds: HistogramBounds;
}

/** Parsed, normalised `histogram` spec: one variable and its edges in the unit the member names. */
export type HistogramSpec =
  | (HistogramSpecBase & { readonly variable: 'order_value'; readonly edgesCents: readonly number[] })
  | (HistogramSpecBase & { readonly variable: 'purchase_interval'; readonly edgesDays: readonly number[] });
