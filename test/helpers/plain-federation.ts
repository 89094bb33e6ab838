/**
 * A round without encryption, for unit and property tests: shops' local
 * vectors are summed with plain BigInt (what BFV addition computes within the
 * declared bounds) and released cell by cell with the key holder's k rule.
 * Random shop data for property tests lives here too.
 */
import fc from 'fast-check';
import type { Customer, LifecycleStage, Order, ShopData } from '../../analytics/index.js';
import type { QueryDefinition, ReleasedTotals } from '../../analytics/query-definition.js';

/** Field-wise sum of every shop's computeLocal. */
export function sumLocal<S, R>(def: QueryDefinition<S, R>, spec: S, shops: readonly ShopData[]): bigint[] {
  const sum = def.fields(spec).map(() => 0n);
  for (const shop of shops) def.computeLocal(spec, shop).forEach((v, i) => (sum[i] = (sum[i] as bigint) + v));
  return sum;
}

/** Releases summed totals as the key holder does: a cell with fewer than `k` subjects is suppressed. */
export function releaseTotals<S, R>(def: QueryDefinition<S, R>, spec: S, totals: readonly bigint[], k = 0): ReleasedTotals {
  const byName = new Map(def.fields(spec).map((f, i) => [f.name, totals[i] as bigint]));
  return {
    cells: Object.fromEntries(
      def.cells(spec).map((c) => {
        const subjects = byName.get(c.subjectsField) as bigint;
        if (subjects < BigInt(k)) return [c.name, { suppressed: true }];
        return [c.name, { suppressed: false, totals: Object.fromEntries(c.fields.map((f) => [f, byName.get(f) as bigint])) }];
      }),
    ),
  };
}

/** Sum over shops, release with `k`, finalise. */
export function federate<S, R>(def: QueryDefinition<S, R>, spec: S, shops: readonly ShopData[], k = 0): R {
  return def.finalise(spec, releaseTotals(def, spec, sumLocal(def, spec, shops), k));
}

/** Field name → value of one vector. */
export function named<S, R>(def: QueryDefinition<S, R>, spec: S, values: readonly bigint[]): Record<string, bigint> {
  return Object.fromEntries(def.fields(spec).map((f, i) => [f.name, values[i] as bigint]));
}

/** A customer of a random dataset, with the shop it belongs to. */
export interface RandomCustomer extends Customer {
  readonly shop: number;
}

/** A random dataset: customers spread over `shops` shops and their orders. */
export interface RandomDataset {
  readonly customers: readonly RandomCustomer[];
  readonly orders: readonly Order[];
}

const STAGES: readonly LifecycleStage[] = ['new', 'active', 'loyal', 'churning'];
const BANDS = ['<18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'] as const;
const LEVELS = ['tier-1', 'new-tier-1', 'tier-2', 'other'] as const;

/**
 * Random customers (ids unique over the whole dataset) with orders between
 * `fromS` and `toS`, amounts up to `maxCents`; times are drawn on a coarse
 * grid sometimes so that ties and bucket edges are hit.
 */
export function randomDataset(options: { shops: number; fromS: number; toS: number; maxCents: number; maxCustomers?: number; maxOrders?: number }): fc.Arbitrary<RandomDataset> {
  const { shops, fromS, toS, maxCents } = options;
  const time = fc.oneof(fc.integer({ min: fromS, max: toS }), fc.integer({ min: 0, max: Math.floor((toS - fromS) / 86_400) }).map((d) => fromS + d * 86_400));
  const customer = fc.record({
    shop: fc.integer({ min: 0, max: shops - 1 }),
    lifecycleStage: fc.constantFrom(...STAGES),
    consentAnalytics: fc.integer({ min: 0, max: 4 }).map((x) => x > 0), // mostly consented
    ageBand: fc.constantFrom(...BANDS),
    city: fc.constantFrom(...LEVELS),
    signupUnixS: time,
    orders: fc.array(fc.record({ t: time, cents: fc.oneof(fc.integer({ min: 0, max: maxCents }), fc.constantFrom(0, 2_000, 20_000, maxCents)), returned: fc.boolean() }), {
      maxLength: options.maxOrders ?? 12,
    }),
  });
  return fc.array(customer, { minLength: 1, maxLength: options.maxCustomers ?? 40 }).map((list) => {
    const customers: RandomCustomer[] = [];
    const orders: Order[] = [];
    list.forEach((c, i) => {
      const customerId = `C-${i}`;
      customers.push({
        customerId,
        shop: c.shop,
        lifecycleStage: c.lifecycleStage,
        consentAnalytics: c.consentAnalytics,
        consentMarketing: false,
        city: c.city,
        ageBand: c.ageBand,
        signupUnixS: c.signupUnixS,
      });
      c.orders.forEach((o, j) => orders.push({ orderId: `O-${i}-${j}`, customerId, orderedUnixS: o.t, amountCents: BigInt(o.cents), returned: o.returned }));
    });
    return { customers, orders };
  });
}

/** The dataset split into its shops (each shop gets its customers and their orders). */
export function splitIntoShops(data: RandomDataset, shops: number): ShopData[] {
  return Array.from({ length: shops }, (_, s) => {
    const customers = data.customers.filter((c) => c.shop === s);
    const ids = new Set(customers.map((c) => c.customerId));
    return { shopId: `shop-${s}`, customers, orders: data.orders.filter((o) => ids.has(o.customerId)) };
  });
}
