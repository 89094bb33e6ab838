/**
 * Gradient-boosted trees fitted over real encrypted rounds: three shops of
 * unequal size (200, 400 and 800 store-weeks of a declared sales table), a
 * marketer asks for a fit of 2 trees of depth 2, the fit runner publishes
 * one `gbt-level` round per level, every shop answers with its encrypted
 * histograms, the key holder decrypts only their sums (k = 10) and the fit
 * runner grows the trees. The stored model must equal the pooled fit computed
 * here from the same rows (test/helpers/pooled-gbt.ts): the same trees
 * (nodes, subjects, splits) and leaf values and predictions within 1e-9
 * relative, for a numeric label (squared loss) and a binary one (logistic
 * loss), with minLeafSubjects taken from the key holder's k. The marketer
 * who asked for the fit reads the model (that no level can be read or asked
 * for is test/adversary/gbt-trees.test.ts). All parts real: merchant nodes,
 * SEAL, gRPC on 127.0.0.1, PGlite.
 *
 * The store-week fits have no stable key to hold rows out by, so every row
 * trains and no evaluation runs. A binary customer model (data: customers)
 * on a second cluster of three synthetic shops holds a quarter of the
 * customers out by pseudonym: its trees must equal the pooled fit on the
 * training customers, and the evaluation its last round publishes (merged
 * score histograms, AUC, log-loss) the pooled evaluation of the held-out
 * customers computed here. Every stored model's importance must equal the
 * pooled trees' total gain per variable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGbtFitSpec, gbtRows, gbtSpecOf, type GbtFitModel } from '../../analytics/gradient-boosted-trees.js';
import { gbtPredict, type GbtRow } from '../../analytics/gbt-tree.js';
import { isHoldout } from '../../analytics/customer-features.js';
import type { ModelEvaluation } from '../../analytics/model-evaluation.js';
import { LIFECYCLE_STAGES, type ShopData } from '../../analytics/shop-data.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';
import { consentedViews } from '../helpers/gbt-in-process.js';
import { pooledBinaryEvaluation, pooledGains, pooledMargin } from '../helpers/pooled-gbt-evaluation.js';
import { expectSameTrees, relativeDifference } from '../helpers/gbt-compare.js';
import { pooledFit, type PooledNode } from '../helpers/pooled-gbt.js';
import { BRANDS, SALES_PURPOSE, salesRegistry, storeWeekRows, writeStoreWeekShops, type StoreWeekRow } from '../helpers/store-week.js';

const K = 10;
const WEEKS = 20;
/** Stores per shop: unequal shops of 200, 400 and 800 store-weeks (10 brands a week). */
const STORES = [1, 2, 4];

const PRICE = { name: 'price', type: 'numeric', edges: [2, 2.5, 3, 3.5, 4, 4.5, 5] };
const DISPLAY = { name: 'display', type: 'numeric', edges: [0.5] };
const BRAND = { name: 'brand', type: 'categorical', levels: [...BRANDS] };

const FITS: Record<'numeric' | 'binary', Record<string, unknown>> = {
  numeric: {
    purpose: SALES_PURPOSE,
    data: 'store_week',
    label: { name: 'units', type: 'numeric', maxAbs: 1000 },
    variables: [PRICE, { name: 'promo', type: 'numeric', edges: [0.5] }, DISPLAY, BRAND],
    trees: 2,
    depth: 2,
    learningRate: 0.3,
  },
  binary: {
    purpose: SALES_PURPOSE,
    data: 'store_week',
    label: { name: 'promo', type: 'binary' },
    variables: [PRICE, DISPLAY, BRAND, { name: 'units', type: 'numeric', edges: [150, 175, 200, 225, 250] }],
    trees: 2,
    depth: 2,
    learningRate: 0.3,
  },
};

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  round: number;
  model: GbtFitModel | null;
}

/** Answers every round of the fit until it ends; returns the fit's last view and the rounds' query ids. */
async function drive(get: () => Promise<FitView>, nodes: readonly MerchantNode[], timeoutMs = 240_000): Promise<{ fit: FitView; rounds: string[] }> {
  const rounds = new Set<string>();
  const until = Date.now() + timeoutMs;
  for (;;) {
    const fit = await get();
    if (fit.status === 'done' || fit.status === 'failed') return { fit, rounds: [...rounds] };
    if (Date.now() > until) throw new Error(`fit ${fit.fitId} still ${fit.status} at round ${fit.round}`);
    let answered = false;
    for (const m of nodes) {
      for (const q of await m.openQueries()) {
        rounds.add(q.queryId);
        if (m.hasAnswered(q.queryId)) continue;
        await m.answer(q);
        answered = true;
      }
    }
    if (!answered) await new Promise((r) => setTimeout(r, 100));
  }
}

/** The rows a data scientist pooling the shops' tables would fit on, built here from the generated rows. */
function pooledRows(rows: readonly StoreWeekRow[], fit: 'numeric' | 'binary'): GbtRow[] {
  return rows.map((r) => {
    const x = { price: Number(r.price), promo: Number(r.promo), display: Number(r.display), brand: String(r.brand), units: Number(r.units) };
    return fit === 'numeric' ? { x, y: x.units } : { x, y: x.promo };
  });
}

/** The model's importance lists every variable once, largest gain first, each within 1e-9 relative of the pooled trees' total gain. */
function expectImportance(model: GbtFitModel, trees: readonly PooledNode[][]): void {
  const gains = pooledGains(trees, model.variables.map((v) => v.name));
  const importance = model.importance ?? [];
  expect(importance.map((i) => i.variable).sort()).toEqual([...gains.keys()].sort());
  for (const { variable, gain } of importance) expect(relativeDifference(gain, gains.get(variable) as number)).toBeLessThan(1e-9);
  expect(importance.map((i) => i.gain)).toEqual(importance.map((i) => i.gain).sort((a, b) => b - a));
  expect(importance[0]?.gain).toBeGreaterThan(0);
}

describe('federated gradient-boosted trees on a real cluster', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[] = [];
  let pooled: StoreWeekRow[];
  let marketer: <T>(method: 'GET' | 'POST', path: string, body?: unknown) => Promise<{ status: number; body: T }>;
  const fits = new Map<string, { fit: FitView; rounds: string[] }>();

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: K }, { purposes: salesRegistry() });
    const rows = storeWeekRows(3, Math.max(...STORES), WEEKS, 20261207).map((shop, s) => shop.slice(0, (STORES[s] as number) * WEEKS * BRANDS.length));
    pooled = rows.flat();
    merchants = await makeMerchants(writeStoreWeekShops(rows), cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const user = await api<{ token: string }>(cluster, 'POST', '/v1/users', { userId: 'mkt-gbt', role: 'marketer', purposes: [SALES_PURPOSE] });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    marketer = async <T,>(method: 'GET' | 'POST', path: string, body?: unknown) => {
      const res = await fetch(cluster.coordinator.httpAddress + path, {
        method,
        headers: { authorization: `Bearer ${user.body.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as T };
    };
    for (const [name, spec] of Object.entries(FITS)) {
      const created = await marketer<FitView>('POST', '/v1/fits', { kind: 'gradient-boosted-trees', spec, targetMerchants: 3 });
      expect(created.status, `${name}: ${JSON.stringify(created.body)}`).toBe(201);
      fits.set(name, await drive(async () => (await marketer<FitView>('GET', `/v1/fits/${created.body.fitId}`)).body, merchants));
    }
  }, 400_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it.each(['numeric', 'binary'] as const)('%s label: the stored model equals the pooled fit on the same rows', (name) => {
    const { fit, rounds } = fits.get(name)!;
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model!;
    const spec = gbtSpecOf(parseGbtFitSpec({ ...FITS[name], kind: 'gradient-boosted-trees' }));
    expect(model.minLeafSubjects).toBe(K);
    expect(model.trainingRows).toBe(pooled.length);
    expect(model.rounds).toBe(rounds.length);
    // At most one round per level, and one leaf-overlap round per tree from the second.
    expect(rounds.length).toBeLessThanOrEqual(spec.trees * spec.depth + spec.trees - 1);
    const rows = pooledRows(pooled, name);
    const reference = pooledFit({ ...spec, minLeafSubjects: K }, rows);
    expect(model.trees).toHaveLength(spec.trees);
    const want = reference.margins.map((m) => (name === 'binary' ? 1 / (1 + Math.exp(-m)) : m));
    const { leaf: worstLeaf, prediction: worstPrediction, splits } = expectSameTrees(model, reference.trees, rows, want, K);
    expect(splits).toBeGreaterThanOrEqual(2);
    // No hold-out on a table: no evaluation; importance is the pooled fit's total gain per variable.
    expect(model.holdoutPercent).toBe(0);
    expect(model.evaluation).toBeUndefined();
    expectImportance(model, reference.trees);
    console.log(`gbt ${name}: ${rounds.length} rounds, ${splits} splits, worst relative difference to the pooled fit: leaf ${worstLeaf.toExponential(2)}, prediction ${worstPrediction.toExponential(2)}`);
  });

  it('the marketer reads the model, and the audit log records it', async () => {
    // That the marketer cannot create, list, read or fetch a level is the adversary suite's
    // (test/adversary/gbt-trees.test.ts, against a key holder and coordinator running as processes).
    const { fit } = fits.get('numeric')!;
    const view = await marketer<FitView>('GET', `/v1/fits/${fit.fitId}`);
    expect(view.status).toBe(200);
    expect(view.body.model?.trees).toHaveLength(2);
    // The audit log records the stored model.
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    expect(entries.some((e) => e.type === 'model.stored' && (e.details as { fitId: string }).fitId === fit.fitId)).toBe(true);
  });
});

const CUSTOMER_PURPOSE = 'marketing-analytics';
const HOLDOUT = 25;
const CUSTOMER_FIT = {
  purpose: CUSTOMER_PURPOSE,
  data: 'customers',
  asOf: '2026-01-01T00:00:00Z',
  aggregates: { returned_any: 'max(order.returned)', n_orders: 'count(orders)', avg_spend: 'mean(order.amount)' },
  label: { name: 'returned_any', type: 'binary' },
  variables: [
    { name: 'n_orders', type: 'numeric', edges: [2, 3, 5, 8] },
    { name: 'avg_spend', type: 'numeric', edges: [50, 100, 200, 400, 800] },
    { name: 'lifecycle_stage', type: 'categorical', levels: [...LIFECYCLE_STAGES] },
  ],
  trees: 2,
  depth: 2,
  learningRate: 0.5,
  holdoutPercent: HOLDOUT,
};

/** A shop's view with only its held-out customers, or only its training ones: the split applied here by pseudonym. */
function splitView(view: ShopData, held: boolean): ShopData {
  const keep = new Set(view.customers.filter((c) => isHoldout(c.customerId, HOLDOUT) === held).map((c) => c.customerId));
  return { ...view, customers: view.customers.filter((c) => keep.has(c.customerId)), orders: view.orders.filter((o) => keep.has(o.customerId)) };
}

describe('a gradient-boosted-trees customer model with a hold-out, on a real cluster', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[] = [];
  let views: ShopData[];
  let run: { fit: FitView; rounds: string[] };

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: K });
    const shops = await makeShops(3, 'gbt-holdout', { customersPerShop: { min: 250, max: 500 } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    views = await consentedViews(shops, CUSTOMER_PURPOSE);
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'gradient-boosted-trees', spec: CUSTOMER_FIT, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    run = await drive(async () => (await api<FitView>(cluster, 'GET', `/v1/fits/${created.body.fitId}`)).body, merchants);
  }, 400_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it('trains on the training customers only, and its evaluation and importance equal the pooled ones', () => {
    const { fit, rounds } = run;
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model!;
    const spec = parseGbtFitSpec({ ...CUSTOMER_FIT, kind: 'gradient-boosted-trees' });
    const gbt = { ...gbtSpecOf(spec), minLeafSubjects: K };
    const train = views.flatMap((v) => gbtRows(spec, splitView(v, false)));
    const held = views.flatMap((v) => gbtRows(spec, splitView(v, true)));
    expect(held.length).toBeGreaterThan(0.15 * (train.length + held.length));
    expect(model.holdoutPercent).toBe(HOLDOUT);
    expect(model.trainingRows).toBe(train.length);
    // One round per level, one leaf-overlap round per tree from the second, then the evaluation round.
    expect(model.rounds).toBe(rounds.length);
    expect(rounds.length).toBeLessThanOrEqual(spec.trees * spec.depth + spec.trees - 1 + 1);
    const reference = pooledFit(gbt, train);
    expect(model.trees.map((t) => t.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects]))).toEqual(reference.trees.map((t) => t.map((n) => [n.id, n.kind, n.subjects])));
    const margins = held.map((r) => pooledMargin(reference.trees, gbt.baseMargin, r));
    const worst = Math.max(...held.map((r, i) => relativeDifference(gbtPredict(model, r), 1 / (1 + Math.exp(-(margins[i] as number))))));
    expect(worst).toBeLessThan(1e-9);
    const want = pooledBinaryEvaluation(margins.map((margin, i) => ({ margin, y: (held[i] as GbtRow).y })), K);
    const got = model.evaluation as ModelEvaluation;
    expect([got.n, got.positives, got.negatives]).toEqual([want.n, want.positives, want.negatives]);
    expect(got.positiveHistogram).toEqual(want.merged.pos);
    expect(got.negativeHistogram).toEqual(want.merged.neg);
    expect(got.binEdges).toEqual(want.merged.pos.length === 0 ? [] : [...want.merged.starts.map((i) => i / 1000), 1]);
    expect(got.auc === null).toBe(want.auc === null);
    if (want.auc !== null) expect(Math.abs((got.auc as number) - want.auc)).toBeLessThan(1e-12);
    expect(Math.abs((got.logLoss as number) - (want.logLoss as number))).toBeLessThan(1e-9);
    expect(got.accuracy === null).toBe(want.confusionWithheld);
    expectImportance(model, reference.trees);
    console.log(
      `gbt customers: ${train.length} training and ${held.length} held-out customers, ${rounds.length} rounds; AUC ${got.auc?.toFixed(4)} (exact ${want.exactAuc?.toFixed(4)}), ` +
        `${got.positiveHistogram.length} merged bins, log-loss ${got.logLoss?.toFixed(4)}; importance ${(model.importance ?? []).map((i) => `${i.variable} ${i.gain.toFixed(2)}`).join(', ')}; worst prediction ${worst.toExponential(2)}`,
    );
  });
});
