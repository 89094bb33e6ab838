/**
 * A shop table read from the shop's own PostgreSQL database instead of a
 * file: `schema.json` declares `"format": "postgres"` and names the table in
 * `file` (`orders` or `sales.orders`); the connection comes from the
 * environment (`FEDMART_SHOP_DATABASE_URL`), never from `schema.json`, so no
 * credential is written next to the data. Rows are fetched through a cursor
 * in batches and handed to the same column readers as JSON lines, so mapping
 * errors name the column and the row exactly as for files.
 */
import pg from 'pg';
import { ShopDataError } from './csv.js';
import type { JsonlRecord } from './jsonl.js';

/** Environment variable holding the shop database's connection URL. */
export const SHOP_DATABASE_URL_ENV = 'FEDMART_SHOP_DATABASE_URL';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const BATCH = 1000;

function quotedTable(name: string, ctx: { table: string; file: string }): string {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((p) => !IDENTIFIER.test(p))) {
    throw new ShopDataError({ code: 'SCHEMA_INVALID', table: ctx.table, file: ctx.file, detail: `'${name}' is not a table name like orders or sales.orders` });
  }
  return parts.map((p) => `"${p}"`).join('.');
}

/** A database value as the JSON-lines readers take it (timestamps as ISO-8601 text). */
function jsonValue(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString().replace(/\.000Z$/, 'Z');
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/**
 * Streams the rows of `tableName` with only `columns` selected (a column the
 * table lacks is reported as a missing column).
 */
export async function* readPostgresRecords(
  tableName: string,
  columns: readonly string[],
  ctx: { readonly table: string; readonly file: string },
  url = process.env[SHOP_DATABASE_URL_ENV],
): AsyncGenerator<JsonlRecord, void, undefined> {
  if (!url) {
    throw new ShopDataError({ code: 'FILE_MISSING', table: ctx.table, file: ctx.file, detail: `set ${SHOP_DATABASE_URL_ENV} to read this table from PostgreSQL` });
  }
  const table = quotedTable(tableName, ctx);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const present = await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND ($2::text IS NULL OR table_schema = $2)`,
      [tableName.split('.').pop(), tableName.includes('.') ? tableName.split('.')[0] : null],
    );
    if (present.rows.length === 0) {
      throw new ShopDataError({ code: 'FILE_MISSING', table: ctx.table, file: ctx.file, detail: `table ${tableName} does not exist` });
    }
    const have = new Set(present.rows.map((r) => r.column_name));
    for (const c of columns) {
      if (!have.has(c)) throw new ShopDataError({ code: 'MISSING_COLUMN', table: ctx.table, file: ctx.file, row: 0, column: c, detail: 'the column is not in the table' });
    }
    await client.query('BEGIN READ ONLY');
    await client.query(`DECLARE fedmart_rows NO SCROLL CURSOR FOR SELECT ${columns.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ')} FROM ${table}`);
    let row = 0;
    for (;;) {
      const batch = await client.query<Record<string, unknown>>(`FETCH ${BATCH} FROM fedmart_rows`);
      for (const r of batch.rows) {
        row++;
        yield { row, line: row, object: Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonValue(v)])) };
      }
      if (batch.rows.length < BATCH) break;
    }
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}
