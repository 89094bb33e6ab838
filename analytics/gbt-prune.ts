/**
 * The cross-tree rule of gradient-boosted trees: a leaf of a tree and a leaf
 * of an earlier tree share no row or at least k rows (the purpose's k, the
 * disclosure threshold; leaves themselves hold at least minLeafSubjects ≥ k).
 * When every pair of leaves of different trees meets it, any two leaves of
 * the model differ by no row or by at least k rows (L_i ∖ L_j is a
 * union of such intersections), so no pair of published leaf values gives
 * the gradient sum of 1 … k − 1 subjects.
 *
 * Each shop counts the intersections of the last tree's leaves with the
 * earlier trees' leaves on its rows (`gbtLeafOverlapCounts`), the fit runner
 * learns their sums from a `gbt-leaf-overlap` round (gbt-leaf-overlap.ts)
 * and prunes the last tree here: while some leaf shares 1 … k − 1 rows with a leaf of an earlier tree, the violating leaf with the
 * largest node id has its parent turned into a leaf (every leaf below that
 * parent merges into it, their intersection counts add up). The rule is
 * deterministic and depends on the counts alone.
 *
 * @module
 */
import type { GbtVariable } from './gbt-spec.js';
import { gbtNodeDepth, gbtRoute, type GbtNode, type GbtRow, type GbtTree } from './gbt-tree.js';

/** Rows shared by a leaf of the last tree and a leaf of an earlier tree. */
export interface GbtLeafOverlapCount {
  /** The earlier tree (0-based index in the model). */
  readonly tree: number;
  /** Its leaf's node id. */
  readonly leaf: number;
  /** The node id of the last tree's leaf. */
  readonly lastLeaf: number;
  readonly rows: number;
}

/**
 * The rows of each leaf of the last of `trees` and, for every earlier tree,
 * the rows each of its leaves shares with each leaf of the last tree (pairs
 * sharing no row left out): what one shop's `gbt-leaf-overlap` round counts.
 * Throws RangeError when a row reaches an open node.
 */
export function gbtLeafOverlapCounts(variables: readonly GbtVariable[], trees: readonly GbtTree[], rows: readonly GbtRow[]): { readonly leafRows: ReadonlyMap<number, number>; readonly overlaps: GbtLeafOverlapCount[] } {
  const last = trees.at(-1);
  if (last === undefined) throw new RangeError('trees: expected at least one tree');
  const leafOf = (tree: GbtTree, row: GbtRow): number => {
    const node = gbtRoute(tree, variables, row);
    if (node.kind !== 'leaf') throw new RangeError(`trees: a row reaches open node ${node.id}`);
    return node.id;
  };
  const leafRows = new Map<number, number>();
  const shared = new Map<string, GbtLeafOverlapCount>();
  for (const row of rows) {
    const j = leafOf(last, row);
    leafRows.set(j, (leafRows.get(j) ?? 0) + 1);
    trees.slice(0, -1).forEach((tree, s) => {
      const i = leafOf(tree, row);
      const key = `${s}.${i}.${j}`;
      shared.set(key, { tree: s, leaf: i, lastLeaf: j, rows: (shared.get(key)?.rows ?? 0) + 1 });
    });
  }
  return { leafRows, overlaps: [...shared.values()] };
}

/** Whether `id` lies in the subtree below `ancestor` (heap ids). */
function isBelow(id: number, ancestor: number): boolean {
  let at = id;
  while (gbtNodeDepth(at) > gbtNodeDepth(ancestor)) at = (at - 1) >> 1;
  return at === ancestor && id !== ancestor;
}

/** The first intersection of `counts` holding 1 … k − 1 rows, if any. */
function smallOverlap(counts: ReadonlyMap<string, number> | undefined, k: number): [string, number] | undefined {
  for (const entry of counts ?? []) if (entry[1] > 0 && entry[1] < k) return entry;
  return undefined;
}

/**
 * The last tree of a model pruned until each of its leaves shares no row or
 * at least `k` rows with every leaf of every earlier tree.
 * `overlaps` are the intersections of its leaves with the earlier trees'
 * leaves (absent pairs share no row); `leafValue(id)` is the value of split
 * node `id` turned into a leaf (−η·G/(H + λ) from its sums, which the fit
 * runner keeps); its subjects are the split node's.
 *
 * Throws RangeError when the root itself would have to merge (a tree
 * reduced to its root still shares 1 … k − 1 rows with an
 * earlier leaf: the rows changed between trees), when a count names a node
 * that is not a leaf of the tree, or when `k` is not a
 * positive integer.
 */
export function pruneGbtTreeByOverlap(tree: GbtTree, overlaps: readonly GbtLeafOverlapCount[], k: number, leafValue: (id: number) => number): GbtTree {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k: expected a positive integer, got ${k}`);
  const nodes = new Map<number, GbtNode>(tree.nodes.map((n) => [n.id, n]));
  if (tree.nodes.some((n) => n.kind === 'open')) throw new RangeError('tree: the tree is still growing');
  const counts = new Map<number, Map<string, number>>();
  for (const o of overlaps) {
    if (nodes.get(o.lastLeaf)?.kind !== 'leaf') throw new RangeError(`overlaps: node ${o.lastLeaf} is not a leaf of the tree`);
    if (!Number.isInteger(o.rows) || o.rows < 0) throw new RangeError(`overlaps: ${o.rows} rows is not a count`);
    let m = counts.get(o.lastLeaf);
    if (m === undefined) counts.set(o.lastLeaf, (m = new Map()));
    const key = `${o.tree}.${o.leaf}`;
    m.set(key, (m.get(key) ?? 0) + o.rows);
  }
  for (;;) {
    const violating = [...nodes.values()].filter((n) => n.kind === 'leaf' && smallOverlap(counts.get(n.id), k) !== undefined).map((n) => n.id);
    if (violating.length === 0) break;
    const id = Math.max(...violating);
    if (id === 0) {
      const [key, rows] = smallOverlap(counts.get(0), k) as [string, number];
      const [s, leaf] = key.split('.');
      throw new RangeError(`the tree's root shares ${rows} rows with leaf ${leaf} of tree ${Number(s) + 1}, fewer than k = ${k}: the rows changed between trees`);
    }
    const parent = (id - 1) >> 1;
    const split = nodes.get(parent) as GbtNode;
    const merged = new Map<string, number>();
    for (const below of [...nodes.keys()].filter((n) => isBelow(n, parent))) {
      for (const [key, rows] of counts.get(below) ?? []) merged.set(key, (merged.get(key) ?? 0) + rows);
      nodes.delete(below);
      counts.delete(below);
    }
    nodes.set(parent, { id: parent, kind: 'leaf', subjects: split.subjects ?? 0, value: leafValue(parent) });
    counts.set(parent, merged);
  }
  return { nodes: [...nodes.values()].sort((a, b) => a.id - b.id) };
}
