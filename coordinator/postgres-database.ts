/**
 * The server backend: PostgreSQL through node-postgres with a connection
 * pool, so one coordinator runs transactions concurrently and several
 * coordinators share one database. Result types are made to match PGlite's
 * (int8 as number, bytea as Uint8Array), so the stores above run unchanged
 * on either backend.
 */
import pg from 'pg';
import type { Database, PoolStats, SqlExecutor, SqlValue, TransactionOptions } from './database-types.js';
import { sqlStateOf, unavailableOr } from './database-errors.js';

const INT8_OID = 20;
const BYTEA_OID = 17;

/** Retries of a transaction that lost a serialization conflict or a deadlock. */
const MAX_TRANSACTION_ATTEMPTS = 4;
const RETRYABLE = new Set(['40001', '40P01']);

function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} is beyond the safe integer range`);
  return n;
}

function parseBytea(text: string): Uint8Array {
  const buf = Buffer.from(text.slice(2), 'hex'); // '\x…' hex output, PostgreSQL's default bytea_output
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const TYPES = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format !== 'binary' && oid === INT8_OID) return parseInt8;
    if (format !== 'binary' && oid === BYTEA_OID) return parseBytea;
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

/** The URL with its password masked, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

function executor(client: pg.ClientBase): SqlExecutor {
  return {
    query: async <T extends object>(sql: string, params: readonly SqlValue[] = []) =>
      (await client.query<T>(sql, params as unknown[])).rows,
  };
}

class PostgresDatabase implements Database {
  readonly backend = 'postgres' as const;

  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}

  async query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    try {
      return (await this.pool.query<T>(sql, params as unknown[])).rows;
    } catch (err) {
      throw unavailableOr(err);
    }
  }

  /** A pooled connection; an exhausted pool or an unreachable server is DatabaseUnavailableError. */
  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw unavailableOr(err);
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.connect();
      let broken: Error | undefined;
      try {
        await client.query(options.isolation === 'repeatable read' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ' : 'BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error; // the connection is unusable: drop it from the pool
        }
        if (attempt < MAX_TRANSACTION_ATTEMPTS && RETRYABLE.has(sqlStateOf(err) ?? '')) continue;
        throw unavailableOr(err);
      } finally {
        client.release(broken);
      }
    }
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [name]);
      try {
        return await fn();
      } finally {
        try {
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]);
        } catch (err) {
          broken = err as Error; // closing the session releases the lock
        }
      }
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  poolStats(): PoolStats {
    return { max: this.pool.options.max ?? 10, open: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }
}

/** Connects a pool of at most `poolSize` connections to the server at `url` and checks that it answers. */
export async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: TYPES,
    application_name: 'fedmart-coordinator',
    connectionTimeoutMillis: 10_000,
  });
  // An idle connection that the server drops must not take the process down;
  // the pool replaces it, and the next query reports any lasting outage.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end();
    throw new Error(`cannot reach PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  return new PostgresDatabase(pool, redactUrl(url));
}
