/**
 * A shop table read from the shop's PostgreSQL database loads exactly like
 * the same rows from CSV, and mapping problems name the column.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShopData, ShopDataError } from '../../client-sdk/index.js';
import { writeSynth } from '../../synth/index.js';

const URL = process.env.FEDMART_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

const available = await reachable();
if (!available) console.warn(`PostgreSQL shop-source tests skipped: no server at ${URL}`);

describe.skipIf(!available)('shop tables from PostgreSQL (server at FEDMART_TEST_DATABASE_URL or 127.0.0.1:5432/test)', () => {
  const table = `fm_orders_${process.pid}_${Date.now()}`;
  let shopDir: string;
  let pgDir: string;
  let client: pg.Client;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'fedmart-pgsrc-'));
    const manifest = await writeSynth(root, { shops: 1, seed: 'pg-source', customersPerShop: { min: 300, max: 400 } });
    shopDir = join(root, manifest.shops[0]!.dir);
    client = new pg.Client({ connectionString: URL });
    await client.connect();
    await client.query(`CREATE TABLE ${table} (order_id text, customer_id text, ordered_at timestamptz, amount numeric(12,2), returned boolean)`);
    const [, ...lines] = readFileSync(join(shopDir, 'orders.csv'), 'utf8').trim().split('\n');
    for (let i = 0; i < lines.length; i += 500) {
      const chunk = lines.slice(i, i + 500).map((l) => l.split(','));
      const params = chunk.flat();
      const values = chunk.map((_, r) => `($${r * 5 + 1}, $${r * 5 + 2}, $${r * 5 + 3}, $${r * 5 + 4}, $${r * 5 + 5})`).join(', ');
      await client.query(`INSERT INTO ${table} VALUES ${values}`, params);
    }
    // The same shop, with the orders table declared as a PostgreSQL table.
    pgDir = mkdtempSync(join(tmpdir(), 'fedmart-pgshop-'));
    const schema = JSON.parse(readFileSync(join(shopDir, 'schema.json'), 'utf8')) as { tables: Record<string, { file: string; format?: string }> };
    for (const [name, decl] of Object.entries(schema.tables)) if (name !== 'orders') copyFileSync(join(shopDir, decl.file), join(pgDir, decl.file));
    schema.tables.orders = { ...schema.tables.orders!, file: table, format: 'postgres' };
    writeFileSync(join(pgDir, 'schema.json'), JSON.stringify(schema));
  });

  afterAll(async () => {
    await client?.query(`DROP TABLE IF EXISTS ${table}`);
    await client?.end();
  });

  it('loads the same shop data as the CSV export', async () => {
    process.env.FEDMART_SHOP_DATABASE_URL = URL;
    const fromCsv = await loadShopData(shopDir, 'shop-01');
    const fromPg = await loadShopData(pgDir, 'shop-01');
    expect(fromPg.orders.length).toBe(fromCsv.orders.length);
    const key = (o: { orderId: string }) => o.orderId;
    expect([...fromPg.orders].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...fromCsv.orders].sort((a, b) => key(a).localeCompare(key(b))));
    expect(fromPg.customers).toEqual(fromCsv.customers);
  });

  it('names a column the table lacks, and refuses without a connection URL', async () => {
    process.env.FEDMART_SHOP_DATABASE_URL = URL;
    const schema = JSON.parse(readFileSync(join(pgDir, 'schema.json'), 'utf8')) as { tables: { orders: { fields: { amount: { column: string } } } } };
    schema.tables.orders.fields.amount.column = 'total_amount';
    const bad = mkdtempSync(join(tmpdir(), 'fedmart-pgbad-'));
    for (const f of ['customers.csv', 'campaigns.csv', 'sessions.csv', 'shop-metrics.csv']) {
      try {
        copyFileSync(join(pgDir, f), join(bad, f));
      } catch {
        /* optional tables */
      }
    }
    writeFileSync(join(bad, 'schema.json'), JSON.stringify(schema));
    const err = await loadShopData(bad, 'shop-01').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShopDataError);
    expect((err as ShopDataError).message).toContain('total_amount');
    delete process.env.FEDMART_SHOP_DATABASE_URL;
    const noUrl = await loadShopData(pgDir, 'shop-01').catch((e: unknown) => e);
    expect((noUrl as ShopDataError).message).toContain('FEDMART_SHOP_DATABASE_URL');
  });
});
