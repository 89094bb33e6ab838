/**
 * Declared per-customer features for models fitted from moment sums (linear
 * and ridge regression, PCA, and later models): each feature has a fixed
 * definition, the shop fields it reads (so a query's `inputFields` are
 * exactly the union over its features) and a default bound on |value| that
 * the spec may tighten or widen. Every shop builds the same rows from its
 * round view; only sums over many rows ever leave it.
 *
 * Names are plain (`recency_days`) or parametrised (`sessions:app`,
 * `age_band:25-34`, `lifecycle:loyal`). Everything is measured at the spec's
 * `asOf` instant: orders at or after it do not exist yet. A feature may be
 * undefined for a customer (recency without any order, tenure before signup);
 * such a customer contributes no row at all (listwise deletion), the same
 * rule at every shop and in the pooled check.
 *
 * This is the one feature vocabulary. The names of the older propensity
 * kinds (`logistic-regression`, `kmeans` with `features`, their evaluation)
 * are named aggregates in it, with the scale those kinds fixed so Newton
 * steps stay well conditioned: `orders` (number of orders / 10),
 * `avg_order_value` (mean order value in yuan / 100), `return_rate` (share of
 * orders returned), `tenure_years` (years from signup to the last order) and
 * `mean_gap_days` (mean days between consecutive orders / 30). Unlike
 * `avg_order_yuan` or `recency_days` they are 0, not undefined, for a customer
 * without orders, so they never delete a row. Being named features, they are
 * also formula variables and `linear-regression`/`pca` features, measured at
 * `asOf` there; the older kinds measure them at {@link AFTER_EVERY_ORDER_UNIX_S}
 * (every order counts). `intercept` is no feature: it is the older kinds'
 * constant term (analytics/customer-features.ts).
 *
 * @module
 */
import { DAY_SECONDS as DAY_S } from './calendar.js';
import { AGE_BANDS } from './customer-groups.js';
import type { RowScope } from './row-scope.js';
import { LIFECYCLE_STAGES, type Customer, type ShopData } from './shop-data.js';


/** Per-customer facts every feature is computed from. */
export interface CustomerFacts {
  readonly customer: Customer;
  /** Orders placed before `asOf`. */
  orders: number;
  amountCents: bigint;
  returns: number;
  /** Times of the earliest and latest order before `asOf` (read only when `order.ordered_at` is needed). */
  firstOrderUnixS: number | undefined;
  lastOrderUnixS: number | undefined;
  readonly sessionsByChannel: Map<string, number>;
  viewedSessions: number;
  cartedSessions: number;
  orderedSessions: number;
  campaignExposures: number;
  campaignOpens: number;
  campaignClicks: number;
  campaignConversions: number;
}

/** A feature's definition. */
export interface FeatureDefinition {
  /** Canonical name, as written in specs. */
  readonly name: string;
  readonly description: string;
  /** Shop fields (`table.field`) the feature reads. */
  readonly inputFields: readonly string[];
  /**
   * Shop fields read when orders are not cut at an instant (asOf is
   * {@link AFTER_EVERY_ORDER_UNIX_S}), when fewer than `inputFields`: a
   * feature that reads `order.ordered_at` only to leave out later orders does
   * not read it then. The older kinds declare these, as they always have.
   */
  readonly uncutInputFields?: readonly string[];
  /** Default bound on |value|, per customer. */
  readonly defaultMaxAbs: number;
  /** A 0/1 indicator (one level of a categorical variable): both its levels are groups of customers. */
  readonly indicator?: boolean;
  /** The value for one customer, or undefined when it does not exist for them. */
  value(facts: CustomerFacts, asOfUnixS: number): number | undefined;
}

const ORDER_TIME = 'order.ordered_at';
const YEAR_S = 365 * DAY_S;

/**
 * An instant after every order: measured at it, no order is left out. The
 * older kinds, which have no asOf, measure their features at it, so their
 * values are those over all of a customer's orders.
 */
export const AFTER_EVERY_ORDER_UNIX_S = Number.MAX_SAFE_INTEGER;

/**
 * The older kinds' names, scaled to be of order 1 (the scale is part of the
 * definition: a fitted model stores coefficients on it). Each is 0 rather
 * than undefined without orders, as those kinds always computed it, so they
 * are distinct features from their unscaled relatives (`frequency`,
 * `avg_order_yuan`, `tenure_days`). Bounds are the relatives' bounds on the
 * same scale.
 */
const NAMED_AGGREGATES: readonly FeatureDefinition[] = [
  { name: 'orders', description: 'number of orders / 10', inputFields: [ORDER_TIME], defaultMaxAbs: 1e6 / 10, value: (f) => f.orders / 10 },
  {
    name: 'avg_order_value',
    description: 'mean order value in yuan / 100 (0 without orders)',
    inputFields: ['order.amount', ORDER_TIME],
    uncutInputFields: ['order.amount'],
    defaultMaxAbs: 1e8 / 100,
    value: (f) => (f.orders === 0 ? 0 : Number(f.amountCents) / f.orders / 10_000),
  },
  {
    name: 'return_rate',
    description: 'share of orders returned (0 without orders)',
    inputFields: ['order.returned', ORDER_TIME],
    uncutInputFields: ['order.returned'],
    defaultMaxAbs: 1,
    value: (f) => (f.orders === 0 ? 0 : f.returns / f.orders),
  },
  {
    name: 'tenure_years',
    description: 'years from signup to the last order or signup',
    inputFields: ['customer.signup_at', ORDER_TIME],
    defaultMaxAbs: 36_600 / 365,
    value: (f) => (Math.max(f.customer.signupUnixS, f.lastOrderUnixS ?? f.customer.signupUnixS) - f.customer.signupUnixS) / YEAR_S,
  },
  {
    name: 'mean_gap_days',
    description: 'mean days between consecutive orders / 30 (0 with fewer than 2 orders)',
    inputFields: [ORDER_TIME],
    defaultMaxAbs: 36_600 / 30,
    value: (f) => (f.orders < 2 || f.firstOrderUnixS === undefined || f.lastOrderUnixS === undefined ? 0 : (f.lastOrderUnixS - f.firstOrderUnixS) / (f.orders - 1) / DAY_S / 30),
  },
];

const PLAIN: readonly FeatureDefinition[] = [
  {
    name: 'recency_days',
    description: 'days from the last order to asOf (undefined without orders)',
    inputFields: [ORDER_TIME],
    defaultMaxAbs: 36_600,
    value: (f, asOf) => (f.lastOrderUnixS === undefined ? undefined : (asOf - f.lastOrderUnixS) / DAY_S),
  },
  { name: 'frequency', description: 'number of orders before asOf', inputFields: [ORDER_TIME], defaultMaxAbs: 1e6, value: (f) => f.orders },
  {
    name: 'monetary_yuan',
    description: 'total order value before asOf, yuan',
    inputFields: ['order.amount', ORDER_TIME],
    defaultMaxAbs: 1e9,
    value: (f) => Number(f.amountCents) / 100,
  },
  {
    name: 'avg_order_yuan',
    description: 'mean order value before asOf, yuan (undefined without orders)',
    inputFields: ['order.amount', ORDER_TIME],
    defaultMaxAbs: 1e8,
    value: (f) => (f.orders === 0 ? undefined : Number(f.amountCents) / 100 / f.orders),
  },
  { name: 'return_count', description: 'orders before asOf that were returned', inputFields: ['order.returned', ORDER_TIME], defaultMaxAbs: 1e6, value: (f) => f.returns },
  {
    name: 'tenure_days',
    description: 'days from signup to asOf (undefined for customers signing up later)',
    inputFields: ['customer.signup_at'],
    defaultMaxAbs: 36_600,
    value: (f, asOf) => (f.customer.signupUnixS > asOf ? undefined : (asOf - f.customer.signupUnixS) / DAY_S),
  },
  ...NAMED_AGGREGATES,
  { name: 'viewed_sessions', description: 'sessions that viewed a product', inputFields: ['session.viewed'], defaultMaxAbs: 1e6, value: (f) => f.viewedSessions },
  { name: 'carted_sessions', description: 'sessions that put an item in the cart', inputFields: ['session.carted'], defaultMaxAbs: 1e6, value: (f) => f.cartedSessions },
  { name: 'ordered_sessions', description: 'sessions that placed an order', inputFields: ['session.ordered'], defaultMaxAbs: 1e6, value: (f) => f.orderedSessions },
  { name: 'campaign_exposures', description: 'campaigns delivered to the customer', inputFields: ['campaign.exposed'], defaultMaxAbs: 1e4, value: (f) => f.campaignExposures },
  { name: 'campaign_opens', description: 'campaigns the customer opened', inputFields: ['campaign.opened'], defaultMaxAbs: 1e4, value: (f) => f.campaignOpens },
  { name: 'campaign_clicks', description: 'campaigns the customer clicked', inputFields: ['campaign.clicked'], defaultMaxAbs: 1e4, value: (f) => f.campaignClicks },
  { name: 'campaign_conversions', description: 'campaigns the customer converted in', inputFields: ['campaign.converted'], defaultMaxAbs: 1e4, value: (f) => f.campaignConversions },
];

const PLAIN_BY_NAME = new Map(PLAIN.map((d) => [d.name, d]));

/** Names of the unparametrised features. */
export const PLAIN_FEATURE_NAMES: readonly string[] = PLAIN.map((d) => d.name);

/** The parametrised feature families: the pattern as written in specs, and what it counts. */
export const FEATURE_FAMILIES: readonly { readonly pattern: string; readonly description: string }[] = [
  { pattern: 'sessions:<channel>', description: 'sessions in the channel (app, web, mini-program, store, or a channel the shop declares)' },
  { pattern: 'age_band:<band>', description: `1 if the age band is <band> (${AGE_BANDS.join(', ')})` },
  { pattern: 'lifecycle:<stage>', description: `1 if the lifecycle stage is <stage> (${LIFECYCLE_STAGES.join(', ')})` },
];

/** Why `name` is not a feature, naming the features there are (for spec errors). */
export function unknownFeatureMessage(name: unknown): string {
  const shown = typeof name === 'string' ? `'${name.length > 40 ? `${name.slice(0, 40)}…` : name}'` : `of type ${typeof name}`;
  return `unknown feature ${shown}; features: ${PLAIN_FEATURE_NAMES.join(', ')} or ${FEATURE_FAMILIES.map((f) => f.pattern).join(', ')}`;
}

/** Age-band labels as generalisation writes them: `<18`, `25-34`, `65+`. */
const AGE_BAND_LABEL = /^(<[0-9]{1,3}|[0-9]{1,3}-[0-9]{1,3}|[0-9]{1,3}\+)$/;
/** Channel names as schemas declare them. */
const CHANNEL_LABEL = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The definition of `name`, or undefined for names that are not features.
 * Parametrised names: `sessions:<channel>` (sessions in that channel),
 * `age_band:<band>` and `lifecycle:<stage>` (one-hot indicators).
 */
export function featureDefinition(name: string): FeatureDefinition | undefined {
  if (typeof name !== 'string') return undefined;
  const plain = PLAIN_BY_NAME.get(name);
  if (plain !== undefined) return plain;
  const colon = name.indexOf(':');
  if (colon < 0) return undefined;
  const family = name.slice(0, colon);
  const arg = name.slice(colon + 1);
  switch (family) {
    case 'sessions':
      if (!CHANNEL_LABEL.test(arg)) return undefined;
      return { name, description: `sessions in channel ${arg}`, inputFields: ['session.channel'], defaultMaxAbs: 1e6, value: (f) => f.sessionsByChannel.get(arg) ?? 0 };
    case 'age_band':
      if (!AGE_BAND_LABEL.test(arg)) return undefined;
      return { name, description: `1 if the age band is ${arg}`, inputFields: ['customer.age_band'], defaultMaxAbs: 1, indicator: true, value: (f) => (f.customer.ageBand === arg ? 1 : 0) };
    case 'lifecycle':
      if (!(LIFECYCLE_STAGES as readonly string[]).includes(arg)) return undefined;
      return { name, description: `1 if the lifecycle stage is ${arg}`, inputFields: ['customer.lifecycle_stage'], defaultMaxAbs: 1, indicator: true, value: (f) => (f.customer.lifecycleStage === arg ? 1 : 0) };
    default:
      return undefined;
  }
}

/** True when `name` is a feature. */
export function isFeatureName(name: unknown): name is string {
  return typeof name === 'string' && featureDefinition(name) !== undefined;
}

/** Sorted union of the shop fields the named features read. Throws RangeError naming an unknown feature. */
export function featuresInputFields(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const n of names) {
    const d = featureDefinition(n);
    if (d === undefined) throw new RangeError(`names: '${n}' is not a feature`);
    for (const f of d.inputFields) out.add(f);
  }
  return [...out].sort();
}

/**
 * The facts of every customer in `data`, in customer order. Only the shop
 * fields in `needs` (`table.field`, the features' inputFields) are read, so
 * a query reads exactly what it declares; orders at or after `asOfUnixS` are
 * left out (every order feature declares `order.ordered_at`). Without
 * `order.ordered_at` in `needs` no order time is read, so no order can be
 * left out: other order fields are then only read at
 * {@link AFTER_EVERY_ORDER_UNIX_S} (the older kinds' `uncutInputFields`), and
 * a RangeError names `needs` otherwise.
 */
export function customerFacts(data: ShopData, asOfUnixS: number, needs: ReadonlySet<string>): CustomerFacts[] {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.customers as unknown) || !Array.isArray(data.orders as unknown)) {
    throw new TypeError('data: expected ShopData with customers and orders arrays');
  }
  if (!Number.isSafeInteger(asOfUnixS)) throw new TypeError('asOfUnixS: expected integer Unix seconds');
  const facts = new Map<string, CustomerFacts>();
  for (const c of data.customers) {
    if (facts.has(c.customerId)) throw new RangeError(`data.customers: duplicate customerId ${c.customerId}`);
    facts.set(c.customerId, {
      customer: c,
      orders: 0,
      amountCents: 0n,
      returns: 0,
      firstOrderUnixS: undefined,
      lastOrderUnixS: undefined,
      sessionsByChannel: new Map(),
      viewedSessions: 0,
      cartedSessions: 0,
      orderedSessions: 0,
      campaignExposures: 0,
      campaignOpens: 0,
      campaignClicks: 0,
      campaignConversions: 0,
    });
  }
  const need = (field: string): boolean => needs.has(field);
  addOrderFacts(facts, data, asOfUnixS, need);
  const [channel, viewed, carted, ordered] = ['session.channel', 'session.viewed', 'session.carted', 'session.ordered'].map(need);
  if (channel || viewed || carted || ordered) {
    for (const s of data.sessions ?? []) {
      const f = facts.get(s.customerId);
      if (f === undefined) continue;
      if (channel) f.sessionsByChannel.set(s.channel, (f.sessionsByChannel.get(s.channel) ?? 0) + 1);
      if (viewed && s.viewed) f.viewedSessions++;
      if (carted && s.carted) f.cartedSessions++;
      if (ordered && s.ordered) f.orderedSessions++;
    }
  }
  const [exposed, opened, clicked, converted] = ['campaign.exposed', 'campaign.opened', 'campaign.clicked', 'campaign.converted'].map(need);
  if (exposed || opened || clicked || converted) {
    for (const e of data.campaigns ?? []) {
      const f = facts.get(e.customerId);
      if (f === undefined) continue;
      if (exposed && e.exposed) f.campaignExposures++;
      if (opened && e.opened) f.campaignOpens++;
      if (clicked && e.clicked) f.campaignClicks++;
      if (converted && e.converted) f.campaignConversions++;
    }
  }
  return [...facts.values()];
}

/** Adds each customer's orders before `asOfUnixS` to their facts, reading only the order fields `need` admits. */
function addOrderFacts(facts: ReadonlyMap<string, CustomerFacts>, data: ShopData, asOfUnixS: number, need: (field: string) => boolean): void {
  const [time, amount, returned] = [ORDER_TIME, 'order.amount', 'order.returned'].map(need);
  if (!time && !amount && !returned) return;
  if (!time && asOfUnixS !== AFTER_EVERY_ORDER_UNIX_S) {
    throw new RangeError('needs: order fields without order.ordered_at leave no order out; measure at AFTER_EVERY_ORDER_UNIX_S or declare order.ordered_at');
  }
  for (const o of data.orders) {
    const f = facts.get(o.customerId);
    if (f === undefined || (time && o.orderedUnixS >= asOfUnixS)) continue;
    f.orders++;
    if (amount) f.amountCents += o.amountCents;
    if (returned && o.returned) f.returns++;
    if (!time) continue;
    if (f.firstOrderUnixS === undefined || o.orderedUnixS < f.firstOrderUnixS) f.firstOrderUnixS = o.orderedUnixS;
    if (f.lastOrderUnixS === undefined || o.orderedUnixS > f.lastOrderUnixS) f.lastOrderUnixS = o.orderedUnixS;
  }
}

/**
 * What a release of features measured at `asOfUnixS` reads: orders placed
 * before it (every order feature ignores later ones); sessions, campaign rows
 * and the customer row are read whole.
 */
export function featureRowScope(asOfUnixS: number): RowScope {
  return { order: (o) => o.orderedUnixS < asOfUnixS };
}

/**
 * One row per customer for whom every named feature is defined, in customer
 * order: `rows[i][j]` is feature `names[j]`. Throws RangeError naming an
 * unknown feature, and RangeError naming the feature when a value is not
 * finite.
 */
export function featureMatrix(data: ShopData, names: readonly string[], asOfUnixS: number): number[][] {
  const defs = names.map((n) => {
    const d = featureDefinition(n);
    if (d === undefined) throw new RangeError(`names: '${n}' is not a feature`);
    return d;
  });
  const needs = new Set(defs.flatMap((d) => d.inputFields));
  const rows: number[][] = [];
  for (const f of customerFacts(data, asOfUnixS, needs)) {
    const row: number[] = [];
    for (const d of defs) {
      const v = d.value(f, asOfUnixS);
      if (v === undefined) break;
      if (!Number.isFinite(v)) throw new RangeError(`feature ${d.name}: value ${v} is not finite`);
      row.push(v);
    }
    if (row.length === defs.length) rows.push(row);
  }
  return rows;
}
