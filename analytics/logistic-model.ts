/**
 * `logistic-model`: a logistic regression given as an R formula whose
 * response is a label expression (`units > 120 ~ log(price) + C(brand)`,
 * `churned == TRUE ~ income + C(region)`), fitted by federated Newton–IRLS
 * like `logistic-regression`: each round every shop sends its encrypted
 * gradient, Hessian, log-likelihood and counts at the current β over its
 * rows (model-data.ts: customers or a further table), and only the sums over
 * all shops are decrypted. Coefficients carry R's names (`(Intercept)`,
 * `log(price)`, `C(brand)B`), so the model reads as `glm(…, family =
 * binomial)` prints it; standard errors come from the final Hessian.
 *
 * Rounds are `fit-round` queries: their sums go to the fit runner only.
 * The release rules are those of logistic rounds (model-rules.ts): both
 * label levels, every design column's support, every pair's joint support
 * and every column's support among positives and negatives hold 0 or at
 * least k rows. No hold-out split (every row trains): evaluate with a
 * separate purpose-approved query.
 *
 * A spec may declare `gradientClip` (logistic-clipping.ts): each row's
 * gradient is scaled to that norm at most, and the key holder bounds the
 * pooled gradient by it. A row beyond a design column's bound is still
 * refused (no feature clipping).
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { designRow, evaluateLabel, type Expr } from './formula.js';
import type { IterativeModelDefinition } from './iterative.js';
import {
  finaliseLogisticRound,
  logisticModelRules,
  logisticRoundFields,
  logisticRoundInputViolation,
  logisticRoundSensitivity,
  logisticRoundSums,
  newtonAdvance,
  type LogisticRoundResult,
  type LogisticState,
} from './logistic-regression.js';
import { columnBounds, modelDataSchema, modelDesign, modelInputFields, modelRowScope, modelUnits, normaliseModelData, rowsBelongToCustomers, type ModelData } from './model-data.js';
import { SUBJECTS_FIELD } from './model-rules.js';
import { purposeSchema } from './model-spec.js';
import type { CellSpec, QueryDefinition } from './query-definition.js';
import type { ShopData } from './shop-data.js';
import { parseWith } from './spec-parse.js';
import { AS_OF, purposeMember, type KindGuideBody } from './kind-guide-types.js';
import { FORMULA_SECTIONS, formulaMembers } from './model-guide.js';
import { CITY_LEVELS } from './customer-groups.js';
import { clippingMembers } from './logistic-clipping.js';

export const LOGISTIC_MODEL_KIND = 'logistic-model';
export const LOGISTIC_MODEL_ROUND_KIND = 'logistic-model-round';

/** Most coefficients (the intercept included) of a logistic model. */
export const MAX_LOGISTIC_COEFFICIENTS = 24;
/** Largest per-row bound of a design column a round accepts. */
const MAX_FEATURE_ABS = 1e6;

const fitMembers = {
  purpose: purposeSchema,
  ...modelDataSchema,
  l2: z.number().min(0).max(1e6).optional(),
  gradientClip: clippingMembers.gradientClip,
};

const fitSchema = z.strictObject({
  kind: z.literal(LOGISTIC_MODEL_KIND),
  ...fitMembers,
  maxRounds: z.number().int().min(1).max(100).optional(),
  /** Stop when the largest Newton step is below it (default 1e-10: the standard errors come from the last round's Hessian). */
  tolerance: z.number().positive().max(1).optional(),
});

const roundSchema = z.strictObject({
  kind: z.literal(LOGISTIC_MODEL_ROUND_KIND),
  ...fitMembers,
  fitId: z.string().min(1).max(128),
  round: z.number().int().min(1).max(1000),
  beta: z.array(z.number().finite()).max(MAX_LOGISTIC_COEFFICIENTS),
});

/** Parsed `logistic-model` fit spec. */
export interface LogisticModelSpec extends ModelData {
  readonly kind: typeof LOGISTIC_MODEL_KIND;
  readonly purpose: string;
  readonly l2: number;
  /** Largest norm of one row's gradient; longer ones are scaled down to it (logistic-clipping.ts). */
  readonly gradientClip?: number;
  readonly maxRounds: number;
  readonly tolerance: number;
}

/** Parsed round spec. */
export interface LogisticModelRoundSpec extends ModelData {
  readonly kind: typeof LOGISTIC_MODEL_ROUND_KIND;
  readonly purpose: string;
  readonly l2: number;
  readonly gradientClip?: number;
  readonly fitId: string;
  readonly round: number;
  readonly beta: readonly number[];
}

/** The fitted model. */
export interface LogisticModelResult {
  readonly kind: typeof LOGISTIC_MODEL_KIND;
  readonly purpose: string;
  readonly formula: string;
  readonly data: string;
  /** The label expression, as R deparses it. */
  readonly response: string;
  readonly l2: number;
  /** Named as R's glm names them, `(Intercept)` first when present. */
  readonly coefficients: readonly { readonly name: string; readonly estimate: number; readonly standardError: number }[];
  readonly rounds: number;
  readonly trainingRows: number;
  readonly logLikelihood: number;
  readonly converged: boolean;
  /** Set when the fit clipped each row's gradient to this norm. */
  readonly gradientClip?: number;
}

/** The fit's state between rounds: the logistic fit's own. */
export type LogisticModelState = LogisticState;

/** Coefficient names: `(Intercept)` (sent as `intercept` in rounds) and the design columns. */
function coefficientNames(spec: ModelData): string[] {
  const d = modelDesign(spec);
  return [...(d.intercept ? ['(Intercept)'] : []), ...d.columns.map((c) => c.name)];
}

/** The round shape: features as the round's field names know them. */
function roundShape(spec: ModelData & { readonly gradientClip?: number }) {
  const d = modelDesign(spec);
  const bounds = columnBounds(spec);
  const maxFeatureAbs = Math.max(1, ...bounds);
  if (maxFeatureAbs > MAX_FEATURE_ABS) {
    throw new QuerySpecError('bounds.maxAbs', `a design column may reach ${maxFeatureAbs}; a logistic round takes at most ${MAX_FEATURE_ABS} (declare smaller bounds)`);
  }
  const maxRows = Number(spec.bounds.maxRows);
  if (maxRows > 2 ** 31) throw new QuerySpecError('bounds.maxRows', 'a logistic round takes at most 2^31 rows per shop');
  const perSubject = spec.bounds.maxRowsPerCustomer;
  if (perSubject !== undefined && perSubject > BigInt(maxRows)) throw new QuerySpecError('bounds.maxRowsPerCustomer', 'at most bounds.maxRows');
  return {
    features: [...(d.intercept ? ['intercept'] : []), ...d.columns.map((c) => c.name)],
    maxRows,
    maxFeatureAbs,
    ...(perSubject === undefined ? {} : { perSubject: Number(perSubject) }),
    ...(spec.gradientClip === undefined ? {} : { gradientClip: spec.gradientClip }),
  };
}

function parseData(raw: Parameters<typeof normaliseModelData>[0]): ModelData {
  const data = normaliseModelData(raw, MAX_LOGISTIC_COEFFICIENTS - 1);
  roundShape(data);
  return data;
}

export function parseLogisticModelSpec(json: unknown): LogisticModelSpec {
  const raw = parseWith(fitSchema, json);
  const data = parseData(raw);
  return { kind: LOGISTIC_MODEL_KIND, purpose: raw.purpose, ...data, l2: raw.l2 ?? 0, ...gradientClipOf(raw), maxRounds: raw.maxRounds ?? 25, tolerance: raw.tolerance ?? 1e-10 };
}

export function parseLogisticModelRoundSpec(json: unknown): LogisticModelRoundSpec {
  const raw = parseWith(roundSchema, json);
  const data = parseData(raw);
  const d = coefficientNames(data).length;
  if (raw.beta.length !== d) throw new QuerySpecError('beta', `expected ${d} coefficients`);
  return { kind: LOGISTIC_MODEL_ROUND_KIND, purpose: raw.purpose, ...data, l2: raw.l2 ?? 0, ...gradientClipOf(raw), fitId: raw.fitId, round: raw.round, beta: raw.beta };
}

/** `{ gradientClip }` when the spec declares one, else nothing (specs without it keep their canonical JSON). */
function gradientClipOf(spec: { readonly gradientClip?: number | undefined }): { gradientClip?: number } {
  return spec.gradientClip === undefined ? {} : { gradientClip: spec.gradientClip };
}

/**
 * The rows of one shop (or pooled data, for checks): x with a leading 1 for
 * the intercept, y from the label expression; rows with a missing value are
 * left out.
 */
export function logisticModelRows(spec: ModelData, data: ShopData): { x: number[]; y: 0 | 1; subject: string | undefined }[] {
  const design = modelDesign(spec);
  const out: { x: number[]; y: 0 | 1; subject: string | undefined }[] = [];
  for (const u of modelUnits(spec, data)) {
    const y = evaluateLabel(design.response as Expr, u.get);
    if (y === undefined) continue;
    // designRow evaluates the response as a number too (1/0), which it is.
    const row = designRow(design, u.get);
    if (row === undefined) continue;
    row.pop();
    out.push({ x: design.intercept ? [1, ...row] : row, y: y ? 1 : 0, subject: u.customerId });
  }
  return out;
}

export function computeLogisticModelRoundLocal(spec: LogisticModelRoundSpec, data: ShopData): bigint[] {
  return logisticRoundSums(roundShape(spec), spec.beta, logisticModelRows(spec, data));
}

export const logisticModelRoundQuery: QueryDefinition<LogisticModelRoundSpec, LogisticRoundResult> = {
  kind: LOGISTIC_MODEL_ROUND_KIND,
  parseSpec: parseLogisticModelRoundSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: modelInputFields,
  fields: (spec) => logisticRoundFields(roundShape(spec)),
  cells: (spec): CellSpec[] => [
    { name: 'all', subjectsField: rowsBelongToCustomers(spec) ? SUBJECTS_FIELD : 'n', fields: logisticRoundFields(roundShape(spec)).map((f) => f.name) },
  ],
  computeLocal: computeLogisticModelRoundLocal,
  finalise: (spec, release) => finaliseLogisticRound(roundShape(spec), release),
  subjectSensitivity: (spec) => logisticRoundSensitivity(roundShape(spec)),
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  rowScope: modelRowScope,
  modelRules: (spec) => logisticModelRules({ ...roundShape(spec), label: modelDesign(spec).responseLabel }),
  inputViolation: (spec, totals, contributors) => logisticRoundInputViolation(roundShape(spec), totals, contributors),
};

/** The spec members a round repeats from its fit. */
function modelDataJson(spec: LogisticModelSpec): Record<string, unknown> {
  return {
    purpose: spec.purpose,
    formula: spec.formula,
    data: spec.data,
    ...(spec.customerRows === true ? { customerRows: true } : {}),
    ...(spec.asOf === undefined ? {} : { asOf: spec.asOf }),
    levels: spec.levels,
    aggregates: spec.aggregates,
    bounds: {
      maxRows: spec.bounds.maxRows.toString(),
      maxAbs: spec.bounds.maxAbs,
      ...(spec.bounds.maxRowsPerCustomer === undefined ? {} : { maxRowsPerCustomer: spec.bounds.maxRowsPerCustomer.toString() }),
    },
    l2: spec.l2,
    ...gradientClipOf(spec),
  };
}

const LOGISTIC_MODEL_GUIDE: KindGuideBody = {
  summary: 'Logistic regression as an R formula with a label expression as response (glm binomial).',
  description:
    'Like glm(..., family = binomial): the response is a label expression on the row (units > 120, churned == TRUE), the terms are an ' +
    'R formula over customers or a shop-declared table, and coefficients carry R\'s names. Each round every shop sends its encrypted ' +
    'gradient, Hessian and log-likelihood at the current coefficients; only sums over all shops are decrypted. Both label levels, every ' +
    'design column and every pair must hold 0 or at least k rows. Every row trains (no hold-out).',
  members: [
    purposeMember('churn-modelling'),
    ...formulaMembers('model', { 'log1p(n_orders)': 10 }),
    { name: 'l2', type: 'number', required: false, default: '0', description: 'L2 penalty on the coefficients other than the intercept, 0 to 1e6.' },
    {
      name: 'gradientClip',
      type: 'number',
      required: false,
      description: 'Largest Euclidean norm of one row\'s gradient x·(y − p); a longer one is scaled down to it. The key holder then refuses a round whose gradient exceeds gradientClip × its rows. At most 1e6; absent, nothing is clipped.',
      sample: 1,
    },
    { name: 'maxRounds', type: 'integer', required: false, default: '25', description: 'Most Newton rounds, 1 to 100.' },
    { name: 'tolerance', type: 'number', required: false, default: '1e-10', description: 'Stop when the largest Newton step is below it (at most 1).', sample: 1e-8 },
  ],
  sections: FORMULA_SECTIONS,
  example: {
    purpose: 'churn-modelling',
    data: 'customers',
    asOf: AS_OF,
    formula: 'days_idle > 90 ~ log1p(n_orders) + tenure_days + C(city_level)',
    levels: { city_level: [...CITY_LEVELS] },
    aggregates: { days_idle: 'days_since(order.ordered_at)', n_orders: 'count(orders)' },
    l2: 0.1,
    maxRounds: 25,
  },
};

export const logisticModelFitDefinition: IterativeModelDefinition<LogisticModelSpec, LogisticModelState, LogisticModelResult> = {
  kind: LOGISTIC_MODEL_KIND,
  guide: LOGISTIC_MODEL_GUIDE,
  roundKinds: [LOGISTIC_MODEL_ROUND_KIND],
  parseFitSpec: parseLogisticModelSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: modelInputFields,
  initialState: (spec) => ({ beta: coefficientNames(spec).map(() => 0), history: [] }),
  roundQuery: (spec, state, round, fitId) => ({ kind: LOGISTIC_MODEL_ROUND_KIND, spec: { ...modelDataJson(spec), fitId, round, beta: state.beta } }),
  advance: (spec, state, roundResult, round) => {
    const result = roundResult as LogisticRoundResult;
    const names = coefficientNames(spec);
    const next = newtonAdvance(state, result, names.map((n) => (n === '(Intercept)' ? 0 : spec.l2)), round, spec);
    if (!next.done) return { done: false, state: next.state };
    // Standard errors at the final β, as glm reports them, from the Hessian of the round just run.
    const { beta, standardErrors, converged } = next;
    return {
      done: true,
      model: {
        kind: LOGISTIC_MODEL_KIND,
        purpose: spec.purpose,
        formula: spec.formula,
        data: spec.data,
        response: modelDesign(spec).responseLabel,
        l2: spec.l2,
        coefficients: names.map((name, j) => ({ name, estimate: beta[j]!, standardError: standardErrors[j]! })),
        rounds: round,
        trainingRows: result.n,
        logLikelihood: result.logLikelihood,
        converged,
        ...gradientClipOf(spec),
      },
    };
  },
};
