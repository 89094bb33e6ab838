/**
 * `histogram`: a fixed-bin histogram of order value (客单价分布) or of the
 * interval between a customer's consecutive orders (购买间隔分布), over
 * customers who consented to analytics, with approximate percentiles.
 *
 * Bins are declared by the spec: edges e0 < e1 < … < en in cents
 * (`edgesCents`, order value) or days (`edgesDays`, purchase interval); bin j
 * holds e_j ≤ v < e_{j+1}, the last bin also v = e_n. The edges are the
 * bounds: a value outside [e0, en] is refused with a RangeError naming the
 * edges, never clamped into an end bin.
 *
 * Cells: `bin.{j}` with the items (orders or intervals) in the bin and the
 * distinct customers who have at least one item there — the subject count,
 * since one customer's many orders in a bin are still one person; and `all`
 * with every item, the customers with any item and the exact value sum (an
 * exact mean). The bins add up to `all`, which percentiles need when a
 * tail bin is suppressed; that relation is declared for secondary
 * suppression (`histogram-disclosure.ts`), so the key holder never leaves
 * one bin withheld alone.
 *
 * Percentile p of N items: rank r = N·p/100; in the bin j with
 * C_j < r ≤ C_j + c_j (C_j the items below bin j) the estimate is
 * e_j + (r − C_j) / c_j · (e_{j+1} − e_j). The item of rank ⌈r⌉ lies in the
 * same bin, so the estimate is within the bin width of it (`errorBound`).
 * C_j is known when every bin below j, or every bin above j, was released.
 *
 * @module
 */
import { z } from 'zod';
import { binIndex, edgesSchema } from './buckets.js';
import { DAY_SECONDS } from './calendar.js';
import { consentedHistories, releasedCell } from './customer-history.js';
import { histogramMargins } from './histogram-disclosure.js';
import { HISTOGRAM_KIND, type HistogramBounds, type HistogramSpec, type HistogramSpecBase } from './histogram-spec.js';
import { atLeast, atMost, equals, firstBroken, totalOf, type RelationCheck } from './input-relations.js';
import type { CellSpec, FieldSpec, QueryDefinition, ReleasedTotals } from './query-definition.js';
import { assertWithinBounds } from './query-definition.js';
import { ratioToNumber } from './rational.js';
import type { ShopData } from './shop-data.js';
import { boundSchema, parseWith } from './spec-parse.js';
import { asJson, boundMember, purposeMember, type KindGuideBody } from './kind-guide-types.js';

export const HISTOGRAM_VARIABLES = ['order_value', 'purchase_interval'] as const;
export type HistogramVariable = (typeof HISTOGRAM_VARIABLES)[number];

export const DEFAULT_HISTOGRAM_BOUNDS: HistogramBounds = { maxCustomers: 1_000_000n, maxOrders: 10_000_000n };
/** ¥0, 20, 50, 100, 200, 500, 1,000, 2,000, 5,000, 1,000,000 (segment-stats' largest order). */
export const DEFAULT_ORDER_VALUE_EDGES_CENTS: readonly number[] = [0, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 100_000_000];
/** 0, 1, 3, 7, 14, 30, 60, 90, 180, 365 days and ten years (segment-stats' horizon). */
export const DEFAULT_INTERVAL_EDGES_DAYS: readonly number[] = [0, 1, 3, 7, 14, 30, 60, 90, 180, 365, 3650];
export const DEFAULT_PERCENTILES: readonly number[] = [50, 90];

const MAX_BINS = 64;

const common = {
  kind: z.literal(HISTOGRAM_KIND),
  purpose: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a purpose code like marketing-analytics'),
  percentiles: edgesSchema({ min: 1, max: 99, minCount: 1, maxCount: 9 }).optional(),
  excludeReturned: z.boolean().optional(),
  bounds: z.strictObject({ maxCustomers: boundSchema.optional(), maxOrders: boundSchema.optional() }).optional(),
};

const specSchema = z.discriminatedUnion('variable', [
  z.strictObject({
    ...common,
    variable: z.literal('order_value'),
    edgesCents: edgesSchema({ min: 0, max: Number.MAX_SAFE_INTEGER, minCount: 2, maxCount: MAX_BINS + 1 }).optional(),
  }),
  z.strictObject({
    ...common,
    variable: z.literal('purchase_interval'),
    edgesDays: edgesSchema({ min: 0, max: 36_500, minCount: 2, maxCount: MAX_BINS + 1 }).optional(),
  }),
]);

/** Validates untrusted spec JSON and fills in defaults; throws QuerySpecError naming the path. */
export function parseHistogramSpec(json: unknown): HistogramSpec {
  const raw = parseWith(specSchema, json);
  const base: HistogramSpecBase = {
    kind: HISTOGRAM_KIND,
    purpose: raw.purpose,
    percentiles: [...(raw.percentiles ?? DEFAULT_PERCENTILES)],
    excludeReturned: raw.excludeReturned ?? false,
    bounds: {
      maxCustomers: raw.bounds?.maxCustomers ?? DEFAULT_HISTOGRAM_BOUNDS.maxCustomers,
      maxOrders: raw.bounds?.maxOrders ?? DEFAULT_HISTOGRAM_BOUNDS.maxOrders,
    },
  };
  return raw.variable === 'order_value'
    ? { ...base, variable: 'order_value', edgesCents: [...(raw.edgesCents ?? DEFAULT_ORDER_VALUE_EDGES_CENTS)] }
    : { ...base, variable: 'purchase_interval', edgesDays: [...(raw.edgesDays ?? DEFAULT_INTERVAL_EDGES_DAYS)] };
}

/** The edges as declared (cents or days) and the spec member that declares them. */
function declaredEdges(spec: HistogramSpec): { readonly edges: readonly number[]; readonly member: 'edgesCents' | 'edgesDays' } {
  return spec.variable === 'order_value' ? { edges: spec.edgesCents, member: 'edgesCents' } : { edges: spec.edgesDays, member: 'edgesDays' };
}

/** Edges in the unit values are measured in: cents, or seconds for intervals. */
function valueEdges(spec: HistogramSpec): bigint[] {
  const { edges } = declaredEdges(spec);
  return edges.map((e) => BigInt(e) * (spec.variable === 'order_value' ? 1n : BigInt(DAY_SECONDS)));
}

/** Number of bins (edges − 1). */
export function histogramBinCount(spec: HistogramSpec): number {
  return declaredEdges(spec).edges.length - 1;
}

const BIN_STATS = ['items', 'customers'] as const;

/** Fields: `bin.{j}.items`, `bin.{j}.customers` per bin, then `all.items`, `all.customers`, `all.value_sum`. */
export function histogramFields(spec: HistogramSpec): readonly FieldSpec[] {
  const { maxCustomers, maxOrders } = spec.bounds;
  const top = valueEdges(spec).at(-1) as bigint;
  const bins = Array.from({ length: histogramBinCount(spec) }, (_, j) => [
    { name: `bin.${j}.items`, max: maxOrders },
    { name: `bin.${j}.customers`, max: maxCustomers },
  ]).flat();
  return [...bins, { name: 'all.items', max: maxOrders }, { name: 'all.customers', max: maxCustomers }, { name: 'all.value_sum', max: maxOrders * top }];
}

/** One cell per bin and `all`; subjects are the distinct customers with an item there. */
export function histogramCells(spec: HistogramSpec): readonly CellSpec[] {
  const bins = Array.from({ length: histogramBinCount(spec) }, (_, j): CellSpec => ({
    name: `bin.${j}`,
    subjectsField: `bin.${j}.customers`,
    fields: BIN_STATS.map((s) => `bin.${j}.${s}`),
  }));
  return [...bins, { name: 'all', subjectsField: 'all.customers', fields: ['all.items', 'all.customers', 'all.value_sum'] }];
}

/** The values one customer contributes: order amounts (cents) or gaps between consecutive orders (seconds). */
function customerValues(spec: HistogramSpec, orders: readonly { readonly orderedUnixS: number; readonly amountCents: bigint; readonly orderId: string }[]) {
  if (spec.variable === 'order_value') return orders.map((o) => ({ value: o.amountCents, what: `order ${o.orderId} amount` }));
  return orders.slice(1).map((o, i) => ({ value: BigInt(o.orderedUnixS - (orders[i] as (typeof orders)[number]).orderedUnixS), what: `interval before order ${o.orderId}` }));
}

/**
 * Shop side. Throws RangeError naming `edgesCents`/`edgesDays` for a value
 * outside the declared edges, naming the field when a total exceeds its
 * bound, and TypeError naming `data` on malformed input.
 */
export function computeHistogramLocal(spec: HistogramSpec, data: ShopData): bigint[] {
  const edges = valueEdges(spec);
  const { member, edges: declared } = declaredEdges(spec);
  const bins = histogramBinCount(spec);
  const items = new Array<bigint>(bins).fill(0n);
  const customers = new Array<bigint>(bins).fill(0n);
  let allItems = 0n;
  let allCustomers = 0n;
  let sum = 0n;
  for (const { orders } of consentedHistories(data, spec)) {
    const values = customerValues(spec, orders);
    const seen = new Set<number>();
    for (const { value, what } of values) {
      const j = binIndex(edges, value);
      if (j < 0) {
        throw new RangeError(`${member}: ${what} ${value} ${spec.variable === 'order_value' ? 'cents' : 's'} lies outside the declared edges [${declared[0]}, ${declared.at(-1)}]`);
      }
      items[j] = (items[j] as bigint) + 1n;
      seen.add(j);
      allItems += 1n;
      sum += value;
    }
    for (const j of seen) customers[j] = (customers[j] as bigint) + 1n;
    if (values.length > 0) allCustomers += 1n;
  }
  const values = [...items.flatMap((c, j) => [c, customers[j] as bigint]), allItems, allCustomers, sum];
  assertWithinBounds(histogramFields(spec), values);
  return values;
}

export interface HistogramBin {
  /** Lower and upper edge in the result unit (yuan or days). */
  readonly from: number;
  readonly to: number;
  readonly suppressed: boolean;
  /** Items (orders or intervals) in the bin. */
  readonly count: number | null;
  /** Distinct customers with an item in the bin. */
  readonly customers: number | null;
}

export interface HistogramPercentile {
  readonly percentile: number;
  /** Estimate in the result unit; null when the bins around it are suppressed or there are no items. */
  readonly value: number | null;
  /** Width of the bin the estimate lies in: the exact percentile (item of rank ⌈N·p/100⌉) is within this of `value`. */
  readonly errorBound: number | null;
  /** Index of that bin. */
  readonly bin: number | null;
}

export interface HistogramResult {
  readonly variable: HistogramVariable;
  readonly unit: 'yuan' | 'days';
  readonly bins: readonly HistogramBin[];
  readonly total: { readonly suppressed: boolean; readonly count: number | null; readonly customers: number | null; readonly mean: number | null };
  readonly percentiles: readonly HistogramPercentile[];
}

/** The bin j holding rank N·p/100, and the items below it, from released bins only (see module doc). */
function locate(counts: readonly (bigint | null)[], n: bigint, p: bigint): { j: number; below: bigint } | null {
  const target = n * p; // rank · 100
  let below = 0n;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j];
    if (c === null || c === undefined) break;
    if ((below + c) * 100n >= target) return c > 0n ? { j, below } : null;
    below += c;
  }
  let above = 0n;
  for (let j = counts.length - 1; j >= 0; j--) {
    const c = counts[j];
    if (c === null || c === undefined) return null;
    const under = n - above - c;
    if (under * 100n < target) return c > 0n && under >= 0n ? { j, below: under } : null;
    above += c;
  }
  return null;
}

/** Coordinator side: counts per bin (null when suppressed), the exact mean and the percentile estimates. */
export function finaliseHistogram(spec: HistogramSpec, release: ReleasedTotals): HistogramResult {
  const { edges } = declaredEdges(spec);
  const scale = spec.variable === 'order_value' ? 100n : 1n; // declared unit → result unit
  const cells = histogramCells(spec);
  const bins = cells.slice(0, -1).map((c) => releasedCell(release, c.name, c.fields));
  const all = releasedCell(release, 'all', ['all.items', 'all.customers', 'all.value_sum']);
  const counts = bins.map((b, j) => b?.[`bin.${j}.items`] ?? null);
  const n = all?.['all.items'];
  const valueScale = spec.variable === 'order_value' ? 100n : BigInt(DAY_SECONDS); // measured unit → result unit
  const percentiles = spec.percentiles.map((p): HistogramPercentile => {
    const at = n === undefined || n === 0n ? null : locate(counts, n, BigInt(p));
    if (at === null || n === undefined) return { percentile: p, value: null, errorBound: null, bin: null };
    const c = counts[at.j] as bigint;
    const lo = BigInt(edges[at.j] as number);
    const width = BigInt(edges[at.j + 1] as number) - lo;
    // e_j + (N·p − 100·C_j) · w / (100 · c_j), over `scale`.
    const value = ratioToNumber(lo * 100n * c + (n * BigInt(p) - 100n * at.below) * width, 100n * c * scale);
    return { percentile: p, value, errorBound: ratioToNumber(width, scale), bin: at.j };
  });
  return {
    variable: spec.variable,
    unit: spec.variable === 'order_value' ? 'yuan' : 'days',
    bins: bins.map((b, j) => ({
      from: ratioToNumber(BigInt(edges[j] as number), scale),
      to: ratioToNumber(BigInt(edges[j + 1] as number), scale),
      suppressed: b === null,
      count: b === null ? null : Number(b[`bin.${j}.items`]),
      customers: b === null ? null : Number(b[`bin.${j}.customers`]),
    })),
    total: {
      suppressed: all === null,
      count: n === undefined ? null : Number(n),
      customers: all === null ? null : Number(all['all.customers']),
      mean: n === undefined || n === 0n ? null : ratioToNumber(all?.['all.value_sum'] as bigint, n * valueScale),
    },
    percentiles,
  };
}

/** The `histogram` query definition registered under its kind. */
/**
 * Relations every honest shop's histogram satisfies, checked by the key
 * holder on the pooled sums (input-relations.ts): each item lies in exactly
 * one bin, between the bin's edges; a customer counted in a bin has an item
 * there, and a customer counted overall has an item in some bin.
 */
export function histogramInputViolation(spec: HistogramSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  const edges = valueEdges(spec);
  const all = { items: totalOf(totals, 'all.items'), customers: totalOf(totals, 'all.customers'), sum: totalOf(totals, 'all.value_sum') };
  const checks: RelationCheck[] = [atMost('all.customers', all.customers, 'all.items', all.items)];
  let items = 0n;
  let customers = 0n;
  let low = 0n;
  let high = 0n;
  for (let j = 0; j < edges.length - 1; j++) {
    const binItems = totalOf(totals, `bin.${j}.items`);
    const binCustomers = totalOf(totals, `bin.${j}.customers`);
    checks.push(atMost(`bin.${j}.customers`, binCustomers, `bin.${j}.items`, binItems), atMost(`bin.${j}.customers`, binCustomers, 'all.customers', all.customers));
    items += binItems;
    customers += binCustomers;
    low += binItems * (edges[j] as bigint);
    high += binItems * (edges[j + 1] as bigint);
  }
  checks.push(
    equals('the sum of the bins\' items', items, 'all.items', all.items),
    atMost('all.customers', all.customers, 'the sum of the bins\' customers', customers),
    atLeast('all.value_sum', all.sum, 'the bins\' items times their lower edges', low),
    atMost('all.value_sum', all.sum, 'the bins\' items times their upper edges', high),
  );
  return firstBroken(checks);
}

const HISTOGRAM_GUIDE: KindGuideBody = {
  summary: 'Order value or purchase interval in declared bins, with percentiles.',
  description:
    'A fixed-bin histogram of order value (cents) or of the days between consecutive orders of a customer, over consented customers: ' +
    'per bin the items and the distinct customers with an item there (the subjects), and overall the items, customers and exact sum. ' +
    'Percentiles are interpolated within their bin, so the exact value lies within that bin\'s width. The edges are the bounds: a value ' +
    'outside them is refused, never clamped.',
  members: [
    purposeMember('marketing-analytics'),
    { name: 'variable', type: 'string', required: true, description: 'What is binned.', values: HISTOGRAM_VARIABLES },
    {
      name: 'edgesCents',
      type: 'integer[]',
      required: false,
      default: asJson(DEFAULT_ORDER_VALUE_EDGES_CENTS),
      description: 'With variable order_value: bin edges in cents, strictly increasing, 2 to 65 of them; bin j holds e_j <= v < e_j+1.',
    },
    {
      name: 'edgesDays',
      type: 'integer[]',
      required: false,
      default: asJson(DEFAULT_INTERVAL_EDGES_DAYS),
      description: 'With variable purchase_interval: bin edges in days (0 to 36500), strictly increasing, 2 to 65 of them.',
      sample: [0, 7, 30, 90, 365, 3650],
      sampleWith: { variable: 'purchase_interval', edgesCents: undefined },
    },
    { name: 'percentiles', type: 'integer[]', required: false, default: asJson(DEFAULT_PERCENTILES), description: 'Percentiles to estimate, strictly increasing, 1 to 99, at most 9.' },
    { name: 'excludeReturned', type: 'boolean', required: false, default: 'false', description: 'Leave returned orders out (of values, and of the order sequence intervals are taken from).', sample: true },
    boundMember('maxCustomers', DEFAULT_HISTOGRAM_BOUNDS.maxCustomers, 'consented customers'),
    boundMember('maxOrders', DEFAULT_HISTOGRAM_BOUNDS.maxOrders, 'orders (and so intervals)'),
  ],
  sections: [],
  example: { purpose: 'marketing-analytics', variable: 'order_value', edgesCents: [0, 5_000, 10_000, 20_000, 50_000, 100_000, 100_000_000], percentiles: [50, 90] },
};

export const histogramQuery: QueryDefinition<HistogramSpec, HistogramResult, typeof HISTOGRAM_KIND> = {
  kind: HISTOGRAM_KIND,
  guide: HISTOGRAM_GUIDE,
  parseSpec: parseHistogramSpec,
  purposeOf: (spec) => spec.purpose,
  // Order value needs no order times (the time order of a customer's orders does not change their values).
  inputFields: (spec) => [spec.variable === 'order_value' ? 'order.amount' : 'order.ordered_at', ...(spec.excludeReturned ? ['order.returned'] : [])],
  fields: histogramFields,
  cells: histogramCells,
  computeLocal: computeHistogramLocal,
  finalise: finaliseHistogram,
  margins: histogramMargins,
  inputViolation: histogramInputViolation,
};
