/**
 * The embedded backend: PGlite in a data folder (or in memory). PGlite is
 * one PostgreSQL backend in this process with one connection, so
 * transactions run one after another, and only one process may open a
 * folder at a time — {@link DataDirLock} makes sure of that, which is also
 * what lets a restarted coordinator take over claims of its dead
 * predecessor at once.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CIPHERTEXT_FILES_FOLDER, CiphertextFiles } from './ciphertext-files.js';
import type { Database, SqlExecutor, SqlValue, TransactionOptions } from './database-types.js';
import { DataDirLock } from './data-dir-lock.js';

class PgliteDatabase implements Database {
  readonly backend = 'pglite' as const;
  private readonly locks = new Map<string, Promise<void>>();

  constructor(
    private readonly db: PGlite,
    readonly location: string,
    private readonly dirLock: DataDirLock | undefined,
    readonly ciphertextFiles?: CiphertextFiles,
  ) {}

  async query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.db.query<T>(sql, params as unknown[]);
    return result.rows;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.db.transaction(async (tx) => {
      if (options.isolation === 'repeatable read') await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      return fn({
        query: async <R extends object>(sql: string, params: readonly SqlValue[] = []) =>
          (await tx.query<R>(sql, params as unknown[])).rows,
      });
    });
  }

  /** One process owns the data, so an in-process queue per name is a cluster-wide lock. */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before.then(() => mine);
    this.locks.set(name, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      this.dirLock?.release();
    }
  }
}

/** PostgreSQL's type OID of `bytea`. */
const BYTEA_OID = 17;

/**
 * `bytea` through Buffer's hex codec: PGlite's own conversion builds a
 * string per byte, about 27 ms to write and 18 ms to read one 123 KB
 * ciphertext, which made it most of the coordinator's CPU per contribution.
 */
const PGLITE_OPTIONS = {
  parsers: { [BYTEA_OID]: (text: string) => new Uint8Array(Buffer.from(text.slice(2), 'hex')) },
  serializers: {
    [BYTEA_OID]: (value: unknown) =>
      value instanceof Uint8Array ? `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}` : String(value),
  },
};

/**
 * Opens PGlite in `dir` (created if needed) or in memory for `memory://`.
 * If another process holds `dir`, waits up to `waitForLockMs` for it to go.
 */
export async function openPglite(dir: string, waitForLockMs = 0): Promise<Database> {
  if (dir.startsWith('memory://')) return new PgliteDatabase(await PGlite.create(dir, PGLITE_OPTIONS), dir, undefined);
  const lock = waitForLockMs > 0 ? await DataDirLock.acquireWaiting(dir, waitForLockMs) : DataDirLock.acquire(dir);
  try {
    // Token hashes, the audit log and contributions: readable by this user only.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const pglite = await PGlite.create(dir, PGLITE_OPTIONS);
    // Made after PGlite, whose first start wants an empty folder.
    return new PgliteDatabase(pglite, dir, lock, new CiphertextFiles(join(dir, CIPHERTEXT_FILES_FOLDER)));
  } catch (err) {
    lock.release();
    throw err;
  }
}
