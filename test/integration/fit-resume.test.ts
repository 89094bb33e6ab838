/**
 * A coordinator that dies between storing a fit round's release and
 * publishing the next round leaves the fit waiting. The database is put in
 * exactly those two states (the next round missing, with the fit's state
 * advanced or not); a live coordinator must move the fit on by itself, and
 * the resumed fit must end with the same model as an uninterrupted fit of
 * the same spec over the same shops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModelDefinition } from '../../analytics/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  round: number;
  model: { centroids: number[][]; sizes: number[]; rounds: number } | null;
}

const SPEC = { purpose: 'marketing-analytics', features: ['orders', 'avg_order_value', 'tenure_years'], k: 3, seed: 11 };

describe('fits left waiting by a dead coordinator are resumed', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    cluster = await startCluster();
    shops = await makeShops(3, 'fit-resume', { customersPerShop: 120 });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  }, 120_000);

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  const db = () => cluster.coordinator.store.db;

  async function getFit(fitId: string): Promise<FitView> {
    return (await api<FitView>(cluster, 'GET', `/v1/fits/${fitId}`)).body;
  }

  async function roundQueries(fitId: string): Promise<{ query_id: string; fit_round: number; status: string }[]> {
    return db().query('SELECT query_id, fit_round, status FROM queries WHERE fit_id = $1 ORDER BY fit_round', [fitId]);
  }

  /**
   * Answers open rounds up to round `answerUpTo` (none with 0) until `until`
   * holds for the fit. Later rounds stay unanswered, so the fit cannot run
   * past the state `until` waits for between two looks (on a busy machine
   * one look can come several rounds after the previous one).
   */
  async function drive(fitId: string, until: (fit: FitView) => boolean | Promise<boolean>, answerUpTo = Number.POSITIVE_INFINITY): Promise<FitView> {
    for (;;) {
      const fit = await getFit(fitId);
      if (await until(fit)) return fit;
      if (fit.status === 'failed') throw new Error(`fit failed: ${fit.statusReason}`);
      for (const m of answerUpTo > 0 ? merchants : []) {
        for (const q of await m.openQueries()) {
          const round = (JSON.parse(q.specJson) as { round?: number }).round ?? Number.POSITIVE_INFINITY;
          if (!m.hasAnswered(q.queryId) && round <= answerUpTo) await m.answer(q);
        }
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Removes the fit's unanswered latest round, as if it had never been published. */
  async function unpublishLatest(fitId: string): Promise<number> {
    const rounds = await roundQueries(fitId);
    const latest = rounds.at(-1)!;
    expect(latest.status).toBe('open');
    const contributions = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM contributions WHERE query_id = $1', [latest.query_id]);
    expect(contributions[0]!.n).toBe(0);
    await db().query('DELETE FROM queries WHERE query_id = $1', [latest.query_id]);
    return latest.fit_round;
  }

  it('ends with the model of an uninterrupted fit', async () => {
    const reference = (await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'kmeans', spec: SPEC, targetMerchants: 3 })).body;
    const referenceDone = await drive(reference.fitId, (f) => f.status === 'done');
    expect(referenceDone.model!.rounds).toBeGreaterThanOrEqual(3);

    const created = await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'kmeans', spec: SPEC, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const fitId = created.body.fitId;

    // 1. Round 1 released, the fit's state not yet advanced, round 2 never published.
    await drive(fitId, async (f) => f.round === 2 && (await roundQueries(fitId)).length === 2, 1);
    expect(await unpublishLatest(fitId)).toBe(2);
    const definition = getModelDefinition('kmeans');
    const initial = definition.initialState(definition.parseFitSpec({ ...SPEC, kind: 'kmeans' }));
    await db().query('UPDATE fits SET round = 1, state_json = $2 WHERE fit_id = $1', [fitId, JSON.stringify(initial)]);
    // Nobody answers: the coordinator alone must publish round 2 again.
    await drive(fitId, async (f) => f.round === 2 && (await roundQueries(fitId)).length === 2, 0);

    // 2. Round 2 released and the state advanced to round 3, round 3 never published.
    await drive(fitId, async (f) => f.round === 3 && (await roundQueries(fitId)).length === 3, 2);
    expect(await unpublishLatest(fitId)).toBe(3);
    await drive(fitId, async (f) => f.round === 3 && (await roundQueries(fitId)).length === 3, 0);

    // An explicit pass finds nothing more to do while a round is open.
    expect(await cluster.coordinator.fits.resumeStalled()).toBe(0);

    const done = await drive(fitId, (f) => f.status === 'done');
    expect(done.model!.rounds).toBe(referenceDone.model!.rounds);
    expect(done.model!.sizes).toEqual(referenceDone.model!.sizes);
    done.model!.centroids.forEach((c, i) => c.forEach((v, j) => {
      const ref = referenceDone.model!.centroids[i]![j]!;
      expect(Math.abs(v - ref)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(ref)));
    }));
    // Each round of the resumed fit was released exactly once.
    const rounds = await roundQueries(fitId);
    expect(rounds.map((r) => r.fit_round)).toEqual(rounds.map((_, i) => i + 1));
    expect(rounds.every((r) => r.status === 'released')).toBe(true);
  }, 300_000);
});
