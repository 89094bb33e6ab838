/**
 * A logistic fit that declares clipping (`featureClip: 'clip'`,
 * `gradientClip`), over real encrypted rounds: shops whose customers have
 * features beyond ±maxFeatureAbs answer every round instead of declining,
 * and the model equals the pooled fit of the clipped rows computed
 * independently here (test/helpers/pooled-logistic-clipped.ts): features
 * clipped to the bound, each row's gradient scaled to norm G, the same
 * Newton steps and stopping rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerFeature } from '../../analytics/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { pooledLogistic, pooledRows, relErr } from '../helpers/pooled-logistic.js';
import { pooledClippedLogistic, pooledClippedSums, type Clipping } from '../helpers/pooled-logistic-clipped.js';

const FEATURES: CustomerFeature[] = ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'];
const CLIPPING: Clipping = { maxFeatureAbs: 3, clipFeatures: true, gradientClip: 3 };
const LIMITS = { tolerance: 1e-6, maxRounds: 25 };

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  round: number;
  model: { coefficients: number[]; standardErrors: number[]; rounds: number; trainingRows: number; featureClip?: string; gradientClip?: number; maxFeatureAbs?: number } | null;
  evaluation: { auc: number; n: number } | null;
}

/** AUC by ranks over every (positive, negative) pair, ties counting one half. */
function exactAuc(scores: readonly { s: number; y: number }[]): number {
  const sorted = [...scores].sort((a, b) => a.s - b.s);
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.s === sorted[i]!.s) j++;
    for (let t = i; t <= j; t++) if (sorted[t]!.y === 1) rankSum += (i + j) / 2 + 1;
    i = j + 1;
  }
  const pos = scores.filter((r) => r.y === 1).length;
  const neg = scores.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

describe('federated logistic regression with declared clipping', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 });
    shops = await makeShops(4, 'logistic-clip');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  }, 120_000);

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('every shop answers though rows lie beyond maxFeatureAbs, and the model equals the pooled clipped fit', async () => {
    const ids = shops.shopDirs.map((s) => s.shopId);
    const train = await pooledRows(shops, ids, FEATURES, 'train');
    // The data has rows beyond the bound in every shop's share of the pool, so without clipping they would decline.
    expect(train.filter((r) => r.x.some((v) => Math.abs(v) > CLIPPING.maxFeatureAbs)).length).toBeGreaterThan(100);

    const created = await api<FitView>(cluster, 'POST', '/v1/fits', {
      kind: 'logistic-regression',
      spec: { purpose: 'churn-modelling', features: FEATURES, label: 'churning', holdoutPercent: 20, maxFeatureAbs: CLIPPING.maxFeatureAbs, featureClip: 'clip', gradientClip: CLIPPING.gradientClip, tolerance: LIMITS.tolerance },
      targetMerchants: merchants.length,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const fitId = created.body.fitId;
    const answered = new Map<string, number>();
    const until = Date.now() + 400_000;
    let fit: FitView;
    for (;;) {
      fit = (await api<FitView>(cluster, 'GET', `/v1/fits/${fitId}`)).body;
      if (fit.status === 'done' || fit.status === 'failed') break;
      if (Date.now() > until) throw new Error(`fit ${fitId} still ${fit.status} at round ${fit.round}`);
      for (const m of merchants) {
        for (const q of await m.openQueries()) {
          if (m.hasAnswered(q.queryId)) continue;
          const { outcome } = await m.answer(q);
          answered.set(outcome, (answered.get(outcome) ?? 0) + 1);
        }
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    expect([...answered.keys()]).toEqual(['submitted']);

    const pooled = pooledClippedLogistic(train, FEATURES.length, CLIPPING, LIMITS);
    const model = fit.model!;
    expect([model.featureClip, model.gradientClip]).toEqual(['clip', CLIPPING.gradientClip]);
    expect(model.trainingRows).toBe(train.length);
    expect(model.rounds).toBe(pooled.rounds);
    const worst = Math.max(...model.coefficients.map((b, j) => relErr(b, pooled.beta[j]!)));
    expect(worst).toBeLessThan(1e-6);
    expect(Math.max(...model.standardErrors.map((s, j) => relErr(s, pooled.se[j]!)))).toBeLessThan(1e-6);

    // The clipping mattered: rows' gradients are clipped at the fitted β, and the unclipped pooled fit is elsewhere.
    expect(pooledClippedSums(train, model.coefficients, CLIPPING).clippedRows).toBeGreaterThan(0);
    const unclipped = pooledLogistic(train, FEATURES.length);
    expect(Math.max(...model.coefficients.map((b, j) => relErr(b, unclipped.beta[j]!)))).toBeGreaterThan(1e-3);
    // The held-out rows and a shop's own customers are read as the training rows were: clipped to ±maxFeatureAbs.
    expect(model.maxFeatureAbs).toBe(CLIPPING.maxFeatureAbs);
    const clip = (x: readonly number[]) => x.map((v) => Math.min(CLIPPING.maxFeatureAbs, Math.max(-CLIPPING.maxFeatureAbs, v)));
    const score = (x: readonly number[]) => 1 / (1 + Math.exp(-x.reduce((a, v, j) => a + v * model.coefficients[j]!, 0)));
    const holdout = await pooledRows(shops, ids, FEATURES, 'holdout');
    expect(holdout.filter((r) => r.x.some((v) => Math.abs(v) > CLIPPING.maxFeatureAbs)).length).toBeGreaterThan(0);
    const ev = fit.evaluation!;
    expect(ev.n).toBe(holdout.length);
    const clippedAuc = exactAuc(holdout.map((r) => ({ s: score(clip(r.x)), y: r.y })));
    expect(Math.abs(ev.auc - clippedAuc)).toBeLessThan(1e-3);
    const { scores: local } = await merchants[0]!.scoreCustomers(fitId);
    const own = await pooledRows({ ...shops, shopDirs: shops.shopDirs.slice(0, 1) }, [shops.shopDirs[0]!.shopId], FEATURES, 'all');
    expect(own.filter((r) => r.x.some((v) => Math.abs(v) > CLIPPING.maxFeatureAbs)).length).toBeGreaterThan(0);
    const expected = own.map((r) => score(clip(r.x))).sort((a, b) => a - b);
    const got = local.map((s) => s.score).sort((a, b) => a - b);
    expect(got).toHaveLength(expected.length);
    expect(Math.max(...got.map((g, i) => Math.abs(g - expected[i]!)))).toBeLessThan(1e-12);
    console.log(`logistic with clipping: held-out AUC ${ev.auc.toFixed(4)} (pooled over clipped rows ${clippedAuc.toFixed(4)}, unclipped ${exactAuc(holdout.map((r) => ({ s: score(r.x), y: r.y }))).toFixed(4)})`);
    console.log(`logistic with clipping: ${model.rounds} rounds, ${pooledClippedSums(train, model.coefficients, CLIPPING).clippedRows} of ${train.length} rows' gradients clipped at the end, largest relative coefficient difference from the pooled clipped fit ${worst.toExponential(2)}`);
  }, 480_000);
});
