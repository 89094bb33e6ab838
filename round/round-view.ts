/**
 * What a round's statistic may see of the shop: only customers whose consent
 * for the purpose is valid at the cutoff, under keyed pseudonyms instead of
 * customer ids, with quasi-identifiers generalised and every field outside the
 * purpose's allow-list blanked (GB/T 37964 de-identification; PIPL art. 6
 * minimisation). The statistic is computed from this view only.
 *
 * Campaign and session rows follow their customer: kept only for included
 * customers, under the same pseudonym, with `campaign.*` / `session.*` fields
 * outside the allow-list blanked (`''` or `false`). Shop-metrics rows hold no
 * customer, so consent does not filter them; their `shop_metrics.*` fields
 * are blanked (`''` or 0) unless allowed. An optional table the shop does not
 * have stays absent. Extra columns (`customer.<name>`, `order.<name>`) and
 * the columns of further tables (`<table>.<name>`) are null unless allowed;
 * a further table of business rows holds no customer, so consent does not
 * filter its rows; a table of customers' rows follows its customers.
 */
import type { CampaignExposure, ColumnValue, Customer, DataTable, Order, Session, ShopData, ShopMetricsPeriod } from '../analytics/index.js';
import { generaliseCity, pseudonymise, type PurposeDefinition } from '../compliance/index.js';

/** Whether the purpose may read a `table.field`. */
type May = (field: string) => boolean;

/** Customer id → pseudonym, for the customers the round includes. */
type Pseudonyms = ReadonlyMap<string, string>;

export function roundView(data: ShopData, included: ReadonlySet<string>, purpose: PurposeDefinition, pseudonymKey: Uint8Array): ShopData {
  const allowed = new Set(purpose.allowedFields);
  const may: May = (field) => allowed.has(field);
  const pseudonyms = new Map<string, string>();
  for (const c of data.customers) if (included.has(c.customerId)) pseudonyms.set(c.customerId, pseudonymise(c.customerId, pseudonymKey));
  const view: { -readonly [K in keyof ShopData]: ShopData[K] } = {
    shopId: data.shopId,
    customers: customersView(data.customers, pseudonyms, may),
    orders: ordersView(data.orders, pseudonyms, may, pseudonymKey),
  };
  if (data.campaigns !== undefined) view.campaigns = campaignsView(data.campaigns, pseudonyms, may);
  if (data.sessions !== undefined) view.sessions = sessionsView(data.sessions, pseudonyms, may);
  if (data.shopMetrics !== undefined) view.shopMetrics = shopMetricsView(data.shopMetrics, may);
  if (data.tables !== undefined) view.tables = tablesView(data.tables, pseudonyms, may);
  return view;
}

function customersView(customers: readonly Customer[], pseudonyms: Pseudonyms, may: May): Customer[] {
  const out: Customer[] = [];
  for (const c of customers) {
    const p = pseudonyms.get(c.customerId);
    if (p === undefined) continue;
    out.push({
      customerId: p,
      lifecycleStage: c.lifecycleStage,
      consentAnalytics: true,
      consentMarketing: false,
      city: may('customer.city_level') ? generaliseCity(c.city) : '',
      ageBand: may('customer.age_band') ? c.ageBand : '',
      signupUnixS: may('customer.signup_at') ? c.signupUnixS : 0,
      ...allowedExtra('customer', c.extra, may),
    });
  }
  return out;
}

function ordersView(orders: readonly Order[], pseudonyms: Pseudonyms, may: May, pseudonymKey: Uint8Array): Order[] {
  const out: Order[] = [];
  for (const o of orders) {
    const p = pseudonyms.get(o.customerId);
    if (p === undefined) continue;
    out.push({
      orderId: pseudonymise(`order:${o.orderId}`, pseudonymKey),
      customerId: p,
      orderedUnixS: may('order.ordered_at') ? o.orderedUnixS : 0,
      amountCents: may('order.amount') ? o.amountCents : 0n,
      returned: may('order.returned') ? o.returned : false,
      ...allowedExtra('order', o.extra, may),
    });
  }
  return out;
}

function campaignsView(campaigns: readonly CampaignExposure[], pseudonyms: Pseudonyms, may: May): CampaignExposure[] {
  const out: CampaignExposure[] = [];
  for (const e of campaigns) {
    const p = pseudonyms.get(e.customerId);
    if (p === undefined) continue;
    out.push({
      customerId: p,
      campaignId: may('campaign.campaign_id') ? e.campaignId : '',
      variant: may('campaign.variant') ? e.variant : '',
      exposed: may('campaign.exposed') ? e.exposed : false,
      opened: may('campaign.opened') ? e.opened : false,
      clicked: may('campaign.clicked') ? e.clicked : false,
      converted: may('campaign.converted') ? e.converted : false,
    });
  }
  return out;
}

function sessionsView(sessions: readonly Session[], pseudonyms: Pseudonyms, may: May): Session[] {
  const out: Session[] = [];
  for (const s of sessions) {
    const p = pseudonyms.get(s.customerId);
    if (p === undefined) continue;
    out.push({
      customerId: p,
      channel: may('session.channel') ? s.channel : '',
      viewed: may('session.viewed') ? s.viewed : false,
      carted: may('session.carted') ? s.carted : false,
      ordered: may('session.ordered') ? s.ordered : false,
    });
  }
  return out;
}

/** Shop-metrics rows hold no customer: every row stays, with fields outside the allow-list blanked. */
function shopMetricsView(periods: readonly ShopMetricsPeriod[], may: May): ShopMetricsPeriod[] {
  const n = (field: string, v: number): number => (may(`shop_metrics.${field}`) ? v : 0);
  return periods.map((m) => ({
    period: may('shop_metrics.period') ? m.period : '',
    orders: n('orders', m.orders),
    ratings: n('ratings', m.ratings),
    positiveRatings: n('positive_ratings', m.positiveRatings),
    returns: n('returns', m.returns),
    complaints: n('complaints', m.complaints),
    inquiries: n('inquiries', m.inquiries),
    responseTimeSumS: n('response_time_sum_s', m.responseTimeSumS),
  }));
}

/**
 * Business rows: no customer, so consent does not filter them; rows of
 * customers follow their customer like orders (kept only for included
 * customers, under the pseudonym). Columns outside the allow-list are blanked.
 */
function tablesView(tables: Readonly<Record<string, DataTable>>, pseudonyms: Pseudonyms, may: May): Record<string, DataTable> {
  const out: Record<string, DataTable> = {};
  for (const [name, table] of Object.entries(tables)) {
    if (table.customerIds === undefined) {
      out[name] = { rows: table.rows.map((row) => blankExtra(name, row, may)) };
      continue;
    }
    const rows: Record<string, ColumnValue>[] = [];
    const customerIds: string[] = [];
    table.rows.forEach((row, i) => {
      const p = pseudonyms.get(table.customerIds?.[i] as string);
      if (p === undefined) return;
      rows.push(blankExtra(name, row, may));
      customerIds.push(p);
    });
    out[name] = { rows, customerIds };
  }
  return out;
}

/** A row's extra columns with those the purpose may not read set to null (a missing value). */
function blankExtra(table: string, row: Readonly<Record<string, ColumnValue>>, may: May): Record<string, ColumnValue> {
  const out: Record<string, ColumnValue> = {};
  for (const [k, v] of Object.entries(row)) out[k] = may(`${table}.${k}`) ? v : null;
  return out;
}

function allowedExtra(table: string, extra: Readonly<Record<string, ColumnValue>> | undefined, may: May): { extra?: Record<string, ColumnValue> } {
  return extra === undefined ? {} : { extra: blankExtra(table, extra, may) };
}
