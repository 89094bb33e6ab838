/**
 * Applies the versioned migrations of migrations.ts. Runs under the
 * database's cluster-wide lock, so several coordinator processes starting
 * at once against one PostgreSQL apply each version exactly once; the
 * others wait, then find nothing left to do.
 */
import type { Database } from './database-types.js';
import { SchemaNotMigratedError, SchemaTooNewError } from './database-errors.js';
import { MIGRATIONS } from './migrations.js';

/** Name of the lock held while migrating. */
export const MIGRATION_LOCK = 'fedmart.schema-migration';

/** The schema version stored in `db` (0 for an empty database). */
export async function schemaVersion(db: Database): Promise<number> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_version')::text AS t`);
  if (!exists[0]?.t) return 0;
  const rows = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
  return rows[0]?.v ?? 0;
}

/**
 * Checks, without changing anything, that `db` is at the schema version
 * of this code: throws {@link SchemaNotMigratedError} if it is older,
 * {@link SchemaTooNewError} if it is newer. For services told not to
 * migrate on start.
 */
export async function assertSchemaCurrent(db: Database): Promise<number> {
  const latest = MIGRATIONS.length;
  const seen = await schemaVersion(db);
  if (seen > latest) throw new SchemaTooNewError(seen, latest);
  if (seen < latest) throw new SchemaNotMigratedError(seen, latest);
  return latest;
}

export interface MigrateOptions {
  /** Called after each migration commits, with its version and the latest one (for progress output). */
  readonly onApplied?: (version: number, latest: number) => void;
}

/**
 * Applies pending migrations in order, each in its own transaction, and
 * returns the version now in force. Throws {@link SchemaTooNewError} (and
 * changes nothing) if the database is newer than this code.
 */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<number> {
  const latest = MIGRATIONS.length;
  // Refuse before taking the lock: a newer schema is never touched.
  const seen = await schemaVersion(db);
  if (seen > latest) throw new SchemaTooNewError(seen, latest);
  if (seen === latest) return latest;
  return db.withLock(MIGRATION_LOCK, async () => {
    await db.query(
      'CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const current = await schemaVersion(db);
    if (current > latest) throw new SchemaTooNewError(current, latest);
    for (let version = current + 1; version <= latest; version++) {
      const statements = MIGRATIONS[version - 1] ?? [];
      await db.transaction(async (tx) => {
        for (const sql of statements) await tx.query(sql);
        await tx.query('INSERT INTO schema_version (version) VALUES ($1)', [version]);
      });
      options.onApplied?.(version, latest);
    }
    return latest;
  });
}
