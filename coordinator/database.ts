/**
 * The coordinator's SQL storage. Embedded PGlite (PostgreSQL compiled to
 * WebAssembly) is the default so a deployment or `npm run demo` needs no
 * server; the same SQL runs on PostgreSQL. Every write that acknowledges a
 * merchant happens inside a committed transaction.
 */
import { PGlite } from '@electric-sql/pglite';
import { MIGRATIONS } from './migrations.js';

/** A parameter value the storage layer accepts. */
export type SqlValue = string | number | bigint | boolean | Uint8Array | Date | null;

/** What the coordinator needs from a SQL connection. */
export interface SqlExecutor {
  query<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

export interface Database extends SqlExecutor {
  /** Runs `fn` in one transaction; commits if it resolves, rolls back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Raised when stored data was written by a newer fedmart than this one. */
export class SchemaTooNewError extends Error {
  readonly code = 'SCHEMA_TOO_NEW';
  constructor(found: number, supported: number) {
    super(`database schema version ${found} is newer than this fedmart supports (${supported}); upgrade fedmart`);
    this.name = 'SchemaTooNewError';
  }
}

/** True when a driver error is a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === '23505';
}

class PgliteDatabase implements Database {
  constructor(private readonly db: PGlite) {}

  async query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.db.query<T>(sql, params as unknown[]);
    return result.rows;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) =>
      fn({
        query: async <R extends object>(sql: string, params: readonly SqlValue[] = []) =>
          (await tx.query<R>(sql, params as unknown[])).rows,
      }),
    );
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Opens (creating if needed) the embedded database in `dataDir`, or an
 * in-memory one for `memory://`, and brings its schema up to date.
 */
export async function openDatabase(dataDir: string): Promise<Database> {
  if (typeof dataDir !== 'string' || dataDir.length === 0) throw new TypeError('dataDir must be a non-empty string');
  const db = new PgliteDatabase(await PGlite.create(dataDir));
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/** Applies pending migrations in order, each in its own transaction. */
export async function migrate(db: Database): Promise<number> {
  await db.query(
    'CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
  );
  const rows = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
  const current = rows[0]?.v ?? 0;
  const latest = MIGRATIONS.length;
  if (current > latest) throw new SchemaTooNewError(current, latest);
  for (let version = current + 1; version <= latest; version++) {
    const statements = MIGRATIONS[version - 1] ?? [];
    await db.transaction(async (tx) => {
      for (const sql of statements) await tx.query(sql);
      await tx.query('INSERT INTO schema_version (version) VALUES ($1)', [version]);
    });
  }
  return latest;
}
