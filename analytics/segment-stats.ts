/**
 * `segment-stats`: per lifecycle stage, over customers who consented to
 * analytics, the counts and sums from which repurchase rate, mean and
 * variance of order value and mean days between orders follow exactly.
 *
 * Shops send only additive sufficient statistics (counts, Σx, Σx², Σgaps) so
 * that the encrypted sum over shops equals the statistics of the pooled data
 * and no shop's own mean or variance is ever revealed.
 *
 * @module
 */
import type { QueryDefinition, ReleasedTotals } from './query-definition.js';
import { assertWithinBounds } from './query-definition.js';
import { ratioToNumber } from './rational.js';
import {
  SEGMENT_STATS_KIND,
  SEGMENT_STAT_NAMES,
  parseSegmentStatsSpec,
  segmentFieldName,
  segmentStatsCells,
  segmentStatsFields,
  type SegmentStatName,
  type SegmentStatsSpec,
} from './segment-stats-spec.js';
import type { SegmentStatsRow, SegmentStatsTable } from './segment-table.js';
import { LIFECYCLE_STAGES, type LifecycleStage, type ShopData } from './shop-data.js';

type StageTotals = Record<SegmentStatName, bigint>;

function emptyTotals(): StageTotals {
  return {
    customers: 0n,
    repeat_customers: 0n,
    orders: 0n,
    order_value_sum_cents: 0n,
    order_value_sumsq_cents2: 0n,
    interval_count: 0n,
    interval_sum_s: 0n,
  };
}

/**
 * Shop side. Orders of customers without analytics consent, or of customers
 * the shop does not list, are left out (consent cannot be shown for them).
 * Throws RangeError naming the field when one order or gap exceeds the
 * spec's per-item bound, or a total exceeds its field bound, and TypeError
 * naming the argument on malformed input.
 */
export function computeSegmentStatsLocal(spec: SegmentStatsSpec, data: ShopData): bigint[] {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.customers as unknown) || !Array.isArray(data.orders as unknown)) {
    throw new TypeError('data: expected ShopData with customers and orders arrays');
  }
  const stageOf = new Map<string, LifecycleStage>();
  const seen = new Set<string>();
  for (const c of data.customers) {
    if (seen.has(c.customerId)) throw new RangeError(`data.customers: duplicate customerId ${c.customerId}`);
    seen.add(c.customerId);
    if (c.consentAnalytics === true) stageOf.set(c.customerId, c.lifecycleStage);
  }

  const timesOf = new Map<string, number[]>();
  const totals = new Map<LifecycleStage, StageTotals>(LIFECYCLE_STAGES.map((s) => [s, emptyTotals()]));
  const { maxOrderCents, horizonSeconds } = spec.bounds;
  for (const o of data.orders) {
    const stage = stageOf.get(o.customerId);
    if (stage === undefined || (spec.excludeReturned && o.returned)) continue;
    const t = totals.get(stage) as StageTotals;
    const sumField = segmentFieldName(stage, 'order_value_sum_cents');
    if (typeof (o.amountCents as unknown) !== 'bigint') throw new TypeError(`data.orders: order ${o.orderId} amountCents is not a bigint`);
    if (o.amountCents < 0n) throw new RangeError(`field ${sumField}: order ${o.orderId} has negative amount ${o.amountCents}`);
    if (o.amountCents > maxOrderCents) {
      throw new RangeError(`field ${sumField}: order ${o.orderId} amount ${o.amountCents} exceeds bounds.maxOrderCents ${maxOrderCents}`);
    }
    if (!Number.isSafeInteger(o.orderedUnixS as unknown)) throw new TypeError(`data.orders: order ${o.orderId} orderedUnixS is not an integer`);
    t.orders += 1n;
    t.order_value_sum_cents += o.amountCents;
    t.order_value_sumsq_cents2 += o.amountCents * o.amountCents;
    const times = timesOf.get(o.customerId);
    if (times === undefined) timesOf.set(o.customerId, [o.orderedUnixS]);
    else times.push(o.orderedUnixS);
  }

  for (const [customerId, stage] of stageOf) {
    const t = totals.get(stage) as StageTotals;
    t.customers += 1n;
    const times = timesOf.get(customerId);
    if (times === undefined || times.length < 2) continue;
    t.repeat_customers += 1n;
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) {
      const gap = BigInt((times[i] as number) - (times[i - 1] as number));
      if (gap > horizonSeconds) {
        throw new RangeError(
          `field ${segmentFieldName(stage, 'interval_sum_s')}: a gap of ${gap} s exceeds bounds.horizonSeconds ${horizonSeconds}`,
        );
      }
      t.interval_count += 1n;
      t.interval_sum_s += gap;
    }
  }

  const values = LIFECYCLE_STAGES.flatMap((stage) => SEGMENT_STAT_NAMES.map((stat) => (totals.get(stage) as StageTotals)[stat]));
  assertWithinBounds(segmentStatsFields(spec), values);
  return values;
}

/** Suppressed or absent statistics. */
function nullRow(stage: LifecycleStage, suppressed: boolean): SegmentStatsRow {
  return {
    stage,
    suppressed,
    customers: null,
    repeatCustomers: null,
    orders: null,
    repurchaseRate: null,
    orderValueMean: null,
    orderValueVariance: null,
    meanDaysBetweenOrders: null,
  };
}

/**
 * Exact statistics of one stage from its summed totals. Ratios are formed
 * from the exact integers and rounded once (divide late):
 * mean = Σx / (100 n); variance = (n Σx² − (Σx)²) / (n (n − 1) 10⁴).
 */
export function segmentRowFromTotals(stage: LifecycleStage, t: Readonly<StageTotals>): SegmentStatsRow {
  const n = t.orders;
  const sum = t.order_value_sum_cents;
  return {
    stage,
    suppressed: false,
    customers: Number(t.customers),
    repeatCustomers: Number(t.repeat_customers),
    orders: Number(n),
    repurchaseRate: t.customers > 0n ? ratioToNumber(t.repeat_customers, t.customers) : null,
    orderValueMean: n > 0n ? ratioToNumber(sum, n * 100n) : null,
    orderValueVariance: n > 1n ? ratioToNumber(n * t.order_value_sumsq_cents2 - sum * sum, n * (n - 1n) * 10_000n) : null,
    meanDaysBetweenOrders: t.interval_count > 0n ? ratioToNumber(t.interval_sum_s, t.interval_count * 86_400n) : null,
  };
}

/**
 * Coordinator side. Every stage must appear in the release (suppressed or
 * with all seven totals); anything else is a malformed release and throws
 * TypeError naming the missing path.
 */
export function finaliseSegmentStats(_spec: SegmentStatsSpec, release: ReleasedTotals): SegmentStatsTable {
  if (typeof release !== 'object' || release === null || typeof release.cells !== 'object' || release.cells === null) {
    throw new TypeError('release: expected { cells }');
  }
  const rows = LIFECYCLE_STAGES.map((stage) => {
    const cell = release.cells[stage];
    if (cell === undefined) throw new TypeError(`release.cells.${stage}: missing`);
    if (cell.suppressed) return nullRow(stage, true);
    const t = emptyTotals();
    for (const stat of SEGMENT_STAT_NAMES) {
      const name = segmentFieldName(stage, stat);
      const v = cell.totals?.[name];
      if (typeof v !== 'bigint') throw new TypeError(`release.cells.${stage}.totals.${name}: missing or not a bigint`);
      if (v < 0n) throw new RangeError(`release.cells.${stage}.totals.${name}: negative total ${v}`);
      t[stat] = v;
    }
    return segmentRowFromTotals(stage, t);
  });
  return { rows };
}

/** The `segment-stats` query definition registered under its kind. */
export const segmentStatsQuery: QueryDefinition<SegmentStatsSpec, SegmentStatsTable> = {
  kind: SEGMENT_STATS_KIND,
  parseSpec: parseSegmentStatsSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => [
    'customer.lifecycle_stage',
    'order.amount',
    'order.ordered_at',
    ...(spec.excludeReturned ? ['order.returned'] : []),
  ],
  fields: segmentStatsFields,
  cells: segmentStatsCells,
  computeLocal: computeSegmentStatsLocal,
  finalise: finaliseSegmentStats,
};
