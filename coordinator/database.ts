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
import type { Database } from './database-types.js';

export type { Database, DatabaseBackend, PoolStats, SqlExecutor, SqlValue, TransactionOptions } from './database-types.js';
export { SchemaTooNewError, SchemaNotMigratedError, DatabaseTargetError, isUniqueViolation, sqlStateOf } from './database-errors.js';
import { DatabaseTargetError } from './database-errors.js';

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
