/**
 * Partial aggregates: each coordinator process adds the ciphertexts it
 * accepts into its own running sum per query, stored in the database and
 * updated in the same transaction that stores the contribution — so a sum
 * can never hold a contribution that was not committed, nor miss one that
 * was, whatever process dies when. At close the few partial sums are added
 * instead of every contribution. BFV addition is coefficient-wise modulo
 * q_j, so any grouping gives a sum byte-identical to adding the
 * contributions one by one, which is what the key holder does to check it.
 */
import { sumPackedContributions, type HeContext } from '../crypto/index.js';
import type { Database, SqlExecutor } from './database.js';

export class PartialAggregates {
  /**
   * @param ctx the round parameters (only its pure-TypeScript layout is used)
   * @param coordinatorId this process's id; its partial rows are its own
   */
  constructor(
    private readonly ctx: HeContext,
    readonly coordinatorId: string,
  ) {}

  /**
   * Adds one contribution's `ciphertexts` (`ciphertextCount` packed
   * ciphertexts back to back, already validated) into this coordinator's
   * partial sum for `queryId`, inside `tx`, the transaction that inserts the
   * contribution. Concurrent streams of this process queue on the partial's
   * row; other coordinators have rows of their own.
   */
  async fold(tx: SqlExecutor, queryId: string, ciphertexts: Uint8Array, ciphertextCount: number): Promise<void> {
    await tx.query(
      'INSERT INTO partial_aggregates (query_id, coordinator_id) VALUES ($1, $2) ON CONFLICT (query_id, coordinator_id) DO NOTHING',
      [queryId, this.coordinatorId],
    );
    const rows = await tx.query<{ contributions: number; sums: Uint8Array | null }>(
      'SELECT contributions, sums FROM partial_aggregates WHERE query_id = $1 AND coordinator_id = $2 FOR UPDATE',
      [queryId, this.coordinatorId],
    );
    const row = rows[0];
    if (!row) throw new Error(`partial aggregate of ${queryId} vanished inside its transaction`);
    const sums = row.sums === null ? ciphertexts : Buffer.concat(sumPackedContributions(this.ctx, [row.sums, ciphertexts], ciphertextCount));
    await tx.query(
      'UPDATE partial_aggregates SET contributions = contributions + 1, sums = $3, updated_at = now() WHERE query_id = $1 AND coordinator_id = $2',
      [queryId, this.coordinatorId, sums],
    );
  }

  /**
   * The aggregate of a closed query (one packed sum per ciphertext
   * position) from its partial sums, if they account for exactly
   * `contributions` contributions; undefined otherwise (contributions stored
   * before partial aggregates existed), and the caller adds the
   * contributions themselves.
   */
  async total(db: Database, queryId: string, ciphertextCount: number, contributions: number): Promise<Uint8Array[] | undefined> {
    const rows = await db.query<{ contributions: number; sums: Uint8Array | null }>(
      'SELECT contributions, sums FROM partial_aggregates WHERE query_id = $1 AND contributions > 0 ORDER BY coordinator_id',
      [queryId],
    );
    const counted = rows.reduce((n, r) => n + r.contributions, 0);
    if (counted !== contributions || rows.length === 0) return undefined;
    return sumPackedContributions(this.ctx, rows.map((r) => r.sums ?? new Uint8Array()), ciphertextCount);
  }
}
