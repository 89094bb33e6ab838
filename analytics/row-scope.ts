/**
 * Which rows of a shop a release reads, and what exactly it reads of them:
 * the input of the row-set differencing defence.
 *
 * Two releases of one purpose can be subtracted. When the rows behind them
 * differ by a few customers (one order placed between two `asOf` instants,
 * one customer who withdrew consent and another who joined), the difference
 * of the released figures is the figures of those few. The key holder must
 * therefore know, for two releases, how many customers' rows differ in what
 * both read. A kind declares its {@link RowScope} (which customers and which
 * event rows it reads: a time window, a campaign, a training split); the shop
 * turns every customer in scope into one canonical text per input field
 * (`rowContents`), which `compliance/row-set.ts` folds into a sketch that
 * reveals nothing but lets the key holder count differing customers exactly
 * up to k.
 *
 * The content of field `table.field` for one customer is every value of that
 * field in the rows of `table` the release reads for the customer, keyed by
 * the row's identity (order id, campaign id; for sessions, which have no id,
 * their position among the customer's sessions in the shop's data) and
 * sorted, so it is the same text whatever kind reads it: a histogram of order values and a segment
 * table read the same `order.amount` content when they read the same orders.
 * A scope must be exact: a window wider than what the kind reads would count
 * customers whose unread rows changed and could hide a difference of fewer
 * than k customers among them.
 *
 * @module
 */
import type { CampaignExposure, ColumnValue, Customer, DataTable, Order, Session, ShopData, ShopMetricsPeriod } from './shop-data.js';

/** A row of a further table of customers' rows, with its customer. */
type LinkedRow = { readonly customerId: string; readonly row: Readonly<Record<string, ColumnValue>> };

/** The rows a release reads; an absent predicate reads every row of its table. */
export interface RowScope {
  /** Customers whose rows the release reads (e.g. a training split). */
  readonly customer?: ((c: Customer) => boolean) | undefined;
  /** Orders read (e.g. placed before `asOf`). */
  readonly order?: ((o: Order) => boolean) | undefined;
  readonly session?: ((s: Session) => boolean) | undefined;
  /** Campaign rows read (e.g. of the campaign under test). */
  readonly campaign?: ((e: CampaignExposure) => boolean) | undefined;
  /** Shop-metrics months read. */
  readonly shopMetrics?: ((m: ShopMetricsPeriod) => boolean) | undefined;
}

/** What a release reads, as canonical text. */
export interface RowContents {
  /** The customer-level fields read (every customer's map has exactly these), sorted. */
  readonly fields: readonly string[];
  /** Customer id (a pseudonym in a round view) → field → content; every customer in scope is present. */
  readonly customers: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Field of a shop-level table (`shop_metrics.*`) → content of the months read. */
  readonly shop: ReadonlyMap<string, string>;
}

type Value = string | number | bigint | boolean;

const CUSTOMER_FIELDS: Readonly<Record<string, (c: Customer) => Value>> = {
  'customer.lifecycle_stage': (c) => c.lifecycleStage,
  'customer.age_band': (c) => c.ageBand,
  'customer.age': (c) => c.ageBand,
  'customer.city_level': (c) => c.city,
  'customer.city': (c) => c.city,
  'customer.signup_at': (c) => c.signupUnixS,
  'customer.consent_analytics': (c) => c.consentAnalytics,
  'customer.consent_marketing': (c) => c.consentMarketing,
};

const ORDER_FIELDS: Readonly<Record<string, (o: Order) => Value>> = {
  'order.order_id': (o) => o.orderId,
  'order.ordered_at': (o) => o.orderedUnixS,
  'order.amount': (o) => o.amountCents,
  'order.returned': (o) => o.returned,
};

const SESSION_FIELDS: Readonly<Record<string, (s: Session) => Value>> = {
  'session.channel': (s) => s.channel,
  'session.viewed': (s) => s.viewed,
  'session.carted': (s) => s.carted,
  'session.ordered': (s) => s.ordered,
};

const CAMPAIGN_FIELDS: Readonly<Record<string, (e: CampaignExposure) => Value>> = {
  'campaign.campaign_id': (e) => e.campaignId,
  'campaign.variant': (e) => e.variant,
  'campaign.exposed': (e) => e.exposed,
  'campaign.opened': (e) => e.opened,
  'campaign.clicked': (e) => e.clicked,
  'campaign.converted': (e) => e.converted,
};

const SHOP_METRICS_FIELDS: Readonly<Record<string, (m: ShopMetricsPeriod) => Value>> = {
  'shop_metrics.period': (m) => m.period,
  'shop_metrics.orders': (m) => m.orders,
  'shop_metrics.ratings': (m) => m.ratings,
  'shop_metrics.positive_ratings': (m) => m.positiveRatings,
  'shop_metrics.returns': (m) => m.returns,
  'shop_metrics.complaints': (m) => m.complaints,
  'shop_metrics.inquiries': (m) => m.inquiries,
  'shop_metrics.response_time_sum_s': (m) => m.responseTimeSumS,
};

/** Fields whose row content can be described (every field a kind may read). */
export const ROW_CONTENT_FIELDS: readonly string[] = [
  ...Object.keys(CUSTOMER_FIELDS),
  ...Object.keys(ORDER_FIELDS),
  ...Object.keys(SESSION_FIELDS),
  ...Object.keys(CAMPAIGN_FIELDS),
  ...Object.keys(SHOP_METRICS_FIELDS),
];

const text = (v: Value | null | undefined): string => (typeof v === 'string' ? JSON.stringify(v) : String(v ?? null));

const FIELD_RE = /^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$/;
const BUILT_IN_TABLES = new Set(['customer', 'order', 'session', 'campaign', 'shop_metrics']);

/**
 * How a field's content is described: a built-in field, an extra column of
 * customers or orders (`customer.<name>`, `order.<name>`), or a column of a
 * further table (`<table>.<name>`, shop-level: such tables hold no customer).
 */
function fieldKind(f: string): 'built-in' | 'customer-extra' | 'order-extra' | 'table' | undefined {
  if (ROW_CONTENT_FIELDS.includes(f)) return 'built-in';
  const m = FIELD_RE.exec(f);
  if (m === null) return undefined;
  if (m[1] === 'customer') return 'customer-extra';
  if (m[1] === 'order') return 'order-extra';
  return BUILT_IN_TABLES.has(m[1] as string) ? undefined : 'table';
}
const isShopLevel = (f: string): boolean => f.startsWith('shop_metrics.') || fieldKind(f) === 'table';

/** Groups rows by customer id, keeping only customers in `keep`. */
function byCustomer<T extends { readonly customerId: string }>(rows: readonly T[] | undefined, keep: ReadonlySet<string>, inScope: ((r: T) => boolean) | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows ?? []) {
    if (!keep.has(r.customerId) || (inScope !== undefined && !inScope(r))) continue;
    const list = out.get(r.customerId);
    if (list) list.push(r);
    else out.set(r.customerId, [r]);
  }
  return out;
}

/** Sorted, so the content never depends on the order rows came in. */
function joined(parts: string[]): string {
  return parts.sort().join('\n');
}

/**
 * Whether a release reads no customer at all: only shop-level tables (the
 * shop's monthly figures, further business tables such as store-week sales)
 * and no customer scope. Such a release has no consented subjects behind
 * it; its cells' row counts carry the k threshold.
 */
export function readsNoCustomers(inputFields: readonly string[], scope: RowScope = {}): boolean {
  return scope.customer === undefined && inputFields.length > 0 && inputFields.every(isShopLevel);
}

/**
 * The canonical content of every field in `inputFields` for every customer
 * in `scope`, and of the shop-level fields; a release reading only
 * shop-level fields and declaring no customer scope reads no customers. Throws RangeError naming a field
 * this module cannot describe (a kind reading it could not be checked for
 * differencing, so it must not run).
 */
export function rowContents(data: ShopData, inputFields: readonly string[], scope: RowScope = {}): RowContents {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.customers as unknown) || !Array.isArray(data.orders as unknown)) {
    throw new TypeError('data: expected ShopData with customers and orders arrays');
  }
  if (!Array.isArray(inputFields)) throw new TypeError('inputFields: expected an array of table.field names');
  const fields = [...new Set(inputFields)].sort();
  for (const f of fields) {
    const kind = fieldKind(f);
    const column = f.slice(f.indexOf('.') + 1);
    const declared =
      kind === 'customer-extra'
        ? data.customers.length === 0 || data.customers.some((c) => c.extra !== undefined && Object.hasOwn(c.extra, column))
        : kind === 'order-extra'
          ? data.orders.length === 0 || data.orders.some((o) => o.extra !== undefined && Object.hasOwn(o.extra, column))
          : kind === 'table'
            ? data.tables?.[f.slice(0, f.indexOf('.'))] !== undefined
            : kind !== undefined;
    if (!declared) throw new RangeError(`inputFields: no row content is defined for field '${f}' (not a built-in field, and this shop declares no such column)`);
  }
  // A further table of customers' rows (order lines) is read per customer, like orders.
  const linkedTable = (f: string): string | undefined => {
    if (fieldKind(f) !== 'table') return undefined;
    const table = f.slice(0, f.indexOf('.'));
    return data.tables?.[table]?.customerIds === undefined ? undefined : table;
  };
  const perCustomer = (f: string): boolean => !isShopLevel(f) || linkedTable(f) !== undefined;
  // A release that reads no customer-level table (a shop-metrics benchmark, a store-week model) reads no customers at all.
  const readsCustomers = scope.customer !== undefined || fields.some(perCustomer);
  const customers = readsCustomers ? data.customers.filter((c) => scope.customer === undefined || scope.customer(c)) : [];
  const ids = new Set(customers.map((c) => c.customerId));
  const wants = (prefix: string) => fields.some((f) => f.startsWith(prefix));
  const orders = wants('order.') ? byCustomer(data.orders, ids, scope.order) : new Map<string, Order[]>();
  const sessions = wants('session.') ? byCustomer(data.sessions, ids, scope.session) : new Map<string, Session[]>();
  const campaigns = wants('campaign.') ? byCustomer(data.campaigns, ids, scope.campaign) : new Map<string, CampaignExposure[]>();
  const linkedRows = new Map<string, Map<string, LinkedRow[]>>();
  for (const f of fields) {
    const table = linkedTable(f);
    if (table === undefined || linkedRows.has(table)) continue;
    const t = data.tables?.[table] as DataTable;
    linkedRows.set(table, byCustomer(t.rows.map((row, i): LinkedRow => ({ customerId: t.customerIds?.[i] as string, row })), ids, undefined));
  }

  const out = new Map<string, Map<string, string>>();
  for (const c of customers) {
    const m = new Map<string, string>();
    for (const f of fields) {
      const cf = CUSTOMER_FIELDS[f];
      const of = ORDER_FIELDS[f];
      const sf = SESSION_FIELDS[f];
      const ef = CAMPAIGN_FIELDS[f];
      const kind = fieldKind(f);
      if (cf) m.set(f, text(cf(c)));
      else if (of) m.set(f, joined((orders.get(c.customerId) ?? []).map((o) => `${text(o.orderId)}=${text(of(o))}`)));
      else if (kind === 'customer-extra') m.set(f, text(c.extra?.[f.slice('customer.'.length)]));
      else if (kind === 'order-extra') m.set(f, joined((orders.get(c.customerId) ?? []).map((o) => `${text(o.orderId)}=${text(o.extra?.[f.slice('order.'.length)])}`)));
      // Sessions carry no id: a session's position among the customer's sessions in the shop's data is its
      // identity, so two sessions trading their values is a change, as it changes per-channel figures.
      else if (sf) m.set(f, joined((sessions.get(c.customerId) ?? []).map((s, i) => `${i}=${text(sf(s))}`)));
      else if (ef) m.set(f, joined((campaigns.get(c.customerId) ?? []).map((e) => `${text(e.campaignId)}=${text(ef(e))}`)));
      // Rows of a further table carry no id: a row's position among its customer's rows is its identity.
      else if (linkedTable(f) !== undefined) {
        const rows = linkedRows.get(linkedTable(f) as string)?.get(c.customerId) ?? [];
        const column = f.slice(f.indexOf('.') + 1);
        m.set(f, joined(rows.map((r, i) => `${i}=${text(r.row[column])}`)));
      }
    }
    if (out.has(c.customerId)) throw new RangeError(`data.customers: duplicate customerId`);
    out.set(c.customerId, m);
  }
  const shop = new Map<string, string>();
  const months = (data.shopMetrics ?? []).filter((m) => scope.shopMetrics === undefined || scope.shopMetrics(m));
  for (const f of fields) {
    const mf = SHOP_METRICS_FIELDS[f];
    if (mf) shop.set(f, joined(months.map((m) => `${text(m.period)}=${text(mf(m))}`)));
    else if (fieldKind(f) === 'table' && linkedTable(f) === undefined) {
      // Rows of a further table carry no id: a row's position in the shop's data is its identity.
      const [table, column] = f.split('.') as [string, string];
      shop.set(f, joined((data.tables?.[table]?.rows ?? []).map((r, i) => `${i}=${text(r[column])}`)));
    }
  }
  return { fields: fields.filter(perCustomer), customers: out, shop };
}
