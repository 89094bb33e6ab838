/**
 * Declared bucket edges, shared by the RFM table and the histograms. Edges are
 * part of the spec, never derived from data: the layout (one cell per bucket)
 * must be fixed before any shop answers, and data-derived edges would leak
 * the data they were derived from.
 *
 * Edges are integers in the unit the spec names (days, orders, cents), so
 * assigning a value to a bucket is an exact comparison.
 *
 * @module
 */
import { z } from 'zod';

/**
 * Strictly increasing safe integers in `[min, max]`, `minCount`–`maxCount` of
 * them. The zod issue path names the offending element.
 */
export function edgesSchema(options: { readonly min: number; readonly max: number; readonly minCount: number; readonly maxCount: number }) {
  const { min, max, minCount, maxCount } = options;
  return z
    .array(z.number().int().min(min).max(max))
    .min(minCount)
    .max(maxCount)
    .superRefine((edges, ctx) => {
      for (let i = 1; i < edges.length; i++) {
        if ((edges[i] as number) <= (edges[i - 1] as number)) {
          ctx.addIssue({ code: 'custom', path: [i], message: `edges must increase strictly (${edges[i]} follows ${edges[i - 1]})` });
        }
      }
    });
}

/**
 * Index of the bucket `value` falls in, for buckets split at `edges`
 * (`edges.length + 1` buckets): the number of edges ≤ value. Bucket 0 is
 * `value < edges[0]`, the last is `value ≥ edges[edges.length − 1]`.
 */
export function bucketIndex(edges: readonly bigint[], value: bigint): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((edges[mid] as bigint) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Bin of a closed range histogram with edges e0 < e1 < … < en: bin j holds
 * e_j ≤ v < e_{j+1}, the last bin also holds v = e_n. Returns −1 outside
 * [e0, en]; callers refuse such values rather than clamp them into an end bin.
 */
export function binIndex(edges: readonly bigint[], value: bigint): number {
  const n = edges.length - 1;
  if (n < 1 || value < (edges[0] as bigint) || value > (edges[n] as bigint)) return -1;
  return Math.min(bucketIndex(edges, value) - 1, n - 1);
}
