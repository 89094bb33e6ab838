/**
 * What a model evaluation publishes of its fine score histograms. Merged
 * bins are checked against a merge written here from slice sums: every
 * merged bin holds at least k positives and k negatives, the bins are
 * contiguous runs of fine bins whose counts add up to the totals, and with
 * fewer than k of either label nothing is published. AUC, one statistic
 * over all pairs, equals a pairwise count over every positive and negative
 * of the fine bins (ties one half); confusion counts of 1..k−1 withhold the
 * rates built on them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ReleasedTotals } from '../../analytics/query-definition.js';
import { finaliseScoreHistogram, mergeScoreBins, scoreHistogramQuery, type ScoreHistogramSpec } from '../../analytics/model-evaluation.js';
import { realToFixed } from '../../analytics/signed-real.js';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * The merge as documented: from each start, the shortest run of fine bins
 * holding k of each label becomes a bin; a run that never gets there joins
 * the bin before it. Returns [start, end) ranges of fine bins.
 */
function plainRanges(pos: readonly number[], neg: readonly number[], k: number): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  while (start < pos.length) {
    let end = start + 1;
    while (end <= pos.length && !(sum(pos.slice(start, end)) >= k && sum(neg.slice(start, end)) >= k)) end++;
    if (end > pos.length) {
      if (ranges.length > 0) ranges[ranges.length - 1]![1] = pos.length;
      break;
    }
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

/** AUC by comparing every positive with every negative; the score of a subject is its bin. */
function pairwiseAuc(pos: readonly number[], neg: readonly number[]): number | null {
  const positives = pos.flatMap((c, bin) => Array<number>(c).fill(bin));
  const negatives = neg.flatMap((c, bin) => Array<number>(c).fill(bin));
  if (positives.length === 0 || negatives.length === 0) return null;
  let wins = 0;
  for (const p of positives) for (const q of negatives) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

/** Fine histograms of equal length with many empty bins. */
const histogramsArb = (minLength: number, maxLength: number) =>
  fc.integer({ min: minLength, max: maxLength }).chain((len) => {
    const counts = fc.array(fc.constantFrom(0, 0, 0, 1, 1, 2, 3, 7), { minLength: len, maxLength: len });
    return fc.record({ pos: counts, neg: counts });
  });

function spec(bins: number, threshold = 0.5): ScoreHistogramSpec {
  return scoreHistogramQuery.parseSpec({ kind: 'score-histogram', purpose: 'churn-modelling', features: ['orders'], label: 'churning', coefficients: [1], bins, threshold });
}

interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

function release(pos: readonly number[], neg: readonly number[], c: Confusion, k: number | undefined, loss = 0): ReleasedTotals {
  const totals: Record<string, bigint> = { n: BigInt(c.tp + c.fp + c.tn + c.fn), tp: BigInt(c.tp), fp: BigInt(c.fp), tn: BigInt(c.tn), fn: BigInt(c.fn), logloss: realToFixed(loss) };
  pos.forEach((v, i) => (totals[`pos.${i}`] = BigInt(v)));
  neg.forEach((v, i) => (totals[`neg.${i}`] = BigInt(v)));
  return { cells: { all: { suppressed: false, totals } }, ...(k === undefined ? {} : { minSubjects: k }) };
}

describe('mergeScoreBins (property)', () => {
  it('equals the merge from slice sums; bins are contiguous runs holding k of each label, adding up to the totals', () => {
    fc.assert(
      fc.property(histogramsArb(1, 60), fc.integer({ min: 1, max: 10 }), ({ pos, neg }, k) => {
        const merged = mergeScoreBins(pos, neg, k);
        const ranges = plainRanges(pos, neg, k);
        expect(merged).toEqual({
          starts: ranges.map(([s]) => s),
          pos: ranges.map(([s, e]) => sum(pos.slice(s, e))),
          neg: ranges.map(([s, e]) => sum(neg.slice(s, e))),
        });
        if (sum(pos) < k || sum(neg) < k) {
          expect(merged.starts).toEqual([]);
          return;
        }
        expect(merged.starts[0]).toBe(0);
        const ends = [...merged.starts.slice(1), pos.length];
        merged.starts.forEach((s, i) => {
          expect(ends[i]!).toBeGreaterThan(s);
          expect(merged.pos[i]).toBe(sum(pos.slice(s, ends[i])));
          expect(merged.neg[i]).toBe(sum(neg.slice(s, ends[i])));
          expect(merged.pos[i]).toBeGreaterThanOrEqual(k);
          expect(merged.neg[i]).toBeGreaterThanOrEqual(k);
        });
        expect(sum(merged.pos)).toBe(sum(pos));
        expect(sum(merged.neg)).toBe(sum(neg));
      }),
      { numRuns: 200 },
    );
  });

  it.each<[string, number[], number[], number, { starts: number[]; pos: number[]; neg: number[] }]>([
    ['k = 1 joins a bin with one label to the next', [1, 0, 1, 1], [0, 1, 1, 0], 1, { starts: [0, 2], pos: [1, 2], neg: [1, 1] }],
    ['a short top joins the last bin', [3, 0, 1], [3, 1, 0], 3, { starts: [0], pos: [4], neg: [4] }],
    ['exactly k of each closes a bin', [2, 0, 2, 0], [0, 2, 0, 2], 2, { starts: [0, 2], pos: [2, 2], neg: [2, 2] }],
    ['k − 1 positives in all: nothing', [1, 1, 0], [5, 5, 5], 3, { starts: [], pos: [], neg: [] }],
    ['k − 1 negatives in all: nothing', [5, 5], [2, 0], 3, { starts: [], pos: [], neg: [] }],
    ['empty histograms: nothing', [], [], 1, { starts: [], pos: [], neg: [] }],
  ])('%s', (_, pos, neg, k, expected) => {
    expect(mergeScoreBins(pos, neg, k)).toEqual(expected);
  });

  it('checks its arguments', () => {
    expect(() => mergeScoreBins([1], [1, 2], 1)).toThrow(RangeError);
    expect(() => mergeScoreBins([1], [1], 0)).toThrow(/k/);
    expect(() => mergeScoreBins([1], [1], 1.5)).toThrow(/k/);
  });
});

describe('finaliseScoreHistogram', () => {
  const FINE = { pos: [0, 0, 1, 2, 3, 5, 6, 4, 8, 9], neg: [9, 8, 6, 5, 4, 2, 1, 1, 1, 0] };
  const OK: Confusion = { tp: 20, fp: 5, tn: 30, fn: 10 };

  it('publishes merged bins with k of each label, and the AUC of the fine bins, equal to a pairwise count (property)', () => {
    fc.assert(
      fc.property(histogramsArb(10, 60), fc.integer({ min: 1, max: 10 }), ({ pos, neg }, k) => {
        const bins = pos.length;
        const out = finaliseScoreHistogram(spec(bins), release(pos, neg, { tp: 0, fp: 0, tn: 0, fn: 0 }, k));
        const ranges = plainRanges(pos, neg, k);
        if (ranges.length === 0) {
          expect(out.auc).toBeNull();
          expect(out.positiveHistogram).toEqual([]);
          expect(out.negativeHistogram).toEqual([]);
          expect(out.binEdges).toEqual([]);
          expect(out.withheld).toContainEqual({ what: 'score histograms and AUC', reasonCode: 'FEWER_THAN_K_SUBJECTS' });
          return;
        }
        expect(out.positiveHistogram.every((c) => c >= k) && out.negativeHistogram.every((c) => c >= k)).toBe(true);
        expect(out.binEdges).toEqual([...ranges.map(([s]) => s / bins), 1]);
        expect(out.auc).toBeCloseTo(pairwiseAuc(pos, neg)!, 12);
        expect(out.withheld.some((w) => w.what.includes('AUC'))).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('merges a fixed vector as documented and takes its AUC from the fine bins', () => {
    const out = finaliseScoreHistogram(spec(10), release(FINE.pos, FINE.neg, OK, 5));
    // Under k = 5: bins 0–4 hold 6+ and 32−; bins 5–8 then 23+ and 5−; bin 9 (9+, 0−) is short and joins them.
    expect(out.binEdges).toEqual([0, 0.5, 1]);
    expect(out.positiveHistogram).toEqual([6, 32]);
    expect(out.negativeHistogram).toEqual([32, 5]);
    // AUC over the fine bins: each positive beats the negatives of lower bins, ties within a bin count one half.
    let wins = 0;
    FINE.pos.forEach((p, i) => FINE.neg.forEach((q, j) => (wins += p * q * (i > j ? 1 : i === j ? 0.5 : 0))));
    expect(wins).toBe(1 * 17 + 2 * 23 + 3 * 28 + 5 * 32 + 6 * 34 + 4 * 35 + 8 * 36 + 9 * 37 + 0.5 * (6 + 10 + 12 + 10 + 6 + 4 + 8));
    expect(out.auc).toBeCloseTo(wins / (38 * 37), 12);
  });

  it.each<[string, number | undefined, number[], number[]]>([
    ['fewer than k positives in all', 5, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]],
    ['fewer than k negatives in all', 5, [3, 3, 3, 3, 3, 3, 3, 3, 3, 3], [0, 0, 0, 0, 0, 0, 0, 2, 2, 0]],
    ['no rows', 5, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  ])('publishes no bins and no AUC with %s, and says so', (_, k, pos, neg) => {
    const out = finaliseScoreHistogram(spec(10), release(pos, neg, OK, k));
    expect(out).toMatchObject({ auc: null, binEdges: [], positiveHistogram: [], negativeHistogram: [] });
    expect(out.withheld).toEqual([{ what: 'score histograms and AUC', reasonCode: 'FEWER_THAN_K_SUBJECTS' }]);
  });

  it('reads k from the release, 1 when absent', () => {
    const pos = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const neg = [1, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    expect(finaliseScoreHistogram(spec(10), release(pos, neg, OK, undefined)).positiveHistogram).toEqual([1, 1]);
    expect(finaliseScoreHistogram(spec(10), release(pos, neg, OK, 2)).positiveHistogram).toEqual([2]);
    expect(finaliseScoreHistogram(spec(10), release(pos, neg, OK, 3)).positiveHistogram).toEqual([]);
  });

  // Under k = 5: each count 0 or at least 5 lets the rates through; one count of 1..4 withholds all four.
  it.each<[string, Confusion, boolean]>([
    ['all at least k', { tp: 20, fp: 5, tn: 30, fn: 10 }, true],
    ['tp = k − 1', { tp: 4, fp: 5, tn: 30, fn: 10 }, false],
    ['fp = 1', { tp: 20, fp: 1, tn: 30, fn: 10 }, false],
    ['tn = 4', { tp: 20, fp: 5, tn: 4, fn: 10 }, false],
    ['fn = 2', { tp: 20, fp: 5, tn: 30, fn: 2 }, false],
    ['tp = 0', { tp: 0, fp: 5, tn: 30, fn: 10 }, true],
    ['tp = fp = 0', { tp: 0, fp: 0, tn: 30, fn: 10 }, true],
    ['fp = fn = 0', { tp: 7, fp: 0, tn: 30, fn: 0 }, true],
  ])('confusion counts %s', (_, c, released) => {
    const out = finaliseScoreHistogram(spec(10, 0.3), release(FINE.pos, FINE.neg, c, 5));
    const n = c.tp + c.fp + c.tn + c.fn;
    expect(out.n).toBe(n);
    expect(out.positives).toBe(c.tp + c.fn);
    expect(out.negatives).toBe(c.fp + c.tn);
    const entry = { what: 'accuracy, precision, recall and F1 at threshold 0.3', reasonCode: 'FEWER_THAN_K_SUBJECTS' };
    if (!released) {
      expect(out).toMatchObject({ accuracy: null, precision: null, recall: null, f1: null });
      expect(out.withheld).toContainEqual(entry);
      return;
    }
    expect(out.withheld).not.toContainEqual(entry);
    expect(out.accuracy).toBeCloseTo((c.tp + c.tn) / n, 12);
    expect(out.precision).toBe(c.tp + c.fp === 0 ? null : c.tp / (c.tp + c.fp));
    expect(out.recall).toBe(c.tp + c.fn === 0 ? null : c.tp / (c.tp + c.fn));
    // F1 = 2tp / (2tp + fp + fn), undefined when there are no true positives.
    if (c.tp === 0) expect(out.f1).toBeNull();
    else expect(out.f1).toBeCloseTo((2 * c.tp) / (2 * c.tp + c.fp + c.fn), 12);
  });

  it('gives the mean log-loss, and refuses a suppressed aggregate', () => {
    const out = finaliseScoreHistogram(spec(10), release(FINE.pos, FINE.neg, OK, 5, 26));
    expect(out.logLoss).toBeCloseTo(26 / 65, 9);
    expect(finaliseScoreHistogram(spec(10), release(FINE.pos, FINE.neg, { tp: 0, fp: 0, tn: 0, fn: 0 }, 5)).logLoss).toBeNull();
    expect(() => finaliseScoreHistogram(spec(10), { cells: { all: { suppressed: true } }, minSubjects: 5 })).toThrow(/suppressed/);
  });
});
