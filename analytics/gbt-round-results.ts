/**
 * What the gradient-boosted-trees fit's own rounds give the fit runner
 * (bin grid, leaf overlap, evaluation), apart from the round kinds that
 * produce them: the round kinds read rows through gradient-boosted-trees.ts,
 * and the fit definition there reads these results, so the types live below
 * both and no file imports the other back.
 *
 * @module
 */
import type { GbtLeafOverlapCount } from './gbt-prune.js';
import type { ModelEvaluation } from './model-evaluation.js';

/** What a `gbt-bin-grid` round's release gives the fit runner. */
export interface GbtBinGridResult {
  /** Rows over all shops. */
  readonly n: number;
  /** The k the key holder released the round under. */
  readonly minSubjects: number | undefined;
  /** Per variable that gives a range: its GBT_GRID_CELLS cell counts, summed over the shops. */
  readonly cells: Readonly<Record<string, readonly number[]>>;
}

/** What a `gbt-leaf-overlap` round's release gives the fit runner. */
export interface GbtLeafOverlapResult {
  /** Rows over all shops. */
  readonly n: number;
  /** The k the key holder released the round under. */
  readonly minSubjects: number | undefined;
  /** Rows of each leaf of the last tree, by node id. */
  readonly leafRows: Readonly<Record<string, number>>;
  /** Every intersection of a leaf of the last tree with a leaf of an earlier tree (zeros included). */
  readonly overlaps: readonly GbtLeafOverlapCount[];
}

/** A numeric label's evaluation on the held-out rows. */
export interface GbtRegressionEvaluation {
  readonly n: number;
  /** √(Σ(y − ŷ)² / n); null (with `withheld` saying why) when n < k. */
  readonly rmse: number | null;
  /** Σ|y − ŷ| / n; null when n < k. */
  readonly mae: number | null;
  readonly withheld: readonly { readonly what: string; readonly reasonCode: 'FEWER_THAN_K_SUBJECTS' }[];
}

/** The evaluation stored with a model: a binary label's is the score-histogram round's. */
export type GbtEvaluation = ModelEvaluation | GbtRegressionEvaluation;

/** What a `gbt-evaluation` round gives the fit runner: null when the key holder withheld the held-out rows (fewer than k). */
export interface GbtEvaluationResult {
  readonly evaluation: GbtEvaluation | null;
}
