/**
 * `linear-model`: a linear (or ridge) regression given as an R formula over
 * the columns a shop declares, fitted in one round like `linear-regression`
 * (exact fixed-point moments, normal equations solved from the released
 * totals only), with coefficients named as R's `lm` names them.
 *
 *     { "kind": "linear-model", "purpose": "sales-analytics", "data": "store_week",
 *       "formula": "units ~ log(price) + promo + display + C(brand) + promo:display",
 *       "levels": { "brand": ["A", "B", "C"] } }
 *
 * The unit of analysis is `data`: `customers` (one row per consented
 * customer: the customer's extra columns, the named features of
 * analytics/features.ts such as `frequency` and `monetary_yuan`, and the
 * per-customer order aggregates declared under `aggregates`, measured before
 * `asOf`), or a further table a shop declares (one row per table row, e.g.
 * each store-week). Every variable is read through its shop field
 * (`customer.<name>`, `<table>.<name>`), so purposes allow or refuse it like
 * any other field. Categorical variables take the levels the spec declares
 * (the first is the reference); a shop holding another level declines.
 *
 * Disclosure: every design column and the response are treated as groups
 * (both "nonzero" and "zero" rows, and all four cells of every pair, hold 0
 * or at least k rows), so a 0/1 column, a dummy of a level or an interaction
 * cell of fewer than k rows is refused naming it; parameters stay under the
 * purpose's saturation ratio (model-rules.ts).
 *
 * @module
 */
import { z } from 'zod';
import { aggregateInputFields, aggregateValue, parseAggregate, type Aggregate } from './customer-aggregates.js';
import { QuerySpecError } from './errors.js';
import { customerFacts, featureDefinition, featureRowScope } from './features.js';
import { checkLevels, designRow, expandFormula, type Design, type RowValue, type VariableKind } from './formula.js';
import { fitLinearRegression, type Coefficient, type LinearRegressionSpec } from './linear-regression.js';
import { DEFAULT_MAX_ROWS, DEFAULT_MODEL_SCALE_BITS, MAX_MODEL_VARIABLES, asOfSchema, asOfUnixS, purposeSchema } from './model-spec.js';
import { accumulateMoments, momentCells, momentFields, momentModelRules, momentSensitivity, momentTotals, releasedMomentCell, type MomentLayout } from './moment-sums.js';
import { assertWithinBounds, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import type { RowScope } from './row-scope.js';
import type { Order, ShopData } from './shop-data.js';
import { boundSchema, parseWith } from './spec-parse.js';

export const LINEAR_MODEL_KIND = 'linear-model';

/** The customer unit of analysis. */
export const CUSTOMERS_DATA = 'customers';
/** Default bound on |value| of a numeric variable the spec does not bound. */
export const DEFAULT_VARIABLE_MAX_ABS = 1e6;

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** Parsed, normalised `linear-model` spec. */
export interface LinearModelSpec {
  readonly kind: typeof LINEAR_MODEL_KIND;
  readonly purpose: string;
  readonly formula: string;
  /** `customers` or the name of a further table. */
  readonly data: string;
  /** Snapshot instant (customer models only): orders before it exist. */
  readonly asOf?: string;
  /** Levels of categorical variables, reference first. */
  readonly levels: Readonly<Record<string, readonly string[]>>;
  /** Per-customer order aggregates by variable name (customer models only). */
  readonly aggregates: Readonly<Record<string, string>>;
  readonly lambda: number;
  readonly scaleBits: number;
  readonly bounds: { readonly maxRows: bigint; readonly maxAbs: Readonly<Record<string, number>> };
}

/** What a marketer sees. */
export interface LinearModelResult {
  readonly status: 'fitted' | 'suppressed' | 'singular';
  readonly problem: string | null;
  readonly formula: string;
  readonly data: string;
  readonly n: number | null;
  readonly response: string;
  readonly lambda: number;
  /** `(Intercept)` estimate and standard error, or null without an intercept. */
  readonly intercept: { readonly estimate: number; readonly standardError: number | null } | null;
  /** In R's order, named as R names them (`feature` holds the name). */
  readonly coefficients: readonly Coefficient[];
  readonly rSquared: number | null;
  readonly residualVariance: number | null;
  readonly residualDf: number | null;
}

const levelList = z
  .array(z.string().min(1).max(256))
  .min(2)
  .max(200)
  .refine((l) => new Set(l).size === l.length, 'a level is listed twice');

const specSchema = z.strictObject({
  kind: z.literal(LINEAR_MODEL_KIND),
  purpose: purposeSchema,
  formula: z.string().min(3).max(2000),
  data: z.string().regex(NAME, 'expected customers or a table name like store_week'),
  asOf: asOfSchema.optional(),
  levels: z.record(z.string().regex(NAME, 'expected a variable name'), levelList).optional(),
  aggregates: z.record(z.string().regex(NAME, 'expected a variable name'), z.string().max(64)).optional(),
  lambda: z.number().min(0).max(1e12).optional(),
  scaleBits: z.number().int().min(0).max(52).optional(),
  bounds: z
    .strictObject({
      maxRows: boundSchema.optional(),
      /** Bound on |value| per variable or formula atom as written (`price`, `log(price)`, the response). */
      maxAbs: z.record(z.string().max(256), z.number().positive().max(1e15)).optional(),
    })
    .optional(),
});

/** The type of a base variable as the spec knows it. */
function kindOfVariable(spec: Pick<LinearModelSpec, 'levels'>): (name: string) => VariableKind {
  return (name) => {
    const levels = spec.levels[name];
    return levels === undefined ? { kind: 'numeric' } : { kind: 'categorical', levels };
  };
}

/** The design of a parsed spec (memoised: a spec is parsed once and read many times). */
const designs = new WeakMap<LinearModelSpec, Design>();
export function linearModelDesign(spec: LinearModelSpec): Design {
  let d = designs.get(spec);
  if (d === undefined) {
    d = expandFormula(spec.formula, kindOfVariable(spec));
    designs.set(spec, d);
  }
  return d;
}

/** Validates untrusted spec JSON; throws QuerySpecError naming the path. */
export function parseLinearModelSpec(json: unknown): LinearModelSpec {
  const raw = parseWith(specSchema, json);
  const customers = raw.data === CUSTOMERS_DATA;
  if (customers && raw.asOf === undefined) throw new QuerySpecError('asOf', 'a customer model needs asOf (orders before it are counted)');
  if (!customers && raw.asOf !== undefined) throw new QuerySpecError('asOf', `rows of ${raw.data} have no time cut; leave asOf out`);
  if (!customers && Object.keys(raw.aggregates ?? {}).length > 0) throw new QuerySpecError('aggregates', 'aggregates describe customers; use data: customers');
  for (const [name, text] of Object.entries(raw.aggregates ?? {})) {
    parseAggregate(text, `aggregates.${name}`);
    if (raw.levels?.[name] !== undefined) throw new QuerySpecError(`levels.${name}`, `${name} is an aggregate (numeric)`);
  }
  const spec: LinearModelSpec = {
    kind: LINEAR_MODEL_KIND,
    purpose: raw.purpose,
    formula: raw.formula,
    data: raw.data,
    ...(raw.asOf === undefined ? {} : { asOf: raw.asOf }),
    levels: raw.levels ?? {},
    aggregates: raw.aggregates ?? {},
    lambda: raw.lambda ?? 0,
    scaleBits: raw.scaleBits ?? DEFAULT_MODEL_SCALE_BITS,
    bounds: { maxRows: raw.bounds?.maxRows ?? DEFAULT_MAX_ROWS, maxAbs: raw.bounds?.maxAbs ?? {} },
  };
  const design = linearModelDesign(spec);
  if (design.columns.length + 1 > MAX_MODEL_VARIABLES) {
    throw new QuerySpecError('formula', `${design.columns.length} design columns; at most ${MAX_MODEL_VARIABLES - 1} (a categorical variable of L levels takes L − 1)`);
  }
  for (const name of Object.keys(spec.levels)) {
    if (!design.variables.includes(name)) throw new QuerySpecError(`levels.${name}`, `${name} is not a variable of the formula`);
  }
  for (const name of Object.keys(spec.aggregates)) {
    if (!design.variables.includes(name)) throw new QuerySpecError(`aggregates.${name}`, `${name} is not a variable of the formula`);
  }
  const atoms = new Set([design.responseLabel, ...design.variables, ...design.columns.flatMap((c) => c.parts.map((p) => p.atom))]);
  for (const key of Object.keys(spec.bounds.maxAbs)) {
    if (!atoms.has(key)) throw new QuerySpecError(`bounds.maxAbs.${key}`, 'not a variable or term of the formula');
  }
  return spec;
}

/** Bound on |value| of a numeric formula atom: declared, a named feature's default, or the generic default. */
function atomBound(spec: LinearModelSpec, atom: string): number {
  const given = spec.bounds.maxAbs[atom];
  if (given !== undefined) return given;
  if (spec.data === CUSTOMERS_DATA && spec.aggregates[atom] === undefined) {
    const f = featureDefinition(atom);
    if (f !== undefined) return f.defaultMaxAbs;
  }
  return DEFAULT_VARIABLE_MAX_ABS;
}

/** The moment layout: the design columns, then the response. */
export function linearModelLayout(spec: LinearModelSpec): MomentLayout {
  const design = linearModelDesign(spec);
  const maxAbs = design.columns.map((c) => c.parts.reduce((m, p) => m * ('level' in p ? 1 : atomBound(spec, p.atom)), 1));
  maxAbs.push(atomBound(spec, design.responseLabel));
  return {
    variables: [...design.columns.map((c) => c.name), design.responseLabel],
    maxAbs,
    maxRows: spec.bounds.maxRows,
    scaleBits: spec.scaleBits,
    // Every column is a group: its zero rows too (a 0/1 column's two levels, an interaction's cells).
    indicators: [...design.columns.map(() => true), true],
  };
}

/** How one base variable of a customer model is read. */
type CustomerSource = { readonly t: 'feature'; readonly name: string } | { readonly t: 'aggregate'; readonly a: Aggregate } | { readonly t: 'column'; readonly name: string };

function customerSources(spec: LinearModelSpec): Map<string, CustomerSource> {
  const out = new Map<string, CustomerSource>();
  for (const v of linearModelDesign(spec).variables) {
    const agg = spec.aggregates[v];
    if (agg !== undefined) out.set(v, { t: 'aggregate', a: parseAggregate(agg, `aggregates.${v}`) });
    else if (featureDefinition(v) !== undefined) out.set(v, { t: 'feature', name: v });
    else out.set(v, { t: 'column', name: v });
  }
  return out;
}

/** Shop fields the model reads. */
export function linearModelInputFields(spec: LinearModelSpec): string[] {
  const design = linearModelDesign(spec);
  if (spec.data !== CUSTOMERS_DATA) return design.variables.map((v) => `${spec.data}.${v}`).sort();
  const out = new Set<string>();
  for (const s of customerSources(spec).values()) {
    if (s.t === 'feature') for (const f of featureDefinition(s.name)?.inputFields ?? []) out.add(f);
    else if (s.t === 'aggregate') for (const f of aggregateInputFields(s.a)) out.add(f);
    else out.add(`customer.${s.name}`);
  }
  return [...out].sort();
}

/** Getters of the rows the model reads, one per unit of analysis. */
function unitRows(spec: LinearModelSpec, data: ShopData): ((name: string) => RowValue)[] {
  if (spec.data !== CUSTOMERS_DATA) {
    const table = data.tables?.[spec.data];
    if (table === undefined) throw new RangeError(`data: this shop declares no table ${spec.data}`);
    const wanted = linearModelDesign(spec).variables;
    const first = table.rows[0];
    if (first !== undefined) {
      const missing = wanted.filter((v) => !Object.hasOwn(first, v));
      if (missing.length > 0) throw new RangeError(`data: table ${spec.data} has no column ${missing.join(', ')}`);
    }
    return table.rows.map((row) => (name: string) => row[name]);
  }
  const asOf = asOfUnixS(spec.asOf as string);
  const sources = customerSources(spec);
  const needs = new Set(linearModelInputFields(spec));
  const ordersBy = new Map<string, Order[]>();
  const before = featureRowScope(asOf).order as (o: Order) => boolean;
  for (const o of data.orders) {
    if (!before(o)) continue;
    const list = ordersBy.get(o.customerId);
    if (list) list.push(o);
    else ordersBy.set(o.customerId, [o]);
  }
  return customerFacts(data, asOf, needs).map((facts) => (name: string) => {
    const s = sources.get(name);
    if (s === undefined) return undefined;
    if (s.t === 'feature') return featureDefinition(s.name)?.value(facts, asOf);
    if (s.t === 'aggregate') return aggregateValue(s.a, ordersBy.get(facts.customer.customerId) ?? [], asOf);
    const extra = facts.customer.extra;
    if (extra === undefined || !Object.hasOwn(extra, s.name)) throw new RangeError(`data: customers have no column ${s.name} (declare it under tables.customers.columns)`);
    return extra[s.name];
  });
}

/**
 * The design rows [columns…, response] of one shop (or of pooled data, for
 * checks): rows with a missing value are left out. Throws RangeError naming
 * the variable for an undeclared level or a non-finite value.
 */
export function linearModelRows(spec: LinearModelSpec, data: ShopData): number[][] {
  const design = linearModelDesign(spec);
  const kindOf = kindOfVariable(spec);
  const out: number[][] = [];
  for (const get of unitRows(spec, data)) {
    checkLevels(design, kindOf, get);
    const row = designRow(design, get);
    if (row !== undefined) out.push(row);
  }
  return out;
}

/** Shop side: exact moments of the design rows. */
export function computeLinearModelLocal(spec: LinearModelSpec, data: ShopData): bigint[] {
  const layout = linearModelLayout(spec);
  const values = accumulateMoments(layout, linearModelRows(spec, data));
  assertWithinBounds(momentFields(layout), values);
  return values;
}

/** The regression spec the moment fit takes. */
function regressionSpec(spec: LinearModelSpec): LinearRegressionSpec {
  const design = linearModelDesign(spec);
  const layout = linearModelLayout(spec);
  return {
    kind: 'linear-regression',
    purpose: spec.purpose,
    asOf: spec.asOf ?? '1970-01-01T00:00:00Z',
    features: design.columns.map((c) => c.name),
    target: design.responseLabel,
    intercept: design.intercept,
    standardise: false,
    lambda: spec.lambda,
    scaleBits: spec.scaleBits,
    bounds: { maxRows: spec.bounds.maxRows, featureMaxAbs: Object.fromEntries(layout.variables.map((v, i) => [v, layout.maxAbs[i] as number])) },
  };
}

/** The fit from exact moment totals (also used by tests on pooled moments). */
export function fitLinearModel(spec: LinearModelSpec, totals: Readonly<Record<string, bigint>> | null): LinearModelResult {
  const design = linearModelDesign(spec);
  const base = { formula: spec.formula, data: spec.data, response: design.responseLabel, lambda: spec.lambda };
  if (totals === null) {
    return { ...base, status: 'suppressed', problem: null, n: null, intercept: null, coefficients: [], rSquared: null, residualVariance: null, residualDf: null };
  }
  const fit = fitLinearRegression(regressionSpec(spec), momentTotals(linearModelLayout(spec), totals));
  return {
    ...base,
    status: fit.status,
    problem: fit.problem,
    n: fit.n,
    intercept: fit.intercept,
    coefficients: fit.coefficients,
    rSquared: fit.rSquared,
    residualVariance: fit.residualVariance,
    residualDf: fit.residualDf,
  };
}

/** Coordinator side: the fit from the released moments, or `suppressed`. */
export function finaliseLinearModel(spec: LinearModelSpec, release: ReleasedTotals): LinearModelResult {
  return fitLinearModel(spec, releasedMomentCell(release));
}

/** Rows read: customers with their orders before asOf, or every row of the table. */
function linearModelRowScope(spec: LinearModelSpec): RowScope {
  return spec.data === CUSTOMERS_DATA ? featureRowScope(asOfUnixS(spec.asOf as string)) : {};
}

/** The `linear-model` query definition registered under its kind. */
export const linearModelQuery: QueryDefinition<LinearModelSpec, LinearModelResult> = {
  kind: LINEAR_MODEL_KIND,
  parseSpec: parseLinearModelSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: linearModelInputFields,
  fields: (spec) => momentFields(linearModelLayout(spec)),
  cells: (spec) => momentCells(linearModelLayout(spec)),
  subjectSensitivity: (spec) => momentSensitivity(linearModelLayout(spec)),
  computeLocal: computeLinearModelLocal,
  finalise: finaliseLinearModel,
  disclosureRole: 'model',
  rowScope: linearModelRowScope,
  modelRules: (spec) => momentModelRules(linearModelLayout(spec), linearModelDesign(spec).columns.length + (linearModelDesign(spec).intercept ? 1 : 0)),
};
