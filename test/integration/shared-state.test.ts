/**
 * State two coordinators share through one PostgreSQL database (real
 * servers in this process, one key holder): an audit export job started at
 * one is polled and its bundle, HTML and PDF downloaded at the other, and
 * a coordinator started after the first one stopped still serves it; the
 * HTTP rate limit per token and the gRPC limit per peer address count the
 * requests to both coordinators in one window.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/index.js';
import { RETRY_AFTER_METADATA_KEY } from '../../coordinator/grpc-rate-limit.js';
import { findChromium } from '../../coordinator/http-report-pdf.js';
import { startKeyHolder, type RunningKeyHolder } from '../../keyholder/index.js';
import { MerchantServiceClient, errorCodeOf } from '../../protos/index.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describePostgres } from '../helpers/backends.js';
import { testIdentity, type TestIdentity } from '../../harness/identity.js';
import { testLogger } from '../../harness/test-logs.js';

const TOKEN = 'shared-state-token-0123456789';
const HOUR = 3_600_000;
/** Requests per token per hour, at both coordinators together. */
const HTTP_LIMIT = 40;
/** Unauthenticated gRPC calls per peer address per hour, at both together. */
const PEER_LIMIT = 4;

describePostgres('two coordinators on one PostgreSQL share jobs and rate limits', () => {
  let dir: string;
  let database: TestDatabase;
  let identity: TestIdentity;
  let keyholder: RunningKeyHolder;
  const running: RunningCoordinator[] = [];
  const logger = testLogger('shared-state');

  async function coordinator(id: string): Promise<RunningCoordinator> {
    const c = await startCoordinator({
      database: database.target,
      coordinatorId: id,
      keyholderAddress: keyholder.address,
      keyholderSigningKeyHex: keyholder.signingPublicKeyHex,
      apiToken: TOKEN,
      auditKeyFile: join(dir, 'audit.seed'),
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex,
      requestSigningSeedFile: identity.requestSeedFile,
      httpRateLimit: { limit: HTTP_LIMIT, windowMs: HOUR },
      grpcRateLimit: { perPeer: { ratePerSecond: PEER_LIMIT / 3600, burst: PEER_LIMIT } },
      closerIntervalMs: 100,
      logger,
    });
    running.push(c);
    return c;
  }

  async function http(c: RunningCoordinator, method: 'GET' | 'POST', path: string, body?: unknown, token = TOKEN) {
    const res = await fetch(c.httpAddress + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const raw = Buffer.from(await res.arrayBuffer());
    const json = /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(raw.toString('utf8')) : undefined;
    return { status: res.status, headers: res.headers, raw, json };
  }

  let a: RunningCoordinator;
  let b: RunningCoordinator;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedmart-shared-'));
    database = await freshDatabase('postgres', 'shared_state');
    identity = await testIdentity(dir);
    keyholder = await startKeyHolder({
      dataDir: join(dir, 'keyholder'), listen: '127.0.0.1:0', logger,
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex, coordinatorRequestKeyHex: identity.requestKeyHex,
    });
    a = await coordinator('coord-a');
    b = await coordinator('coord-b');
  }, 120_000);

  afterAll(async () => {
    for (const c of running) await c.close();
    await keyholder?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves an export job started at one coordinator from the other, and after a restart', async () => {
    const range = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
    const started = await http(a, 'POST', '/v1/audit/export-jobs', range);
    expect(started.status).toBe(202);
    const jobId = started.json.jobId as string;
    expect(started.headers.get('location')).toBe(`/v1/jobs/${jobId}`);
    // coord-a runs it; wait for that, then ask coord-b.
    expect((await a.jobs.settled(jobId)).status).toBe('done');
    const seen = await http(b, 'GET', `/v1/jobs/${jobId}`);
    expect(seen.status).toBe(200);
    const hasPdf = findChromium() !== null;
    expect(seen.json).toMatchObject({
      jobId, kind: 'audit-export', status: 'done', error: null,
      progress: { done: 4, total: 4, step: 'done' },
      result: {
        verified: true,
        links: { bundle: `/v1/jobs/${jobId}/bundle`, html: `/v1/jobs/${jobId}/report.html`, pdf: hasPdf ? `/v1/jobs/${jobId}/report.pdf` : null },
      },
    });
    expect(seen.json.result.entries).toBeGreaterThan(0);
    expect((await http(b, 'GET', '/v1/jobs')).json.jobs.map((j: { jobId: string }) => j.jobId)).toContain(jobId);

    const files = ['bundle', 'report.html', 'report.pdf'];
    const fromA = await Promise.all(files.map((f) => http(a, 'GET', `/v1/jobs/${jobId}/${f}`)));
    const fromB = await Promise.all(files.map((f) => http(b, 'GET', `/v1/jobs/${jobId}/${f}`)));
    expect(fromB[0]!.status).toBe(200);
    expect(fromB[0]!.json).toMatchObject({ entries: expect.any(Array) });
    expect(fromB[1]!.status).toBe(200);
    expect(fromB[1]!.raw.toString('utf8')).toMatch(/<html/i);
    if (hasPdf) {
      expect(fromB[2]!.status).toBe(200);
      expect(fromB[2]!.raw.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    } else {
      expect(fromB[2]!.json).toMatchObject({ code: 'PDF_UNAVAILABLE' });
    }
    for (let i = 0; i < files.length; i++) expect(fromB[i]!.raw.equals(fromA[i]!.raw), files[i]).toBe(true);

    // coord-a stops; a coordinator started afterwards still has the finished job and its files.
    await a.close();
    running.splice(running.indexOf(a), 1);
    const c = await coordinator('coord-c');
    expect((await http(c, 'GET', `/v1/jobs/${jobId}`)).json).toMatchObject({ status: 'done' });
    expect((await http(c, 'GET', `/v1/jobs/${jobId}/bundle`)).raw.equals(fromA[0]!.raw)).toBe(true);
    a = c;
  }, 120_000);

  it('counts one HTTP rate limit per token across both coordinators', async () => {
    const created = await http(a, 'POST', '/v1/users', { userId: 'limited-user', role: 'compliance' });
    expect(created.status).toBe(201);
    const token = created.json.token as string;
    const codes: number[] = [];
    for (let i = 0; i < HTTP_LIMIT; i++) codes.push((await http(i % 2 === 0 ? a : b, 'GET', '/v1/me', undefined, token)).status);
    expect(codes).toEqual(Array(HTTP_LIMIT).fill(200));
    for (const c of [a, b]) {
      const refused = await http(c, 'GET', '/v1/me', undefined, token);
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
    }
    // Another token has its own window.
    expect((await http(b, 'GET', '/v1/me')).status).toBe(200);
  }, 60_000);

  it('counts one gRPC limit per peer address across both coordinators', async () => {
    const clients = [a, b].map((c) => new MerchantServiceClient(c.grpcAddress, credentials.createInsecure()));
    try {
      const getKey = (client: MerchantServiceClient) => new Promise<ServiceError | null>((resolve) => {
        client.getPublicKey({}, new Metadata(), { deadline: new Date(Date.now() + 10_000) }, (err) => resolve(err));
      });
      const outcomes: (string | undefined)[] = [];
      for (let i = 0; i < PEER_LIMIT; i++) outcomes.push(errorCodeOf(await getKey(clients[i % 2]!)) ?? 'OK');
      expect(outcomes).toEqual(Array(PEER_LIMIT).fill('OK'));
      for (const client of clients) {
        const err = await getKey(client);
        expect([err?.code, errorCodeOf(err)]).toEqual([status.RESOURCE_EXHAUSTED, 'RATE_LIMITED']);
        expect(Number(err?.metadata.get(RETRY_AFTER_METADATA_KEY)[0])).toBeGreaterThan(0);
      }
    } finally {
      for (const c of clients) c.close();
    }
  }, 60_000);
});
