/**
 * Fixed-window rate-limit counters in the database, shared by every
 * coordinator on it: HTTP (`http-rate-limit.ts`) and gRPC
 * (`grpc-rate-limit.ts`) count into the same table with one algorithm.
 * A window is `windowMs` long and aligned to the database clock, so
 * coordinators whose clocks differ still count into the same row; each
 * request costs one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`.
 * Windows that ended are deleted now and then (at most once a minute per
 * process, after a request). Only PostgreSQL gets them
 * ({@link sharedRateWindows}): a PGlite folder has one coordinator, which
 * counts in memory.
 *
 * When the database does not answer (closed, unreachable, slower than
 * `timeoutMs`), the caller counts in its own memory instead, so that
 * liveness and the refusal of floods never depend on the database.
 */
import type { Logger } from 'pino';
import type { Database } from './database.js';

export interface RateWindowsOptions {
  /** Longest wait for the counter before counting in memory instead (default 2 s). */
  readonly timeoutMs?: number;
  /** Least time between two purges of ended windows (default 60 s). */
  readonly purgeEveryMs?: number;
}

/** A request counted: the count in its window, this one included, and the time left in the window. */
export interface WindowCount {
  readonly count: number;
  readonly msLeft: number;
}

const COUNT_SQL = `WITH now_ms AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS t)
INSERT INTO rate_windows AS w (bucket, window_start, count, expires_at)
SELECT $1::text, t - t % $2::bigint, 1, to_timestamp((t - t % $2::bigint + $2::bigint) / 1000.0) FROM now_ms
ON CONFLICT (bucket, window_start) DO UPDATE SET count = w.count + 1
RETURNING w.count, (extract(epoch FROM (w.expires_at - clock_timestamp())) * 1000)::float8 AS ms_left`;

/**
 * Counters for `db` when other coordinators can share it (PostgreSQL);
 * undefined for PGlite, whose folder one process owns: there the limiters
 * count in memory, the same windows without a statement per request.
 */
export function sharedRateWindows(db: Database, log: Pick<Logger, 'warn'>, options: RateWindowsOptions = {}): RateWindows | undefined {
  return db.backend === 'postgres' ? new RateWindows(db, log, options) : undefined;
}

export class RateWindows {
  private readonly timeoutMs: number;
  private readonly purgeEveryMs: number;
  private lastPurge = Date.now();
  private lastWarning = 0;

  constructor(
    private readonly db: Database,
    private readonly log: Pick<Logger, 'warn'>,
    options: RateWindowsOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.purgeEveryMs = options.purgeEveryMs ?? 60_000;
  }

  /** Counts one request in `bucket`'s current window of `windowMs` (a whole number of milliseconds, at least 1). */
  async count(bucket: string, windowMs: number): Promise<WindowCount> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rate-limit counter took over ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
    });
    try {
      const rows = await Promise.race([this.db.query<{ count: number; ms_left: number }>(COUNT_SQL, [bucket, Math.max(1, Math.round(windowMs))]), timeout]);
      const row = rows[0];
      if (!row) throw new Error('rate-limit counter returned no row');
      this.maybePurge();
      return { count: Number(row.count), msLeft: Math.max(0, Number(row.ms_left)) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Deletes the windows that have ended; returns how many. */
  async purge(): Promise<number> {
    this.lastPurge = Date.now();
    const rows = await this.db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM rate_windows WHERE expires_at < clock_timestamp() RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    );
    return rows[0]?.n ?? 0;
  }

  /** Logs (at most once a minute) that counting fell back to memory. */
  warnFallback(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < 60_000) return;
    this.lastWarning = now;
    this.log.warn({ err }, 'shared rate-limit counters unavailable; counting in this process until the database answers');
  }

  private maybePurge(): void {
    if (Date.now() - this.lastPurge < this.purgeEveryMs) return;
    this.purge().catch((err: unknown) => this.log.warn({ err }, 'purging ended rate-limit windows failed'));
  }
}
