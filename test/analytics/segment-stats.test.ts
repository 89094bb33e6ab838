import { describe, expect, it } from 'vitest';
import { SEGMENT_STAT_NAMES, type Customer, type LifecycleStage, type Order, type ShopData } from '../../analytics/index.js';
import { segmentStatsQuery as q } from '../../analytics/segment-stats.js';
import type { ReleasedTotals } from '../../analytics/query-definition.js';

const DAY = 86_400;
const spec = q.parseSpec({ kind: 'segment-stats', purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' });

function customer(customerId: string, lifecycleStage: LifecycleStage, consentAnalytics = true): Customer {
  return { customerId, lifecycleStage, consentAnalytics, consentMarketing: false, city: '上海', ageBand: '25-34', signupUnixS: 0 };
}

let orderSeq = 0;
function order(customerId: string, day: number, cents: bigint, returned = false): Order {
  return { orderId: `O-${++orderSeq}`, customerId, orderedUnixS: day * DAY, amountCents: cents, returned };
}

/** Field name → value, for readable assertions. */
function named(values: readonly bigint[], s = spec): Record<string, bigint> {
  return Object.fromEntries(q.fields(s).map((f, i) => [f.name, values[i] as bigint]));
}

function release(values: readonly bigint[], suppressed: readonly string[] = []): ReleasedTotals {
  const byName = named(values);
  return {
    cells: Object.fromEntries(
      q.cells(spec).map((c) => [c.name, suppressed.includes(c.name) ? { suppressed: true } : { suppressed: false, totals: Object.fromEntries(c.fields.map((f) => [f, byName[f] as bigint])) }]),
    ),
  };
}

const shop: ShopData = {
  shopId: 'shop-t',
  customers: [
    customer('L1', 'loyal'),
    customer('L2', 'loyal'),
    customer('A1', 'active'),
    customer('N1', 'new'),
    customer('X1', 'loyal', false), // no analytics consent
  ],
  orders: [
    order('L1', 30, 10_000n),
    order('L1', 10, 20_000n), // out of order on purpose
    order('L1', 20, 30_000n, true),
    order('L2', 5, 5_000n),
    order('A1', 40, 12_345n),
    order('X1', 1, 99_999n),
    order('X1', 2, 99_999n),
    order('GHOST', 3, 1n), // customer not listed
  ],
};

describe('segment-stats computeLocal', () => {
  it('computes exact sufficient statistics over consented customers only', () => {
    const v = named(q.computeLocal(spec, shop));
    expect(v['loyal.customers']).toBe(2n);
    expect(v['loyal.repeat_customers']).toBe(1n);
    expect(v['loyal.orders']).toBe(4n);
    expect(v['loyal.order_value_sum_cents']).toBe(65_000n);
    expect(v['loyal.order_value_sumsq_cents2']).toBe(10_000n ** 2n + 20_000n ** 2n + 30_000n ** 2n + 5_000n ** 2n);
    expect(v['loyal.interval_count']).toBe(2n);
    expect(v['loyal.interval_sum_s']).toBe(20n * BigInt(DAY));
    expect([v['active.customers'], v['active.repeat_customers'], v['active.orders'], v['active.interval_count']]).toEqual([1n, 0n, 1n, 0n]);
    expect([v['new.customers'], v['new.orders'], v['new.order_value_sum_cents']]).toEqual([1n, 0n, 0n]);
    expect(Object.values(named(q.computeLocal(spec, shop))).every((x) => x >= 0n)).toBe(true);
    expect(v['churning.customers']).toBe(0n);
  });

  it('can leave returned orders out', () => {
    const v = named(q.computeLocal({ ...spec, excludeReturned: true }, shop));
    expect(v['loyal.orders']).toBe(3n);
    expect(v['loyal.order_value_sum_cents']).toBe(35_000n);
    expect(v['loyal.interval_sum_s']).toBe(20n * BigInt(DAY));
  });

  it('throws RangeError naming the field when a bound is exceeded, never clamping', () => {
    const withBounds = (bounds: Record<string, number>) => q.parseSpec({ kind: 'segment-stats', purpose: 'marketing-analytics', groupBy: 'lifecycle_stage', bounds });
    expect(() => q.computeLocal(withBounds({ maxCustomers: 1 }), shop)).toThrow(/field loyal\.customers/);
    expect(() => q.computeLocal(withBounds({ maxOrders: 3 }), shop)).toThrow(/field loyal\.orders/);
    expect(() => q.computeLocal(withBounds({ maxOrderCents: 25_000 }), shop)).toThrow(/field loyal\.order_value_sum_cents.*maxOrderCents/);
    expect(() => q.computeLocal(withBounds({ horizonSeconds: 9 * DAY }), shop)).toThrow(/field loyal\.interval_sum_s/);
    for (const b of [{ maxCustomers: 1 }, { maxOrders: 3 }, { maxOrderCents: 25_000 }, { horizonSeconds: 9 * DAY }] as Record<string, number>[]) {
      expect(() => q.computeLocal(withBounds(b), shop)).toThrow(RangeError);
    }
  });

  it('refuses malformed data', () => {
    expect(() => q.computeLocal(spec, { shopId: 's', customers: null } as unknown as ShopData)).toThrow(/^data/);
    expect(() => q.computeLocal(spec, { ...shop, customers: [customer('A', 'new'), customer('A', 'loyal')] })).toThrow(/duplicate customerId A/);
    expect(() => q.computeLocal(spec, { ...shop, orders: [order('L1', 1, -5n)] })).toThrow(RangeError);
    expect(() => q.computeLocal(spec, { ...shop, orders: [{ ...order('L1', 1, 5n), amountCents: 5 as unknown as bigint }] })).toThrow(TypeError);
  });
});

describe('segment-stats finalise', () => {
  it('derives rates, mean, sample variance and days from exact totals', () => {
    const table = q.finalise(spec, release(q.computeLocal(spec, shop)));
    const loyal = table.rows.find((r) => r.stage === 'loyal');
    const amounts = [100, 200, 300, 50];
    const mean = amounts.reduce((a, b) => a + b) / 4;
    const variance = amounts.reduce((a, b) => a + (b - mean) ** 2, 0) / 3;
    expect(loyal).toEqual({
      stage: 'loyal',
      suppressed: false,
      customers: 2,
      repeatCustomers: 1,
      orders: 4,
      repurchaseRate: 0.5,
      orderValueMean: 162.5,
      orderValueVariance: variance,
      meanDaysBetweenOrders: 10,
    });
    const active = table.rows.find((r) => r.stage === 'active');
    expect(active).toMatchObject({ orders: 1, orderValueMean: 123.45, orderValueVariance: null, meanDaysBetweenOrders: null, repurchaseRate: 0 });
    expect(table.rows.find((r) => r.stage === 'churning')).toMatchObject({ customers: 0, repurchaseRate: null, orderValueMean: null });
    expect(table.rows.map((r) => r.stage)).toEqual(['new', 'active', 'loyal', 'churning']);
  });

  it('keeps precision where floating-point sums would lose it', () => {
    // Huge identical orders: the variance is exactly 0 and the mean exact.
    const big = 99_999_999n;
    const totals = q.fields(spec).map(() => 0n);
    const at = (name: string): number => q.fields(spec).findIndex((f) => f.name === name);
    totals[at('active.customers')] = 3n;
    totals[at('active.orders')] = 3_000_001n;
    totals[at('active.order_value_sum_cents')] = 3_000_001n * big;
    totals[at('active.order_value_sumsq_cents2')] = 3_000_001n * big * big;
    const row = q.finalise(spec, release(totals)).rows.find((r) => r.stage === 'active');
    expect(row?.orderValueVariance).toBe(0);
    expect(row?.orderValueMean).toBe(999_999.99);

    // Near-identical large orders: exact variance 2/3 cent² = 2/30000 yuan²,
    // where a floating-point pass is already off in the 8th digit.
    const amounts = [100_000_000n, 100_000_000n, 99_999_999n, 100_000_000n, 99_999_999n, 99_999_998n];
    const data: ShopData = {
      shopId: 's',
      customers: [customer('C', 'new')],
      orders: amounts.map((a, i) => order('C', i, a)),
    };
    const exact = q.finalise(spec, release(q.computeLocal(spec, data))).rows[0];
    expect(exact?.orderValueVariance).toBe(2 / 30_000);
    expect(exact?.orderValueMean).toBe(599_999_996 / 600);
  });

  it('passes suppression through and refuses malformed releases', () => {
    const values = q.computeLocal(spec, shop);
    const table = q.finalise(spec, release(values, ['new']));
    expect(table.rows[0]).toMatchObject({ stage: 'new', suppressed: true, customers: null, orderValueMean: null });
    const missingCell = release(values);
    const { new: _dropped, ...cells } = missingCell.cells;
    expect(() => q.finalise(spec, { cells })).toThrow(/release\.cells\.new/);
    const missingField = { cells: { ...missingCell.cells, loyal: { suppressed: false, totals: { 'loyal.customers': 1n } } } };
    expect(() => q.finalise(spec, missingField)).toThrow(/loyal\.repeat_customers/);
    expect(() => q.finalise(spec, null as unknown as ReleasedTotals)).toThrow(/^release/);
  });

  it('names every statistic once per stage', () => {
    expect(SEGMENT_STAT_NAMES).toHaveLength(7);
  });
});
