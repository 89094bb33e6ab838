/**
 * Federated bin edges on a real cluster: three shops of unequal size (200,
 * 400 and 800 store-weeks of a declared sales table), a marketer asks for a
 * gradient-boosted-trees fit whose price gives `range: [2, 5.5]` instead of
 * edges. The fit runner publishes a `gbt-bin-grid` round first (each shop's
 * encrypted counts of its rows on 256 cells over the range), chooses the
 * edges from their decrypted sums (k = 10), and grows the trees on them in
 * `gbt-level` rounds. The stored model's price edges must equal those
 * computed here from the pooled rows by the documented rule
 * (test/helpers/reference-bin-edges.ts), and the model the pooled fit on
 * those edges (test/helpers/pooled-gbt.ts). The grid is not listed to the
 * marketer, nor readable. All parts real: merchant nodes, SEAL, gRPC on
 * 127.0.0.1, PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGbtFitSpec, gbtSpecOf, type GbtFitModel } from '../../analytics/gradient-boosted-trees.js';
import type { GbtRow } from '../../analytics/gbt-tree.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants } from '../../harness/shops.js';
import { expectSameTrees } from '../helpers/gbt-compare.js';
import { pooledFit } from '../helpers/pooled-gbt.js';
import { gridCounts, referenceEdges } from '../helpers/reference-bin-edges.js';
import { BRANDS, SALES_PURPOSE, salesRegistry, storeWeekRows, writeStoreWeekShops, type StoreWeekRow } from '../helpers/store-week.js';

const K = 10;
const WEEKS = 20;
/** Stores per shop: unequal shops of 200, 400 and 800 store-weeks (10 brands a week). */
const STORES = [1, 2, 4];
const PRICE_RANGE: [number, number] = [2, 5.5];
const BINS = 12;

const FIT = {
  purpose: SALES_PURPOSE,
  data: 'store_week',
  label: { name: 'units', type: 'numeric', maxAbs: 1000 },
  variables: [
    { name: 'price', type: 'numeric', range: PRICE_RANGE },
    { name: 'promo', type: 'numeric', edges: [0.5] },
    { name: 'display', type: 'numeric', edges: [0.5] },
    { name: 'brand', type: 'categorical', levels: [...BRANDS] },
  ],
  trees: 2,
  depth: 2,
  bins: BINS,
  learningRate: 0.3,
};

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  round: number;
  model: GbtFitModel | null;
}

/** Answers every round of the fit until it ends; returns the fit's last view and the rounds' query ids and kinds. */
async function drive(get: () => Promise<FitView>, nodes: readonly MerchantNode[], timeoutMs = 240_000): Promise<{ fit: FitView; rounds: Map<string, string> }> {
  const rounds = new Map<string, string>();
  const until = Date.now() + timeoutMs;
  for (;;) {
    const fit = await get();
    if (fit.status === 'done' || fit.status === 'failed') return { fit, rounds };
    if (Date.now() > until) throw new Error(`fit ${fit.fitId} still ${fit.status} at round ${fit.round}`);
    let answered = false;
    for (const m of nodes) {
      for (const q of await m.openQueries()) {
        rounds.set(q.queryId, q.kind);
        if (m.hasAnswered(q.queryId)) continue;
        await m.answer(q);
        answered = true;
      }
    }
    // Nothing to answer yet: the next round is published when the coordinator has advanced the fit.
    if (!answered) await new Promise((r) => setTimeout(r, 100));
  }
}

describe('federated bin edges on a real cluster', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[] = [];
  let pooled: StoreWeekRow[];
  let marketer: <T>(method: 'GET' | 'POST', path: string, body?: unknown) => Promise<{ status: number; body: T }>;
  let result: { fit: FitView; rounds: Map<string, string> };

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: K }, { purposes: salesRegistry() });
    const rows = storeWeekRows(3, Math.max(...STORES), WEEKS, 20261208).map((shop, s) => shop.slice(0, (STORES[s] as number) * WEEKS * BRANDS.length));
    pooled = rows.flat();
    merchants = await makeMerchants(writeStoreWeekShops(rows), cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const user = await api<{ token: string }>(cluster, 'POST', '/v1/users', { userId: 'mkt-gbt-edges', role: 'marketer', purposes: [SALES_PURPOSE] });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    marketer = async <T,>(method: 'GET' | 'POST', path: string, body?: unknown) => {
      const res = await fetch(cluster.coordinator.httpAddress + path, {
        method,
        headers: { authorization: `Bearer ${user.body.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as T };
    };
    const created = await marketer<FitView>('POST', '/v1/fits', { kind: 'gradient-boosted-trees', spec: FIT, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    result = await drive(async () => (await marketer<FitView>('GET', `/v1/fits/${created.body.fitId}`)).body, merchants);
  }, 400_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it('the stored edges are those of the pooled rows, and the model equals the pooled fit on them', () => {
    const { fit, rounds } = result;
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model!;
    const kinds = [...rounds.values()];
    expect(kinds[0]).toBe('gbt-bin-grid');
    // Then levels, and a leaf-overlap round after each tree from the second (the last round).
    expect(kinds.slice(1).every((k) => k === 'gbt-level' || k === 'gbt-leaf-overlap')).toBe(true);
    expect(kinds.filter((k) => k === 'gbt-leaf-overlap')).toHaveLength(FIT.trees - 1);
    expect(kinds.at(-1)).toBe('gbt-leaf-overlap');
    expect(model.rounds).toBe(rounds.size);
    expect(model.minLeafSubjects).toBe(K);
    expect(model.trainingRows).toBe(pooled.length);

    const prices = pooled.map((r) => Number(r.price));
    expect(prices.some((p) => p < PRICE_RANGE[0]) && prices.some((p) => p >= PRICE_RANGE[1])).toBe(true);
    const edges = referenceEdges(gridCounts(prices, PRICE_RANGE), PRICE_RANGE, BINS, K);
    expect(edges).toHaveLength(BINS - 1);
    expect(model.variables[0]).toEqual({ name: 'price', type: 'numeric', edges });

    const declared = gbtSpecOf(parseGbtFitSpec({ ...FIT, kind: 'gradient-boosted-trees', variables: [{ name: 'price', type: 'numeric', edges }, ...FIT.variables.slice(1)] }));
    const rows: GbtRow[] = pooled.map((r) => {
      const x = { price: Number(r.price), promo: Number(r.promo), display: Number(r.display), brand: String(r.brand) };
      return { x, y: Number(r.units) };
    });
    const reference = pooledFit({ ...declared, minLeafSubjects: K }, rows);
    expect(model.trees).toHaveLength(FIT.trees);
    const { leaf: worstLeaf, prediction: worstPrediction, splitsOn } = expectSameTrees(model, reference.trees, rows, reference.margins, K);
    const priceSplits = splitsOn.get('price') ?? 0;
    expect(priceSplits).toBeGreaterThanOrEqual(1);
    console.log(`gbt bin edges: ${rounds.size} rounds (1 grid), price edges ${edges.join(', ')}, ${priceSplits} price splits, worst relative difference to the pooled fit: leaf ${worstLeaf.toExponential(2)}, prediction ${worstPrediction.toExponential(2)}`);
  });

  it('the marketer can neither list nor read the grid, nor ask for one', async () => {
    const [gridId] = [...result.rounds.entries()].find(([, kind]) => kind === 'gbt-bin-grid')!;
    const listed = await marketer<{ queries: { queryId: string }[] }>('GET', '/v1/queries');
    expect(listed.body.queries.map((q) => q.queryId)).not.toContain(gridId);
    const one = await marketer<{ code: string }>('GET', `/v1/queries/${gridId}`);
    expect([one.status, one.body.code]).toEqual([403, 'QUERY_INTERNAL']);
    const release = await marketer<{ code: string }>('GET', `/v1/queries/${gridId}/release`);
    expect([release.status, release.body.code]).toEqual([403, 'RELEASE_INTERNAL']);
    const direct = await marketer<{ code: string }>('POST', '/v1/queries', { kind: 'gbt-bin-grid', spec: { ...FIT, fitId: 'fit-mine', round: 1 }, targetMerchants: 3 });
    expect([direct.status, direct.body.code]).toEqual([403, 'QUERY_KIND_INTERNAL']);
    const kinds = await marketer<{ queryKinds: string[] }>('GET', '/v1/kinds');
    expect(kinds.body.queryKinds).not.toContain('gbt-bin-grid');
  });
});
