/**
 * `segment-stats` grouped by age band or city level: the declared group
 * lists, the layout and result shape, refusal of undeclared group values, and
 * the federated table over any split into shops equal to a plain pooled
 * computation per group.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson, type Customer, type Order, type SegmentStatsSpec, type ShopData } from '../../analytics/index.js';
import { AGE_BANDS, CITY_LEVELS } from '../../analytics/customer-groups.js';
import { segmentStatsQuery as q } from '../../analytics/segment-stats.js';
import type { SegmentGroupTable } from '../../analytics/segment-table.js';
import { DEFAULT_PURPOSES, generaliseAge, generaliseCity } from '../../compliance/index.js';
import { AGE_BANDS as COMPLIANCE_AGE_BANDS, CITY_LEVELS as COMPLIANCE_CITY_LEVELS } from '../../compliance/deidentify.js';
import { pooledGroupStats } from '../helpers/pooled-analytics.js';
import { federate, named, randomDataset, splitIntoShops } from '../helpers/plain-federation.js';

const DAY = 86_400;
const base = { kind: 'segment-stats', purpose: 'marketing-analytics' };
const byAge = q.parseSpec({ ...base, groupBy: 'age_band' });
const byCity = q.parseSpec({ ...base, groupBy: 'city_level' });

function customer(customerId: string, ageBand: string, city: string): Customer {
  return { customerId, lifecycleStage: 'active', consentAnalytics: true, consentMarketing: false, city, ageBand, signupUnixS: 0 };
}
let seq = 0;
function order(customerId: string, day: number, cents: number): Order {
  return { orderId: `O-${++seq}`, customerId, orderedUnixS: day * DAY, amountCents: BigInt(cents), returned: false };
}

const shop: ShopData = {
  shopId: 's',
  customers: [customer('Y1', '18-24', 'tier-1'), customer('Y2', '18-24', 'other'), customer('M1', '35-44', 'tier-1'), customer('K', '<18', 'tier-2')],
  orders: [order('Y1', 1, 10_000), order('Y1', 4, 20_000), order('Y2', 2, 30_000), order('M1', 3, 5_000)],
};

describe('segment groupings', () => {
  it('are the labels de-identification produces', () => {
    expect(AGE_BANDS).toBe(COMPLIANCE_AGE_BANDS);
    expect(CITY_LEVELS).toBe(COMPLIANCE_CITY_LEVELS);
    for (let age = 0; age <= 150; age++) expect(AGE_BANDS).toContain(generaliseAge(age));
    for (const city of ['上海', 'Chengdu', '佛山市', 'Lhasa', '']) expect(CITY_LEVELS).toContain(generaliseCity(city));
  });

  it('lay out one cell per declared group, subjects its customers, and read the grouping field', () => {
    expect(q.cells(byAge).map((c) => c.name)).toEqual([...AGE_BANDS]);
    expect(q.cells(byCity).map((c) => c.name)).toEqual([...CITY_LEVELS]);
    expect(q.cells(byAge)[0]).toMatchObject({ name: '<18', subjectsField: '<18.customers' });
    expect(q.fields(byCity)).toHaveLength(4 * 7);
    expect(q.inputFields(byAge)).toEqual(['customer.age_band', 'order.amount', 'order.ordered_at']);
    expect(q.inputFields(byCity)[0]).toBe('customer.city_level');
    const allowed = DEFAULT_PURPOSES.find((p) => p.name === 'marketing-analytics')!.allowedFields;
    for (const s of [byAge, byCity, q.parseSpec({ ...base, excludeReturned: true })]) for (const f of q.inputFields(s)) expect(allowed).toContain(f);
  });

  it('keep lifecycle_stage as the default grouping, with the stage table unchanged', () => {
    const s = q.parseSpec(base);
    expect(s.groupBy).toBe('lifecycle_stage');
    expect(q.parseSpec(JSON.parse(canonicalSpecJson(byAge)))).toEqual(byAge);
    expect(q.cells(s).map((c) => c.name)).toEqual(['new', 'active', 'loyal', 'churning']);
    const result = federate(q, s, [shop]);
    expect('groupBy' in result).toBe(false);
    expect(result.rows.map((r) => r.stage)).toEqual(['new', 'active', 'loyal', 'churning']);
  });

  it('compute per age band and city level by hand', () => {
    const v = named(q, byAge, q.computeLocal(byAge, shop));
    expect([v['18-24.customers'], v['18-24.repeat_customers'], v['18-24.orders'], v['18-24.order_value_sum_cents'], v['18-24.interval_sum_s']]).toEqual([
      2n, 1n, 3n, 60_000n, 3n * BigInt(DAY),
    ]);
    expect([v['<18.customers'], v['<18.orders'], v['35-44.orders'], v['65+.customers']]).toEqual([1n, 0n, 1n, 0n]);
    const c = named(q, byCity, q.computeLocal(byCity, shop));
    expect([c['tier-1.customers'], c['tier-1.orders'], c['tier-1.order_value_sum_cents']]).toEqual([2n, 3n, 35_000n]);
    expect([c['other.customers'], c['tier-2.customers'], c['new-tier-1.customers']]).toEqual([1n, 1n, 0n]);
  });

  it('refuse a group value outside the declared list, naming the input field', () => {
    const blanked = { ...shop, customers: [...shop.customers, customer('B', '', 'tier-1')] };
    expect(() => q.computeLocal(byAge, blanked)).toThrow(/customer\.age_band: customer B has ''/);
    const raw = { ...shop, customers: [customer('R', '25-34', '上海')] };
    expect(() => q.computeLocal(byCity, raw)).toThrow(RangeError);
    expect(() => q.computeLocal(byCity, raw)).toThrow(/customer\.city_level/);
    expect(() => q.computeLocal(byAge, { ...shop, customers: [customer('Z', '0-17', 'other')] })).toThrow(/customer\.age_band/);
  });

  it('finalise to { groupBy, rows: [{ group, ... }] } with suppressed groups null', () => {
    const table = federate(q, byAge, [shop], 2) as SegmentGroupTable;
    expect(table.groupBy).toBe('age_band');
    expect(table.rows.map((r) => r.group)).toEqual([...AGE_BANDS]);
    expect(table.rows[1]).toEqual({
      group: '18-24', suppressed: false, customers: 2, repeatCustomers: 1, orders: 3, repurchaseRate: 0.5,
      orderValueMean: 200, orderValueVariance: 10_000, meanDaysBetweenOrders: 3,
    });
    for (const r of table.rows.filter((x) => x.group !== '18-24')) {
      expect(r).toMatchObject({ suppressed: true, customers: null, orders: null, orderValueMean: null, repurchaseRate: null });
    }
  });
});

const close = (a: number | null, b: number | null, rel: number) => (a === null || b === null ? a === b : Math.abs(a - b) <= rel * Math.max(Math.abs(b), 1));

describe('segment-stats by group: federated = pooled', () => {
  it.each([['age_band'], ['city_level']] as const)('grouped by %s, over any split into shops', (groupBy) => {
    const s: SegmentStatsSpec = q.parseSpec({ ...base, groupBy });
    fc.assert(
      fc.property(randomDataset({ shops: 3, fromS: 0, toS: 400 * DAY, maxCents: 100_000 }), (data) => {
        const table = federate(q, s, splitIntoShops(data, 3)) as SegmentGroupTable;
        for (const row of table.rows) {
          const p = pooledGroupStats(data, (c) => (groupBy === 'age_band' ? c.ageBand : c.city) === row.group);
          expect([row.customers, row.repeatCustomers, row.orders]).toEqual([p.customers, p.repeatCustomers, p.orders]);
          expect(close(row.orderValueMean, p.orderValueMean, 1e-12), `${row.group} mean`).toBe(true);
          expect(close(row.orderValueVariance, p.orderValueVariance, 1e-9), `${row.group} variance`).toBe(true);
          expect(close(row.meanDaysBetweenOrders, p.meanDaysBetweenOrders, 1e-12), `${row.group} days`).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});
