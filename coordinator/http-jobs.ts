/**
 * Long operations started over HTTP (audit report exports) run as jobs: the
 * POST answers 202 with the job, and the caller polls `GET /v1/jobs/:id` for
 * status, progress (steps done of total, and the current step) and, when
 * done, links to the results.
 *
 * Jobs live in the database (`jobs`, results in `job_files`), so every
 * coordinator on it answers for every job, and a restart loses nothing
 * finished. The coordinator that creates a job runs it under a lease in
 * the style of closing claims (`closing-claims.ts`): it renews the lease
 * while the job runs, and every write of the job is fenced by the holder
 * and the attempt number. A job whose holder died (lease run out; on a
 * PGlite folder, which one process owns, any claim of another process) is
 * taken over by the next coordinator that sweeps (every third of a lease,
 * and whenever someone looks at the job) and run again from the start, or,
 * after `maxAttempts`, marked failed with `JOB_ABANDONED`. Only the newest
 * `keepFinished` finished jobs are kept, with their results.
 *
 * A coordinator that shuts down ({@link JobRegistry.shutdown}) claims
 * nothing more, lets the jobs it runs finish for a short grace period, and
 * hands the rest back: their claim is cleared (`claimed_by` NULL), so the
 * next coordinator that sweeps or is asked about the job runs it at once,
 * without waiting for a lease to run out and without counting the
 * handed-over run as an attempt.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Database } from './database.js';
import { HttpProblem, PROBLEMS, type ProblemCode } from './problems.js';
import { problemOf } from './http-problem-map.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface JobProgress {
  readonly done: number;
  readonly total: number;
  /** Code of the current step (`queued`, the job's own steps, `done`). */
  readonly step: string;
}

export interface JobError {
  readonly code: ProblemCode;
  readonly title: string;
  readonly detail?: string;
}

/** A job as stored (results not included: see {@link JobRegistry.file}). */
export interface Job {
  readonly jobId: string;
  readonly kind: string;
  readonly owner: string;
  readonly status: JobStatus;
  readonly progress: JobProgress;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
  readonly error: JobError | null;
  /** The summary the job's runner returned, once done. */
  readonly result: Record<string, unknown> | null;
  /** 1 for the first run, one more for each takeover of a job whose holder died (a job handed over at shutdown keeps its count). */
  readonly attempts: number;
  /** The coordinator running it now, if any. */
  readonly claimedBy: string | null;
}

/** What a finished run leaves: a small summary (shown with the job) and named files (downloaded on their own). */
export interface JobOutput {
  readonly summary: Record<string, unknown>;
  readonly files: Readonly<Record<string, string | Uint8Array>>;
}

/** Reports progress from inside a running job; resolves once it is stored (callers need not wait). */
export type ProgressFn = (done: number, step: string) => Promise<void>;

/** Runs one job of a kind from its stored parameters (again from the start after a takeover). */
export type JobRunner<P> = (params: P, progress: ProgressFn, job: { readonly jobId: string; readonly owner: string }) => Promise<JobOutput>;

export interface JobRegistryOptions {
  /** Name of this process on the jobs it runs (default random). */
  readonly coordinatorId?: string;
  /** How long a claim on a job lasts unless renewed (default 30 s). */
  readonly leaseMs?: number;
  /** Finished jobs kept, in the whole database (default 20; the oldest go first). */
  readonly keepFinished?: number;
  /** Runs of one job before it is failed as abandoned (default 2: one takeover). */
  readonly maxAttempts?: number;
  /** The database is this process's alone (default: on PGlite): another holder's claim is void at once. */
  readonly ownedDatabase?: boolean;
  /** On {@link JobRegistry.shutdown}, how long jobs running here may take to finish before they are handed over (default 5 s). */
  readonly shutdownGraceMs?: number;
}

/** What {@link JobRegistry.shutdown} did with the jobs this coordinator held. */
export interface JobHandOver {
  /** Jobs that finished here during the grace period. */
  readonly finished: readonly string[];
  /** Jobs handed back unclaimed, for another coordinator to run at once. */
  readonly released: readonly string[];
}

interface JobRow {
  job_id: string;
  kind: string;
  owner: string;
  params_json: string;
  status: JobStatus;
  progress_done: number;
  progress_total: number;
  progress_step: string;
  attempts: number;
  claimed_by: string | null;
  created_at: Date | string;
  finished_at: Date | string | null;
  error_json: string | null;
  result_json: string | null;
  expired: boolean;
}

const COLUMNS = `job_id, kind, owner, params_json, status, progress_done, progress_total, progress_step, attempts, claimed_by,
  created_at, finished_at, error_json, result_json, (claimed_until IS NULL OR claimed_until <= clock_timestamp()) AS expired`;

function toJob(r: JobRow): Job {
  return {
    jobId: r.job_id,
    kind: r.kind,
    owner: r.owner,
    status: r.status,
    progress: { done: r.progress_done, total: r.progress_total, step: r.progress_step },
    createdAt: new Date(r.created_at),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
    error: r.error_json === null ? null : (JSON.parse(r.error_json) as JobError),
    result: r.result_json === null ? null : (JSON.parse(r.result_json) as Record<string, unknown>),
    attempts: r.attempts,
    claimedBy: r.claimed_by,
  };
}

/** A job's failure as its problem (the same mapping as the HTTP error handler); anything unknown is INTERNAL without detail. */
function errorOf(err: unknown): JobError {
  const problem = problemOf(err);
  const code: ProblemCode = problem?.code ?? 'INTERNAL';
  return {
    code,
    title: PROBLEMS[code].title,
    ...(problem?.detail !== undefined && PROBLEMS[code].status < 500 ? { detail: problem.detail } : {}),
  };
}

const ABANDONED: JobError = { code: 'JOB_ABANDONED', title: PROBLEMS.JOB_ABANDONED.title };

export interface JobRegistryEvents {
  /** A job this registry ran finished (done, failed, or its result discarded because another coordinator took it over). */
  finished: [job: { readonly jobId: string; readonly status: JobStatus | 'lost' }];
  /** This registry started running a job (created here, or taken over). */
  running: [job: { readonly jobId: string; readonly attempt: number }];
}

export class JobRegistry {
  readonly coordinatorId: string;
  readonly leaseMs: number;
  readonly events = new EventEmitter<JobRegistryEvents>();
  private readonly keepFinished: number;
  private readonly maxAttempts: number;
  private readonly owned: boolean;
  private readonly shutdownGraceMs: number;
  private readonly runners = new Map<string, JobRunner<never>>();
  /** Jobs running in this process, with their attempt. */
  private readonly running = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  /** Sweeps under way (from the timer or from {@link get}); {@link stop} waits for them. */
  private readonly sweeps = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    options: JobRegistryOptions = {},
  ) {
    this.coordinatorId = options.coordinatorId ?? `coordinator-${randomBytes(4).toString('hex')}`;
    this.leaseMs = options.leaseMs ?? 30_000;
    if (!Number.isSafeInteger(this.leaseMs) || this.leaseMs < 100) throw new RangeError('leaseMs must be an integer >= 100');
    this.keepFinished = options.keepFinished ?? 20;
    this.maxAttempts = options.maxAttempts ?? 2;
    this.owned = options.ownedDatabase ?? db.backend === 'pglite';
    this.shutdownGraceMs = options.shutdownGraceMs ?? 5_000;
    if (!Number.isSafeInteger(this.shutdownGraceMs) || this.shutdownGraceMs < 0) throw new RangeError('shutdownGraceMs must be an integer >= 0');
  }

  /** Says how jobs of `kind` run; every coordinator that may take such jobs over defines it. */
  define<P>(kind: string, runner: JobRunner<P>): void {
    this.runners.set(kind, runner);
  }

  /**
   * Stores a queued job, starts running it here in the background, and
   * returns it at once. Once this registry is stopped the job is stored
   * unclaimed instead, for another coordinator to run.
   */
  async start<P>(kind: string, owner: string, totalSteps: number, params: P): Promise<Job> {
    if (!this.runners.has(kind)) throw new Error(`no runner for jobs of kind ${kind}`);
    const jobId = `job-${randomBytes(8).toString('hex')}`;
    const claim = !this.stopped;
    const rows = await this.db.query<JobRow>(
      `INSERT INTO jobs (job_id, kind, owner, params_json, status, progress_total, claimed_by, claimed_until)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6, CASE WHEN $6::text IS NULL THEN NULL ELSE clock_timestamp() + $7::int * interval '1 millisecond' END)
       RETURNING ${COLUMNS}`,
      [jobId, kind, owner, JSON.stringify(params), totalSteps, claim ? this.coordinatorId : null, this.leaseMs],
    );
    const job = toJob(rows[0]!);
    if (claim) setImmediate(() => void this.run(job, JSON.stringify(params)));
    return job;
  }

  /** The job, if it exists and `principalId` may see it (its owner, or anyone when `any`). */
  async get(jobId: string, principalId: string, any: boolean): Promise<Job> {
    let row = await this.row(jobId);
    if (row && row.expired && (row.status === 'queued' || row.status === 'running')) {
      // Its holder stopped renewing: take it over (or fail it) before answering.
      await this.sweep();
      row = await this.row(jobId);
    }
    if (!row || (!any && row.owner !== principalId)) throw new HttpProblem('JOB_NOT_FOUND', `no job ${jobId}`);
    return toJob(row);
  }

  /** Jobs visible to the caller, newest first (at most 100). */
  async list(principalId: string, any: boolean): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `SELECT ${COLUMNS} FROM jobs WHERE $2::boolean OR owner = $1 ORDER BY created_at DESC, job_id DESC LIMIT 100`,
      [principalId, any],
    );
    return rows.map(toJob);
  }

  /** A result file of a job (check that the caller may see the job first), or null. */
  async file(jobId: string, name: string): Promise<Buffer | null> {
    const rows = await this.db.query<{ body: Uint8Array }>('SELECT body FROM job_files WHERE job_id = $1 AND name = $2', [jobId, name]);
    return rows[0] ? Buffer.from(rows[0].body) : null;
  }

  /**
   * Takes over the jobs whose holder's lease ran out, or that a coordinator
   * handed back at shutdown, and runs them here; fails those whose holder
   * died on their `maxAttempts`th run. Returns the ids of both.
   */
  sweep(): Promise<{ taken: string[]; failed: string[] }> {
    const sweep = this.sweepNow();
    this.sweeps.add(sweep);
    void sweep.finally(() => this.sweeps.delete(sweep)).catch(() => undefined);
    return sweep;
  }

  private async sweepNow(): Promise<{ taken: string[]; failed: string[] }> {
    if (this.stopped) return { taken: [], failed: [] };
    const abandoned = `status IN ('queued', 'running') AND (claimed_until IS NULL OR claimed_until <= clock_timestamp() OR ($2::boolean AND claimed_by <> $1))`;
    const failed = await this.db.query<{ job_id: string }>(
      `UPDATE jobs SET status = 'failed', finished_at = clock_timestamp(), claimed_by = NULL, claimed_until = NULL, error_json = $4,
              progress_step = 'abandoned'
        WHERE ${abandoned} AND claimed_by IS NOT NULL AND attempts >= $3 RETURNING job_id`,
      [this.coordinatorId, this.owned, this.maxAttempts, JSON.stringify(ABANDONED)],
    );
    for (const f of failed) this.log.warn({ jobId: f.job_id }, 'job abandoned by its coordinator; marked failed');
    const taken: string[] = [];
    for (;;) {
      if (this.stopped) break;
      const rows = await this.db.query<JobRow>(
        `UPDATE jobs SET claimed_by = $1, claimed_until = clock_timestamp() + $4::int * interval '1 millisecond',
                attempts = attempts + CASE WHEN claimed_by IS NULL THEN 0 ELSE 1 END,
                status = 'queued', progress_done = 0, progress_step = 'queued'
          WHERE job_id = (
            SELECT job_id FROM jobs
             WHERE ${abandoned} AND (claimed_by IS NULL OR attempts < $3) AND kind IN (SELECT jsonb_array_elements_text($5::jsonb))
             ORDER BY created_at, job_id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING ${COLUMNS}`,
        [this.coordinatorId, this.owned, this.maxAttempts, this.leaseMs, JSON.stringify([...this.runners.keys()])],
      );
      const row = rows[0];
      if (!row) break;
      taken.push(row.job_id);
      this.log.warn({ jobId: row.job_id, attempt: row.attempts }, 'taking over a job whose coordinator stopped or handed it over');
      const job = toJob(row);
      setImmediate(() => void this.run(job, row.params_json));
    }
    if (failed.length > 0) await this.prune();
    return { taken, failed: failed.map((f) => f.job_id) };
  }

  /** Renews the leases of the jobs running here and sweeps, now and every third of a lease, until {@link stop}. */
  startSweeping(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      if (this.sweeping) return;
      this.sweeping = this.renew()
        .then(() => this.sweep())
        .catch((err: unknown) => this.log.warn({ err }, 'renewing or sweeping jobs failed'))
        .finally(() => {
          this.sweeping = undefined;
        });
    };
    tick();
    this.timer = setInterval(tick, Math.max(50, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /**
   * Stops sweeping and renewing. The jobs still running here keep their
   * claim only until it runs out; another coordinator then takes them over.
   * (A coordinator that dies does no more than this; one that shuts down
   * calls {@link shutdown}.)
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
    await Promise.allSettled([...this.sweeps]);
  }

  /**
   * A clean shutdown: stops claiming (as {@link stop}), waits up to
   * `graceMs` (default the registry's `shutdownGraceMs`) for the jobs
   * running here to finish, then hands back every job this coordinator still
   * holds: claim cleared, status `queued`, progress reset, attempt count
   * unchanged. Another coordinator runs them at its next sweep, or at once
   * when someone asks for the job. A run still going here is not stopped,
   * but its writes are fenced off like those of a run taken over.
   */
  async shutdown(graceMs = this.shutdownGraceMs): Promise<JobHandOver> {
    await this.stop();
    const finished: string[] = [];
    const onFinished = (j: { jobId: string; status: JobStatus | 'lost' }) => {
      if (j.status !== 'lost') finished.push(j.jobId);
    };
    this.events.on('finished', onFinished);
    try {
      if (this.running.size > 0 && graceMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<void>((resolve) => {
          const check = () => {
            if (this.running.size > 0) return;
            this.events.off('finished', check);
            resolve();
          };
          this.events.on('finished', check);
          check();
        });
        await Promise.race([idle, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
        clearTimeout(timer);
      }
    } finally {
      this.events.off('finished', onFinished);
    }
    let rows: { job_id: string }[];
    try {
      rows = await this.db.query<{ job_id: string }>(
        `UPDATE jobs SET claimed_by = NULL, claimed_until = NULL, status = 'queued', progress_done = 0, progress_step = 'queued'
          WHERE claimed_by = $1 AND status IN ('queued', 'running') RETURNING job_id`,
        [this.coordinatorId],
      );
    } catch (err) {
      // The database is gone (closed first, or unreachable): nothing can be handed over, and the jobs this process
      // held are taken over when their leases run out, as after a crash. Shutting down goes on.
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'jobs not handed over at shutdown: the database did not answer; their leases run out instead');
      return { finished, released: [] };
    }
    const released = rows.map((r) => r.job_id);
    for (const jobId of released) this.log.info({ jobId }, 'job handed over at shutdown; another coordinator runs it');
    return { finished, released };
  }

  /** Resolves when a job that runs in this process has finished (its final state), for tests and synchronous callers. */
  async settled(jobId: string): Promise<Job> {
    const finished = new Promise<void>((resolve) => {
      const on = (j: { jobId: string }) => {
        if (j.jobId !== jobId) return;
        this.events.off('finished', on);
        resolve();
      };
      this.events.on('finished', on);
      void this.row(jobId).then((r) => {
        if (!r || r.status === 'done' || r.status === 'failed') on({ jobId });
      }, () => on({ jobId }));
    });
    await finished;
    const row = await this.row(jobId);
    if (!row) throw new HttpProblem('JOB_NOT_FOUND', `no job ${jobId}`);
    return toJob(row);
  }

  /** Extends the claims on the jobs running here. */
  async renew(): Promise<void> {
    if (this.running.size === 0) return;
    await this.db.query(
      `UPDATE jobs SET claimed_until = clock_timestamp() + $2::int * interval '1 millisecond'
        WHERE claimed_by = $1 AND status IN ('queued', 'running')`,
      [this.coordinatorId, this.leaseMs],
    );
  }

  private async row(jobId: string): Promise<JobRow | undefined> {
    return (await this.db.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE job_id = $1`, [jobId]))[0];
  }

  private async run(job: Job, paramsJson: string): Promise<void> {
    const attempt = job.attempts;
    const fence = [job.jobId, this.coordinatorId, attempt] as const;
    const runner = this.runners.get(job.kind);
    if (this.stopped) {
      // Claimed just before this registry stopped: not started here; a shutdown hands it over.
      this.events.emit('finished', { jobId: job.jobId, status: 'lost' });
      return;
    }
    this.running.set(job.jobId, attempt);
    this.events.emit('running', { jobId: job.jobId, attempt });
    let outcome: JobStatus | 'lost' = 'lost';
    // Progress is written in order, one statement at a time; the final write waits for the last.
    let writes: Promise<unknown> = this.db.query(
      `UPDATE jobs SET status = 'running' WHERE job_id = $1 AND claimed_by = $2 AND attempts = $3 AND status = 'queued'`,
      [...fence],
    );

    const progress: ProgressFn = (done, step) => {
      writes = writes.then(() => this.db.query(
        `UPDATE jobs SET progress_done = $4, progress_step = $5 WHERE job_id = $1 AND claimed_by = $2 AND attempts = $3 AND status = 'running'`,
        [...fence, done, step],
      )).catch((err: unknown) => this.log.warn({ err, jobId: job.jobId }, 'storing job progress failed'));
      return writes.then(() => undefined);
    };
    try {
      let output: JobOutput | undefined;
      let error: JobError | undefined;
      try {
        if (!runner) throw new Error(`no runner for jobs of kind ${job.kind}`);
        await writes;
        output = await runner(JSON.parse(paramsJson) as never, progress, { jobId: job.jobId, owner: job.owner });
      } catch (err) {
        if (problemOf(err) === undefined) this.log.error({ err, jobId: job.jobId }, 'job failed');
        error = errorOf(err);
      }
      await writes;
      const total = job.progress.total;
      const stored = await this.db.transaction(async (tx) => {
        const rows = await tx.query<{ job_id: string }>(
          `UPDATE jobs SET status = $4, finished_at = clock_timestamp(), claimed_by = NULL, claimed_until = NULL,
                  error_json = $5, result_json = $6, progress_done = CASE WHEN $4 = 'done' THEN $7::int ELSE progress_done END,
                  progress_step = CASE WHEN $4 = 'done' THEN 'done' ELSE progress_step END
            WHERE job_id = $1 AND claimed_by = $2 AND attempts = $3 AND status IN ('queued', 'running') RETURNING job_id`,
          [...fence, output ? 'done' : 'failed', error ? JSON.stringify(error) : null, output ? JSON.stringify(output.summary) : null, total],
        );
        if (rows.length !== 1) return false;
        for (const [name, body] of Object.entries(output?.files ?? {})) {
          await tx.query('INSERT INTO job_files (job_id, name, body) VALUES ($1, $2, $3)', [job.jobId, name, typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
        }
        return true;
      });
      if (stored) {
        outcome = output ? 'done' : 'failed';
        await this.prune();
      } else {
        this.log.warn({ jobId: job.jobId, attempt }, 'job was taken over by another coordinator; this run\'s result is discarded');
      }
    } catch (err) {
      this.log.warn({ err, jobId: job.jobId }, 'storing a job\'s outcome failed; another coordinator will take it over');
    } finally {
      this.running.delete(job.jobId);
      this.events.emit('finished', { jobId: job.jobId, status: outcome });
    }
  }

  /** Deletes all but the newest `keepFinished` finished jobs (their files go with them). */
  private async prune(): Promise<void> {
    await this.db.query(
      `DELETE FROM jobs WHERE job_id IN (
         SELECT job_id FROM jobs WHERE status IN ('done', 'failed') ORDER BY finished_at DESC, job_id DESC OFFSET $1)`,
      [this.keepFinished],
    );
  }
}
