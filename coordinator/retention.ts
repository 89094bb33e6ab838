/**
 * Storage limitation (PIPL art. 19, 47): data kept for a purpose is erased
 * when the purpose's retention period (`retentionDays` of its registered
 * definition) has passed since the query was created. What goes: the
 * contributions' ciphertexts (rows, or files once the erasure committed)
 * and the query's release (statistics and signed document). What stays: the audit entries — they are the evidence
 * that processing was lawful and that erasure happened — and the metadata
 * that the audit log refers to (query, merchants, envelope digests,
 * consent attestations as counts). Each pass appends one `retention.deleted`
 * entry per category and retention cutoff, with the number of records, in
 * the same transaction as the erasure.
 *
 * Only finished queries (released or failed) are erased. Several
 * coordinators may run the job at once: each claims the queries it erases
 * with `FOR UPDATE SKIP LOCKED`, so every query is erased and logged once.
 */
import type { Logger } from 'pino';
import type { AuditTrail } from './audit-trail.js';
import { textArray, type Database, type SqlExecutor } from './database.js';
import { DAY_MS } from '../analytics/index.js';

/** What one pass erased, per retention cutoff. */
export interface RetentionPass {
  readonly queries: number;
  readonly ciphertexts: number;
  readonly releases: number;
  /** Audit entries written (one per category and cutoff with records). */
  readonly auditEntries: number;
}

/** Audit categories (slugs) of erased records. */
export const RETENTION_CATEGORIES = {
  ciphertexts: 'contribution-ciphertexts',
  releases: 'query-releases',
} as const;

export interface RetentionOptions {
  /** How often the job runs (default one hour). */
  readonly intervalMs?: number;
  /** The clock; tests move it forward instead of waiting for days. */
  readonly now?: () => Date;
}


export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly db: Database,
    private readonly audit: AuditTrail,
    private readonly log: Pick<Logger, 'info' | 'error'>,
    private readonly options: RetentionOptions = {},
  ) {}

  /** Runs a pass now and then every `intervalMs`. */
  start(): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.runOnce()
        .catch((err: unknown) => this.log.error({ err }, 'retention pass failed'))
        .finally(() => (this.running = undefined));
    };
    this.timer = setInterval(tick, this.options.intervalMs ?? 3_600_000);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Erases everything past its retention at `now` (default: the job's clock) in one transaction. */
  async runOnce(now: Date = this.options.now?.() ?? new Date()): Promise<RetentionPass> {
    const erasedFiles: string[] = [];
    const pass = await this.db.transaction((tx) => this.erase(tx, now, erasedFiles));
    // After the commit: from now on no row names these files (a crash before
    // this line leaves them to the sweep at the next start).
    await this.db.ciphertextFiles?.remove(erasedFiles);
    if (pass.queries > 0) this.log.info({ ...pass }, 'retention: erased data past its retention period');
    return pass;
  }

  private async erase(tx: SqlExecutor, now: Date, erasedFiles: string[]): Promise<RetentionPass> {
    erasedFiles.length = 0; // PostgreSQL may run the transaction again
    // retentionDays of the purpose as registered now, else as it was when the query was created.
    const expired = await tx.query<{ query_id: string; retention_days: number }>(
      `SELECT q.query_id, r.days AS retention_days
         FROM queries q
         LEFT JOIN purposes p ON p.name = q.purpose
         CROSS JOIN LATERAL (SELECT COALESCE(
                  (p.definition_json::jsonb ->> 'retentionDays')::int,
                  (q.purpose_json::jsonb ->> 'retentionDays')::int) AS days) r
        WHERE q.status IN ('released', 'failed') AND q.purged_at IS NULL AND r.days IS NOT NULL
          AND q.created_at + r.days * interval '1 day' <= $1
        ORDER BY q.query_id
        FOR UPDATE OF q SKIP LOCKED`,
      [now],
    );
    if (expired.length === 0) return { queries: 0, ciphertexts: 0, releases: 0, auditEntries: 0 };
    const byDays = new Map<number, string[]>();
    for (const e of expired) byDays.set(e.retention_days, [...(byDays.get(e.retention_days) ?? []), e.query_id]);
    let ciphertexts = 0;
    let releases = 0;
    let auditEntries = 0;
    for (const [days, ids] of [...byDays].sort((a, b) => a[0] - b[0])) {
      const cutoff = new Date(now.getTime() - days * DAY_MS).toISOString();
      const idList = textArray(ids);
      // The queries' rows are locked (FOR UPDATE above) and finished: their contributions no longer change.
      const files = await tx.query<{ f: string }>(
        'SELECT ciphertexts_file AS f FROM contributions WHERE query_id = ANY($1::text[]) AND ciphertexts_file IS NOT NULL',
        [idList],
      );
      const erased = await tx.query<{ n: number }>(
        `WITH e AS (UPDATE contributions SET ciphertexts = NULL, ciphertexts_file = NULL
                     WHERE query_id = ANY($1::text[]) AND (ciphertexts IS NOT NULL OR ciphertexts_file IS NOT NULL) RETURNING 1)
         SELECT count(*)::int AS n FROM e`,
        [idList],
      );
      erasedFiles.push(...files.map((r) => r.f));
      const dropped = await tx.query<{ n: number }>(
        `WITH d AS (DELETE FROM releases WHERE query_id = ANY($1::text[]) RETURNING 1) SELECT count(*)::int AS n FROM d`,
        [idList],
      );
      await tx.query('DELETE FROM partial_aggregates WHERE query_id = ANY($1::text[])', [idList]);
      await tx.query('UPDATE queries SET purged_at = $2 WHERE query_id = ANY($1::text[])', [idList, now]);
      const counts: [string, number][] = [
        [RETENTION_CATEGORIES.ciphertexts, erased[0]?.n ?? 0],
        [RETENTION_CATEGORIES.releases, dropped[0]?.n ?? 0],
      ];
      for (const [category, records] of counts) {
        if (records === 0) continue;
        await this.audit.record({ type: 'retention.deleted', actor: 'coordinator', details: { category, records, cutoff } }, tx);
        auditEntries++;
      }
      ciphertexts += erased[0]?.n ?? 0;
      releases += dropped[0]?.n ?? 0;
    }
    return { queries: expired.length, ciphertexts, releases, auditEntries };
  }
}
