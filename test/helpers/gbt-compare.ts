/**
 * The cluster tests' comparison of a stored gradient-boosted-trees model
 * with the pooled reference (test/helpers/pooled-gbt.ts): the same trees
 * (node ids, kinds, subjects, split variables, thresholds and level sets),
 * every leaf holding at least `minLeafSubjects`, and leaf values and
 * predictions within 1e-9 relative.
 */
import { expect } from 'vitest';
import type { GbtFitModel } from '../../analytics/gradient-boosted-trees.js';
import { gbtPredict, type GbtRow } from '../../analytics/gbt-tree.js';
import type { PooledNode } from './pooled-gbt.js';

/** |a − b| relative to the larger magnitude; 0 when equal. */
export const relativeDifference = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

/**
 * Asserts that `model` has the trees of `reference` and predicts `want[i]`
 * (a probability for a binary label, the prediction for a numeric one) for
 * `rows[i]`. Returns the worst relative differences and the splits per
 * variable, for the caller's own expectations and log line.
 */
export function expectSameTrees(
  model: GbtFitModel,
  reference: readonly (readonly PooledNode[])[],
  rows: readonly GbtRow[],
  want: readonly number[],
  minLeafSubjects: number,
): { leaf: number; prediction: number; splits: number; splitsOn: ReadonlyMap<string, number> } {
  expect(model.trees).toHaveLength(reference.length);
  const splitsOn = new Map<string, number>();
  let leaf = 0;
  model.trees.forEach((tree, t) => {
    const ref = reference[t] as readonly PooledNode[];
    expect(tree.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects]), `tree ${t + 1}`).toEqual(ref.map((n) => [n.id, n.kind, n.subjects]));
    tree.nodes.forEach((node, i) => {
      const w = ref[i] as PooledNode;
      if (node.kind === 'split' && w.kind === 'split') {
        splitsOn.set(node.split.variable, (splitsOn.get(node.split.variable) ?? 0) + 1);
        expect(node.split.variable).toBe(w.variable);
        if (node.split.type === 'numeric') expect(node.split.threshold).toBe(w.threshold);
        else expect(node.split.levels).toEqual(w.levels);
      } else if (node.kind === 'leaf' && w.kind === 'leaf') {
        expect(node.subjects).toBeGreaterThanOrEqual(minLeafSubjects);
        leaf = Math.max(leaf, relativeDifference(node.value, w.value));
      }
    });
  });
  expect(leaf).toBeLessThan(1e-9);
  let prediction = 0;
  rows.forEach((row, i) => {
    prediction = Math.max(prediction, relativeDifference(gbtPredict(model, row), want[i] as number));
  });
  expect(prediction).toBeLessThan(1e-9);
  const splits = [...splitsOn.values()].reduce((a, b) => a + b, 0);
  return { leaf, prediction, splits, splitsOn };
}
