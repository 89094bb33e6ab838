/**
 * A stored tree model walked by hand, as the model's JSON reads (heap ids:
 * children 2i + 1 and 2i + 2; a numeric split sends v < threshold left, a
 * categorical one its listed levels), written here rather than with
 * analytics/gbt-tree.ts, so tests that score with the library compare with it.
 */
import type { GbtFitModel } from '../../analytics/gradient-boosted-trees.js';

/** The probability (logistic loss) or prediction (squared loss) of `x` under `model`. */
export function walkGbt(model: Pick<GbtFitModel, 'loss' | 'baseMargin' | 'trees'>, x: Readonly<Record<string, number | string>>): number {
  let margin = model.baseMargin;
  for (const tree of model.trees) {
    const byId = new Map(tree.nodes.map((n) => [n.id, n]));
    let node = byId.get(0);
    while (node?.kind === 'split') {
      const v = x[node.split.variable];
      const left = node.split.type === 'numeric' ? (v as number) < node.split.threshold : node.split.levels.includes(v as string);
      node = byId.get(left ? 2 * node.id + 1 : 2 * node.id + 2);
    }
    if (node?.kind !== 'leaf') throw new Error('the walk did not end in a leaf');
    margin += node.value;
  }
  return model.loss === 'logistic' ? 1 / (1 + Math.exp(-margin)) : margin;
}
