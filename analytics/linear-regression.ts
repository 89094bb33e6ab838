/**
 * `linear-regression`: ordinary least squares or ridge regression of a
 * customer-level target on declared features, fitted in one round. Each shop
 * sends the exact fixed-point moments n, Σx, Σy, XᵀX (upper triangle), Xᵀy
 * and yᵀy of its consented customers (moment-sums.ts); the coordinator solves
 * the normal equations from the released totals only.
 *
 * Model: minimise ‖y − β₀ − Xβ‖² + λ‖Dβ‖², the intercept β₀ unpenalised
 * (when the spec has one), D = I, or with `standardise` the features' pooled
 * standard deviations (population form, √(Σ(x−x̄)²/n)), i.e. the penalty is
 * on the coefficients of standardised features and the coefficients are
 * reported on the original scale (plus `standardisedEstimate` = β·sd). With
 * an intercept the system is the centred one, (K + λD²)β = k_xy with
 * K = Σ(x−x̄)(x−x̄)ᵀ formed exactly from the integer totals before rounding
 * (no cancellation however large the means), and β₀ = ȳ − x̄ᵀβ. Without an
 * intercept, K and k_xy are the raw XᵀX and Xᵀy and D uses the root mean
 * square. The system is scaled to unit diagonal and solved by Cholesky in
 * double precision.
 *
 * Reported: coefficients, R² (centred with an intercept, raw without),
 * residual variance σ² = RSS / (n − [intercept] − tr(A⁻¹K)) with A = K + λD²
 * (the effective degrees of freedom; n − p − 1 for OLS), and standard errors
 * from Cov(β) = σ² A⁻¹ K A⁻¹ (σ²(XᵀX)⁻¹ for OLS) and
 * Var(β₀) = σ²/n + x̄ᵀ Cov(β) x̄.
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { featureMatrix, featureRowScope, featuresInputFields, isFeatureName, unknownFeatureMessage } from './features.js';
import { cholesky, choleskyInverse } from './linear-algebra.js';
import {
  DEFAULT_MODEL_SCALE_BITS,
  asOfSchema,
  asOfUnixS,
  featureListSchema,
  modelBoundsSchema,
  modelLayout,
  normaliseBounds,
  purposeSchema,
  type ModelBounds,
} from './model-spec.js';
import { accumulateMoments, momentInputViolation, momentModelRules, releasedMomentCell, centredScatter, momentCells, momentFields, momentMeans, momentSensitivity, momentTotals, rawCross, type MomentTotals } from './moment-sums.js';
import { assertWithinBounds, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import type { ShopData } from './shop-data.js';
import { parseWith } from './spec-parse.js';
import { AS_OF, asOfMember, purposeMember, type KindGuideBody } from './kind-guide-types.js';
import { FEATURE_TEXT, momentModelMembers, momentModelTail } from './model-guide.js';

export const LINEAR_REGRESSION_KIND = 'linear-regression';

/** Parsed, normalised `linear-regression` spec. */
export interface LinearRegressionSpec {
  readonly kind: typeof LINEAR_REGRESSION_KIND;
  readonly purpose: string;
  /** Snapshot instant: features see only orders before it. */
  readonly asOf: string;
  readonly features: readonly string[];
  readonly target: string;
  readonly intercept: boolean;
  readonly standardise: boolean;
  /** Ridge penalty λ ≥ 0 (0 = ordinary least squares). */
  readonly lambda: number;
  readonly scaleBits: number;
  readonly bounds: ModelBounds;
}

/** One coefficient. */
export interface Coefficient {
  readonly feature: string;
  readonly estimate: number;
  readonly standardError: number | null;
  /** β·sd (with `standardise`), else null. */
  readonly standardisedEstimate: number | null;
}

/** What a marketer sees. */
export interface LinearRegressionResult {
  /** `fitted`; `suppressed` (fewer rows than the k threshold); `singular` (see problem). */
  readonly status: 'fitted' | 'suppressed' | 'singular';
  readonly problem: string | null;
  readonly n: number | null;
  readonly target: string;
  readonly lambda: number;
  readonly standardised: boolean;
  readonly intercept: { readonly estimate: number; readonly standardError: number | null } | null;
  readonly coefficients: readonly Coefficient[];
  readonly rSquared: number | null;
  readonly residualVariance: number | null;
  readonly residualDf: number | null;
}

const specSchema = z.strictObject({
  kind: z.literal(LINEAR_REGRESSION_KIND),
  purpose: purposeSchema,
  asOf: asOfSchema,
  features: featureListSchema(1),
  target: z.string().refine(isFeatureName, { error: (issue) => unknownFeatureMessage(issue.input) }),
  intercept: z.boolean().optional(),
  standardise: z.boolean().optional(),
  lambda: z.number().min(0).max(1e12).optional(),
  scaleBits: z.number().int().min(0).max(52).optional(),
  bounds: modelBoundsSchema,
});

/** Validates untrusted spec JSON; throws QuerySpecError naming the path. */
export function parseLinearRegressionSpec(json: unknown): LinearRegressionSpec {
  const raw = parseWith(specSchema, json);
  if (raw.features.includes(raw.target)) throw new QuerySpecError('target', `'${raw.target}' is also a feature`);
  const variables = [...raw.features, raw.target];
  const bounds = normaliseBounds(raw.bounds, variables, (path, message) => {
    throw new QuerySpecError(path, message);
  });
  return {
    kind: LINEAR_REGRESSION_KIND,
    purpose: raw.purpose,
    asOf: raw.asOf,
    features: raw.features,
    target: raw.target,
    intercept: raw.intercept ?? true,
    standardise: raw.standardise ?? false,
    lambda: raw.lambda ?? 0,
    scaleBits: raw.scaleBits ?? DEFAULT_MODEL_SCALE_BITS,
    bounds,
  };
}

const variablesOf = (spec: LinearRegressionSpec): string[] => [...spec.features, spec.target];
const layoutOf = (spec: LinearRegressionSpec) => modelLayout(variablesOf(spec), spec.bounds, spec.scaleBits);

/**
 * Shop side: the moments of [features…, target] over the customers for whom
 * all are defined. Throws RangeError naming the field when a value exceeds
 * its bound.
 */
export function computeLinearRegressionLocal(spec: LinearRegressionSpec, data: ShopData): bigint[] {
  const layout = layoutOf(spec);
  const values = accumulateMoments(layout, featureMatrix(data, layout.variables, asOfUnixS(spec.asOf)));
  assertWithinBounds(momentFields(layout), values);
  return values;
}

const empty = (spec: LinearRegressionSpec, status: 'suppressed' | 'singular', problem: string | null, n: number | null): LinearRegressionResult => ({
  status,
  problem,
  n,
  target: spec.target,
  lambda: spec.lambda,
  standardised: spec.standardise,
  intercept: null,
  coefficients: [],
  rSquared: null,
  residualVariance: null,
  residualDf: null,
});

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
const matVec = (m: readonly (readonly number[])[], v: readonly number[]): number[] => m.map((row) => dot(row, v));

/**
 * The fit from exact moments of [features…, target] (also used by tests and
 * the demo on pooled moments). Never throws on data: a rank-deficient system
 * gives status `singular` with the reason.
 */
export function fitLinearRegression(spec: LinearRegressionSpec, m: MomentTotals): LinearRegressionResult {
  const p = spec.features.length;
  const n = Number(m.n);
  if (m.n <= BigInt(spec.intercept ? 1 : 0)) return empty(spec, 'singular', `${n} rows are too few to fit`, n);
  const full = spec.intercept ? centredScatter(m) : rawCross(m);
  const k = full.slice(0, p).map((row) => row.slice(0, p));
  const kxy = full.slice(0, p).map((row) => row[p] as number);
  const syy = (full[p] as number[])[p] as number;
  const sd = k.map((row, j) => Math.sqrt((row[j] as number) / n));
  if (spec.standardise) {
    const flat = sd.findIndex((s) => !(s > 0));
    if (flat >= 0) return empty(spec, 'singular', `feature ${spec.features[flat]} does not vary, so it cannot be standardised`, n);
  }
  const a = k.map((row, i) => row.map((v, j) => (i === j ? v + spec.lambda * (spec.standardise ? (sd[i] as number) ** 2 : 1) : v)));
  // Scale to unit diagonal (Jacobi preconditioning) before Cholesky.
  const e = a.map((row, i) => 1 / Math.sqrt(row[i] as number));
  if (e.some((x) => !Number.isFinite(x))) return empty(spec, 'singular', `feature ${spec.features[e.findIndex((x) => !Number.isFinite(x))]} is zero for every row`, n);
  const scaled = a.map((row, i) => row.map((v, j) => v * (e[i] as number) * (e[j] as number)));
  let inv: number[][];
  try {
    cholesky(scaled);
    inv = choleskyInverse(scaled).map((row, i) => row.map((v, j) => v * (e[i] as number) * (e[j] as number)));
  } catch (err) {
    return empty(spec, 'singular', `the features are collinear (${(err as Error).message}); drop one or set lambda > 0`, n);
  }
  const beta = matVec(inv, kxy);
  const rss = Math.max(0, syy - 2 * dot(beta, kxy) + dot(beta, matVec(k, beta)));
  const invK = inv.map((row) => matVec(k, row)); // (A⁻¹K)ᵀ rows; trace is the same
  const dfModel = invK.reduce((s, row, i) => s + (row[i] as number), 0);
  const residualDf = n - (spec.intercept ? 1 : 0) - dfModel;
  const sigma2 = residualDf > 0 ? rss / residualDf : null;
  const cov = sigma2 === null ? null : inv.map((row) => matVec(inv, matVec(k, row)).map((v) => v * sigma2));
  const se = (i: number): number | null => (cov === null ? null : Math.sqrt(Math.max(0, (cov[i] as number[])[i] as number)));
  let intercept: LinearRegressionResult['intercept'] = null;
  if (spec.intercept) {
    const means = momentMeans(m);
    const xbar = means.slice(0, p);
    const b0 = (means[p] as number) - dot(xbar, beta);
    const v0 = cov === null || sigma2 === null ? null : sigma2 / n + dot(xbar, matVec(cov, xbar));
    intercept = { estimate: b0, standardError: v0 === null ? null : Math.sqrt(Math.max(0, v0)) };
  }
  return {
    status: 'fitted',
    problem: null,
    n,
    target: spec.target,
    lambda: spec.lambda,
    standardised: spec.standardise,
    intercept,
    coefficients: spec.features.map((feature, i) => ({
      feature,
      estimate: beta[i] as number,
      standardError: se(i),
      standardisedEstimate: spec.standardise ? (beta[i] as number) * (sd[i] as number) : null,
    })),
    rSquared: syy > 0 ? 1 - rss / syy : null,
    residualVariance: sigma2,
    residualDf,
  };
}

/** Coordinator side: the fit from the released moments, or `suppressed`. */
export function finaliseLinearRegression(spec: LinearRegressionSpec, release: ReleasedTotals): LinearRegressionResult {
  const totals = releasedMomentCell(release);
  if (totals === null) return empty(spec, 'suppressed', null, null);
  return fitLinearRegression(spec, momentTotals(layoutOf(spec), totals));
}

const LINEAR_REGRESSION_GUIDE: KindGuideBody = {
  summary: 'Least squares or ridge regression on named customer features, in one round.',
  description:
    'Each shop sends the exact fixed-point moments (n, sums, cross-products) of [features, target] over its consented customers; the ' +
    'coordinator solves the normal equations from the released totals only. Released: coefficients with standard errors, intercept, ' +
    'R², residual variance and degrees of freedom. With lambda > 0 it is ridge regression (intercept unpenalised). For formulas, ' +
    'categorical variables, aggregates or shop-declared columns use linear-model.',
  members: [
    purposeMember('marketing-analytics'),
    asOfMember('features'),
    ...momentModelMembers(1),
    { name: 'target', type: 'string', required: true, description: 'The response: one feature name (as under features), not one of the features.' },
    { name: 'intercept', type: 'boolean', required: false, default: 'true', description: 'Fit an intercept.', sample: false },
    { name: 'standardise', type: 'boolean', required: false, default: 'false', description: "Penalise the standardised coefficients (ridge); also reports each coefficient times its feature's standard deviation.", sample: true },
    { name: 'lambda', type: 'number', required: false, default: '0 (ordinary least squares)', description: 'Ridge penalty, 0 to 1e12.', sample: 10 },
    ...momentModelTail,
  ],
  sections: [{ title: 'Features', text: FEATURE_TEXT }],
  example: {
    purpose: 'marketing-analytics',
    asOf: AS_OF,
    features: ['frequency', 'tenure_days', 'lifecycle:loyal'],
    target: 'monetary_yuan',
    bounds: { featureMaxAbs: { monetary_yuan: 1_000_000 } },
  },
};

/** The `linear-regression` query definition registered under its kind. */
export const linearRegressionQuery: QueryDefinition<LinearRegressionSpec, LinearRegressionResult, typeof LINEAR_REGRESSION_KIND> = {
  kind: LINEAR_REGRESSION_KIND,
  guide: LINEAR_REGRESSION_GUIDE,
  parseSpec: parseLinearRegressionSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => featuresInputFields(variablesOf(spec)),
  fields: (spec) => momentFields(layoutOf(spec)),
  cells: (spec) => momentCells(layoutOf(spec)),
  subjectSensitivity: (spec) => momentSensitivity(layoutOf(spec)),
  computeLocal: computeLinearRegressionLocal,
  finalise: finaliseLinearRegression,
  disclosureRole: 'model',
  rowScope: (spec) => featureRowScope(asOfUnixS(spec.asOf)),
  modelRules: (spec) => momentModelRules(layoutOf(spec), spec.features.length + (spec.intercept ? 1 : 0)),
  inputViolation: (spec, totals) => momentInputViolation(layoutOf(spec), totals),
};
