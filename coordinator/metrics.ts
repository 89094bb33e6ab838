/**
 * The coordinator's Prometheus metrics, one registry per instance (never
 * prom-client's global one), so tests and a process embedding several
 * coordinators each get their own figures.
 *
 * Two kinds of figures:
 * - events this process saw, counted as they happen: contributions it
 *   accepted or refused (by the refusal's stable code) and the duration of
 *   the rounds it finished. Summed over the coordinators of a deployment
 *   they count each event once, since each contribution is received and
 *   each round finished by exactly one coordinator.
 * - the state of the shared database, read when scraped: open and closing
 *   queries, the audit log's size, and the privacy-loss budget left per
 *   purpose. Every coordinator reports the same values; aggregate them with
 *   max, not sum. A scrape reads them with one short deadline and at most
 *   once per second; while the database does not answer they are NaN and
 *   `fedmart_metrics_database_up` is 0 (an unknown value, never a stale
 *   one).
 * - this process's PostgreSQL pool (connections busy, idle, waiting), on
 *   PostgreSQL only.
 *
 * Labels hold only bounded, non-personal values: refusal codes are the
 * stable codes of the intake (anything else is `OTHER`), purposes are the
 * administrator-registered purpose codes. No merchant or query id is a
 * label.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database, PoolStats } from './database.js';

/** Round durations, creation to release or failure: rounds last from seconds (tests, fit steps) to a day. */
export const ROUND_SECONDS_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** What a scrape reads from the database. */
interface DatabaseSnapshot {
  readonly open: number;
  readonly closing: number;
  readonly auditEntries: number;
  /** Purpose → ρ left after the purpose's latest DP release. */
  readonly rhoLeft: ReadonlyMap<string, number>;
}

export interface CoordinatorMetricsOptions {
  readonly db: Database;
  readonly logger: Logger;
  /** Deadline of the database reads of one scrape (default 2 s). */
  readonly readTimeoutMs?: number;
  /** Collect Node's process metrics (CPU, memory, event loop, GC; default true). */
  readonly processMetrics?: boolean;
}

/** Raised when the database reads of a scrape did not finish in time. */
export class MetricsReadTimeoutError extends Error {
  readonly code = 'METRICS_READ_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`the metrics' database reads did not finish within ${timeoutMs} ms`);
    this.name = 'MetricsReadTimeoutError';
  }
}

/** ρ left in a DP release document (`disclosure.dp.rhoTotal - rhoSpent`), or undefined for an exact release or an unreadable one. */
export function rhoLeftOf(releaseJson: string): number | undefined {
  try {
    const doc = JSON.parse(releaseJson) as { disclosure?: { mode?: unknown; dp?: { rhoSpent?: unknown; rhoTotal?: unknown } } };
    const dp = doc.disclosure?.mode === 'dp' ? doc.disclosure.dp : undefined;
    if (typeof dp?.rhoSpent !== 'string' || typeof dp.rhoTotal !== 'string') return undefined;
    const left = Number(dp.rhoTotal) - Number(dp.rhoSpent);
    return Number.isFinite(left) ? Math.max(0, left) : undefined;
  } catch {
    return undefined;
  }
}

export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly accepted: Counter;
  private readonly refused: Counter<'code'>;
  private readonly roundSeconds: Histogram<'outcome'>;
  private readonly batchSize: Histogram;
  private snapshot: { at: number; value: Promise<DatabaseSnapshot | undefined> } | undefined;
  private databaseFailing = false;

  constructor(private readonly options: CoordinatorMetricsOptions) {
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.accepted = new Counter({
      name: 'fedmart_contributions_accepted_total',
      help: 'Contributions this coordinator stored (committed with their audit entry)',
      registers,
    });
    this.refused = new Counter({
      name: 'fedmart_contributions_refused_total',
      help: 'Contributions this coordinator refused, by the stable code the merchant was told',
      labelNames: ['code'],
      registers,
    });
    this.roundSeconds = new Histogram({
      name: 'fedmart_round_duration_seconds',
      help: 'Time from a query\'s creation to its release being stored (outcome released) or its failure (outcome failed), for rounds this coordinator finished',
      labelNames: ['outcome'],
      buckets: ROUND_SECONDS_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'fedmart_contribution_batch_size',
      help: 'Contributions stored by one committed transaction (group commit: those that arrived while the previous one committed)',
      buckets: [1, 2, 4, 8, 16, 32],
      registers,
    });
    const self = this;
    // Figures read from the shared database at scrape; NaN while it does not answer.
    const databaseGauge = (name: string, help: string, pick: (s: NonNullable<Awaited<ReturnType<typeof self.read>>>) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const s = await self.read();
          this.set(s ? pick(s) : Number.NaN);
        },
      });
    };
    databaseGauge('fedmart_queries_open', 'Queries accepting contributions (shared database; the same on every coordinator)', (s) => s.open);
    databaseGauge('fedmart_queries_closing', 'Queries closed to contributions whose release is not stored yet (shared database)', (s) => s.closing);
    databaseGauge('fedmart_audit_log_entries', 'Entries in the audit log (shared database)', (s) => s.auditEntries);
    new Gauge({
      name: 'fedmart_dp_budget_rho_remaining',
      help: 'zCDP privacy-loss budget (rho) a DP purpose has left, as stated by the key holder in the purpose\'s latest stored release',
      labelNames: ['purpose'],
      registers,
      async collect() {
        const s = await self.read();
        this.reset();
        for (const [purpose, left] of s?.rhoLeft ?? []) this.set({ purpose }, left);
      },
    });
    new Gauge({
      name: 'fedmart_metrics_database_up',
      help: '1 when this scrape read the database figures, 0 when the database did not answer in time (those figures are then NaN)',
      registers,
      async collect() {
        this.set((await self.read()) ? 1 : 0);
      },
    });
    // This process's PostgreSQL pool (not registered on PGlite, which has one in-process connection).
    if (options.db.poolStats) this.poolGauges(() => options.db.poolStats?.());
  }

  private poolGauges(pool: () => PoolStats | undefined): void {
    const registers = [this.registry];
    new Gauge({
      name: 'fedmart_db_pool_connections',
      help: 'Connections of this coordinator\'s PostgreSQL pool, by state (busy: lent to a query or transaction)',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const p = pool();
        if (!p) return;
        this.set({ state: 'idle' }, p.idle);
        this.set({ state: 'busy' }, Math.max(0, p.open - p.idle));
      },
    });
    new Gauge({
      name: 'fedmart_db_pool_max_connections',
      help: 'Most connections this coordinator\'s PostgreSQL pool opens',
      registers,
      collect() {
        this.reset();
        const p = pool();
        if (p) this.set(p.max);
      },
    });
    new Gauge({
      name: 'fedmart_db_pool_waiting',
      help: 'Callers of this coordinator waiting for a PostgreSQL connection (above zero for long: the pool is too small or the database too slow)',
      registers,
      collect() {
        this.reset();
        const p = pool();
        if (p) this.set(p.waiting);
      },
    });
  }

  /** A contribution was stored. */
  contributionAccepted(): void {
    this.accepted.inc();
  }

  /** A transaction committed `contributions` contributions together. */
  contributionBatch(contributions: number): void {
    this.batchSize.observe(contributions);
  }

  /** A contribution was refused with `code` (the RpcError code, or the storage error's code). */
  contributionRefused(code: string): void {
    this.refused.inc({ code: CODE_RE.test(code) ? code : 'OTHER' });
  }

  /** A round this coordinator finished: released or failed, `createdAt` being when its query was created. */
  roundFinished(outcome: 'released' | 'failed', createdAt: Date): void {
    this.roundSeconds.observe({ outcome }, Math.max(0, (Date.now() - createdAt.getTime()) / 1000));
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  /** The database figures of this scrape: read once for all gauges, reused for a second, undefined when the database does not answer. */
  private read(): Promise<DatabaseSnapshot | undefined> {
    if (this.snapshot && Date.now() - this.snapshot.at < 1000) return this.snapshot.value;
    const value = this.readDatabase().then(
      (s) => {
        if (this.databaseFailing) this.options.logger.info('metrics: database figures readable again');
        this.databaseFailing = false;
        return s;
      },
      (err: unknown) => {
        if (!this.databaseFailing) {
          const cause = err instanceof Error ? { name: err.name, code: (err as { code?: unknown }).code } : {};
          this.options.logger.warn({ cause }, 'metrics: database figures unavailable; left out of scrapes until it answers');
        }
        this.databaseFailing = true;
        return undefined;
      },
    );
    this.snapshot = { at: Date.now(), value };
    return value;
  }

  private async readDatabase(): Promise<DatabaseSnapshot> {
    const { db } = this.options;
    const timeoutMs = this.options.readTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MetricsReadTimeoutError(timeoutMs)), timeoutMs);
      timer.unref();
    });
    const work = (async (): Promise<DatabaseSnapshot> => {
      const statuses = await db.query<{ status: string; n: string | number }>(
        `SELECT status, count(*) AS n FROM queries WHERE status IN ('open', 'closing') GROUP BY status`,
      );
      // Sequence numbers are gap-free from 0: the size is the largest one plus one, read from the primary key.
      const audit = await db.query<{ n: string | number | null }>('SELECT max(seq) + 1 AS n FROM audit_entries');
      // A purpose's latest release states what its budget has left (exact purposes state nothing).
      const latest = await db.query<{ purpose: string; release_json: string }>(
        `SELECT DISTINCT ON (q.purpose) q.purpose, r.release_json
           FROM releases r JOIN queries q ON q.query_id = r.query_id
          ORDER BY q.purpose, r.created_at DESC`,
      );
      const count = (s: string) => Number(statuses.find((r) => r.status === s)?.n ?? 0);
      const rhoLeft = new Map<string, number>();
      for (const row of latest) {
        const left = rhoLeftOf(row.release_json);
        if (left !== undefined) rhoLeft.set(row.purpose, left);
      }
      return { open: count('open'), closing: count('closing'), auditEntries: Number(audit[0]?.n ?? 0), rhoLeft };
    })();
    work.catch(() => undefined);
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
