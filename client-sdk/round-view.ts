/**
 * What a round's statistic may see of the shop: only customers whose consent
 * for the purpose is valid at the cutoff, under keyed pseudonyms instead of
 * customer ids, with quasi-identifiers generalised and every field outside the
 * purpose's allow-list blanked (GB/T 37964 de-identification; PIPL art. 6
 * minimisation). The statistic is computed from this view only.
 */
import type { Customer, Order, ShopData } from '../analytics/index.js';
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
  return { shopId: data.shopId, customers, orders };
}
