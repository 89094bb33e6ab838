/**
 * Long operations started over HTTP (audit report exports) run as jobs: the
 * POST answers 202 with the job, and the caller polls `GET /v1/jobs/:id` for
 * status, progress (steps done of total, and the current step) and, when
 * done, links to the results. Jobs live in this process's memory: a restart
 * forgets them (the export itself is in the audit log as `export.created`),
 * and only the newest finished jobs keep their results.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { HttpProblem, PROBLEMS, type ProblemCode } from './problems.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface JobProgress {
  readonly done: number;
  readonly total: number;
  /** Code of the current step (`queued`, the job's own steps, `done`). */
  readonly step: string;
}

export interface Job<R> {
  readonly jobId: string;
  readonly kind: string;
  readonly owner: string;
  status: JobStatus;
  progress: JobProgress;
  readonly createdAt: Date;
  finishedAt: Date | null;
  error: { code: ProblemCode; title: string; detail?: string } | null;
  result: R | null;
}

/** Reports progress from inside a running job. */
export type ProgressFn = (done: number, step: string) => void;

export class JobRegistry {
  private readonly jobs = new Map<string, Job<unknown>>();

  constructor(
    private readonly log: Logger,
    /** Finished jobs kept (oldest are dropped first). */
    private readonly keepFinished = 20,
  ) {}

  /** Starts `run` in the background and returns the queued job at once. */
  start<R>(kind: string, owner: string, totalSteps: number, run: (progress: ProgressFn) => Promise<R>): Job<R> {
    const job: Job<R> = {
      jobId: `job-${randomBytes(8).toString('hex')}`,
      kind,
      owner,
      status: 'queued',
      progress: { done: 0, total: totalSteps, step: 'queued' },
      createdAt: new Date(),
      finishedAt: null,
      error: null,
      result: null,
    };
    this.jobs.set(job.jobId, job as Job<unknown>);
    setImmediate(() => {
      job.status = 'running';
      run((done, step) => {
        job.progress = { done, total: totalSteps, step };
      }).then(
        (result) => {
          job.result = result;
          job.status = 'done';
          job.progress = { done: totalSteps, total: totalSteps, step: 'done' };
          job.finishedAt = new Date();
          this.prune();
        },
        (err: unknown) => {
          const code: ProblemCode = err instanceof HttpProblem ? err.code : 'INTERNAL';
          if (!(err instanceof HttpProblem)) this.log.error({ err, jobId: job.jobId }, 'job failed');
          job.error = {
            code,
            title: PROBLEMS[code].title,
            ...(err instanceof HttpProblem && err.detail !== undefined && PROBLEMS[code].status < 500 ? { detail: err.detail } : {}),
          };
          job.status = 'failed';
          job.finishedAt = new Date();
          this.prune();
        },
      );
    });
    return job;
  }

  /** The job, if it exists and `principalId` may see it (its owner, or anyone when `any`). */
  get(jobId: string, principalId: string, any: boolean): Job<unknown> {
    const job = this.jobs.get(jobId);
    if (!job || (!any && job.owner !== principalId)) throw new HttpProblem('JOB_NOT_FOUND', `no job ${jobId}`);
    return job;
  }

  /** Jobs visible to the caller, newest first. */
  list(principalId: string, any: boolean): Job<unknown>[] {
    return [...this.jobs.values()].filter((j) => any || j.owner === principalId).reverse();
  }

  /** Resolves when the job has finished (for tests and synchronous callers). */
  async settled(jobId: string, timeoutMs = 120_000): Promise<Job<unknown>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const job = this.jobs.get(jobId);
      if (!job) throw new HttpProblem('JOB_NOT_FOUND', `no job ${jobId}`);
      if (job.status === 'done' || job.status === 'failed') return job;
      if (Date.now() > until) throw new Error(`job ${jobId} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.status === 'done' || j.status === 'failed');
    for (const j of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) this.jobs.delete(j.jobId);
  }
}
