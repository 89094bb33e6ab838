/**
 * Dominance bins: exact integer edges that every node computes alike, the
 * bin of a value, and the layout extension the registry gives kinds whose
 * cells declare a dominance field (one-hot per cell, never in a cell).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getQueryDefinition, type Customer, type LifecycleStage, type Order, type ShopData } from '../../analytics/index.js';
import { dominanceBinEdges, dominanceBinOf } from '../../analytics/dominance-bins.js';
import { segmentStatsQuery } from '../../analytics/segment-stats.js';

function customer(customerId: string, lifecycleStage: LifecycleStage): Customer {
  return { customerId, lifecycleStage, consentAnalytics: true, consentMarketing: false, city: '上海', ageBand: '25-34', signupUnixS: 0 };
}
function order(orderId: string, customerId: string, day: number, amountCents: bigint): Order {
  return { orderId, customerId, orderedUnixS: day * 86_400, amountCents, returned: false };
}

describe('dominance bin edges', () => {
  it('start at 1, rise strictly by at most 2^(1/4) once past small values, and stay within the bound', () => {
    const edges = dominanceBinEdges(10n ** 15n);
    expect(edges[0]).toBe(1n);
    for (let i = 1; i < edges.length; i++) {
      const [a, b] = [edges[i - 1]!, edges[i]!];
      expect(b > a).toBe(true);
      // Floors of 2^(j/4): the ratio is 2^(1/4) up to one unit of rounding in each edge.
      if (a >= 64n) expect(Number(b) / Number(a)).toBeLessThanOrEqual(2 ** 0.25 * (1 + 1 / Number(a)) + 1e-9);
    }
    expect(edges[edges.length - 1]! <= 10n ** 15n).toBe(true);
    expect(edges.length).toBeGreaterThan(190);
    expect(dominanceBinEdges(0n)).toEqual([]);
  });

  it('put every value in the bin whose edges bracket it (property)', () => {
    const max = 10n ** 12n;
    const edges = dominanceBinEdges(max);
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max }), (v) => {
        const b = dominanceBinOf(edges, v);
        expect(edges[b]! <= v).toBe(true);
        if (b + 1 < edges.length) expect(v < edges[b + 1]!).toBe(true);
      }),
    );
    expect(dominanceBinOf(edges, 0n)).toBe(-1);
    expect(() => dominanceBinOf(edges, -1n)).toThrow(/value/);
  });
});

describe('layouts with dominance bins', () => {
  const spec = segmentStatsQuery.parseSpec({ kind: 'segment-stats', purpose: 'marketing-analytics' });
  const q = getQueryDefinition('segment-stats');

  it('append one bound-1 field per bin and cell after the kind\'s own fields, and no cell lists them', () => {
    const own = segmentStatsQuery.fields(spec);
    const all = q.fields(spec);
    expect(all.slice(0, own.length)).toEqual(own);
    const extra = all.slice(own.length);
    const perCell = dominanceBinEdges(own.find((f) => f.name === 'new.order_value_sum_cents')!.max).length;
    expect(extra).toHaveLength(4 * perCell);
    expect(extra.every((f) => f.max === 1n && /\.dominance_bin_\d+$/.test(f.name))).toBe(true);
    const released = new Set(q.cells(spec).flatMap((c) => c.fields));
    expect(extra.some((f) => released.has(f.name))).toBe(false);
  });

  it('set exactly the bin of the shop\'s own cell total, and nothing for an empty cell', () => {
    const shop: ShopData = {
      shopId: 's',
      customers: [customer('L1', 'loyal'), customer('A1', 'active')],
      orders: [order('o1', 'L1', 1, 10_000n), order('o2', 'L1', 2, 20_000n), order('o3', 'A1', 3, 777n)],
    };
    const values = q.computeLocal(spec, shop);
    const names = q.fields(spec).map((f) => f.name);
    const byName = new Map(names.map((n, i) => [n, values[i]!]));
    const edges = dominanceBinEdges(q.fields(spec).find((f) => f.name === 'loyal.order_value_sum_cents')!.max);
    for (const [cell, total] of [['loyal', 30_000n], ['active', 777n], ['new', 0n], ['churning', 0n]] as const) {
      const bits = edges.map((_, i) => byName.get(`${cell}.dominance_bin_${i}`)!);
      const expected = dominanceBinOf(edges, total);
      expect(bits.filter((b) => b === 1n)).toHaveLength(expected < 0 ? 0 : 1);
      if (expected >= 0) expect(bits[expected]).toBe(1n);
    }
    expect(values.slice(0, 28)).toEqual(segmentStatsQuery.computeLocal(spec, shop));
  });

  it('leave kinds without a dominance field unchanged', () => {
    const rfm = getQueryDefinition('rfm');
    const rspec = rfm.parseSpec({ kind: 'rfm', purpose: 'marketing-analytics', asOf: '2025-12-31T00:00:00Z' });
    expect(rfm.fields(rspec).some((f) => f.name.includes('dominance_bin'))).toBe(false);
  });
});
