/**
 * The federated answer must equal the pooled plaintext answer: shops' local
 * vectors are summed with plain BigInt (what BFV addition computes), then
 * finalised, and compared with the independent floating-point computation
 * over the pooled rows.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { LIFECYCLE_STAGES, pooledSegmentStats, type PooledData, type SegmentStatsSpec, type SegmentStatsTable, type ShopData } from '../../analytics/index.js';
import { segmentStatsQuery as q } from '../../analytics/segment-stats.js';
import type { ReleasedTotals } from '../../analytics/query-definition.js';
import { loadPooledData, loadShopData } from '../../client-sdk/load-shop-data.js';
import { writeSynth } from '../../synth/index.js';

function sumAndFinalise(spec: SegmentStatsSpec, shops: readonly ShopData[]): SegmentStatsTable {
  const fields = q.fields(spec);
  const sum = fields.map(() => 0n);
  for (const shop of shops) q.computeLocal(spec, shop).forEach((v, i) => (sum[i] = (sum[i] as bigint) + v));
  const byName = new Map(fields.map((f, i) => [f.name, sum[i] as bigint]));
  const release: ReleasedTotals = {
    cells: Object.fromEntries(
      q.cells(spec).map((c) => [c.name, { suppressed: false, totals: Object.fromEntries(c.fields.map((f) => [f, byName.get(f) as bigint])) }]),
    ),
  };
  // Grouped by lifecycle stage (every spec here), finalise gives the stage table.
  return q.finalise(spec, release) as SegmentStatsTable;
}

const COUNTS = ['customers', 'repeatCustomers', 'orders'] as const;
const REALS = ['repurchaseRate', 'orderValueMean', 'orderValueVariance', 'meanDaysBetweenOrders'] as const;

/**
 * Counts must match exactly, real statistics to `rel`. With `welfordSlack`,
 * the variance may also differ by a few ulps of mean² : that is the floating
 * reference's own error when the variance is tiny next to the mean (e.g.
 * near-identical ¥1,000,000 orders), not an error of the exact path.
 */
function expectSameTable(released: SegmentStatsTable, pooled: SegmentStatsTable, rel = 1e-9, welfordSlack = false): void {
  expect(released.rows.map((r) => r.stage)).toEqual([...LIFECYCLE_STAGES]);
  for (const r of released.rows) {
    const p = pooled.rows.find((x) => x.stage === r.stage);
    for (const k of COUNTS) expect(r[k], `${r.stage} ${k}`).toBe(p?.[k]);
    for (const k of REALS) {
      const a = r[k];
      const b = p?.[k] ?? null;
      if (a === null || b === null) {
        expect(a, `${r.stage} ${k}`).toBe(b);
        continue;
      }
      const scale = Math.max(Math.abs(a), Math.abs(b), 1e-300);
      const mean = r.orderValueMean ?? 0;
      const slack = welfordSlack && k === 'orderValueVariance' ? 1e-13 * mean * mean : 0;
      expect(Math.abs(a - b), `${r.stage} ${k}: ${a} vs ${b}`).toBeLessThanOrEqual(rel * scale + slack);
    }
  }
}

const spec = q.parseSpec({ kind: 'segment-stats', purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' });

describe('segment-stats over synthetic shops', () => {
  let shops: ShopData[];
  let pooled: PooledData;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-fed-'));
    const manifest = await writeSynth(dir, { shops: 5, seed: 2025 });
    shops = await Promise.all(manifest.shops.map((s) => loadShopData(join(dir, s.dir))));
    pooled = await loadPooledData(join(dir, 'pooled'));
  });

  it('sum of local statistics, finalised, equals the pooled plaintext answer', () => {
    const released = sumAndFinalise(spec, shops);
    expectSameTable(released, pooledSegmentStats(pooled));
    expect(released.rows.every((r) => (r.customers ?? 0) > 0 && r.orderValueVariance !== null)).toBe(true);
  });

  it('also with returned orders left out', () => {
    const s = { ...spec, excludeReturned: true };
    expectSameTable(sumAndFinalise(s, shops), pooledSegmentStats(pooled, { excludeReturned: true }));
  });

  it('differs from an average of per-shop answers (shops are heterogeneous)', () => {
    const perShop = shops.map((s) => sumAndFinalise(spec, [s]).rows.find((r) => r.stage === 'active')?.orderValueMean ?? 0);
    const naive = perShop.reduce((a, b) => a + b, 0) / perShop.length;
    const pooledMean = pooledSegmentStats(pooled).rows.find((r) => r.stage === 'active')?.orderValueMean ?? 0;
    expect(Math.abs(naive - pooledMean) / pooledMean).toBeGreaterThan(0.01);
  });
});

describe('segment-stats additivity (property)', () => {
  const stage = fc.constantFrom(...LIFECYCLE_STAGES);
  const shopArb = fc.record({
    customers: fc.array(fc.record({ stage, consent: fc.boolean() }), { maxLength: 8 }),
    orders: fc.array(fc.record({ who: fc.nat(), t: fc.integer({ min: 0, max: 400 * 86_400 }), cents: fc.bigInt({ min: 0n, max: 100_000_000n }), returned: fc.boolean() }), { maxLength: 20 }),
  });

  it('finalised sums over any split into shops equal the pooled computation', () => {
    fc.assert(
      fc.property(fc.array(shopArb, { minLength: 1, maxLength: 4 }), fc.boolean(), (raw, excludeReturned) => {
        const shops: ShopData[] = raw.map((s, i) => {
          const customers = s.customers.map((c, j) => ({
            customerId: `C-${j}`,
            lifecycleStage: c.stage,
            consentAnalytics: c.consent,
            consentMarketing: false,
            city: '成都',
            ageBand: '35-44',
            signupUnixS: 0,
          }));
          const orders = customers.length === 0 ? [] : s.orders.map((o, j) => ({
            orderId: `O-${j}`,
            customerId: `C-${o.who % customers.length}`,
            orderedUnixS: o.t,
            amountCents: o.cents,
            returned: o.returned,
          }));
          return { shopId: `s${i}`, customers, orders };
        });
        const pooled: PooledData = {
          customers: shops.flatMap((s) => s.customers.map((c) => ({ ...c, shopId: s.shopId }))),
          orders: shops.flatMap((s) => s.orders.map((o) => ({ ...o, shopId: s.shopId }))),
        };
        expectSameTable(sumAndFinalise({ ...spec, excludeReturned }, shops), pooledSegmentStats(pooled, { excludeReturned }), 1e-9, true);
      }),
      { numRuns: 300 },
    );
  });
});
