/**
 * Synthetic campaigns, funnel sessions and shop metrics: consistent with the
 * orders, deterministic per seed, and different enough between channels and
 * shops for funnel, lift and benchmark queries to show something.
 */
import { describe, expect, it } from 'vitest';
import { SYNTH_CHANNELS } from '../../synth/sessions.js';
import { generateSynth } from '../../synth/generate.js';
import { periodOf } from '../../synth/shop-metrics.js';

const data = generateSynth({ shops: 4, seed: 'funnel-realism', customersPerShop: { min: 400, max: 1200 } });

function rate(num: number, den: number): number {
  return den === 0 ? Number.NaN : num / den;
}

describe('synthetic sessions', () => {
  it('end one run of visits per order, in customer order, with cumulative flags', () => {
    for (const shop of data.shops) {
      const ordersOf = new Map<string, number>();
      for (const o of shop.orders) ordersOf.set(o.customerId, (ordersOf.get(o.customerId) ?? 0) + 1);
      const orderedOf = new Map<string, number>();
      for (const s of shop.sessions) if (s.ordered) orderedOf.set(s.customerId, (orderedOf.get(s.customerId) ?? 0) + 1);
      expect(shop.sessions.filter((s) => (s.carted && !s.viewed) || (s.ordered && !s.carted))).toEqual([]);
      expect(orderedOf).toEqual(ordersOf);
      const known = new Set(shop.customers.map((c) => c.customerId));
      expect(shop.sessions.every((s) => known.has(s.customerId))).toBe(true);
    }
  });

  it('drop off differently by channel and by shop', () => {
    const cartRate = (sessions: ReadonlyArray<{ channel: string; viewed: boolean; carted: boolean }>, ch: string): number => {
      const inCh = sessions.filter((s) => s.channel === ch);
      return rate(inCh.filter((s) => s.carted).length, inCh.filter((s) => s.viewed).length);
    };
    const all = data.shops.flatMap((s) => s.sessions);
    const byChannel = SYNTH_CHANNELS.map((ch) => cartRate(all, ch));
    expect(Math.max(...byChannel) - Math.min(...byChannel)).toBeGreaterThan(0.15);
    expect(cartRate(all, 'store')).toBeGreaterThan(cartRate(all, 'web'));
    const app = data.shops.map((s) => cartRate(s.sessions, 'app'));
    expect(Math.max(...app) - Math.min(...app)).toBeGreaterThan(0.03);
  });

  it('are identical for the same seed and leave customers and orders as they were', () => {
    const again = generateSynth({ shops: 4, seed: 'funnel-realism', customersPerShop: { min: 400, max: 1200 } });
    expect(again.shops.map((s) => s.sessions)).toEqual(data.shops.map((s) => s.sessions));
    expect(again.shops.map((s) => s.shopMetrics)).toEqual(data.shops.map((s) => s.shopMetrics));
  });
});

describe('synthetic campaigns', () => {
  it('open before a click, never expose the hold-out group, and convert unexposed customers only rarely', () => {
    for (const shop of data.shops) {
      expect(shop.campaigns.filter((e) => (e.clicked && !e.opened) || (e.opened && !e.exposed) || (e.variant === 'control' && e.exposed))).toEqual([]);
    }
    const all = data.shops.flatMap((s) => s.campaigns);
    const holdout = all.filter((e) => e.variant === 'control');
    expect(holdout.length).toBeGreaterThan(100);
    const exposed = all.filter((e) => e.exposed);
    const unexposed = all.filter((e) => !e.exposed);
    const conv = (rows: typeof all): number => rate(rows.filter((e) => e.converted).length, rows.length);
    expect(conv(exposed)).toBeGreaterThan(conv(unexposed));
    expect(conv(unexposed)).toBeGreaterThan(0);
    const pairs = new Set(all.map((e) => `${e.campaignId}/${e.customerId}`));
    expect(pairs.size).toBe(all.length);
  });
});

describe('synthetic shop metrics', () => {
  it('count the orders and returns of each month and keep ratings consistent', () => {
    for (const shop of data.shops) {
      expect(shop.shopMetrics.map((m) => m.period)).toEqual(Array.from({ length: 12 }, (_, i) => `2025-${String(i + 1).padStart(2, '0')}`));
      for (const m of shop.shopMetrics) {
        const orders = shop.orders.filter((o) => periodOf(o.orderedUnixS) === m.period);
        expect(m.orders).toBe(orders.length);
        expect(m.returns).toBe(orders.filter((o) => o.returned).length);
        expect(m.positiveRatings).toBeLessThanOrEqual(m.ratings);
        expect(m.ratings).toBeLessThanOrEqual(m.orders);
      }
    }
  });

  it('differ between shops on every trust indicator', () => {
    const totals = data.shops.map((s) => s.shopMetrics.reduce((a, m) => ({ r: a.r + m.ratings, p: a.p + m.positiveRatings, i: a.i + m.inquiries, t: a.t + m.responseTimeSumS }), { r: 0, p: 0, i: 0, t: 0 }));
    const positive = totals.map((t) => t.p / t.r);
    const response = totals.map((t) => t.t / t.i);
    expect(Math.max(...positive) - Math.min(...positive)).toBeGreaterThan(0.005);
    expect(Math.max(...response) / Math.min(...response)).toBeGreaterThan(1.5);
  });
});
