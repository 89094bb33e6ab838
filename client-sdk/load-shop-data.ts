/**
 * Reads a shop's export folder (schema.json + one CSV or JSON-lines file per
 * table) into {@link ShopData}.
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
import type {
  CampaignVariant,
  ColumnValue,
  DataTable,
  Customer,
  PooledCampaignExposure,
  PooledCustomer,
  PooledData,
  PooledOrder,
  PooledSession,
  PooledShopMetricsPeriod,
  ShopData,
} from '../analytics/index.js';
import { MAX_REPORTED_PROBLEMS, ShopDataError, readCsvRecords, type CsvRecord, type ShopDataErrorDetails } from './csv.js';
import { readPostgresRecords } from './postgres-source.js';
import { readJsonlRecords } from './jsonl.js';
import {
  ageBand,
  parseShopSchema,
  readBoolean,
  readDecimalCents,
  extraReader,
  readEnum,
  readInteger,
  readPeriod,
  readString,
  readTimestamp,
  type CellResult,
  type ColumnSpec,
  type ExtraColumnSpec,
  type ShopSchema,
  type TableFormat,
} from './schema.js';
import { DAY_SECONDS } from '../analytics/index.js';

/** Reads and validates `dir/schema.json`. */
export async function readShopSchema(dir: string): Promise<ShopSchema> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  let text: string;
  try {
    text = await readFile(join(dir, 'schema.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ShopDataError({ code: 'FILE_MISSING', table: 'schema', file: 'schema.json', detail: `no schema.json in ${dir}` });
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ShopDataError({ code: 'SCHEMA_INVALID', table: 'schema', file: 'schema.json', detail: `not JSON (${(err as Error).message})` });
  }
  return parseShopSchema(json);
}

type TableName = 'customers' | 'orders' | 'campaigns' | 'sessions' | 'shopMetrics' | `extraTables.${string}`;

interface TableContext {
  readonly table: TableName;
  readonly file: string;
  /** Where row-level problems collect, so one load reports them all; without it the first is thrown. */
  readonly problems?: ShopDataErrorDetails[];
}

/** Records a row-level problem (or throws it without a collector); throws every problem once there are too many. */
function report(ctx: TableContext, problem: ShopDataError): void {
  if (ctx.problems === undefined) throw problem;
  ctx.problems.push(problem);
  if (ctx.problems.length >= MAX_REPORTED_PROBLEMS) throw ShopDataError.of(ctx.problems);
}

/** Runs `read`, reporting a bad value instead of throwing it; false when the row is bad. */
function readOrReport(ctx: TableContext, read: () => void): boolean {
  try {
    read();
    return true;
  } catch (err) {
    if (err instanceof ShopDataError && err.code === 'BAD_VALUE') {
      report(ctx, err);
      return false;
    }
    throw err;
  }
}

/** One table's declaration as the generic reader needs it. */
interface TableDeclaration {
  readonly file: string;
  readonly format?: TableFormat | undefined;
  readonly encoding?: 'utf-8' | 'gb18030' | undefined;
  readonly fields: Readonly<Record<string, ColumnSpec | undefined>>;
  /** Extra columns, read into `extra.<name>`; an empty cell (or JSON null) is a missing value. */
  readonly columns?: Readonly<Record<string, ExtraColumnSpec>> | undefined;
  readonly ignoredColumns?: readonly string[] | undefined;
}

/** Where a table keeps extra column `name` among the row's values. */
const EXTRA = 'extra.';

/** A declared column with its reader, fixed or extra. */
type ColumnReader = readonly [field: string, spec: { readonly column: string; readonly type: string }, parse: (text: string) => CellResult<unknown>];

function columnReaders(decl: TableDeclaration): ColumnReader[] {
  const fixed = Object.entries(decl.fields)
    .filter((e): e is [string, ColumnSpec] => e[1] !== undefined)
    .map(([field, spec]): ColumnReader => [field, spec, parserFor(spec)]);
  const extra = Object.entries(decl.columns ?? {}).map(([name, spec]): ColumnReader => [`${EXTRA}${name}`, spec, extraReader(spec)]);
  return [...fixed, ...extra];
}

/** The extra column values of a row read by {@link readTable}, or undefined when the table declares none. */
function extrasOf(values: Record<string, unknown>): Record<string, string | number | boolean | null> | undefined {
  let out: Record<string, string | number | boolean | null> | undefined;
  for (const [k, v] of Object.entries(values)) {
    if (!k.startsWith(EXTRA)) continue;
    out ??= {};
    out[k.slice(EXTRA.length)] = v as string | number | boolean | null;
  }
  return out;
}

/** The text reader of a column type. */
function parserFor(spec: ColumnSpec): (text: string) => CellResult<unknown> {
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
      return (t) => readEnum<string>(t, spec);
  }
}

function badValue(ctx: TableContext, row: number, column: string, detail: string): ShopDataError {
  return new ShopDataError({ code: 'BAD_VALUE', table: ctx.table, file: ctx.file, row, column, detail });
}

/**
 * A JSON member as the text the column's reader takes: strings as they are,
 * numbers in their shortest round-trip form (so `12.5` reads like the CSV
 * text `12.5` and `1e21` is refused as it would be in a CSV), and JSON
 * booleans directly for boolean columns. Anything else is a bad value.
 */
function jsonCell(ctx: TableContext, spec: { readonly column: string; readonly type: string }, row: number, value: unknown, extra: boolean): { text: string } | { value: boolean } {
  if (typeof value === 'string') return { text: value };
  if (value === null && extra) return { text: '' };
  if (typeof value === 'number' && Number.isFinite(value) && spec.type !== 'boolean') return { text: String(value) };
  if (typeof value === 'boolean' && spec.type === 'boolean') return { value };
  const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw badValue(ctx, row, spec.column, `expected ${spec.type === 'boolean' ? 'a JSON boolean or its declared spelling' : 'a JSON string or number'}, found ${what}`);
}

/**
 * Streams a table, checking its columns against the declaration, and yields
 * one object per row with exactly the declared fields (values typed by the
 * column types). Columns listed in `ignoredColumns` are skipped unread.
 */
async function* readTable(dir: string, ctx: TableContext, decl: TableDeclaration): AsyncGenerator<{ readonly row: number; readonly values: Record<string, unknown> }> {
  const fields = columnReaders(decl);
  const ignored = decl.ignoredColumns ?? [];
  const format = decl.format ?? 'csv';
  if (format === 'jsonl' || format === 'postgres') {
    const known = new Set<string>([...ignored, ...fields.map(([, spec]) => spec.column)]);
    const records = format === 'jsonl'
      ? readJsonlRecords(join(dir, ctx.file), { file: ctx.file, table: ctx.table })
      : readPostgresRecords(ctx.file, fields.map(([, spec]) => spec.column), ctx);
    for await (const rec of records) {
      for (const member of Object.keys(rec.object)) {
        if (!known.has(member)) {
          throw new ShopDataError({ code: 'UNKNOWN_COLUMN', table: ctx.table, file: ctx.file, row: rec.row, column: member, detail: 'the member is not declared in schema.json (map it or list it in ignoredColumns)' });
        }
      }
      const values: Record<string, unknown> = {};
      let good = true;
      for (const [field, spec, parse] of fields) {
        if (!Object.hasOwn(rec.object, spec.column)) {
          throw new ShopDataError({ code: 'MISSING_COLUMN', table: ctx.table, file: ctx.file, row: rec.row, column: spec.column, detail: `the member declared for ${field} is missing` });
        }
        good =
          readOrReport(ctx, () => {
            const cell = jsonCell(ctx, spec, rec.row, rec.object[spec.column], field.startsWith(EXTRA));
            if ('value' in cell) {
              values[field] = cell.value;
              return;
            }
            const r = parse(cell.text);
            if (!r.ok) throw badValue(ctx, rec.row, spec.column, r.problem);
            values[field] = r.value;
          }) && good;
      }
      if (good) yield { row: rec.row, values };
    }
    return;
  }
  let readers: Array<[string, (rec: CsvRecord) => unknown]> | undefined;
  for await (const rec of readCsvRecords(join(dir, ctx.file), { file: ctx.file, table: ctx.table, ...(decl.encoding === undefined ? {} : { encoding: decl.encoding }) })) {
    if (readers === undefined) {
      readers = headerReaders(ctx, rec.fields, fields, ignored);
      continue;
    }
    const values: Record<string, unknown> = {};
    let good = true;
    for (const [field, read] of readers) good = readOrReport(ctx, () => void (values[field] = read(rec))) && good;
    if (good) yield { row: rec.row, values };
  }
  if (readers === undefined) {
    throw new ShopDataError({ code: 'MISSING_COLUMN', table: ctx.table, file: ctx.file, row: 0, detail: 'the file is empty (no header)' });
  }
}

function headerReaders(
  ctx: TableContext,
  header: readonly string[],
  fields: readonly ColumnReader[],
  ignored: readonly string[],
): Array<[string, (rec: CsvRecord) => unknown]> {
  const position = new Map<string, number>();
  header.forEach((name, i) => {
    if (position.has(name)) {
      throw new ShopDataError({ code: 'DUPLICATE_COLUMN', table: ctx.table, file: ctx.file, row: 0, column: name, detail: 'the column appears twice in the header' });
    }
    position.set(name, i);
  });
  const declared = new Set<string>(ignored);
  const readers: Array<[string, (rec: CsvRecord) => unknown]> = [];
  for (const [field, spec, parse] of fields) {
    declared.add(spec.column);
    const i = position.get(spec.column);
    if (i === undefined) {
      throw new ShopDataError({
        code: 'MISSING_COLUMN',
        table: ctx.table,
        file: ctx.file,
        row: 0,
        column: spec.column,
        detail: `the column declared for ${field} is not in the header`,
      });
    }
    readers.push([
      field,
      (rec) => {
        const r = parse(rec.fields[i] ?? '');
        if (r.ok) return r.value;
        throw badValue(ctx, rec.row, spec.column, r.problem);
      },
    ]);
  }
  for (const name of header) {
    if (!declared.has(name)) {
      throw new ShopDataError({
        code: 'UNKNOWN_COLUMN',
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
  readonly campaigns?: PooledCampaignExposure[];
  readonly sessions?: PooledSession[];
  readonly shopMetrics?: PooledShopMetricsPeriod[];
  readonly tables?: Record<string, DataTable>;
}

const key = (shopId: string, id: string): string => `${shopId}\u0000${id}`;

/**
 * Loads every declared table. `fixedShopId` is the shop of every row for a
 * single shop; pooled files carry it in their `shopId` column instead. Ids
 * must be unique per shop, and every order, campaign and session row must
 * belong to a listed customer of the same shop.
 */
async function loadRows(dir: string, schema: ShopSchema, fixedShopId: string | undefined): Promise<LoadedRows> {
  const t = schema.tables;
  if (fixedShopId === undefined) {
    for (const [name, decl] of Object.entries(t)) {
      if (decl !== undefined && decl.fields.shopId === undefined) {
        throw new ShopDataError({ code: 'SCHEMA_INVALID', table: 'schema', file: 'schema.json', column: `tables.${name}.fields.shopId`, detail: 'pooled data must map shopId' });
      }
    }
    for (const [name, decl] of Object.entries(schema.extraTables ?? {})) {
      if (decl.shopId === undefined) {
        throw new ShopDataError({ code: 'SCHEMA_INVALID', table: 'schema', file: 'schema.json', column: `extraTables.${name}.shopId`, detail: 'pooled data must map shopId' });
      }
    }
  }
  const shopOf = (v: Record<string, unknown>): string => fixedShopId ?? (v.shopId as string);
  // Row-level problems of every table collect here: one load reports them all.
  const problems: ShopDataErrorDetails[] = [];

  const cctx: TableContext = { table: 'customers', file: t.customers?.file ?? 'customers', problems };
  const customers: PooledCustomer[] = [];
  const customerKeys = new Set<string>();
  for await (const { row, values: v } of t.customers === undefined ? noRows() : readTable(dir, cctx, t.customers)) {
    const shopId = shopOf(v);
    const customerId = v.customerId as string;
    const k = key(shopId, customerId);
    if (customerKeys.has(k)) {
      report(cctx, new ShopDataError({ code: 'DUPLICATE_ID', table: 'customers', file: cctx.file, row, column: t.customers?.fields.customerId.column, detail: `customer '${customerId}' appears twice` }));
      continue;
    }
    customerKeys.add(k);
    customers.push({
      shopId,
      customerId,
      // A placeholder until the stage is derived from the orders below (when the export has no stage column).
      lifecycleStage: (v.lifecycleStage ?? 'new') as Customer['lifecycleStage'],
      consentAnalytics: (v.consentAnalytics ?? true) as boolean,
      consentMarketing: (v.consentMarketing ?? false) as boolean,
      city: (v.city ?? '') as string,
      ageBand: v.age === undefined ? '' : ageBand(v.age as number),
      signupUnixS: (v.signupAt ?? 0) as number,
      ...withExtra(extrasOf(v)),
    });
  }
  const checkCustomer = (ctx: TableContext, column: string, row: number, shopId: string, customerId: string): boolean => {
    if (customerKeys.has(key(shopId, customerId))) return true;
    report(ctx, new ShopDataError({ code: 'UNKNOWN_CUSTOMER', table: ctx.table, file: ctx.file, row, column, detail: `customer '${customerId}' is not in ${cctx.file}` }));
    return false;
  };

  const octx: TableContext = { table: 'orders', file: t.orders?.file ?? 'orders', problems };
  const orders: PooledOrder[] = [];
  const orderKeys = new Set<string>();
  for await (const { row, values: v } of t.orders === undefined ? noRows() : readTable(dir, octx, t.orders)) {
    const shopId = shopOf(v);
    const orderId = v.orderId as string;
    const customerId = v.customerId as string;
    if (orderKeys.has(key(shopId, orderId))) {
      report(octx, new ShopDataError({ code: 'DUPLICATE_ID', table: 'orders', file: octx.file, row, column: t.orders?.fields.orderId.column, detail: `order '${orderId}' appears twice` }));
      continue;
    }
    orderKeys.add(key(shopId, orderId));
    if (!checkCustomer(octx, t.orders?.fields.customerId.column ?? '', row, shopId, customerId)) continue;
    orders.push({ shopId, orderId, customerId, orderedUnixS: v.orderedAt as number, amountCents: v.amount as bigint, returned: v.returned as boolean, ...withExtra(extrasOf(v)) });
  }

  if (t.customers !== undefined && t.customers.fields.lifecycleStage === undefined) {
    const stages = deriveLifecycleStages(customers, orders);
    customers.forEach((c, i) => {
      customers[i] = { ...c, lifecycleStage: stages.get(key(c.shopId, c.customerId)) ?? 'new' };
    });
  }
  const out: { -readonly [K in keyof LoadedRows]: LoadedRows[K] } = { customers, orders };
  if (t.campaigns !== undefined) {
    const decl = t.campaigns;
    const ctx: TableContext = { table: 'campaigns', file: decl.file, problems };
    const seen = new Set<string>();
    const rows: PooledCampaignExposure[] = [];
    for await (const { row, values: v } of readTable(dir, ctx, decl)) {
      const shopId = shopOf(v);
      const customerId = v.customerId as string;
      const campaignId = v.campaignId as string;
      if (!checkCustomer(ctx, decl.fields.customerId.column, row, shopId, customerId)) continue;
      const k = key(shopId, `${campaignId}\u0000${customerId}`);
      if (seen.has(k)) {
        report(ctx, new ShopDataError({ code: 'DUPLICATE_ID', table: 'campaigns', file: ctx.file, row, column: decl.fields.campaignId.column, detail: `customer '${customerId}' appears twice in campaign '${campaignId}'` }));
        continue;
      }
      seen.add(k);
      rows.push({
        shopId,
        customerId,
        campaignId,
        variant: v.variant as CampaignVariant,
        exposed: v.exposed as boolean,
        opened: v.opened as boolean,
        clicked: v.clicked as boolean,
        converted: v.converted as boolean,
      });
    }
    out.campaigns = rows;
  }
  if (t.sessions !== undefined) {
    const decl = t.sessions;
    const ctx: TableContext = { table: 'sessions', file: decl.file, problems };
    const rows: PooledSession[] = [];
    for await (const { row, values: v } of readTable(dir, ctx, decl)) {
      const shopId = shopOf(v);
      const customerId = v.customerId as string;
      if (!checkCustomer(ctx, decl.fields.customerId.column, row, shopId, customerId)) continue;
      rows.push({ shopId, customerId, channel: v.channel as string, viewed: v.viewed as boolean, carted: v.carted as boolean, ordered: v.ordered as boolean });
    }
    out.sessions = rows;
  }
  if (t.shopMetrics !== undefined) out.shopMetrics = await loadShopMetrics(dir, t.shopMetrics, shopOf);
  if (schema.extraTables !== undefined) {
    const tables: Record<string, { rows: Record<string, ColumnValue>[]; customerIds?: string[] }> = {};
    for (const [name, decl] of Object.entries(schema.extraTables)) {
      const ctx: TableContext = { table: `extraTables.${name}`, file: decl.file, problems };
      const rows: Record<string, ColumnValue>[] = [];
      const customerIds: string[] = [];
      const fields = { ...(decl.shopId === undefined ? {} : { shopId: decl.shopId }), ...(decl.customerId === undefined ? {} : { customerId: decl.customerId }) };
      for await (const { row: at, values: v } of readTable(dir, ctx, { file: decl.file, format: decl.format, encoding: decl.encoding, fields, columns: decl.columns, ignoredColumns: decl.ignoredColumns })) {
        const row: Record<string, ColumnValue> = { ...extrasOf(v) };
        if (fixedShopId === undefined) row['shop_id'] = shopOf(v);
        if (decl.customerId !== undefined) {
          // A row of a customer the export does not hold cannot follow any consent: reported, not read.
          if (!checkCustomer(ctx, decl.customerId.column, at, shopOf(v), v.customerId as string)) continue;
          customerIds.push(v.customerId as string);
        }
        rows.push(row);
      }
      tables[name] = decl.customerId === undefined ? { rows } : { rows, customerIds };
    }
    out.tables = tables;
  }
  if (problems.length > 0) throw ShopDataError.of(problems);
  return out;
}

/** The rows of a table the schema leaves out. */
async function* noRows(): AsyncGenerator<{ readonly row: number; readonly values: Record<string, unknown> }> {}

const withExtra = (extra: Record<string, ColumnValue> | undefined): { extra?: Record<string, ColumnValue> } => (extra === undefined ? {} : { extra });

/**
 * Monthly shop figures: periods are `YYYY-MM` and unique per shop, counts
 * are non-negative and positive ratings never exceed ratings.
 */
async function loadShopMetrics(
  dir: string,
  decl: NonNullable<ShopSchema['tables']['shopMetrics']>,
  shopOf: (v: Record<string, unknown>) => string,
): Promise<PooledShopMetricsPeriod[]> {
  const ctx: TableContext = { table: 'shopMetrics', file: decl.file };
  const f = decl.fields;
  const seen = new Set<string>();
  const rows: PooledShopMetricsPeriod[] = [];
  for await (const { row, values: v } of readTable(dir, ctx, decl)) {
    const shopId = shopOf(v);
    const period = readPeriod(v.period as string);
    if (!period.ok) throw badValue(ctx, row, f.period.column, period.problem);
    if (seen.has(key(shopId, period.value))) {
      throw new ShopDataError({ code: 'DUPLICATE_ID', table: 'shopMetrics', file: ctx.file, row, column: f.period.column, detail: `period '${period.value}' appears twice` });
    }
    seen.add(key(shopId, period.value));
    const counts = ['orders', 'ratings', 'positiveRatings', 'returns', 'complaints', 'inquiries', 'responseTimeSumS'] as const;
    for (const c of counts) {
      if ((v[c] as number) < 0) throw badValue(ctx, row, f[c].column, `'${String(v[c])}' is negative; counts are ≥ 0`);
    }
    if ((v.positiveRatings as number) > (v.ratings as number)) {
      throw badValue(ctx, row, f.positiveRatings.column, `${String(v.positiveRatings)} positive ratings exceed the ${String(v.ratings)} ratings of the month`);
    }
    rows.push({
      shopId,
      period: period.value,
      orders: v.orders as number,
      ratings: v.ratings as number,
      positiveRatings: v.positiveRatings as number,
      returns: v.returns as number,
      complaints: v.complaints as number,
      inquiries: v.inquiries as number,
      responseTimeSumS: v.responseTimeSumS as number,
    });
  }
  return rows;
}

const DAY_S = DAY_SECONDS;
/** Days without an order after which a customer is churning (derived stages). */
export const CHURN_AFTER_DAYS = 180;
/** Orders from which a customer is loyal (derived stages). */
export const LOYAL_FROM_ORDERS = 4;

/**
 * Lifecycle stages derived from the orders, for exports without a stage
 * column. Measured at the shop's latest order (the export's own "now"), per
 * customer: no order → `new`; the last order more than CHURN_AFTER_DAYS
 * (180) days before it → `churning`; LOYAL_FROM_ORDERS (4) or more orders →
 * `loyal`; one order → `new`; otherwise `active`. Keyed by shop and customer.
 */
export function deriveLifecycleStages(
  customers: readonly { readonly shopId: string; readonly customerId: string }[],
  orders: readonly { readonly shopId: string; readonly customerId: string; readonly orderedUnixS: number }[],
): Map<string, Customer['lifecycleStage']> {
  const latestOfShop = new Map<string, number>();
  const byCustomer = new Map<string, { count: number; last: number }>();
  for (const o of orders) {
    latestOfShop.set(o.shopId, Math.max(latestOfShop.get(o.shopId) ?? -Infinity, o.orderedUnixS));
    const k = key(o.shopId, o.customerId);
    const c = byCustomer.get(k) ?? { count: 0, last: -Infinity };
    byCustomer.set(k, { count: c.count + 1, last: Math.max(c.last, o.orderedUnixS) });
  }
  const out = new Map<string, Customer['lifecycleStage']>();
  for (const c of customers) {
    const k = key(c.shopId, c.customerId);
    const h = byCustomer.get(k);
    const now = latestOfShop.get(c.shopId);
    if (h === undefined || now === undefined) out.set(k, 'new');
    else if (now - h.last > CHURN_AFTER_DAYS * DAY_S) out.set(k, 'churning');
    else if (h.count >= LOYAL_FROM_ORDERS) out.set(k, 'loyal');
    else if (h.count === 1) out.set(k, 'new');
    else out.set(k, 'active');
  }
  return out;
}

const CUSTOMER_BUILT_IN_FIELDS = ['customer.lifecycle_stage', 'customer.age', 'customer.age_band', 'customer.city', 'customer.city_level', 'customer.signup_at', 'customer.consent_analytics', 'customer.consent_marketing'];
const ORDER_BUILT_IN_FIELDS = ['order.order_id', 'order.ordered_at', 'order.amount', 'order.returned'];

/** Built-in fields an export leaves out, by the columns its schema does not map. */
function missingFieldsOf(schema: ShopSchema): string[] {
  const f = schema.tables.customers?.fields;
  // No customer table at all (a shop exporting business tables only): no customer or order field exists.
  if (f === undefined) return [...CUSTOMER_BUILT_IN_FIELDS, ...ORDER_BUILT_IN_FIELDS];
  const out: string[] = schema.tables.orders === undefined ? [...ORDER_BUILT_IN_FIELDS] : [];
  if (f.age === undefined) out.push('customer.age', 'customer.age_band');
  if (f.city === undefined) out.push('customer.city', 'customer.city_level');
  if (f.signupAt === undefined) out.push('customer.signup_at');
  return out;
}

/** Drops the `shopId` member of pooled rows. */
function unpool<T extends { readonly shopId: string }>(rows: readonly T[]): Array<Omit<T, 'shopId'>> {
  return rows.map(({ shopId: _s, ...rest }) => rest);
}

/**
 * Loads one shop's export folder. `shopId` defaults to the folder's name
 * (`OUT/shop-01` → `shop-01`). Throws ShopDataError for anything that does not
 * match `schema.json`. Optional tables the schema does not declare are absent
 * from the result.
 */
export async function loadShopData(dir: string, shopId?: string): Promise<ShopData> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  if (shopId !== undefined && (typeof shopId !== 'string' || shopId === '')) throw new TypeError('shopId: expected a non-empty string');
  const id = shopId ?? basename(resolve(dir));
  const schema = await readShopSchema(dir);
  const rows = await loadRows(dir, schema, id);
  return {
    shopId: id,
    customers: unpool(rows.customers),
    orders: unpool(rows.orders),
    ...(rows.campaigns === undefined ? {} : { campaigns: unpool(rows.campaigns) }),
    ...(rows.sessions === undefined ? {} : { sessions: unpool(rows.sessions) }),
    ...(rows.shopMetrics === undefined ? {} : { shopMetrics: unpool(rows.shopMetrics) }),
    ...(rows.tables === undefined ? {} : { tables: rows.tables }),
    ...(missingFieldsOf(schema).length === 0 ? {} : { missingFields: missingFieldsOf(schema) }),
  };
}

/**
 * Loads the pooled check files (`OUT/pooled`), whose schema maps a `shopId`
 * column on every table. Only demos and tests use this, to compute the
 * plaintext answer a federated release must equal.
 */
export async function loadPooledData(dir: string): Promise<PooledData> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  const schema = await readShopSchema(dir);
  return loadRows(dir, schema, undefined);
}
