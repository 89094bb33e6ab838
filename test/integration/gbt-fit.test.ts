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
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGbtFitSpec, gbtSpecOf, type GbtFitModel } from '../../analytics/gradient-boosted-trees.js';
import { gbtPredict, type GbtRow } from '../../analytics/gbt-tree.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants } from '../../harness/shops.js';
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

const rel = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

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
    expect(rounds.length).toBeLessThanOrEqual(spec.trees * spec.depth);
    const rows = pooledRows(pooled, name);
    const reference = pooledFit({ ...spec, minLeafSubjects: K }, rows);
    expect(model.trees).toHaveLength(spec.trees);
    let splits = 0;
    let worstLeaf = 0;
    model.trees.forEach((tree, t) => {
      const want = reference.trees[t] as PooledNode[];
      expect(tree.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects])).toEqual(want.map((n) => [n.id, n.kind, n.subjects]));
      tree.nodes.forEach((node, i) => {
        const w = want[i] as PooledNode;
        if (node.kind === 'split' && w.kind === 'split') {
          splits++;
          expect(node.split.variable).toBe(w.variable);
          if (node.split.type === 'numeric') expect(node.split.threshold).toBe(w.threshold);
          else expect(node.split.levels).toEqual(w.levels);
        } else if (node.kind === 'leaf' && w.kind === 'leaf') {
          expect(node.subjects).toBeGreaterThanOrEqual(K);
          worstLeaf = Math.max(worstLeaf, rel(node.value, w.value));
        }
      });
    });
    expect(splits).toBeGreaterThanOrEqual(2);
    expect(worstLeaf).toBeLessThan(1e-9);
    let worstPrediction = 0;
    rows.forEach((row, i) => {
      const m = reference.margins[i] as number;
      worstPrediction = Math.max(worstPrediction, rel(gbtPredict(model, row), name === 'binary' ? 1 / (1 + Math.exp(-m)) : m));
    });
    expect(worstPrediction).toBeLessThan(1e-9);
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
