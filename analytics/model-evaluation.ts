/**
 * Evaluation of a fitted propensity model without pooling: each shop scores
 * its held-out rows locally and sends encrypted histograms of scores per
 * label (fixed bins on [0, 1]), the confusion counts at a threshold and the
 * summed log-loss. AUC follows from the two histograms (pairs in the same bin
 * count one half), so it equals the AUC of the pooled binned scores exactly
 * and the exact pooled AUC to within the bin resolution.
 *
 * @module
 */
import { z } from 'zod';
import { CUSTOMER_FEATURE_NAMES, CUSTOMER_LABEL_NAMES, featureInputFields, featureRows, type CustomerFeature, type CustomerLabel } from './customer-features.js';
import { logisticScore } from './logistic-regression.js';
import { assertWithinBounds, type FieldSpec, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import { fixedToReal, realToFixed } from './signed-real.js';
import { parseWith } from './spec-parse.js';
import type { ShopData } from './shop-data.js';

export const SCORE_HISTOGRAM_KIND = 'score-histogram';

const specSchema = z.strictObject({
  kind: z.literal(SCORE_HISTOGRAM_KIND),
  purpose: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/),
  features: z.array(z.enum(CUSTOMER_FEATURE_NAMES as [CustomerFeature, ...CustomerFeature[]])).min(1).max(16),
  label: z.enum(CUSTOMER_LABEL_NAMES as [CustomerLabel, ...CustomerLabel[]]),
  coefficients: z.array(z.number().finite()),
  holdoutPercent: z.number().int().min(1).max(50).default(20),
  bins: z.number().int().min(10).max(2000).default(1000),
  threshold: z.number().gt(0).lt(1).default(0.5),
  maxRows: z.number().int().positive().max(2 ** 31).default(2 ** 24),
  /** Optional link to the fit whose model is evaluated. */
  fitId: z.string().min(1).max(128).optional(),
}).refine((s) => s.coefficients.length === s.features.length, { path: ['coefficients'], message: 'one coefficient per feature' });

export type ScoreHistogramSpec = z.infer<typeof specSchema>;

export interface ModelEvaluation {
  readonly n: number;
  readonly positives: number;
  readonly negatives: number;
  readonly auc: number | null;
  readonly logLoss: number | null;
  readonly accuracy: number | null;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly threshold: number;
  /** Counts per score bin, for ROC curves. */
  readonly positiveHistogram: number[];
  readonly negativeHistogram: number[];
}

const LOSS_TERM_MAX = 40;

function fields(spec: ScoreHistogramSpec): FieldSpec[] {
  const rows = BigInt(spec.maxRows);
  return [
    { name: 'n', max: rows },
    { name: 'tp', max: rows },
    { name: 'fp', max: rows },
    { name: 'tn', max: rows },
    { name: 'fn', max: rows },
    { name: 'logloss', max: rows << (6n + 40n) },
    ...Array.from({ length: spec.bins }, (_, i) => ({ name: `pos.${i}`, max: rows })),
    ...Array.from({ length: spec.bins }, (_, i) => ({ name: `neg.${i}`, max: rows })),
  ];
}

/** The bin of a score in [0, 1]. */
export function scoreBin(score: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.floor(score * bins)));
}

export function computeScoreHistogramLocal(spec: ScoreHistogramSpec, data: ShopData): bigint[] {
  const rows = featureRows(data, spec.features, spec.label, { holdoutPercent: spec.holdoutPercent, part: 'holdout' });
  if (rows.length > spec.maxRows) throw new RangeError(`field n: ${rows.length} held-out rows exceed maxRows ${spec.maxRows}`);
  const pos = new Array<bigint>(spec.bins).fill(0n);
  const neg = new Array<bigint>(spec.bins).fill(0n);
  let tp = 0n, fp = 0n, tn = 0n, fn = 0n;
  let loss = 0;
  for (const row of rows) {
    const s = logisticScore(spec, row.x);
    const b = scoreBin(s, spec.bins);
    const clamped = Math.min(Math.max(s, Math.exp(-LOSS_TERM_MAX)), 1 - Math.exp(-LOSS_TERM_MAX));
    loss -= row.y === 1 ? Math.log(clamped) : Math.log(1 - clamped);
    const predicted = s >= spec.threshold;
    if (row.y === 1) {
      pos[b]! += 1n;
      if (predicted) tp++;
      else fn++;
    } else {
      neg[b]! += 1n;
      if (predicted) fp++;
      else tn++;
    }
  }
  const values = [BigInt(rows.length), tp, fp, tn, fn, realToFixed(loss), ...pos, ...neg];
  assertWithinBounds(fields(spec), values);
  return values;
}

/** AUC from per-bin positive and negative counts; ties within a bin count one half. */
export function binnedAuc(pos: readonly number[], neg: readonly number[]): number | null {
  const p = pos.reduce((a, b) => a + b, 0);
  const n = neg.reduce((a, b) => a + b, 0);
  if (p === 0 || n === 0) return null;
  let above = 0; // positives in bins above the current one
  let wins = 0;
  for (let i = pos.length - 1; i >= 0; i--) {
    wins += neg[i]! * (above + pos[i]! / 2);
    above += pos[i]!;
  }
  return wins / (p * n);
}

function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

export function finaliseScoreHistogram(spec: ScoreHistogramSpec, release: ReleasedTotals): ModelEvaluation {
  const cell = release.cells.all;
  if (!cell || cell.suppressed || !cell.totals) throw new RangeError('the evaluation aggregate was suppressed');
  const t = cell.totals;
  const num = (k: string) => Number(t[k] ?? 0n);
  const pos = Array.from({ length: spec.bins }, (_, i) => num(`pos.${i}`));
  const neg = Array.from({ length: spec.bins }, (_, i) => num(`neg.${i}`));
  const n = num('n');
  const [tp, fp, tn, fn] = [num('tp'), num('fp'), num('tn'), num('fn')];
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    n,
    positives: tp + fn,
    negatives: fp + tn,
    auc: binnedAuc(pos, neg),
    logLoss: n === 0 ? null : fixedToReal(t.logloss ?? 0n) / n,
    accuracy: ratio(tp + tn, n),
    precision,
    recall,
    f1: precision === null || recall === null || precision + recall === 0 ? null : (2 * precision * recall) / (precision + recall),
    threshold: spec.threshold,
    positiveHistogram: pos,
    negativeHistogram: neg,
  };
}

export const scoreHistogramQuery: QueryDefinition<ScoreHistogramSpec, ModelEvaluation> = {
  kind: SCORE_HISTOGRAM_KIND,
  parseSpec: (json) => parseWith(specSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => featureInputFields(spec.features, spec.label),
  fields,
  cells: (spec) => [{ name: 'all', subjectsField: 'n', fields: fields(spec).map((f) => f.name) }],
  computeLocal: computeScoreHistogramLocal,
  finalise: finaliseScoreHistogram,
};
