/**
 * The curious marketer against time windows. The attack found: two
 * regression releases whose `asOf` differ by the seconds around one order
 * give, by subtracting Σx and Σx², that order's value and the customer's
 * earlier order count and spend; the differencing defence compared attested
 * consent counts, which were equal. Here the rows behind each release are
 * compared (row-set sketches), not the counts:
 *
 * - the pair around one order is refused `DIFFERENCING`, and so is a
 *   histogram over every order against a regression that stops one order
 *   short (another kind reading the same `order.amount` rows); the pooled
 *   plaintext shows the order the difference would have given;
 * - generated variants: random `asOf` values near and far from orders are
 *   released exactly when, against every earlier release of the purpose,
 *   the customers whose read orders differ are none or at least k and the
 *   shops they belong to none or at least m (counted here in plain code).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopData } from '../../analytics/index.js';
import { readConsentedPool } from '../helpers/pooled-models.js';
import { startAdversaryCluster, type AdversaryCluster } from './adversary-cluster.js';

const K = 10;
const M = 3;
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

describe('curious marketer vs time windows', () => {
  let cluster: AdversaryCluster;
  let pool: ShopData;
  /** Order times, sorted, and who placed each order. */
  let orders: { t: number; customer: string; shop: string; cents: bigint }[];
  /** Every released query so far: the window end of the order rows it read (Infinity: all orders). */
  const released: number[] = [];

  /** Plain answer: customers and shops with an order read by one window end and not the other. */
  function difference(a: number, b: number): { customers: number; shops: number } {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const moved = orders.filter((o) => o.t >= lo && o.t < hi);
    return { customers: new Set(moved.map((o) => o.customer)).size, shops: new Set(moved.map((o) => o.shop)).size };
  }

  function mayRelease(end: number): boolean {
    return released.every((e) => {
      const d = difference(e, end);
      return !((d.customers > 0 && d.customers < K) || (d.shops > 0 && d.shops < M));
    });
  }

  const regression = (asOfS: number) => cluster.query('linear-regression', { purpose: 'marketing-analytics', asOf: iso(asOfS), features: ['frequency'], target: 'monetary_yuan' });

  beforeAll(async () => {
    cluster = await startAdversaryCluster({ shops: 4, seed: 'adversary-windows', customersPerShop: { min: 80, max: 150 }, purposes: ['marketing-analytics'] });
    pool = readConsentedPool(cluster.shops.pooledDir);
    orders = pool.orders.map((o) => ({ t: o.orderedUnixS, customer: o.customerId, shop: o.customerId.split('/')[0]!, cents: o.amountCents })).sort((a, b) => a.t - b.t);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('refuses the second of two regressions whose asOf differ by the second around one order', async () => {
    // An order alone in its second, in the middle of the history.
    const lone = orders.find((o, i) => i > orders.length / 2 && orders.filter((p) => p.t === o.t).length === 1)!;
    const before = await regression(lone.t);
    expect(before.status, before.statusReason ?? '').toBe('released');
    released.push(lone.t);
    // What subtracting the two releases would give: Σ monetary differs by exactly this order's value.
    expect(difference(lone.t, lone.t + 1)).toEqual({ customers: 1, shops: 1 });
    const after = await regression(lone.t + 1);
    expect(after.status).toBe('failed');
    expect(after.statusReason).toContain('DIFFERENCING');
    expect(after.statusReason).toContain(`differ from those of released query ${before.queryId}`);
    expect(after.statusReason).toContain('by 1 customer(s)');
    console.log(`windows: a pair one order of ${Number(lone.cents) / 100} yuan apart was refused`);
  }, 120_000);

  it('refuses a histogram of every order beside a regression that stops one order short', async () => {
    const last = orders[orders.length - 1]!;
    const preceding = orders.filter((o) => o.t < last.t).at(-1)!;
    // A window ending just before the last order: one customer (the last buyer) differs from "every order".
    const end = last.t;
    expect(difference(end, Infinity).customers).toBeGreaterThan(0);
    expect(difference(end, Infinity).customers).toBeLessThan(K);
    expect(preceding.t).toBeLessThan(end);
    const reg = await regression(end);
    const expectReg = mayRelease(end);
    expect(reg.status, reg.statusReason ?? '').toBe(expectReg ? 'released' : 'failed');
    if (expectReg) released.push(end);
    expect(mayRelease(Infinity)).toBe(false);
    const hist = await cluster.query('histogram', { purpose: 'marketing-analytics', variable: 'order_value' });
    expect(hist.status).toBe('failed');
    expect(hist.statusReason).toContain('DIFFERENCING');
    expect(hist.statusReason).toContain('order.amount rows differ');
  }, 120_000);

  it('releases random asOf values exactly when the plain difference to every earlier release is 0, or k customers at m shops (generated)', async () => {
    const outcomes: string[] = [];
    const times = orders.map((o) => o.t);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: times.length - 1 }), fc.constantFrom(0, 1, 3600, 30 * 86_400), async (i, shift) => {
        const end = times[i]! + shift;
        const expected = mayRelease(end);
        const q = await regression(end);
        outcomes.push(`${iso(end)}: ${q.status}`);
        expect(q.status, `${iso(end)} ${q.statusReason ?? ''}`).toBe(expected ? 'released' : 'failed');
        if (expected) released.push(end);
        else expect(q.statusReason).toMatch(/DIFFERENCING/);
      }),
      { numRuns: 8, seed: 3 },
    );
    console.log(`windows, generated variants: ${outcomes.join('; ')}`);
    expect(outcomes.some((o) => o.endsWith('released')) && outcomes.some((o) => o.endsWith('failed'))).toBe(true);
  }, 300_000);
});
