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
 * have stays absent.
 */
import type { CampaignExposure, Customer, Order, Session, ShopData, ShopMetricsPeriod } from '../analytics/index.js';
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
  return view;
}
