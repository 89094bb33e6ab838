/**
 * The storage backends a test runs against: PGlite always, PostgreSQL when
 * FEDMART_TEST_DATABASE_URL names a server database (CI: the `test`
 * database on 127.0.0.1:5432). Every PostgreSQL test file gets a database
 * of its own, created through that URL and dropped afterwards, so test
 * files running in parallel never see each other's rows. Declaring a suite
 * per backend (vitest) is test/helpers/backends.ts's.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type BackendName = 'pglite' | 'postgres';

/** The server URL for PostgreSQL tests, if configured. */
export const TEST_DATABASE_URL = process.env.FEDMART_TEST_DATABASE_URL;

/** A database made for one test file (or one test). */
export interface TestDatabase {
  readonly backend: BackendName;
  /** What `openDatabase` and `fedmart coordinator --db` take. */
  readonly target: string;
  drop(): Promise<void>;
}

/** The URL of database `name` on the configured server. */
export function databaseUrl(name: string): string {
  if (!TEST_DATABASE_URL) throw new Error('FEDMART_TEST_DATABASE_URL is not set');
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh empty database: a new PostgreSQL database named after `label`,
 * or for PGlite a new folder on disk (`onDisk`) or `memory://`.
 */
export async function freshDatabase(backend: BackendName, label: string, options: { onDisk?: boolean } = {}): Promise<TestDatabase> {
  if (backend === 'pglite') {
    if (!options.onDisk) return { backend, target: 'memory://', drop: async () => undefined };
    const dir = mkdtempSync(join(tmpdir(), `fedmart-db-${label}-`));
    return { backend, target: join(dir, 'db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `fedmart_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    backend,
    target: databaseUrl(name),
    drop: () => admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }),
  };
}
