/**
 * The optional tables (campaigns, sessions, shop metrics) and JSON-lines
 * input: loaded exactly as declared, identical from CSV and JSON lines, and
 * every mapping problem named by file, row and column.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShopDataError } from '../../client-sdk/csv.js';
import { parseJsonl } from '../../client-sdk/jsonl.js';
import { loadPooledData, loadShopData } from '../../client-sdk/load-shop-data.js';
import { OPTIONAL_TABLES, parseShopSchema, standardShopSchema, type ShopSchema } from '../../client-sdk/schema.js';

type Row = Record<string, string | number | boolean>;

const TABLES: Record<string, Row[]> = {
  customers: [
    { customer_id: 'C-1', name: '张伟', phone: '13800000000', city: '上海', age: 31, signup_at: '2025-01-02T03:04:05Z', lifecycle_stage: 'loyal', consent_analytics: true, consent_marketing: true },
    { customer_id: 'C-2', name: '李娜', phone: '13900000000', city: '北京', age: 44, signup_at: '2025-02-03T00:00:00Z', lifecycle_stage: 'new', consent_analytics: true, consent_marketing: false },
  ],
  orders: [{ order_id: 'O-1', customer_id: 'C-1', ordered_at: '2025-03-01T00:00:00Z', amount: '123.40', returned: false }],
  campaigns: [
    { campaign_id: 'CMP-1', customer_id: 'C-1', variant: 'B', exposed: true, opened: true, clicked: true, converted: false },
    { campaign_id: 'CMP-1', customer_id: 'C-2', variant: 'control', exposed: false, opened: false, clicked: false, converted: true },
  ],
  sessions: [
    { customer_id: 'C-1', channel: 'app', viewed: true, carted: true, ordered: true },
    { customer_id: 'C-2', channel: 'mini-program', viewed: true, carted: false, ordered: false },
  ],
  'shop-metrics': [{ period: '2025-03', orders: 100, ratings: 40, positive_ratings: 38, returns: 5, complaints: 1, inquiries: 20, response_time_sum_s: 6000 }],
};

function csvText(rows: Row[]): string {
  const cols = Object.keys(rows[0] ?? {});
  return `${cols.join(',')}\n${rows.map((r) => cols.map((c) => String(r[c])).join(',')).join('\n')}\n`;
}

function jsonlText(rows: Row[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** A shop folder with every table; `edit` changes rows of one table before writing. */
function shopDir(format: 'csv' | 'jsonl', edit: Partial<Record<string, Row[]>> = {}, schema?: ShopSchema): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-tables-'));
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema ?? standardShopSchema({ include: OPTIONAL_TABLES, format })));
  for (const [name, rows] of Object.entries({ ...TABLES, ...edit })) {
    writeFileSync(join(dir, `${name}.${format}`), format === 'csv' ? csvText(rows ?? []) : jsonlText(rows ?? []));
  }
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

const replaceRow = (table: string, i: number, patch: Row): Row[] => (TABLES[table] ?? []).map((r, j) => (j === i ? { ...r, ...patch } : r));

describe('optional tables', () => {
  it('load campaigns, sessions and shop metrics as declared', async () => {
    const data = await loadShopData(shopDir('csv'), 'shop-x');
    expect(data.campaigns).toEqual([
      { customerId: 'C-1', campaignId: 'CMP-1', variant: 'B', exposed: true, opened: true, clicked: true, converted: false },
      { customerId: 'C-2', campaignId: 'CMP-1', variant: 'control', exposed: false, opened: false, clicked: false, converted: true },
    ]);
    expect(data.sessions).toEqual([
      { customerId: 'C-1', channel: 'app', viewed: true, carted: true, ordered: true },
      { customerId: 'C-2', channel: 'mini-program', viewed: true, carted: false, ordered: false },
    ]);
    expect(data.shopMetrics).toEqual([
      { period: '2025-03', orders: 100, ratings: 40, positiveRatings: 38, returns: 5, complaints: 1, inquiries: 20, responseTimeSumS: 6000 },
    ]);
  });

  it('are absent when the schema does not declare them', async () => {
    const data = await loadShopData(shopDir('csv', {}, standardShopSchema()), 'shop-x');
    expect(data.campaigns).toBeUndefined();
    expect(data.sessions).toBeUndefined();
    expect(data.shopMetrics).toBeUndefined();
  });

  it.each([
    ['campaigns', replaceRow('campaigns', 1, { variant: 'C' }), 'campaigns.csv row 2, column variant', 'BAD_VALUE'],
    ['campaigns', replaceRow('campaigns', 1, { customer_id: 'C-1' }), 'campaigns.csv row 2, column campaign_id', 'DUPLICATE_ID'],
    ['campaigns', replaceRow('campaigns', 0, { opened: 'yes' }), 'campaigns.csv row 1, column opened', 'BAD_VALUE'],
    ['sessions', replaceRow('sessions', 1, { channel: 'tv' }), 'sessions.csv row 2, column channel', 'BAD_VALUE'],
    ['sessions', replaceRow('sessions', 0, { customer_id: 'C-9' }), 'sessions.csv row 1, column customer_id', 'UNKNOWN_CUSTOMER'],
    ['shop-metrics', replaceRow('shop-metrics', 0, { period: '2025-13' }), 'shop-metrics.csv row 1, column period', 'BAD_VALUE'],
    ['shop-metrics', replaceRow('shop-metrics', 0, { positive_ratings: 41 }), 'shop-metrics.csv row 1, column positive_ratings', 'BAD_VALUE'],
    ['shop-metrics', replaceRow('shop-metrics', 0, { returns: -1 }), 'shop-metrics.csv row 1, column returns', 'BAD_VALUE'],
    ['shop-metrics', [...(TABLES['shop-metrics'] ?? []), ...(TABLES['shop-metrics'] ?? [])], 'shop-metrics.csv row 2, column period', 'DUPLICATE_ID'],
  ])('%s: a mapping error names file, row and column (%s)', async (table, rows, where, code) => {
    const err = await loadError(shopDir('csv', { [table]: rows }));
    expect(err.code).toBe(code);
    expect(err.message.startsWith(`${where}:`), err.message).toBe(true);
  });
});

describe('JSON-lines tables', () => {
  it('load exactly what the same rows give as CSV, for every table', async () => {
    const fromCsv = await loadShopData(shopDir('csv'), 'shop-x');
    const fromJsonl = await loadShopData(shopDir('jsonl'), 'shop-x');
    expect(fromJsonl).toEqual(fromCsv);
  });

  it('mix formats per table and accept numbers and booleans as JSON values', async () => {
    const schema = standardShopSchema({ include: ['sessions'] });
    const mixed: ShopSchema = { ...schema, tables: { ...schema.tables, sessions: { ...schema.tables.sessions!, file: 'sessions.jsonl', format: 'jsonl' } } };
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-mixed-'));
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(mixed));
    writeFileSync(join(dir, 'customers.csv'), csvText(TABLES.customers!));
    writeFileSync(join(dir, 'orders.csv'), csvText([{ ...TABLES.orders![0]!, amount: '0.5' }]));
    writeFileSync(join(dir, 'sessions.jsonl'), '{"customer_id":"C-1","channel":"web","viewed":"true","carted":false,"ordered":false}\r\n\n');
    const data = await loadShopData(dir, 'shop-x');
    expect(data.orders[0]?.amountCents).toBe(50n);
    expect(data.sessions).toEqual([{ customerId: 'C-1', channel: 'web', viewed: true, carted: false, ordered: false }]);
  });

  it.each([
    ['sessions', '{"customer_id":"C-1","channel":"app","viewed":true,"carted":true}\n', 'sessions.jsonl row 1, column ordered', 'MISSING_COLUMN'],
    ['sessions', `${jsonlText(TABLES.sessions!)}{"customer_id":"C-1","channel":"app","viewed":true,"carted":true,"ordered":true,"device":"x"}\n`, 'sessions.jsonl row 3, column device', 'UNKNOWN_COLUMN'],
    ['sessions', '{"customer_id":"C-1","channel":"app","viewed":1,"carted":true,"ordered":true}\n', 'sessions.jsonl row 1, column viewed', 'BAD_VALUE'],
    ['campaigns', '{"campaign_id":"CMP-1","customer_id":true,"variant":"A","exposed":true,"opened":true,"clicked":true,"converted":true}\n', 'campaigns.jsonl row 1, column customer_id', 'BAD_VALUE'],
    ['campaigns', '{"campaign_id":null,"customer_id":"C-1","variant":"A","exposed":true,"opened":true,"clicked":true,"converted":true}\n', 'campaigns.jsonl row 1, column campaign_id', 'BAD_VALUE'],
    ['orders', '{"order_id":"O-1","customer_id":"C-1","ordered_at":"2025-03-01T00:00:00Z","amount":0.123,"returned":false}\n', 'orders.jsonl row 1, column amount', 'BAD_VALUE'],
    ['orders', '{"order_id":"O-1",\n', 'orders.jsonl row 1 (line 1)', 'JSON_SYNTAX'],
    ['orders', '[1,2]\n', 'orders.jsonl row 1 (line 1)', 'JSON_SYNTAX'],
    ['sessions', `${jsonlText(TABLES.sessions!.slice(0, 1))}\n${jsonlText(TABLES.sessions!.slice(1))}`, 'sessions.jsonl row 2 (line 2)', 'JSON_SYNTAX'],
  ])('%s: %j is refused naming row and column', async (table, text, where, code) => {
    const dir = shopDir('jsonl');
    writeFileSync(join(dir, `${table}.jsonl`), text);
    const err = await loadError(dir);
    expect(err.code).toBe(code);
    expect(err.message.startsWith(`${where}:`), err.message).toBe(true);
  });

  it('drops direct identifiers a JSON line carries', async () => {
    const data = await loadShopData(shopDir('jsonl'), 'shop-x');
    expect(JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toMatch(/张伟|李娜|1380|1390/);
  });

  it('parse in chunks of any size the same as whole', () => {
    const text = '\uFEFF{"a":1}\r\n{"b":"x\\ny"}\n{"c":true}';
    const whole = parseJsonl(text, { file: 't.jsonl', table: 't' });
    expect(whole.map((r) => [r.row, r.object])).toEqual([
      [1, { a: 1 }],
      [2, { b: 'x\ny' }],
      [3, { c: true }],
    ]);
    expect(() => parseJsonl('{"a":"12345"}\n', { file: 't.jsonl', table: 't', maxLineLength: 5 })).toThrow(/t.jsonl row 1 \(line 1\): a line is longer than 5/);
  });
});

describe('schema of the optional tables', () => {
  it('round-trips the standard declaration in both formats and with shop_id', () => {
    for (const format of ['csv', 'jsonl'] as const) {
      const s = standardShopSchema({ include: OPTIONAL_TABLES, format, pooled: true });
      expect(parseShopSchema(JSON.parse(JSON.stringify(s)))).toEqual(s);
      expect(s.tables.sessions?.file).toBe(`sessions.${format}`);
    }
    expect(() => standardShopSchema({ include: ['reviews' as 'sessions'] })).toThrow(/options.include/);
  });

  it('names a bad format, channel name or arm in the declaration', () => {
    const s = JSON.parse(JSON.stringify(standardShopSchema({ include: OPTIONAL_TABLES }))) as {
      tables: { sessions: { format?: string; fields: { channel: { values: Record<string, string> } } }; campaigns: { fields: { variant: { values: Record<string, string> } } } };
    };
    const check = (mutate: (x: typeof s) => void, path: string): void => {
      const copy = JSON.parse(JSON.stringify(s)) as typeof s;
      mutate(copy);
      try {
        parseShopSchema(copy);
      } catch (err) {
        expect(err).toBeInstanceOf(ShopDataError);
        expect((err as ShopDataError).column).toBe(path);
        return;
      }
      throw new Error('expected a ShopDataError');
    };
    check((x) => (x.tables.sessions.format = 'xml'), 'tables.sessions.format');
    check((x) => (x.tables.sessions.fields.channel.values.App = 'App Store'), 'tables.sessions.fields.channel.values.App');
    check((x) => (x.tables.campaigns.fields.variant.values.C = 'C'), 'tables.campaigns.fields.variant.values.C');
  });
});

describe('pooled optional tables', () => {
  it('carry the shop of every row and check customers per shop', async () => {
    const schema = standardShopSchema({ include: ['sessions'], pooled: true });
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-pooled-tables-'));
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema));
    writeFileSync(join(dir, 'customers.csv'), csvText(TABLES.customers!.map((c) => ({ shop_id: 's1', ...c }))));
    writeFileSync(join(dir, 'orders.csv'), csvText(TABLES.orders!.map((o) => ({ shop_id: 's1', ...o }))));
    writeFileSync(join(dir, 'sessions.csv'), csvText([{ shop_id: 's1', ...TABLES.sessions![0]! }]));
    expect((await loadPooledData(dir)).sessions).toEqual([{ shopId: 's1', customerId: 'C-1', channel: 'app', viewed: true, carted: true, ordered: true }]);
    writeFileSync(join(dir, 'sessions.csv'), csvText([{ shop_id: 's2', ...TABLES.sessions![0]! }]));
    await expect(loadPooledData(dir)).rejects.toMatchObject({ code: 'UNKNOWN_CUSTOMER', row: 1 });
  });
});
