/**
 * A throw-away PostgreSQL database for one benchmark run on a server the
 * caller names, and how to drop it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

async function adminSql(serverUrl: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Creates `<prefix>_<random>` on the server at `serverUrl`; resolves with its URL and a drop function. */
export async function createScratchDatabase(serverUrl: string, prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(prefix)) throw new RangeError('prefix: expected a lower-case SQL identifier');
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await adminSql(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminSql(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
