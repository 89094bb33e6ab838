/**
 * The declared schema of a shop's export (`schema.json`): for each table the
 * file name, which of the shop's columns holds each fedmart field and how to
 * read it, and which columns fedmart must ignore.
 *
 * Declaring every column is deliberate. A shop states up front which of its
 * columns are direct identifiers (`ignoredColumns`, e.g. name and phone) so
 * the loader can drop them at the parser's row; an undeclared column is an
 * error rather than something silently carried along (PIPL minimisation),
 * and a renamed column in a new export fails loudly instead of shifting data.
 *
 * This file also holds the exact value readers of the column types: amounts
 * go from text to integer cents with no floating point on the way.
 *
 * @module
 */
import { z } from 'zod';
import { CAMPAIGN_VARIANTS, LIFECYCLE_STAGES, type LifecycleStage } from '../analytics/index.js';
import { generaliseAge, type AgeBand } from '../compliance/index.js';
import { ShopDataError } from './csv.js';

const columnName = z.string().min(1).max(128);

const stringColumn = z.strictObject({
  column: columnName,
  type: z.literal('string'),
  /** Longest accepted value (default 256). */
  maxLength: z.number().int().positive().max(65_536).optional(),
});
const integerColumn = z.strictObject({
  column: columnName,
  type: z.literal('integer'),
  min: z.number().int().optional(),
  max: z.number().int().optional(),
});
const decimalColumn = z.strictObject({
  column: columnName,
  type: z.literal('decimal'),
  /** Most digits after the point; at most 2 so that values are whole cents. */
  scale: z.number().int().min(0).max(2),
});
const booleanColumn = z.strictObject({
  column: columnName,
  type: z.literal('boolean'),
  /** Spelling of true/false in this export (default `true` / `false`). */
  trueValue: z.string().min(1).optional(),
  falseValue: z.string().min(1).optional(),
});
const timestampColumn = z.strictObject({
  column: columnName,
  type: z.literal('timestamp'),
  /** `iso8601`: `2026-03-04T05:06:07Z` (UTC, whole seconds); `unix-seconds`: an integer. */
  format: z.enum(['iso8601', 'unix-seconds']).optional(),
});
const stageEnumColumn = z.strictObject({
  column: columnName,
  type: z.literal('enum'),
  /** The shop's spelling → fedmart lifecycle stage. */
  values: z.record(z.string().min(1), z.enum(LIFECYCLE_STAGES)),
});
const variantEnumColumn = z.strictObject({
  column: columnName,
  type: z.literal('enum'),
  /** The shop's spelling → campaign arm (`A`, `B`, `control`). */
  values: z.record(z.string().min(1), z.enum(CAMPAIGN_VARIANTS)),
});
/** Channel names as queries use them: `app`, `web`, `mini-program`, `store`, ... */
export const CHANNEL_NAME_RE = /^[a-z][a-z0-9-]{0,31}$/;
const channelEnumColumn = z.strictObject({
  column: columnName,
  type: z.literal('enum'),
  /** The shop's spelling → fedmart channel name; a channel not listed is a bad value. */
  values: z.record(z.string().min(1), z.string().regex(CHANNEL_NAME_RE, 'expected a channel name like mini-program')),
});
/** A count: an integer column whose declared range stays within [0, 2^53). */
const countColumn = integerColumn.refine((c) => c.min === undefined || c.min >= 0, { message: 'a count column cannot allow negative values', path: ['min'] });

/**
 * PIPL class of an extra column: `personal` (personal information, the
 * default on customers and orders), `sensitive` (PIPL art. 28: health,
 * religion, financial accounts, whereabouts...; needs separate consent) or
 * `none` (business data, the default on further tables).
 */
export const COLUMN_CLASSES = ['personal', 'sensitive', 'none'] as const;
export type ColumnClass = (typeof COLUMN_CLASSES)[number];
const columnClass = z.enum(COLUMN_CLASSES).optional();
/** fedmart-side names of extra columns and tables: `store_week.price`. */
export const EXTRA_NAME_RE = /^[a-z][a-z0-9_]{0,62}$/;
const utcOffset = z
  .string()
  .regex(/^[+-](0[0-9]|1[0-4]):[0-5][0-9]$/, 'expected a UTC offset like +08:00')
  .optional();

/** Extra columns: any number, typed, each with a PIPL class. An empty cell is a missing value. */
const extraColumn = z.discriminatedUnion('type', [
  z.strictObject({
    column: columnName,
    type: z.literal('numeric'),
    /** Most digits after the point (default 6); the sign is allowed. */
    scale: z.number().int().min(0).max(20).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    class: columnClass,
  }),
  z.strictObject({ column: columnName, type: z.literal('integer'), min: z.number().int().optional(), max: z.number().int().optional(), class: columnClass }),
  z.strictObject({
    column: columnName,
    type: z.literal('categorical'),
    /** Declared levels; without them any text up to 256 characters is a level. */
    levels: z.array(z.string().min(1).max(256)).min(1).max(1000).optional(),
    class: columnClass,
  }),
  z.strictObject({ column: columnName, type: z.literal('boolean'), trueValue: z.string().min(1).optional(), falseValue: z.string().min(1).optional(), class: columnClass }),
  z.strictObject({
    column: columnName,
    type: z.literal('date'),
    /** `YYYY-MM-DD`, read as midnight at this UTC offset (default +00:00), in Unix seconds. */
    utcOffset,
    class: columnClass,
  }),
  z.strictObject({
    column: columnName,
    type: z.literal('timestamp'),
    /** `iso8601` (with Z or an offset such as +08:00) or `unix-seconds`. */
    format: z.enum(['iso8601', 'unix-seconds']).optional(),
    class: columnClass,
  }),
]);
/** One declared extra column. */
export type ExtraColumnSpec = z.infer<typeof extraColumn>;
const extraColumns = z
  .record(z.string().max(128), extraColumn)
  .refine((r) => Object.keys(r).length <= 200, 'at most 200 extra columns')
  .optional();

const fileName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a plain file name in the shop folder');

/**
 * How a table's file is written: `csv` (RFC 4180 with a header row, the
 * default) or `jsonl` (one JSON object per line, `column` naming the member),
 * or `postgres`: the table lives in the shop's PostgreSQL database and `file`
 * names it (`orders`, `sales.orders`; connection from FEDMART_SHOP_DATABASE_URL).
 */
export const TABLE_FORMATS = ['csv', 'jsonl', 'postgres'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];
const tableFormat = z.enum(TABLE_FORMATS).optional();
/** Text encoding of a CSV table: `utf-8` (default) or `gb18030` (GBK and GB2312 included). */
export const TABLE_ENCODINGS = ['utf-8', 'gb18030'] as const;
const tableEncoding = z.enum(TABLE_ENCODINGS).optional();

const customersTable = z.strictObject({
  file: fileName,
  format: tableFormat,
  encoding: tableEncoding,
  fields: z.strictObject({
    customerId: stringColumn,
    /** Optional: without it the stage is derived from the orders (`deriveLifecycleStages`). */
    lifecycleStage: stageEnumColumn.optional(),
    /** Optional legacy flags; the consent ledger decides who is counted. Default true / false. */
    consentAnalytics: booleanColumn.optional(),
    consentMarketing: booleanColumn.optional(),
    /** Optional; a query reading city is declined when absent. */
    city: stringColumn.optional(),
    /** Read as an integer and generalised to a band at load. Optional; a query reading age is declined when absent. */
    age: integerColumn.optional(),
    /** Optional; a query reading signup time (tenure) is declined when absent. */
    signupAt: timestampColumn.optional(),
    /** Only in pooled check files. */
    shopId: stringColumn.optional(),
  }),
  /** Further columns (`customer.<name>`). */
  columns: extraColumns,
  ignoredColumns: z.array(columnName).optional(),
});

const ordersTable = z.strictObject({
  file: fileName,
  format: tableFormat,
  encoding: tableEncoding,
  fields: z.strictObject({
    orderId: stringColumn,
    customerId: stringColumn,
    orderedAt: timestampColumn,
    amount: decimalColumn,
    returned: booleanColumn,
    shopId: stringColumn.optional(),
  }),
  /** Further columns (`order.<name>`). */
  columns: extraColumns,
  ignoredColumns: z.array(columnName).optional(),
});

/**
 * A further table, every column declared: business rows (no customer), or,
 * with `customerId`, rows of customers (order lines, coupon uses): those
 * follow their customer's consent and pseudonym like orders do, their
 * columns are personal information unless declared otherwise, and models
 * over them count customers (`customerRows: true` in the spec).
 */
const dataTable = z.strictObject({
  file: fileName,
  format: tableFormat,
  encoding: tableEncoding,
  /** The column holding the customer id (a customer of the customers table). */
  customerId: stringColumn.optional(),
  columns: z
    .record(z.string().max(128), extraColumn)
    .refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= 200, 'expected 1 to 200 columns'),
  /** Only in pooled check files. */
  shopId: stringColumn.optional(),
  ignoredColumns: z.array(columnName).optional(),
});
/** Names the built-in tables use, which a further table cannot take. */
const RESERVED_TABLES = new Set(['customer', 'customers', 'order', 'orders', 'campaign', 'campaigns', 'session', 'sessions', 'shop_metrics', 'shopmetrics']);

/** Campaign exposures: one row per customer and campaign. */
const campaignsTable = z.strictObject({
  file: fileName,
  format: tableFormat,
  encoding: tableEncoding,
  fields: z.strictObject({
    campaignId: stringColumn,
    customerId: stringColumn,
    variant: variantEnumColumn,
    exposed: booleanColumn,
    opened: booleanColumn,
    clicked: booleanColumn,
    converted: booleanColumn,
    shopId: stringColumn.optional(),
  }),
  ignoredColumns: z.array(columnName).optional(),
});

/** Funnel sessions: one row per visit. */
const sessionsTable = z.strictObject({
  file: fileName,
  format: tableFormat,
  encoding: tableEncoding,
  fields: z.strictObject({
    customerId: stringColumn,
    channel: channelEnumColumn,
    viewed: booleanColumn,
    carted: booleanColumn,
    ordered: booleanColumn,
    shopId: stringColumn.optional(),
  }),
  ignoredColumns: z.array(columnName).optional(),
});

/** The shop's monthly service figures (no customer in them). */
const shopMetricsTable = z.strictObject({
  file: fileName,
  format: tableFormat,
  encoding: tableEncoding,
  fields: z.strictObject({
    /** `YYYY-MM`. */
    period: stringColumn,
    orders: countColumn,
    ratings: countColumn,
    positiveRatings: countColumn,
    returns: countColumn,
    complaints: countColumn,
    inquiries: countColumn,
    responseTimeSumS: countColumn,
    shopId: stringColumn.optional(),
  }),
  ignoredColumns: z.array(columnName).optional(),
});

const shopSchemaSchema = z
  .strictObject({
    version: z.literal(1),
    tables: z.strictObject({
      /** Absent for a shop that exports only business tables (extraTables); then orders are absent too. */
      customers: customersTable.optional(),
      orders: ordersTable.optional(),
      campaigns: campaignsTable.optional(),
      sessions: sessionsTable.optional(),
      shopMetrics: shopMetricsTable.optional(),
    }),
    /** Further tables by name (`store_week`): fields `store_week.<column>`. */
    extraTables: z
      .record(z.string().max(128), dataTable)
      .refine((r) => Object.keys(r).length <= 50, 'at most 50 further tables')
      .optional(),
  })
  .superRefine((schema, ctx) => {
    if (schema.tables.customers === undefined && Object.entries(schema.tables).some(([name, t]) => t !== undefined && name !== 'shopMetrics')) {
      ctx.addIssue({ code: 'custom', path: ['tables', 'customers'], message: 'orders, campaigns and sessions need the customers table' });
    }
    if (schema.tables.customers === undefined && schema.tables.shopMetrics === undefined && schema.extraTables === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tables', 'customers'], message: 'declare the customers table, or at least one table under extraTables' });
    }
    for (const [path, t] of [...Object.entries(schema.tables).map(([n, t]) => [['tables', n], t] as const), ...Object.entries(schema.extraTables ?? {}).map(([n, t]) => [['extraTables', n], t] as const)]) {
      if (t !== undefined && t.encoding !== undefined && (t.format ?? 'csv') !== 'csv') ctx.addIssue({ code: 'custom', path: [...path, 'encoding'], message: 'only CSV tables take an encoding (JSON lines are UTF-8)' });
    }
    for (const [name, t] of Object.entries(schema.extraTables ?? {})) {
      if (!EXTRA_NAME_RE.test(name)) ctx.addIssue({ code: 'custom', path: ['extraTables', name], message: `'${name}' is not a table name fedmart can use: lower case letters, digits and _` });
      if (RESERVED_TABLES.has(name)) ctx.addIssue({ code: 'custom', path: ['extraTables', name], message: `'${name}' is a built-in table's name` });
      const used = new Map<string, string>();
      if (t.customerId !== undefined && schema.tables.customers === undefined) ctx.addIssue({ code: 'custom', path: ['extraTables', name, 'customerId'], message: 'rows of customers need the customers table' });
      for (const [field, col] of [...Object.entries(t.columns), ...(t.shopId ? [['shopId', t.shopId] as const] : []), ...(t.customerId ? [['customerId', t.customerId] as const] : [])]) {
        const other = used.get(col.column);
        if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['extraTables', name, 'columns', field, 'column'], message: `column '${col.column}' is already mapped to ${other}` });
        used.set(col.column, field);
      }
      checkExtraColumns(t.columns, ['extraTables', name, 'columns'], ctx);
    }
    for (const [table, t] of Object.entries(schema.tables)) {
      if (t === undefined) continue;
      const used = new Map<string, string>();
      if ('columns' in t && t.columns !== undefined) {
        checkExtraColumns(t.columns, ['tables', table, 'columns'], ctx);
        for (const [name, col] of Object.entries(t.columns)) used.set(col.column, `columns.${name}`);
      }
      for (const [field, col] of Object.entries(t.fields)) {
        if (col === undefined) continue;
        const other = used.get(col.column);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['tables', table, 'fields', field, 'column'], message: `column '${col.column}' is already mapped to ${other}` });
        }
        used.set(col.column, field);
      }
      for (const [i, col] of (t.ignoredColumns ?? []).entries()) {
        if (used.has(col)) {
          ctx.addIssue({ code: 'custom', path: ['tables', table, 'ignoredColumns', i], message: `column '${col}' is both mapped and ignored` });
        }
      }
    }
  });

/** Name, range and level checks of extra column declarations. */
function checkExtraColumns(columns: Readonly<Record<string, ExtraColumnSpec>>, path: (string | number)[], ctx: z.RefinementCtx): void {
  for (const [name, col] of Object.entries(columns)) {
    if (!EXTRA_NAME_RE.test(name)) ctx.addIssue({ code: 'custom', path: [...path, name], message: `'${name}' is not a column name fedmart can use: lower case letters, digits and _ (the shop's own header goes in "column")` });
    if ((col.type === 'numeric' || col.type === 'integer') && col.min !== undefined && col.max !== undefined && col.min > col.max) {
      ctx.addIssue({ code: 'custom', path: [...path, name, 'min'], message: `min ${col.min} is above max ${col.max}` });
    }
    if (col.type === 'categorical' && col.levels !== undefined && new Set(col.levels).size !== col.levels.length) {
      ctx.addIssue({ code: 'custom', path: [...path, name, 'levels'], message: 'a level is listed twice' });
    }
    if (col.type === 'boolean' && col.trueValue !== undefined && col.trueValue === col.falseValue) {
      ctx.addIssue({ code: 'custom', path: [...path, name, 'falseValue'], message: 'true and false are spelled the same' });
    }
  }
}

/** A validated `schema.json`. */
export type ShopSchema = z.infer<typeof shopSchemaSchema>;
export type CustomersTableSchema = NonNullable<ShopSchema['tables']['customers']>;
export type OrdersTableSchema = NonNullable<ShopSchema['tables']['orders']>;
export type CampaignsTableSchema = NonNullable<ShopSchema['tables']['campaigns']>;
export type SessionsTableSchema = NonNullable<ShopSchema['tables']['sessions']>;
export type ShopMetricsTableSchema = NonNullable<ShopSchema['tables']['shopMetrics']>;
/** Tables a shop may leave out of its export. */
export const OPTIONAL_TABLES = ['campaigns', 'sessions', 'shopMetrics'] as const;
export type OptionalTable = (typeof OPTIONAL_TABLES)[number];
/** One column declaration of any type. */
export type ColumnSpec =
  | z.infer<typeof stringColumn>
  | z.infer<typeof integerColumn>
  | z.infer<typeof decimalColumn>
  | z.infer<typeof booleanColumn>
  | z.infer<typeof timestampColumn>
  | z.infer<typeof stageEnumColumn>
  | z.infer<typeof variantEnumColumn>
  | z.infer<typeof channelEnumColumn>;

/**
 * Validates untrusted `schema.json` content. Throws ShopDataError
 * (`SCHEMA_INVALID`, table `schema`) naming the JSON path in `column`.
 */
export function parseShopSchema(json: unknown, file = 'schema.json'): ShopSchema {
  const result = shopSchemaSchema.safeParse(json);
  if (result.success) return result.data;
  // Every problem at once: a shop fixing its schema should not have to run the loader once per mistake.
  const problems = result.error.issues.slice(0, 50).map((issue) => {
    const path = issue.path.map((p) => String(p)).join('.');
    return { column: path, detail: issue.message };
  });
  const first = problems[0];
  const detail =
    problems.length === 1
      ? (first?.detail ?? 'invalid schema')
      : `${problems.length}${result.error.issues.length > 50 ? '+' : ''} problems: ${problems.map((p) => `${p.column === '' ? '(top)' : p.column}: ${p.detail}`).join('; ')}`;
  throw new ShopDataError({
    code: 'SCHEMA_INVALID',
    table: 'schema',
    file,
    ...(first !== undefined && first.column !== '' ? { column: first.column } : {}),
    detail,
  });
}

/**
 * The field classification entries of the columns a schema declares
 * (`customer.<name>`, `order.<name>`, `<table>.<name>`), from each column's
 * PIPL class: `personal` is general personal information, `sensitive` is
 * sensitive (graded important), `none` is business data. Customers and
 * orders default to `personal`, further tables to `none` (`personal` when
 * their rows are customers' rows).
 */
export function declaredFieldClasses(schema: ShopSchema): { field: string; class: 'general' | 'sensitive'; grade: 'general' | 'important'; category: string }[] {
  const out: { field: string; class: 'general' | 'sensitive'; grade: 'general' | 'important'; category: string }[] = [];
  const add = (table: string, columns: Readonly<Record<string, ExtraColumnSpec>> | undefined, fallback: ColumnClass): void => {
    for (const [name, col] of Object.entries(columns ?? {})) {
      const cls = col.class ?? fallback;
      out.push(
        cls === 'sensitive'
          ? { field: `${table}.${name}`, class: 'sensitive', grade: 'important', category: 'declared-sensitive' }
          : { field: `${table}.${name}`, class: 'general', grade: 'general', category: cls === 'none' ? 'business' : 'declared-personal' },
      );
    }
  };
  add('customer', schema.tables.customers?.columns, 'personal');
  add('order', schema.tables.orders?.columns, 'personal');
  for (const [name, t] of Object.entries(schema.extraTables ?? {})) add(name, t.columns, t.customerId === undefined ? 'none' : 'personal');
  return out;
}

/** Options of {@link standardShopSchema}. */
export interface StandardSchemaOptions {
  /** Add the `shop_id` column of the pooled check files. */
  readonly pooled?: boolean;
  /** Optional tables to declare too (default none; `fedmart synth` writes all of {@link OPTIONAL_TABLES}). */
  readonly include?: readonly OptionalTable[];
  /** Format of every declared table (default `csv`); file names follow it. */
  readonly format?: 'csv' | 'jsonl';
}

/** The channel names `fedmart synth` writes, mapped to themselves. */
export const STANDARD_CHANNELS = ['app', 'web', 'mini-program', 'store'] as const;

/**
 * The column layout `fedmart synth` writes (and the reference for shops
 * exporting in the standard format). `pooled` adds the `shop_id` column of
 * the pooled check files.
 */
export function standardShopSchema(options: StandardSchemaOptions = {}): ShopSchema {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const pooled = options.pooled === true;
  const include = new Set(options.include ?? []);
  for (const t of include) if (!(OPTIONAL_TABLES as readonly string[]).includes(t)) throw new RangeError(`options.include: unknown table '${String(t)}'`);
  const format = options.format ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl') throw new RangeError(`options.format: expected csv or jsonl, got '${String(format)}'`);
  const file = (name: string): { file: string; format?: TableFormat } => (format === 'csv' ? { file: `${name}.csv` } : { file: `${name}.jsonl`, format });
  const count = (column: string) => ({ column, type: 'integer' as const, min: 0 });
  const shopId = pooled ? { shopId: { column: 'shop_id', type: 'string' as const } } : {};
  return {
    version: 1,
    tables: {
      customers: {
        ...file('customers'),
        fields: {
          customerId: { column: 'customer_id', type: 'string' },
          lifecycleStage: {
            column: 'lifecycle_stage',
            type: 'enum',
            values: Object.fromEntries(LIFECYCLE_STAGES.map((s) => [s, s])),
          },
          consentAnalytics: { column: 'consent_analytics', type: 'boolean' },
          consentMarketing: { column: 'consent_marketing', type: 'boolean' },
          city: { column: 'city', type: 'string' },
          age: { column: 'age', type: 'integer', min: 0, max: 130 },
          signupAt: { column: 'signup_at', type: 'timestamp', format: 'iso8601' },
          ...shopId,
        },
        ignoredColumns: ['name', 'phone'],
      },
      orders: {
        ...file('orders'),
        fields: {
          orderId: { column: 'order_id', type: 'string' },
          customerId: { column: 'customer_id', type: 'string' },
          orderedAt: { column: 'ordered_at', type: 'timestamp', format: 'iso8601' },
          amount: { column: 'amount', type: 'decimal', scale: 2 },
          returned: { column: 'returned', type: 'boolean' },
          ...shopId,
        },
        ignoredColumns: [],
      },
      ...(include.has('campaigns')
        ? {
            campaigns: {
              ...file('campaigns'),
              fields: {
                campaignId: { column: 'campaign_id', type: 'string' },
                customerId: { column: 'customer_id', type: 'string' },
                variant: { column: 'variant', type: 'enum', values: { A: 'A', B: 'B', control: 'control' } },
                exposed: { column: 'exposed', type: 'boolean' },
                opened: { column: 'opened', type: 'boolean' },
                clicked: { column: 'clicked', type: 'boolean' },
                converted: { column: 'converted', type: 'boolean' },
                ...shopId,
              },
              ignoredColumns: [],
            },
          }
        : {}),
      ...(include.has('sessions')
        ? {
            sessions: {
              ...file('sessions'),
              fields: {
                customerId: { column: 'customer_id', type: 'string' },
                channel: { column: 'channel', type: 'enum', values: Object.fromEntries(STANDARD_CHANNELS.map((c) => [c, c])) },
                viewed: { column: 'viewed', type: 'boolean' },
                carted: { column: 'carted', type: 'boolean' },
                ordered: { column: 'ordered', type: 'boolean' },
                ...shopId,
              },
              ignoredColumns: [],
            },
          }
        : {}),
      ...(include.has('shopMetrics')
        ? {
            shopMetrics: {
              ...file('shop-metrics'),
              fields: {
                period: { column: 'period', type: 'string', maxLength: 7 },
                orders: count('orders'),
                ratings: count('ratings'),
                positiveRatings: count('positive_ratings'),
                returns: count('returns'),
                complaints: count('complaints'),
                inquiries: count('inquiries'),
                responseTimeSumS: count('response_time_sum_s'),
                ...shopId,
              },
              ignoredColumns: [],
            },
          }
        : {}),
    },
  };
}

// ---------------------------------------------------------------------------
// Value readers. Each returns the value or a string saying what is wrong
// (the loader adds file, row and column), so no exception is built per cell
// on the hot path and messages stay uniform.

/** Result of reading one cell. */
export type CellResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const ok = <T>(value: T): CellResult<T> => ({ ok: true, value });
const bad = (text: string, what: string): CellResult<never> => ({ ok: false, problem: `'${clip(text)}' is not ${what}` });

function clip(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  return oneLine.length > 40 ? `${oneLine.slice(0, 37)}...` : oneLine;
}

/** Non-empty text up to `maxLength` (default 256). */
export function readString(text: string, spec: { readonly maxLength?: number | undefined }): CellResult<string> {
  const max = spec.maxLength ?? 256;
  if (text.length === 0) return { ok: false, problem: 'the value is empty' };
  if (text.length > max) return { ok: false, problem: `the value is longer than ${max} characters` };
  return ok(text);
}

/** Decimal integer without sign tricks or leading zeros, within [min, max]. */
export function readInteger(text: string, spec: { readonly min?: number | undefined; readonly max?: number | undefined }): CellResult<number> {
  if (!/^-?(0|[1-9][0-9]{0,15})$/.test(text)) return bad(text, 'an integer');
  const v = Number(text);
  if (!Number.isSafeInteger(v)) return bad(text, 'a safe integer');
  if (spec.min !== undefined && v < spec.min) return bad(text, `an integer ≥ ${spec.min}`);
  if (spec.max !== undefined && v > spec.max) return bad(text, `an integer ≤ ${spec.max}`);
  return ok(v);
}

/**
 * Non-negative decimal with at most `scale` places, as exact integer cents:
 * `123.4` (scale 2) → 12340n. Pure string arithmetic, no floating point.
 */
export function readDecimalCents(text: string, spec: { readonly scale: number }): CellResult<bigint> {
  const m = /^(0|[1-9][0-9]{0,17})(?:\.([0-9]+))?$/.exec(text);
  const frac = m?.[2] ?? '';
  if (m === null && /^-[0-9]/.test(text)) {
    return { ok: false, problem: `'${clip(text)}' is negative; an order amount is ≥ 0 (mark refunds with the returned flag, or declare the column under columns as numeric)` };
  }
  if (m !== null && frac.length > spec.scale) {
    return { ok: false, problem: `'${clip(text)}' has ${frac.length} decimal places; this column declares at most ${spec.scale}` };
  }
  if (m === null || (m[2] !== undefined && frac.length === 0)) {
    return bad(text, `a decimal with ${spec.scale} places`);
  }
  return ok(BigInt(m[1] as string) * 100n + BigInt(frac.padEnd(2, '0') || '0'));
}

/**
 * A signed decimal with at most `scale` places (default 6), within
 * [min, max], as the double nearest to it (the same double R's read.csv
 * gives). Empty text is a missing value (null).
 */
export function readNumeric(text: string, spec: { readonly scale?: number | undefined; readonly min?: number | undefined; readonly max?: number | undefined }): CellResult<number | null> {
  if (text === '') return ok(null);
  const scale = spec.scale ?? 6;
  const m = /^-?(0|[1-9][0-9]{0,17})(?:\.([0-9]+))?$/.exec(text);
  if (m === null || (m[2] !== undefined && m[2].length === 0)) return bad(text, 'a decimal number like -12.5');
  if ((m[2] ?? '').length > scale) return { ok: false, problem: `'${clip(text)}' has ${(m[2] ?? '').length} decimal places; the column declares at most ${scale} (raise scale in schema.json)` };
  const v = Number(text);
  if (spec.min !== undefined && v < spec.min) return bad(text, `a number ≥ ${spec.min}`);
  if (spec.max !== undefined && v > spec.max) return bad(text, `a number ≤ ${spec.max}`);
  return ok(v === 0 ? 0 : v);
}

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/** Minutes east of UTC of an offset like `+08:00`. */
function offsetMinutes(offset: string | undefined): number {
  if (offset === undefined) return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  return sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
}

/** `YYYY-MM-DD` as Unix seconds of its midnight at `utcOffset`; empty text is null. */
export function readDate(text: string, spec: { readonly utcOffset?: string | undefined }): CellResult<number | null> {
  if (text === '') return ok(null);
  const m = DATE.exec(text);
  if (m === null) return bad(text, 'a date like 2026-03-04');
  const [y, mo, d] = m.slice(1).map(Number) as [number, number, number];
  const seconds = civilUtcSeconds(y, mo, d);
  return seconds === undefined ? bad(text, 'a valid date') : ok(seconds - offsetMinutes(spec.utcOffset) * 60);
}

const ISO_OFFSET = /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])$/;

/** A timestamp of an extra column: ISO 8601 with `Z` or an offset, or Unix seconds; empty text is null. */
export function readExtraTimestamp(text: string, spec: { readonly format?: 'iso8601' | 'unix-seconds' | undefined }): CellResult<number | null> {
  if (text === '') return ok(null);
  if (spec.format === 'unix-seconds') return readTimestamp(text, spec);
  const m = ISO_OFFSET.exec(text);
  if (m === null) return bad(text, 'a timestamp like 2026-03-04T05:06:07+08:00');
  const utc = readTimestamp(`${m[1]}Z`, {});
  if (!utc.ok) return utc;
  return ok(utc.value - (m[2] === 'Z' ? 0 : offsetMinutes(m[2])) * 60);
}

/** A level of a categorical column: one of the declared levels, or any text up to 256 characters; empty is null. */
export function readCategorical(text: string, spec: { readonly levels?: readonly string[] | undefined }): CellResult<string | null> {
  if (text === '') return ok(null);
  if (spec.levels !== undefined) return spec.levels.includes(text) ? ok(text) : bad(text, `one of the declared levels (${spec.levels.slice(0, 10).join(', ')}${spec.levels.length > 10 ? ', ...' : ''})`);
  return text.length > 256 ? { ok: false, problem: 'the value is longer than 256 characters' } : ok(text);
}

/** Reader of an extra column's cell (empty text is a missing value). */
export function extraReader(spec: ExtraColumnSpec): (text: string) => CellResult<number | string | boolean | null> {
  switch (spec.type) {
    case 'numeric':
      return (t) => readNumeric(t, spec);
    case 'integer':
      return (t) => (t === '' ? ok(null) : readInteger(t, spec));
    case 'categorical':
      return (t) => readCategorical(t, spec);
    case 'boolean':
      return (t) => (t === '' ? ok(null) : readBoolean(t, spec));
    case 'date':
      return (t) => readDate(t, spec);
    case 'timestamp':
      return (t) => readExtraTimestamp(t, spec);
  }
}

/** Exactly the declared spellings of true and false (case-sensitive). */
export function readBoolean(
  text: string,
  spec: { readonly trueValue?: string | undefined; readonly falseValue?: string | undefined },
): CellResult<boolean> {
  const t = spec.trueValue ?? 'true';
  const f = spec.falseValue ?? 'false';
  if (text === t) return ok(true);
  if (text === f) return ok(false);
  return bad(text, `a boolean (${t}/${f})`);
}

const ISO = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;

/**
 * Unix seconds of a civil UTC date and time, or undefined when it does not
 * exist (02-30, hour 24, month 13): the readers' one check of calendar
 * fields.
 */
export function civilUtcSeconds(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number | undefined {
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  const exists =
    back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCHours() === h && back.getUTCMinutes() === mi && back.getUTCSeconds() === s;
  return exists ? ms / 1000 : undefined;
}

/**
 * Integer Unix seconds from `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds;
 * impossible dates such as 02-30 are rejected) or from an integer.
 */
export function readTimestamp(text: string, spec: { readonly format?: 'iso8601' | 'unix-seconds' | undefined }): CellResult<number> {
  if (spec.format === 'unix-seconds') {
    const r = readInteger(text, {});
    return r.ok ? r : bad(text, 'a Unix time in seconds');
  }
  const m = ISO.exec(text);
  if (m === null) return bad(text, 'a UTC timestamp like 2026-03-04T05:06:07Z');
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const seconds = civilUtcSeconds(y, mo, d, h, mi, s);
  return seconds === undefined ? bad(text, 'a valid date and time') : ok(seconds);
}

/** The shop's spelling of an enumerated value → the fedmart value (stage, arm, channel). */
export function readEnum<T extends string>(text: string, spec: { readonly values: Readonly<Record<string, T>> }): CellResult<T> {
  const v = Object.hasOwn(spec.values, text) ? spec.values[text] : undefined;
  return v === undefined ? bad(text, `one of ${Object.keys(spec.values).join(', ')}`) : ok(v);
}

/** The shop's spelling of a lifecycle stage → the fedmart stage. */
export function readStage(text: string, spec: { readonly values: Readonly<Record<string, LifecycleStage>> }): CellResult<LifecycleStage> {
  return readEnum(text, spec);
}

const PERIOD = /^([0-9]{4})-(0[1-9]|1[0-2])$/;

/** A calendar month `YYYY-MM` (01–12). */
export function readPeriod(text: string): CellResult<string> {
  return PERIOD.test(text) ? ok(text) : bad(text, 'a month like 2025-06');
}

/**
 * Generalises an age to its band (quasi-identifier generalisation): exact
 * ages are never kept in memory beyond the row. The labels are compliance's
 * (`<18`, `18-24`, ..., `65+`, see `generaliseAge`), so a loaded
 * `Customer.ageBand` is always one of the declared AGE_BANDS that age-band
 * queries group by. An age outside 0–150 (a custom schema without min/max)
 * belongs to the open end band it lies beyond.
 */
export function ageBand(age: number): AgeBand {
  return generaliseAge(Math.min(150, Math.max(0, age)));
}
