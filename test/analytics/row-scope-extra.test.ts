/**
 * Row contents of the columns shops declare themselves: extra customer and
 * order columns are customer-level content (so differencing counts the
 * customers whose values changed), columns of further business tables are
 * shop-level content read by no customer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readsNoCustomers, rowContents, type ShopData } from '../../analytics/index.js';

function shop(incomes: readonly (number | null)[], prices: readonly number[]): ShopData {
  return {
    shopId: 's',
    customers: incomes.map((income, i) => ({
      customerId: `c${i}`,
      lifecycleStage: 'active',
      consentAnalytics: true,
      consentMarketing: false,
      city: '',
      ageBand: '',
      signupUnixS: 0,
      extra: { income, gender: i % 2 === 0 ? 'F' : 'M' },
    })),
    orders: incomes.map((_, i) => ({ orderId: `o${i}`, customerId: `c${i}`, orderedUnixS: 100, amountCents: 100n, returned: false, extra: { units: i } })),
    tables: { store_week: { rows: prices.map((price, week) => ({ price, week })) } },
  };
}

describe('row contents of declared columns', () => {
  it('a changed extra value changes exactly that customer, and only for the field read', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: -5, max: 5 }), { nil: null }), { minLength: 1, maxLength: 20 }), fc.nat(), fc.integer({ min: 6, max: 9 }), (incomes, pick, value) => {
        const i = pick % incomes.length;
        const before = shop(incomes, [1]);
        const after = shop(incomes.map((v, j) => (j === i ? value : v)), [1]);
        const a = rowContents(before, ['customer.income', 'order.units']);
        const b = rowContents(after, ['customer.income', 'order.units']);
        const changed = [...a.customers.keys()].filter((id) => a.customers.get(id)?.get('customer.income') !== b.customers.get(id)?.get('customer.income'));
        expect(changed).toEqual([`c${i}`]);
        expect([...a.customers.keys()].every((id) => a.customers.get(id)?.get('order.units') === b.customers.get(id)?.get('order.units'))).toBe(true);
      }),
    );
  });

  it('a further table is shop-level content, read by no customer', () => {
    const a = rowContents(shop([1, 2], [2.5, 3]), ['store_week.price']);
    const b = rowContents(shop([1, 2], [2.5, 3.1]), ['store_week.price']);
    expect(a.customers.size).toBe(0);
    expect(a.shop.get('store_week.price')).not.toBe(b.shop.get('store_week.price'));
    expect(readsNoCustomers(['store_week.price', 'shop_metrics.orders'])).toBe(true);
    expect(readsNoCustomers(['store_week.price', 'customer.income'])).toBe(false);
    expect(readsNoCustomers(['store_week.price'], { customer: () => true })).toBe(false);
    expect(readsNoCustomers([])).toBe(false);
  });

  it('refuses a column the shop does not declare', () => {
    expect(() => rowContents(shop([1], [1]), ['customer.nope'])).toThrow(RangeError);
    expect(() => rowContents(shop([1], [1]), ['order.nope'])).toThrow(RangeError);
    expect(() => rowContents(shop([1], [1]), ['sales.price'])).toThrow(RangeError);
  });
});
