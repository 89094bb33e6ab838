/**
 * The gradient-boosted-trees model: JSON-serialisable trees of binned
 * splits, the prediction of a row (margin, and probability for logistic
 * loss), and the frontier of the tree being grown (its open nodes).
 *
 * Nodes are numbered as in a heap: the root is 0 and the children of node i
 * are 2i + 1 (left) and 2i + 2 (right), so a node's depth follows from its
 * id. A node is
 *
 * - `split`: a numeric split sends v < threshold left (threshold = the inner
 *   edge above bin `bin`, so bins 0 … bin go left), a categorical split sends
 *   the listed levels left and every other value right;
 * - `leaf`: its value, already multiplied by the learning rate;
 * - `open`: on the frontier of the tree being grown, waiting for the next
 *   round's histograms.
 *
 * Every node records the subjects (rows) it holds. A released model has no
 * open node, and every leaf holds at least `minLeafSubjects`.
 *
 * @module
 */
import { gbtBinCount, type GbtLoss, type GbtSpec, type GbtVariable } from './gbt-spec.js';

export type GbtSplit =
  | { readonly type: 'numeric'; readonly variable: string; readonly bin: number; readonly threshold: number }
  | { readonly type: 'categorical'; readonly variable: string; readonly levels: readonly string[] };

export type GbtNode =
  | { readonly id: number; readonly kind: 'split'; readonly subjects: number; readonly split: GbtSplit; /** The split's gain (gbt-split.ts), recorded by the fit runner for importance. */ readonly gain?: number }
  | { readonly id: number; readonly kind: 'leaf'; readonly subjects: number; readonly value: number }
  | { readonly id: number; readonly kind: 'open'; readonly subjects?: number };

export interface GbtTree {
  /** Sorted by id. */
  readonly nodes: readonly GbtNode[];
}

/** The model as it grows and as it is released (no open node then). */
export interface GbtModel {
  readonly loss: GbtLoss;
  readonly baseMargin: number;
  readonly variables: readonly GbtVariable[];
  /** Complete trees, then at most one tree being grown (the last, with open nodes). */
  readonly trees: readonly GbtTree[];
}

/** A row of a shop: one value per variable (number for numeric, level for categorical) and the label. */
export interface GbtRow {
  readonly x: Readonly<Record<string, number | string>>;
  readonly y: number;
}

export const gbtLeftChild = (id: number): number => 2 * id + 1;
export const gbtRightChild = (id: number): number => 2 * id + 2;
/** Depth of a node from its heap id (root 0). */
export const gbtNodeDepth = (id: number): number => Math.floor(Math.log2(id + 1));

/** A model with no trees: the margin is `baseMargin` for every row. */
export function emptyGbtModel(spec: Pick<GbtSpec, 'loss' | 'baseMargin' | 'variables'>): GbtModel {
  return { loss: spec.loss, baseMargin: spec.baseMargin, variables: spec.variables, trees: [] };
}

/** The model with a new tree whose root is open. Throws RangeError if the last tree is still growing. */
export function startGbtTree(model: GbtModel): GbtModel {
  if (model.trees.length > 0 && isGrowing(model.trees.at(-1) as GbtTree)) throw new RangeError('the last tree is still growing');
  return { ...model, trees: [...model.trees, { nodes: [{ id: 0, kind: 'open' }] }] };
}

function isGrowing(tree: GbtTree): boolean {
  return tree.nodes.some((n) => n.kind === 'open');
}

/** The complete trees and the tree being grown, if any. */
export function gbtTreesOf(model: GbtModel): { readonly complete: readonly GbtTree[]; readonly growing: GbtTree | undefined } {
  const last = model.trees.at(-1);
  if (last !== undefined && isGrowing(last)) return { complete: model.trees.slice(0, -1), growing: last };
  return { complete: model.trees, growing: undefined };
}

/** The open nodes of the tree being grown, in increasing id (empty when none grows). */
export function gbtFrontier(model: GbtModel): number[] {
  const { growing } = gbtTreesOf(model);
  if (growing === undefined) return [];
  return growing.nodes.filter((n) => n.kind === 'open').map((n) => n.id);
}

function variableOf(variables: readonly GbtVariable[], name: string): GbtVariable {
  const v = variables.find((w) => w.name === name);
  if (v === undefined) throw new RangeError(`unknown variable ${name}`);
  return v;
}

/** The value of `variable` in a row; TypeError when missing or of the wrong type. */
export function gbtValue(row: GbtRow, variable: GbtVariable): number | string {
  const v = row.x[variable.name];
  if (variable.type === 'numeric') {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`row: ${variable.name} must be a finite number, got ${String(v)}`);
  } else if (typeof v !== 'string') {
    throw new TypeError(`row: ${variable.name} must be a level (string), got ${String(v)}`);
  }
  return v;
}

/**
 * The bin of a value: for numeric variables the number of inner edges ≤ v,
 * for categorical ones the level's index. RangeError for a level the spec
 * does not declare (never put in another bin).
 */
export function gbtBin(variable: GbtVariable, value: number | string): number {
  if (variable.type === 'categorical') {
    const j = variable.levels.indexOf(value as string);
    if (j < 0) throw new RangeError(`${variable.name}: level ${String(value)} is not among the declared levels`);
    return j;
  }
  const v = value as number;
  let lo = 0;
  let hi = variable.edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((variable.edges[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a split sends the row left. */
export function goesLeft(split: GbtSplit, variables: readonly GbtVariable[], row: GbtRow): boolean {
  const variable = variableOf(variables, split.variable);
  const v = gbtValue(row, variable);
  return split.type === 'numeric' ? (v as number) < split.threshold : split.levels.includes(v as string);
}

/** Node lookup per tree object (trees are never mutated: each round builds new ones). */
const NODES_BY_ID = new WeakMap<GbtTree, ReadonlyMap<number, GbtNode>>();

/**
 * Where a row ends in a tree: the node (leaf or open) it reaches. Throws
 * RangeError on a tree whose split leads to a missing node.
 */
export function gbtRoute(tree: GbtTree, variables: readonly GbtVariable[], row: GbtRow): GbtNode {
  let byId = NODES_BY_ID.get(tree);
  if (byId === undefined) {
    byId = new Map(tree.nodes.map((n) => [n.id, n]));
    NODES_BY_ID.set(tree, byId);
  }
  let id = 0;
  for (;;) {
    const node = byId.get(id);
    if (node === undefined) throw new RangeError(`tree has no node ${id}`);
    if (node.kind !== 'split') return node;
    id = goesLeft(node.split, variables, row) ? gbtLeftChild(id) : gbtRightChild(id);
  }
}

/** Leaf value a complete tree gives the row. */
export function gbtTreeValue(tree: GbtTree, variables: readonly GbtVariable[], row: GbtRow): number {
  const node = gbtRoute(tree, variables, row);
  if (node.kind !== 'leaf') throw new RangeError(`tree is still growing (the row reaches open node ${node.id})`);
  return node.value;
}

/** The margin of a row: base margin plus the leaf values of the complete trees (a growing tree adds nothing). */
export function gbtMargin(model: GbtModel, row: GbtRow): number {
  const { complete } = gbtTreesOf(model);
  let m = model.baseMargin;
  for (const tree of complete) m += gbtTreeValue(tree, model.variables, row);
  return m;
}

export function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** The prediction: the probability of y = 1 for logistic loss, the margin itself for squared loss. */
export function gbtPredict(model: GbtModel, row: GbtRow): number {
  const m = gbtMargin(model, row);
  return model.loss === 'logistic' ? sigmoid(m) : m;
}

/**
 * Checks a model is complete and releasable: every tree has no open node,
 * every split's children exist, every leaf holds at least `minLeafSubjects`
 * subjects and every split names a declared variable and bin. Throws
 * RangeError naming the first fault.
 */
export function assertReleasableGbtModel(model: GbtModel, minLeafSubjects: number): void {
  model.trees.forEach((tree, t) => {
    const ids = new Set(tree.nodes.map((n) => n.id));
    for (const node of tree.nodes) {
      const at = `tree ${t} node ${node.id}`;
      if (node.kind === 'open') throw new RangeError(`${at} is open: the tree is not finished`);
      if (node.kind === 'leaf') {
        if (node.subjects < minLeafSubjects) throw new RangeError(`${at}: leaf holds ${node.subjects} subjects, fewer than ${minLeafSubjects}`);
        if (!Number.isFinite(node.value)) throw new RangeError(`${at}: leaf value is not finite`);
        continue;
      }
      if (!ids.has(gbtLeftChild(node.id)) || !ids.has(gbtRightChild(node.id))) throw new RangeError(`${at}: a child of the split is missing`);
      const variable = variableOf(model.variables, node.split.variable);
      if (node.split.type !== variable.type) throw new RangeError(`${at}: split type ${node.split.type} on ${variable.type} variable ${variable.name}`);
      if (node.split.type === 'numeric') {
        if (!Number.isInteger(node.split.bin) || node.split.bin < 0 || node.split.bin >= gbtBinCount(variable) - 1) throw new RangeError(`${at}: bin ${node.split.bin} out of range`);
      } else if (variable.type === 'categorical' && node.split.levels.some((l) => !variable.levels.includes(l))) {
        throw new RangeError(`${at}: split names an undeclared level`);
      }
    }
  });
}
