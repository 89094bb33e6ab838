/**
 * Logistic regression (purchase / repurchase / churn propensity) by federated
 * Newton–IRLS. Each round every shop sends, for the current coefficients β,
 * its encrypted gradient Σ x(y − p), Hessian Σ p(1 − p) x xᵀ, log-likelihood
 * and row count over its training rows; only the sums over all shops are
 * decrypted, and the coordinator takes the Newton step
 * β ← β + (H + λI₀)⁻¹ (g − λI₀β) (no penalty on the intercept). The fit
 * stops when the largest step is below the tolerance; standard errors come
 * from the final Hessian. Because gradient and Hessian are sums over rows,
 * each step equals the pooled Newton step up to the fixed-point resolution
 * (2⁻⁴⁰ per shop total).
 *
 * @module
 */
import { z } from 'zod';
import {
  CUSTOMER_FEATURE_NAMES,
  CUSTOMER_LABEL_NAMES,
  featureInputFields,
  featureRows,
  isHoldout,
  type CustomerFeature,
  type CustomerLabel,
  CUSTOMER_LABELS,
} from './customer-features.js';
import {
  assertRowsPerSubject,
  subjectGroupCounts,
  subjectGroupFields,
  subjectGroupRules,
  supportCounts,
  supportField,
  supportFields,
  supportGroups,
  supportRowGroups,
  type ModelGroup,
  type ModelRules,
  type RowGroup,
} from './model-rules.js';
import type { RowScope } from './row-scope.js';
import { absAtMost, atLeast, atMost, firstBroken, signedTotalOf, squareAtMost, totalOf, withRoundingSlack, type RelationCheck } from './input-relations.js';
import type { IterativeModelDefinition } from './iterative.js';
import { choleskyInverse, choleskySolve, NotPositiveDefiniteError } from './linear-algebra.js';
import { logisticRoundSubjectSensitivity } from './logistic-disclosure.js';
import { assertWithinBounds, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals, type SubjectSensitivity } from './query-definition.js';
import { fixedToReal, joinSigned, realToFixed, signedFieldSpecs, splitSigned } from './signed-real.js';
import { parseWith } from './spec-parse.js';
import type { ShopData } from './shop-data.js';
import { CUSTOMER_FEATURE_TEXT } from './model-guide.js';
import {
  FEATURE_CLIP_GUIDE_MEMBERS,
  clippedFeatures,
  clippingMembers,
  declaredClipping,
  gradientComponentBound,
  gradientNormViolation,
  gradientScale,
  perRowBoundAtScale,
  type FeatureClip,
} from './logistic-clipping.js';
import { purposeMember, type KindGuideBody } from './kind-guide-types.js';

export const LOGISTIC_ROUND_KIND = 'logistic-irls-round';
export const LOGISTIC_FIT_KIND = 'logistic-regression';

const purpose = z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/);
const features = z
  .array(z.enum(CUSTOMER_FEATURE_NAMES as [CustomerFeature, ...CustomerFeature[]]))
  .min(1)
  .max(16)
  .refine((f) => new Set(f).size === f.length, 'features must be distinct');
const common = {
  purpose,
  features,
  label: z.enum(CUSTOMER_LABEL_NAMES as [CustomerLabel, ...CustomerLabel[]]),
  holdoutPercent: z.number().int().min(0).max(50).default(20),
  l2: z.number().min(0).max(1e6).default(0),
  /** Largest |feature| a row may have; rows beyond it are refused, or clipped under `featureClip: 'clip'`. */
  maxFeatureAbs: z.number().positive().max(1e6).default(1000),
  /** Most training rows one shop may have. */
  maxRows: z.number().int().positive().max(2 ** 31).default(2 ** 24),
  ...clippingMembers,
};

const roundSchema = z.strictObject({
  kind: z.literal(LOGISTIC_ROUND_KIND),
  ...common,
  fitId: z.string().min(1).max(128),
  round: z.number().int().min(1).max(1000),
  beta: z.array(z.number().finite()),
});

const fitSchema = z.strictObject({
  kind: z.literal(LOGISTIC_FIT_KIND),
  ...common,
  maxRounds: z.number().int().min(1).max(100).default(25),
  tolerance: z.number().positive().max(1).default(1e-8),
});

export type LogisticRoundSpec = z.infer<typeof roundSchema>;
export type LogisticFitSpec = z.infer<typeof fitSchema>;

/** Aggregates of one IRLS round over all shops. */
export interface LogisticRoundResult {
  readonly n: number;
  readonly logLikelihood: number;
  readonly gradient: number[];
  readonly hessian: number[][];
}

/** A fitted model as stored and handed to shops for local scoring. */
export interface LogisticModel {
  readonly kind: typeof LOGISTIC_FIT_KIND;
  readonly purpose: string;
  readonly features: CustomerFeature[];
  readonly label: CustomerLabel;
  readonly holdoutPercent: number;
  readonly l2: number;
  readonly coefficients: number[];
  readonly standardErrors: number[];
  readonly rounds: number;
  readonly trainingRows: number;
  readonly logLikelihood: number;
  readonly converged: boolean;
  /** Set when the fit clipped features to ±maxFeatureAbs. */
  readonly featureClip?: FeatureClip;
  /** With featureClip clip: the bound the features were clipped to, which the evaluation and scoring clip to as well. */
  readonly maxFeatureAbs?: number;
  /** Set when the fit clipped each row's gradient to this norm. */
  readonly gradientClip?: number;
}

export interface LogisticState {
  readonly beta: number[];
  readonly history: { round: number; logLikelihood: number; maxStep: number; n: number }[];
}

const LOG_LIKELIHOOD_TERM_MAX = 40; // each term log p or log(1 - p) is floored at -40

/**
 * log σ(t) (y = 1) or log(1 − σ(t)) (y = 0), floored at −40, computed
 * without forming 1 − σ(t): in doubles 1 − e^-40 rounds to 1, so clamping
 * p and taking log(1 − p) gave −∞ once a coefficient grew large (separable
 * data), and the shop could not encode its round.
 */
export function logLikelihoodTerm(t: number, y: 0 | 1): number {
  const z = y === 1 ? -t : t; // log σ(t) = −softplus(−t), log(1 − σ(t)) = −softplus(t)
  const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  return Math.max(-LOG_LIKELIHOOD_TERM_MAX, -softplus);
}

function bitsFor(x: number): bigint {
  return BigInt(Math.ceil(Math.log2(x + 1)));
}

function pairs(d: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 0; j < d; j++) for (let k = j; k < d; k++) out.push([j, k]);
  return out;
}

const isIntercept = (f: string): boolean => f === 'intercept';
const positiveSupportField = (f: string): string => `nzpos(${f})`;

/** The shape of a round's sums: design column names (`intercept` for the constant) and bounds. */
export interface LogisticRoundShape {
  readonly features: readonly string[];
  readonly maxRows: number;
  readonly maxFeatureAbs: number;
  /** `clip`: features beyond ±maxFeatureAbs are clipped at the shop; absent or `decline`: the shop refuses the round. */
  readonly featureClip?: FeatureClip | undefined;
  /** The largest norm of one row's gradient x · (y − p); longer ones are scaled down to it (logistic-clipping.ts). */
  readonly gradientClip?: number | undefined;
  /**
   * Set when rows are rows of customers (each order): the most rows of one
   * customer. The release rules then count customers, not rows.
   */
  readonly perSubject?: number;
}

/**
 * The groups of {@link logisticModelRules} as row tests, for rounds whose
 * rows belong to customers: both label levels, the supports and pair
 * supports of the features, and each support among positives and negatives.
 */
function logisticRowGroups(features: readonly string[], labelName: string): RowGroup[] {
  const label = `label ${labelName}`;
  return [
    { label: `the rows with ${label} = 1`, variables: [label], test: (_, pos) => pos },
    { label: `the rows with ${label} = 0`, variables: [label], test: (_, pos) => !pos },
    ...supportRowGroups(features, () => false, isIntercept),
    ...features.flatMap((f, j): RowGroup[] =>
      isIntercept(f)
        ? []
        : [
            { label: `the rows with ${label} = 1 where ${f} is nonzero`, variables: [f, label], test: (nz, pos) => pos && nz[j] === true },
            { label: `the rows with ${label} = 0 where ${f} is nonzero`, variables: [f, label], test: (nz, pos) => !pos && nz[j] === true },
          ],
    ),
  ];
}

/** Count fields of a round: positives, the features' supports and their supports among positives (model-rules.ts); customers per group when rows belong to customers. */
function countFields(spec: Pick<LogisticRoundShape, 'features' | 'maxRows' | 'perSubject'>): FieldSpec[] {
  const rows = BigInt(spec.maxRows);
  if (spec.perSubject !== undefined) return subjectGroupFields(logisticRowGroups(spec.features, ''), rows);
  return [
    { name: 'pos', max: rows },
    ...supportFields(spec.features, rows, isIntercept),
    ...spec.features.filter((f) => !isIntercept(f)).map((f) => ({ name: positiveSupportField(f), max: rows })),
  ];
}

/** The fields of a round, in the order {@link logisticRoundSums} returns values. */
export function logisticRoundFields(spec: LogisticRoundShape): FieldSpec[] {
  const d = spec.features.length;
  const scale = 40n;
  const rows = BigInt(spec.maxRows);
  const gMax = rows << (bitsFor(gradientComponentBound(spec)) + scale);
  const hMax = rows << (2n * bitsFor(spec.maxFeatureAbs) + scale);
  const llMax = rows << (bitsFor(LOG_LIKELIHOOD_TERM_MAX) + scale);
  return [
    { name: 'n', max: rows },
    ...signedFieldSpecs('ll', llMax),
    ...Array.from({ length: d }, (_, j) => signedFieldSpecs(`g.${j}`, gMax)).flat(),
    ...pairs(d).flatMap(([j, k]) => signedFieldSpecs(`h.${j}.${k}`, hMax)),
    ...countFields(spec),
  ];
}

/**
 * What the key holder checks on every round before the fit runner sees it:
 * both label levels, every feature's support and every pair's joint support,
 * and every feature's support among the positives and among the negatives
 * hold 0 or at least k training rows; d parameters stay below the
 * saturation ratio of the rows.
 */
export function logisticModelRules(spec: { readonly features: readonly string[]; readonly label: string; readonly perSubject?: number | undefined }): ModelRules {
  if (spec.perSubject !== undefined) return subjectGroupRules(logisticRowGroups(spec.features, spec.label), spec.features.length);
  const features = spec.features.filter((f) => !isIntercept(f));
  const label = `label ${spec.label}`;
  return {
    rowsField: 'n',
    parameters: spec.features.length,
    groups: [
      { label: `the rows with ${label} = 1`, variables: [label], terms: [{ field: 'pos', sign: 1 }] },
      { label: `the rows with ${label} = 0`, variables: [label], fromRows: true, terms: [{ field: 'pos', sign: -1 }] },
      ...supportGroups(features, () => false),
      ...features.flatMap((f): ModelGroup[] => [
        { label: `the rows with ${label} = 1 where ${f} is nonzero`, variables: [f, label], terms: [{ field: positiveSupportField(f), sign: 1 }] },
        { label: `the rows with ${label} = 0 where ${f} is nonzero`, variables: [f, label], terms: [{ field: supportField(f), sign: 1 }, { field: positiveSupportField(f), sign: -1 }] },
      ]),
    ],
  };
}

/** The training rows a round reads: every consented customer outside the held-out split. */
export function trainingRowScope(holdoutPercent: number): RowScope {
  return { customer: (c) => !isHoldout(c.customerId, holdoutPercent) };
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** Shop side: sums over the training rows at the round's β. */
export function computeLogisticRoundLocal(spec: LogisticRoundSpec, data: ShopData): bigint[] {
  const rows = featureRows(data, spec.features, spec.label, { holdoutPercent: spec.holdoutPercent, part: 'train' });
  return logisticRoundSums(spec, spec.beta, rows);
}

/**
 * The round's sums over `rows` at `beta`: row count, log-likelihood,
 * gradient, Hessian and the counts the release rules check. Features are
 * clipped to ±maxFeatureAbs under `featureClip: 'clip'` and each row's
 * gradient to norm `gradientClip` when declared (logistic-clipping.ts); the
 * Hessian and log-likelihood use the clipped features, the Hessian is not
 * clipped. Throws RangeError naming a feature beyond maxFeatureAbs (when the
 * spec declines) or the row count beyond maxRows.
 */
export function logisticRoundSums(
  spec: LogisticRoundShape,
  beta: readonly number[],
  rows: readonly { readonly x: readonly number[]; readonly y: 0 | 1; readonly subject?: string | undefined }[],
): bigint[] {
  const d = spec.features.length;
  if (beta.length !== d) throw new RangeError(`spec.beta must have ${d} entries`);
  if (rows.length > spec.maxRows) throw new RangeError(`field n: ${rows.length} training rows exceed maxRows ${spec.maxRows}`);
  if (spec.perSubject !== undefined && rows.some((r) => r.subject === undefined)) throw new TypeError('rows: expected the customer of every row (subject) when rows belong to customers');
  const g = new Array<number>(d).fill(0);
  const h = new Array<number>((d * (d + 1)) / 2).fill(0);
  let ll = 0;
  for (const row of rows) {
    const x = clippedFeatures(spec, spec.features, row.x);
    const t = x.reduce((s, v, j) => s + v * beta[j]!, 0);
    const p = sigmoid(t);
    ll += logLikelihoodTerm(t, row.y);
    const w = p * (1 - p);
    const r = (row.y - p) * gradientScale(spec, x, row.y - p);
    let idx = 0;
    for (let j = 0; j < d; j++) {
      g[j]! += x[j]! * r;
      for (let k = j; k < d; k++) h[idx++]! += w * x[j]! * x[k]!;
    }
  }
  const values: bigint[] = [BigInt(rows.length), ...splitSigned(realToFixed(ll))];
  for (const v of g) values.push(...splitSigned(realToFixed(v)));
  for (const v of h) values.push(...splitSigned(realToFixed(v)));
  if (spec.perSubject !== undefined) {
    assertRowsPerSubject(rows.map((r) => r.subject as string), BigInt(spec.perSubject));
    const counted = rows.map((r) => ({ subject: r.subject as string, nonzero: r.x.map((v) => v !== 0), positive: r.y === 1 }));
    values.push(...subjectGroupCounts(logisticRowGroups(spec.features, ''), counted));
    assertWithinBounds(logisticRoundFields(spec), values);
    return values;
  }
  values.push(BigInt(rows.filter((r) => r.y === 1).length));
  values.push(...supportCounts(spec.features, rows.map((r) => r.x), isIntercept));
  spec.features.forEach((f, j) => {
    if (!isIntercept(f)) values.push(BigInt(rows.filter((r) => r.y === 1 && r.x[j] !== 0).length));
  });
  assertWithinBounds(logisticRoundFields(spec), values);
  return values;
}

/** round(x · 2^40) of an integer bound; the scale of a round's real sums. */
const ROUND_SCALE = 40n;

/**
 * Relations every honest shop's round sums satisfy, checked by the key
 * holder on the pooled sums (input-relations.ts). Per row, |x_j| ≤ F
 * (maxFeatureAbs), |y − p| ≤ 1, 0 ≤ p(1 − p) ≤ 1/4 and each log-likelihood
 * term lies in [−40, 0]; a row adds to g_j and h_jk only where its features
 * are nonzero. So over any set of honest rows:
 *
 * - pos, every support nz(f) and nzpos(f) are row counts within their groups;
 * - |g_j| ≤ F · nz_j, 0 ≤ h_jj ≤ F²/4 · nz_j, |h_jk| ≤ F²/4 · min(nz_j, nz_k);
 * - h_jk² ≤ h_jj · h_kk: every 2 × 2 principal minor of a sum of positive
 *   semidefinite matrices is non-negative;
 * - −40 · n ≤ ll ≤ 0.
 *
 * Features beyond F are clipped to it under `featureClip: 'clip'`, so the
 * bounds hold as they are. With `gradientClip` G every row's gradient
 * vector has norm at most G, so also |g_j| ≤ min(F, G) · nz_j and
 * ‖g‖ ≤ G · n (the triangle inequality over rows).
 *
 * Sums are computed in doubles and rounded once to 2^-40 per shop, so the
 * upper bounds carry a slack of 2^-20 relative (far above the doubles'
 * accumulated error for 2^31 rows) plus one unit per shop; the signs of
 * h_jj and ll are exact (sums of terms of one sign).
 */
export function logisticRoundInputViolation(spec: Pick<LogisticRoundShape, 'features' | 'maxFeatureAbs' | 'gradientClip' | 'perSubject'>, totals: ReadonlyMap<string, bigint>, contributors: number): string | undefined {
  const d = spec.features.length;
  const n = totalOf(totals, 'n');
  const perRows = spec.perSubject === undefined;
  const support = (j: number): bigint => {
    const f = spec.features[j] as string;
    return perRows && !isIntercept(f) ? totalOf(totals, supportField(f)) : n;
  };
  const f1 = BigInt(Math.ceil(spec.maxFeatureAbs));
  const clip = spec.gradientClip;
  const gradientBound = (nz: bigint): bigint => (clip !== undefined && clip < spec.maxFeatureAbs ? perRowBoundAtScale(clip, nz) : (f1 * nz) << ROUND_SCALE);
  const gradientText = clip !== undefined && clip < spec.maxFeatureAbs ? 'gradientClip' : 'maxFeatureAbs';
  const f2 = BigInt(Math.ceil((spec.maxFeatureAbs * spec.maxFeatureAbs) / 4));
  const c = BigInt(contributors);
  const upTo = (limit: bigint): bigint => withRoundingSlack(limit, contributors);
  const counts: RelationCheck[] = [];
  if (perRows) {
    const pos = totalOf(totals, 'pos');
    counts.push(atMost('pos', pos, 'n', n));
    spec.features.forEach((f, j) => {
      if (isIntercept(f)) return;
      const nz = support(j);
      const nzpos = totalOf(totals, positiveSupportField(f));
      counts.push(
        atMost(supportField(f), nz, 'n', n),
        atMost(positiveSupportField(f), nzpos, supportField(f), nz),
        atMost(positiveSupportField(f), nzpos, 'pos', pos),
        atMost(`${supportField(f)} - ${positiveSupportField(f)}`, nz - nzpos, 'n - pos', n - pos),
      );
    });
  }
  const broken = firstBroken(counts);
  if (broken !== undefined) return broken;
  const ll = signedTotalOf(totals, 'll');
  const llBroken = firstBroken([atMost('ll', ll, '0', 0n), atLeast('ll', ll, '-40 x n (at scale 2^40)', -upTo((40n * n) << ROUND_SCALE))]);
  if (llBroken !== undefined) return llBroken;
  const h = (j: number, k: number): bigint => signedTotalOf(totals, j <= k ? `h.${j}.${k}` : `h.${k}.${j}`);
  for (let j = 0; j < d; j++) {
    const nz = support(j);
    const hjj = h(j, j);
    const broken = firstBroken([
      absAtMost(`g.${j}`, signedTotalOf(totals, `g.${j}`), `${gradientText} x the rows where ${spec.features[j]} is nonzero (at scale 2^40)`, upTo(gradientBound(nz))),
      atLeast(`h.${j}.${j}`, hjj, '0', 0n),
      atMost(`h.${j}.${j}`, hjj, `maxFeatureAbs^2/4 x the rows where ${spec.features[j]} is nonzero (at scale 2^40)`, upTo((f2 * nz) << ROUND_SCALE)),
    ]);
    if (broken !== undefined) return broken;
  }
  if (clip !== undefined) {
    const gradient = Array.from({ length: d }, (_, j) => signedTotalOf(totals, `g.${j}`));
    const broken = gradientNormViolation(gradient, contributors, upTo(perRowBoundAtScale(clip, n)));
    if (broken !== undefined) return broken;
  }
  for (let j = 0; j < d; j++) {
    for (let k = j + 1; k < d; k++) {
      const hjk = h(j, k);
      const nz = support(j) < support(k) ? support(j) : support(k);
      const magnitude = hjk < 0n ? -hjk : hjk;
      const rounded = magnitude > c ? magnitude - c : 0n; // one unit of rounding per shop
      const product = (h(j, j) + c) * (h(k, k) + c); // each diagonal may have been rounded down by one unit per shop
      const broken = firstBroken([
        absAtMost(`h.${j}.${k}`, hjk, `maxFeatureAbs^2/4 x the rows where both ${spec.features[j]} and ${spec.features[k]} are nonzero (at scale 2^40)`, upTo((f2 * nz) << ROUND_SCALE)),
        squareAtMost(`h.${j}.${k} (less one unit per shop)`, rounded, `h.${j}.${j} x h.${k}.${k} (with 2^-19 relative slack)`, 1n, product + (product >> 19n)),
      ]);
      if (broken !== undefined) return broken;
    }
  }
  return undefined;
}

/** Coordinator side: the round's sums as doubles. */
export function finaliseLogisticRound(spec: { readonly features: readonly string[] }, release: ReleasedTotals): LogisticRoundResult {
  const cell = release.cells.all;
  if (!cell || cell.suppressed || !cell.totals) throw new RangeError('the round aggregate was suppressed');
  const t = cell.totals;
  const d = spec.features.length;
  const hessian = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const [j, k] of pairs(d)) {
    const v = fixedToReal(joinSigned(t, `h.${j}.${k}`));
    hessian[j]![k] = v;
    hessian[k]![j] = v;
  }
  return {
    n: Number(t.n ?? 0n),
    logLikelihood: fixedToReal(joinSigned(t, 'll')),
    gradient: Array.from({ length: d }, (_, j) => fixedToReal(joinSigned(t, `g.${j}`))),
    hessian,
  };
}

export const logisticRoundQuery: QueryDefinition<LogisticRoundSpec, LogisticRoundResult> = {
  kind: LOGISTIC_ROUND_KIND,
  parseSpec: (json) => parseWith(roundSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => featureInputFields(spec.features, spec.label),
  fields: logisticRoundFields,
  cells: (spec): CellSpec[] => [{ name: 'all', subjectsField: 'n', fields: logisticRoundFields(spec).map((f) => f.name) }],
  computeLocal: computeLogisticRoundLocal,
  finalise: finaliseLogisticRound,
  subjectSensitivity: logisticRoundSensitivity,
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  rowScope: (spec) => trainingRowScope(spec.holdoutPercent),
  modelRules: logisticModelRules,
  inputViolation: logisticRoundInputViolation,
};

/** Per-subject sensitivity of a round's fields (for DP purposes). */
export function logisticRoundSensitivity(spec: LogisticRoundShape): SubjectSensitivity {
  const s = logisticRoundSubjectSensitivity(spec);
  // A customer with several rows (orders) moves every sum by as many rows' worth; each count of customers by 1.
  const rows = BigInt(spec.perSubject ?? 1);
  const sums = Object.fromEntries(Object.entries(s.perField).map(([name, v]) => [name, v * rows]));
  return { ...s, perField: { ...sums, ...Object.fromEntries(countFields(spec).map((f) => [f.name, 1n])) } };
}

/** The L2 penalty matrix: λ on every coefficient but the intercept. */
function penalty(spec: LogisticFitSpec): number[] {
  return spec.features.map((f) => (f === 'intercept' ? 0 : spec.l2));
}

/** H + λI₀: the matrix a Newton step solves with and whose inverse gives the standard errors. */
function penalisedHessian(result: LogisticRoundResult, l2: readonly number[]): number[][] {
  return result.hessian.map((row, j) => row.map((v, k) => (j === k ? v + l2[j]! : v)));
}

/**
 * A round's pooled Hessian (with the l2 penalty) that Cholesky cannot
 * factor: honest shops cannot produce one once their rows span the
 * features, so a fit that meets it stops (`HESSIAN_NOT_POSITIVE_DEFINITE`)
 * and takes no step from it.
 */
export class HessianNotPositiveDefiniteError extends RangeError {
  constructor(readonly pivot: number, readonly value: number) {
    super(`the round's Hessian (with the l2 penalty) is not positive definite (Cholesky pivot ${pivot} is ${value}), so no Newton step was taken`);
    this.name = 'HessianNotPositiveDefiniteError';
  }
}

/**
 * One Newton step from aggregates; exported for the pooled reference in tests and the bench.
 *
 * Honest shops' Hessians Σ p(1 − p) x xᵀ are positive semidefinite, so their
 * sum is positive definite once the rows span the features. A shop that
 * sends large negative Hessian entries (as big `-` parts, within the fields'
 * declared bounds) can make the pooled matrix indefinite; a step solved with
 * it would head for a saddle or a minimum of the likelihood. So such a round
 * throws a RangeError naming the Hessian and no step is taken: the fit
 * runner stops the fit with that reason and keeps β as it was.
 */
export function newtonStep(beta: readonly number[], result: LogisticRoundResult, l2: readonly number[]): number[] {
  const b = result.gradient.map((g, j) => g - l2[j]! * beta[j]!);
  try {
    return choleskySolve(penalisedHessian(result, l2), b);
  } catch (err) {
    if (err instanceof NotPositiveDefiniteError) throw new HessianNotPositiveDefiniteError(err.pivot, err.value);
    throw err;
  }
}

/**
 * One step of a Newton–IRLS fit from a round's sums: the next state, or,
 * once the largest step is below `tolerance` or `maxRounds` is reached, the
 * final coefficients with standard errors from the penalised Hessian of the
 * round just run. Throws RangeError, leaving `state` as it was, when that
 * Hessian is not positive definite ({@link newtonStep}).
 */
export function newtonAdvance(
  state: LogisticState,
  result: LogisticRoundResult,
  l2: readonly number[],
  round: number,
  limits: { readonly tolerance: number; readonly maxRounds: number },
): { readonly done: false; readonly state: LogisticState } | { readonly done: true; readonly beta: number[]; readonly standardErrors: number[]; readonly converged: boolean } {
  const step = newtonStep(state.beta, result, l2);
  const beta = state.beta.map((b, j) => b + step[j]!);
  const maxStep = Math.max(...step.map(Math.abs));
  const history = [...state.history, { round, logLikelihood: result.logLikelihood, maxStep, n: result.n }];
  const converged = maxStep < limits.tolerance;
  if (!converged && round < limits.maxRounds) return { done: false, state: { beta, history } };
  const cov = choleskyInverse(penalisedHessian(result, l2));
  return { done: true, beta, standardErrors: cov.map((row, j) => Math.sqrt(row[j]!)), converged };
}

const LOGISTIC_REGRESSION_GUIDE: KindGuideBody = {
  summary: 'Purchase, repurchase or churn propensity on fixed customer features, with hold-out evaluation.',
  description:
    'A fit of several encrypted rounds: each round every shop sends its gradient, Hessian and log-likelihood at the current ' +
    'coefficients over its training customers, only the sums are decrypted, and the coordinator takes the Newton step until the ' +
    'largest step is below tolerance. Standard errors come from the final Hessian; the held-out customers give AUC, log-loss and ' +
    'accuracy from encrypted score histograms. Shops can then score their own customers locally (fedmart merchant score).',
  members: [
    purposeMember('churn-modelling'),
    {
      name: 'features',
      type: 'string[]',
      required: true,
      description: `1 to 16 distinct customer features, each scaled to be of order 1: ${CUSTOMER_FEATURE_TEXT(CUSTOMER_FEATURE_NAMES)}. List intercept for a constant term.`,
      values: CUSTOMER_FEATURE_NAMES,
    },
    {
      name: 'label',
      type: 'string',
      required: true,
      description: `What is predicted: ${CUSTOMER_LABEL_NAMES.map((n) => `${n} (${CUSTOMER_LABELS[n].describe})`).join('; ')}.`,
      values: CUSTOMER_LABEL_NAMES,
    },
    { name: 'holdoutPercent', type: 'integer', required: false, default: '20', description: 'Share of customers (by pseudonym) held out for evaluation, 0 to 50.' },
    { name: 'l2', type: 'number', required: false, default: '0', description: 'L2 penalty on the coefficients other than intercept, 0 to 1e6.' },
    ...FEATURE_CLIP_GUIDE_MEMBERS,
    {
      name: 'gradientClip',
      type: 'number',
      required: false,
      description: 'Largest Euclidean norm of one row\'s gradient x·(y − p); a longer one is scaled down to it. The key holder then refuses a round whose gradient exceeds gradientClip × its rows. At most 1e6; absent, nothing is clipped.',
      sample: 1,
    },
    { name: 'maxRows', type: 'integer', required: false, default: String(2 ** 24), description: 'Most training rows one shop may have, at most 2^31.', sample: 1_000_000 },
    { name: 'maxRounds', type: 'integer', required: false, default: '25', description: 'Most Newton rounds, 1 to 100.', sample: 10 },
    { name: 'tolerance', type: 'number', required: false, default: '1e-8', description: 'Stop when the largest Newton step is below it (at most 1).', sample: 1e-6 },
  ],
  sections: [],
  example: { purpose: 'churn-modelling', features: ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years'], label: 'churning', holdoutPercent: 20, l2: 0.1 },
};

export const logisticFitDefinition: IterativeModelDefinition<LogisticFitSpec, LogisticState, LogisticModel> = {
  kind: LOGISTIC_FIT_KIND,
  guide: LOGISTIC_REGRESSION_GUIDE,
  roundKinds: [LOGISTIC_ROUND_KIND],
  parseFitSpec: (json) => parseWith(fitSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => featureInputFields(spec.features, spec.label),
  initialState: (spec) => ({ beta: spec.features.map(() => 0), history: [] }),
  roundQuery: (spec, state, round, fitId) => ({
    kind: LOGISTIC_ROUND_KIND,
    spec: {
      purpose: spec.purpose,
      features: spec.features,
      label: spec.label,
      holdoutPercent: spec.holdoutPercent,
      l2: spec.l2,
      maxFeatureAbs: spec.maxFeatureAbs,
      maxRows: spec.maxRows,
      ...declaredClipping(spec),
      fitId,
      round,
      beta: state.beta,
    },
  }),
  advance: (spec, state, roundResult, round) => {
    const result = roundResult as LogisticRoundResult;
    const next = newtonAdvance(state, result, penalty(spec), round, spec);
    if (!next.done) return { done: false, state: next.state };
    const { beta, standardErrors, converged } = next;
    return {
      done: true,
      model: {
        kind: LOGISTIC_FIT_KIND,
        purpose: spec.purpose,
        features: [...spec.features],
        label: spec.label,
        holdoutPercent: spec.holdoutPercent,
        l2: spec.l2,
        coefficients: beta,
        standardErrors,
        rounds: round,
        trainingRows: result.n,
        logLikelihood: result.logLikelihood,
        converged,
        ...declaredClipping(spec),
        ...(spec.featureClip === 'clip' ? { maxFeatureAbs: spec.maxFeatureAbs } : {}),
      },
    };
  },
};

/** A shop's local score for one row under a fitted model. */
export function logisticScore(model: Pick<LogisticModel, 'coefficients'>, x: readonly number[]): number {
  return sigmoid(logisticLink(model, x));
}

/**
 * A row's features as a model reads them: clipped to ±maxFeatureAbs when
 * the fit clipped them (`featureClip: 'clip'`), so held-out rows and a
 * shop's own customers are scored as the training rows were read.
 */
export function logisticModelFeatures(model: Pick<LogisticModel, 'featureClip' | 'maxFeatureAbs'>, x: readonly number[]): readonly number[] {
  if (model.featureClip !== 'clip' || model.maxFeatureAbs === undefined) return x;
  // The shops' own clipping of the training rows (a clip never refuses, so no feature names are needed).
  return clippedFeatures({ maxFeatureAbs: model.maxFeatureAbs, featureClip: 'clip' }, [], x);
}

/** The linear predictor xᵀβ of one row. */
export function logisticLink(model: Pick<LogisticModel, 'coefficients'>, x: readonly number[]): number {
  return x.reduce((s, v, j) => s + v * model.coefficients[j]!, 0);
}
