/**
 * The storage interface the coordinator's code is written against, apart
 * from `database.ts` so that the backends (`pglite-database.ts`,
 * `postgres-database.ts`) and `migrate.ts`, which `openDatabase` loads, can
 * implement and use it without importing `database.ts` back.
 */
import type { CiphertextFiles } from './ciphertext-files.js';

/** A parameter value the storage layer accepts. */
export type SqlValue = string | number | bigint | boolean | Uint8Array | Date | null;

/** What the coordinator needs from a SQL connection. */
export interface SqlExecutor {
  query<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

/** Which engine a {@link Database} runs on. */
export type DatabaseBackend = 'pglite' | 'postgres';

export interface TransactionOptions {
  /** Default `read committed`; `repeatable read` gives every statement one snapshot. */
  readonly isolation?: 'read committed' | 'repeatable read';
}

export interface Database extends SqlExecutor {
  readonly backend: DatabaseBackend;
  /** Where the data lives, safe to log: a folder, `memory://`, or a URL without its password. */
  readonly location: string;
  /**
   * Runs `fn` in one transaction; commits if it resolves, rolls back if it
   * throws. On PostgreSQL a serialization failure or deadlock re-runs `fn`
   * (a few times), so `fn` must do nothing but SQL through `tx`. On PGlite
   * `fn` must not use the Database itself while the transaction is open:
   * PGlite has one connection, and that call would wait for `fn` forever.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` while holding the cluster-wide lock `name`: a PostgreSQL
   * session advisory lock on a connection of its own (released by the
   * server if this process dies), or an in-process lock on PGlite, whose
   * data only one process may open.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * Where contribution ciphertexts are kept outside the rows: set for PGlite
   * in a folder (a sub-folder of it), unset for PostgreSQL and `memory://`,
   * which keep them in the `contributions` row.
   */
  readonly ciphertextFiles?: CiphertextFiles;
  /** This process's connection pool now (PostgreSQL only; PGlite has one in-process connection). */
  poolStats?(): PoolStats;
}

/** Connections of this process's pool, for metrics. */
export interface PoolStats {
  /** Most connections the pool opens. */
  readonly max: number;
  /** Connections open now, idle or lent out. */
  readonly open: number;
  readonly idle: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
}
