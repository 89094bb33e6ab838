/**
 * Feature importance of a gradient-boosted-trees model by gain: the total
 * gain ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] (gbt-split.ts) of every
 * split on a variable, over all trees. The gains are the fit runner's: each
 * split node records the gain it was chosen with.
 *
 * @module
 */
import type { GbtVariable } from './gbt-spec.js';
import type { GbtTree } from './gbt-tree.js';

/** One variable's total split gain. */
export interface GbtImportance {
  readonly variable: string;
  readonly gain: number;
}

/**
 * Total gain per variable over every split of every tree, largest first;
 * variables never split on have gain 0, and equal totals keep the declared
 * order. Throws RangeError on a split naming an undeclared variable or
 * carrying a gain that is not a finite number.
 */
export function gbtImportance(variables: readonly Pick<GbtVariable, 'name'>[], trees: readonly GbtTree[]): GbtImportance[] {
  const total = new Map(variables.map((v) => [v.name, 0]));
  trees.forEach((tree, t) => {
    for (const node of tree.nodes) {
      if (node.kind !== 'split') continue;
      const sum = total.get(node.split.variable);
      if (sum === undefined) throw new RangeError(`trees: tree ${t} node ${node.id} splits on ${node.split.variable}, not a variable of the model`);
      const gain = node.gain ?? 0;
      if (!Number.isFinite(gain)) throw new RangeError(`trees: tree ${t} node ${node.id} carries a gain that is not finite`);
      total.set(node.split.variable, sum + gain);
    }
  });
  // Array.prototype.sort is stable: equal totals stay in declared order.
  return [...total].map(([variable, gain]) => ({ variable, gain })).sort((a, b) => b.gain - a.gain);
}
