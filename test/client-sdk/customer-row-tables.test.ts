/**
 * Further tables of customers' rows (order lines): declared with a
 * `customerId` column, they load with the customer of every row, a row of an
 * unknown customer is reported (never read), the round view keeps only the
 * included customers' rows under their pseudonyms, their columns are
 * personal information by default, and differencing sees a changed line as a
 * change of that one customer.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rowContents, readsNoCustomers, type ShopData } from '../../analytics/index.js';
import { modelRowScope } from '../../analytics/model-data.js';
import { parseLinearModelSpec } from '../../analytics/linear-model.js';
import { DEFAULT_PURPOSES, pseudonymise } from '../../compliance/index.js';
import { roundView } from '../../client-sdk/index.js';
import { ShopDataError } from '../../client-sdk/csv.js';
import { loadShopData } from '../../client-sdk/load-shop-data.js';
import { declaredFieldClasses, parseShopSchema, standardShopSchema } from '../../client-sdk/schema.js';

const LINES = {
  file: 'order_lines.csv',
  customerId: { column: 'customer_id', type: 'string' },
  columns: {
    category: { column: 'category', type: 'categorical', levels: ['food', 'toys'] },
    quantity: { column: 'quantity', type: 'integer', min: 1 },
  },
};

function shopDir(lines: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-lines-'));
  writeFileSync(join(dir, 'schema.json'), JSON.stringify({ ...standardShopSchema(), extraTables: { order_lines: LINES } }));
  writeFileSync(
    join(dir, 'customers.csv'),
    'customer_id,name,phone,city,age,signup_at,lifecycle_stage,consent_analytics,consent_marketing\nC-1,张伟,13800000000,上海,31,2025-01-02T03:04:05Z,loyal,true,true\nC-2,李娜,13900000000,北京,44,2025-02-03T00:00:00Z,new,true,false\n',
  );
  writeFileSync(join(dir, 'orders.csv'), 'order_id,customer_id,ordered_at,amount,returned\nO-1,C-1,2025-03-01T00:00:00Z,123.40,false\n');
  writeFileSync(join(dir, 'order_lines.csv'), lines);
  return dir;
}

describe('tables of customers\' rows', () => {
  it('load with the customer of every row', async () => {
    const data = await loadShopData(shopDir('customer_id,category,quantity\nC-1,food,2\nC-2,toys,1\nC-1,toys,3\n'), 'shop-l');
    expect(data.tables?.['order_lines']?.customerIds).toEqual(['C-1', 'C-2', 'C-1']);
    expect(data.tables?.['order_lines']?.rows).toEqual([
      { category: 'food', quantity: 2 },
      { category: 'toys', quantity: 1 },
      { category: 'toys', quantity: 3 },
    ]);
  });

  it('report a row of a customer the export does not hold, naming file, row and column', async () => {
    const err = await loadShopData(shopDir('customer_id,category,quantity\nC-1,food,2\nC-9,toys,1\n'), 'shop-l').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShopDataError);
    const p = (err as ShopDataError).problems.find((q) => q.code === 'UNKNOWN_CUSTOMER');
    expect(p).toMatchObject({ file: "order_lines.csv", row: 2, column: "customer_id" });
  });

  it('need the customers table, and make their columns personal by default', () => {
    const orphan = { version: 1, tables: {}, extraTables: { order_lines: LINES } };
    expect(() => parseShopSchema(orphan)).toThrow(/rows of customers need the customers table/);
    const classes = declaredFieldClasses(parseShopSchema({ ...standardShopSchema(), extraTables: { order_lines: LINES, store_week: { file: 's.csv', columns: { price: { column: 'price', type: 'numeric' } } } } }));
    expect(classes.find((c) => c.field === 'order_lines.category')?.category).toBe('declared-personal');
    expect(classes.find((c) => c.field === 'store_week.price')?.category).toBe('business');
  });

  const data: ShopData = {
    shopId: 's',
    customers: ['C-1', 'C-2', 'C-3'].map((customerId) => ({ customerId, lifecycleStage: 'active', consentAnalytics: true, consentMarketing: false, city: '', ageBand: '', signupUnixS: 0 })),
    orders: [],
    tables: { order_lines: { rows: [{ quantity: 1 }, { quantity: 2 }, { quantity: 3 }, { quantity: 4 }], customerIds: ['C-1', 'C-2', 'C-1', 'C-3'] } },
  };

  it('follow their customers into the round view: included customers only, under their pseudonyms', () => {
    const key = new Uint8Array(32).fill(3);
    const purpose = { ...DEFAULT_PURPOSES.find((p) => p.name === 'marketing-analytics')!, allowedFields: ['order_lines.quantity'] };
    const view = roundView(data, new Set(['C-1', 'C-3']), purpose, key);
    expect(view.tables?.['order_lines']).toEqual({
      rows: [{ quantity: 1 }, { quantity: 3 }, { quantity: 4 }],
      customerIds: [pseudonymise('C-1', key), pseudonymise('C-1', key), pseudonymise('C-3', key)],
    });
  });

  it('are customer-level content: a changed line is a change of its customer alone', () => {
    const spec = parseLinearModelSpec({ kind: 'linear-model', purpose: 'p', data: 'order_lines', customerRows: true, formula: 'quantity ~ 1' });
    const scope = modelRowScope(spec);
    expect(readsNoCustomers(['order_lines.quantity'], scope)).toBe(false);
    const changed: ShopData = { ...data, tables: { order_lines: { rows: [{ quantity: 1 }, { quantity: 2 }, { quantity: 9 }, { quantity: 4 }], customerIds: ['C-1', 'C-2', 'C-1', 'C-3'] } } };
    const a = rowContents(data, ['order_lines.quantity'], scope);
    const b = rowContents(changed, ['order_lines.quantity'], scope);
    expect(a.fields).toEqual(['order_lines.quantity']);
    expect(a.shop.size).toBe(0);
    const differing = [...a.customers.keys()].filter((id) => a.customers.get(id)?.get('order_lines.quantity') !== b.customers.get(id)?.get('order_lines.quantity'));
    expect(differing).toEqual(['C-1']);
  });
});
