/**
 * The last round of a `gradient-boosted-trees` fit with a hold-out
 * (`gbt-evaluation`): every shop scores its held-out rows with the finished
 * model (gbt-tree.ts) and sends encrypted sums; only their totals are
 * decrypted, for the fit runner (`fit-round`), which stores what may be
 * published with the model.
 *
 * - Binary label: exactly the fields of the logistic fit's `score-histogram`
 *   round (model-evaluation.ts): per label a histogram of the predicted
 *   probability in 1000 fine bins, the confusion counts at 0.5 and the
 *   summed log-loss; the fit runner finalises them with that round's code
 *   (bins merged until each holds k of each label, confusion rates withheld
 *   on 1..k−1 rows, AUC only when both labels hold k), and the key holder
 *   applies that round's release groups (withholding the cell rather than
 *   refusing the round) and input relations.
 * - Numeric label: the held-out rows n, Σ(y − ŷ)² and Σ|y − ŷ| in fixed
 *   point (signed-real.ts, scale 2^-40) → RMSE and MAE, published only when
 *   n ≥ k. A row whose residual exceeds the per-row gradient bound
 *   (4 × maxAbs, the bound the levels hold to) is refused as in training.
 *
 * The round's spec is the fit's spec and the finished forest (no node open).
 * It reads only the held-out customers, and its row scope says so.
 *
 * @module
 */
import { gbtGradientBound } from './gbt-local.js';
import type { GbtEvaluationResult } from './gbt-round-results.js';
import { gbtMargin, type GbtRow } from './gbt-tree.js';
import { GBT_EVALUATION_KIND, gbtInputFields, gbtRoundModel, gbtRows, gbtRowScope, gbtSpecOf, parseGbtForestSpec, type GbtForestSpec } from './gradient-boosted-trees.js';
import { atMost, firstBroken, totalOf, withRoundingSlack } from './input-relations.js';
import {
  finaliseScoreHistogram,
  scoreHistogramFields,
  scoreHistogramInputViolation,
  scoreHistogramModelRules,
  scoreHistogramSums,
  type ScoreHistogramShape,
} from './model-evaluation.js';
import type { ModelRules } from './model-rules.js';
import { assertWithinBounds, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals, type SubjectSensitivity } from './query-definition.js';
import { REAL_SCALE_BITS, fixedToReal, realToFixed } from './signed-real.js';
import type { ShopData } from './shop-data.js';

/** Fine score bins of a binary label's histograms, as the score-histogram round's default. */
export const GBT_EVALUATION_BINS = 1000;
/** Threshold of the confusion counts. */
export const GBT_EVALUATION_THRESHOLD = 0.5;
/** Largest per-row log-loss term (logistic-regression.ts floors log p at −40). */
const LOG_LOSS_TERM_MAX = 40n;

const ROWS_FIELD = 'n';
const ROUND_CELL = 'all';
const SCALE = BigInt(REAL_SCALE_BITS);

/** A parsed `gbt-evaluation` spec: the fit's spec, the fit and round, and the finished forest. */
export type GbtEvaluationSpec = GbtForestSpec<typeof GBT_EVALUATION_KIND>;

export type { GbtEvaluation, GbtEvaluationResult, GbtRegressionEvaluation } from './gbt-round-results.js';

/** Parses untrusted JSON as a `gbt-evaluation` round spec. Throws QuerySpecError naming the path. */
export function parseGbtEvaluationSpec(json: unknown): GbtEvaluationSpec {
  return parseGbtForestSpec(json, GBT_EVALUATION_KIND, 'finished');
}

/** The score-histogram shape of a binary label's evaluation. */
function shapeOf(spec: GbtEvaluationSpec): ScoreHistogramShape {
  return { bins: GBT_EVALUATION_BINS, threshold: GBT_EVALUATION_THRESHOLD, maxRows: gbtSpecOf(spec).maxRows };
}

const isBinary = (spec: GbtEvaluationSpec): boolean => gbtSpecOf(spec).loss === 'logistic';

/** The per-row residual bound, as an integer. */
function residualBound(spec: GbtEvaluationSpec): bigint {
  return BigInt(Math.ceil(gbtGradientBound(gbtSpecOf(spec))));
}

/** The round's fields: the score-histogram fields for a binary label; n, `se` (Σ(y − ŷ)²) and `ae` (Σ|y − ŷ|) for a numeric one. */
export function gbtEvaluationFields(spec: GbtEvaluationSpec): FieldSpec[] {
  if (isBinary(spec)) return scoreHistogramFields(shapeOf(spec));
  const rows = BigInt(gbtSpecOf(spec).maxRows);
  const b = residualBound(spec);
  return [
    { name: ROWS_FIELD, max: rows },
    { name: 'se', max: (rows * b * b) << SCALE },
    { name: 'ae', max: (rows * b) << SCALE },
  ];
}

/**
 * The numeric fields of `rows` under `model`'s margins: the row count, then
 * Σ(y − ŷ)² and Σ|y − ŷ|, each summed as a float and rounded once to fixed
 * point. Throws RangeError naming the label when a residual exceeds `bound`.
 */
function residualSums(margin: (row: GbtRow) => number, rows: readonly GbtRow[], bound: number, label: string): bigint[] {
  let se = 0;
  let ae = 0;
  for (const row of rows) {
    const r = row.y - margin(row);
    if (!(Math.abs(r) <= bound)) throw new RangeError(`label ${label}: some held-out row lies beyond the residual bound ${bound} (4 x maxAbs)`);
    se += r * r;
    ae += Math.abs(r);
  }
  return [BigInt(rows.length), realToFixed(se), realToFixed(ae)];
}

/** Shop side: the held-out rows scored with the finished model. */
export function computeGbtEvaluationLocal(spec: GbtEvaluationSpec, data: ShopData): bigint[] {
  const gbt = gbtSpecOf(spec);
  const model = gbtRoundModel(spec);
  const rows = gbtRows(spec, data, 'holdout');
  if (isBinary(spec)) return scoreHistogramSums(shapeOf(spec), rows.map((row) => ({ link: gbtMargin(model, row), y: row.y === 1 ? 1 : 0 })));
  if (rows.length > gbt.maxRows) throw new RangeError(`field n: ${rows.length} held-out rows exceed maxRows ${gbt.maxRows}`);
  const values = residualSums((row) => gbtMargin(model, row), rows, gbtGradientBound(gbt), gbt.label.name);
  assertWithinBounds(gbtEvaluationFields(spec), values);
  return values;
}

/**
 * Fit-runner side. Binary: the score-histogram round's finalisation (merged
 * bins, withheld confusion rates, AUC). Numeric: RMSE and MAE when the
 * held-out rows number at least k. A withheld cell gives no evaluation.
 */
export function finaliseGbtEvaluation(spec: GbtEvaluationSpec, release: ReleasedTotals): GbtEvaluationResult {
  const cell = release.cells[ROUND_CELL];
  if (!cell || cell.suppressed || !cell.totals) return { evaluation: null };
  if (isBinary(spec)) return { evaluation: finaliseScoreHistogram(shapeOf(spec), release) };
  const k = release.minSubjects ?? 1;
  const n = Number(cell.totals[ROWS_FIELD] ?? 0n);
  const published = n > 0 && n >= k;
  return {
    evaluation: {
      n,
      rmse: published ? Math.sqrt(fixedToReal(cell.totals['se'] ?? 0n) / n) : null,
      mae: published ? fixedToReal(cell.totals['ae'] ?? 0n) / n : null,
      withheld: published || n === 0 ? [] : [{ what: 'RMSE and MAE', reasonCode: 'FEWER_THAN_K_SUBJECTS' }],
    },
  };
}

/**
 * What the key holder checks before the fit runner sees the evaluation:
 * binary, the score-histogram round's groups (each label holds no held-out
 * row or at least k); numeric, the held-out rows hold none or at least k.
 * A failing group withholds the cell rather than refuse the round: the
 * trees are finished and releasable, so the fit stores its model without an
 * evaluation instead of failing.
 */
export function gbtEvaluationRules(spec: GbtEvaluationSpec): ModelRules {
  const groups = isBinary(spec)
    ? scoreHistogramModelRules().groups
    : [{ label: 'the held-out rows', variables: [gbtSpecOf(spec).label.name], terms: [{ field: ROWS_FIELD, sign: 1 as const }] }];
  return { rowsField: ROWS_FIELD, parameters: 0, groups: [], cellGroups: [{ cell: ROUND_CELL, groups }] };
}

/**
 * Relations every honest shop's sums keep: binary, the score-histogram
 * round's (confusion counts add up to n, the bins to each label, log-loss at
 * most 40 per row); numeric, Σ|y − ŷ| ≤ B·n and Σ(y − ŷ)² ≤ B²·n for the
 * per-row residual bound B, at scale 2^40 with one unit of rounding per shop.
 */
export function gbtEvaluationInputViolation(spec: GbtEvaluationSpec, totals: ReadonlyMap<string, bigint>, contributors: number): string | undefined {
  if (isBinary(spec)) return scoreHistogramInputViolation(shapeOf(spec), totals, contributors);
  const n = totalOf(totals, ROWS_FIELD);
  const b = residualBound(spec);
  return firstBroken([
    atMost('ae', totalOf(totals, 'ae'), `the residual bound ${b} x n (at scale 2^${REAL_SCALE_BITS})`, withRoundingSlack((b * n) << SCALE, contributors)),
    atMost('se', totalOf(totals, 'se'), `the residual bound ${b} squared x n (at scale 2^${REAL_SCALE_BITS})`, withRoundingSlack((b * b * n) << SCALE, contributors)),
  ]);
}

/** Per-subject sensitivity: one held-out row moves n and one bin and confusion count by 1, and its loss terms by their bound. */
export function gbtEvaluationSensitivity(spec: GbtEvaluationSpec): SubjectSensitivity {
  const b = residualBound(spec);
  const real = (bound: bigint): bigint => (bound << SCALE) + 1n;
  const of = (name: string): bigint => (name === 'logloss' ? real(LOG_LOSS_TERM_MAX) : name === 'se' ? real(b * b) : name === 'ae' ? real(b) : 1n);
  return { perField: Object.fromEntries(gbtEvaluationFields(spec).map((f) => [f.name, of(f.name)])), disjointCells: true };
}

export const gbtEvaluationQuery: QueryDefinition<GbtEvaluationSpec, GbtEvaluationResult, typeof GBT_EVALUATION_KIND> = {
  kind: GBT_EVALUATION_KIND,
  parseSpec: parseGbtEvaluationSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: gbtInputFields,
  fields: gbtEvaluationFields,
  cells: (spec): CellSpec[] => [{ name: ROUND_CELL, subjectsField: ROWS_FIELD, fields: gbtEvaluationFields(spec).map((f) => f.name) }],
  computeLocal: computeGbtEvaluationLocal,
  finalise: finaliseGbtEvaluation,
  subjectSensitivity: gbtEvaluationSensitivity,
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  rowScope: (spec) => gbtRowScope(spec, 'holdout'),
  modelRules: gbtEvaluationRules,
  inputViolation: gbtEvaluationInputViolation,
};
