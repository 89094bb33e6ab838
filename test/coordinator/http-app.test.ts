/**
 * The coordinator's HTTP API through fastify's inject (no listening socket),
 * on a real PGlite database and a real HE context.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HeContext, cryptoReady, generateHeKeys, heKeyId } from '../../crypto/index.js';
import { AuditTrail, CoordinatorStore, FitRunner, PurposeStore, QueryService, buildHttpApp, openDatabase, type Database } from '../../coordinator/index.js';
import { DEFAULT_PURPOSE_REGISTRY } from '../../compliance/index.js';
import { generateSigningKeyPair } from '../../crypto/index.js';
import type { FastifyInstance } from 'fastify';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describeBackends } from '../helpers/backends.js';

const TOKEN = 'http-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

describeBackends('coordinator HTTP API', (backend) => {
  let ctx: HeContext;
  let database: TestDatabase;
  let db: Database;
  let app: FastifyInstance;

  beforeAll(async () => {
    await cryptoReady();
    ctx = await HeContext.create();
    database = await freshDatabase(backend, 'http_app');
    db = await openDatabase(database.target);
    const { publicKey } = generateHeKeys(ctx);
    const audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair: generateSigningKeyPair() });
    const purposes = new PurposeStore(db, audit);
    await purposes.sync(DEFAULT_PURPOSE_REGISTRY, 'test');
    const store = new CoordinatorStore(db);
    const logger = pino({ level: 'silent' });
    const queries = new QueryService({
      store,
      audit,
      purposes,
      minSubjects: 10,
      ctx,
      publicKeyBundle: { paramSet: ctx.paramSet.name, publicKey: Buffer.from(publicKey), keyId: Buffer.from(heKeyId(publicKey)), keyholderSigningKey: Buffer.alloc(32), signature: Buffer.alloc(64) },
    });
    app = buildHttpApp({ store, queries, fits: new FitRunner(db, queries, audit, logger), audit, purposes, apiToken: TOKEN, logger });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await db?.close();
    await database?.drop();
    ctx?.close();
  });

  it('refuses requests without the token as problem+json 401', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: TOKEN }]) {
      const res = await app.inject({ method: 'GET', url: '/v1/queries', headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('creates a query, lists it and reports it not yet released', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/queries', headers: auth, payload: { kind: 'segment-stats', spec: SPEC, targetMerchants: 4 } });
    expect(created.statusCode).toBe(201);
    const body = created.json<{ queryId: string; status: string; targetMerchants: number; minMerchants: number }>();
    expect(body).toMatchObject({ status: 'open', targetMerchants: 4, minMerchants: 3 });
    const list = await app.inject({ method: 'GET', url: '/v1/queries', headers: auth });
    expect(list.json<{ queries: { queryId: string }[] }>().queries.map((q) => q.queryId)).toContain(body.queryId);
    const one = await app.inject({ method: 'GET', url: `/v1/queries/${body.queryId}`, headers: auth });
    expect(one.json()).toMatchObject({ queryId: body.queryId, contributions: 0, result: null });
    const release = await app.inject({ method: 'GET', url: `/v1/queries/${body.queryId}/release`, headers: auth });
    expect(release.statusCode).toBe(409);
    expect(release.json()).toMatchObject({ code: 'RELEASE_NOT_READY' });
  });

  it.each([
    ['unknown kind', { kind: 'nope', spec: SPEC }, 'QUERY_KIND_UNKNOWN'],
    ['spec without purpose', { kind: 'segment-stats', spec: { groupBy: 'lifecycle_stage' } }, 'QUERY_SPEC_INVALID'],
    ['unknown body field', { kind: 'segment-stats', spec: SPEC, extra: 1 }, 'VALIDATION_FAILED'],
    ['minMerchants below 2', { kind: 'segment-stats', spec: SPEC, minMerchants: 1 }, 'VALIDATION_FAILED'],
    ['maxContributors beyond the limit', { kind: 'segment-stats', spec: SPEC, maxContributors: 20_000 }, 'VALIDATION_FAILED'],
  ])('refuses %s with a coded 400 problem', async (_name, payload, code) => {
    const res = await app.inject({ method: 'POST', url: '/v1/queries', headers: auth, payload });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 400, code });
  });

  it('accepts more contributors than one sum keeps noise budget for: the round is summed in stages', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/queries', headers: auth, payload: { kind: 'segment-stats', spec: SPEC, maxContributors: 5000 } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ maxContributors: 5000 });
  });

  it('answers unknown queries and routes with 404 problems, and oversized bodies with 413', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/queries/q-missing', headers: auth })).json()).toMatchObject({ status: 404, code: 'QUERY_NOT_FOUND' });
    expect((await app.inject({ method: 'GET', url: '/v1/nothing', headers: auth })).json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const big = await app.inject({ method: 'POST', url: '/v1/queries', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ kind: 'x'.repeat(100_000) }) });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('lists purposes whose disclosure block is exact or DP, and keeps the block through registration', async () => {
    // Once failed with 500 INTERNAL: the response schema did not know `disclosure`.
    const dp = { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 0.05, totalRho: 1, minSubjects: 20 };
    const base = DEFAULT_PURPOSE_REGISTRY.purposes[0]!;
    const dpPurpose = { ...base, name: 'dp-analytics', disclosure: dp };
    const exactPurpose = { ...base, name: 'exact-analytics', disclosure: { mode: 'exact', minSubjects: 15 } };
    for (const p of [dpPurpose, exactPurpose]) {
      const res = await app.inject({ method: 'POST', url: '/v1/purposes', headers: auth, payload: p });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<{ purpose: { disclosure: unknown } }>().purpose.disclosure).toEqual(p.disclosure);
    }
    const list = await app.inject({ method: 'GET', url: '/v1/purposes', headers: auth });
    expect(list.statusCode, list.body).toBe(200);
    const byName = new Map(list.json<{ purposes: { name: string; disclosure?: unknown }[] }>().purposes.map((p) => [p.name, p]));
    expect(byName.get('dp-analytics')?.disclosure).toEqual(dp);
    expect(byName.get('exact-analytics')?.disclosure).toEqual({ mode: 'exact', minSubjects: 15 });
    expect(byName.get(base.name)?.disclosure).toBeUndefined();
    const bad = await app.inject({ method: 'POST', url: '/v1/purposes', headers: auth, payload: { ...base, name: 'bad-dp', disclosure: { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 2, totalRho: 1 } } });
    expect(bad.statusCode).toBe(400);
  });

  it('answers malformed JSON with a 400 problem', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/queries', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"kind":' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
