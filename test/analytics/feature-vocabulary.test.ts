/**
 * One feature vocabulary: the older kinds' names (`orders`, `avg_order_value`,
 * `return_rate`, `tenure_years`, `mean_gap_days`) are named features of
 * analytics/features.ts. Checked against a plain computation written here
 * (nothing from analytics/features.ts), both as the older kinds read them
 * (every order) and measured at asOf; a formula model reading
 * `orders + avg_order_value` reads the numbers logistic-regression's rows
 * hold; and the older kinds still read nothing outside their inputFields.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featureRows, linearModelRows, parseLinearModelSpec, type Order, type ShopData } from '../../analytics/index.js';
import { AFTER_EVERY_ORDER_UNIX_S, PLAIN_FEATURE_NAMES, customerFacts, featureDefinition, featureMatrix, featuresInputFields } from '../../analytics/features.js';
import { CUSTOMER_FEATURES, type CUSTOMER_FEATURE_NAMES, featureInputFields } from '../../analytics/customer-features.js';
import { kindGuide } from '../../analytics/kind-guide.js';
import { modelInputFields } from '../../analytics/model-data.js';
import { roundView } from '../../client-sdk/index.js';
import { DEFAULT_FIELD_CLASSIFICATION, DEFAULT_PURPOSES, type PurposeDefinition } from '../../compliance/index.js';
import { AS_OF, AS_OF_S, datasetArb, splitShops } from '../helpers/random-shop-data.js';

const OLD_NAMES = ['orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'] as const;
const DAY = 86_400;
const KEY = new Uint8Array(32).fill(5);
const EVERYTHING: PurposeDefinition = { ...DEFAULT_PURPOSES[0]!, allowedFields: DEFAULT_FIELD_CLASSIFICATION.fields.map((f) => f.field) };

/** The older names by hand over the given orders of one customer: counts, sums and means, nothing shared with the code under test. */
function plainOldValues(signupUnixS: number, orders: readonly Order[]): number[] {
  const n = orders.length;
  let cents = 0;
  let returned = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const o of orders) {
    cents += Number(o.amountCents);
    if (o.returned) returned += 1;
    first = Math.min(first, o.orderedUnixS);
    last = Math.max(last, o.orderedUnixS);
  }
  const yuanMean = n === 0 ? 0 : cents / 100 / n;
  const tenureS = n === 0 ? 0 : Math.max(0, last - signupUnixS);
  return [n / 10, yuanMean / 100, n === 0 ? 0 : returned / n, tenureS / (365 * DAY), n < 2 ? 0 : (last - first) / (n - 1) / DAY / 30];
}

/** Per customer, in customer order: the plain values over the orders placed before `before`. */
function plainOldRows(data: ShopData, before: number): number[][] {
  return data.customers.map((c) =>
    plainOldValues(
      c.signupUnixS,
      data.orders.filter((o) => o.customerId === c.customerId && o.orderedUnixS < before),
    ),
  );
}

function expectClose(actual: readonly (readonly number[])[], expected: readonly (readonly number[])[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) =>
    row.forEach((v, j) => {
      const want = expected[i]![j]!;
      expect(Math.abs(v - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
    }),
  );
}

describe('the older feature names in the one vocabulary', () => {
  it('are named features of features.ts with their scale, description and fields', () => {
    for (const name of OLD_NAMES) {
      const d = featureDefinition(name);
      expect(d?.name).toBe(name);
      expect(PLAIN_FEATURE_NAMES).toContain(name);
      expect(CUSTOMER_FEATURES[name].describe).toBe(d?.description);
      // Measured at asOf they read the order time (to leave later orders out); the older kinds count every order.
      expect(d?.inputFields).toContain('order.ordered_at');
    }
    expect(featureDefinition('intercept')).toBeUndefined();
    expect(featureInputFields(['intercept', 'avg_order_value', 'return_rate'])).toEqual(['order.amount', 'order.returned']);
    expect(featureInputFields(['orders', 'tenure_years', 'mean_gap_days'], 'churning')).toEqual(['customer.lifecycle_stage', 'customer.signup_at', 'order.ordered_at']);
    expect(featuresInputFields(['avg_order_value', 'return_rate'])).toEqual(['order.amount', 'order.ordered_at', 'order.returned']);
  });

  it('are listed by the kind guide as named features and formula variables', () => {
    const lr = JSON.stringify(kindGuide('linear-regression'));
    const lm = JSON.stringify(kindGuide('linear-model'));
    for (const name of OLD_NAMES) {
      expect(lr).toContain(`${name} (${featureDefinition(name)?.description}`);
      expect(lm).toContain(name);
    }
  });

  it('refuses order fields without the order time at a real instant (no order could be left out)', () => {
    const data: ShopData = { shopId: 's', customers: [], orders: [] };
    expect(() => customerFacts(data, AS_OF_S, new Set(['order.amount']))).toThrow(/^needs: /);
    expect(customerFacts(data, AFTER_EVERY_ORDER_UNIX_S, new Set(['order.amount']))).toEqual([]);
  });

  it('equal the plain computation over every order in the older kinds and over orders before asOf in features.ts (property)', () => {
    fc.assert(
      fc.property(datasetArb(2, 0, 25), (d) => {
        for (const shop of splitShops(d)) {
          const old = featureRows(shop, ['intercept', ...OLD_NAMES], 'repeat', { holdoutPercent: 0, part: 'all' });
          expect(old.map((r) => r.x[0])).toEqual(shop.customers.map(() => 1));
          expectClose(
            old.map((r) => r.x.slice(1)),
            plainOldRows(shop, Infinity),
          );
          // Never undefined, so no customer is deleted; measured at asOf, later orders do not exist yet.
          expectClose(featureMatrix(shop, OLD_NAMES, AS_OF_S), plainOldRows(shop, AS_OF_S));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('read in a formula model the numbers logistic-regression rows hold (property)', () => {
    const spec = (asOf: string) =>
      parseLinearModelSpec({ kind: 'linear-model', purpose: 'marketing-analytics', data: 'customers', asOf, formula: 'return_rate ~ orders + avg_order_value' });
    const afterAll = spec('2099-01-01T00:00:00Z');
    const atAsOf = spec(AS_OF);
    expect(modelInputFields(afterAll)).toEqual(['order.amount', 'order.ordered_at', 'order.returned']);
    fc.assert(
      fc.property(datasetArb(1, 0, 25), (d) => {
        const [shop] = splitShops(d);
        const rows = featureRows(shop!, ['orders', 'avg_order_value', 'return_rate'], 'churning', { holdoutPercent: 0, part: 'all' });
        expect(linearModelRows(afterAll, shop!)).toEqual(rows.map((r) => r.x));
        expectClose(
          linearModelRows(atAsOf, shop!),
          plainOldRows(shop!, AS_OF_S).map((r) => [r[0]!, r[1]!, r[2]!]),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('in the older kinds read nothing outside their inputFields (property)', () => {
    const sets: Array<[typeof CUSTOMER_FEATURE_NAMES, 'churning' | 'repeat' | 'loyal']> = [
      [['intercept', 'avg_order_value'], 'churning'],
      [['return_rate'], 'loyal'],
      [['orders', 'tenure_years'], 'churning'],
      [['mean_gap_days', 'avg_order_value', 'return_rate'], 'repeat'],
    ];
    fc.assert(
      fc.property(datasetArb(1, 0, 20), fc.constantFrom(...sets), (d, [features, label]) => {
        const [shop] = splitShops(d);
        const ids = new Set(shop!.customers.map((c) => c.customerId));
        const only: PurposeDefinition = { ...EVERYTHING, allowedFields: featureInputFields(features, label) };
        const split = { holdoutPercent: 20, part: 'train' } as const;
        expect(featureRows(roundView(shop!, ids, only, KEY), features, label, split)).toEqual(featureRows(roundView(shop!, ids, EVERYTHING, KEY), features, label, split));
      }),
      { numRuns: 60 },
    );
  });
});
