/**
 * A coordinator's clean close (what `fedmart coordinator` does on SIGTERM)
 * hands its running export job to another coordinator on the same
 * PostgreSQL database: two real coordinators and a key holder in this
 * process. Coordinator A takes an audit export over HTTP and is closed
 * while its run hangs; coordinator B, asked for the job, runs it at once
 * (no lease has run out) as the same attempt and serves its bundle.
 * Everything waits on events and responses, never on the clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from '../../coordinator/index.js';
import type { JobOutput } from '../../coordinator/http-jobs.js';
import { startKeyHolder, type RunningKeyHolder } from '../../keyholder/index.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describePostgres } from '../helpers/backends.js';
import { testIdentity, type TestIdentity } from '../../harness/identity.js';
import { testLogger } from '../../harness/test-logs.js';

const TOKEN = 'jobs-handover-token-0123456789';

describePostgres('a coordinator closing hands its export job to another on the same PostgreSQL', () => {
  let dir: string;
  let database: TestDatabase;
  let identity: TestIdentity;
  let keyholder: RunningKeyHolder;
  const running: RunningCoordinator[] = [];
  const logger = testLogger('jobs-handover');

  async function coordinator(id: string, extra: Partial<CoordinatorOptions> = {}): Promise<RunningCoordinator> {
    const c = await startCoordinator({
      database: database.target,
      coordinatorId: id,
      keyholderAddress: keyholder.address,
      keyholderSigningKeyHex: keyholder.signingPublicKeyHex,
      apiToken: TOKEN,
      auditKeyFile: join(dir, 'audit.seed'),
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex,
      requestSigningSeedFile: identity.requestSeedFile,
      // A lease far longer than the test: B can only have the job because A handed it over.
      jobLeaseMs: 3_600_000,
      logger,
      ...extra,
    });
    running.push(c);
    return c;
  }

  async function http(c: RunningCoordinator, method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await fetch(c.httpAddress + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as any };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedmart-handover-'));
    database = await freshDatabase('postgres', 'jobs_handover');
    identity = await testIdentity(dir);
    keyholder = await startKeyHolder({
      dataDir: join(dir, 'keyholder'), listen: '127.0.0.1:0', logger,
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex, coordinatorRequestKeyHex: identity.requestKeyHex,
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of running) await c.close().catch(() => undefined);
    await keyholder?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes A while its export runs; B runs the export as attempt 1 and serves it', async () => {
    const a = await coordinator('coord-a', { jobShutdownGraceMs: 0 });
    const b = await coordinator('coord-b');
    // A's run of the export hangs (B keeps the real runner).
    let aStarted!: () => void;
    const started = new Promise<void>((resolve) => (aStarted = resolve));
    a.jobs.define('audit-export', async () => {
      aStarted();
      return new Promise<JobOutput>(() => undefined);
    });

    const created = await http(a, 'POST', '/v1/audit/export-jobs', { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', pdf: false });
    expect(created.status).toBe(202);
    const jobId = created.json.jobId as string;
    await started;
    expect((await http(b, 'GET', `/v1/jobs/${jobId}`)).json.status).toBe('running');

    await a.close();
    const bRunning = new Promise((resolve) => b.jobs.events.once('running', resolve));
    const seen = await http(b, 'GET', `/v1/jobs/${jobId}`);
    expect(seen.status).toBe(200);
    expect(await bRunning).toEqual({ jobId, attempt: 1 });
    expect(await b.jobs.settled(jobId)).toMatchObject({ status: 'done', attempts: 1, error: null });
    const done = await http(b, 'GET', `/v1/jobs/${jobId}`);
    expect(done.json).toMatchObject({ jobId, status: 'done', progress: { done: 3, total: 3, step: 'done' }, result: { verified: true } });
    const bundle = await http(b, 'GET', `/v1/jobs/${jobId}/bundle`);
    expect(bundle.status).toBe(200);
    expect(bundle.json.entries.length).toBe(done.json.result.entries);
  });
});
