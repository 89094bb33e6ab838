/**
 * The curious marketer against the steps of model fits. The attacks found:
 * a `kmeans-round` created directly with centroids the marketer chose
 * reached a cluster of one customer by binary search over released sizes,
 * whose sums are that customer's feature vector; a `score-histogram` with
 * chosen coefficients and 2,000 bins released bins of one customer with its
 * label, and the hold-out evaluation of an ordinary fit released 1,000-bin
 * histograms with the same property; a normal k-means fit published cluster
 * sizes without any k check. Here:
 *
 * - the round kinds of fits cannot be created by a marketer, are not
 *   offered, not listed and not readable; the pooled plaintext shows the
 *   cluster of one the chosen centroids would have isolated;
 * - a k-means fit (random seeds and k, generated) publishes only clusters of
 *   at least k customers, every round: a cluster that falls below is
 *   dropped, never published;
 * - a logistic fit's evaluation publishes score bins merged to hold at least
 *   k customers of each label; the pooled plaintext shows the fine bins of
 *   one customer the raw histogram would have carried.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopData } from '../../analytics/index.js';
import { readConsentedPool } from '../helpers/pooled-models.js';
import { startAdversaryCluster, type AdversaryCluster, type FitView } from './adversary-cluster.js';

const K = 10;
const FIT_ROUND_KINDS = ['kmeans-round', 'feature-moments', 'score-histogram', 'logistic-irls-round'];

/** Plain k-means features (orders / 10, mean order value / 100 yuan) of every consented customer. */
function plainPoints(pool: ShopData): { id: string; x: [number, number] }[] {
  const orders = new Map<string, bigint[]>();
  for (const o of pool.orders) orders.set(o.customerId, [...(orders.get(o.customerId) ?? []), o.amountCents]);
  return pool.customers.map((c) => {
    const list = orders.get(c.customerId) ?? [];
    const mean = list.length === 0 ? 0 : Number(list.reduce((a, b) => a + b, 0n)) / list.length / 10_000;
    return { id: c.customerId, x: [list.length / 10, mean] };
  });
}

function nearest(x: readonly number[], centroids: readonly (readonly number[])[]): number {
  let best = 0;
  let d = Infinity;
  centroids.forEach((c, i) => {
    const e = c.reduce((s, v, j) => s + (v - x[j]!) ** 2, 0);
    if (e < d) {
      d = e;
      best = i;
    }
  });
  return best;
}

describe('curious marketer vs the rounds of model fits', () => {
  let cluster: AdversaryCluster;
  let pool: ShopData;

  beforeAll(async () => {
    cluster = await startAdversaryCluster({ shops: 4, seed: 'adversary-fits', customersPerShop: { min: 150, max: 300 }, purposes: ['marketing-analytics', 'churn-modelling'] });
    pool = readConsentedPool(cluster.shops.pooledDir);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('refuses to create a Lloyd round with chosen centroids, or any other step of a fit, and does not offer them', async () => {
    // The attack, where the binary search over released sizes ends: one centroid on the customer with the
    // largest mean order value, the other just below it on that axis. The boundary between them lies halfway
    // to the next largest mean, so the first cluster holds that customer alone.
    const points = plainPoints(pool);
    const byMean = [...points].sort((a, b) => b.x[1] - a.x[1]);
    const target = byMean[0]!;
    const centroids = [target.x, [target.x[0], byMean[1]!.x[1]]];
    const isolated = points.filter((p) => nearest(p.x, centroids) === 0);
    // In the pooled plaintext the cluster holds one customer: its released sums would be that customer's features.
    expect(isolated.map((p) => p.id)).toEqual([target.id]);
    const specs: Record<string, Record<string, unknown>> = {
      'kmeans-round': { purpose: 'marketing-analytics', features: ['orders', 'avg_order_value'], centroids },
      'feature-moments': { purpose: 'marketing-analytics', features: ['orders', 'avg_order_value'] },
      'score-histogram': { purpose: 'churn-modelling', features: ['intercept', 'orders'], label: 'churning', coefficients: [0, 3], bins: 2000 },
      'logistic-irls-round': { purpose: 'churn-modelling', features: ['intercept', 'orders'], label: 'churning', fitId: 'fit-mine', round: 1, beta: [0, 0] },
    };
    for (const kind of FIT_ROUND_KINDS) {
      const res = await cluster.marketer<{ code: string; detail: string }>('POST', '/v1/queries', { kind, spec: specs[kind], targetMerchants: 4 });
      expect([kind, res.status, res.body.code]).toEqual([kind, 403, 'QUERY_KIND_INTERNAL']);
    }
    const kinds = await cluster.marketer<{ queryKinds: string[] }>('GET', '/v1/kinds');
    for (const kind of FIT_ROUND_KINDS) expect(kinds.body.queryKinds).not.toContain(kind);
  }, 120_000);

  it('publishes only clusters of at least k customers, whatever the seed and k (generated); its rounds stay internal', async () => {
    const fits: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 2, max: 6 }), async (seed, k) => {
        const before = cluster.answeredQueryIds.length;
        const fit = await cluster.fit('kmeans', { purpose: 'marketing-analytics', features: ['orders', 'avg_order_value'], k, seed, maxRounds: 15 });
        const rounds = cluster.answeredQueryIds.slice(before);
        expect(rounds.length).toBeGreaterThan(1);
        const model = fit.model as { sizes: number[]; centroids: number[][]; droppedClusters: number } | null;
        fits.push(`k=${k} seed=${seed}: ${fit.status}${model ? ` sizes ${model.sizes.join('/')} dropped ${model.droppedClusters}` : ` (${fit.statusReason})`}`);
        if (fit.status === 'done') {
          expect(model!.sizes.every((s) => s >= K)).toBe(true);
          expect(model!.sizes.reduce((a, b) => a + b, 0)).toBe(pool.customers.length);
          expect(model!.centroids).toHaveLength(k - model!.droppedClusters);
        } else {
          expect(fit.status).toBe('failed');
          expect(fit.statusReason).toMatch(/clusters hold at least k customers/);
        }
        // No round is listed or readable; none has a release a person can fetch.
        const listed = await cluster.marketer<{ queries: { queryId: string }[] }>('GET', '/v1/queries');
        for (const id of rounds) {
          expect(listed.body.queries.map((q) => q.queryId)).not.toContain(id);
          const one = await cluster.marketer<{ code: string }>('GET', `/v1/queries/${id}`);
          expect([one.status, one.body.code]).toEqual([403, 'QUERY_INTERNAL']);
          const release = await cluster.marketer<{ code: string }>('GET', `/v1/queries/${id}/release`);
          expect([release.status, release.body.code]).toEqual([403, 'RELEASE_INTERNAL']);
        }
      }),
      { numRuns: 3, seed: 7 },
    );
    console.log(`k-means fits: ${fits.join('; ')}`);
  }, 600_000);

  it('publishes a logistic evaluation whose score bins hold at least k customers of each label', async () => {
    const fit: FitView = await cluster.fit('logistic-regression', { purpose: 'churn-modelling', features: ['intercept', 'orders', 'avg_order_value'], label: 'churning', holdoutPercent: 30 });
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const ev = fit.evaluation as { positiveHistogram: number[]; negativeHistogram: number[]; binEdges: number[]; n: number; auc: number | null };
    expect(ev.positiveHistogram.length).toBeGreaterThanOrEqual(1);
    expect(ev.binEdges).toHaveLength(ev.positiveHistogram.length + 1);
    expect(Math.min(...ev.positiveHistogram, ...ev.negativeHistogram)).toBeGreaterThanOrEqual(K);
    // What raw 1000-bin histograms publish: bins holding a single customer with its label (over all consented
    // customers here; the held-out split is keyed at each shop).
    const coefficients = (fit.model as { coefficients: number[] }).coefficients;
    const points = plainPoints(pool);
    const stage = new Map(pool.customers.map((c) => [c.customerId, c.lifecycleStage]));
    const fine = new Map<number, number>();
    for (const p of points) {
      const s = 1 / (1 + Math.exp(-(coefficients[0]! + coefficients[1]! * p.x[0] + coefficients[2]! * p.x[1])));
      const bin = Math.min(999, Math.floor(s * 1000));
      fine.set(bin, (fine.get(bin) ?? 0) + (stage.get(p.id) === 'churning' ? 1 : 0));
    }
    expect([...fine.values()].some((v) => v === 1)).toBe(true);
    console.log(`logistic evaluation: ${ev.positiveHistogram.length} merged bins (positives ${ev.positiveHistogram.join('/')}, negatives ${ev.negativeHistogram.join('/')}), AUC ${ev.auc}`);
  }, 300_000);
});
