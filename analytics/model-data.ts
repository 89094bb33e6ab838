/**
 * What a formula model reads, shared by `linear-model` and
 * `logistic-model`: the formula, the unit of analysis (`data`: `customers`
 * or a further table a shop declares), the snapshot instant of customer
 * models, the levels of categorical variables, per-customer order
 * aggregates and bounds. From these follow the design (formula.ts), the shop
 * fields read (so purposes allow or refuse every variable), the rows each
 * shop builds and the bounds of the fixed-point sums.
 *
 * Variables of a customer model are, in this order of lookup: an aggregate
 * the spec declares (`aggregates: { spend: "sum(order.amount)" }`), a
 * built-in categorical column (`lifecycle_stage`, `age_band`, `city_level`,
 * levels in their fixed order unless the spec declares them), a named
 * feature of analytics/features.ts (`frequency`, `monetary_yuan`, …: the one
 * vocabulary the older kinds use), or an extra column the shop declares on
 * customers (`customer.<name>`). Variables of a table model are the table's
 * columns (`<table>.<name>`).
 *
 * @module
 */
import { z } from 'zod';
import { aggregateInputFields, aggregateValue, parseAggregate, type Aggregate } from './customer-aggregates.js';
import { QuerySpecError } from './errors.js';
import { customerFacts, featureDefinition, featureRowScope } from './features.js';
import { checkLevels, designRow, expandFormula, type Design, type RowValue, type VariableKind } from './formula.js';
import { DEFAULT_MAX_ROWS, asOfSchema, asOfUnixS } from './model-spec.js';
import type { RowScope } from './row-scope.js';
import { AGE_BANDS, CITY_LEVELS } from './customer-groups.js';
import { LIFECYCLE_STAGES, type Customer, type DataTable, type Order, type ShopData } from './shop-data.js';
import { boundSchema } from './spec-parse.js';

const ORDER_TIME = 'order.ordered_at';

/** The customer unit of analysis. */
export const CUSTOMERS_DATA = 'customers';
/** The order unit of analysis: each order before asOf, a row of its customer. */
export const ORDERS_DATA = 'orders';
/** Default bound on the orders of one customer in an order model (what one customer can move). */
export const DEFAULT_MAX_ROWS_PER_CUSTOMER = 1000n;
/** Prefix of a customer's column read on each of its orders (`customer.income`). */
const CUSTOMER_PREFIX = 'customer.';
/** Default bound on |value| of a numeric variable the spec does not bound. */
export const DEFAULT_VARIABLE_MAX_ABS = 1e6;

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const VARIABLE = /^(customer\.)?[a-z][a-z0-9_]{0,62}$/;

/** The parts of a spec that say what a formula model reads. */
export interface ModelData {
  readonly formula: string;
  /** `customers`, `orders` or the name of a further table. */
  readonly data: string;
  /** The further table's rows are customers' rows (its schema declares `customerId`): the rules count customers. */
  readonly customerRows?: true;
  /** Snapshot instant (customer and order models): orders before it exist. */
  readonly asOf?: string;
  /** Levels of categorical variables, reference first. */
  readonly levels: Readonly<Record<string, readonly string[]>>;
  /** Per-customer order aggregates by variable name (customer models only). */
  readonly aggregates: Readonly<Record<string, string>>;
  readonly bounds: {
    readonly maxRows: bigint;
    readonly maxAbs: Readonly<Record<string, number>>;
    /** Order models only: the most orders one customer may have (each shop declines beyond it). */
    readonly maxRowsPerCustomer?: bigint;
  };
}

const levelList = z
  .array(z.string().min(1).max(256))
  .min(2)
  .max(200)
  .refine((l) => new Set(l).size === l.length, 'a level is listed twice');

/** zod members of the {@link ModelData} part of a spec. */
export const modelDataSchema = {
  formula: z.string().min(3).max(2000),
  data: z.string().regex(NAME, 'expected customers, orders or a table name like store_week'),
  /** The further table `data` holds customers' rows (order lines): say so, and the rules count customers. */
  customerRows: z.boolean().optional(),
  asOf: asOfSchema.optional(),
  levels: z.record(z.string().regex(VARIABLE, 'expected a variable name'), levelList).optional(),
  aggregates: z.record(z.string().regex(NAME, 'expected a variable name'), z.string().max(64)).optional(),
  bounds: z
    .strictObject({
      maxRows: boundSchema.optional(),
      /** Order models: the most orders of one customer (default 1000). */
      maxRowsPerCustomer: boundSchema.optional(),
      /** Bound on |value| per variable or formula atom as written (`price`, `log(price)`, the response). */
      maxAbs: z.record(z.string().max(256), z.number().positive().max(1e15)).optional(),
    })
    .optional(),
};

type RawModelData = {
  formula: string;
  data: string;
  customerRows?: boolean | undefined;
  asOf?: string | undefined;
  levels?: Record<string, string[]> | undefined;
  aggregates?: Record<string, string> | undefined;
  bounds?: { maxRows?: bigint | undefined; maxAbs?: Record<string, number> | undefined; maxRowsPerCustomer?: bigint | undefined } | undefined;
};

/**
 * Built-in categorical customer columns a customer model may use without
 * declaring levels, in their fixed order (the first is the reference).
 */
export const BUILT_IN_CATEGORICALS: Readonly<Record<string, { readonly field: string; readonly levels: readonly string[]; readonly value: (c: Customer) => string }>> = {
  lifecycle_stage: { field: 'customer.lifecycle_stage', levels: LIFECYCLE_STAGES, value: (c) => c.lifecycleStage },
  age_band: { field: 'customer.age_band', levels: AGE_BANDS, value: (c) => c.ageBand },
  city_level: { field: 'customer.city_level', levels: CITY_LEVELS, value: (c) => c.city },
};

/** The built-in categorical `name` stands for: `age_band` in a customer model, `customer.age_band` in an order model. */
function builtIn(spec: Pick<ModelData, 'data' | 'aggregates' | 'customerRows'>, name: string) {
  const column = spec.data === CUSTOMERS_DATA && spec.aggregates[name] === undefined ? name : joinsCustomers(spec) && name.startsWith(CUSTOMER_PREFIX) ? name.slice(CUSTOMER_PREFIX.length) : undefined;
  return column !== undefined && Object.hasOwn(BUILT_IN_CATEGORICALS, column) ? BUILT_IN_CATEGORICALS[column] : undefined;
}

/** Whether the model's rows are rows of customers rather than customers (orders, order lines): its release rules count customers. */
export function rowsBelongToCustomers(spec: Pick<ModelData, 'data' | 'customerRows'>): boolean {
  return spec.data === ORDERS_DATA || spec.customerRows === true;
}

/** Whether `customer.<name>` variables read the customer of each row. */
const joinsCustomers = (spec: Pick<ModelData, 'data' | 'customerRows'>): boolean => rowsBelongToCustomers(spec);

/** The type of a base variable as the spec knows it. */
export function kindOfVariable(spec: Pick<ModelData, 'levels' | 'data' | 'aggregates' | 'customerRows'>): (name: string) => VariableKind {
  return (name) => {
    const levels = spec.levels[name] ?? builtIn(spec, name)?.levels;
    return levels === undefined ? { kind: 'numeric' } : { kind: 'categorical', levels };
  };
}

const designs = new WeakMap<ModelData, Design>();

/** The design of a parsed spec (memoised: a spec is parsed once and read many times). */
export function modelDesign(spec: ModelData): Design {
  let d = designs.get(spec);
  if (d === undefined) {
    d = expandFormula(spec.formula, kindOfVariable(spec));
    designs.set(spec, d);
  }
  return d;
}

/**
 * Normalises and checks the model-data part of a parsed spec; `maxColumns`
 * caps the design columns. Throws QuerySpecError naming the path.
 */
export function normaliseModelData(raw: RawModelData, maxColumns: number, response: 'required' | 'none' = 'required'): ModelData {
  const customers = raw.data === CUSTOMERS_DATA;
  const orders = raw.data === ORDERS_DATA;
  const linked = raw.customerRows === true;
  if (linked && (customers || orders)) throw new QuerySpecError('customerRows', `${raw.data} are not a further table; leave customerRows out`);
  if (customers && raw.asOf === undefined) throw new QuerySpecError('asOf', 'a customer model needs asOf (orders before it are counted)');
  if (orders && raw.asOf === undefined) throw new QuerySpecError('asOf', 'an order model needs asOf (orders before it are its rows)');
  if (!customers && !orders && raw.asOf !== undefined) throw new QuerySpecError('asOf', `rows of ${raw.data} have no time cut; leave asOf out`);
  if (!customers && Object.keys(raw.aggregates ?? {}).length > 0) throw new QuerySpecError('aggregates', 'aggregates describe customers; use data: customers');
  if (!orders && !linked && raw.bounds?.maxRowsPerCustomer !== undefined) throw new QuerySpecError('bounds.maxRowsPerCustomer', 'only models over customers\' rows (data: orders, or a table with customerRows: true) have several rows per customer');
  for (const name of Object.keys(raw.levels ?? {})) {
    if (!orders && !linked && name.startsWith(CUSTOMER_PREFIX)) throw new QuerySpecError(`levels.${name}`, 'customer.<column> names the customer column of a row of customers (data: orders, or a table with customerRows: true)');
  }
  for (const [name, text] of Object.entries(raw.aggregates ?? {})) {
    parseAggregate(text, `aggregates.${name}`);
    if (raw.levels?.[name] !== undefined) throw new QuerySpecError(`levels.${name}`, `${name} is an aggregate (numeric)`);
  }
  const spec: ModelData = {
    formula: raw.formula,
    data: raw.data,
    ...(linked ? { customerRows: true as const } : {}),
    ...(raw.asOf === undefined ? {} : { asOf: raw.asOf }),
    levels: raw.levels ?? {},
    aggregates: raw.aggregates ?? {},
    bounds: {
      maxRows: raw.bounds?.maxRows ?? DEFAULT_MAX_ROWS,
      maxAbs: raw.bounds?.maxAbs ?? {},
      ...(orders || linked ? { maxRowsPerCustomer: raw.bounds?.maxRowsPerCustomer ?? DEFAULT_MAX_ROWS_PER_CUSTOMER } : {}),
    },
  };
  if (orders || linked) checkRowVariables(modelDesign(spec).variables);
  const design = modelDesign(spec);
  if (response === 'required' && design.response === null) throw new QuerySpecError('formula', 'this model needs a response: "y ~ terms"');
  if (response === 'none' && design.response !== null) throw new QuerySpecError('formula', `this model takes no response: "~ terms" (drop "${design.responseLabel} ~")`);
  if (design.columns.length > maxColumns) {
    throw new QuerySpecError('formula', `${design.columns.length} design columns; at most ${maxColumns} (a categorical variable of L levels takes L − 1)`);
  }
  for (const name of Object.keys(spec.levels)) {
    if (!design.variables.includes(name)) throw new QuerySpecError(`levels.${name}`, `${name} is not a variable of the formula`);
  }
  for (const name of Object.keys(spec.aggregates)) {
    if (!design.variables.includes(name)) throw new QuerySpecError(`aggregates.${name}`, `${name} is not a variable of the formula`);
  }
  const atoms = new Set([...(design.response === null ? [] : [design.responseLabel]), ...design.variables, ...design.columns.flatMap((c) => c.parts.map((p) => p.atom))]);
  for (const key of Object.keys(spec.bounds.maxAbs)) {
    if (!atoms.has(key)) throw new QuerySpecError(`bounds.maxAbs.${key}`, 'not a variable or term of the formula');
  }
  return spec;
}

/** Models over customers' rows read the row's columns by plain name and its customer's as `customer.<name>`; nothing else has a dot. */
function checkRowVariables(variables: readonly string[]): void {
  for (const v of variables) {
    if (!VARIABLE.test(v)) throw new QuerySpecError('formula', `${v}: a model over customers' rows reads the row's columns (for orders: amount, returned, or a declared column) and its customer's columns as customer.<name>`);
  }
}

/** Bound on |value| of a numeric formula atom: declared, a named feature's default, or the generic default. */
export function atomBound(spec: ModelData, atom: string): number {
  const given = spec.bounds.maxAbs[atom];
  if (given !== undefined) return given;
  if (spec.data === CUSTOMERS_DATA && spec.aggregates[atom] === undefined) {
    const f = featureDefinition(atom);
    if (f !== undefined) return f.defaultMaxAbs;
  }
  return DEFAULT_VARIABLE_MAX_ABS;
}

/** Bound on |value| of each design column (the product of its numeric atoms' bounds). */
export function columnBounds(spec: ModelData): number[] {
  return modelDesign(spec).columns.map((c) => c.parts.reduce((m, p) => m * ('level' in p ? 1 : atomBound(spec, p.atom)), 1));
}

/** How one base variable of a customer model is read. */
type CustomerSource =
  | { readonly t: 'feature'; readonly name: string }
  | { readonly t: 'aggregate'; readonly a: Aggregate }
  | { readonly t: 'built-in'; readonly field: string; readonly value: (c: Customer) => string }
  | { readonly t: 'column'; readonly name: string };

function customerSources(spec: ModelData): Map<string, CustomerSource> {
  const out = new Map<string, CustomerSource>();
  for (const v of modelDesign(spec).variables) {
    const agg = spec.aggregates[v];
    const b = builtIn(spec, v);
    if (agg !== undefined) out.set(v, { t: 'aggregate', a: parseAggregate(agg, `aggregates.${v}`) });
    else if (b !== undefined) out.set(v, { t: 'built-in', field: b.field, value: b.value });
    else if (featureDefinition(v) !== undefined) out.set(v, { t: 'feature', name: v });
    else out.set(v, { t: 'column', name: v });
  }
  return out;
}

/** Shop fields the model reads. */
export function modelInputFields(spec: ModelData): string[] {
  const design = modelDesign(spec);
  if (rowsBelongToCustomers(spec)) {
    // Orders are cut at asOf, so they read their times too.
    const orders = spec.data === ORDERS_DATA;
    const out = new Set<string>(orders ? [ORDER_TIME] : []);
    for (const v of design.variables) out.add(builtIn(spec, v)?.field ?? (v.startsWith(CUSTOMER_PREFIX) ? v : `${orders ? 'order' : spec.data}.${v}`));
    return [...out].sort();
  }
  if (spec.data !== CUSTOMERS_DATA) return design.variables.map((v) => `${spec.data}.${v}`).sort();
  const out = new Set<string>();
  for (const s of customerSources(spec).values()) {
    if (s.t === 'feature') for (const f of featureDefinition(s.name)?.inputFields ?? []) out.add(f);
    else if (s.t === 'aggregate') for (const f of aggregateInputFields(s.a)) out.add(f);
    else if (s.t === 'built-in') out.add(s.field);
    else out.add(`customer.${s.name}`);
  }
  return [...out].sort();
}

/**
 * Rows read: customers with their orders before asOf (customer and order
 * models), every customer with the table's rows (a table of customers'
 * rows: the customer scope marks that it reads customers), or every row of
 * the table.
 */
export function modelRowScope(spec: ModelData): RowScope {
  if (spec.data === CUSTOMERS_DATA || spec.data === ORDERS_DATA) return featureRowScope(asOfUnixS(spec.asOf as string));
  return spec.customerRows === true ? { customer: () => true } : {};
}

/** One unit of analysis: a getter of its variables, and its customer id for customer models. */
export interface ModelUnit {
  readonly customerId: string | undefined;
  readonly get: (name: string) => RowValue;
}

/**
 * The units of analysis of one shop (or of pooled data, for checks), with
 * every categorical value checked against its declared levels. Throws
 * RangeError naming what is missing or wrong, never a value.
 */
export function modelUnits(spec: ModelData, data: ShopData): ModelUnit[] {
  const design = modelDesign(spec);
  const kindOf = kindOfVariable(spec);
  const units = rawUnits(spec, data);
  for (const u of units) checkLevels(design, kindOf, u.get);
  return units;
}

function rawUnits(spec: ModelData, data: ShopData): ModelUnit[] {
  if (spec.data === ORDERS_DATA) return orderUnits(spec, data);
  if (spec.data !== CUSTOMERS_DATA) {
    const table = data.tables?.[spec.data];
    if (table === undefined) throw new RangeError(`data: this shop declares no table ${spec.data}`);
    if (spec.customerRows === true && table.customerIds === undefined) throw new RangeError(`customerRows: table ${spec.data} holds no customers' rows at this shop (its schema declares no customerId)`);
    if (spec.customerRows !== true && table.customerIds !== undefined) throw new RangeError(`customerRows: table ${spec.data} holds customers' rows at this shop; a model over it must say customerRows: true`);
    if (spec.customerRows === true) return linkedUnits(spec, data, table);
    const wanted = modelDesign(spec).variables;
    const first = table.rows[0];
    if (first !== undefined) {
      const missing = wanted.filter((v) => !Object.hasOwn(first, v));
      if (missing.length > 0) throw new RangeError(`data: table ${spec.data} has no column ${missing.join(', ')}`);
    }
    return table.rows.map((row) => ({ customerId: undefined, get: (name: string) => row[name] }));
  }
  const asOf = asOfUnixS(spec.asOf as string);
  const sources = customerSources(spec);
  const needs = new Set(modelInputFields(spec));
  const ordersBy = new Map<string, Order[]>();
  const before = featureRowScope(asOf).order as (o: Order) => boolean;
  for (const o of data.orders) {
    if (!before(o)) continue;
    const list = ordersBy.get(o.customerId);
    if (list) list.push(o);
    else ordersBy.set(o.customerId, [o]);
  }
  return customerFacts(data, asOf, needs).map((facts) => ({
    customerId: facts.customer.customerId,
    get: (name: string): RowValue => {
      const s = sources.get(name);
      if (s === undefined) return undefined;
      if (s.t === 'feature') return featureDefinition(s.name)?.value(facts, asOf);
      if (s.t === 'aggregate') return aggregateValue(s.a, ordersBy.get(facts.customer.customerId) ?? [], asOf);
      if (s.t === 'built-in') return s.value(facts.customer);
      const extra = facts.customer.extra;
      if (extra === undefined || !Object.hasOwn(extra, s.name)) throw new RangeError(`data: customers have no column ${s.name} (declare it under tables.customers.columns)`);
      return extra[s.name];
    },
  }));
}

/** The value of order column `name`: `amount` in yuan, `returned`, `ordered_at` (Unix seconds), or a declared column. */
function orderValue(o: Order, name: string): RowValue {
  if (name === 'amount') return Number(o.amountCents) / 100;
  if (name === 'returned') return o.returned;
  if (name === 'ordered_at') return o.orderedUnixS;
  if (o.extra === undefined || !Object.hasOwn(o.extra, name)) throw new RangeError(`data: orders have no column ${name} (declare it under tables.orders.columns)`);
  return o.extra[name];
}

/** The value of `customer.<name>` for customer `c` of a row: a built-in categorical or a declared column. */
function customerColumn(spec: ModelData, c: Customer, name: string): RowValue {
  const b = builtIn(spec, name);
  if (b !== undefined) return b.value(c);
  const column = name.slice(CUSTOMER_PREFIX.length);
  if (c.extra === undefined || !Object.hasOwn(c.extra, column)) throw new RangeError(`data: customers have no column ${column} (declare it under tables.customers.columns)`);
  return c.extra[column];
}

/** One row of a customer: its customer's id and its own columns by name. */
type CustomerRow = { readonly customerId: string; readonly column: (name: string) => RowValue };

/**
 * Units of rows that belong to customers (orders, a table of customers'
 * rows): the row's own columns by name, its customer's as
 * `customer.<name>`. A row whose customer is not in the data (not
 * consented, so not in the round view) is not read.
 */
function customerRowUnits(spec: ModelData, data: ShopData, rows: Iterable<CustomerRow>): ModelUnit[] {
  const customers = new Map(data.customers.map((c) => [c.customerId, c]));
  const out: ModelUnit[] = [];
  for (const r of rows) {
    const c = customers.get(r.customerId);
    if (c === undefined) continue;
    out.push({ customerId: c.customerId, get: (name: string): RowValue => (name.startsWith(CUSTOMER_PREFIX) ? customerColumn(spec, c, name) : r.column(name)) });
  }
  return out;
}

/** Each row of a table of customers' rows. */
function linkedUnits(spec: ModelData, data: ShopData, table: DataTable): ModelUnit[] {
  const rows = table.rows.map((row, i): CustomerRow => ({
    customerId: table.customerIds?.[i] as string,
    column: (name) => {
      if (!Object.hasOwn(row, name)) throw new RangeError(`data: table ${spec.data} has no column ${name}`);
      return row[name];
    },
  }));
  return customerRowUnits(spec, data, rows);
}

/** Each order before asOf. */
function orderUnits(spec: ModelData, data: ShopData): ModelUnit[] {
  const before = featureRowScope(asOfUnixS(spec.asOf as string)).order as (o: Order) => boolean;
  const rows = data.orders.filter(before).map((o): CustomerRow => ({ customerId: o.customerId, column: (name) => orderValue(o, name) }));
  return customerRowUnits(spec, data, rows);
}

/**
 * The design rows of one shop (or of pooled data, for checks): the design
 * columns, then the response when the formula has one; rows with a missing
 * value are left out, as R's na.omit does. Throws RangeError naming the
 * variable for an undeclared level or a non-finite value.
 */
export function modelRows(spec: ModelData, data: ShopData): number[][] {
  return modelSubjectRows(spec, data).rows;
}

/**
 * {@link modelRows} with, for an order model, the customer of each row
 * (`subjects[i]` belongs to `rows[i]`), which the release rules count.
 */
export function modelSubjectRows(spec: ModelData, data: ShopData): { rows: number[][]; subjects: string[] | undefined } {
  const design = modelDesign(spec);
  const rows: number[][] = [];
  const subjects: string[] = [];
  for (const u of modelUnits(spec, data)) {
    const row = designRow(design, u.get);
    if (row === undefined) continue;
    rows.push(row);
    subjects.push(u.customerId ?? '');
  }
  return { rows, subjects: rowsBelongToCustomers(spec) ? subjects : undefined };
}
