/**
 * `pca`: principal components of declared customer features in one round.
 * Shops send the exact fixed-point moments n, Σx and ΣxxT of their consented
 * customers (moment-sums.ts); the coordinator forms the sample covariance
 * C = Σ(x−x̄)(x−x̄)ᵀ / (n−1), exactly from the integer totals and rounded once
 * per entry, or with `standardise` (the default) the correlation matrix, and
 * decomposes it with the cyclic Jacobi method (symmetric-eigen.ts):
 * eigenvalues in decreasing order, each eigenvector's largest-magnitude
 * loading positive.
 *
 * The variables are either `features` (named features of features.ts) or a
 * one-sided R formula over the columns shops declare (`formula: "~ income +
 * log1p(spend) + C(region)"`, with `data`, `asOf`, `levels`, `aggregates`
 * and `bounds.maxAbs` as in model-data.ts): then the variables are the
 * formula's design columns, named as R's model.matrix names them.
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { featureMatrix, featureRowScope, featuresInputFields } from './features.js';
import {
  DEFAULT_MODEL_SCALE_BITS,
  MAX_MODEL_VARIABLES,
  asOfSchema,
  asOfUnixS,
  featureListSchema,
  modelBoundsSchema,
  modelLayout,
  normaliseBounds,
  purposeSchema,
  type ModelBounds,
} from './model-spec.js';
import { columnBounds, modelDataSchema, modelDesign, modelInputFields, modelRowScope, modelSubjectRows, normaliseModelData, type ModelData } from './model-data.js';
import { accumulateMoments, momentInputViolation, momentModelRules, releasedMomentCell, centredScatter, momentCells, momentFields, momentMeans, momentSensitivity, momentTotals, type MomentLayout, type MomentTotals } from './moment-sums.js';
import { assertWithinBounds, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import type { ShopData } from './shop-data.js';
import { parseWith } from './spec-parse.js';
import { symmetricEigen } from './symmetric-eigen.js';
import { AS_OF, purposeMember, type KindGuideBody } from './kind-guide-types.js';
import { FEATURE_TEXT, momentModelMembers, momentModelTail } from './model-guide.js';
import { CITY_LEVELS } from './customer-groups.js';

export const PCA_KIND = 'pca';

/** Parsed, normalised `pca` spec over named features. */
export interface PcaFeatureSpec {
  readonly kind: typeof PCA_KIND;
  readonly purpose: string;
  readonly asOf: string;
  readonly features: readonly string[];
  /** Decompose the correlation matrix (true) or the covariance matrix. */
  readonly standardise: boolean;
  /** Components to report (all eigenvalues are always reported). */
  readonly components: number;
  readonly scaleBits: number;
  readonly bounds: ModelBounds;
}

/** Parsed, normalised `pca` spec over a one-sided formula. */
export interface PcaFormulaSpec extends ModelData {
  readonly kind: typeof PCA_KIND;
  readonly purpose: string;
  readonly standardise: boolean;
  readonly components: number;
  readonly scaleBits: number;
}

/** Parsed, normalised `pca` spec. */
export type PcaSpec = PcaFeatureSpec | PcaFormulaSpec;

const isFormula = (spec: PcaSpec): spec is PcaFormulaSpec => 'formula' in spec;

/** The variables decomposed: the features, or the formula's design columns. */
export function pcaVariables(spec: PcaSpec): readonly string[] {
  return isFormula(spec) ? modelDesign(spec).columns.map((c) => c.name) : spec.features;
}

/** One principal component. */
export interface PrincipalComponent {
  readonly eigenvalue: number;
  /** Share of the total variance. */
  readonly explained: number;
  readonly cumulative: number;
  /** Unit eigenvector, one loading per feature in spec order. */
  readonly loadings: readonly number[];
}

/** What a marketer sees. */
export interface PcaResult {
  readonly status: 'fitted' | 'suppressed' | 'degenerate';
  readonly problem: string | null;
  readonly n: number | null;
  readonly features: readonly string[];
  readonly matrix: 'correlation' | 'covariance';
  readonly means: readonly number[] | null;
  readonly standardDeviations: readonly number[] | null;
  /** All eigenvalues, decreasing. */
  readonly eigenvalues: readonly number[];
  readonly components: readonly PrincipalComponent[];
}

const specSchema = z.strictObject({
  kind: z.literal(PCA_KIND),
  purpose: purposeSchema,
  asOf: asOfSchema,
  features: featureListSchema(2),
  standardise: z.boolean().optional(),
  components: z.number().int().min(1).optional(),
  scaleBits: z.number().int().min(0).max(52).optional(),
  bounds: modelBoundsSchema,
});

const formulaSpecSchema = z.strictObject({
  kind: z.literal(PCA_KIND),
  purpose: purposeSchema,
  ...modelDataSchema,
  standardise: z.boolean().optional(),
  components: z.number().int().min(1).optional(),
  scaleBits: z.number().int().min(0).max(52).optional(),
});

/** Validates untrusted spec JSON; throws QuerySpecError naming the path. */
export function parsePcaSpec(json: unknown): PcaSpec {
  if (typeof json === 'object' && json !== null && 'formula' in json) {
    const raw = parseWith(formulaSpecSchema, json);
    const data = normaliseModelData(raw, MAX_MODEL_VARIABLES, 'none');
    const d = modelDesign(data).columns.length;
    if (d < 2) throw new QuerySpecError('formula', 'principal components need at least two design columns');
    const components = raw.components ?? d;
    if (components > d) throw new QuerySpecError('components', `at most ${d} (one per design column)`);
    return { kind: PCA_KIND, purpose: raw.purpose, ...data, standardise: raw.standardise ?? true, components, scaleBits: raw.scaleBits ?? DEFAULT_MODEL_SCALE_BITS };
  }
  const raw = parseWith(specSchema, json);
  const components = raw.components ?? raw.features.length;
  if (components > raw.features.length) throw new QuerySpecError('components', `at most ${raw.features.length} (one per feature)`);
  return {
    kind: PCA_KIND,
    purpose: raw.purpose,
    asOf: raw.asOf,
    features: raw.features,
    standardise: raw.standardise ?? true,
    components,
    scaleBits: raw.scaleBits ?? DEFAULT_MODEL_SCALE_BITS,
    bounds: normaliseBounds(raw.bounds, raw.features, (path, message) => {
      throw new QuerySpecError(path, message);
    }),
  };
}

function layoutOf(spec: PcaSpec): MomentLayout {
  if (!isFormula(spec)) return modelLayout(spec.features, spec.bounds, spec.scaleBits);
  const variables = pcaVariables(spec);
  // Every design column is a group, its zero rows too (as in linear-model).
  const perSubject = spec.bounds.maxRowsPerCustomer;
  return { variables, maxAbs: columnBounds(spec), maxRows: spec.bounds.maxRows, scaleBits: spec.scaleBits, indicators: variables.map(() => true), ...(perSubject === undefined ? {} : { perSubject }) };
}

/** The rows decomposed at one shop (feature rows, or the formula's design rows), with their customers for an order model. */
function rowsOf(spec: PcaSpec, data: ShopData): { rows: number[][]; subjects: string[] | undefined } {
  return isFormula(spec) ? modelSubjectRows(spec, data) : { rows: featureMatrix(data, spec.features, asOfUnixS(spec.asOf)), subjects: undefined };
}

/** Shop side: the variables' moments. Throws RangeError naming the field when a value exceeds its bound. */
export function computePcaLocal(spec: PcaSpec, data: ShopData): bigint[] {
  const layout = layoutOf(spec);
  const { rows, subjects } = rowsOf(spec, data);
  const values = accumulateMoments(layout, rows, subjects);
  assertWithinBounds(momentFields(layout), values);
  return values;
}

function unfitted(spec: PcaSpec, status: 'suppressed' | 'degenerate', problem: string | null, n: number | null): PcaResult {
  return { status, problem, n, features: pcaVariables(spec), matrix: spec.standardise ? 'correlation' : 'covariance', means: null, standardDeviations: null, eigenvalues: [], components: [] };
}

/** The decomposition from exact moments (also for pooled checks). */
export function fitPca(spec: PcaSpec, m: MomentTotals): PcaResult {
  const n = Number(m.n);
  if (m.n < 2n) return unfitted(spec, 'degenerate', `${n} rows are too few for a covariance`, n);
  const cov = centredScatter(m).map((row) => row.map((v) => v / (n - 1)));
  const sd = cov.map((row, i) => Math.sqrt(row[i] as number));
  let matrix = cov;
  if (spec.standardise) {
    const flat = sd.findIndex((s) => !(s > 0));
    if (flat >= 0) return unfitted(spec, 'degenerate', `feature ${pcaVariables(spec)[flat]} does not vary, so it has no correlation`, n);
    matrix = cov.map((row, i) => row.map((v, j) => (i === j ? 1 : v / ((sd[i] as number) * (sd[j] as number)))));
  }
  const pairs = symmetricEigen(matrix);
  const total = pairs.reduce((s, p) => s + Math.max(0, p.value), 0);
  let cumulative = 0;
  const components = pairs.slice(0, spec.components).map((p): PrincipalComponent => {
    const explained = total > 0 ? Math.max(0, p.value) / total : 0;
    cumulative += explained;
    return { eigenvalue: p.value, explained, cumulative, loadings: p.vector };
  });
  return {
    status: 'fitted',
    problem: null,
    n,
    features: pcaVariables(spec),
    matrix: spec.standardise ? 'correlation' : 'covariance',
    means: momentMeans(m),
    standardDeviations: sd,
    eigenvalues: pairs.map((p) => p.value),
    components,
  };
}

/** Coordinator side: the decomposition of the released moments, or `suppressed`. */
export function finalisePca(spec: PcaSpec, release: ReleasedTotals): PcaResult {
  const totals = releasedMomentCell(release);
  if (totals === null) return unfitted(spec, 'suppressed', null, null);
  return fitPca(spec, momentTotals(layoutOf(spec), totals));
}

const PCA_GUIDE: KindGuideBody = {
  summary: "Principal components of named customer features or of a one-sided formula's columns, in one round.",
  description:
    'Each shop sends the exact fixed-point moments of the variables over its rows; the coordinator forms the correlation matrix ' +
    '(or, without standardise, the sample covariance) from the released totals and decomposes it, as R\'s prcomp does. The variables ' +
    'are named features of consented customers (features), or the design columns of a one-sided R formula over customers or a ' +
    'shop-declared table (formula, with data, levels, aggregates as in linear-model). Released: all eigenvalues, and for the first ' +
    '`components` components the explained share of variance and the loadings.',
  members: [
    purposeMember('marketing-analytics'),
    {
      name: 'asOf',
      type: 'string',
      required: false,
      requiredWhen: 'features are given, or data is "customers"',
      description: `UTC instant like ${AS_OF}: features and order aggregates see only orders before it. Leave it out for a table.`,
    },
    { ...momentModelMembers(2)[0]!, required: false, requiredWhen: 'no formula is given', description: `Either features or formula: 2 to ${MAX_MODEL_VARIABLES - 1} distinct feature names (see Features below).` },
    {
      name: 'formula',
      type: 'string',
      required: false,
      default: 'none (features are decomposed)',
      description: 'Instead of features: a one-sided R formula whose design columns are decomposed, e.g. "~ income + log1p(spend) + C(region)"; at least two columns. Needs data.',
      sample: `~ frequency + tenure_days + C(city_level)`,
      sampleWith: { features: undefined, data: 'customers' },
    },
    {
      name: 'data',
      type: 'string',
      required: false,
      requiredWhen: 'formula is given',
      description: 'With formula: "customers", or the name of a table shops declare under extraTables in their schema.json.',
      sample: 'customers',
      sampleWith: { features: undefined, formula: '~ frequency + tenure_days' },
    },
    {
      name: 'levels',
      type: 'object',
      required: false,
      default: '{}',
      description: 'With formula: levels of categorical variables, reference level first, e.g. {"region": ["north", "south"]}.',
      sample: { city_level: [...CITY_LEVELS] },
      sampleWith: { features: undefined, data: 'customers', formula: '~ frequency + C(city_level)' },
    },
    {
      name: 'aggregates',
      type: 'object',
      required: false,
      default: '{}',
      description: 'With formula and data "customers": variable name -> per-customer order aggregate, e.g. {"spend": "sum(order.amount)"}.',
      sample: { spend: 'sum(order.amount)' },
      sampleWith: { features: undefined, data: 'customers', formula: '~ frequency + log1p(spend)' },
    },
    {
      name: 'bounds.maxAbs',
      type: 'object',
      required: false,
      default: '1000000 per variable (a named feature: its own bound)',
      description: 'With formula: bound on |value| per variable or term as written in the formula, e.g. {"log1p(spend)": 25}.',
      sample: { frequency: 1000 },
      sampleWith: { features: undefined, data: 'customers', formula: '~ frequency + tenure_days' },
    },
    { name: 'standardise', type: 'boolean', required: false, default: 'true', description: 'Decompose the correlation matrix (true) or the covariance matrix (false).', sample: false },
    { name: 'components', type: 'integer', required: false, default: 'one per variable', description: 'Components to report, at most one per variable.' },
    ...momentModelTail.map((m) => (m.name === 'bounds.featureMaxAbs' ? { ...m, description: `With features: ${m.description}` } : m)),
  ],
  sections: [
    { title: 'Features', text: FEATURE_TEXT },
    {
      title: 'Formula',
      text: 'One-sided: `~ terms`, no response. The syntax, variables, levels and aggregates are those of linear-model (fedmart query kinds linear-model); the loadings are named as R\'s model.matrix names the columns.',
    },
  ],
  example: { purpose: 'marketing-analytics', asOf: AS_OF, features: ['recency_days', 'frequency', 'monetary_yuan', 'tenure_days'], components: 2 },
};

/** The `pca` query definition registered under its kind. */
export const pcaQuery: QueryDefinition<PcaSpec, PcaResult, typeof PCA_KIND> = {
  kind: PCA_KIND,
  guide: PCA_GUIDE,
  parseSpec: parsePcaSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => (isFormula(spec) ? modelInputFields(spec) : featuresInputFields(spec.features)),
  fields: (spec) => momentFields(layoutOf(spec)),
  cells: (spec) => momentCells(layoutOf(spec)),
  subjectSensitivity: (spec) => momentSensitivity(layoutOf(spec)),
  computeLocal: computePcaLocal,
  finalise: finalisePca,
  disclosureRole: 'model',
  rowScope: (spec) => (isFormula(spec) ? modelRowScope(spec) : featureRowScope(asOfUnixS(spec.asOf))),
  // One loading vector per variable: d parameters against the rows.
  modelRules: (spec) => momentModelRules(layoutOf(spec), pcaVariables(spec).length),
  inputViolation: (spec, totals) => momentInputViolation(layoutOf(spec), totals),
};
