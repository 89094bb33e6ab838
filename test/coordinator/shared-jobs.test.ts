/**
 * Export jobs in the database, on PGlite and PostgreSQL: two registries
 * stand for two coordinators on one database. A job whose holder stopped
 * renewing its lease is taken over and run again by another coordinator,
 * whose result stands (the first holder's late result is discarded); after
 * its last attempt it is failed as JOB_ABANDONED; on a database one process
 * owns (PGlite) a claim of another process is void at once. Only the
 * newest finished jobs are kept. Chromium renders are capped per process:
 * the next waits, shown as the step `waiting-for-renderer`. Everything
 * waits on events and promises, never on the clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../coordinator/index.js';
import { JobRegistry, type JobOutput, type JobRegistryOptions, type ProgressFn } from '../../coordinator/http-jobs.js';
import { HttpProblem } from '../../coordinator/problems.js';
import { RenderSlots } from '../../coordinator/render-slots.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describeBackends } from '../helpers/backends.js';
import { testLogger } from '../../harness/test-logs.js';

const log = testLogger('shared-jobs');

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const output = (who: string): JobOutput => ({ summary: { who }, files: { 'out.txt': `made by ${who}`, 'raw.bin': new Uint8Array([0, 1, 2, 255]) } });

/** Makes the job's lease run out now, as if its holder had died long ago. */
async function expireLease(db: Database, jobId: string): Promise<void> {
  await db.query(`UPDATE jobs SET claimed_until = clock_timestamp() - interval '1 second' WHERE job_id = $1`, [jobId]);
}

describeBackends('export jobs in the database', (backend) => {
  let database: TestDatabase;
  let db: Database;
  const registries: JobRegistry[] = [];

  const registry = (coordinatorId: string, options: JobRegistryOptions = {}) => {
    const r = new JobRegistry(db, log, { coordinatorId, ownedDatabase: false, leaseMs: 60_000, ...options });
    registries.push(r);
    return r;
  };

  beforeEach(async () => {
    database = await freshDatabase(backend, 'shared_jobs');
    db = await openDatabase(database.target);
  });

  afterEach(async () => {
    for (const r of registries.splice(0)) await r.stop();
    await db.close();
    await database.drop();
  });

  it('runs a job and keeps its summary and files in the database for every coordinator', async () => {
    const a = registry('coord-a');
    const b = registry('coord-b');
    for (const r of [a, b]) r.define<{ n: number }>('echo', async (params, progress) => {
      await progress(1, 'halfway');
      return output(`n=${params.n}`);
    });
    const job = await a.start('echo', 'dpo', 2, { n: 7 });
    expect(job).toMatchObject({ status: 'queued', progress: { done: 0, total: 2, step: 'queued' }, attempts: 1, claimedBy: 'coord-a' });
    const done = await a.settled(job.jobId);
    expect(done).toMatchObject({ status: 'done', progress: { done: 2, total: 2, step: 'done' }, result: { who: 'n=7' }, claimedBy: null, error: null });
    expect(done.finishedAt).toBeInstanceOf(Date);
    // The other coordinator sees it, lists it for its owner only, and serves its files.
    expect(await b.get(job.jobId, 'dpo', false)).toEqual(done);
    await expect(b.get(job.jobId, 'someone-else', false)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect((await b.list('dpo', false)).map((j) => j.jobId)).toEqual([job.jobId]);
    expect(await b.list('someone-else', false)).toEqual([]);
    expect((await b.list('admin', true)).map((j) => j.jobId)).toEqual([job.jobId]);
    expect((await b.file(job.jobId, 'out.txt'))?.toString()).toBe('made by n=7');
    expect([...(await b.file(job.jobId, 'raw.bin'))!]).toEqual([0, 1, 2, 255]);
    expect(await b.file(job.jobId, 'nothing')).toBeNull();
  });

  it('lets another coordinator take over a job whose lease ran out; the first holder\'s late result is discarded', async () => {
    const a = registry('coord-a');
    const b = registry('coord-b');
    const aStarted = deferred();
    const aRelease = deferred<JobOutput>();
    a.define('slow', async () => {
      aStarted.resolve();
      return aRelease.promise;
    });
    b.define('slow', async (_params, progress) => {
      await progress(1, 'by-b');
      return output('b');
    });
    const job = await a.start('slow', 'dpo', 2, {});
    await aStarted.promise;
    expect((await b.get(job.jobId, 'dpo', false)).status).toBe('running');

    // coord-a dies: it renews no more, and its lease runs out.
    await a.stop();
    await expireLease(db, job.jobId);
    const bRunning = new Promise((resolve) => b.events.once('running', resolve));
    // Looking at the job is enough for another coordinator to take it over.
    const seen = await b.get(job.jobId, 'dpo', false);
    expect(seen).toMatchObject({ attempts: 2, claimedBy: 'coord-b' });
    expect(['queued', 'running', 'done']).toContain(seen.status);
    expect(await bRunning).toEqual({ jobId: job.jobId, attempt: 2 });
    const done = await b.settled(job.jobId);
    expect(done).toMatchObject({ status: 'done', result: { who: 'b' }, attempts: 2 });

    // coord-a's run finishes late: its write is fenced off and nothing changes.
    const aFinished = new Promise((resolve) => a.events.once('finished', resolve));
    aRelease.resolve(output('a'));
    expect(await aFinished).toEqual({ jobId: job.jobId, status: 'lost' });
    expect(await b.get(job.jobId, 'dpo', false)).toEqual(done);
    expect((await b.file(job.jobId, 'out.txt'))?.toString()).toBe('made by b');
  });

  it('fails a job as JOB_ABANDONED when its holder dies on the last attempt', async () => {
    const a = registry('coord-a', { maxAttempts: 1 });
    const b = registry('coord-b', { maxAttempts: 1 });
    const aStarted = deferred();
    a.define('slow', async () => {
      aStarted.resolve();
      return new Promise<JobOutput>(() => undefined);
    });
    b.define('slow', async () => output('b'));
    const bStarted = deferred();
    b.define('hang', async () => {
      bStarted.resolve();
      return new Promise<JobOutput>(() => undefined);
    });
    const job = await a.start('slow', 'dpo', 1, {});
    await aStarted.promise;
    await a.stop();
    await expireLease(db, job.jobId);
    expect(await b.sweep()).toEqual({ taken: [], failed: [job.jobId] });
    expect(await b.get(job.jobId, 'dpo', false)).toMatchObject({
      status: 'failed',
      progress: { step: 'abandoned' },
      error: { code: 'JOB_ABANDONED', title: expect.stringMatching(/stopped before it finished/) },
      claimedBy: null,
    });
    // A live holder's job is left alone.
    const live = await b.start('hang', 'dpo', 1, {});
    await bStarted.promise;
    expect(await registry('coord-c', { maxAttempts: 1 }).sweep()).toEqual({ taken: [], failed: [] });
    expect(await b.get(live.jobId, 'dpo', false)).toMatchObject({ status: 'running', claimedBy: 'coord-b' });
  });

  it('keeps a failed run\'s stable code and only the newest finished jobs', async () => {
    const a = registry('coord-a', { keepFinished: 2 });
    a.define<{ fail: boolean; n: number }>('maybe', async (params) => {
      if (params.fail) throw new HttpProblem('AUDIT_RANGE_INVALID', 'from must not be after to');
      return output(String(params.n));
    });
    const first = await a.start('maybe', 'dpo', 1, { fail: true, n: 0 });
    expect(await a.settled(first.jobId)).toMatchObject({
      status: 'failed', error: { code: 'AUDIT_RANGE_INVALID', title: 'The requested audit range is invalid', detail: 'from must not be after to' }, result: null,
    });
    const ids = [first.jobId];
    for (let n = 1; n <= 2; n++) {
      const j = await a.start('maybe', 'dpo', 1, { fail: false, n });
      await a.settled(j.jobId);
      ids.push(j.jobId);
    }
    expect((await a.list('dpo', false)).map((j) => j.jobId).sort()).toEqual(ids.slice(1).sort());
    await expect(a.get(first.jobId, 'dpo', false)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM job_files WHERE job_id = $1', [first.jobId]))[0]?.n).toBe(0);
  });

  if (backend === 'pglite') {
    it('on a database one process owns, takes over another process\'s job at once (a restart)', async () => {
      const before = registry('coord-old');
      const started = deferred();
      before.define('slow', async () => {
        started.resolve();
        return new Promise<JobOutput>(() => undefined);
      });
      const job = await before.start('slow', 'dpo', 1, {});
      await started.promise;
      await before.stop();
      // The lease has not run out, but the folder's new owner knows the old process is gone.
      const after = registry('coord-new', { ownedDatabase: true });
      after.define('slow', async () => output('new'));
      expect(await after.sweep()).toEqual({ taken: [job.jobId], failed: [] });
      expect(await after.settled(job.jobId)).toMatchObject({ status: 'done', result: { who: 'new' }, attempts: 2 });
    });
  }

  it('runs at most N renders at once in one process; the next job waits, shown as waiting-for-renderer', async () => {
    const slots = new RenderSlots(1);
    const a = registry('coord-a');
    const renders = [0, 1].map(() => ({ started: deferred(), finish: deferred(), waited: deferred() }));
    a.define<{ n: number }>('render', async (params, progress: ProgressFn) => {
      const r = renders[params.n]!;
      await slots.run(async () => {
        await progress(1, 'rendering-pdf');
        r.started.resolve();
        await r.finish.promise;
      }, () => void progress(1, 'waiting-for-renderer').then(() => r.waited.resolve()));
      return output(`render ${params.n}`);
    });
    const first = await a.start('render', 'dpo', 2, { n: 0 });
    await renders[0]!.started.promise;
    const second = await a.start('render', 'dpo', 2, { n: 1 });
    await renders[1]!.waited.promise;
    expect(slots.running).toBe(1);
    expect(slots.waiting).toBe(1);
    expect(await a.get(second.jobId, 'dpo', false)).toMatchObject({ status: 'running', progress: { done: 1, total: 2, step: 'waiting-for-renderer' } });
    expect(await a.get(first.jobId, 'dpo', false)).toMatchObject({ status: 'running', progress: { step: 'rendering-pdf' } });
    renders[0]!.finish.resolve();
    await renders[1]!.started.promise;
    expect(await a.get(second.jobId, 'dpo', false)).toMatchObject({ status: 'running', progress: { step: 'rendering-pdf' } });
    renders[1]!.finish.resolve();
    expect((await a.settled(second.jobId)).status).toBe('done');
    expect((await a.settled(first.jobId)).status).toBe('done');
  });
});

describe('RenderSlots', () => {
  it('runs at most max renders at once, first come first served, and frees a slot when a render fails', async () => {
    const slots = new RenderSlots(2);
    const gates = [0, 1, 2, 3].map(() => deferred());
    const started: number[] = [];
    const waits: number[] = [];
    const runs = gates.map((g, i) => slots.run(async () => {
      started.push(i);
      await g.promise;
      if (i === 0) throw new Error('chromium crashed');
      return i;
    }, () => waits.push(i)));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(waits).toEqual([2, 3]);
    expect([slots.running, slots.waiting]).toEqual([2, 2]);
    gates[0]!.reject(new Error('chromium crashed'));
    await expect(runs[0]).rejects.toThrow('chromium crashed');
    expect(started).toEqual([0, 1, 2]);
    expect([slots.running, slots.waiting]).toEqual([2, 1]);
    gates[2]!.resolve();
    expect(await runs[2]).toBe(2);
    expect(started).toEqual([0, 1, 2, 3]);
    gates[1]!.resolve();
    gates[3]!.resolve();
    expect(await Promise.all([runs[1], runs[3]])).toEqual([1, 3]);
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
    expect(() => new RenderSlots(0)).toThrow(RangeError);
  });
});
