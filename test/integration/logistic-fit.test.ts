/**
 * A churn-propensity model fitted by federated Newton–IRLS over real
 * encrypted rounds equals the pooled fit computed independently in this
 * test; its held-out evaluation (AUC from encrypted score histograms) equals
 * the pooled one; a shop that drops out mid-fit is named in the audit log and
 * the fit completes on the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerFeature } from '../../analytics/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { pooledLogistic, pooledRows as pooledRowsOf, relErr, solve } from '../helpers/pooled-logistic.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

const FEATURES: CustomerFeature[] = ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'];

/** The design matrix a data scientist would build by pooling the shops' consented rows. */
function pooledRows(shops: SynthShops, shopIds: readonly string[], part: 'train' | 'holdout' | 'all') {
  return pooledRowsOf(shops, shopIds, FEATURES, part);
}

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  round: number;
  model: { coefficients: number[]; standardErrors: number[]; rounds: number; trainingRows: number } | null;
  evaluation: { auc: number; n: number; positiveHistogram: number[]; negativeHistogram: number[]; binEdges: number[] } | null;
}

/**
 * The pooled held-out scores in 1000 fine bins, merged from the lowest up
 * until each merged bin holds k of each label (the remainder joins the last
 * bin); AUC from the merged bins with ties counting one half. Written here
 * from the rule, not with the library's merge.
 */
function pooledMergedEvaluation(scores: { s: number; y: number }[], k: number): { pos: number[]; neg: number[]; auc: number } {
  const fine = { pos: new Array<number>(1000).fill(0), neg: new Array<number>(1000).fill(0) };
  for (const r of scores) (r.y === 1 ? fine.pos : fine.neg)[Math.min(999, Math.floor(r.s * 1000))]!++;
  const pos: number[] = [];
  const neg: number[] = [];
  let p = 0;
  let q = 0;
  for (let i = 0; i < 1000; i++) {
    p += fine.pos[i]!;
    q += fine.neg[i]!;
    if (p >= k && q >= k) {
      pos.push(p);
      neg.push(q);
      p = 0;
      q = 0;
    }
  }
  pos[pos.length - 1]! += p;
  neg[neg.length - 1]! += q;
  let pairs = 0;
  for (let i = 0; i < pos.length; i++) {
    for (let j = 0; j < neg.length; j++) pairs += pos[i]! * neg[j]! * (i > j ? 1 : i === j ? 0.5 : 0);
  }
  return { pos, neg, auc: pairs / (pos.reduce((a, b) => a + b, 0) * neg.reduce((a, b) => a + b, 0)) };
}

function exactAuc(scores: { s: number; y: number }[]): number {
  const pos = scores.filter((r) => r.y === 1).map((r) => r.s);
  const neg = scores.filter((r) => r.y === 0).map((r) => r.s);
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/**
 * Lets the merchants answer the fit's rounds until it ends; `answers(m, round)`
 * says whether merchant `m` answers round `round` (read from the round's own
 * spec, so a round published while the fit view still shows the previous one
 * is judged by its own number).
 */
async function drive(cluster: Cluster, fitId: string, nodes: readonly MerchantNode[], answers: (m: MerchantNode, round: number) => boolean, timeoutMs = 240_000): Promise<FitView> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api<FitView>(cluster, 'GET', `/v1/fits/${fitId}`);
    if (body.status === 'done' || body.status === 'failed') return body;
    if (Date.now() > until) throw new Error(`fit ${fitId} still ${body.status} at round ${body.round}`);
    for (const m of nodes) {
      for (const q of await m.openQueries()) {
        const round = (JSON.parse(q.specJson) as { round?: number }).round ?? Number.POSITIVE_INFINITY;
        if (!m.hasAnswered(q.queryId) && answers(m, round)) await m.answer(q);
      }
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('federated logistic regression', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 });
    shops = await makeShops(4, 'logistic');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  }, 120_000);

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('equals the pooled fit, and evaluates on held-out rows like the pooled scores', async () => {
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', {
      kind: 'logistic-regression',
      spec: { purpose: 'churn-modelling', features: FEATURES, label: 'churning', holdoutPercent: 20 },
      targetMerchants: 4,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const fit = await drive(cluster, created.body.fitId, merchants, () => true);
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const ids = shops.shopDirs.map((s) => s.shopId);
    const train = await pooledRows(shops, ids, 'train');
    const pooled = pooledLogistic(train, FEATURES.length);
    const model = fit.model!;
    expect(model.trainingRows).toBe(train.length);
    const worst = Math.max(...model.coefficients.map((b, j) => relErr(b, pooled.beta[j]!)));
    expect(worst).toBeLessThan(1e-6);
    expect(Math.max(...model.standardErrors.map((s, j) => relErr(s, pooled.se[j]!)))).toBeLessThan(1e-6);
    console.log(`logistic: ${model.rounds} rounds, largest relative coefficient difference ${worst.toExponential(2)}`);

    const holdout = await pooledRows(shops, ids, 'holdout');
    const scores = holdout.map((r) => ({ s: 1 / (1 + Math.exp(-r.x.reduce((a, v, j) => a + v * model.coefficients[j]!, 0))), y: r.y }));
    const ev = fit.evaluation!;
    expect(ev.n).toBe(holdout.length);
    // Published bins are the pooled fine bins merged until each holds k = 10 of each label: no bin
    // singles out a customer's score band and label.
    const merged = pooledMergedEvaluation(scores, 10);
    expect(ev.positiveHistogram).toEqual(merged.pos);
    expect(ev.negativeHistogram).toEqual(merged.neg);
    expect(Math.min(...ev.positiveHistogram, ...ev.negativeHistogram)).toBeGreaterThanOrEqual(10);
    // AUC, one statistic over all pairs, comes from the fine bins: within their resolution of the exact pooled AUC.
    const exact = exactAuc(scores);
    console.log(`logistic: held-out AUC ${ev.auc.toFixed(4)} (exact pooled ${exact.toFixed(4)}); ROC from ${ev.positiveHistogram.length} merged bins (merged-bin AUC ${merged.auc.toFixed(4)})`);
    expect(Math.abs(ev.auc - exact)).toBeLessThan(1e-3);

    // A shop downloads the model and scores its own consented customers locally.
    const { scores: local } = await merchants[0]!.scoreCustomers(created.body.fitId);
    const own = await pooledRows({ ...shops, shopDirs: shops.shopDirs.slice(0, 1) }, [shops.shopDirs[0]!.shopId], 'all');
    expect(local).toHaveLength(own.length);
    const expected = own.map((r) => 1 / (1 + Math.exp(-r.x.reduce((a, v, j) => a + v * model.coefficients[j]!, 0)))).sort((a, b) => a - b);
    const got = local.map((s) => s.score).sort((a, b) => a - b);
    expect(Math.max(...got.map((g, i) => Math.abs(g - expected[i]!)))).toBeLessThan(1e-12);
    expect(local.every((s) => s.id.startsWith('C-'))).toBe(true);
  }, 300_000);

  it('completes without a shop that drops out, and the audit log names it', async () => {
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', {
      kind: 'logistic-regression',
      spec: { purpose: 'churn-modelling', features: FEATURES, label: 'churning', holdoutPercent: 0, l2: 0.5 },
      targetMerchants: 4,
      roundDeadlineSeconds: 8,
    });
    expect(created.status).toBe(201);
    // shop-04 answers round 1 only, and first: round 1 waits at most 8 s, and on a busy machine three other shops' answers could take longer than that.
    const dropper = merchants[3]!;
    const fit = await drive(cluster, created.body.fitId, [dropper, ...merchants.slice(0, 3)], (m, round) => round <= 1 || m !== dropper);
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const missing = entries.filter((e) => e.type === 'round.incomplete' && (e.details as { fitId: string }).fitId === created.body.fitId);
    expect(missing).toHaveLength(1);
    expect(missing[0]!.details).toMatchObject({ round: 2, missing: [shops.shopDirs[3]!.shopId], contributions: 3 });
    expect(entries.some((e) => e.type === 'model.stored' && (e.details as { fitId: string }).fitId === created.body.fitId)).toBe(true);

    // Newton converges to the optimum of the remaining shops' data (ridge-penalised, intercept free).
    const rest = await pooledRows(shops, shops.shopDirs.slice(0, 3).map((s) => s.shopId), 'all');
    const l2 = FEATURES.map((f) => (f === 'intercept' ? 0 : 0.5));
    let beta = new Array<number>(FEATURES.length).fill(0);
    for (let it = 0; it < 50; it++) {
      const g = l2.map((l, j) => -l * beta[j]!);
      const h = FEATURES.map((_, j) => FEATURES.map((__, k) => (j === k ? l2[j]! : 0)));
      for (const r of rest) {
        const p = 1 / (1 + Math.exp(-r.x.reduce((s, v, j) => s + v * beta[j]!, 0)));
        r.x.forEach((xj, j) => {
          g[j]! += xj * (r.y - p);
          r.x.forEach((xk, k) => (h[j]![k]! += p * (1 - p) * xj * xk));
        });
      }
      const step = solve(h, g);
      beta = beta.map((b, j) => b + step[j]!);
      if (Math.max(...step.map(Math.abs)) < 1e-12) break;
    }
    const worst = Math.max(...fit.model!.coefficients.map((b, j) => relErr(b, beta[j]!)));
    expect(worst).toBeLessThan(1e-6);
  }, 300_000);
});
