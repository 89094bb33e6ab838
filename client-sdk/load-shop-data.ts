/**
 * Reads a shop's export folder (schema.json + CSVs) into {@link ShopData}.
 *
 * Rows stream through the parser one at a time; the loader picks only the
 * declared fedmart columns out of each row, so direct identifiers (name,
 * phone) are never held beyond the parser's current row, and exact ages are
 * generalised to bands on the spot. Every problem is a ShopDataError naming
 * file, row and column; nothing half-loaded is returned.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Customer, Order, PooledCustomer, PooledData, PooledOrder, ShopData } from '../analytics/index.js';
import { ShopDataError, readCsvRecords, type CsvRecord } from './csv.js';
import {
  ageBand,
  parseShopSchema,
  readBoolean,
  readDecimalCents,
  readInteger,
  readStage,
  readString,
  readTimestamp,
  type CellResult,
  type ColumnSpec,
  type ShopSchema,
} from './schema.js';

/** Reads and validates `dir/schema.json`. */
export async function readShopSchema(dir: string): Promise<ShopSchema> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  let text: string;
  try {
    text = await readFile(join(dir, 'schema.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ShopDataError({ code: 'file-missing', table: 'schema', file: 'schema.json', detail: `no schema.json in ${dir}` });
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ShopDataError({ code: 'schema-invalid', table: 'schema', file: 'schema.json', detail: `not JSON (${(err as Error).message})` });
  }
  return parseShopSchema(json);
}

type TableName = 'customers' | 'orders';

/** Reads one column's cell of the current row, or throws naming it. */
type CellReader = (rec: CsvRecord) => unknown;

interface TableContext {
  readonly table: TableName;
  readonly file: string;
}

function readerFor(ctx: TableContext, spec: ColumnSpec, index: number): CellReader {
  const parse = ((): ((text: string) => CellResult<unknown>) => {
    switch (spec.type) {
      case 'string':
        return (t) => readString(t, spec);
      case 'integer':
        return (t) => readInteger(t, spec);
      case 'decimal':
        return (t) => readDecimalCents(t, spec);
      case 'boolean':
        return (t) => readBoolean(t, spec);
      case 'timestamp':
        return (t) => readTimestamp(t, spec);
      case 'enum':
        return (t) => readStage(t, spec);
    }
  })();
  return (rec) => {
    const r = parse(rec.fields[index] ?? '');
    if (r.ok) return r.value;
    throw new ShopDataError({ code: 'bad-value', table: ctx.table, file: ctx.file, row: rec.row, column: spec.column, detail: r.problem });
  };
}

/**
 * Streams a table, checking its header against the declaration, and yields
 * one object per row with exactly the declared fields (values typed by the
 * column types). Columns listed in `ignoredColumns` are skipped unread.
 */
async function* readTable<F extends Record<string, ColumnSpec | undefined>>(
  dir: string,
  ctx: TableContext,
  fields: F,
  ignored: readonly string[],
): AsyncGenerator<{ readonly row: number; readonly values: Record<keyof F & string, unknown> }> {
  let readers: Array<[string, CellReader]> | undefined;
  for await (const rec of readCsvRecords(join(dir, ctx.file), { file: ctx.file, table: ctx.table })) {
    if (readers === undefined) {
      readers = headerReaders(ctx, rec.fields, fields, ignored);
      continue;
    }
    const values: Record<string, unknown> = {};
    for (const [field, read] of readers) values[field] = read(rec);
    yield { row: rec.row, values: values as Record<keyof F & string, unknown> };
  }
  if (readers === undefined) {
    throw new ShopDataError({ code: 'missing-column', table: ctx.table, file: ctx.file, row: 0, detail: 'the file is empty (no header)' });
  }
}

function headerReaders(
  ctx: TableContext,
  header: readonly string[],
  fields: Record<string, ColumnSpec | undefined>,
  ignored: readonly string[],
): Array<[string, CellReader]> {
  const position = new Map<string, number>();
  header.forEach((name, i) => {
    if (position.has(name)) {
      throw new ShopDataError({ code: 'duplicate-column', table: ctx.table, file: ctx.file, row: 0, column: name, detail: 'the column appears twice in the header' });
    }
    position.set(name, i);
  });
  const declared = new Set<string>(ignored);
  const readers: Array<[string, CellReader]> = [];
  for (const [field, spec] of Object.entries(fields)) {
    if (spec === undefined) continue;
    declared.add(spec.column);
    const i = position.get(spec.column);
    if (i === undefined) {
      throw new ShopDataError({
        code: 'missing-column',
        table: ctx.table,
        file: ctx.file,
        row: 0,
        column: spec.column,
        detail: `the column declared for ${field} is not in the header`,
      });
    }
    readers.push([field, readerFor(ctx, spec, i)]);
  }
  for (const name of header) {
    if (!declared.has(name)) {
      throw new ShopDataError({
        code: 'unknown-column',
        table: ctx.table,
        file: ctx.file,
        row: 0,
        column: name,
        detail: 'the column is not declared in schema.json (map it or list it in ignoredColumns)',
      });
    }
  }
  return readers;
}

interface LoadedRows {
  readonly customers: PooledCustomer[];
  readonly orders: PooledOrder[];
}

/**
 * Loads both tables. `shopIdOf` supplies the shop of a row: a constant for a
 * single shop, the `shopId` column for pooled files. Ids must be unique per
 * shop and every order must belong to a listed customer of the same shop.
 */
async function loadRows(dir: string, schema: ShopSchema, fixedShopId: string | undefined): Promise<LoadedRows> {
  const cs = schema.tables.customers;
  const os = schema.tables.orders;
  const cctx: TableContext = { table: 'customers', file: cs.file };
  const octx: TableContext = { table: 'orders', file: os.file };
  if (fixedShopId === undefined) {
    for (const [ctx, t] of [[cctx, cs], [octx, os]] as const) {
      if (t.fields.shopId === undefined) {
        throw new ShopDataError({ code: 'schema-invalid', table: 'schema', file: 'schema.json', column: `tables.${ctx.table}.fields.shopId`, detail: 'pooled data must map shopId' });
      }
    }
  }
  const key = (shopId: string, id: string): string => `${shopId}\u0000${id}`;
  const customers: PooledCustomer[] = [];
  const customerKeys = new Set<string>();
  for await (const { row, values: v } of readTable(dir, cctx, cs.fields, cs.ignoredColumns ?? [])) {
    const shopId = fixedShopId ?? (v.shopId as string);
    const customerId = v.customerId as string;
    const k = key(shopId, customerId);
    if (customerKeys.has(k)) {
      throw new ShopDataError({ code: 'duplicate-id', table: 'customers', file: cs.file, row, column: cs.fields.customerId.column, detail: `customer '${customerId}' appears twice` });
    }
    customerKeys.add(k);
    customers.push({
      shopId,
      customerId,
      lifecycleStage: v.lifecycleStage as Customer['lifecycleStage'],
      consentAnalytics: v.consentAnalytics as boolean,
      consentMarketing: v.consentMarketing as boolean,
      city: v.city as string,
      ageBand: ageBand(v.age as number),
      signupUnixS: v.signupAt as number,
    });
  }
  const orders: PooledOrder[] = [];
  const orderKeys = new Set<string>();
  for await (const { row, values: v } of readTable(dir, octx, os.fields, os.ignoredColumns ?? [])) {
    const shopId = fixedShopId ?? (v.shopId as string);
    const orderId = v.orderId as string;
    const customerId = v.customerId as string;
    if (orderKeys.has(key(shopId, orderId))) {
      throw new ShopDataError({ code: 'duplicate-id', table: 'orders', file: os.file, row, column: os.fields.orderId.column, detail: `order '${orderId}' appears twice` });
    }
    orderKeys.add(key(shopId, orderId));
    if (!customerKeys.has(key(shopId, customerId))) {
      throw new ShopDataError({
        code: 'unknown-customer',
        table: 'orders',
        file: os.file,
        row,
        column: os.fields.customerId.column,
        detail: `customer '${customerId}' is not in ${cs.file}`,
      });
    }
    orders.push({
      shopId,
      orderId,
      customerId,
      orderedUnixS: v.orderedAt as number,
      amountCents: v.amount as bigint,
      returned: v.returned as boolean,
    });
  }
  return { customers, orders };
}

/**
 * Loads one shop's export folder. `shopId` defaults to the folder's name
 * (`OUT/shop-01` → `shop-01`). Throws ShopDataError for anything that does not
 * match `schema.json`.
 */
export async function loadShopData(dir: string, shopId?: string): Promise<ShopData> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  if (shopId !== undefined && (typeof shopId !== 'string' || shopId === '')) throw new TypeError('shopId: expected a non-empty string');
  const id = shopId ?? basename(resolve(dir));
  const schema = await readShopSchema(dir);
  const rows = await loadRows(dir, schema, id);
  return {
    shopId: id,
    customers: rows.customers.map(({ shopId: _s, ...c }): Customer => c),
    orders: rows.orders.map(({ shopId: _s, ...o }): Order => o),
  };
}

/**
 * Loads the pooled check files (`OUT/pooled`), whose schema maps a `shopId`
 * column on both tables. Only demos and tests use this, to compute the
 * plaintext answer a federated release must equal.
 */
export async function loadPooledData(dir: string): Promise<PooledData> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  const schema = await readShopSchema(dir);
  return loadRows(dir, schema, undefined);
}
