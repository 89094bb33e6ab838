/**
 * `segment-stats`: per group (lifecycle stage by default, or age band, or
 * city level), over customers who consented to analytics, the counts and sums
 * from which repurchase rate, mean and variance of order value and mean days
 * between orders follow exactly.
 *
 * Shops send only additive sufficient statistics (counts, Σx, Σx², Σgaps) so
 * that the encrypted sum over shops equals the statistics of the pooled data
 * and no shop's own mean or variance is ever revealed.
 *
 * @module
 */
import { GROUPING_INPUT_FIELD, groupOf, type AgeBand, type CityLevel, SEGMENT_GROUPINGS } from './customer-groups.js';
import type { QueryDefinition, ReleasedTotals } from './query-definition.js';
import { assertWithinBounds } from './query-definition.js';
import { segmentStatsMargins, segmentStatsSubjectSensitivity } from './segment-stats-disclosure.js';
import { ratioToNumber } from './rational.js';
import { DAY_SECONDS } from './calendar.js';
import { atLeast, atMost, firstBroken, squareAtMost, totalOf } from './input-relations.js';
import {
  SEGMENT_STATS_KIND,
  SEGMENT_STAT_NAMES,
  parseSegmentStatsSpec,
  segmentFieldName,
  segmentGroups,
  segmentStatsCells,
  segmentStatsFields,
  type SegmentStatName,
  type SegmentStatsSpec,
  DEFAULT_SEGMENT_STATS_BOUNDS,
} from './segment-stats-spec.js';
import type { SegmentGroupRow, SegmentStatsResult, SegmentStatsRow, SegmentStatValues } from './segment-table.js';
import type { LifecycleStage, ShopData } from './shop-data.js';
import { boundMember, purposeMember, type KindGuideBody } from './kind-guide-types.js';

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
 * spec's per-item bound (orders of one customer included, when the spec
 * declares `maxOrdersPerCustomer`), or a total exceeds its field bound, or a customer's
 * group value is not in the declared list (naming the input field), and
 * TypeError naming the argument on malformed input.
 */
export function computeSegmentStatsLocal(spec: SegmentStatsSpec, data: ShopData): bigint[] {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.customers as unknown) || !Array.isArray(data.orders as unknown)) {
    throw new TypeError('data: expected ShopData with customers and orders arrays');
  }
  const groupOfCustomer = new Map<string, string>();
  const seen = new Set<string>();
  for (const c of data.customers) {
    if (seen.has(c.customerId)) throw new RangeError(`data.customers: duplicate customerId ${c.customerId}`);
    seen.add(c.customerId);
    if (c.consentAnalytics === true) groupOfCustomer.set(c.customerId, groupOf(spec.groupBy, c));
  }

  const groups = segmentGroups(spec);
  const timesOf = new Map<string, number[]>();
  const totals = new Map<string, StageTotals>(groups.map((g) => [g, emptyTotals()]));
  const { maxOrderCents, horizonSeconds } = spec.bounds;
  for (const o of data.orders) {
    const group = groupOfCustomer.get(o.customerId);
    if (group === undefined || (spec.excludeReturned && o.returned)) continue;
    const t = totals.get(group) as StageTotals;
    const sumField = segmentFieldName(group, 'order_value_sum_cents');
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

  for (const [customerId, group] of groupOfCustomer) {
    const t = totals.get(group) as StageTotals;
    t.customers += 1n;
    const times = timesOf.get(customerId);
    const perCustomer = spec.bounds.maxOrdersPerCustomer;
    if (times !== undefined && perCustomer !== undefined && BigInt(times.length) > perCustomer) {
      throw new RangeError(`field ${segmentFieldName(group, 'orders')}: a customer has ${times.length} orders, more than bounds.maxOrdersPerCustomer ${perCustomer}`);
    }
    if (times === undefined || times.length < 2) continue;
    t.repeat_customers += 1n;
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) {
      const gap = BigInt((times[i] as number) - (times[i - 1] as number));
      if (gap > horizonSeconds) {
        throw new RangeError(
          `field ${segmentFieldName(group, 'interval_sum_s')}: a gap of ${gap} s exceeds bounds.horizonSeconds ${horizonSeconds}`,
        );
      }
      t.interval_count += 1n;
      t.interval_sum_s += gap;
    }
  }

  const values = groups.flatMap((group) => SEGMENT_STAT_NAMES.map((stat) => (totals.get(group) as StageTotals)[stat]));
  assertWithinBounds(segmentStatsFields(spec), values);
  return values;
}

/** Suppressed statistics. */
function nullValues(): SegmentStatValues {
  return {
    suppressed: true,
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
  return { stage, ...valuesFromTotals(t) };
}

function valuesFromTotals(t: Readonly<StageTotals>): SegmentStatValues {
  const n = t.orders;
  const sum = t.order_value_sum_cents;
  return {
    suppressed: false,
    customers: Number(t.customers),
    repeatCustomers: Number(t.repeat_customers),
    orders: Number(n),
    repurchaseRate: t.customers > 0n ? ratioToNumber(t.repeat_customers, t.customers) : null,
    orderValueMean: n > 0n ? ratioToNumber(sum, n * 100n) : null,
    orderValueVariance: n > 1n ? ratioToNumber(n * t.order_value_sumsq_cents2 - sum * sum, n * (n - 1n) * 10_000n) : null,
    meanDaysBetweenOrders: t.interval_count > 0n ? ratioToNumber(t.interval_sum_s, t.interval_count * BigInt(DAY_SECONDS)) : null,
  };
}

/**
 * Coordinator side. Every group must appear in the release (suppressed or
 * with all seven totals); anything else is a malformed release and throws
 * TypeError naming the missing path. Grouped by lifecycle stage the result is
 * the stage table (`{ rows: [{ stage, ... }] }`, unchanged); otherwise
 * `{ groupBy, rows: [{ group, ... }] }` in the declared group order.
 */
export function finaliseSegmentStats(spec: SegmentStatsSpec, release: ReleasedTotals): SegmentStatsResult {
  if (typeof release !== 'object' || release === null || typeof release.cells !== 'object' || release.cells === null) {
    throw new TypeError('release: expected { cells }');
  }
  const valuesOf = (group: string): SegmentStatValues => {
    const cell = release.cells[group];
    if (cell === undefined) throw new TypeError(`release.cells.${group}: missing`);
    if (cell.suppressed) return nullValues();
    const t = emptyTotals();
    for (const stat of SEGMENT_STAT_NAMES) {
      const name = segmentFieldName(group, stat);
      const v = cell.totals?.[name];
      if (typeof v !== 'bigint') throw new TypeError(`release.cells.${group}.totals.${name}: missing or not a bigint`);
      if (v < 0n) throw new RangeError(`release.cells.${group}.totals.${name}: negative total ${v}`);
      t[stat] = v;
    }
    return valuesFromTotals(t);
  };
  if (spec.groupBy === 'lifecycle_stage') {
    return { rows: segmentGroups(spec).map((stage): SegmentStatsRow => ({ stage: stage as LifecycleStage, ...valuesOf(stage) })) };
  }
  const rows = segmentGroups(spec).map((group): SegmentGroupRow => ({ group: group as AgeBand | CityLevel, ...valuesOf(group) }));
  return { groupBy: spec.groupBy, rows };
}

/**
 * Relations every honest shop's group totals satisfy, checked by the key
 * holder on the pooled sums (input-relations.ts): repeat customers are
 * customers with two or more orders, each with one interval fewer than its
 * orders; no order exceeds maxOrderCents and no gap horizonSeconds; and
 * (Σv)² ≤ orders · Σv² (Cauchy–Schwarz), so the released variance is never
 * negative.
 */
export function segmentStatsInputViolation(spec: SegmentStatsSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  const { maxOrderCents, horizonSeconds } = spec.bounds;
  for (const group of segmentGroups(spec)) {
    const t = (stat: SegmentStatName): bigint => totalOf(totals, segmentFieldName(group, stat));
    const name = (stat: SegmentStatName): string => segmentFieldName(group, stat);
    const broken = firstBroken([
      atMost(name('repeat_customers'), t('repeat_customers'), name('customers'), t('customers')),
      atMost(`2 x ${name('repeat_customers')}`, 2n * t('repeat_customers'), name('orders'), t('orders')),
      atLeast(name('interval_count'), t('interval_count'), name('repeat_customers'), t('repeat_customers')),
      atMost(name('interval_count'), t('interval_count'), `${name('orders')} - ${name('repeat_customers')}`, t('orders') - t('repeat_customers')),
      atMost(name('order_value_sum_cents'), t('order_value_sum_cents'), `${name('orders')} x maxOrderCents`, t('orders') * maxOrderCents),
      atMost(name('order_value_sumsq_cents2'), t('order_value_sumsq_cents2'), `maxOrderCents x ${name('order_value_sum_cents')}`, maxOrderCents * t('order_value_sum_cents')),
      squareAtMost(name('order_value_sum_cents'), t('order_value_sum_cents'), `${name('orders')} x ${name('order_value_sumsq_cents2')}`, t('orders'), t('order_value_sumsq_cents2')),
      atMost(name('interval_sum_s'), t('interval_sum_s'), `${name('interval_count')} x horizonSeconds`, t('interval_count') * horizonSeconds),
    ]);
    if (broken !== undefined) return broken;
  }
  return undefined;
}

const SEGMENT_STATS_GUIDE: KindGuideBody = {
  summary: 'Customers, repurchase, order value and purchase interval per stage, age band or city level.',
  description:
    'For each group of consented customers (lifecycle stage by default, or age band, or city level): customers, repeat customers, ' +
    'orders, the sum and sum of squares of order value and the gaps between consecutive orders, so the coordinator can release ' +
    'repurchase rate, mean and variance of order value and mean days between orders. Each group is one released cell: a group with ' +
    'fewer customers than the threshold k is withheld as a whole.',
  members: [
    purposeMember('marketing-analytics'),
    { name: 'groupBy', type: 'string', required: false, default: 'lifecycle_stage', description: 'Customer attribute the rows are grouped by.', values: SEGMENT_GROUPINGS },
    { name: 'excludeReturned', type: 'boolean', required: false, default: 'false', description: 'Leave returned orders out of every order statistic.', sample: true },
    boundMember('maxCustomers', DEFAULT_SEGMENT_STATS_BOUNDS.maxCustomers, 'consented customers in one group'),
    boundMember('maxOrders', DEFAULT_SEGMENT_STATS_BOUNDS.maxOrders, 'orders in one group'),
    boundMember('maxOrderCents', DEFAULT_SEGMENT_STATS_BOUNDS.maxOrderCents, 'value of one order, cents'),
    boundMember('horizonSeconds', DEFAULT_SEGMENT_STATS_BOUNDS.horizonSeconds, 'longest gap between two orders of a customer, seconds'),
    { ...boundMember('maxOrdersPerCustomer', 500, 'orders of one customer (calibrates differentially private noise)'), default: 'none (one customer may hold all maxOrders)' },
  ],
  sections: [],
  example: { purpose: 'marketing-analytics', groupBy: 'age_band', excludeReturned: true },
};

/** The `segment-stats` query definition registered under its kind. */
export const segmentStatsQuery: QueryDefinition<SegmentStatsSpec, SegmentStatsResult, typeof SEGMENT_STATS_KIND> = {
  kind: SEGMENT_STATS_KIND,
  guide: SEGMENT_STATS_GUIDE,
  parseSpec: parseSegmentStatsSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => [
    GROUPING_INPUT_FIELD[spec.groupBy],
    'order.amount',
    'order.ordered_at',
    ...(spec.excludeReturned ? ['order.returned'] : []),
  ],
  fields: segmentStatsFields,
  cells: segmentStatsCells,
  computeLocal: computeSegmentStatsLocal,
  finalise: finaliseSegmentStats,
  subjectSensitivity: segmentStatsSubjectSensitivity,
  margins: segmentStatsMargins,
  inputViolation: segmentStatsInputViolation,
};
