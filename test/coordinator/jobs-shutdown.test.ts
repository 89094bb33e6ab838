/**
 * A clean shutdown hands export jobs over: two coordinator HTTP apps on one
 * database (PGlite, and PostgreSQL when FEDMART_TEST_DATABASE_URL is set),
 * each with its own job registry. Coordinator A takes an audit export over
 * HTTP and is closed while the job runs; the close hands the job back
 * unclaimed, and coordinator B runs it as soon as it is asked for it,
 * without a lease running out and without the handed-over run counting as
 * an attempt (with one attempt allowed, a died holder's job would fail as
 * JOB_ABANDONED). A's late result is fenced off. A job that finishes within
 * the grace period is stored by its own coordinator, and one started while
 * the registry shuts down is stored unclaimed for the others. Everything
 * waits on events and promises, never on the clock.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_PURPOSE_REGISTRY } from '../../compliance/index.js';
import { HeContext, cryptoReady, generateHeKeys, generateSigningKeyPair, heKeyId, type SigningKeyPair } from '../../crypto/index.js';
import { AuditTrail, CoordinatorStore, FitRunner, PurposeStore, QueryService, buildHttpApp, openDatabase, type Database } from '../../coordinator/index.js';
import { JobRegistry, type JobOutput, type JobRegistryOptions, type JobRunner } from '../../coordinator/http-jobs.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { testLogger } from '../../harness/test-logs.js';
import { describeBackends } from '../helpers/backends.js';

const log = testLogger('jobs-shutdown');
const TOKEN = 'bootstrap-token-0123456789abcdef';

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

let he: Promise<{ ctx: HeContext; publicKey: Uint8Array }> | undefined;
function heContext(): Promise<{ ctx: HeContext; publicKey: Uint8Array }> {
  he ??= (async () => {
    await cryptoReady();
    const ctx = await HeContext.create();
    return { ctx, publicKey: generateHeKeys(ctx).publicKey };
  })();
  return he;
}

/** A coordinator's HTTP app on `db` running its export jobs in `jobs` (as `startCoordinator` builds it). */
async function coordinatorApp(db: Database, jobs: JobRegistry, keyPair: SigningKeyPair): Promise<FastifyInstance> {
  const { ctx, publicKey } = await heContext();
  const audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair });
  const purposes = new PurposeStore(db, audit);
  await purposes.sync(DEFAULT_PURPOSE_REGISTRY, 'test');
  const store = new CoordinatorStore(db);
  const queries = new QueryService({
    store, audit, purposes, minSubjects: 10, ctx,
    publicKeyBundle: { paramSet: ctx.paramSet.name, publicKey: Buffer.from(publicKey), keyId: Buffer.from(heKeyId(publicKey)), keyholderSigningKey: Buffer.alloc(32), signature: Buffer.alloc(64) },
  });
  const app = buildHttpApp({ store, queries, fits: new FitRunner(db, queries, audit, log), audit, purposes, apiToken: TOKEN, logger: log, chromium: null, jobs });
  await app.ready();
  return app;
}

async function call(app: FastifyInstance, method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.json() };
}

/** Runs `runner` only once `gate` opens, telling `started` when a run begins. */
function gated(runner: JobRunner<never>, started: () => void, gate: Promise<void>): JobRunner<never> {
  return async (params, progress, job) => {
    started();
    await gate;
    return runner(params, progress, job);
  };
}

describeBackends('export jobs handed over at shutdown', (backend) => {
  let database: TestDatabase;
  let dbA: Database;
  let dbB: Database;
  const apps: FastifyInstance[] = [];
  const registries: JobRegistry[] = [];
  let keyPair: SigningKeyPair;

  const registry = (coordinatorId: string, options: JobRegistryOptions = {}) => {
    const r = new JobRegistry(coordinatorId === 'coord-a' ? dbA : dbB, log, { coordinatorId, ownedDatabase: false, leaseMs: 600_000, maxAttempts: 1, ...options });
    registries.push(r);
    return r;
  };

  beforeEach(async () => {
    await cryptoReady();
    keyPair = generateSigningKeyPair();
    database = await freshDatabase(backend, 'jobs_shutdown');
    dbA = await openDatabase(database.target);
    // On PostgreSQL each coordinator has its own pool; PGlite in memory is one handle in this process.
    dbB = backend === 'postgres' ? await openDatabase(database.target) : dbA;
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const r of registries.splice(0)) await r.stop();
    if (dbB !== dbA) await dbB.close();
    await dbA.close();
    await database.drop();
  });

  it('hands a running audit export over on close; the other coordinator runs it at once, as the same attempt', async () => {
    const a = registry('coord-a', { shutdownGraceMs: 0 });
    const b = registry('coord-b');
    // A's real export runner, held at a gate so that A is closed while it runs.
    const aStarted = deferred();
    const aGate = deferred();
    const define = a.define.bind(a);
    a.define = (kind, runner) => define(kind, gated(runner as JobRunner<never>, aStarted.resolve, aGate.promise));
    const appA = await coordinatorApp(dbA, a, keyPair);
    const appB = await coordinatorApp(dbB, b, keyPair);
    apps.push(appB);

    const created = await call(appA, 'POST', '/v1/audit/export-jobs', { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', pdf: false });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const jobId = created.body.jobId as string;
    await aStarted.promise;
    expect((await call(appB, 'GET', `/v1/jobs/${jobId}`)).body.status).toBe('running');

    const aFinished = new Promise((resolve) => a.events.once('finished', resolve));
    const bRunning = new Promise((resolve) => b.events.once('running', resolve));
    await appA.close();
    // Handed back: unclaimed, queued, the attempt not counted, though the lease (10 min) has not run out.
    const handed = await dbB.query('SELECT status, progress_done, progress_step, attempts, claimed_by, claimed_until FROM jobs WHERE job_id = $1', [jobId]);
    expect(handed).toEqual([{ status: 'queued', progress_done: 0, progress_step: 'queued', attempts: 1, claimed_by: null, claimed_until: null }]);

    // Asking B for the job is enough for B to take it and run it.
    const seen = await call(appB, 'GET', `/v1/jobs/${jobId}`);
    expect(seen.status).toBe(200);
    expect(['queued', 'running', 'done']).toContain(seen.body.status);
    expect(await bRunning).toEqual({ jobId, attempt: 1 });
    expect(await b.settled(jobId)).toMatchObject({ status: 'done', attempts: 1, claimedBy: null, error: null });
    const done = await call(appB, 'GET', `/v1/jobs/${jobId}`);
    expect(done.body).toMatchObject({ status: 'done', progress: { done: 3, total: 3, step: 'done' }, result: { verified: true } });
    const bundle = await call(appB, 'GET', `/v1/jobs/${jobId}/bundle`);
    expect(bundle.status).toBe(200);
    expect(bundle.body.entries.length).toBe(done.body.result.entries);

    // A's run, let go after the hand-over, finishes late: its result is discarded.
    aGate.resolve();
    expect(await aFinished).toEqual({ jobId, status: 'lost' });
    expect((await call(appB, 'GET', `/v1/jobs/${jobId}`)).body).toEqual(done.body);
  });

  it('stores a job that finishes within the grace period, and leaves one started while stopping unclaimed for the others', async () => {
    const a = registry('coord-a', { shutdownGraceMs: 600_000 });
    const b = registry('coord-b');
    const started = deferred();
    const gate = deferred();
    a.define('work', async () => {
      started.resolve();
      await gate.promise;
      return { summary: { who: 'a' }, files: {} } satisfies JobOutput;
    });
    b.define('work', async () => ({ summary: { who: 'b' }, files: {} }));
    const first = await a.start('work', 'dpo', 1, {});
    await started.promise;

    const shutdown = a.shutdown();
    // Stopping (from the call on): a job started now is stored unclaimed and not run here.
    const late = await a.start('work', 'dpo', 1, {});
    expect(late).toMatchObject({ status: 'queued', claimedBy: null, attempts: 1 });
    // The running job finishes within the grace period and is stored by A.
    gate.resolve();
    expect(await shutdown).toEqual({ finished: [first.jobId], released: [] });
    expect(await b.get(first.jobId, 'dpo', false)).toMatchObject({ status: 'done', result: { who: 'a' }, attempts: 1 });

    // B's sweep takes the unclaimed job at once.
    expect(await b.sweep()).toEqual({ taken: [late.jobId], failed: [] });
    expect(await b.settled(late.jobId)).toMatchObject({ status: 'done', result: { who: 'b' }, attempts: 1 });
  });

  it('still fails as JOB_ABANDONED the job of a holder that died on its last attempt', async () => {
    const a = registry('coord-a');
    const b = registry('coord-b');
    const started = deferred();
    a.define('work', async () => {
      started.resolve();
      return new Promise<JobOutput>(() => undefined);
    });
    b.define('work', async () => ({ summary: {}, files: {} }));
    const job = await a.start('work', 'dpo', 1, {});
    await started.promise;
    // Death, not shutdown: the claim stays until the lease runs out.
    await a.stop();
    expect(await b.sweep()).toEqual({ taken: [], failed: [] });
    await dbA.query(`UPDATE jobs SET claimed_until = clock_timestamp() - interval '1 second' WHERE job_id = $1`, [job.jobId]);
    expect(await b.sweep()).toEqual({ taken: [], failed: [job.jobId] });
    expect(await b.get(job.jobId, 'dpo', false)).toMatchObject({ status: 'failed', error: { code: 'JOB_ABANDONED' } });
  });
});
