/**
 * Every route × every role: who may call what is stated here, independently
 * of the code, and checked against the app and its OpenAPI document. A role
 * that may call a route gets the route's real answer; every other role gets
 * 403 ROLE_FORBIDDEN and an `auth.failed` audit entry naming it; without a
 * token everything but the public routes is 401. Then purpose grants, own
 * shop, revoked tokens, rate limits and 5xx answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_TOKEN, ROLE_NAMES, startHttpFixture, type HttpFixture, type RoleName } from '../../harness/http-fixture.js';

const SEGMENT = { kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' } };
const FEATURES = ['intercept', 'orders', 'avg_order_value'];
const FIT = (purpose: string) => ({ kind: 'logistic-regression', spec: { purpose, features: FEATURES, label: 'churning', holdoutPercent: 20 } });
const RANGE = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
const PURPOSE = {
  name: 'campaign-review', description: 'Campaign review', legalBasis: 'consent', allowedFields: ['customer.lifecycle_stage'],
  sensitiveAllowed: false, retentionDays: 30, recipients: ['fedmart platform (coordinator)'], personalisedMarketing: false,
};
const PIA = {
  id: 'PIA-TEST-1', purpose: 'marketing-analytics', assessedAt: '2025-01-01T00:00:00Z', reviewer: 'DPO', summary: 'Test',
  risks: ['re-identification'], measures: ['k threshold'], retainUntil: '2028-01-02T00:00:00Z',
};

/** Ids made in beforeAll that requests refer to. */
interface Fixtures {
  queryId: string;
  fitId: string;
  jobId: string;
  spareUser: string;
}

interface RouteCase {
  readonly method: 'GET' | 'POST';
  /** OpenAPI path, to match the document. */
  readonly path: string;
  /** Who may call it besides the bootstrap administrator. */
  readonly roles: readonly RoleName[];
  /** The request (url and body), from the fixtures. */
  readonly request: (f: Fixtures) => { url: string; payload?: unknown };
  /** Status an allowed role gets. */
  readonly ok: number;
}

const MARKETER: RoleName[] = ['marketer'];
const COMPLIANCE: RoleName[] = ['compliance'];
const ADMIN: RoleName[] = ['admin'];

const CASES: Record<string, RouteCase> = {
  getMe: { method: 'GET', path: '/v1/me', roles: ['marketer', 'compliance', 'admin', 'merchant'], request: () => ({ url: '/v1/me' }), ok: 200 },
  listKinds: { method: 'GET', path: '/v1/kinds', roles: ['marketer', 'admin'], request: () => ({ url: '/v1/kinds' }), ok: 200 },
  createQuery: { method: 'POST', path: '/v1/queries', roles: MARKETER, request: () => ({ url: '/v1/queries', payload: SEGMENT }), ok: 201 },
  listQueries: { method: 'GET', path: '/v1/queries', roles: MARKETER, request: () => ({ url: '/v1/queries' }), ok: 200 },
  getQuery: { method: 'GET', path: '/v1/queries/{id}', roles: MARKETER, request: (f) => ({ url: `/v1/queries/${f.queryId}` }), ok: 200 },
  getRelease: { method: 'GET', path: '/v1/queries/{id}/release', roles: MARKETER, request: (f) => ({ url: `/v1/queries/${f.queryId}/release` }), ok: 409 },
  createFit: { method: 'POST', path: '/v1/fits', roles: MARKETER, request: () => ({ url: '/v1/fits', payload: FIT('marketing-analytics') }), ok: 201 },
  listFits: { method: 'GET', path: '/v1/fits', roles: MARKETER, request: () => ({ url: '/v1/fits' }), ok: 200 },
  getFit: { method: 'GET', path: '/v1/fits/{id}', roles: MARKETER, request: (f) => ({ url: `/v1/fits/${f.fitId}` }), ok: 200 },
  getAuditCheckpoint: { method: 'GET', path: '/v1/audit/checkpoint', roles: COMPLIANCE, request: () => ({ url: '/v1/audit/checkpoint' }), ok: 200 },
  listAuditEntries: { method: 'GET', path: '/v1/audit/entries', roles: COMPLIANCE, request: () => ({ url: '/v1/audit/entries?from=0&to=50' }), ok: 200 },
  getInclusionProof: { method: 'GET', path: '/v1/audit/proofs/inclusion', roles: COMPLIANCE, request: () => ({ url: '/v1/audit/proofs/inclusion?seq=0' }), ok: 200 },
  getConsistencyProof: { method: 'GET', path: '/v1/audit/proofs/consistency', roles: COMPLIANCE, request: () => ({ url: '/v1/audit/proofs/consistency?from=1&to=3' }), ok: 200 },
  getConsentEvidence: { method: 'GET', path: '/v1/compliance/consent-evidence', roles: COMPLIANCE, request: () => ({ url: '/v1/compliance/consent-evidence' }), ok: 200 },
  getRightsRegister: { method: 'GET', path: '/v1/compliance/rights-requests', roles: COMPLIANCE, request: () => ({ url: '/v1/compliance/rights-requests' }), ok: 200 },
  exportAuditBundle: { method: 'POST', path: '/v1/audit/exports', roles: COMPLIANCE, request: () => ({ url: '/v1/audit/exports', payload: RANGE }), ok: 200 },
  startAuditExport: { method: 'POST', path: '/v1/audit/export-jobs', roles: COMPLIANCE, request: () => ({ url: '/v1/audit/export-jobs', payload: { ...RANGE, pdf: false } }), ok: 202 },
  listJobs: { method: 'GET', path: '/v1/jobs', roles: COMPLIANCE, request: () => ({ url: '/v1/jobs' }), ok: 200 },
  getJob: { method: 'GET', path: '/v1/jobs/{id}', roles: COMPLIANCE, request: (f) => ({ url: `/v1/jobs/${f.jobId}` }), ok: 200 },
  getJobBundle: { method: 'GET', path: '/v1/jobs/{id}/bundle', roles: COMPLIANCE, request: (f) => ({ url: `/v1/jobs/${f.jobId}/bundle` }), ok: 200 },
  getJobReportHtml: { method: 'GET', path: '/v1/jobs/{id}/report.html', roles: COMPLIANCE, request: (f) => ({ url: `/v1/jobs/${f.jobId}/report.html` }), ok: 200 },
  // No Chromium in this app: the PDF route answers PDF_UNAVAILABLE to those allowed to ask.
  getJobReportPdf: { method: 'GET', path: '/v1/jobs/{id}/report.pdf', roles: COMPLIANCE, request: (f) => ({ url: `/v1/jobs/${f.jobId}/report.pdf` }), ok: 503 },
  listUsers: { method: 'GET', path: '/v1/users', roles: ADMIN, request: () => ({ url: '/v1/users' }), ok: 200 },
  createUser: { method: 'POST', path: '/v1/users', roles: ADMIN, request: () => ({ url: '/v1/users', payload: { role: 'compliance' } }), ok: 201 },
  revokeUser: { method: 'POST', path: '/v1/users/{id}/revoke', roles: ADMIN, request: (f) => ({ url: `/v1/users/${f.spareUser}/revoke` }), ok: 200 },
  listPurposes: { method: 'GET', path: '/v1/purposes', roles: ['admin', 'compliance', 'marketer'], request: () => ({ url: '/v1/purposes' }), ok: 200 },
  registerPurpose: { method: 'POST', path: '/v1/purposes', roles: ADMIN, request: () => ({ url: '/v1/purposes', payload: PURPOSE }), ok: 200 },
  listPias: { method: 'GET', path: '/v1/pias', roles: ['admin', 'compliance'], request: () => ({ url: '/v1/pias' }), ok: 200 },
  recordPia: { method: 'POST', path: '/v1/pias', roles: ADMIN, request: () => ({ url: '/v1/pias', payload: PIA }), ok: 200 },
  listMerchants: { method: 'GET', path: '/v1/merchants', roles: ADMIN, request: () => ({ url: '/v1/merchants' }), ok: 200 },
  getMerchant: { method: 'GET', path: '/v1/merchants/{id}', roles: ['admin', 'merchant'], request: () => ({ url: '/v1/merchants/shop-01' }), ok: 200 },
  getMerchantBenchmark: { method: 'GET', path: '/v1/merchants/{id}/benchmark', roles: ['admin', 'merchant'], request: () => ({ url: '/v1/merchants/shop-01/benchmark' }), ok: 200 },
  // Idempotent, so every allowed role may revoke the same shop.
  revokeMerchant: { method: 'POST', path: '/v1/merchants/{id}/revoke', roles: ADMIN, request: () => ({ url: '/v1/merchants/shop-02/revoke', payload: { reason: 'CONTRACT_ENDED' } }), ok: 200 },
  getMetrics: { method: 'GET', path: '/metrics', roles: ADMIN, request: () => ({ url: '/metrics' }), ok: 200 },
};

const PUBLIC: Record<string, { path: string; type: RegExp }> = {
  health: { path: '/healthz', type: /json/ },
  live: { path: '/livez', type: /json/ },
  ready: { path: '/readyz', type: /json/ },
  openapi: { path: '/openapi.json', type: /json/ },
  docs: { path: '/docs', type: /html/ },
};

let fx: HttpFixture;
const f: Fixtures = { queryId: '', fitId: '', jobId: '', spareUser: '' };

beforeAll(async () => {
  fx = await startHttpFixture();
  const m = fx.users.marketer.token;
  f.queryId = (await fx.call(m, 'POST', '/v1/queries', SEGMENT)).body.queryId;
  f.fitId = (await fx.call(m, 'POST', '/v1/fits', FIT('marketing-analytics'))).body.fitId;
  const job = await fx.call(fx.users.compliance.token, 'POST', '/v1/audit/export-jobs', { ...RANGE, pdf: false });
  f.jobId = job.body.jobId;
  for (let i = 0; i < 200; i++) {
    const j = await fx.call(fx.users.compliance.token, 'GET', `/v1/jobs/${f.jobId}`);
    if (j.body.status === 'done') break;
    await new Promise((r) => setTimeout(r, 25));
  }
  f.spareUser = (await fx.call(BOOTSTRAP_TOKEN, 'POST', '/v1/users', { role: 'compliance', userId: 'spare-user' })).body.user.userId;
});

afterAll(async () => {
  await fx?.close();
});

describe('the route table', () => {
  it('covers every operation of the OpenAPI document, with the same roles', async () => {
    const doc = (await fx.call(null, 'GET', '/openapi.json')).body;
    const ops: { id: string; method: string; path: string; roles: string[] }[] = [];
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) ops.push({ id: op.operationId, method: method.toUpperCase(), path, roles: op['x-fedmart-roles'] });
    }
    expect(ops.map((o) => o.id).sort()).toEqual([...Object.keys(CASES), ...Object.keys(PUBLIC)].sort());
    for (const op of ops) {
      const c = CASES[op.id];
      if (!c) continue;
      expect([op.method, op.path, [...op.roles].sort()], op.id).toEqual([c.method, c.path, [...c.roles].sort()]);
    }
  });
});

const MATRIX = Object.entries(CASES).flatMap(([id, c]) => ROLE_NAMES.map((role) => [id, role, c.roles.includes(role)] as const));

describe.each(MATRIX)('%s as %s (allowed: %s)', (id, role, allowed) => {
  const c = CASES[id]!;
  it(allowed ? `answers ${c.ok}` : 'is refused with 403 ROLE_FORBIDDEN and an audit entry', async () => {
    const { url, payload } = c.request(f);
    const res = await fx.call(fx.users[role].token, c.method, url, payload);
    if (allowed) {
      expect(res.status, JSON.stringify(res.body)).toBe(c.ok);
      return;
    }
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 403, code: 'ROLE_FORBIDDEN' });
    const entry = await fx.lastEntry();
    expect(entry).toMatchObject({ type: 'auth.failed', actor: fx.users[role].id, details: { surface: 'http', reason: 'ROLE_FORBIDDEN', route: c.path.replace(/\{(\w+)\}/g, ':$1') } });
  });
});

describe.each(Object.entries(CASES))('%s as the bootstrap administrator and without a token', (_id, c) => {
  it(`answers ${c.ok} to FEDMART_API_TOKEN and 401 without a token`, async () => {
    const { url, payload } = c.request(f);
    expect((await fx.call(BOOTSTRAP_TOKEN, c.method, url, payload)).status).toBe(c.ok);
    const anonymous = await fx.call(null, c.method, url, payload);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await fx.lastEntry()).toMatchObject({ type: 'auth.failed', actor: 'anonymous', details: { reason: 'TOKEN_MISSING' } });
  });
});

describe.each(Object.entries(PUBLIC))('public %s', (_id, p) => {
  it('answers anyone', async () => {
    const res = await fx.call(null, 'GET', p.path);
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(p.type);
  });
});

describe('purpose grants', () => {
  it('refuses a marketer a query, fit or release of a purpose not granted, and hides them from lists', async () => {
    const m = fx.users.marketer;
    const churnQuery = await fx.call(m.token, 'POST', '/v1/queries', { ...SEGMENT, spec: { ...SEGMENT.spec, purpose: 'churn-modelling' } });
    expect([churnQuery.status, churnQuery.body.code]).toEqual([403, 'PURPOSE_NOT_GRANTED']);
    expect(await fx.lastEntry()).toMatchObject({ type: 'auth.failed', actor: m.id, details: { reason: 'PURPOSE_NOT_GRANTED', route: '/v1/queries' } });
    const churnFit = await fx.call(m.token, 'POST', '/v1/fits', FIT('churn-modelling'));
    expect([churnFit.status, churnFit.body.code]).toEqual([403, 'PURPOSE_NOT_GRANTED']);

    const other = (await fx.call(BOOTSTRAP_TOKEN, 'POST', '/v1/queries', { ...SEGMENT, spec: { ...SEGMENT.spec, purpose: 'churn-modelling' } })).body.queryId as string;
    const otherFit = (await fx.call(BOOTSTRAP_TOKEN, 'POST', '/v1/fits', FIT('churn-modelling'))).body.fitId as string;
    for (const url of [`/v1/queries/${other}`, `/v1/queries/${other}/release`, `/v1/fits/${otherFit}`]) {
      const res = await fx.call(m.token, 'GET', url);
      expect([url, res.status, res.body.code]).toEqual([url, 403, 'PURPOSE_NOT_GRANTED']);
    }
    const list = (await fx.call(m.token, 'GET', '/v1/queries')).body.queries as { queryId: string; purpose: string }[];
    expect(list.map((q) => q.queryId)).not.toContain(other);
    expect(new Set(list.map((q) => q.purpose))).toEqual(new Set(['marketing-analytics']));
    expect(((await fx.call(m.token, 'GET', '/v1/fits')).body.fits as { fitId: string }[]).map((x) => x.fitId)).not.toContain(otherFit);
    expect(((await fx.call(m.token, 'GET', '/v1/purposes')).body.purposes as { name: string }[]).map((p) => p.name)).toEqual(['marketing-analytics']);
    // The bootstrap administrator sees both.
    expect(((await fx.call(BOOTSTRAP_TOKEN, 'GET', '/v1/queries')).body.queries as { queryId: string }[]).map((q) => q.queryId)).toContain(other);
  });

  it('names the marketer as the requester of their queries in the audit log', async () => {
    const created = await fx.call(fx.users.marketer.token, 'POST', '/v1/queries', SEGMENT);
    expect(created.body).toMatchObject({ requester: 'mkt-test', minMerchants: 3, minSubjects: 10 });
    const entries = await fx.audit.log.entries(0, await fx.audit.log.size());
    expect(entries.find((e) => e.type === 'query.created' && e.details.queryId === created.body.queryId)).toMatchObject({ actor: 'mkt-test', details: { requester: 'mkt-test' } });
  });

  it('refuses purposes that are not registered when granting them', async () => {
    const res = await fx.call(BOOTSTRAP_TOKEN, 'POST', '/v1/users', { role: 'marketer', purposes: ['no-such-purpose'] });
    expect([res.status, res.body.code]).toEqual([400, 'PURPOSE_UNKNOWN']);
    const none = await fx.call(BOOTSTRAP_TOKEN, 'POST', '/v1/users', { role: 'marketer' });
    expect([none.status, none.body.code]).toEqual([400, 'USER_INVALID']);
  });
});

describe('merchant operators', () => {
  it('see only their own shop', async () => {
    const ops = fx.users.merchant;
    const own = await fx.call(ops.token, 'GET', '/v1/merchants/shop-01');
    expect(own.body).toMatchObject({ merchantId: 'shop-01', contributions: 0, lastContributionAt: null });
    for (const url of ['/v1/merchants/shop-02', '/v1/merchants/shop-02/benchmark']) {
      const res = await fx.call(ops.token, 'GET', url);
      expect([res.status, res.body.code]).toEqual([403, 'NOT_OWN_MERCHANT']);
      expect(await fx.lastEntry()).toMatchObject({ type: 'auth.failed', actor: ops.id, details: { reason: 'NOT_OWN_MERCHANT' } });
    }
    expect((await fx.call(BOOTSTRAP_TOKEN, 'GET', '/v1/merchants/shop-03')).body.code).toBe('MERCHANT_NOT_FOUND');
  });
});

describe('tokens', () => {
  it('stores only SHA-256 hashes, and a revoked token stops working at once', async () => {
    const created = await fx.call(fx.users.admin.token, 'POST', '/v1/users', { role: 'compliance', label: 'audit team' });
    const { token, user } = created.body as { token: string; user: { userId: string } };
    expect(token).toMatch(/^fm_[A-Za-z0-9_-]{43}$/);
    const rows = await fx.db.query<{ token_hash: Uint8Array }>('SELECT token_hash FROM api_users WHERE user_id = $1', [user.userId]);
    expect(Buffer.from(rows[0]!.token_hash).toString('hex')).toBe((await import('node:crypto')).createHash('sha256').update(token).digest('hex'));
    const dump = JSON.stringify(await fx.db.query('SELECT * FROM api_users'));
    expect(dump).not.toContain(token);
    expect((await fx.call(token, 'GET', '/v1/audit/checkpoint')).status).toBe(200);
    expect((await fx.call(fx.users.admin.token, 'POST', `/v1/users/${user.userId}/revoke`)).body.revokedAt).not.toBeNull();
    const after = await fx.call(token, 'GET', '/v1/audit/checkpoint');
    expect([after.status, after.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    expect(await fx.lastEntry()).toMatchObject({ type: 'auth.failed', details: { reason: 'TOKEN_REVOKED' } });
    const entries = await fx.audit.log.entries(0, await fx.audit.log.size());
    expect(entries.filter((e) => e.type === 'config.changed' && e.details.key === `users.${user.userId}`)).toHaveLength(2);
    // No label, token or hash in the log.
    const log = entries.map((e) => JSON.stringify(e)).join('\n');
    expect(log).not.toContain('audit team');
    expect(log).not.toContain(token);
  });
});

describe('a marketer\'s query list', () => {
  it('holds their own queries, not a colleague\'s under the same purpose; the bootstrap administrator sees both', async () => {
    const colleague = (await fx.call(fx.users.admin.token, 'POST', '/v1/users', { role: 'marketer', purposes: ['marketing-analytics'], userId: 'mkt-colleague' })).body as { token: string };
    const mine = (await fx.call(fx.users.marketer.token, 'POST', '/v1/queries', SEGMENT)).body.queryId as string;
    const theirs = (await fx.call(colleague.token, 'POST', '/v1/queries', SEGMENT)).body.queryId as string;
    const ids = async (token: string) => ((await fx.call(token, 'GET', '/v1/queries')).body.queries as { queryId: string }[]).map((q) => q.queryId);
    expect(await ids(fx.users.marketer.token)).toContain(mine);
    expect(await ids(fx.users.marketer.token)).not.toContain(theirs);
    expect(await ids(colleague.token)).toEqual([theirs]);
    expect(await ids(BOOTSTRAP_TOKEN)).toEqual(expect.arrayContaining([mine, theirs]));
  });
});

describe('a marketer\'s fit list', () => {
  it('holds their own fits, not a colleague\'s under the same purpose; the bootstrap administrator sees both', async () => {
    const colleague = (await fx.call(fx.users.admin.token, 'POST', '/v1/users', { role: 'marketer', purposes: ['marketing-analytics'], userId: 'mkt-fit-colleague' })).body as { token: string };
    const mine = (await fx.call(fx.users.marketer.token, 'POST', '/v1/fits', FIT('marketing-analytics'))).body.fitId as string;
    const theirs = (await fx.call(colleague.token, 'POST', '/v1/fits', FIT('marketing-analytics'))).body.fitId as string;
    const ids = async (token: string) => ((await fx.call(token, 'GET', '/v1/fits')).body.fits as { fitId: string }[]).map((x) => x.fitId);
    expect(await ids(fx.users.marketer.token)).toContain(mine);
    expect(await ids(fx.users.marketer.token)).not.toContain(theirs);
    expect(await ids(colleague.token)).toEqual([theirs]);
    expect(await ids(BOOTSTRAP_TOKEN)).toEqual(expect.arrayContaining([mine, theirs]));
    // Reading one by id stays purpose-scoped, as for queries.
    expect((await fx.call(colleague.token, 'GET', `/v1/fits/${mine}`)).status).toBe(200);
  });
});

describe('self-revocation', () => {
  it('refuses an administrator revoking their own token with 409 SELF_REVOKE; another administrator may', async () => {
    const created = await fx.call(fx.users.admin.token, 'POST', '/v1/users', { role: 'admin', label: 'second admin' });
    const { token, user } = created.body as { token: string; user: { userId: string } };
    const self = await fx.call(token, 'POST', `/v1/users/${user.userId}/revoke`);
    expect([self.status, self.body.code]).toEqual([409, 'SELF_REVOKE']);
    expect(self.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await fx.call(token, 'GET', '/v1/me')).status).toBe(200);
    expect((await fx.call(fx.users.admin.token, 'POST', `/v1/users/${user.userId}/revoke`)).body.revokedAt).not.toBeNull();
    expect((await fx.call(token, 'GET', '/v1/me')).status).toBe(401);
  });
});

describe('rate limits and errors', () => {
  it('answers 429 with Retry-After once a token used up its window, per token', async () => {
    const small = await startHttpFixture({ rateLimit: { limit: 10, windowMs: 60_000 }, authFailureLimit: { limit: 2, windowMs: 60_000 } });
    try {
      // startHttpFixture used 4 requests of the bootstrap token; each user has its own window.
      const m = small.users.marketer.token;
      for (let i = 0; i < 10; i++) expect((await small.call(m, 'GET', '/v1/me')).status).toBe(200);
      const limited = await small.call(m, 'GET', '/v1/me');
      expect(limited.status).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect((await small.call(small.users.compliance.token, 'GET', '/v1/me')).status).toBe(200);
      // Failed authentication is limited per address, and stops filling the audit log.
      const before = await small.audit.log.size();
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await small.call('wrong-token', 'GET', '/v1/me')).status);
      expect(codes).toEqual([401, 401, 429, 429]);
      expect(await small.audit.log.size()).toBe(before + 2);
    } finally {
      await small.close();
    }
  });

  it('answers 5xx without internals', async () => {
    const broken = await startHttpFixture();
    await broken.db.close();
    const res = await broken.call(BOOTSTRAP_TOKEN, 'GET', '/v1/users');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ type: 'urn:fedmart:problem:internal', title: 'Internal error', status: 500, code: 'INTERNAL', instance: '/v1/users' });
    await broken.app.close();
  });

  it('refuses an audit export of a range after the latest entry with 400: it cannot be shown complete yet', async () => {
    const res = await fx.call(fx.users.compliance.token, 'POST', '/v1/audit/exports', { from: '2099-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'AUDIT_RANGE_INVALID', detail: expect.stringMatching(/^the range begins after the latest entry \(seq \d+, stamped /) });
  });

  it('refuses bodies that are not JSON with 415', async () => {
    const res = await fx.app.inject({ method: 'POST', url: '/v1/queries', headers: { authorization: `Bearer ${fx.users.marketer.token}`, 'content-type': 'text/plain' }, payload: 'hello' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});
