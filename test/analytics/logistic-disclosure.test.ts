/**
 * The declared per-customer sensitivity of a logistic round bounds what
 * removing one customer really changes in every field of a shop's vector.
 */
import { describe, expect, it } from 'vitest';
import { loadShopData } from '../../client-sdk/index.js';
import { logisticRoundQuery, type ShopData } from '../../analytics/index.js';
import { makeShops } from '../../harness/shops.js';

describe('logistic round sensitivity', () => {
  it('bounds the change of every field when one customer leaves', async () => {
    const shops = await makeShops(3, 'logistic-sensitivity');
    const data = await loadShopData(shops.shopDirs[0]!.dir, shops.shopDirs[0]!.shopId);
    const spec = logisticRoundQuery.parseSpec({
      kind: 'logistic-irls-round', purpose: 'churn-modelling', fitId: 'f', round: 1, holdoutPercent: 0, maxFeatureAbs: 20,
      features: ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'], label: 'churning',
      beta: [-1, 0.3, -0.2, 0.5, 0.1, 0.05],
    });
    const names = logisticRoundQuery.fields(spec).map((f) => f.name);
    const sensitivity = logisticRoundQuery.subjectSensitivity!(spec);
    expect(Object.keys(sensitivity.perField).sort()).toEqual([...names].sort());
    const full = logisticRoundQuery.computeLocal(spec, data);
    let worst = 0;
    for (const c of data.customers.filter((x) => x.consentAnalytics).slice(0, 40)) {
      const without: ShopData = { ...data, customers: data.customers.filter((x) => x !== c), orders: data.orders.filter((o) => o.customerId !== c.customerId) };
      const less = logisticRoundQuery.computeLocal(spec, without);
      names.forEach((n, i) => {
        const delta = full[i]! > less[i]! ? full[i]! - less[i]! : less[i]! - full[i]!;
        worst = Math.max(worst, Number(delta) / Number(sensitivity.perField[n]!));
        expect(delta <= sensitivity.perField[n]!, n).toBe(true);
      });
    }
    expect(worst).toBeGreaterThan(0);
  });
});
