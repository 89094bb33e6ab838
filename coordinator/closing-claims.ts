/**
 * Who closes which query. Any coordinator may move a due query from open
 * to closing (a conditional UPDATE: one of them wins). Finishing it —
 * adding the partial sums, asking the key holder, storing the release —
 * is claimed by exactly one coordinator at a time with
 * `SELECT ... FOR UPDATE SKIP LOCKED`, and the claim is a lease kept alive
 * while the work runs: if its holder dies, the lease runs out and another
 * coordinator (or the restarted one) takes the query over. A holder that
 * was merely slow finds on storing that the query is no longer closing
 * and discards its copy (CoordinatorStore.saveRelease is fenced), and
 * the key holder answers a repeated release with the release it already
 * signed, so a query is released once, with one answer.
 */
import type { Database } from './database.js';
import { toQuery, type QueryRecord, type QueryRow } from './store.js';

/** A query moved from open to closing, with the contributions it closed with. */
export interface ClosedQuery {
  readonly queryId: string;
  readonly contributions: number;
  readonly reason: 'target-reached' | 'deadline';
}

export class ClosingClaims {
  /**
   * @param coordinatorId the claimant's id, stored on the rows it claims
   * @param leaseMs how long a claim lasts unless renewed
   */
  constructor(
    private readonly db: Database,
    readonly coordinatorId: string,
    readonly leaseMs: number,
  ) {
    if (!Number.isSafeInteger(leaseMs) || leaseMs < 100) throw new RangeError('leaseMs must be an integer >= 100');
  }

  /** Moves every open query whose target was reached or whose deadline passed (database clock) to closing. */
  async closeDue(): Promise<ClosedQuery[]> {
    return this.db.query<ClosedQuery>(
      `WITH counts AS (
         SELECT q.query_id, q.deadline <= clock_timestamp() AS expired,
                (SELECT count(*)::int FROM contributions c WHERE c.query_id = q.query_id) AS n, q.target_merchants
           FROM queries q WHERE q.status = 'open'
       )
       UPDATE queries q SET status = 'closing', closed_at = now(), claimed_by = NULL, claimed_until = NULL
         FROM counts
        WHERE q.query_id = counts.query_id AND q.status = 'open' AND (counts.expired OR counts.n >= counts.target_merchants)
       RETURNING q.query_id AS "queryId", counts.n AS contributions,
                 CASE WHEN counts.n >= counts.target_merchants THEN 'target-reached' ELSE 'deadline' END AS reason`,
    );
  }

  /** Claims the longest-waiting closing query nobody holds (or whose holder's lease ran out), if any. */
  async claimNext(): Promise<QueryRecord | undefined> {
    const rows = await this.db.query<QueryRow>(
      `UPDATE queries SET claimed_by = $1, claimed_until = clock_timestamp() + $2::int * interval '1 millisecond'
        WHERE query_id = (
          SELECT query_id FROM queries
           WHERE status = 'closing' AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())
           ORDER BY closed_at NULLS FIRST, query_id
           LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [this.coordinatorId, this.leaseMs],
    );
    return rows[0] ? toQuery(rows[0]) : undefined;
  }

  /** Extends our claim on `queryId`; false if it is no longer ours (lease lost, or the query finished). */
  async renew(queryId: string): Promise<boolean> {
    const rows = await this.db.query<{ query_id: string }>(
      `UPDATE queries SET claimed_until = clock_timestamp() + $3::int * interval '1 millisecond'
        WHERE query_id = $1 AND claimed_by = $2 AND status = 'closing' RETURNING query_id`,
      [queryId, this.coordinatorId, this.leaseMs],
    );
    return rows.length === 1;
  }

  /** Gives up our claim; nobody (us included) takes the query again for `retryAfterMs`. */
  async release(queryId: string, retryAfterMs: number): Promise<void> {
    await this.db.query(
      `UPDATE queries SET claimed_by = NULL, claimed_until = clock_timestamp() + $3::int * interval '1 millisecond'
        WHERE query_id = $1 AND claimed_by = $2 AND status = 'closing'`,
      [queryId, this.coordinatorId, Math.max(0, Math.round(retryAfterMs))],
    );
  }

  /**
   * Drops every claim. Only for a database this process owns alone
   * (PGlite): whoever held those claims is known to be gone.
   */
  async releaseAllOnOwnedDatabase(): Promise<number> {
    if (this.db.backend !== 'pglite') throw new Error('claims of other coordinators may only be dropped on a database one process owns');
    const rows = await this.db.query<{ query_id: string }>(
      `UPDATE queries SET claimed_by = NULL, claimed_until = NULL WHERE status = 'closing' AND claimed_until IS NOT NULL RETURNING query_id`,
    );
    return rows.length;
  }
}
