/**
 * `rfm`: the RFM table (最近一次消费 / 消费频率 / 消费金额) and the core vs
 * ordinary customer tiers, over customers who consented to analytics.
 *
 * Per customer, over the orders in the window (asOf − windowDays, asOf]:
 * recency = asOf − last order (seconds, compared with day edges exactly),
 * frequency = number of orders, monetary = their total in cents. Each is
 * bucketed at declared edges and scored 1..n, higher is better (more recent,
 * more orders, more spend). Customers without an order in the window are not
 * in the table.
 *
 * Cells: one per (R, F, M) score triple, named `r{R}f{F}m{M}`, with the
 * customers, orders and spend of its customers; and two tier cells, `core`
 * (R ≥ minRecencyScore, F ≥ minFrequencyScore and M ≥ minMonetaryScore)
 * and `ordinary` (everyone else). Every cell's subjects are its customers:
 * one customer is in exactly one RFM cell and one tier, so the customer count
 * is the number of people behind every total of the cell.
 *
 * A tier is the sum of its RFM cells; that relation, the grand total and
 * the score marginals are declared for secondary suppression
 * (`rfm-disclosure.ts`), so the key holder never leaves one cell of them
 * withheld alone.
 *
 * @module
 */
import { z } from 'zod';
import { bucketIndex, edgesSchema } from './buckets.js';
import { DAY_SECONDS } from './calendar.js';
import { isoInstantSchema, isoInstantSeconds } from './calendar.js';
import { consentedHistories, releasedCell } from './customer-history.js';
import { QuerySpecError } from './errors.js';
import { atLeast, atMost, equals, firstBroken, totalOf, type RelationCheck } from './input-relations.js';
import { rfmMargins } from './rfm-disclosure.js';
import { isCore, RFM_KIND, rfmCellName, rfmScoreCounts, rfmTriples, type RfmBounds, type RfmCoreRule, type RfmSpec } from './rfm-spec.js';
import type { CellSpec, FieldSpec, QueryDefinition, ReleasedTotals } from './query-definition.js';
import { assertWithinBounds } from './query-definition.js';
import { ratioToNumber } from './rational.js';
import type { ShopData } from './shop-data.js';
import { boundSchema, parseWith } from './spec-parse.js';
import { AS_OF, asJson, asOfMember, boundMember, purposeMember, type KindGuideBody } from './kind-guide-types.js';

/** Statistics of every RFM and tier cell, in layout order. */
export const RFM_STAT_NAMES = ['customers', 'orders', 'spend_cents'] as const;
export type RfmStatName = (typeof RFM_STAT_NAMES)[number];

/** The two tiers, cell names and result order. */
export const RFM_TIERS = ['core', 'ordinary'] as const;
export type RfmTier = (typeof RFM_TIERS)[number];

export const DEFAULT_RFM_BOUNDS: RfmBounds = { maxCustomers: 1_000_000n, maxOrders: 10_000_000n, maxOrderCents: 100_000_000n };
/** One year; R buckets: under 30 days, 30–90, 90–180, 180 and more. */
export const DEFAULT_RFM_WINDOW_DAYS = 365;
export const DEFAULT_RECENCY_EDGES_DAYS: readonly number[] = [30, 90, 180];
/** F buckets: 1 order, 2–3, 4–7, 8 and more. */
export const DEFAULT_FREQUENCY_EDGES: readonly number[] = [2, 4, 8];
/** M buckets: under ¥200, ¥200–500, ¥500–1,500, ¥1,500 and more. */
export const DEFAULT_MONETARY_EDGES_CENTS: readonly number[] = [20_000, 50_000, 150_000];

const MAX_EDGES = 9;

const specSchema = z.strictObject({
  kind: z.literal(RFM_KIND),
  purpose: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a purpose code like marketing-analytics'),
  asOf: isoInstantSchema,
  windowDays: z.number().int().min(1).max(3650).optional(),
  recencyEdgesDays: edgesSchema({ min: 1, max: 3649, minCount: 1, maxCount: MAX_EDGES }).optional(),
  frequencyEdges: edgesSchema({ min: 2, max: 1_000_000_000, minCount: 1, maxCount: MAX_EDGES }).optional(),
  monetaryEdgesCents: edgesSchema({ min: 1, max: Number.MAX_SAFE_INTEGER, minCount: 1, maxCount: MAX_EDGES }).optional(),
  core: z
    .strictObject({
      minRecencyScore: z.number().int().min(1).optional(),
      minFrequencyScore: z.number().int().min(1).optional(),
      minMonetaryScore: z.number().int().min(1).optional(),
    })
    .optional(),
  excludeReturned: z.boolean().optional(),
  bounds: z
    .strictObject({ maxCustomers: boundSchema.optional(), maxOrders: boundSchema.optional(), maxOrderCents: boundSchema.optional() })
    .optional(),
});

/**
 * Validates untrusted spec JSON and fills in defaults; throws QuerySpecError
 * naming the path (a recency edge not below the window, a core score above
 * its bucket count, ...).
 */
export function parseRfmSpec(json: unknown): RfmSpec {
  const raw = parseWith(specSchema, json);
  const windowDays = raw.windowDays ?? DEFAULT_RFM_WINDOW_DAYS;
  const recencyEdgesDays = raw.recencyEdgesDays ?? DEFAULT_RECENCY_EDGES_DAYS;
  const frequencyEdges = raw.frequencyEdges ?? DEFAULT_FREQUENCY_EDGES;
  const monetaryEdgesCents = raw.monetaryEdgesCents ?? DEFAULT_MONETARY_EDGES_CENTS;
  recencyEdgesDays.forEach((e, i) => {
    if (e >= windowDays) throw new QuerySpecError(`recencyEdgesDays.${i}`, `edge ${e} days is not below windowDays ${windowDays}; its bucket would be empty`);
  });
  const core: RfmCoreRule = {
    minRecencyScore: raw.core?.minRecencyScore ?? recencyEdgesDays.length + 1,
    minFrequencyScore: raw.core?.minFrequencyScore ?? frequencyEdges.length + 1,
    minMonetaryScore: raw.core?.minMonetaryScore ?? 1,
  };
  const scores: [keyof RfmCoreRule, number][] = [
    ['minRecencyScore', recencyEdgesDays.length + 1],
    ['minFrequencyScore', frequencyEdges.length + 1],
    ['minMonetaryScore', monetaryEdgesCents.length + 1],
  ];
  for (const [name, n] of scores) {
    if (core[name] > n) throw new QuerySpecError(`core.${name}`, `score ${core[name]} exceeds the ${n} buckets declared`);
  }
  const d = DEFAULT_RFM_BOUNDS;
  return {
    kind: RFM_KIND,
    purpose: raw.purpose,
    asOf: raw.asOf,
    windowDays,
    recencyEdgesDays: [...recencyEdgesDays],
    frequencyEdges: [...frequencyEdges],
    monetaryEdgesCents: [...monetaryEdgesCents],
    core,
    excludeReturned: raw.excludeReturned ?? false,
    bounds: {
      maxCustomers: raw.bounds?.maxCustomers ?? d.maxCustomers,
      maxOrders: raw.bounds?.maxOrders ?? d.maxOrders,
      maxOrderCents: raw.bounds?.maxOrderCents ?? d.maxOrderCents,
    },
  };
}

function cellNames(spec: RfmSpec): string[] {
  return [...rfmTriples(spec).map(([r, f, m]) => rfmCellName(r, f, m)), ...RFM_TIERS];
}

function statBound(b: RfmBounds, stat: RfmStatName): bigint {
  return stat === 'customers' ? b.maxCustomers : stat === 'orders' ? b.maxOrders : b.maxOrders * b.maxOrderCents;
}

/** Three fields per cell (`r4f1m2.customers`, ...), RFM cells first, then `core`, `ordinary`. */
export function rfmFields(spec: RfmSpec): readonly FieldSpec[] {
  return cellNames(spec).flatMap((cell) => RFM_STAT_NAMES.map((stat) => ({ name: `${cell}.${stat}`, max: statBound(spec.bounds, stat) })));
}

/** One cell per score triple and per tier; subjects are the cell's customers. */
export function rfmCells(spec: RfmSpec): readonly CellSpec[] {
  return cellNames(spec).map((cell) => ({ name: cell, subjectsField: `${cell}.customers`, fields: RFM_STAT_NAMES.map((s) => `${cell}.${s}`) }));
}

/**
 * Shop side. Throws RangeError naming `bounds.maxOrderCents` for an order
 * above it, naming the field when a total exceeds its bound, and TypeError
 * naming `data` on malformed input.
 */
export function computeRfmLocal(spec: RfmSpec, data: ShopData): bigint[] {
  const asOf = isoInstantSeconds(spec.asOf) as number;
  const from = asOf - spec.windowDays * DAY_SECONDS;
  const rEdges = spec.recencyEdgesDays.map((d) => BigInt(d * DAY_SECONDS));
  const fEdges = spec.frequencyEdges.map(BigInt);
  const mEdges = spec.monetaryEdgesCents.map(BigInt);
  const n = rfmScoreCounts(spec);
  const totals = new Map(cellNames(spec).map((c) => [c, { customers: 0n, orders: 0n, spend_cents: 0n }]));
  for (const { orders } of consentedHistories(data, spec)) {
    let count = 0n;
    let spend = 0n;
    let last = -Infinity;
    for (const o of orders) {
      if (o.orderedUnixS <= from || o.orderedUnixS > asOf) continue;
      if (o.amountCents > spec.bounds.maxOrderCents) {
        throw new RangeError(`bounds.maxOrderCents: order ${o.orderId} amount ${o.amountCents} exceeds ${spec.bounds.maxOrderCents}`);
      }
      count += 1n;
      spend += o.amountCents;
      last = o.orderedUnixS; // orders are in time order
    }
    if (count === 0n) continue;
    const r = n.r - bucketIndex(rEdges, BigInt(asOf - last));
    const f = bucketIndex(fEdges, count) + 1;
    const m = bucketIndex(mEdges, spend) + 1;
    for (const cell of [rfmCellName(r, f, m), isCore(spec, r, f, m) ? 'core' : 'ordinary']) {
      const t = totals.get(cell)!;
      t.customers += 1n;
      t.orders += count;
      t.spend_cents += spend;
    }
  }
  const values = [...totals.values()].flatMap((t) => RFM_STAT_NAMES.map((s) => t[s]));
  assertWithinBounds(rfmFields(spec), values);
  return values;
}

/** Counts and spend of one cell; all null when suppressed. */
export interface RfmTotals {
  readonly suppressed: boolean;
  readonly customers: number | null;
  readonly orders: number | null;
  /** Total spend, yuan. */
  readonly spend: number | null;
  /** Spend per customer, yuan. */
  readonly meanSpend: number | null;
}

export interface RfmCellResult extends RfmTotals {
  readonly recencyScore: number;
  readonly frequencyScore: number;
  readonly monetaryScore: number;
}

export interface RfmTierResult extends RfmTotals {
  readonly tier: RfmTier;
}

/** A bucket of one dimension: `[from, to)` in its unit; `to` null for an open top bucket. */
export interface RfmBucket {
  readonly score: number;
  readonly from: number;
  readonly to: number | null;
}

export interface RfmTable {
  readonly asOf: string;
  readonly windowDays: number;
  /** Days since the last order; score n is the most recent bucket. */
  readonly recency: readonly RfmBucket[];
  /** Orders in the window. */
  readonly frequency: readonly RfmBucket[];
  /** Spend in the window, yuan. */
  readonly monetary: readonly RfmBucket[];
  readonly core: RfmCoreRule;
  readonly cells: readonly RfmCellResult[];
  readonly tiers: readonly RfmTierResult[];
}

function buckets(edges: readonly number[], lowest: number, highest: number | null, scale: number, descending: boolean): RfmBucket[] {
  const bounds = [lowest, ...edges];
  return bounds.map((from, i) => {
    const to = i + 1 < bounds.length ? (bounds[i + 1] as number) : highest;
    return { score: descending ? bounds.length - i : i + 1, from: from / scale, to: to === null ? null : to / scale };
  });
}

function totalsOf(t: Record<string, bigint> | null, cell: string): RfmTotals {
  if (t === null) return { suppressed: true, customers: null, orders: null, spend: null, meanSpend: null };
  const customers = t[`${cell}.customers`] as bigint;
  const spend = t[`${cell}.spend_cents`] as bigint;
  return {
    suppressed: false,
    customers: Number(customers),
    orders: Number(t[`${cell}.orders`]),
    spend: ratioToNumber(spend, 100n),
    meanSpend: customers > 0n ? ratioToNumber(spend, customers * 100n) : null,
  };
}

/** Coordinator side: released totals to the table; suppressed cells are all null. */
export function finaliseRfm(spec: RfmSpec, release: ReleasedTotals): RfmTable {
  const read = (cell: string): RfmTotals => totalsOf(releasedCell(release, cell, RFM_STAT_NAMES.map((s) => `${cell}.${s}`)), cell);
  return {
    asOf: spec.asOf,
    windowDays: spec.windowDays,
    recency: buckets(spec.recencyEdgesDays, 0, spec.windowDays, 1, true),
    frequency: buckets(spec.frequencyEdges, 1, null, 1, false),
    monetary: buckets(spec.monetaryEdgesCents, 0, null, 100, false),
    core: spec.core,
    cells: rfmTriples(spec).map(([r, f, m]) => ({ recencyScore: r, frequencyScore: f, monetaryScore: m, ...read(rfmCellName(r, f, m)) })),
    tiers: RFM_TIERS.map((tier) => ({ tier, ...read(tier) })),
  };
}

/**
 * Relations every honest shop's RFM cells satisfy (input-relations.ts): a
 * customer in cell (r, f, m) has a number of orders within frequency bucket
 * f (at least 1) and a spend within monetary bucket m, and no order above
 * maxOrderCents; the core and ordinary tiers are exactly the sums of their
 * cells.
 */
export function rfmInputViolation(spec: RfmSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  const t = (cell: string, stat: RfmStatName): bigint => totalOf(totals, `${cell}.${stat}`);
  const f = spec.frequencyEdges.map(BigInt);
  const m = spec.monetaryEdgesCents.map(BigInt);
  const checks: RelationCheck[] = [];
  const tiers = { core: { customers: 0n, orders: 0n, spend_cents: 0n }, ordinary: { customers: 0n, orders: 0n, spend_cents: 0n } };
  for (const [r, fs, ms] of rfmTriples(spec)) {
    const cell = rfmCellName(r, fs, ms);
    const customers = t(cell, 'customers');
    const orders = t(cell, 'orders');
    const spend = t(cell, 'spend_cents');
    const fLow = fs >= 2 ? (f[fs - 2] as bigint) : 1n;
    const mLow = ms >= 2 ? (m[ms - 2] as bigint) : 0n;
    checks.push(
      atLeast(`${cell}.orders`, orders, `${cell}.customers x ${fLow}`, customers * fLow),
      atLeast(`${cell}.spend_cents`, spend, `${cell}.customers x ${mLow}`, customers * mLow),
      atMost(`${cell}.spend_cents`, spend, `${cell}.orders x maxOrderCents`, orders * spec.bounds.maxOrderCents),
    );
    if (fs <= f.length) checks.push(atMost(`${cell}.orders`, orders, `${cell}.customers x ${(f[fs - 1] as bigint) - 1n}`, customers * ((f[fs - 1] as bigint) - 1n)));
    if (ms <= m.length) checks.push(atMost(`${cell}.spend_cents`, spend, `${cell}.customers x ${(m[ms - 1] as bigint) - 1n}`, customers * ((m[ms - 1] as bigint) - 1n)));
    const tier = tiers[isCore(spec, r, fs, ms) ? 'core' : 'ordinary'];
    tier.customers += customers;
    tier.orders += orders;
    tier.spend_cents += spend;
  }
  for (const tier of RFM_TIERS) for (const stat of RFM_STAT_NAMES) checks.push(equals(`${tier}.${stat}`, t(tier, stat), `the sum of its cells' ${stat}`, tiers[tier][stat]));
  return firstBroken(checks);
}

const RFM_GUIDE: KindGuideBody = {
  summary: 'RFM table (recency, frequency, monetary) with core and ordinary customer tiers, as of asOf.',
  description:
    'Per consented customer, over the orders in (asOf - windowDays, asOf]: recency (days since the last order), frequency (orders) ' +
    'and monetary (spend in cents), each bucketed at declared edges and scored 1..n, higher is better. Cells: one per (R, F, M) score ' +
    'triple with its customers, orders and spend, and the two tiers: core (every score at least the declared minimum) and ordinary. ' +
    'Customers without an order in the window are not in the table.',
  members: [
    purposeMember('marketing-analytics'),
    asOfMember('table'),
    { name: 'windowDays', type: 'integer', required: false, default: String(DEFAULT_RFM_WINDOW_DAYS), description: 'Orders in the last windowDays days before asOf count (1 to 3650).' },
    { name: 'recencyEdgesDays', type: 'integer[]', required: false, default: asJson(DEFAULT_RECENCY_EDGES_DAYS), description: 'Recency bucket edges in days, strictly increasing, 1 to 9 of them, each below windowDays.' },
    { name: 'frequencyEdges', type: 'integer[]', required: false, default: asJson(DEFAULT_FREQUENCY_EDGES), description: 'Frequency bucket edges in orders, strictly increasing, from 2 (everyone in the table has an order), 1 to 9 of them.' },
    { name: 'monetaryEdgesCents', type: 'integer[]', required: false, default: asJson(DEFAULT_MONETARY_EDGES_CENTS), description: 'Spend bucket edges in cents, strictly increasing, 1 to 9 of them.' },
    { name: 'core.minRecencyScore', type: 'integer', required: false, default: 'the top R score', description: 'Core tier: least R score (1 = no condition).' },
    { name: 'core.minFrequencyScore', type: 'integer', required: false, default: 'the top F score', description: 'Core tier: least F score.' },
    { name: 'core.minMonetaryScore', type: 'integer', required: false, default: '1 (no condition)', description: 'Core tier: least M score.', sample: 2 },
    { name: 'excludeReturned', type: 'boolean', required: false, default: 'false', description: 'Returned orders count neither as orders nor as spend nor as the last order.', sample: true },
    boundMember('maxCustomers', DEFAULT_RFM_BOUNDS.maxCustomers, 'consented customers in one cell'),
    boundMember('maxOrders', DEFAULT_RFM_BOUNDS.maxOrders, 'orders in one cell'),
    boundMember('maxOrderCents', DEFAULT_RFM_BOUNDS.maxOrderCents, 'value of one order, cents'),
  ],
  sections: [],
  example: {
    purpose: 'marketing-analytics',
    asOf: AS_OF,
    windowDays: 365,
    recencyEdgesDays: [30, 90, 180],
    frequencyEdges: [2, 4, 8],
    monetaryEdgesCents: [20_000, 50_000, 150_000],
    core: { minRecencyScore: 3, minFrequencyScore: 3 },
  },
};

/** The `rfm` query definition registered under its kind. */
export const rfmQuery: QueryDefinition<RfmSpec, RfmTable, typeof RFM_KIND> = {
  kind: RFM_KIND,
  guide: RFM_GUIDE,
  parseSpec: parseRfmSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => ['order.amount', 'order.ordered_at', ...(spec.excludeReturned ? ['order.returned'] : [])],
  fields: rfmFields,
  cells: rfmCells,
  computeLocal: computeRfmLocal,
  finalise: finaliseRfm,
  margins: rfmMargins,
  inputViolation: rfmInputViolation,
};
