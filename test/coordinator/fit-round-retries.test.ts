/**
 * The fit runner's retries of rounds that closed with too few merchants, on
 * a real store (PGlite) with rounds failed by hand: through the closer's
 * hook and after a crash (resumeStalled), for a training round and for the
 * held-out evaluation, bounded, and never for a round that was released.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeContext, cryptoReady, generateHeKeys, generateSigningKeyPair, heKeyId } from '../../crypto/index.js';
import { AuditTrail, CoordinatorStore, FitRunner, PurposeStore, QueryService, openDatabase, type Database } from '../../coordinator/index.js';
import { DEFAULT_PURPOSE_REGISTRY } from '../../compliance/index.js';
import { testLogger } from '../../harness/test-logs.js';

const FEATURES = ['intercept', 'orders', 'avg_order_value'];
const LOGISTIC = { purpose: 'churn-modelling', features: FEATURES, label: 'churning', holdoutPercent: 20 };
const BASE = 60;

interface Row {
  query_id: string;
  kind: string;
  fit_round: number;
  status: string;
  spec_json: string;
  wait_s: number;
}

describe('fit round retries', () => {
  let db: Database;
  let store: CoordinatorStore;
  let audit: AuditTrail;
  let queries: QueryService;
  let fits: FitRunner;

  beforeAll(async () => {
    await cryptoReady();
    const ctx = await HeContext.create();
    const publicKey = generateHeKeys(ctx).publicKey;
    db = await openDatabase('memory://');
    audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair: generateSigningKeyPair() });
    const purposes = new PurposeStore(db, audit);
    await purposes.sync(DEFAULT_PURPOSE_REGISTRY, 'test');
    store = new CoordinatorStore(db);
    for (const shop of ['shop-01', 'shop-02', 'shop-03']) await store.enrolMerchant(shop, generateSigningKeyPair().publicKey);
    queries = new QueryService({
      store, audit, purposes, minSubjects: 10, ctx,
      publicKeyBundle: { paramSet: ctx.paramSet.name, publicKey: Buffer.from(publicKey), keyId: Buffer.from(heKeyId(publicKey)), keyholderSigningKey: Buffer.alloc(32), signature: Buffer.alloc(64) },
    });
    fits = new FitRunner(db, queries, audit, testLogger('fit-round-retries'), () => undefined, { maxRoundRetries: 2 });
  });

  afterAll(async () => {
    await db?.close();
  });

  const rounds = (fitId: string) => db.query<Row>(
    `SELECT query_id, kind, fit_round, status, spec_json, ceil(extract(epoch FROM (deadline - created_at)))::int AS wait_s
       FROM queries WHERE fit_id = $1 ORDER BY fit_round, created_at, query_id`, [fitId]);

  async function fail(queryId: string, code: string): Promise<void> {
    expect(await store.transition(queryId, 'open', 'closing')).toBe(true);
    expect(await store.transition(queryId, 'closing', 'failed', `failed with ${code}`, undefined, code)).toBe(true);
  }

  /** Marks an open round released with a stand-in release (the runner reads none on the paths used here). */
  async function release(queryId: string): Promise<void> {
    await store.transition(queryId, 'open', 'closing');
    await db.query(`INSERT INTO releases (query_id, release_json, keyholder_signing_key, signature, result_json) VALUES ($1, '{}', $2, $2, '{}')`, [queryId, Buffer.alloc(1)]);
    await db.query(`UPDATE queries SET status = 'released' WHERE query_id = $1`, [queryId]);
  }

  async function retriedEntries(fitId: string) {
    const entries = await audit.log.entries(0, await audit.log.size());
    return entries.filter((e) => e.type === 'round.retried' && (e.details as { fitId: string }).fitId === fitId).map((e) => e.details);
  }

  it('publishes a round again with the same spec and twice the wait, after the hook and after a crash, until its retries are spent', async () => {
    const fit = await fits.create({ kind: 'logistic-regression', spec: LOGISTIC, minMerchants: 3, roundDeadlineSeconds: BASE, createdBy: 'operator' });
    const [first] = await rounds(fit.fitId);
    expect(first!.wait_s).toBe(BASE);

    // A crash right after the round failed: nothing told the runner; the resume pass retries it.
    await fail(first!.query_id, 'TOO_FEW_MERCHANTS');
    expect(await fits.resumeStalled()).toBe(1);
    expect(await fits.resumeStalled()).toBe(0);
    let all = await rounds(fit.fitId);
    expect(all.map((r) => [r.fit_round, r.status, r.wait_s])).toEqual([[1, 'failed', BASE], [1, 'open', 2 * BASE]]);
    expect(all[1]!.spec_json).toBe(first!.spec_json);
    expect((await fits.get(fit.fitId))!).toMatchObject({ status: 'running', round: 1, retries: [{ round: 1, attempt: 1, code: 'TOO_FEW_MERCHANTS', contributions: 0 }] });

    // The closer's hook: retried again at once.
    await fail(all[1]!.query_id, 'TOO_FEW_MERCHANTS');
    await fits.onRoundFailed((await store.getQuery(all[1]!.query_id))!, 'TOO_FEW_MERCHANTS', 'too few');
    all = await rounds(fit.fitId);
    expect(all.map((r) => [r.status, r.wait_s])).toEqual([['failed', BASE], ['failed', 2 * BASE], ['open', 4 * BASE]]);
    expect(await retriedEntries(fit.fitId)).toEqual([
      { fitId: fit.fitId, round: 1, failedQueryId: all[0]!.query_id, queryId: all[1]!.query_id, attempt: 2, reason: 'TOO_FEW_MERCHANTS', contributions: 0, deadlineSeconds: 2 * BASE },
      { fitId: fit.fitId, round: 1, failedQueryId: all[1]!.query_id, queryId: all[2]!.query_id, attempt: 3, reason: 'TOO_FEW_MERCHANTS', contributions: 0, deadlineSeconds: 4 * BASE },
    ]);

    // The retries (2 here) are spent: the fit fails, and nothing more is published.
    await fail(all[2]!.query_id, 'TOO_FEW_MERCHANTS');
    await fits.onRoundFailed((await store.getQuery(all[2]!.query_id))!, 'TOO_FEW_MERCHANTS', 'too few');
    const failed = (await fits.get(fit.fitId))!;
    expect(failed).toMatchObject({ status: 'failed', statusCode: 'TOO_FEW_MERCHANTS' });
    expect(failed.statusReason).toMatch(/^round 1 failed: TOO_FEW_MERCHANTS in all 3 attempts \(2 retries, the most allowed\)/);
    expect(failed.retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(await fits.resumeStalled()).toBe(0);
    expect(await rounds(fit.fitId)).toHaveLength(3);
    // The list of fits shows the same retries.
    expect((await fits.list()).find((f) => f.fitId === fit.fitId)!.retries).toEqual(failed.retries);
  });

  it('fails the fit with the round\'s code when a round failed otherwise, also after a crash', async () => {
    const fit = await fits.create({ kind: 'logistic-regression', spec: LOGISTIC, minMerchants: 3, roundDeadlineSeconds: BASE, createdBy: 'operator' });
    const [first] = await rounds(fit.fitId);
    await fail(first!.query_id, 'MERCHANT_DIFFERENCING');
    expect(await fits.resumeStalled()).toBe(1);
    expect((await fits.get(fit.fitId))!).toMatchObject({ status: 'failed', statusCode: 'MERCHANT_DIFFERENCING', retries: [] });
    expect(await rounds(fit.fitId)).toHaveLength(1);
  });

  it('retries the held-out evaluation round with the same spec', async () => {
    const fit = await fits.create({ kind: 'logistic-regression', spec: LOGISTIC, minMerchants: 3, roundDeadlineSeconds: BASE, createdBy: 'operator' });
    const [first] = await rounds(fit.fitId);
    // Round 1 released and the model stored; the evaluation round is published by the resume pass.
    await release(first!.query_id);
    const model = { purpose: 'churn-modelling', features: FEATURES, label: 'churning', coefficients: [0.1, -0.2, 0.3], holdoutPercent: 20 };
    await db.query(`UPDATE fits SET status = 'evaluating', model_json = $2, round = 1 WHERE fit_id = $1`, [fit.fitId, JSON.stringify(model)]);
    expect(await fits.resumeStalled()).toBe(1);
    let all = await rounds(fit.fitId);
    expect(all.map((r) => [r.fit_round, r.kind, r.status])).toEqual([[1, first!.kind, 'released'], [2, 'score-histogram', 'open']]);
    await fail(all[1]!.query_id, 'TOO_FEW_MERCHANTS');
    await fits.onRoundFailed((await store.getQuery(all[1]!.query_id))!, 'TOO_FEW_MERCHANTS');
    all = await rounds(fit.fitId);
    expect(all.map((r) => [r.fit_round, r.kind, r.status])).toEqual([[1, first!.kind, 'released'], [2, 'score-histogram', 'failed'], [2, 'score-histogram', 'open']]);
    expect(all[2]!.spec_json).toBe(all[1]!.spec_json);
    expect(all[2]!.wait_s).toBe(2 * all[1]!.wait_s);
    expect((await fits.get(fit.fitId))!).toMatchObject({ status: 'evaluating', retries: [{ round: 2, attempt: 1 }] });
  });

  it('never publishes a round again once one of its attempts was released', async () => {
    const fit = await fits.create({ kind: 'logistic-regression', spec: LOGISTIC, minMerchants: 3, roundDeadlineSeconds: BASE, createdBy: 'operator' });
    const [first] = await rounds(fit.fitId);
    await release(first!.query_id);
    // A second attempt of the released round (the runner never makes one) that then fails with too few merchants.
    const spec = JSON.parse(first!.spec_json) as Record<string, unknown>;
    const again = await queries.create({ origin: 'fit-runner', kind: first!.kind, spec, minMerchants: 3, deadlineSeconds: BASE, createdBy: 'operator', fitId: fit.fitId, fitRound: 1 });
    await fail(again.queryId, 'TOO_FEW_MERCHANTS');
    await fits.onRoundFailed((await store.getQuery(again.queryId))!, 'TOO_FEW_MERCHANTS');
    const failed = (await fits.get(fit.fitId))!;
    expect(failed).toMatchObject({ status: 'failed', statusCode: 'TOO_FEW_MERCHANTS' });
    expect(failed.statusReason).toMatch(/not retried, since an attempt of this round was already released/);
    expect(await rounds(fit.fitId)).toHaveLength(2);
    expect(await retriedEntries(fit.fitId)).toEqual([]);
  });
});
