/**
 * Slow and missing shops in a gradient-boosted-trees fit, as in the other
 * fits (docs/operations.md, "Slow shops in fits"), on a real cluster
 * (merchant nodes, SEAL, gRPC on 127.0.0.1, PGlite, k = 10) over a declared
 * store-week table of three shops (100, 200 and 300 rows), 2 trees of
 * depth 2, numeric label.
 *
 * 1. minMerchants 3: the third shop holds back the second `gbt-level` round
 *    (the first level below the root) until the test has seen that round
 *    close without it (TOO_FEW_MERCHANTS), sends its answer to the closed
 *    round (refused) and answers the retry. The retry carries the same spec
 *    (the same forest) as the failed attempt; the fit completes with the
 *    pooled fit over all three shops' rows (test/helpers/pooled-gbt.ts: the
 *    same trees, leaf values and predictions within 1e-9 relative); its view
 *    lists the retried round, the audit log has a `round.retried` entry, and
 *    the failed attempt released nothing (each round released once, the key
 *    holder decrypted and recorded only released rounds).
 * 2. minMerchants 2 (key holder's too): the third shop answers round 1 and is
 *    stopped. Every later round closes at its deadline with the two others
 *    and is released; the fit completes (no retry: two shops meet the
 *    minimum), the audit log names the missing shop once (`round.incomplete`
 *    at round 2), and the model equals the pooled computation in which the
 *    third shop's rows are present in round 1 only: tree 1's root split over
 *    all rows, its children's splits and leaves over the two shops' rows
 *    (each a pooled fit of depth 1 on the rows reaching it), tree 2 over the
 *    two shops' rows at tree 1's margins (a pooled tree on the residual
 *    labels y − tree 1, the same gradients for squared loss), pruned by the
 *    leaf-overlap rule against tree 1's leaves on those rows (the last
 *    round's counts are the two shops'). Tree 1's root
 *    thus records all rows, the rest of the model and `trainingRows` the
 *    remaining shops' rows. The two clusters are separate: a release over
 *    two shops beside an earlier release of the purpose over three (another
 *    fit) is refused (MERCHANT_DIFFERENCING, m = 2) and fails the fit;
 *    rounds of one fit are not compared with each other.
 *
 * The test waits on the coordinator's state (a round's status, the fit's
 * status), never on a guess of how long something takes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gbtSpecOf, parseGbtFitSpec, type GbtFitModel } from '../../analytics/gradient-boosted-trees.js';
import type { GbtSpec } from '../../analytics/gbt-spec.js';
import type { GbtRow } from '../../analytics/gbt-tree.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import type { OpenQuery } from '../../protos/index.js';
import { api, startCluster } from '../../harness/cluster.js';
import { makeMerchants } from '../../harness/shops.js';
import { pooledMargin } from '../helpers/pooled-gbt-evaluation.js';
import { expectSameTrees } from '../helpers/gbt-compare.js';
import { pooledFit, type PooledNode } from '../helpers/pooled-gbt.js';
import { BRANDS, SALES_PURPOSE, salesRegistry, storeWeekRows, writeStoreWeekShops, type StoreWeekRow } from '../helpers/store-week.js';

const K = 10;
const WEEKS = 10;
/** Stores per shop: 100, 200 and 300 store-weeks (10 brands a week); the third shop is the slow one. */
const STORES = [1, 2, 3];
/** Retries allowed per round in the first cluster (the default is 3). */
const RETRIES = 2;

const FIT = {
  purpose: SALES_PURPOSE,
  data: 'store_week',
  label: { name: 'units', type: 'numeric', maxAbs: 1000 },
  variables: [
    { name: 'price', type: 'numeric', edges: [2, 2.5, 3, 3.5, 4, 4.5, 5] },
    { name: 'promo', type: 'numeric', edges: [0.5] },
    { name: 'display', type: 'numeric', edges: [0.5] },
    { name: 'brand', type: 'categorical', levels: [...BRANDS] },
  ],
  trees: 2,
  depth: 2,
  learningRate: 0.3,
};
const SPEC: GbtSpec = { ...gbtSpecOf(parseGbtFitSpec({ ...FIT, kind: 'gradient-boosted-trees' })), minLeafSubjects: K };

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  statusCode: string | null;
  round: number;
  retries: { round: number; attempt: number; code: string; contributions: number }[];
  model: GbtFitModel | null;
}

interface Attempt {
  query_id: string;
  fit_round: number;
  status: string;
  status_code: string | null;
  released: boolean;
  contributions: number;
  wait_ms: number;
}

/** The shops' rows, generated from a seed: shop i keeps its first STORES[i] stores. */
const SHOP_ROWS: StoreWeekRow[][] = storeWeekRows(3, Math.max(...STORES), WEEKS, 20261208).map((shop, s) => shop.slice(0, (STORES[s] as number) * WEEKS * BRANDS.length));

/** The rows a data scientist pooling the shops' tables would fit on. */
function pooledRows(rows: readonly StoreWeekRow[]): GbtRow[] {
  return rows.map((r) => {
    const x = { price: Number(r.price), promo: Number(r.promo), display: Number(r.display), brand: String(r.brand) };
    return { x, y: Number(r.units) };
  });
}


/** Polls (150 ms apart) until `step` returns a value: waits on the coordinator's state. */
async function until<T>(what: string, step: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await step();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** A cluster of the three store-week shops, with helpers reading its state. */
async function storeWeekCluster(minMerchants: number, fitRoundRetries?: number) {
  const cluster = await startCluster({ minMerchants, minSubjects: K }, { purposes: salesRegistry(), ...(fitRoundRetries === undefined ? {} : { coordinator: { fitRoundRetries } }) });
  const merchants = await makeMerchants(writeStoreWeekShops(SHOP_ROWS), cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  const db = () => cluster.coordinator.store.db;
  return {
    cluster,
    merchants,
    getFit: async (fitId: string): Promise<FitView> => (await api<FitView>(cluster, 'GET', `/v1/fits/${fitId}`)).body,
    /** Every attempt of every round of the fit, by round and creation. */
    attempts: (fitId: string): Promise<Attempt[]> =>
      db().query<Attempt>(
        `SELECT q.query_id, q.fit_round, q.status, q.status_code, (r.query_id IS NOT NULL) AS released,
                (SELECT count(*)::int FROM contributions c WHERE c.query_id = q.query_id) AS contributions,
                (extract(epoch FROM (q.deadline - q.created_at)) * 1000)::float8 AS wait_ms
           FROM queries q LEFT JOIN releases r ON r.query_id = q.query_id
          WHERE q.fit_id = $1 ORDER BY q.fit_round, q.created_at, q.query_id`, [fitId]),
    specOf: async (queryId: string): Promise<string> => (await db().query<{ spec_json: string }>('SELECT spec_json FROM queries WHERE query_id = $1', [queryId]))[0]!.spec_json,
    auditOf: async (type: string, fitId: string): Promise<Record<string, unknown>[]> => {
      const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
      return entries.filter((e) => e.type === type && (e.details as { fitId?: string }).fitId === fitId).map((e) => e.details as Record<string, unknown>);
    },
  };
}

/** Answers the open rounds of `nodes` (in parallel, as shops do) until the fit ends. */
async function driveToEnd(getFit: () => Promise<FitView>, nodes: readonly MerchantNode[]): Promise<FitView> {
  return until('the fit to end', async () => {
    const f = await getFit();
    if (f.status === 'done' || f.status === 'failed') return f;
    await Promise.all(nodes.map((m) => m.answerOpenQueries()));
    return undefined;
  });
}

/**
 * Every shop answers round 1 of the fit (in parallel, as shops do) and no
 * later round; resolves once round 1 is released.
 */
async function answerRound1(c: Awaited<ReturnType<typeof storeWeekCluster>>, fitId: string): Promise<void> {
  const first = await until('round 1 to be published', async () => (await c.attempts(fitId)).find((a) => a.fit_round === 1));
  await Promise.all(c.merchants.map(async (m) => {
    const q = await until('round 1 to be listed', async () => (await m.openQueries()).find((o) => o.queryId === first.query_id));
    expect((await m.answer(q)).outcome).toBe('submitted');
  }));
  const released = await until('round 1 to close', async () => {
    const a = (await c.attempts(fitId)).find((x) => x.query_id === first.query_id)!;
    return a.status === 'released' || a.status === 'failed' ? a : undefined;
  });
  expect([released.status, released.contributions]).toEqual(['released', 3]);
}

/** A query's wait in whole seconds (its deadline is set just before the row is written). */
const seconds = (ms: number) => Math.ceil(ms / 1000);

describe('a gradient-boosted-trees fit with a slow shop (minMerchants 3)', () => {
  let c: Awaited<ReturnType<typeof storeWeekCluster>>;

  beforeAll(async () => {
    c = await storeWeekCluster(3, RETRIES);
  }, 120_000);

  afterAll(async () => {
    for (const m of c?.merchants ?? []) m.close();
    await c?.cluster.close();
  });

  it('retries the level the slow shop missed with the same forest and ends with the pooled fit, each level released once', async () => {
    const { cluster, merchants } = c;
    const decryptionsBefore = cluster.keyholder.keyHolder.decryptions;
    const base = 6;
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'gradient-boosted-trees', spec: FIT, targetMerchants: 3, minMerchants: 3, roundDeadlineSeconds: base });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const fitId = created.body.fitId;
    const [fast1, fast2, slow] = merchants as [MerchantNode, MerchantNode, MerchantNode];

    // Round 1 (the root of tree 1): every shop answers it, and only it.
    await answerRound1(c, fitId);
    // Round 2 (the first level below the root): the slow shop sees it and holds it back.
    const second = await until('round 2 to be published', async () => (await c.attempts(fitId)).find((a) => a.fit_round === 2));
    const held = await until<OpenQuery>('round 2 to be listed', async () => (await slow.openQueries()).find((q) => q.queryId === second.query_id));
    for (const m of [fast1, fast2]) expect((await m.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    const failed = await until('round 2 to close without the slow shop', async () => {
      const a = (await c.attempts(fitId)).find((x) => x.query_id === held.queryId)!;
      return a.status === 'failed' ? a : undefined;
    });
    expect(failed).toMatchObject({ status_code: 'TOO_FEW_MERCHANTS', released: false, contributions: 2 });
    // Its answer to the closed round comes too late and is refused.
    expect(await slow.answer(held)).toMatchObject({ outcome: 'refused', code: 'QUERY_CLOSED' });

    // Round 2 is published again with the same spec (the same forest), waiting twice as long.
    const retry = await until('round 2 to be published again', async () => (await c.attempts(fitId)).find((x) => x.fit_round === 2 && x.query_id !== held.queryId));
    expect(seconds(retry.wait_ms)).toBe(2 * seconds(failed.wait_ms));
    expect(await c.specOf(retry.query_id)).toBe(await c.specOf(failed.query_id));

    const fit = await driveToEnd(() => c.getFit(fitId), merchants);
    expect(fit.status, fit.statusReason ?? '').toBe('done');

    // The pooled fit over all three shops' rows.
    const rows = pooledRows(SHOP_ROWS.flat());
    const reference = pooledFit(SPEC, rows);
    const model = fit.model!;
    expect(model.minLeafSubjects).toBe(K);
    expect(model.trainingRows).toBe(rows.length);
    const worst = expectSameTrees(model, reference.trees, rows, reference.margins, K);
    expect(worst.splits).toBeGreaterThanOrEqual(2);

    // The fit's view shows the retried round; the audit log records the retry.
    expect(fit.retries).toContainEqual(expect.objectContaining({ round: 2, attempt: 1, code: 'TOO_FEW_MERCHANTS', contributions: 2 }));
    expect(fit.retries.every((r) => r.code === 'TOO_FEW_MERCHANTS')).toBe(true);
    const retried = await c.auditOf('round.retried', fitId);
    expect(retried).toHaveLength(fit.retries.length);
    expect(retried).toContainEqual({
      fitId, round: 2, failedQueryId: held.queryId, queryId: retry.query_id, attempt: 2, reason: 'TOO_FEW_MERCHANTS', contributions: 2, deadlineSeconds: seconds(retry.wait_ms),
    });

    // Disclosure: every round released exactly once; failed attempts released nothing.
    const all = await c.attempts(fitId);
    const rounds = [...new Set(all.map((a) => a.fit_round))];
    expect(rounds).toEqual(rounds.map((_, i) => i + 1));
    expect(model.rounds).toBe(rounds.length);
    for (const r of rounds) expect(all.filter((a) => a.fit_round === r && a.released).map((a) => [a.status, a.contributions]), `round ${r}`).toEqual([['released', 3]]);
    expect(all.filter((a) => !a.released).every((a) => a.status === 'failed' && a.status_code === 'TOO_FEW_MERCHANTS')).toBe(true);
    const releasedIds = all.filter((a) => a.released).map((a) => a.query_id).sort();
    expect(cluster.keyholder.keyHolder.decryptions - decryptionsBefore).toBe(releasedIds.length);
    const recorded = cluster.keyholder.keyHolder.disclosure.ledger(SALES_PURPOSE).releases.filter((p) => p.fitId === fitId).map((p) => p.queryId).sort();
    expect(recorded).toEqual(releasedIds);
    console.log(
      `gbt slow shop: ${rounds.length} rounds, ${all.length - rounds.length} retried, ${worst.splits} splits; worst relative difference to the pooled fit: leaf ${worst.leaf.toExponential(2)}, prediction ${worst.prediction.toExponential(2)}`,
    );
  }, 300_000);
});

/** The leaf value of tree `nodes` that `row` reaches (heap ids; v < threshold, or a level in the set, goes left). */
const treeValue = (nodes: readonly PooledNode[], row: GbtRow): number => pooledMargin([nodes as PooledNode[]], 0, row);

/** Whether `row` goes left at pooled split `node`. */
function goesLeft(node: Extract<PooledNode, { kind: 'split' }>, row: GbtRow): boolean {
  const v = row.x[node.variable];
  return node.threshold !== undefined ? (v as number) < node.threshold : (node.levels ?? []).includes(v as string);
}

/**
 * The pooled computation of 2 trees of depth 2 when the rows `all` are
 * present in round 1 (tree 1's root) only and `rest` from round 2 on: tree 1's
 * root split over `all`, each child's split and leaves a pooled fit of
 * depth 1 over the `rest` rows reaching it (renumbered under the child),
 * tree 2 a pooled tree over `rest` on the labels minus tree 1 (for squared
 * loss the gradient m − y at margin tree 1 is 0 − (y − tree 1)), pruned by
 * the leaf-overlap rule against the tree 1 leaves the `rest` rows reach.
 * Returns the trees and the final margin of each `rest` row.
 */
function pooledWithDropout(all: readonly GbtRow[], rest: readonly GbtRow[]): { trees: PooledNode[][]; margins: number[] } {
  expect(SPEC.loss).toBe('squared');
  expect([SPEC.trees, SPEC.depth, SPEC.baseMargin]).toEqual([2, 2, 0]);
  const oneLevel = { ...SPEC, trees: 1, depth: 1 };
  const root = (pooledFit(oneLevel, all).trees[0] as PooledNode[])[0] as PooledNode;
  if (root.kind !== 'split') throw new Error('the data give tree 1 no root split');
  const tree1: PooledNode[] = [root];
  for (const [id, side] of [[1, true], [2, false]] as const) {
    const reaching = rest.filter((r) => goesLeft(root, r) === side);
    const allReaching = all.filter((r) => goesLeft(root, r) === side).length;
    // Both children of the root are open after round 1 (≥ 2k of all rows), so round 2 grows them.
    expect(allReaching).toBeGreaterThanOrEqual(2 * K);
    const heap = (i: number): number => (i === 0 ? id : 2 * id + i);
    for (const n of pooledFit(oneLevel, reaching).trees[0] as PooledNode[]) tree1.push({ ...n, id: heap(n.id) });
  }
  tree1.sort((a, b) => a.id - b.id);
  const first = rest.map((r) => treeValue(tree1, r));
  const leafOf = (r: GbtRow): number => {
    let id = 0;
    for (let node = tree1.find((n) => n.id === id); node?.kind === 'split'; node = tree1.find((n) => n.id === id)) id = goesLeft(node, r) ? 2 * id + 1 : 2 * id + 2;
    return id;
  };
  const second = pooledFit({ ...SPEC, trees: 1 }, rest.map((r, i) => ({ x: r.x, y: r.y - (first[i] as number) })), { earlierLeaves: [rest.map(leafOf)] });
  return { trees: [tree1, second.trees[0] as PooledNode[]], margins: rest.map((_, i) => (first[i] as number) + (second.margins[i] as number)) };
}

describe('a gradient-boosted-trees fit whose shop stops after round 1 (minMerchants 2)', () => {
  let c: Awaited<ReturnType<typeof storeWeekCluster>>;
  let stopped: MerchantNode | undefined;

  beforeAll(async () => {
    c = await storeWeekCluster(2);
  }, 120_000);

  afterAll(async () => {
    for (const m of c?.merchants ?? []) if (m !== stopped) m.close();
    await c?.cluster.close();
  });

  it('goes on with the two remaining shops from round 2 and ends with the pooled fit whose third shop is in round 1 only', async () => {
    const { cluster, merchants } = c;
    // Round 1 must hear all three shops before its deadline (it closes as soon as they have answered); 10 s leaves
    // room on a loaded machine, and each later round waits that long for the stopped shop.
    const base = 10;
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'gradient-boosted-trees', spec: FIT, targetMerchants: 3, minMerchants: 2, roundDeadlineSeconds: base });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const fitId = created.body.fitId;
    const leaving = merchants[2] as MerchantNode;

    // Round 1: all three shops answer it (and only it); then the third one stops.
    await answerRound1(c, fitId);
    stopped = leaving;
    leaving.close();
    const fit = await driveToEnd(() => c.getFit(fitId), merchants.slice(0, 2));

    // The fit completes: each later round closes at its deadline with two shops, which meet the minimum.
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    expect(fit.retries).toEqual([]);
    const all = await c.attempts(fitId);
    expect(all.map((a) => [a.fit_round, a.status, a.contributions])).toEqual(all.map((_, i) => [i + 1, 'released', i === 0 ? 3 : 2]));
    expect(all.length).toBeGreaterThanOrEqual(3);
    // The audit log names the missing shop once, at the round it first missed.
    expect(await c.auditOf('round.incomplete', fitId)).toEqual([{ fitId, queryId: all[1]!.query_id, round: 2, missing: [leaving.merchantId], contributions: 2 }]);

    // The model: the third shop's rows in tree 1's root only.
    const everyone = pooledRows(SHOP_ROWS.flat());
    const rest = pooledRows(SHOP_ROWS.slice(0, 2).flat());
    const reference = pooledWithDropout(everyone, rest);
    const model = fit.model!;
    expect(model.rounds).toBe(all.length);
    expect(model.trainingRows).toBe(rest.length);
    expect((model.trees[0]!.nodes[0] as { subjects: number }).subjects).toBe(everyone.length);
    const worst = expectSameTrees(model, reference.trees, rest, reference.margins, K);
    expect(worst.splits).toBeGreaterThanOrEqual(2);
    console.log(
      `gbt shop stopped after round 1: ${all.length} rounds (${all.length - 1} with 2 shops), ${everyone.length} rows in round 1, ${rest.length} after; ` +
        `worst relative difference to the pooled computation: leaf ${worst.leaf.toExponential(2)}, prediction ${worst.prediction.toExponential(2)}`,
    );
  }, 300_000);
});
