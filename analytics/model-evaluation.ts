/**
 * Evaluation of a fitted propensity model without pooling: each shop scores
 * its held-out rows locally and sends encrypted histograms of scores per
 * label (fixed bins on [0, 1]), the confusion counts at a threshold and the
 * summed log-loss. The round is a step of the fit (`fit-round`): its fine
 * bins go to the fit runner only. What the evaluation publishes is merged
 * first: adjacent bins are joined, from the lowest score up, until every
 * merged bin holds at least k positives and k negatives (a bin of one
 * customer would give that customer's score band and label), and confusion
 * counts with 1..k-1 rows withhold the rates built on them. AUC, one rank
 * statistic over all pairs of a positive and a negative, follows from the
 * fine histograms (pairs in the same bin count one half), so it equals the
 * AUC of the pooled binned scores exactly and the exact pooled AUC to within
 * the bin resolution; it is published only when both labels hold k rows.
 *
 * @module
 */
import { z } from 'zod';
import { atMost, equals, firstBroken, totalOf, withRoundingSlack } from './input-relations.js';
import { CUSTOMER_FEATURE_NAMES, CUSTOMER_LABEL_NAMES, featureInputFields, featureRows, isHoldout, type CustomerFeature, type CustomerLabel } from './customer-features.js';
import type { ModelRules } from './model-rules.js';
import { logLikelihoodTerm, logisticLink, logisticModelFeatures } from './logistic-regression.js';
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
  /** The bound a fit with featureClip clip clipped its features to: held-out rows are clipped to it too. */
  clipFeaturesAt: z.number().positive().max(1e6).optional(),
}).refine((s) => s.coefficients.length === s.features.length, { path: ['coefficients'], message: 'one coefficient per feature' });

export type ScoreHistogramSpec = z.infer<typeof specSchema>;

export interface ModelEvaluation {
  readonly n: number;
  readonly positives: number;
  readonly negatives: number;
  readonly auc: number | null;
  readonly logLoss: number | null;
  /** Null (with `withheld` saying why) when a confusion count holds 1..k-1 rows. */
  readonly accuracy: number | null;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly threshold: number;
  /** Lower score edge of every merged bin, then 1: bin i is [binEdges[i], binEdges[i+1]). */
  readonly binEdges: number[];
  /** Counts per merged score bin (each at least k, or both empty), for ROC curves. */
  readonly positiveHistogram: number[];
  readonly negativeHistogram: number[];
  /** What was held back and why (reason codes: FEWER_THAN_K_SUBJECTS). */
  readonly withheld: readonly { readonly what: string; readonly reasonCode: 'FEWER_THAN_K_SUBJECTS' }[];
}


/** What the score histogram's fields, sums and finalisation depend on: any model's held-out scores can use them. */
export type ScoreHistogramShape = Pick<ScoreHistogramSpec, 'bins' | 'threshold' | 'maxRows'>;

/** The fields of a score histogram: n, the confusion counts, the summed log-loss (at scale 2^40), then the bins of each label. */
export function scoreHistogramFields(spec: Pick<ScoreHistogramShape, 'bins' | 'maxRows'>): FieldSpec[] {
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
  const clip = spec.clipFeaturesAt === undefined ? {} : { featureClip: 'clip' as const, maxFeatureAbs: spec.clipFeaturesAt };
  return scoreHistogramSums(spec, rows.map((row) => ({ link: logisticLink(spec, logisticModelFeatures(clip, row.x)), y: row.y })));
}

/**
 * One shop's score-histogram fields over its held-out rows, each given by its
 * link (log-odds) and label: the score σ(link) goes to its label's bin and to
 * the confusion counts at the threshold, −log-likelihood to the summed loss.
 * Throws RangeError when the rows exceed maxRows.
 */
export function scoreHistogramSums(spec: ScoreHistogramShape, rows: readonly { readonly link: number; readonly y: 0 | 1 }[]): bigint[] {
  if (rows.length > spec.maxRows) throw new RangeError(`field n: ${rows.length} held-out rows exceed maxRows ${spec.maxRows}`);
  const pos = new Array<bigint>(spec.bins).fill(0n);
  const neg = new Array<bigint>(spec.bins).fill(0n);
  let tp = 0n, fp = 0n, tn = 0n, fn = 0n;
  let loss = 0;
  for (const row of rows) {
    const t = row.link;
    const s = t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
    const b = scoreBin(s, spec.bins);
    loss -= logLikelihoodTerm(t, row.y);
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
  assertWithinBounds(scoreHistogramFields(spec), values);
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

/** Merged score bins: lower edges (in fine-bin indices) and counts. */
export interface MergedScoreBins {
  /** Fine-bin index where each merged bin starts. */
  readonly starts: number[];
  readonly pos: number[];
  readonly neg: number[];
}

/**
 * Joins adjacent fine bins from the lowest score up until each merged bin
 * holds at least `k` positives and `k` negatives; a short remainder at the
 * top joins the last merged bin. With fewer than k positives or negatives in
 * all, nothing can be published: no bins. Throws RangeError naming a bad argument.
 */
export function mergeScoreBins(pos: readonly number[], neg: readonly number[], k: number): MergedScoreBins {
  if (pos.length !== neg.length) throw new RangeError('pos, neg: expected histograms of the same length');
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError('k: expected an integer >= 1');
  const out: MergedScoreBins = { starts: [], pos: [], neg: [] };
  let start = 0;
  let p = 0;
  let q = 0;
  for (let i = 0; i < pos.length; i++) {
    p += pos[i]!;
    q += neg[i]!;
    if (p >= k && q >= k) {
      out.starts.push(start);
      out.pos.push(p);
      out.neg.push(q);
      start = i + 1;
      p = 0;
      q = 0;
    }
  }
  if ((p > 0 || q > 0) && out.pos.length > 0) {
    out.pos[out.pos.length - 1]! += p;
    out.neg[out.neg.length - 1]! += q;
  }
  return out;
}

/**
 * The published evaluation from a released score histogram: bins merged until
 * each holds k of each label, confusion rates withheld on 1..k-1 rows, AUC
 * from the fine bins when both labels hold k. Throws RangeError when the
 * aggregate was suppressed.
 */
export function finaliseScoreHistogram(spec: Pick<ScoreHistogramShape, 'bins' | 'threshold'>, release: ReleasedTotals): ModelEvaluation {
  const cell = release.cells.all;
  if (!cell || cell.suppressed || !cell.totals) throw new RangeError('the evaluation aggregate was suppressed');
  const k = release.minSubjects ?? 1;
  const t = cell.totals;
  const num = (name: string) => Number(t[name] ?? 0n);
  const fine = {
    pos: Array.from({ length: spec.bins }, (_, i) => num(`pos.${i}`)),
    neg: Array.from({ length: spec.bins }, (_, i) => num(`neg.${i}`)),
  };
  const merged = mergeScoreBins(fine.pos, fine.neg, k);
  const n = num('n');
  const [tp, fp, tn, fn] = [num('tp'), num('fp'), num('tn'), num('fn')];
  const withheld: ModelEvaluation['withheld'][number][] = [];
  if (merged.pos.length === 0) withheld.push({ what: 'score histograms and AUC', reasonCode: 'FEWER_THAN_K_SUBJECTS' });
  const confusionOk = [tp, fp, tn, fn].every((c) => c === 0 || c >= k);
  if (!confusionOk) withheld.push({ what: `accuracy, precision, recall and F1 at threshold ${spec.threshold}`, reasonCode: 'FEWER_THAN_K_SUBJECTS' });
  const precision = confusionOk ? ratio(tp, tp + fp) : null;
  const recall = confusionOk ? ratio(tp, tp + fn) : null;
  return {
    n,
    positives: tp + fn,
    negatives: fp + tn,
    // AUC is one rank statistic over all (positive, negative) pairs, so it is taken from the fine bins; only
    // the histograms, which place customers in score bands, are merged.
    auc: merged.pos.length === 0 ? null : binnedAuc(fine.pos, fine.neg),
    logLoss: n === 0 ? null : fixedToReal(t.logloss ?? 0n) / n,
    accuracy: confusionOk ? ratio(tp + tn, n) : null,
    precision,
    recall,
    f1: precision === null || recall === null || precision + recall === 0 ? null : (2 * precision * recall) / (precision + recall),
    threshold: spec.threshold,
    binEdges: merged.pos.length === 0 ? [] : [...merged.starts.map((i) => i / spec.bins), 1],
    positiveHistogram: merged.pos,
    negativeHistogram: merged.neg,
    withheld,
  };
}

/**
 * What the key holder checks before the fit runner sees an evaluation:
 * both labels hold 0 or at least k held-out rows (with fewer, even the
 * count of positives singles them out). Merging and withholding follow in
 * `finalise`.
 */
export function scoreHistogramModelRules(): ModelRules {
  return {
    rowsField: 'n',
    parameters: 0,
    groups: [
      { label: 'the held-out rows with label 1', variables: ['label'], terms: [{ field: 'tp', sign: 1 }, { field: 'fn', sign: 1 }] },
      { label: 'the held-out rows with label 0', variables: ['label'], terms: [{ field: 'fp', sign: 1 }, { field: 'tn', sign: 1 }] },
    ],
  };
}

/**
 * Relations every honest shop's score histogram satisfies
 * (input-relations.ts): each held-out row is one of tp, fp, tn, fn and sits
 * in one bin, positives among tp and fn, negatives among fp and tn; its
 * loss term is at most 40 (with one unit of rounding per shop).
 */
export function scoreHistogramInputViolation(spec: Pick<ScoreHistogramShape, 'bins'>, totals: ReadonlyMap<string, bigint>, contributors: number): string | undefined {
  const t = (name: string): bigint => totalOf(totals, name);
  let pos = 0n;
  let neg = 0n;
  for (let i = 0; i < spec.bins; i++) {
    pos += t(`pos.${i}`);
    neg += t(`neg.${i}`);
  }
  return firstBroken([
    equals('tp + fp + tn + fn', t('tp') + t('fp') + t('tn') + t('fn'), 'n', t('n')),
    equals('the positives in the bins', pos, 'tp + fn', t('tp') + t('fn')),
    equals('the negatives in the bins', neg, 'fp + tn', t('fp') + t('tn')),
    atMost('logloss', t('logloss'), '40 x n (at scale 2^40)', withRoundingSlack((40n * t('n')) << 40n, contributors)),
  ]);
}

export const scoreHistogramQuery: QueryDefinition<ScoreHistogramSpec, ModelEvaluation> = {
  kind: SCORE_HISTOGRAM_KIND,
  parseSpec: (json) => parseWith(specSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => featureInputFields(spec.features, spec.label),
  fields: scoreHistogramFields,
  cells: (spec) => [{ name: 'all', subjectsField: 'n', fields: scoreHistogramFields(spec).map((f) => f.name) }],
  computeLocal: computeScoreHistogramLocal,
  finalise: finaliseScoreHistogram,
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  rowScope: (spec) => ({ customer: (c) => isHoldout(c.customerId, spec.holdoutPercent) }),
  modelRules: scoreHistogramModelRules,
  inputViolation: scoreHistogramInputViolation,
};
