/**
 * k-means segmentation by federated Lloyd rounds over real encrypted rounds:
 * the assignments and centroids equal a pooled Lloyd run from the same
 * seeded initialisation, computed independently in this test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureRows, type CustomerFeature } from '../../analytics/index.js';
import { seededCentroids } from '../../analytics/kmeans.js';
import { DEFAULT_PURPOSE_REGISTRY, getPurpose } from '../../compliance/index.js';
import { loadShopCompliance, loadShopData, roundView, type MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

const FEATURES: CustomerFeature[] = ['orders', 'avg_order_value', 'tenure_years'];

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  round: number;
  model: { centroids: number[][]; initialCentroids: number[][]; sizes: number[]; rounds: number; converged: boolean; featureClip?: string; maxFeatureAbs?: number } | null;
}

async function pooledPoints(shops: SynthShops): Promise<number[][]> {
  const purpose = getPurpose(DEFAULT_PURPOSE_REGISTRY, 'marketing-analytics');
  const points: number[][] = [];
  for (const s of shops.shopDirs) {
    const data = await loadShopData(s.dir, s.shopId);
    const c = await loadShopCompliance(s.dir);
    const f = c.ledger.filterForRound({ purpose, cutoff: new Date(), customerIds: data.customers.map((x) => x.customerId) });
    points.push(...featureRows(roundView(data, f.includedCustomerIds, purpose, c.pseudonymKey), FEATURES, 'repeat', { holdoutPercent: 0, part: 'all' }).map((r) => r.x));
  }
  return points;
}


/** The fitted model equals an independent pooled Lloyd run over `points` from the same seeded start. */
function expectPooledLloyd(model: NonNullable<FitView['model']>, points: readonly number[][], k: number, seed: number): void {
  // Independent pooled computation: moments, the same seeded start, plain Lloyd iterations.
  const n = points.length;
  const mean = FEATURES.map((_, j) => points.reduce((s, p) => s + p[j]!, 0) / n);
  const std = FEATURES.map((_, j) => Math.sqrt(points.reduce((s, p) => s + p[j]! ** 2, 0) / n - mean[j]! ** 2));
  const init = seededCentroids({ n, mean, std }, k, seed);
  model.initialCentroids.forEach((c, i) => c.forEach((v, j) => expect(Math.abs(v - init[i]![j]!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(init[i]![j]!)))));

  let centroids = model.initialCentroids.map((c) => [...c]);
  let sizes: number[] = [];
  for (let it = 0; it < 200; it++) {
    const sums = centroids.map(() => FEATURES.map(() => 0));
    sizes = centroids.map(() => 0);
    for (const p of points) {
      let best = 0;
      let bestD = Infinity;
      centroids.forEach((c, i) => {
        const d = c.reduce((s, v, j) => s + (p[j]! - v) ** 2, 0);
        if (d < bestD) {
          bestD = d;
          best = i;
        }
      });
      sizes[best]!++;
      p.forEach((v, j) => (sums[best]![j]! += v));
    }
    const next = centroids.map((c, i) => (sizes[i]! > 0 ? sums[i]!.map((s) => s / sizes[i]!) : c));
    const moved = Math.max(...next.flatMap((c, i) => c.map((v, j) => Math.abs(v - centroids[i]![j]!))));
    centroids = next;
    if (moved === 0) break;
  }
  expect(model.sizes).toEqual(sizes);
  model.centroids.forEach((c, i) => c.forEach((v, j) => expect(Math.abs(v - centroids[i]![j]!) / Math.max(1e-12, Math.abs(centroids[i]![j]!))).toBeLessThan(1e-9)));
}

describe('federated k-means', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    cluster = await startCluster();
    shops = await makeShops(3, 'kmeans');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  }, 120_000);

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  /** Starts a k-means fit and has the shops answer until it ends; returns its last view. */
  async function runFit(spec: Record<string, unknown>): Promise<FitView> {
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'kmeans', spec: { purpose: 'marketing-analytics', features: FEATURES, ...spec }, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    let fit = created.body;
    while (fit.status !== 'done' && fit.status !== 'failed') {
      for (const m of merchants) await m.answerOpenQueries();
      await new Promise((r) => setTimeout(r, 150));
      fit = (await api<FitView>(cluster, 'GET', `/v1/fits/${created.body.fitId}`)).body;
    }
    return fit;
  }

  it('clips features beyond maxFeatureAbs under featureClip clip, and equals pooled Lloyd on the clipped rows', async () => {
    const points = await pooledPoints(shops);
    // The pooled rows' 95th percentile of |feature| as the bound, so that it bites.
    const magnitudes = points.flatMap((p) => p.map((v) => Math.abs(v))).sort((a, b) => a - b);
    const bound = Number(magnitudes[Math.floor(0.95 * magnitudes.length)]!.toFixed(3));
    const clipped = points.filter((p) => p.some((v) => Math.abs(v) > bound)).length;
    expect(clipped).toBeGreaterThan(0);
    console.log(`k-means clip: bound ${bound}, rows clipped ${clipped} of ${points.length}`);
    expect(points.some((p) => p.some((v) => Math.abs(v) > bound))).toBe(true);
    const fit = await runFit({ k: 3, seed: 7, maxFeatureAbs: bound, featureClip: 'clip' });
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    expect(fit.model).toMatchObject({ featureClip: 'clip', maxFeatureAbs: bound });
    expectPooledLloyd(fit.model!, points.map((p) => p.map((v) => Math.min(bound, Math.max(-bound, v)))), 3, 7);
  }, 300_000);

  it('matches a pooled Lloyd run from the same seeded initialisation', async () => {
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', {
      kind: 'kmeans',
      spec: { purpose: 'marketing-analytics', features: FEATURES, k: 3, seed: 7 },
      targetMerchants: 3,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    let fit = created.body;
    const until = Date.now() + 240_000;
    while (fit.status !== 'done' && fit.status !== 'failed') {
      if (Date.now() > until) throw new Error(`fit still ${fit.status}`);
      for (const m of merchants) await m.answerOpenQueries();
      await new Promise((r) => setTimeout(r, 150));
      fit = (await api<FitView>(cluster, 'GET', `/v1/fits/${created.body.fitId}`)).body;
    }
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model!;
    expect(model.converged).toBe(true);

    expectPooledLloyd(model, await pooledPoints(shops), 3, 7);
    console.log(`k-means: ${model.rounds} rounds, sizes ${model.sizes.join('/')}`);
  }, 300_000);
});
