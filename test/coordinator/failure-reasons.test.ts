/**
 * Why a query or fit failed and why cells are missing, as the HTTP API
 * shows them: a failed query's and a failed fit's stable code and its
 * explanation in English and Chinese (filled with the k and m of the
 * purpose), and the withheld cells a table's stored result lists.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeContext, cryptoReady, generateHeKeys, generateSigningKeyPair, heKeyId } from '../../crypto/index.js';
import { explainReason, type ReleaseDocument } from '../../analytics/index.js';
import { AuditTrail, CoordinatorStore, FitRunner, PurposeStore, QueryService, buildHttpApp, openDatabase, type Database } from '../../coordinator/index.js';
import { FIT_CANNOT_CONTINUE } from '../../coordinator/fit-runner.js';
import { resultWithDisclosure } from '../../coordinator/release-disclosure.js';
import { DEFAULT_PURPOSE_REGISTRY, type PurposeRegistry } from '../../compliance/index.js';
import { testLogger } from '../../harness/test-logs.js';

const BOOTSTRAP = 'bootstrap-token-0123456789abcdef';
const SEGMENT = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };
const LOGISTIC = { purpose: 'churn-modelling', features: ['intercept', 'orders', 'avg_order_value'], label: 'churning', holdoutPercent: 20 };

interface View {
  status: string;
  statusReason: string | null;
  statusCode: string | null;
  explanation: { en: string; zh: string } | null;
}

describe('failure codes and explanations in the API', () => {
  let db: Database;
  let app: FastifyInstance;
  let store: CoordinatorStore;
  let fits: FitRunner;
  let token: string;

  const call = async <T = View>(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: T }> => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
    return { status: res.statusCode, body: res.json<T>() };
  };

  beforeAll(async () => {
    await cryptoReady();
    const ctx = await HeContext.create();
    const publicKey = generateHeKeys(ctx).publicKey;
    db = await openDatabase('memory://');
    const audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair: generateSigningKeyPair() });
    const purposes = new PurposeStore(db, audit);
    // churn-modelling is stricter than the coordinator's floors: k = 25, m = 4.
    const registry = structuredClone(DEFAULT_PURPOSE_REGISTRY) as unknown as { purposes: Record<string, unknown>[] };
    registry.purposes.find((p) => p.name === 'churn-modelling')!.disclosure = { mode: 'exact', minSubjects: 25, minMerchants: 4 };
    await purposes.sync(registry as unknown as PurposeRegistry, 'test');
    store = new CoordinatorStore(db);
    for (const shop of ['shop-01', 'shop-02', 'shop-03']) await store.enrolMerchant(shop, generateSigningKeyPair().publicKey);
    const logger = testLogger('failure-reasons');
    const queries = new QueryService({
      store, audit, purposes, minSubjects: 10, ctx,
      publicKeyBundle: { paramSet: ctx.paramSet.name, publicKey: Buffer.from(publicKey), keyId: Buffer.from(heKeyId(publicKey)), keyholderSigningKey: Buffer.alloc(32), signature: Buffer.alloc(64) },
    });
    fits = new FitRunner(db, queries, audit, logger);
    app = buildHttpApp({ store, queries, fits, audit, purposes, apiToken: BOOTSTRAP, logger, chromium: null });
    await app.ready();
    const user = await app.inject({
      method: 'POST', url: '/v1/users', headers: { authorization: `Bearer ${BOOTSTRAP}` },
      payload: { userId: 'mkt-reasons', role: 'marketer', purposes: ['marketing-analytics', 'churn-modelling'] },
    });
    token = user.json<{ token: string }>().token;
  });

  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('shows a failed query\'s code and what it means in English and Chinese, and nothing for one still open', async () => {
    const created = await call<{ queryId: string } & View>('POST', '/v1/queries', { kind: 'segment-stats', spec: SEGMENT, targetMerchants: 3 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'open', statusCode: null, explanation: null });
    const id = created.body.queryId;
    expect(await store.transition(id, 'open', 'closing')).toBe(true);
    const reason = "key holder refused: purpose 'marketing-analytics', segment-stats: the rows differ from those of released query q-1 by 1 customer(s)";
    expect(await store.transition(id, 'closing', 'failed', reason, undefined, 'DIFFERENCING')).toBe(true);
    expect((await store.getQuery(id))?.statusCode).toBe('DIFFERENCING');

    const { body } = await call('GET', `/v1/queries/${id}`);
    expect(body).toMatchObject({ status: 'failed', statusReason: reason, statusCode: 'DIFFERENCING' });
    expect(body.explanation).toEqual(explainReason('DIFFERENCING', { k: 10, m: 3 }));
    expect(body.explanation!.en).toContain('fewer than 10');
    expect(body.explanation!.zh).toContain('不足 10 人');
    const listed = await call<{ queries: ({ queryId: string } & View)[] }>('GET', '/v1/queries');
    expect(listed.body.queries.find((q) => q.queryId === id)).toMatchObject({ statusCode: 'DIFFERENCING', explanation: body.explanation });
  });

  it('explains a code it does not know with the generic text naming the code', async () => {
    const created = await call<{ queryId: string }>('POST', '/v1/queries', { kind: 'segment-stats', spec: SEGMENT, targetMerchants: 3 });
    const id = created.body.queryId;
    await store.transition(id, 'open', 'closing');
    await store.transition(id, 'closing', 'failed', 'something new', undefined, 'SOMETHING_NEW');
    const { body } = await call('GET', `/v1/queries/${id}`);
    expect(body.statusCode).toBe('SOMETHING_NEW');
    expect(body.explanation).toEqual(explainReason('SOMETHING_NEW'));
    expect(body.explanation!.en).toContain('SOMETHING_NEW');
    expect(body.explanation!.zh).toContain('SOMETHING_NEW');
  });

  it('fails a fit with its round\'s code, explained under the purpose\'s k and m', async () => {
    const created = await call<{ fitId: string } & View>('POST', '/v1/fits', { kind: 'logistic-regression', spec: LOGISTIC, minMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ status: 'running', statusCode: null, explanation: null });
    const round = await store.latestRoundOfFit(created.body.fitId);
    expect(round?.fitRound).toBe(1);
    await fits.onRoundFailed(round!, 'LEVEL_TOO_FEW_SUBJECTS', 'level tenure_years=0 holds fewer than 25 subjects: drop or merge it');
    const { body } = await call('GET', `/v1/fits/${created.body.fitId}`);
    expect(body).toMatchObject({ status: 'failed', statusCode: 'LEVEL_TOO_FEW_SUBJECTS' });
    expect(body.statusReason).toContain('round 1 failed: LEVEL_TOO_FEW_SUBJECTS');
    expect(body.explanation).toEqual(explainReason('LEVEL_TOO_FEW_SUBJECTS', { k: 25, m: 4 }));
    expect(body.explanation!.en).toMatch(/Drop or merge the variable/);
    const listed = await call<{ fits: ({ fitId: string } & View)[] }>('GET', '/v1/fits');
    expect(listed.body.fits.find((f) => f.fitId === created.body.fitId)).toMatchObject({ statusCode: 'LEVEL_TOO_FEW_SUBJECTS', explanation: body.explanation });
    // A failed round does not fail the fit twice.
    await fits.onRoundFailed(round!, 'TOO_FEW_MERCHANTS', 'later');
    expect((await call('GET', `/v1/fits/${created.body.fitId}`)).body.statusCode).toBe('LEVEL_TOO_FEW_SUBJECTS');
    expect(FIT_CANNOT_CONTINUE).toBe('FIT_CANNOT_CONTINUE');
  });

  it('describes the new fields in the OpenAPI document', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    const schemas = res.json<{ components: { schemas: Record<string, { properties: Record<string, unknown> }> } }>().components.schemas;
    for (const name of ['Query', 'Fit']) {
      expect(Object.keys(schemas[name]!.properties), name).toEqual(expect.arrayContaining(['statusCode', 'explanation']));
    }
    expect(schemas.ReasonText).toMatchObject({ type: 'object', required: ['en', 'zh'] });
  });
});

describe('withheld cells beside a stored result', () => {
  const doc = (cells: ReleaseDocument['cells']): ReleaseDocument => ({
    version: 1, queryId: 'q-1', kind: 'segment-stats', specDigest: 'ab', paramSet: 'bfv-8192', keyId: 'cd', merchants: ['a', 'b', 'c'],
    contributionDigests: ['00', '11', '22'], aggregateDigest: 'ff', policy: { minMerchants: 3, minSubjects: 10 }, attestedSubjects: 90,
    cells, releasedAt: '2026-01-01T00:00:00.000Z', disclosure: { purpose: 'marketing-analytics', mode: 'exact', dominance: { maxSharePercent: 60 }, dp: null },
  });
  const withheld = doc({
    new: { suppressed: true, reason: 'x', reasonCode: 'FEWER_THAN_K_SUBJECTS' },
    active: { suppressed: false, subjects: '40', totals: {} },
    loyal: { suppressed: true, reason: 'x', reasonCode: 'DOMINANCE' },
    churning: { suppressed: true, reason: 'x', reasonCode: 'SECONDARY' },
  });

  it('lists every withheld cell of a table with its code and explanation in both languages', () => {
    const params = { k: 10, p: 60 };
    const out = resultWithDisclosure('segment-stats', SEGMENT, { rows: [] }, withheld) as { rows: unknown[]; withheld: unknown };
    expect(out.rows).toEqual([]);
    expect(out.withheld).toEqual([
      { cell: 'new', reasonCode: 'FEWER_THAN_K_SUBJECTS', reason: explainReason('FEWER_THAN_K_SUBJECTS', params), params },
      { cell: 'loyal', reasonCode: 'DOMINANCE', reason: explainReason('DOMINANCE', params), params },
      { cell: 'churning', reasonCode: 'SECONDARY', reason: explainReason('SECONDARY', params), params },
    ]);
    expect((out.withheld as { reason: { en: string } }[])[1]!.reason.en).toContain('more than 60%');
    // Nothing withheld: an empty list.
    expect(resultWithDisclosure('segment-stats', SEGMENT, { rows: [] }, doc({ active: { suppressed: false, subjects: '40', totals: {} } }))).toEqual({ rows: [], withheld: [] });
  });

  it('leaves the results of models and non-objects as they are', () => {
    expect(resultWithDisclosure('linear-regression', {}, { coefficients: [] }, withheld)).toEqual({ coefficients: [] });
    expect(resultWithDisclosure('segment-stats', SEGMENT, [1, 2], withheld)).toEqual([1, 2]);
  });
});
