/**
 * `rfm`: hand-computed tables on small data (window and bucket boundaries,
 * returned orders, consent, tiers, suppression, bounds), and the federated
 * table over any split into shops equal to a plain pooled computation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson, type Customer, type Order, type ShopData } from '../../analytics/index.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { rfmQuery as q } from '../../analytics/rfm.js';
import type { RfmSpec } from '../../analytics/rfm-spec.js';
import { pooledRfm } from '../helpers/pooled-analytics.js';
import { federate, named, randomDataset, splitIntoShops } from '../helpers/plain-federation.js';

const DAY = 86_400;
const T = Date.UTC(2026, 0, 1) / 1000;
const base = { kind: 'rfm', purpose: 'marketing-analytics', asOf: '2026-01-01T00:00:00Z' };
const spec = q.parseSpec({ ...base, recencyEdgesDays: [30, 90], frequencyEdges: [2, 4], monetaryEdgesCents: [10_000, 50_000] });

function customer(customerId: string, consentAnalytics = true): Customer {
  return { customerId, lifecycleStage: 'active', consentAnalytics, consentMarketing: false, city: 'tier-1', ageBand: '25-34', signupUnixS: 0 };
}
let seq = 0;
function order(customerId: string, at: number, cents: number, returned = false): Order {
  return { orderId: `O-${++seq}`, customerId, orderedUnixS: at, amountCents: BigInt(cents), returned };
}

const shop: ShopData = {
  shopId: 's',
  customers: ['A', 'B', 'C', 'D', 'F', 'G'].map((id) => customer(id)).concat([customer('E', false)]),
  orders: [
    order('A', T - 10 * DAY, 30_000),
    order('A', T - 40 * DAY, 30_000),
    order('A', T - 100 * DAY, 10_000),
    order('A', T - 400 * DAY, 100_000), // before the window
    order('A', T + DAY, 100_000), // after asOf
    ...[1, 3, 7, 12, 20].map((d) => order('B', T - d * DAY, 5_000)),
    order('C', T - 30 * DAY, 9_999), // recency exactly 30 days: second bucket
    order('D', T - 365 * DAY, 50_000), // exactly at the window start: excluded
    order('E', T - DAY, 80_000), // no consent
    order('F', T - 5 * DAY, 20_000, true), // returned
    order('G', T, 10_000), // at asOf, on the M edge
    order('GHOST', T - DAY, 1), // unknown customer
  ],
};

describe('rfm computeLocal', () => {
  it('counts customers, orders and spend per (R,F,M) cell and tier, by hand', () => {
    const v = named(q, spec, q.computeLocal(spec, shop));
    const cell = (name: string) => [v[`${name}.customers`], v[`${name}.orders`], v[`${name}.spend_cents`]];
    expect(cell('r3f2m3')).toEqual([1n, 3n, 70_000n]); // A
    expect(cell('r3f3m2')).toEqual([1n, 5n, 25_000n]); // B
    expect(cell('r2f1m1')).toEqual([1n, 1n, 9_999n]); // C
    expect(cell('r3f1m2')).toEqual([2n, 2n, 30_000n]); // F, G
    expect(cell('core')).toEqual([1n, 5n, 25_000n]); // B: R 3 and F 3
    expect(cell('ordinary')).toEqual([4n, 6n, 109_999n]);
    const listed = new Set(['r3f2m3', 'r3f3m2', 'r2f1m1', 'r3f1m2', 'core', 'ordinary'].flatMap((c) => [`${c}.customers`, `${c}.orders`, `${c}.spend_cents`]));
    expect(Object.entries(v).filter(([k, x]) => !listed.has(k) && x !== 0n)).toEqual([]);
    expect(q.fields(spec)).toHaveLength((27 + 2) * 3);
  });

  it('leaves returned orders out when asked, and then reads order.returned', () => {
    const s = { ...spec, excludeReturned: true };
    const v = named(q, s, q.computeLocal(s, shop));
    expect([v['r3f1m2.customers'], v['r3f1m2.spend_cents']]).toEqual([1n, 10_000n]);
    expect(q.inputFields(s)).toEqual(['order.amount', 'order.ordered_at', 'order.returned']);
    expect(q.inputFields(spec)).toEqual(['order.amount', 'order.ordered_at']);
  });

  it('refuses values beyond the declared bounds with a RangeError naming them', () => {
    const withBounds = (bounds: Record<string, number>): RfmSpec => ({ ...spec, bounds: { ...spec.bounds, ...Object.fromEntries(Object.entries(bounds).map(([k, x]) => [k, BigInt(x)])) } });
    expect(() => q.computeLocal(withBounds({ maxOrderCents: 25_000 }), shop)).toThrow(/bounds\.maxOrderCents: order O-\d+ amount 30000/);
    expect(() => q.computeLocal(withBounds({ maxCustomers: 1 }), shop)).toThrow(/field r3f1m2\.customers/);
    expect(() => q.computeLocal(withBounds({ maxOrders: 4 }), shop)).toThrow(/field r3f3m2\.orders/);
    expect(() => q.computeLocal(withBounds({ maxOrders: 4 }), shop)).toThrow(RangeError);
    // An over-bound order outside the window is not part of the statistic.
    expect(() => q.computeLocal(withBounds({ maxOrderCents: 80_000 }), shop)).not.toThrow();
    expect(() => q.computeLocal(spec, { ...shop, customers: null } as unknown as ShopData)).toThrow(TypeError);
  });
});

describe('rfm finalise', () => {
  it('gives yuan totals and per-customer means, buckets and tiers; suppressed cells are null', () => {
    const table = federate(q, spec, [shop], 2);
    expect(table.recency).toEqual([
      { score: 3, from: 0, to: 30 },
      { score: 2, from: 30, to: 90 },
      { score: 1, from: 90, to: 365 },
    ]);
    expect(table.frequency.at(-1)).toEqual({ score: 3, from: 4, to: null });
    expect(table.monetary[1]).toEqual({ score: 2, from: 100, to: 500 });
    expect(table.cells.find((c) => c.recencyScore === 3 && c.frequencyScore === 1 && c.monetaryScore === 2)).toEqual({
      recencyScore: 3, frequencyScore: 1, monetaryScore: 2, suppressed: false, customers: 2, orders: 2, spend: 300, meanSpend: 150,
    });
    const a = table.cells.find((c) => c.recencyScore === 3 && c.frequencyScore === 2 && c.monetaryScore === 3);
    expect(a).toMatchObject({ suppressed: true, customers: null, orders: null, spend: null, meanSpend: null });
    expect(table.tiers).toEqual([
      { tier: 'core', suppressed: true, customers: null, orders: null, spend: null, meanSpend: null },
      { tier: 'ordinary', suppressed: false, customers: 4, orders: 6, spend: 1099.99, meanSpend: 274.9975 },
    ]);
    expect(table.core).toEqual({ minRecencyScore: 3, minFrequencyScore: 3, minMonetaryScore: 1 });
    expect(federate(q, spec, [shop], 0).tiers[0]).toMatchObject({ customers: 1, spend: 250, meanSpend: 250 });
  });

  it('refuses a release without a cell', () => {
    expect(() => q.finalise(spec, { cells: {} })).toThrow(/release\.cells\.r1f1m1: missing/);
  });
});

describe('rfm spec', () => {
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
    const d = q.parseSpec(base);
    expect(d).toMatchObject({ windowDays: 365, recencyEdgesDays: [30, 90, 180], frequencyEdges: [2, 4, 8], monetaryEdgesCents: [20_000, 50_000, 150_000] });
    expect(d.core).toEqual({ minRecencyScore: 4, minFrequencyScore: 4, minMonetaryScore: 1 });
    expect(q.cells(d)).toHaveLength(64 + 2);
    expect(q.cells(d).every((c) => c.subjectsField === `${c.name}.customers`)).toBe(true);
    for (const s of [d, spec, q.parseSpec({ ...base, excludeReturned: true, core: { minMonetaryScore: 2 }, bounds: { maxOrderCents: '900719925474099300' } })]) {
      expect(q.parseSpec(JSON.parse(canonicalSpecJson(s)))).toEqual(s);
    }
  });

  it('names the offending member', () => {
    expect(error({ ...base, recencyEdgesDays: [30, 30] }).path).toBe('recencyEdgesDays.1');
    expect(error({ ...base, recencyEdgesDays: [400] }).path).toBe('recencyEdgesDays.0');
    expect(error({ ...base, windowDays: 100 }).path).toBe('recencyEdgesDays.2');
    expect(error({ ...base, frequencyEdges: [1, 3] }).path).toBe('frequencyEdges.0');
    expect(error({ ...base, core: { minRecencyScore: 5 } }).path).toBe('core.minRecencyScore');
    expect(error({ ...base, asOf: '2026-02-30T00:00:00Z' }).path).toBe('asOf');
    expect(error({ ...base, asOf: undefined }).path).toBe('asOf');
    expect(error({ ...base, extra: 1 }).path).toBe('');
    expect(error({ ...base, monetaryEdgesCents: Array.from({ length: 10 }, (_, i) => i + 1) }).path).toBe('monetaryEdgesCents');
  });
});

describe('rfm federated = pooled', () => {
  it('over any split into shops, the finalised table equals the pooled computation', () => {
    const specs = fc.record({
      windowDays: fc.constantFrom(60, 365),
      recencyEdgesDays: fc.constantFrom([7], [10, 30, 50]),
      frequencyEdges: fc.constantFrom([2], [2, 3, 5]),
      monetaryEdgesCents: fc.constantFrom([20_000], [1, 20_000, 60_000]),
      excludeReturned: fc.boolean(),
      core: fc.record({ minMonetaryScore: fc.constantFrom(1, 2) }),
    });
    fc.assert(
      fc.property(specs, randomDataset({ shops: 4, fromS: T - 400 * DAY, toS: T + 20 * DAY, maxCents: 100_000 }), (options, data) => {
        const s = q.parseSpec({ ...base, ...options });
        const table = federate(q, s, splitIntoShops(data, 4));
        const pooled = pooledRfm(s, data);
        for (const c of table.cells) {
          const [customers, orders, cents] = pooled.get(`r${c.recencyScore}f${c.frequencyScore}m${c.monetaryScore}`) ?? [0, 0, 0];
          expect([c.customers, c.orders, c.spend]).toEqual([customers, orders, cents / 100]);
        }
        for (const t of table.tiers) {
          const [customers, orders, cents] = pooled.get(t.tier) ?? [0, 0, 0];
          expect([t.customers, t.orders, t.spend]).toEqual([customers, orders, cents / 100]);
          expect(t.meanSpend).toBe(customers === 0 ? null : cents / (100 * customers));
        }
        expect(table.cells.reduce((a, c) => a + (c.customers ?? 0), 0)).toBe((pooled.get('core')?.[0] ?? 0) + (pooled.get('ordinary')?.[0] ?? 0));
      }),
      { numRuns: 150 },
    );
  });
});
