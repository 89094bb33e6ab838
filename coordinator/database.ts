/**
 * The coordinator's SQL storage: one interface, one set of migrations, two
 * backends. Embedded PGlite (PostgreSQL compiled to WebAssembly, data folder
 * on disk) is the default so a deployment or `npm run demo` needs no server;
 * a `postgres://` URL selects a PostgreSQL server, which several coordinator
 * processes can share. Every write that acknowledges a merchant happens
 * inside a committed transaction, and every rule that must hold across
 * processes (one contribution per merchant and query, one closer per query,
 * gap-free audit sequence numbers) is enforced by the database, not by
 * process memory.
 */
import { assertSchemaCurrent, migrate } from './migrate.js';

export { SchemaTooNewError, SchemaNotMigratedError, DatabaseTargetError, isUniqueViolation, sqlStateOf } from './database-errors.js';
import { DatabaseTargetError } from './database-errors.js';
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

/** True for `postgres://` and `postgresql://` URLs. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

export interface OpenDatabaseOptions {
  /** Most pooled PostgreSQL connections of this process (default 10). */
  readonly poolSize?: number;
  /**
   * `true` (default): apply pending migrations. `'check'`: apply none and
   * refuse a schema that is not this code's (SchemaNotMigratedError or
   * SchemaTooNewError), for services whose migrations an operator runs
   * with `fedmart db migrate`. `false`: open as it is.
   */
  readonly migrate?: boolean | 'check';
  /**
   * PGlite: how long to wait for a folder another process holds (default 0:
   * refuse at once; Infinity: a standby that takes over when it is free).
   */
  readonly waitForLockMs?: number;
}

/** `{"a","b"}`: distinct `values` as one PostgreSQL `text[]` parameter (`= ANY($1::text[])`). */
export function textArray(values: readonly string[]): string {
  return `{${[...new Set(values)].map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

/**
 * Opens the database at `target` and brings its schema up to date:
 * a PostgreSQL server for a `postgres://`/`postgresql://` URL, otherwise
 * PGlite in the folder `target` (created if needed), or in memory for
 * `memory://`. Throws {@link SchemaTooNewError} if a newer fedmart wrote the
 * schema, {@link SchemaNotMigratedError} if `migrate: 'check'` finds it
 * older, {@link DatabaseTargetError} for an unusable target.
 */
export async function openDatabase(target: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  if (typeof target !== 'string' || target.trim().length === 0) throw new DatabaseTargetError('the database target must be a folder, memory:// or a postgres:// URL');
  let db: Database;
  if (isPostgresUrl(target)) {
    const { openPostgres } = await import('./postgres-database.js');
    db = await openPostgres(target, options.poolSize ?? 10);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && !target.startsWith('memory://')) {
    throw new DatabaseTargetError(`unsupported database URL scheme in ${target.split('://')[0]}://; use postgres://, postgresql://, memory:// or a folder`);
  } else {
    const { openPglite } = await import('./pglite-database.js');
    db = await openPglite(target, options.waitForLockMs ?? 0);
  }
  if (options.migrate === false) return db;
  try {
    if (options.migrate === 'check') await assertSchemaCurrent(db);
    else await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

export { migrate };
