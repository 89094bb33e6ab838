/**
 * The pooled evaluation of a gradient-boosted-trees model, for comparison
 * with the `gbt-evaluation` round (analytics/gbt-evaluation.ts): the held-out
 * rows of all shops scored together with the pooled reference's trees
 * (test/helpers/pooled-gbt.ts), and the published figures computed from the
 * rules in docs/gradient-boosted-trees.md and analytics/model-evaluation.ts's
 * documentation rather than with the library's code: 1000 fine score bins,
 * merged from the lowest up until each holds k of each label (a remainder
 * joins the last), AUC over all positive–negative pairs from the fine bins
 * (a pair in one bin counts one half), confusion counts at 0.5, log-loss with
 * each term floored at −40, RMSE and MAE; and importance as total split gain.
 */
import type { GbtRow } from '../../analytics/gbt-tree.js';
import type { PooledNode } from './pooled-gbt.js';

const BINS = 1000;

/** The margin of a row under the pooled trees: base margin plus the leaf reached in each tree (v < threshold, or a level in the set, goes left). */
export function pooledMargin(trees: readonly PooledNode[][], baseMargin: number, row: GbtRow): number {
  let m = baseMargin;
  for (const tree of trees) {
    const byId = new Map(tree.map((n) => [n.id, n]));
    let node = byId.get(0);
    while (node !== undefined && node.kind === 'split') {
      const v = row.x[node.variable];
      const left = node.threshold !== undefined ? (v as number) < node.threshold : (node.levels ?? []).includes(v as string);
      node = byId.get(left ? 2 * node.id + 1 : 2 * node.id + 2);
    }
    if (node === undefined) throw new Error('a split lacks a child');
    m += node.value;
  }
  return m;
}

export interface PooledBinaryEvaluation {
  n: number;
  positives: number;
  negatives: number;
  confusion: { tp: number; fp: number; tn: number; fn: number };
  logLoss: number | null;
  fine: { pos: number[]; neg: number[] };
  /** Merged bins: starts (fine-bin index), counts; empty when a label holds fewer than k. */
  merged: { starts: number[]; pos: number[]; neg: number[] };
  /** From the fine bins, pairs in one bin counting one half; null when the merged bins are empty. */
  auc: number | null;
  /** From the raw probabilities (ties one half). */
  exactAuc: number | null;
  /** Whether accuracy and the other rates are withheld (a confusion count of 1..k-1). */
  confusionWithheld: boolean;
}

/** The pooled evaluation of held-out rows given by their margins and labels, under k. */
export function pooledBinaryEvaluation(scored: readonly { margin: number; y: number }[], k: number): PooledBinaryEvaluation {
  const fine = { pos: new Array<number>(BINS).fill(0), neg: new Array<number>(BINS).fill(0) };
  const confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  let loss = 0;
  const probs: { p: number; y: number }[] = [];
  for (const { margin, y } of scored) {
    const p = 1 / (1 + Math.exp(-margin));
    probs.push({ p, y });
    const bin = Math.min(BINS - 1, Math.floor(p * BINS));
    (y === 1 ? fine.pos : fine.neg)[bin]!++;
    if (y === 1) p >= 0.5 ? confusion.tp++ : confusion.fn++;
    else p >= 0.5 ? confusion.fp++ : confusion.tn++;
    // −log p = log(1 + e^{−m}); −log(1 − p) = log(1 + e^{m}); each term at most 40.
    const z = y === 1 ? -margin : margin;
    loss += Math.min(40, z > 30 ? z : Math.log(1 + Math.exp(z)));
  }
  const merged = { starts: [] as number[], pos: [] as number[], neg: [] as number[] };
  let start = 0;
  let p = 0;
  let q = 0;
  for (let i = 0; i < BINS; i++) {
    p += fine.pos[i]!;
    q += fine.neg[i]!;
    if (p >= k && q >= k) {
      merged.starts.push(start);
      merged.pos.push(p);
      merged.neg.push(q);
      start = i + 1;
      p = 0;
      q = 0;
    }
  }
  if (merged.pos.length > 0) {
    merged.pos[merged.pos.length - 1]! += p;
    merged.neg[merged.neg.length - 1]! += q;
  }
  const positives = confusion.tp + confusion.fn;
  const negatives = confusion.fp + confusion.tn;
  let pairs = 0;
  for (let i = 0; i < BINS; i++) for (let j = 0; j <= i; j++) pairs += fine.pos[i]! * fine.neg[j]! * (i === j ? 0.5 : 1);
  let exact = 0;
  for (const a of probs) if (a.y === 1) for (const b of probs) if (b.y === 0) exact += a.p > b.p ? 1 : a.p === b.p ? 0.5 : 0;
  return {
    n: scored.length,
    positives,
    negatives,
    confusion,
    logLoss: scored.length === 0 ? null : loss / scored.length,
    fine,
    merged,
    auc: merged.pos.length === 0 ? null : pairs / (positives * negatives),
    exactAuc: positives === 0 || negatives === 0 ? null : exact / (positives * negatives),
    confusionWithheld: Object.values(confusion).some((c) => c > 0 && c < k),
  };
}

/** RMSE and MAE of held-out predictions. */
export function pooledRegressionEvaluation(scored: readonly { prediction: number; y: number }[]): { n: number; rmse: number; mae: number } {
  let se = 0;
  let ae = 0;
  for (const { prediction, y } of scored) {
    se += (y - prediction) ** 2;
    ae += Math.abs(y - prediction);
  }
  return { n: scored.length, rmse: Math.sqrt(se / scored.length), mae: ae / scored.length };
}

/** Total split gain per variable over the pooled trees, in declared order (not sorted). */
export function pooledGains(trees: readonly PooledNode[][], variables: readonly string[]): Map<string, number> {
  const out = new Map(variables.map((v) => [v, 0]));
  for (const tree of trees) for (const n of tree) if (n.kind === 'split') out.set(n.variable, (out.get(n.variable) ?? 0) + n.gain);
  return out;
}
