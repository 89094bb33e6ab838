/**
 * Shops bring their own columns: typed extra columns on customers and
 * orders, further business tables, GB18030 files, and a schema whose every
 * problem is reported in one error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShopDataError } from '../../client-sdk/csv.js';
import { loadShopData } from '../../client-sdk/load-shop-data.js';
import { parseShopSchema, readDate, readExtraTimestamp, readNumeric, standardShopSchema } from '../../client-sdk/schema.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function schemaWithExtras(): Record<string, unknown> {
  const s = clone(standardShopSchema()) as unknown as { tables: Record<string, Record<string, unknown>>; extraTables?: unknown };
  s.tables['customers']!['columns'] = {
    gender: { column: '性别', type: 'categorical', levels: ['男', '女'] },
    income: { column: 'income', type: 'numeric', scale: 2, class: 'personal' },
    region: { column: 'region', type: 'categorical' },
    vip: { column: 'vip', type: 'boolean', trueValue: 'Y', falseValue: 'N' },
    birthday: { column: 'birthday', type: 'date', utcOffset: '+08:00', class: 'sensitive' },
  };
  s.tables['orders']!['columns'] = { units: { column: 'units', type: 'integer', min: 0 }, discount: { column: 'discount', type: 'numeric', scale: 3 } };
  s.extraTables = {
    store_week: {
      file: 'store-week.csv',
      columns: { store: { column: 'store', type: 'categorical' }, week: { column: 'week', type: 'integer' }, price: { column: 'price', type: 'numeric', scale: 2 }, sold_at: { column: 'sold_at', type: 'timestamp' } },
    },
  };
  return s;
}

const CUSTOMERS = 'customer_id,name,phone,city,age,signup_at,lifecycle_stage,consent_analytics,consent_marketing,性别,income,region,vip,birthday';
const ORDERS = 'order_id,customer_id,ordered_at,amount,returned,units,discount';

function writeShop(files: Record<string, string | Buffer>, schema: unknown = schemaWithExtras()): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-extra-'));
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

const goodFiles = {
  'customers.csv': `${CUSTOMERS}\nC-1,张伟,13800000000,上海,31,2025-01-02T03:04:05Z,loyal,true,false,男,-1250.50,华东,Y,1990-05-01\nC-2,李娜,13900000000,北京,40,2025-02-03T00:00:00Z,new,true,true,女,,华南,N,\n`,
  'orders.csv': `${ORDERS}\nO-1,C-1,2025-03-01T00:00:00Z,123.40,false,3,-0.125\nO-2,C-2,2025-03-11T00:00:00Z,0.05,true,,\n`,
  'store-week.csv': 'store,week,price,sold_at\nS1,1,2.49,2026-01-05T10:00:00+08:00\nS1,2,,2026-01-12T10:00:00Z\n',
};

describe('extra columns and further tables', () => {
  it('loads typed extra values, empty cells as missing, dates at their offset', async () => {
    const data = await loadShopData(writeShop(goodFiles), 'shop-x');
    expect(data.customers.map((c) => c.extra)).toEqual([
      { gender: '男', income: -1250.5, region: '华东', vip: true, birthday: Date.UTC(1990, 4, 1) / 1000 - 8 * 3600 },
      { gender: '女', income: null, region: '华南', vip: false, birthday: null },
    ]);
    expect(data.orders.map((o) => o.extra)).toEqual([{ units: 3, discount: -0.125 }, { units: null, discount: null }]);
    expect(data.tables?.['store_week']?.rows).toEqual([
      { store: 'S1', week: 1, price: 2.49, sold_at: Date.UTC(2026, 0, 5, 2) / 1000 },
      { store: 'S1', week: 2, price: null, sold_at: Date.UTC(2026, 0, 12, 10) / 1000 },
    ]);
  });

  it('reads a GB18030 (GBK) file the same as its UTF-8 twin', async () => {
    const utf8 = await loadShopData(writeShop(goodFiles), 'shop-x');
    // 性别 = D0 D4 B1 F0, 男 = C4 D0, 女 = C5 AE, 华东 = BB AA B6 AB, 华南 = BB AA C4 CF, 上海 = C9 CF BA A3, 北京 = B1 B1 BE A9, 张伟 = D5 C5 CE B0, 李娜 = C0 EE C4 C8
    const gb = (text: string): Buffer => {
      const table: Record<string, string> = { 性别: 'D0D4B1F0', 男: 'C4D0', 女: 'C5AE', 华东: 'BBAAB6AB', 华南: 'BBAAC4CF', 上海: 'C9CFBAA3', 北京: 'B1B1BEA9', 张伟: 'D5C5CEB0', 李娜: 'C0EEC4C8' };
      const parts: Buffer[] = [];
      let rest = text;
      while (rest.length > 0) {
        const hit = Object.keys(table).find((k) => rest.startsWith(k));
        if (hit) {
          parts.push(Buffer.from(table[hit]!, 'hex'));
          rest = rest.slice(hit.length);
        } else {
          parts.push(Buffer.from(rest[0]!, 'latin1'));
          rest = rest.slice(1);
        }
      }
      return Buffer.concat(parts);
    };
    const schema = schemaWithExtras() as { tables: Record<string, Record<string, unknown>> };
    schema.tables['customers']!['encoding'] = 'gb18030';
    const dir = writeShop({ ...goodFiles, 'customers.csv': gb(goodFiles['customers.csv']) }, schema);
    const gbData = await loadShopData(dir, 'shop-x');
    expect(gbData.customers).toEqual(utf8.customers);
    // Read as UTF-8, the same bytes are refused with what to do.
    const asUtf8 = writeShop({ ...goodFiles, 'customers.csv': gb(goodFiles['customers.csv']) });
    await expect(loadShopData(asUtf8, 'shop-x')).rejects.toThrow(/not valid UTF-8.*gb18030/);
  });

  it('reports every schema problem at once, each with its path', () => {
    const bad = schemaWithExtras() as { tables: Record<string, Record<string, unknown>>; extraTables: Record<string, unknown> };
    (bad.tables['customers']!['columns'] as Record<string, unknown>)['Bad Name'] = { column: 'x', type: 'numeric' };
    (bad.tables['orders']!['columns'] as Record<string, unknown>)['units'] = { column: 'units', type: 'integer', min: 5, max: 1 };
    bad.extraTables['orders'] = { file: 'o.csv', columns: { a: { column: 'a', type: 'integer' } } };
    bad.extraTables['jsonish'] = { file: 'j.jsonl', format: 'jsonl', encoding: 'gb18030', columns: { a: { column: 'a', type: 'integer' } } };
    let err: ShopDataError | undefined;
    try {
      parseShopSchema(bad);
    } catch (e) {
      err = e as ShopDataError;
    }
    expect(err?.code, err?.message).toBe("SCHEMA_INVALID");
    expect(err?.message).toMatch(/4 problems/);
    expect(err?.message).toMatch(/tables\.customers\.columns\.Bad Name/);
    expect(err?.message).toMatch(/tables\.orders\.columns\.units\.min: min 5 is above max 1/);
    expect(err?.message).toMatch(/extraTables\.orders: 'orders' is a built-in table's name/);
    expect(err?.message).toMatch(/extraTables\.jsonish\.encoding: only CSV tables take an encoding/);
  });

  it('names a negative order amount and too many decimals for what they are', async () => {
    const orders = `${ORDERS}\nO-1,C-1,2025-03-01T00:00:00Z,-5.00,false,1,0\n`;
    await expect(loadShopData(writeShop({ ...goodFiles, 'orders.csv': orders }), 'shop-x')).rejects.toThrow(/'-5.00' is negative; an order amount is ≥ 0/);
    const places = `${ORDERS}\nO-1,C-1,2025-03-01T00:00:00Z,5.001,false,1,0\n`;
    await expect(loadShopData(writeShop({ ...goodFiles, 'orders.csv': places }), 'shop-x')).rejects.toThrow(/'5.001' has 3 decimal places; this column declares at most 2/);
  });

  it('refuses an undeclared level naming row and column', async () => {
    const customers = goodFiles['customers.csv'].replace(',女,', ',未知,');
    await expect(loadShopData(writeShop({ ...goodFiles, 'customers.csv': customers }), 'shop-x')).rejects.toThrow(/row 2, column 性别: '未知' is not one of the declared levels/);
  });
});

describe('extra value readers', () => {
  it('readNumeric gives the double of the decimal text, within scale', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 6 }), (units, scale) => {
        const neg = units < 0;
        const digits = String(Math.abs(units)).padStart(scale + 1, '0');
        const text = `${neg ? '-' : ''}${scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`}`;
        const r = readNumeric(text, { scale });
        expect(r.ok && r.value).toBe(Number(text) === 0 ? 0 : Number(text));
        if (scale > 0) expect(readNumeric(text, { scale: scale - 1 }).ok).toBe(false);
      }),
    );
    for (const bad of ['1e5', '+1', '01', '1.', '.5', '--1', 'NaN', 'Infinity', '1,000']) expect(readNumeric(bad, {}).ok, bad).toBe(false);
    expect(readNumeric('', {})).toEqual({ ok: true, value: null });
  });

  it('readDate and readExtraTimestamp honour the offset and refuse impossible dates', () => {
    expect(readDate('2026-02-30', {}).ok).toBe(false);
    expect(readDate('2026-03-01', { utcOffset: '-05:30' })).toEqual({ ok: true, value: Date.UTC(2026, 2, 1, 5, 30) / 1000 });
    expect(readExtraTimestamp('2026-03-01T08:00:00+08:00', {})).toEqual({ ok: true, value: Date.UTC(2026, 2, 1) / 1000 });
    expect(readExtraTimestamp('2026-03-01 08:00', {}).ok).toBe(false);
  });
});

describe('every data problem in one report', () => {
  it('reads on past bad values and unknown customers and reports them all with row and column', async () => {
    const orders = `${ORDERS}\nO-1,C-1,2025-03-01T00:00:00Z,1.00,false,x,0\nO-2,C-9,2025-03-01T00:00:00Z,1.00,false,1,0\nO-3,C-1,2025-13-01T00:00:00Z,-2,false,1,0\nO-4,C-1,2025-03-01T00:00:00Z,1.00,false,1,0\n`;
    let err: ShopDataError | undefined;
    try {
      await loadShopData(writeShop({ ...goodFiles, 'orders.csv': orders }), 'shop-x');
    } catch (e) {
      err = e as ShopDataError;
    }
    expect(err).toBeInstanceOf(ShopDataError);
    expect(err!.problems.map((p) => [p.row, p.column, p.code])).toEqual([
      [1, 'units', 'BAD_VALUE'],
      [2, 'customer_id', 'UNKNOWN_CUSTOMER'],
      [3, 'ordered_at', 'BAD_VALUE'],
      [3, 'amount', 'BAD_VALUE'],
    ]);
    expect(err!.message).toMatch(/^orders\.csv row 1, column units: 'x' is not an integer; and 3 more: orders\.csv row 2, column customer_id: customer 'C-9' is not in customers\.csv; /);
  });
});
