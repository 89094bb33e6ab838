/**
 * Random customer datasets for property tests, split over shops: every
 * customer carries the number of the shop that holds it, and `splitShops`
 * gives the per-shop ShopData while `pooledShop` gives all rows as one shop.
 * Ids are globally unique, so pooled plain-code references need no shop key.
 */
import fc from 'fast-check';
import type { CampaignExposure, Customer, Order, Session, ShopData, ShopMetricsPeriod } from '../../analytics/index.js';

export const T0 = Date.UTC(2024, 0, 1) / 1000;
export const DAY = 86_400;
export const AS_OF = '2026-01-01T00:00:00Z';
export const AS_OF_S = Date.parse(AS_OF) / 1000;
export const CHANNELS = ['app', 'web', 'mini-program', 'store', 'kiosk'] as const;
export const CAMPAIGN_IDS = ['C1', 'C2', 'C3'] as const;
export const AGE_BANDS = ['<18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'] as const;
const STAGES = ['new', 'active', 'loyal', 'churning'] as const;

export interface RandomCustomer {
  readonly shop: number;
  readonly customer: Customer;
  readonly orders: readonly Order[];
  readonly sessions: readonly Session[];
  readonly campaigns: readonly CampaignExposure[];
}

export interface RandomDataset {
  readonly shops: number;
  readonly customers: readonly RandomCustomer[];
  /** Per shop, monthly service figures. */
  readonly metrics: readonly (readonly ShopMetricsPeriod[])[];
}

const sessionArb = fc.record({ channel: fc.constantFrom(...CHANNELS), viewed: fc.boolean(), carted: fc.boolean(), ordered: fc.boolean() });
const campaignArb = fc.record({
  campaignId: fc.constantFrom(...CAMPAIGN_IDS),
  variant: fc.constantFrom('A' as const, 'B' as const, 'control' as const),
  exposed: fc.boolean(),
  opened: fc.boolean(),
  clicked: fc.boolean(),
  converted: fc.boolean(),
});
const orderArb = fc.record({ day: fc.integer({ min: 0, max: 800 }), second: fc.integer({ min: 0, max: DAY - 1 }), cents: fc.integer({ min: 1, max: 5_000_000 }), returned: fc.boolean() });
const customerArb = (shops: number) =>
  fc.record({
    shop: fc.integer({ min: 0, max: shops - 1 }),
    stage: fc.constantFrom(...STAGES),
    ageBand: fc.constantFrom(...AGE_BANDS),
    signupDay: fc.integer({ min: 0, max: 760 }),
    orders: fc.array(orderArb, { maxLength: 8 }),
    sessions: fc.array(sessionArb, { maxLength: 8 }),
    campaigns: fc.uniqueArray(campaignArb, { maxLength: 3, selector: (c) => c.campaignId }),
  });
const metricsArb = fc.array(
  fc
    .record({ orders: fc.integer({ min: 0, max: 5000 }), ratings: fc.integer({ min: 0, max: 3000 }), positiveShare: fc.double({ min: 0.8, max: 1, noNaN: true }), returns: fc.integer({ min: 0, max: 400 }), complaints: fc.integer({ min: 0, max: 60 }), inquiries: fc.integer({ min: 0, max: 900 }), meanResponseS: fc.integer({ min: 10, max: 4000 }) })
    .map((m) => ({ ...m, positiveRatings: Math.floor(m.ratings * m.positiveShare) })),
  { maxLength: 12 },
);

/** A dataset over `shops` shops with `min`–`max` customers. */
export function datasetArb(shops: number, min: number, max: number): fc.Arbitrary<RandomDataset> {
  return fc.record({ customers: fc.array(customerArb(shops), { minLength: min, maxLength: max }), metrics: fc.array(metricsArb, { minLength: shops, maxLength: shops }) }).map(({ customers, metrics }) => ({
    shops,
    customers: customers.map((c, i): RandomCustomer => {
      const customerId = `C-${i}`;
      return {
        shop: c.shop,
        customer: { customerId, lifecycleStage: c.stage, consentAnalytics: true, consentMarketing: true, city: 'tier-1', ageBand: c.ageBand, signupUnixS: T0 + c.signupDay * DAY },
        orders: c.orders.map((o, j) => ({ orderId: `O-${i}-${j}`, customerId, orderedUnixS: T0 + o.day * DAY + o.second, amountCents: BigInt(o.cents), returned: o.returned })),
        sessions: c.sessions.map((s) => ({ customerId, ...s })),
        campaigns: c.campaigns.map((e) => ({ customerId, ...e })),
      };
    }),
    metrics: metrics.map((rows) =>
      rows.map((m, k): ShopMetricsPeriod => ({
        period: `2025-${String(k + 1).padStart(2, '0')}`,
        orders: m.orders,
        ratings: m.ratings,
        positiveRatings: m.positiveRatings,
        returns: m.returns,
        complaints: m.complaints,
        inquiries: m.inquiries,
        responseTimeSumS: m.inquiries * m.meanResponseS,
      })),
    ),
  }));
}

function shopOf(shopId: string, rows: readonly RandomCustomer[], metrics: readonly ShopMetricsPeriod[]): ShopData {
  return {
    shopId,
    customers: rows.map((r) => r.customer),
    orders: rows.flatMap((r) => r.orders),
    sessions: rows.flatMap((r) => r.sessions),
    campaigns: rows.flatMap((r) => r.campaigns),
    shopMetrics: metrics,
  };
}

/** The dataset as its shops hold it. */
export function splitShops(d: RandomDataset): ShopData[] {
  return Array.from({ length: d.shops }, (_, s) => shopOf(`shop-${s}`, d.customers.filter((c) => c.shop === s), d.metrics[s] ?? []));
}

/** All customer rows as one shop (no shop metrics: those are per shop by nature). */
export function pooledShop(d: RandomDataset): ShopData {
  return shopOf('pooled', d.customers, []);
}

/** Element-wise sum of the shops' local vectors: what the encrypted aggregate decrypts to. */
export function sumVectors(vectors: readonly (readonly bigint[])[], length: number): bigint[] {
  const out = new Array<bigint>(length).fill(0n);
  for (const v of vectors) v.forEach((x, i) => (out[i] = (out[i] as bigint) + x));
  return out;
}

/**
 * What the key holder would release for summed values: one entry per cell,
 * suppressed when its subjects field is below `k`.
 */
export function releaseOf(
  definition: { fields(spec: never): readonly { name: string }[]; cells(spec: never): readonly { name: string; subjectsField: string; fields: readonly string[] }[] },
  spec: unknown,
  sum: readonly bigint[],
  k = 0,
): { cells: Record<string, { suppressed: boolean; totals?: Record<string, bigint> }> } {
  const fields = definition.fields(spec as never);
  const byName = new Map(fields.map((f, i) => [f.name, sum[i] as bigint]));
  return {
    cells: Object.fromEntries(
      definition.cells(spec as never).map((c) => {
        if ((byName.get(c.subjectsField) ?? 0n) < BigInt(k)) return [c.name, { suppressed: true }];
        return [c.name, { suppressed: false, totals: Object.fromEntries(c.fields.map((f) => [f, byName.get(f) as bigint])) }];
      }),
    ),
  };
}

/** Sums every shop's local vector and releases it (no suppression unless `k`). */
export function federate<S, R>(
  definition: { computeLocal(spec: S, data: ShopData): bigint[]; fields(spec: S): readonly { name: string; max: bigint }[]; cells(spec: S): readonly { name: string; subjectsField: string; fields: readonly string[] }[]; finalise(spec: S, release: never): R },
  spec: S,
  shops: readonly ShopData[],
  k = 0,
): R {
  const n = definition.fields(spec).length;
  const sum = sumVectors(shops.map((s) => definition.computeLocal(spec, s)), n);
  return definition.finalise(spec, releaseOf(definition, spec, sum, k) as never);
}
