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
  /** Values of the extra columns the shop's schema declares on customers (`customer.<name>`). */
  readonly extra?: Readonly<Record<string, ColumnValue>>;
}

/**
 * A value of a declared extra column: a number (numeric, integer, and dates
 * and timestamps as Unix seconds), a level's text (categorical), a boolean,
 * or null where the export leaves the cell empty (a missing value: a model
 * reading it leaves the row out, as R's na.omit does).
 */
export type ColumnValue = number | string | boolean | null;

/**
 * A further table a shop declares (store-week sales, price lists): business
 * rows with no customer in them, read by models whose unit of analysis is a
 * row of the table. Consent does not filter them; the round view blanks
 * every column a purpose does not allow.
 */
export interface DataTable {
  /** One object per row, keyed by the declared column names. */
  readonly rows: readonly Readonly<Record<string, ColumnValue>>[];
  /** For a table of customers' rows: the customer of each row (`customerIds[i]` owns `rows[i]`). */
  readonly customerIds?: readonly string[];
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
  /** Values of the extra columns declared on orders (`order.<name>`). */
  readonly extra?: Readonly<Record<string, ColumnValue>>;
}

/** Arms of a campaign: two variants and a hold-out group that is never shown it. */
export const CAMPAIGN_VARIANTS = ['A', 'B', 'control'] as const;

/** One of {@link CAMPAIGN_VARIANTS}. */
export type CampaignVariant = (typeof CAMPAIGN_VARIANTS)[number];

/** Type guard used by loaders and spec parsers alike. */
export function isCampaignVariant(value: unknown): value is CampaignVariant {
  return typeof value === 'string' && (CAMPAIGN_VARIANTS as readonly string[]).includes(value);
}

/**
 * One customer's assignment to one campaign (at most one row per customer
 * and campaign). The flags are cumulative in a well-formed export (opened
 * implies exposed, clicked implies opened) but queries never rely on it: each
 * counts exactly the flag it names.
 */
export interface CampaignExposure {
  readonly customerId: string;
  /** Platform-wide campaign id, e.g. `CMP-2025-618`; `''` when blanked. */
  readonly campaignId: string;
  /** Assigned arm; `''` when the purpose may not read it (round view). */
  readonly variant: CampaignVariant | '';
  /** The campaign was actually delivered (a control customer never is). */
  readonly exposed: boolean;
  readonly opened: boolean;
  readonly clicked: boolean;
  /** Bought in the campaign's attribution window. */
  readonly converted: boolean;
}

/**
 * One visit of a customer in one channel and how far down the funnel it got.
 * Channels are lower-case names such as `app`, `web`, `mini-program`, `store`.
 */
export interface Session {
  readonly customerId: string;
  /** `''` when blanked. */
  readonly channel: string;
  /** Viewed at least one product page. */
  readonly viewed: boolean;
  /** Put at least one item in the cart. */
  readonly carted: boolean;
  /** Placed an order. */
  readonly ordered: boolean;
}

/**
 * A shop's own service figures for one calendar month (商家信任指标): what the
 * merchant benchmark's trust indicators (好评率, 退换货率, complaint rate,
 * response time) are computed from. Business aggregates, no customer in them.
 * All counts are non-negative safe integers.
 */
export interface ShopMetricsPeriod {
  /** Calendar month `YYYY-MM`; unique per shop. */
  readonly period: string;
  readonly orders: number;
  /** Orders that received a rating, and how many of those were positive. */
  readonly ratings: number;
  readonly positiveRatings: number;
  /** Orders returned or exchanged. */
  readonly returns: number;
  readonly complaints: number;
  /** Customer inquiries answered, and the sum of their first-response times in seconds. */
  readonly inquiries: number;
  readonly responseTimeSumS: number;
}

/**
 * Everything a merchant node computes local statistics over. Campaigns,
 * sessions and shop metrics are optional tables: a shop that does not export
 * them answers queries needing them as if they were empty.
 */
export interface ShopData {
  readonly shopId: string;
  readonly customers: readonly Customer[];
  readonly orders: readonly Order[];
  readonly campaigns?: readonly CampaignExposure[];
  readonly sessions?: readonly Session[];
  readonly shopMetrics?: readonly ShopMetricsPeriod[];
  /** Further declared tables by name (`store_week`); absent when none. */
  readonly tables?: Readonly<Record<string, DataTable>>;
  /**
   * Built-in fields the export leaves out (`customer.signup_at`,
   * `customer.age_band`...): their values are placeholders, so a query
   * reading one is declined naming it. Absent when nothing is missing.
   */
  readonly missingFields?: readonly string[];
}

/** A customer row of the pooled (all shops) plaintext check files. */
export interface PooledCustomer extends Customer {
  readonly shopId: string;
}

/** An order row of the pooled (all shops) plaintext check files. */
export interface PooledOrder extends Order {
  readonly shopId: string;
}

/** A campaign row of the pooled check files. */
export interface PooledCampaignExposure extends CampaignExposure {
  readonly shopId: string;
}

/** A session row of the pooled check files. */
export interface PooledSession extends Session {
  readonly shopId: string;
}

/** A shop-metrics row of the pooled check files. */
export interface PooledShopMetricsPeriod extends ShopMetricsPeriod {
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
  readonly campaigns?: readonly PooledCampaignExposure[];
  readonly sessions?: readonly PooledSession[];
  readonly shopMetrics?: readonly PooledShopMetricsPeriod[];
  /** Further declared tables; each row carries its shop in `shop_id`. */
  readonly tables?: Readonly<Record<string, DataTable>>;
}
