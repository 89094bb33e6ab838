/**
 * The in-memory shape of one shop's data as the analytics layer sees it.
 *
 * This is deliberately the *de-identified* view: direct identifiers that a
 * shop's export carries (name, phone) are dropped by the loader before rows
 * become `Customer` objects, so no query in `analytics/` can ever touch them
 * (PIPL minimisation). Age is generalised to a band for the same reason.
 *
 * @module
 */

/** Customer lifecycle stages in the fixed order every query and table uses. */
export const LIFECYCLE_STAGES = ['new', 'active', 'loyal', 'churning'] as const;

/** One of {@link LIFECYCLE_STAGES}. */
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** Type guard used by loaders and spec parsers alike. */
export function isLifecycleStage(value: unknown): value is LifecycleStage {
  return typeof value === 'string' && (LIFECYCLE_STAGES as readonly string[]).includes(value);
}

/** A shop's customer after de-identification. */
export interface Customer {
  /** Shop-scoped identifier (synthetic data: `C-01-000123`). */
  readonly customerId: string;
  readonly lifecycleStage: LifecycleStage;
  /** Separate consent to analytics; queries count only customers with `true`. */
  readonly consentAnalytics: boolean;
  readonly consentMarketing: boolean;
  readonly city: string;
  /** Generalised age, e.g. `25-34` (see `client-sdk/load-shop-data.ts`). */
  readonly ageBand: string;
  /** Signup time, integer Unix seconds (UTC). */
  readonly signupUnixS: number;
}

/** One order; amounts are exact integer cents (fen), never floating point. */
export interface Order {
  readonly orderId: string;
  readonly customerId: string;
  /** Order time, integer Unix seconds (UTC). */
  readonly orderedUnixS: number;
  /** Order value in cents (1/100 yuan), exact. */
  readonly amountCents: bigint;
  readonly returned: boolean;
}

/** Everything a merchant node computes local statistics over. */
export interface ShopData {
  readonly shopId: string;
  readonly customers: readonly Customer[];
  readonly orders: readonly Order[];
}

/** A customer row of the pooled (all shops) plaintext check files. */
export interface PooledCustomer extends Customer {
  readonly shopId: string;
}

/** An order row of the pooled (all shops) plaintext check files. */
export interface PooledOrder extends Order {
  readonly shopId: string;
}

/**
 * All shops' rows in one place. Exists only to compute the plaintext answer
 * that demos and tests compare a federated release against; a real
 * deployment never has it.
 */
export interface PooledData {
  readonly customers: readonly PooledCustomer[];
  readonly orders: readonly PooledOrder[];
}
