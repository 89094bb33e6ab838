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
 * What the model reads (unit of analysis, variables, levels, aggregates,
 * bounds) is model-data.ts. Rows with a missing value are left out, as R's
 * na.omit does; a shop holding an undeclared level declines.
 *
 * Disclosure: every design column and the response are treated as groups
 * (both "nonzero" and "zero" rows, and all four cells of every pair, hold 0
 * or at least k rows), so a 0/1 column, a dummy of a level or an interaction
 * cell of fewer than k rows is refused naming it; parameters stay under the
 * purpose's saturation ratio (model-rules.ts). A numeric column that is
 * exactly zero on 1..k−1 rows is refused too (from the moments alone it
 * cannot be told from a 0/1 column); `I(x + c)` shifts it.
 *
 * @module
 */
import { z } from 'zod';
import { fitLinearRegression, type Coefficient, type LinearRegressionSpec } from './linear-regression.js';
import { DEFAULT_MODEL_SCALE_BITS, MAX_MODEL_VARIABLES, purposeSchema } from './model-spec.js';
import {
  CUSTOMERS_DATA,
  columnBounds,
  atomBound,
  modelDataSchema,
  modelDesign,
  modelInputFields,
  modelRowScope,
  modelRows,
  modelSubjectRows,
  normaliseModelData,
  type ModelData,
} from './model-data.js';
import { accumulateMoments, momentCells, momentFields, momentInputViolation, momentModelRules, momentSensitivity, momentTotals, releasedMomentCell, type MomentLayout } from './moment-sums.js';
import { assertWithinBounds, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import { LIFECYCLE_STAGES, type ShopData } from './shop-data.js';
import { parseWith } from './spec-parse.js';
import { AS_OF, purposeMember, type KindGuideBody } from './kind-guide-types.js';
import { FORMULA_SECTIONS, formulaMembers } from './model-guide.js';
import { CITY_LEVELS } from './customer-groups.js';

export const LINEAR_MODEL_KIND = 'linear-model';
export { CUSTOMERS_DATA };

/** Parsed, normalised `linear-model` spec. */
export interface LinearModelSpec extends ModelData {
  readonly kind: typeof LINEAR_MODEL_KIND;
  readonly purpose: string;
  readonly lambda: number;
  readonly scaleBits: number;
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

const specSchema = z.strictObject({
  kind: z.literal(LINEAR_MODEL_KIND),
  purpose: purposeSchema,
  ...modelDataSchema,
  lambda: z.number().min(0).max(1e12).optional(),
  scaleBits: z.number().int().min(0).max(52).optional(),
});

/** The design of a parsed spec. */
export const linearModelDesign = (spec: LinearModelSpec) => modelDesign(spec);

/** Validates untrusted spec JSON; throws QuerySpecError naming the path. */
export function parseLinearModelSpec(json: unknown): LinearModelSpec {
  const raw = parseWith(specSchema, json);
  const data = normaliseModelData(raw, MAX_MODEL_VARIABLES - 1);
  return { kind: LINEAR_MODEL_KIND, purpose: raw.purpose, ...data, lambda: raw.lambda ?? 0, scaleBits: raw.scaleBits ?? DEFAULT_MODEL_SCALE_BITS };
}

/** The moment layout: the design columns, then the response. */
export function linearModelLayout(spec: LinearModelSpec): MomentLayout {
  const design = modelDesign(spec);
  return {
    variables: [...design.columns.map((c) => c.name), design.responseLabel],
    maxAbs: [...columnBounds(spec), atomBound(spec, design.responseLabel)],
    maxRows: spec.bounds.maxRows,
    scaleBits: spec.scaleBits,
    // Every column is a group: its zero rows too (a 0/1 column's two levels, an interaction's cells).
    indicators: [...design.columns.map(() => true), true],
    ...(spec.bounds.maxRowsPerCustomer === undefined ? {} : { perSubject: spec.bounds.maxRowsPerCustomer }),
  };
}

/** The design rows [columns…, response] of one shop (model-data.ts `modelRows`). */
export function linearModelRows(spec: LinearModelSpec, data: ShopData): number[][] {
  return modelRows(spec, data);
}

/** Shop side: exact moments of the design rows. */
export function computeLinearModelLocal(spec: LinearModelSpec, data: ShopData): bigint[] {
  const layout = linearModelLayout(spec);
  const { rows, subjects } = modelSubjectRows(spec, data);
  const values = accumulateMoments(layout, rows, subjects);
  assertWithinBounds(momentFields(layout), values);
  return values;
}

/** The regression spec the moment fit takes. */
function regressionSpec(spec: LinearModelSpec): LinearRegressionSpec {
  const design = modelDesign(spec);
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
  const design = modelDesign(spec);
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

const LINEAR_MODEL_GUIDE: KindGuideBody = {
  summary: 'Linear or ridge regression as an R formula over customers or a shop-declared table.',
  description:
    'The formula is expanded into design columns as R\'s model.matrix does; each shop sends the exact moments of its rows (customers ' +
    'with their order aggregates, or the rows of a table it declares) and the coordinator solves the normal equations from the released ' +
    'totals only, giving what lm prints: coefficients, standard errors, R², residual variance. Every design column and the response ' +
    'are treated as groups: a dummy, 0/1 column or interaction cell of fewer than k rows is refused, naming it.',
  members: [
    purposeMember('marketing-analytics'),
    ...formulaMembers('query', { n_orders: 10_000 }),
    { name: 'lambda', type: 'number', required: false, default: '0 (ordinary least squares)', description: 'Ridge penalty on the coefficients other than the intercept, 0 to 1e12.', sample: 25 },
    { name: 'scaleBits', type: 'integer', required: false, default: String(DEFAULT_MODEL_SCALE_BITS), description: 'Binary fixed-point scale of the moment sums, 0 to 52.', sample: 24 },
  ],
  sections: FORMULA_SECTIONS,
  example: {
    purpose: 'marketing-analytics',
    data: 'customers',
    asOf: AS_OF,
    formula: 'log1p(spend) ~ n_orders + tenure_days + C(city_level) + relevel(lifecycle_stage, ref = "active")',
    levels: { city_level: [...CITY_LEVELS].reverse(), lifecycle_stage: [...LIFECYCLE_STAGES] },
    aggregates: { spend: 'sum(order.amount)', n_orders: 'count(orders)' },
    bounds: { maxAbs: { 'log1p(spend)': 25, n_orders: 10_000 } },
  },
};

/** The `linear-model` query definition registered under its kind. */
export const linearModelQuery: QueryDefinition<LinearModelSpec, LinearModelResult, typeof LINEAR_MODEL_KIND> = {
  kind: LINEAR_MODEL_KIND,
  guide: LINEAR_MODEL_GUIDE,
  parseSpec: parseLinearModelSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: modelInputFields,
  fields: (spec) => momentFields(linearModelLayout(spec)),
  cells: (spec) => momentCells(linearModelLayout(spec)),
  subjectSensitivity: (spec) => momentSensitivity(linearModelLayout(spec)),
  computeLocal: computeLinearModelLocal,
  finalise: finaliseLinearModel,
  disclosureRole: 'model',
  rowScope: modelRowScope,
  modelRules: (spec) => momentModelRules(linearModelLayout(spec), modelDesign(spec).columns.length + (modelDesign(spec).intercept ? 1 : 0)),
  inputViolation: (spec, totals) => momentInputViolation(linearModelLayout(spec), totals),
};
