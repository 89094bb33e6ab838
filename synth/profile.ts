/**
 * What makes each synthetic shop different: size, lifecycle mix, price
 * level, region, purchase cadence, consent and return rates. Heterogeneous
 * shops matter: a federated mean that happened to equal each shop's own mean
 * would not show that the aggregation is right.
 *
 * Size and price level are spread deliberately (stratified over the range,
 * then shuffled), so that even 2 shops differ ~3x in mean order value and
 * clearly in size.
 *
 * @module
 */
import { LIFECYCLE_STAGES, type LifecycleStage } from '../analytics/index.js';
import { REGION_NAMES, type Region } from './people.js';
import type { Prng } from './prng.js';

/** Per-shop generation parameters. */
export interface ShopProfile {
  /** 1-based shop number; ids embed it as two digits. */
  readonly index: number;
  readonly shopId: string;
  readonly customers: number;
  readonly region: Region;
  /** Probability of each stage for a new customer, LIFECYCLE_STAGES order. */
  readonly stageMix: Readonly<Record<LifecycleStage, number>>;
  /** Typical order value in yuan before stage adjustment. */
  readonly meanOrderYuan: number;
  /** Multiplies every stage's typical gap between orders. */
  readonly cadenceFactor: number;
  readonly consentAnalyticsRate: number;
  readonly consentMarketingRate: number;
  readonly returnRate: number;
}

/** Customer count per shop: fixed, or a range shops spread over. */
export type CustomersPerShop = number | { readonly min: number; readonly max: number };

const BASE_MIX: Readonly<Record<LifecycleStage, number>> = { new: 0.2, active: 0.35, loyal: 0.15, churning: 0.3 };

/** Cheapest and dearest typical order value (yuan): a 3.6x spread. */
const MIN_ORDER_YUAN = 60;
const MAX_ORDER_YUAN = 216;

/** Stratified positions in [0, 1], one per shop, in shuffled order. */
function spread(rng: Prng, n: number): number[] {
  if (n === 1) return [rng.next()];
  return rng.shuffle(Array.from({ length: n }, (_, i) => i / (n - 1))).map((u) => Math.min(1, Math.max(0, u + rng.uniform(-0.02, 0.02))));
}

/** Shop id of shop number `index` (1-based): `shop-01`. */
export function shopIdOf(index: number): string {
  return `shop-${String(index).padStart(2, '0')}`;
}

/** Profiles for `shops` shops, drawn from `rng`. */
export function makeProfiles(rng: Prng, shops: number, customersPerShop: CustomersPerShop): ShopProfile[] {
  const sizes = spread(rng, shops);
  const prices = spread(rng, shops);
  const regions = rng.shuffle(REGION_NAMES);
  return Array.from({ length: shops }, (_, i): ShopProfile => {
    const customers =
      typeof customersPerShop === 'number'
        ? customersPerShop
        : Math.round(customersPerShop.min * (customersPerShop.max / customersPerShop.min) ** (sizes[i] as number));
    const raw = LIFECYCLE_STAGES.map((s) => BASE_MIX[s] * Math.exp(0.45 * rng.normal()));
    const total = raw.reduce((a, b) => a + b, 0);
    const stageMix = Object.fromEntries(LIFECYCLE_STAGES.map((s, j) => [s, (raw[j] as number) / total])) as Record<LifecycleStage, number>;
    return {
      index: i + 1,
      shopId: shopIdOf(i + 1),
      customers,
      region: regions[i % regions.length] as Region,
      stageMix,
      meanOrderYuan: MIN_ORDER_YUAN * (MAX_ORDER_YUAN / MIN_ORDER_YUAN) ** (prices[i] as number),
      cadenceFactor: rng.uniform(0.7, 1.4),
      consentAnalyticsRate: rng.uniform(0.85, 0.95),
      consentMarketingRate: rng.uniform(0.55, 0.8),
      returnRate: rng.uniform(0.03, 0.09),
    };
  });
}
