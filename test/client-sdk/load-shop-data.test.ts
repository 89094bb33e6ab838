import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShopDataError } from '../../client-sdk/csv.js';
import { loadPooledData, loadShopData } from '../../client-sdk/load-shop-data.js';
import { standardShopSchema } from '../../client-sdk/schema.js';

const CUSTOMERS_HEADER = 'customer_id,name,phone,city,age,signup_at,lifecycle_stage,consent_analytics,consent_marketing';
const ORDERS_HEADER = 'order_id,customer_id,ordered_at,amount,returned';

function shopDir(files: { customers?: string; orders?: string; schema?: unknown }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-shop-'));
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(files.schema ?? standardShopSchema()));
  writeFileSync(
    join(dir, 'customers.csv'),
    files.customers ??
      `${CUSTOMERS_HEADER}\r\nC-1,张伟,13800000000,上海,31,2025-01-02T03:04:05Z,loyal,true,false\r\nC-2,"李, 娜",13900000000,北京,70,2025-02-03T00:00:00Z,new,false,true\r\n`,
  );
  writeFileSync(
    join(dir, 'orders.csv'),
    files.orders ?? `${ORDERS_HEADER}\nO-1,C-1,2025-03-01T00:00:00Z,123.40,false\nO-2,C-1,2025-03-11T00:00:00Z,0.05,true\n`,
  );
  return dir;
}

async function loadError(dir: string): Promise<ShopDataError> {
  try {
    await loadShopData(dir, 'shop-x');
  } catch (err) {
    if (err instanceof ShopDataError) return err;
    throw err;
  }
  throw new Error('expected a ShopDataError');
}

function ordersWithBadRow(badAmount: string, badRow: number): string {
  const rows = Array.from({ length: 20 }, (_, i) => `O-${i + 1},C-1,2025-03-01T00:00:00Z,${i + 1 === badRow ? badAmount : '1.00'},false`);
  return `${ORDERS_HEADER}\n${rows.join('\n')}\n`;
}

describe('loadShopData', () => {
  it('loads typed rows and drops direct identifiers', async () => {
    const data = await loadShopData(shopDir({}), 'shop-x');
    expect(data.shopId).toBe('shop-x');
    expect(data.customers).toEqual([
      { customerId: 'C-1', lifecycleStage: 'loyal', consentAnalytics: true, consentMarketing: false, city: '上海', ageBand: '25-34', signupUnixS: Date.UTC(2025, 0, 2, 3, 4, 5) / 1000 },
      { customerId: 'C-2', lifecycleStage: 'new', consentAnalytics: false, consentMarketing: true, city: '北京', ageBand: '65+', signupUnixS: Date.UTC(2025, 1, 3) / 1000 },
    ]);
    expect(data.orders).toEqual([
      { orderId: 'O-1', customerId: 'C-1', orderedUnixS: Date.UTC(2025, 2, 1) / 1000, amountCents: 12340n, returned: false },
      { orderId: 'O-2', customerId: 'C-1', orderedUnixS: Date.UTC(2025, 2, 11) / 1000, amountCents: 5n, returned: true },
    ]);
    expect(JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toMatch(/张伟|李|1380|1390/);
  });

  it('defaults the shop id to the folder name', async () => {
    const dir = shopDir({});
    expect((await loadShopData(dir)).shopId).toBe(dir.split('/').pop());
  });

  it('names file, row and column of a bad value', async () => {
    const err = await loadError(shopDir({ orders: ordersWithBadRow('12.3.4', 17) }));
    expect(err.code).toBe('BAD_VALUE');
    expect(err.table).toBe('orders');
    expect(err.row).toBe(17);
    expect(err.column).toBe('amount');
    expect(err.message).toBe("orders.csv row 17, column amount: '12.3.4' is not a decimal with 2 places");
  });

  it('refuses undeclared and missing columns in the header', async () => {
    const unknown = await loadError(shopDir({ customers: `${CUSTOMERS_HEADER},email\n` }));
    expect([unknown.code, unknown.row, unknown.column]).toEqual(['UNKNOWN_COLUMN', 0, 'email']);
    expect(unknown.message).toMatch(/^customers\.csv header, column email: /);

    const missing = await loadError(shopDir({ orders: 'order_id,customer_id,ordered_at,returned\n' }));
    expect([missing.code, missing.table, missing.row, missing.column]).toEqual(['MISSING_COLUMN', 'orders', 0, 'amount']);

    const twice = await loadError(shopDir({ orders: `${ORDERS_HEADER},amount\n` }));
    expect([twice.code, twice.column]).toEqual(['DUPLICATE_COLUMN', 'amount']);
  });

  it('refuses duplicate ids, orders of unknown customers and bad CSV with row numbers', async () => {
    const dup = await loadError(shopDir({ orders: `${ORDERS_HEADER}\nO-1,C-1,2025-03-01T00:00:00Z,1.00,false\nO-1,C-1,2025-03-01T00:00:00Z,1.00,false\n` }));
    expect([dup.code, dup.row, dup.column]).toEqual(['DUPLICATE_ID', 2, 'order_id']);

    const orphan = await loadError(shopDir({ orders: `${ORDERS_HEADER}\nO-1,C-9,2025-03-01T00:00:00Z,1.00,false\n` }));
    expect([orphan.code, orphan.row, orphan.column]).toEqual(['UNKNOWN_CUSTOMER', 1, 'customer_id']);

    const syntax = await loadError(shopDir({ orders: `${ORDERS_HEADER}\nO-1,C-1,2025-03-01T00:00:00Z,1.00,false\nO-2,C-1,2025"\n` }));
    expect([syntax.code, syntax.row, syntax.table]).toEqual(['CSV_SYNTAX', 2, 'orders']);
  });

  it('reports missing files and invalid UTF-8 as ShopDataError', async () => {
    const dir = shopDir({});
    writeFileSync(join(dir, 'schema.json'), JSON.stringify({ ...standardShopSchema(), tables: { ...standardShopSchema().tables, orders: { ...standardShopSchema().tables.orders, file: 'nope.csv' } } }));
    const missing = await loadError(dir);
    expect([missing.code, missing.file]).toEqual(['FILE_MISSING', 'nope.csv']);

    const bad = shopDir({});
    writeFileSync(join(bad, 'orders.csv'), Buffer.concat([Buffer.from(`${ORDERS_HEADER}\nO-1,C-1,`), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
    expect((await loadError(bad)).code).toBe('ENCODING');

    const noSchema = shopDir({});
    writeFileSync(join(noSchema, 'schema.json'), '{not json');
    expect((await loadError(noSchema)).code).toBe('SCHEMA_INVALID');
  });

  it('checks its arguments', async () => {
    await expect(loadShopData('')).rejects.toThrow(TypeError);
    await expect(loadShopData(shopDir({}), '')).rejects.toThrow(/shopId/);
  });
});

describe('loadPooledData', () => {
  it('needs a shopId column and keys ids per shop', async () => {
    const dir = shopDir({
      schema: standardShopSchema({ pooled: true }),
      customers: `shop_id,${CUSTOMERS_HEADER}\ns1,C-1,a,1,上海,30,2025-01-01T00:00:00Z,active,true,true\ns2,C-1,b,2,上海,40,2025-01-01T00:00:00Z,loyal,true,true\n`,
      orders: `shop_id,${ORDERS_HEADER}\ns2,O-1,C-1,2025-03-01T00:00:00Z,9.99,false\n`,
    });
    const pooled = await loadPooledData(dir);
    expect(pooled.customers.map((c) => [c.shopId, c.customerId, c.lifecycleStage])).toEqual([
      ['s1', 'C-1', 'active'],
      ['s2', 'C-1', 'loyal'],
    ]);
    expect(pooled.orders[0]).toMatchObject({ shopId: 's2', amountCents: 999n });
    await expect(loadPooledData(shopDir({}))).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
  });
});
