/**
 * `histogram`: hand-computed bins (edges are half-open, the last closed),
 * subject counts per bin, percentile interpolation from either end when a bin
 * is suppressed, refusal of values outside the edges; and, over any split
 * into shops, counts equal to the pooled ones and every percentile estimate
 * within its stated error bound (the bin width) of the pooled exact
 * percentile.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson, type Customer, type Order, type ShopData } from '../../analytics/index.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { histogramQuery as q } from '../../analytics/histogram.js';
import { DEFAULT_PURPOSES } from '../../compliance/index.js';
import { exactPercentile, pooledHistogramValues } from '../helpers/pooled-analytics.js';
import { federate, named, randomDataset, splitIntoShops } from '../helpers/plain-federation.js';

const DAY = 86_400;
const base = { kind: 'histogram', purpose: 'marketing-analytics' };
const values = q.parseSpec({ ...base, variable: 'order_value', edgesCents: [0, 1_000, 5_000, 10_000] });
const intervals = q.parseSpec({ ...base, variable: 'purchase_interval', edgesDays: [0, 7, 30, 365] });

function customer(customerId: string, consentAnalytics = true): Customer {
  return { customerId, lifecycleStage: 'active', consentAnalytics, consentMarketing: false, city: 'other', ageBand: '25-34', signupUnixS: 0 };
}
let seq = 0;
function order(customerId: string, cents: number, day = 0): Order {
  return { orderId: `O-${++seq}`, customerId, orderedUnixS: 1_700_000_000 + day * DAY, amountCents: BigInt(cents), returned: false };
}
function shopOf(orders: Order[], unconsented: string[] = []): ShopData {
  const ids = [...new Set(orders.map((o) => o.customerId))];
  return { shopId: 's', customers: ids.map((id) => customer(id, !unconsented.includes(id))), orders };
}

const valueShop = shopOf([order('A', 500), order('A', 500), order('A', 2_000), order('B', 1_000), order('B', 10_000), order('C', 0), order('D', 3_000)], ['D']);
const intervalShop = shopOf([order('A', 1, 0), order('A', 1, 3), order('A', 1, 10), order('A', 1, 10), order('A', 1, 40), order('B', 1, 0), order('B', 1, 365), order('C', 1, 5)]);

describe('histogram computeLocal', () => {
  it('counts order values per bin with distinct customers as subjects, by hand', () => {
    const v = named(q, values, q.computeLocal(values, valueShop));
    expect(v).toEqual({
      'bin.0.items': 3n, 'bin.0.customers': 2n,
      'bin.1.items': 2n, 'bin.1.customers': 2n,
      'bin.2.items': 1n, 'bin.2.customers': 1n,
      'all.items': 6n, 'all.customers': 3n, 'all.value_sum': 14_000n,
    });
    expect(q.cells(values).map((c) => [c.name, c.subjectsField])).toEqual([
      ['bin.0', 'bin.0.customers'], ['bin.1', 'bin.1.customers'], ['bin.2', 'bin.2.customers'], ['all', 'all.customers'],
    ]);
  });

  it('counts the gaps between consecutive orders of a customer, by hand', () => {
    const v = named(q, intervals, q.computeLocal(intervals, intervalShop));
    expect(v).toEqual({
      'bin.0.items': 2n, 'bin.0.customers': 1n,
      'bin.1.items': 1n, 'bin.1.customers': 1n,
      'bin.2.items': 2n, 'bin.2.customers': 2n,
      'all.items': 5n, 'all.customers': 2n, 'all.value_sum': BigInt(405 * DAY),
    });
  });

  it('reads only the field its variable needs', () => {
    expect(q.inputFields(values)).toEqual(['order.amount']);
    expect(q.inputFields(intervals)).toEqual(['order.ordered_at']);
    expect(q.inputFields({ ...values, excludeReturned: true })).toEqual(['order.amount', 'order.returned']);
    const allowed = DEFAULT_PURPOSES.find((p) => p.name === 'marketing-analytics')!.allowedFields;
    for (const s of [values, intervals, { ...intervals, excludeReturned: true }]) for (const f of q.inputFields(s)) expect(allowed).toContain(f);
  });

  it('refuses a value outside the declared edges, naming them, never clamping', () => {
    expect(() => q.computeLocal(values, shopOf([order('A', 10_001)]))).toThrow(/edgesCents: order O-\d+ amount 10001 cents lies outside the declared edges \[0, 10000\]/);
    expect(() => q.computeLocal(q.parseSpec({ ...base, variable: 'order_value', edgesCents: [100, 1_000] }), shopOf([order('A', 0)]))).toThrow(RangeError);
    expect(() => q.computeLocal(intervals, shopOf([order('A', 1, 0), order('A', 1, 366)]))).toThrow(/edgesDays: interval before order O-\d+ 31622400 s/);
    expect(() => q.computeLocal({ ...values, bounds: { maxCustomers: 1n, maxOrders: 100n } }, valueShop)).toThrow(/field bin\.0\.customers/);
  });
});

describe('histogram finalise', () => {
  it('gives bins in yuan, the exact mean and interpolated percentiles with their error bound', () => {
    const r = federate(q, values, [valueShop]);
    expect(r.unit).toBe('yuan');
    expect(r.bins).toEqual([
      { from: 0, to: 10, suppressed: false, count: 3, customers: 2 },
      { from: 10, to: 50, suppressed: false, count: 2, customers: 2 },
      { from: 50, to: 100, suppressed: false, count: 1, customers: 1 },
    ]);
    expect(r.total).toEqual({ suppressed: false, count: 6, customers: 3, mean: 140 / 6 });
    // Sorted values (yuan): 0 5 5 10 20 100. p50: rank 3 in bin 0; p90: rank 5.4 in bin 2.
    expect(r.percentiles).toEqual([
      { percentile: 50, value: 10, errorBound: 10, bin: 0 },
      { percentile: 90, value: 70, errorBound: 50, bin: 2 },
    ]);
    const days = federate(q, intervals, [intervalShop]);
    expect(days.unit).toBe('days');
    expect(days.total.mean).toBe(81);
    // Sorted gaps (days): 0 3 7 30 365.
    expect(days.percentiles).toEqual([
      { percentile: 50, value: 18.5, errorBound: 23, bin: 1 },
      { percentile: 90, value: 281.25, errorBound: 335, bin: 2 },
    ]);
  });

  it('keeps suppressed bins null and still places percentiles when one side of their bin is released', () => {
    const r = federate(q, values, [valueShop], 2);
    expect(r.bins[2]).toEqual({ from: 50, to: 100, suppressed: true, count: null, customers: null });
    expect(r.percentiles[0]).toMatchObject({ value: 10, bin: 0 }); // from below
    expect(r.percentiles[1]).toEqual({ percentile: 90, value: null, errorBound: null, bin: null }); // its own bin is suppressed

    const ids = ['Y1', 'Y2', 'Y3', 'Z1', 'Z2', 'Z3'];
    const shop = shopOf([order('X', 100), ...ids.map((id) => order(id, id.startsWith('Y') ? 2_000 : 6_000))]);
    const top = federate(q, values, [shop], 2);
    expect(top.bins.map((b) => b.count)).toEqual([null, 3, 3]);
    // N = 7, rank 3.5: 7 − 3 − 3 = 1 item below bin 1, so 10 + (3.5 − 1) / 3 · 40 yuan.
    expect(top.percentiles[0]).toEqual({ percentile: 50, value: (1_000 * 300 + (350 - 100) * 4_000) / 30_000, errorBound: 40, bin: 1 });
  });

  it('has no percentiles and no mean without items', () => {
    const r = federate(q, values, [shopOf([])]);
    expect(r.total).toEqual({ suppressed: false, count: 0, customers: 0, mean: null });
    expect(r.percentiles.every((p) => p.value === null)).toBe(true);
  });
});

describe('histogram spec', () => {
  const error = (json: unknown): QuerySpecError => {
    try {
      q.parseSpec(json);
    } catch (err) {
      if (err instanceof QuerySpecError) return err;
      throw err;
    }
    throw new Error('expected a QuerySpecError');
  };

  it('fills in defaults and round-trips through canonical JSON', () => {
    const v = q.parseSpec({ ...base, variable: 'order_value' });
    expect(v).toMatchObject({ percentiles: [50, 90], excludeReturned: false, edgesCents: [0, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 100_000_000] });
    const d = q.parseSpec({ ...base, variable: 'purchase_interval' });
    expect(d).toMatchObject({ edgesDays: [0, 1, 3, 7, 14, 30, 60, 90, 180, 365, 3650] });
    expect(q.fields(d).at(-1)).toEqual({ name: 'all.value_sum', max: 10_000_000n * 3650n * 86_400n });
    for (const s of [v, d, values, q.parseSpec({ ...base, variable: 'order_value', percentiles: [10, 99], bounds: { maxOrders: '12345' } })]) {
      expect(q.parseSpec(JSON.parse(canonicalSpecJson(s)))).toEqual(s);
    }
  });

  it('names the offending member', () => {
    expect(error({ ...base, variable: 'order_value', edgesCents: [0, 5, 5] }).path).toBe('edgesCents.2');
    expect(error({ ...base, variable: 'order_value', edgesCents: [0] }).path).toBe('edgesCents');
    expect(error({ ...base, variable: 'order_value', edgesCents: [-1, 5] }).path).toBe('edgesCents.0');
    expect(error({ ...base, variable: 'order_value', edgesDays: [0, 5] }).path).toBe('');
    expect(error({ ...base, variable: 'purchase_interval', edgesDays: [0, 40_000] }).path).toBe('edgesDays.1');
    expect(error({ ...base, variable: 'basket_size' }).path).toBe('variable');
    expect(error({ ...base, variable: 'order_value', percentiles: [90, 50] }).path).toBe('percentiles.1');
    expect(error({ ...base, variable: 'order_value', percentiles: [100] }).path).toBe('percentiles.0');
  });
});

describe('histogram federated = pooled', () => {
  it('counts equal the pooled ones; each percentile is within its bin width of the pooled exact percentile', () => {
    const specs = fc.oneof(
      fc.record({ variable: fc.constant('order_value' as const), edgesCents: fc.constantFrom([0, 100_000], [0, 1_000, 20_000, 50_000, 100_000], [0, 1, 2_000, 99_999, 100_000]) }),
      fc.record({ variable: fc.constant('purchase_interval' as const), edgesDays: fc.constantFrom([0, 500], [0, 1, 7, 30, 90, 500]) }),
    );
    const extra = fc.record({ excludeReturned: fc.boolean(), percentiles: fc.constantFrom([50, 90], [1, 25, 50, 75, 99]) });
    fc.assert(
      fc.property(specs, extra, randomDataset({ shops: 3, fromS: 0, toS: 420 * DAY, maxCents: 100_000, maxOrders: 8 }), (variable, options, data) => {
        const s = q.parseSpec({ ...base, ...variable, ...options });
        const r = federate(q, s, splitIntoShops(data, 3));
        const pooled = pooledHistogramValues(s, data);
        const scale = s.variable === 'order_value' ? 100 : 1;
        const declared = s.variable === 'order_value' ? s.edgesCents : s.edgesDays;
        const edges = declared.map((e) => e / scale);
        const shown = pooled.map((p) => p.value / scale);
        r.bins.forEach((b, j) => {
          const last = j === r.bins.length - 1;
          const inBin = pooled.filter((_, i) => shown[i]! >= edges[j]! && (shown[i]! < edges[j + 1]! || (last && shown[i] === edges[j + 1])));
          expect([b.from, b.to, b.count, b.customers]).toEqual([edges[j], edges[j + 1], inBin.length, new Set(inBin.map((p) => p.customer)).size]);
        });
        expect(r.total.count).toBe(pooled.length);
        expect(r.total.customers).toBe(new Set(pooled.map((p) => p.customer)).size);
        if (pooled.length > 0) expect(Math.abs(r.total.mean! - shown.reduce((a, x) => a + x, 0) / pooled.length)).toBeLessThanOrEqual(1e-9 * Math.max(1, r.total.mean!));
        for (const p of r.percentiles) {
          if (pooled.length === 0) {
            expect(p.value).toBeNull();
            continue;
          }
          const exact = exactPercentile(shown, p.percentile);
          expect(p.value).not.toBeNull();
          expect(exact).toBeGreaterThanOrEqual(edges[p.bin!]!);
          expect(exact).toBeLessThanOrEqual(edges[p.bin! + 1]!);
          expect(p.errorBound).toBe((declared[p.bin! + 1]! - declared[p.bin!]!) / scale);
          expect(Math.abs(p.value! - exact)).toBeLessThanOrEqual(p.errorBound! * (1 + 1e-12));
        }
      }),
      { numRuns: 150 },
    );
  });
});
