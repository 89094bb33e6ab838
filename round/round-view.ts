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

export function roundView(data: ShopData, included: ReadonlySet<string>, purpose: PurposeDefinition, pseudonymKey: Uint8Array): ShopData {
  const allowed = new Set(purpose.allowedFields);
  const may = (field: string) => allowed.has(field);
  const pseudonyms = new Map<string, string>();
  const customers: Customer[] = [];
  for (const c of data.customers) {
    if (!included.has(c.customerId)) continue;
    const p = pseudonymise(c.customerId, pseudonymKey);
    pseudonyms.set(c.customerId, p);
    customers.push({
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
  const orders: Order[] = [];
  for (const o of data.orders) {
    const p = pseudonyms.get(o.customerId);
    if (p === undefined) continue;
    orders.push({
      orderId: pseudonymise(`order:${o.orderId}`, pseudonymKey),
      customerId: p,
      orderedUnixS: may('order.ordered_at') ? o.orderedUnixS : 0,
      amountCents: may('order.amount') ? o.amountCents : 0n,
      returned: may('order.returned') ? o.returned : false,
      ...allowedExtra('order', o.extra, may),
    });
  }
  const view: { -readonly [K in keyof ShopData]: ShopData[K] } = { shopId: data.shopId, customers, orders };
  if (data.campaigns !== undefined) {
    const campaigns: CampaignExposure[] = [];
    for (const e of data.campaigns) {
      const p = pseudonyms.get(e.customerId);
      if (p === undefined) continue;
      campaigns.push({
        customerId: p,
        campaignId: may('campaign.campaign_id') ? e.campaignId : '',
        variant: may('campaign.variant') ? e.variant : '',
        exposed: may('campaign.exposed') ? e.exposed : false,
        opened: may('campaign.opened') ? e.opened : false,
        clicked: may('campaign.clicked') ? e.clicked : false,
        converted: may('campaign.converted') ? e.converted : false,
      });
    }
    view.campaigns = campaigns;
  }
  if (data.sessions !== undefined) {
    const sessions: Session[] = [];
    for (const s of data.sessions) {
      const p = pseudonyms.get(s.customerId);
      if (p === undefined) continue;
      sessions.push({
        customerId: p,
        channel: may('session.channel') ? s.channel : '',
        viewed: may('session.viewed') ? s.viewed : false,
        carted: may('session.carted') ? s.carted : false,
        ordered: may('session.ordered') ? s.ordered : false,
      });
    }
    view.sessions = sessions;
  }
  if (data.shopMetrics !== undefined) {
    const n = (field: string, v: number): number => (may(`shop_metrics.${field}`) ? v : 0);
    view.shopMetrics = data.shopMetrics.map(
      (m): ShopMetricsPeriod => ({
        period: may('shop_metrics.period') ? m.period : '',
        orders: n('orders', m.orders),
        ratings: n('ratings', m.ratings),
        positiveRatings: n('positive_ratings', m.positiveRatings),
        returns: n('returns', m.returns),
        complaints: n('complaints', m.complaints),
        inquiries: n('inquiries', m.inquiries),
        responseTimeSumS: n('response_time_sum_s', m.responseTimeSumS),
      }),
    );
  }
  if (data.tables !== undefined) {
    // Business rows: no customer, so consent does not filter them; rows of customers follow their customer
    // like orders (kept only for included customers, under the pseudonym). Columns outside the allow-list are blanked.
    const tables: Record<string, DataTable> = {};
    for (const [name, table] of Object.entries(data.tables)) {
      if (table.customerIds === undefined) {
        tables[name] = { rows: table.rows.map((row) => blankExtra(name, row, may)) };
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
      tables[name] = { rows, customerIds };
    }
    view.tables = tables;
  }
  return view;
}

/** A row's extra columns with those the purpose may not read set to null (a missing value). */
function blankExtra(table: string, row: Readonly<Record<string, ColumnValue>>, may: (field: string) => boolean): Record<string, ColumnValue> {
  const out: Record<string, ColumnValue> = {};
  for (const [k, v] of Object.entries(row)) out[k] = may(`${table}.${k}`) ? v : null;
  return out;
}

function allowedExtra(table: string, extra: Readonly<Record<string, ColumnValue>> | undefined, may: (field: string) => boolean): { extra?: Record<string, ColumnValue> } {
  return extra === undefined ? {} : { extra: blankExtra(table, extra, may) };
}
