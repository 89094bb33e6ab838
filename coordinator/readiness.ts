/**
 * Whether this coordinator can do its work now: the database answers, its
 * schema is the one this code was written for, and (when the coordinator
 * is configured with one) the key holder answers. `/readyz`, the gRPC
 * health status and the operations docs all read the same report, so a
 * load balancer and an operator never disagree about what "ready" means.
 *
 * Each check has a short deadline of its own: a probe must answer in time
 * even when a dependency hangs rather than refuses, or the orchestrator's
 * own timeout would hide which check failed. Failures are logged here with
 * their cause; the report itself carries only check names and `ok` /
 * `failing`, never a connection string or a driver message.
 */
import type { Logger } from 'pino';
import type { Database } from './database.js';
import { schemaVersion } from './migrate.js';
import { MIGRATIONS } from './migrations.js';

/** The name of one readiness check, as shown in `/readyz` and the docs. */
export type ReadinessCheckName = 'database' | 'migrations' | 'keyholder';

export type CheckState = 'ok' | 'failing';

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Partial<Record<ReadinessCheckName, CheckState>>>;
}

/** Something whose reachability is checked with a call under a deadline (the key holder client). */
export interface Pingable {
  ping(deadlineMs: number): Promise<void>;
}

export interface ReadinessOptions {
  readonly db: Database;
  /** The key holder, when this coordinator is configured with one. */
  readonly keyHolder?: Pingable;
  readonly logger: Logger;
  /** Deadline of each check (default 2 s). */
  readonly timeoutMs?: number;
  /**
   * How long a report is reused (default 1 s), so that probes from many
   * load balancers, or a flood of public requests, cost the database at
   * most one `select 1` per interval.
   */
  readonly cacheMs?: number;
}

/** Raised inside a check that did not finish within its deadline. */
export class CheckTimeoutError extends Error {
  readonly code = 'CHECK_TIMEOUT';
  constructor(readonly check: ReadinessCheckName, readonly timeoutMs: number) {
    super(`readiness check ${check} did not answer within ${timeoutMs} ms`);
    this.name = 'CheckTimeoutError';
  }
}

/** Raised when the stored schema version is not the one this code expects. */
export class SchemaNotCurrentError extends Error {
  readonly code = 'SCHEMA_NOT_CURRENT';
  constructor(readonly found: number, readonly expected: number) {
    super(`database schema version ${found}, this code expects ${expected}`);
    this.name = 'SchemaNotCurrentError';
  }
}

function withDeadline<T>(check: ReadinessCheckName, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(check, timeoutMs)), timeoutMs);
    timer.unref();
  });
  // A check still running after its deadline must not surface as an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export class ReadinessProbe {
  private cached: { at: number; report: ReadinessReport } | undefined;
  private inFlight: Promise<ReadinessReport> | undefined;
  private readonly lastState = new Map<ReadinessCheckName, CheckState>();

  constructor(private readonly options: ReadinessOptions) {}

  /** The latest report, made afresh when the cached one is older than `cacheMs`; concurrent callers share one run. */
  async report(): Promise<ReadinessReport> {
    const cacheMs = this.options.cacheMs ?? 1000;
    if (this.cached && Date.now() - this.cached.at < cacheMs) return this.cached.report;
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async run(): Promise<ReadinessReport> {
    const timeoutMs = this.options.timeoutMs ?? 2000;
    const { db, keyHolder } = this.options;
    const checks: [ReadinessCheckName, () => Promise<unknown>][] = [
      ['database', () => db.query('SELECT 1 AS ok')],
      ['migrations', async () => {
        const found = await schemaVersion(db);
        if (found !== MIGRATIONS.length) throw new SchemaNotCurrentError(found, MIGRATIONS.length);
      }],
    ];
    if (keyHolder) checks.push(['keyholder', () => keyHolder.ping(timeoutMs)]);
    const states = await Promise.all(checks.map(async ([name, fn]): Promise<[ReadinessCheckName, CheckState]> => {
      try {
        await withDeadline(name, timeoutMs, fn());
        this.transition(name, 'ok');
        return [name, 'ok'];
      } catch (err) {
        this.transition(name, 'failing', err);
        return [name, 'failing'];
      }
    }));
    const report: ReadinessReport = { ready: states.every(([, s]) => s === 'ok'), checks: Object.fromEntries(states) };
    this.cached = { at: Date.now(), report };
    return report;
  }

  /** Logs a check's change of state once (not on every probe), with the cause when it starts failing. */
  private transition(name: ReadinessCheckName, state: CheckState, err?: unknown): void {
    const before = this.lastState.get(name);
    this.lastState.set(name, state);
    if (before === state) return;
    if (state === 'failing') {
      const cause = err instanceof Error ? { name: err.name, code: (err as { code?: unknown }).code, message: err.message } : { message: String(err) };
      this.options.logger.warn({ check: name, cause }, 'readiness check failing');
    } else if (before !== undefined) {
      this.options.logger.info({ check: name }, 'readiness check recovered');
    }
  }
}
