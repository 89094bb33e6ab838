import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGE_BANDS } from '../../analytics/customer-groups.js';
import { ShopDataError } from '../../client-sdk/csv.js';
import { generaliseAge } from '../../compliance/index.js';
import {
  ageBand,
  parseShopSchema,
  readBoolean,
  readDecimalCents,
  readInteger,
  readStage,
  readTimestamp,
  standardShopSchema,
} from '../../client-sdk/schema.js';

function schemaError(json: unknown): ShopDataError {
  try {
    parseShopSchema(json);
  } catch (err) {
    if (err instanceof ShopDataError) return err;
    throw err;
  }
  throw new Error('expected a ShopDataError');
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('parseShopSchema', () => {
  it('accepts the standard schema in single-shop and pooled form', () => {
    expect(parseShopSchema(clone(standardShopSchema()))).toEqual(standardShopSchema());
    expect(parseShopSchema(clone(standardShopSchema({ pooled: true }))).tables.orders?.fields.shopId?.column).toBe('shop_id');
  });

  it('names the path of a bad declaration', () => {
    const s = clone(standardShopSchema()) as unknown as { tables: { orders: { fields: { amount: { scale: number } } } } };
    s.tables.orders.fields.amount.scale = 3;
    const err = schemaError(s);
    expect(err.code).toBe('SCHEMA_INVALID');
    expect(err.table).toBe('schema');
    expect(err.column).toBe('tables.orders.fields.amount.scale');
    expect(err.message).toMatch(/^schema\.json column tables\.orders\.fields\.amount\.scale: /);
  });

  it('refuses a missing field, a type that does not fit the field, and unknown keys', () => {
    const missing = clone(standardShopSchema()) as unknown as { tables: { customers: { fields: Record<string, unknown> } } };
    delete missing.tables.customers.fields.customerId;
    expect(schemaError(missing).column).toBe('tables.customers.fields.customerId');

    const wrongType = clone(standardShopSchema()) as unknown as { tables: { orders: { fields: Record<string, unknown> } } };
    wrongType.tables.orders.fields.amount = { column: 'amount', type: 'string' };
    expect(schemaError(wrongType).column).toMatch(/^tables\.orders\.fields\.amount/);

    const extra = { ...clone(standardShopSchema()), owner: 'x' };
    expect(schemaError(extra).code).toBe('SCHEMA_INVALID');
  });

  it('refuses a column mapped twice or both mapped and ignored', () => {
    const twice = clone(standardShopSchema()) as unknown as { tables: { customers: { fields: { city: { column: string } } } } };
    twice.tables.customers.fields.city.column = 'customer_id';
    expect(schemaError(twice).message).toMatch(/already mapped/);

    const both = clone(standardShopSchema()) as unknown as { tables: { customers: { ignoredColumns: string[] } } };
    both.tables.customers.ignoredColumns.push('city');
    expect(schemaError(both).column).toBe('tables.customers.ignoredColumns.2');
  });

  it('refuses file names that leave the shop folder', () => {
    const s = clone(standardShopSchema()) as unknown as { tables: { orders: { file: string } } };
    s.tables.orders.file = '../other/orders.csv';
    expect(schemaError(s).column).toBe('tables.orders.file');
  });
});

describe('value readers', () => {
  it('reads amounts to exact cents', () => {
    const cents = (t: string, scale = 2): bigint | string => {
      const r = readDecimalCents(t, { scale });
      return r.ok ? r.value : r.problem;
    };
    expect(cents('123.40')).toBe(12340n);
    expect(cents('123.4')).toBe(12340n);
    expect(cents('0.05')).toBe(5n);
    expect(cents('7')).toBe(700n);
    expect(cents('12', 0)).toBe(1200n);
    expect(cents('90071992547409.93')).toBe(9007199254740993n);
    expect(cents('12.3.4')).toBe("'12.3.4' is not a decimal with 2 places");
    for (const bad of ['1.234', '-1.00', '.5', '5.', '01.00', '1e3', ' 1.00', '1,00', '', '１.00']) expect(typeof cents(bad)).toBe('string');
    expect(typeof cents('12.5', 0)).toBe('string');
  });

  it('round-trips any amount through its two-decimal text', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), (v) => {
        const text = `${v / 100n}.${(v % 100n).toString().padStart(2, '0')}`;
        expect(readDecimalCents(text, { scale: 2 })).toEqual({ ok: true, value: v });
      }),
    );
  });

  it('reads strict UTC timestamps to integer seconds', () => {
    expect(readTimestamp('2026-03-04T05:06:07Z', {})).toEqual({ ok: true, value: Date.UTC(2026, 2, 4, 5, 6, 7) / 1000 });
    expect(readTimestamp('1700000000', { format: 'unix-seconds' })).toEqual({ ok: true, value: 1_700_000_000 });
    for (const bad of ['2025-02-29T00:00:00Z', '2026-03-04T05:06:07', '2026-03-04T05:06:07.5Z', '2026-03-04 05:06:07Z', '2026-03-04T24:00:00Z', '2026-13-01T00:00:00Z']) {
      expect(readTimestamp(bad, {}).ok).toBe(false);
    }
  });

  it('reads booleans, integers and stages exactly as declared', () => {
    expect(readBoolean('true', {})).toEqual({ ok: true, value: true });
    expect(readBoolean('TRUE', {}).ok).toBe(false);
    expect(readBoolean('Y', { trueValue: 'Y', falseValue: 'N' })).toEqual({ ok: true, value: true });
    expect(readInteger('42', { min: 0, max: 130 })).toEqual({ ok: true, value: 42 });
    expect(readInteger('131', { min: 0, max: 130 }).ok).toBe(false);
    expect(readInteger('4.2', {}).ok).toBe(false);
    expect(readStage('VIP', { values: { VIP: 'loyal' } })).toEqual({ ok: true, value: 'loyal' });
    expect(readStage('toString', { values: { VIP: 'loyal' } }).ok).toBe(false);
  });

  it('generalises ages to the compliance bands that age-band queries group by', () => {
    expect([16, 18, 24, 25, 34, 35, 64, 65, 90].map(ageBand)).toEqual(['<18', '18-24', '18-24', '25-34', '25-34', '35-44', '55-64', '65+', '65+']);
    for (let age = 0; age <= 150; age++) {
      expect(ageBand(age)).toBe(generaliseAge(age));
      expect(AGE_BANDS).toContain(ageBand(age));
    }
    // A schema without min/max may pass ages beyond 0–150: they fall in the end bands.
    expect([-1, 151, 200].map(ageBand)).toEqual(['<18', '65+', '65+']);
  });
});
