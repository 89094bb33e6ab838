/**
 * The fit runner's side of a gradient-boosted-trees round: from a level's
 * summed histograms (gbt-local.ts), the best split of every open node and
 * the next state of the model.
 *
 * For a node with sums G, H over its rows and a candidate sending (G_L, H_L,
 * n_L) left and (G_R, H_R, n_R) right, the gain is
 *
 *   ½ [G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ)]
 *
 * and a leaf's value is −η · G/(H + λ) (η the learning rate). Candidates:
 *
 * - numeric variable: every inner edge between the node's merged bins
 *   (gbt-bin-groups.ts: adjacent bins merged until each holds at least
 *   minLeafSubjects rows), bins 0 … t left and the rest right;
 * - categorical variable: the levels present at the node (those with fewer
 *   than minLeafSubjects rows pooled into one group, a small pool joined to
 *   the smallest level, gbt-bin-groups.ts) sorted by G/(H + λ), each proper
 *   prefix of groups left. Ratios equal up
 *   to rounding (within GBT_GAIN_TIE_RELATIVE relative, or
 *   GBT_RATIO_TIE_ABSOLUTE × the per-row gradient bound, of their neighbour
 *   in the sorted list) form a run kept in declared order (a pool by its
 *   first level): levels whose rows have the same gradients then sort alike
 *   however the shops' rounding fell.
 *
 * So any two candidates of one variable at one node differ by no row or by
 * at least minLeafSubjects rows: no bin of 1 … k − 1 subjects can be told
 * apart by two thresholds of the published trees.
 *
 * A candidate counts only when both children hold at least minLeafSubjects
 * rows (so every leaf does). Candidates are taken in order (variables as
 * declared, then thresholds or prefixes) and a later one replaces the best
 * only when its gain is larger by more than {@link GBT_GAIN_TIE_RELATIVE}
 * relative, so gains equal up to rounding (two thresholds around an empty
 * bin) go to the first. The best is taken when its gain exceeds
 * minSplitGain and is not rounding noise (more than GBT_GAIN_TIE_RELATIVE of
 * its children's scores); otherwise the node becomes a leaf.
 *
 * Children at the maximum depth, and children too small to split again
 * (fewer than 2 × minLeafSubjects rows), become leaves at once from the
 * split's sums; the others are open for the next round. All sums over bins
 * are added as integers (fixed point) and turned into doubles once.
 *
 * @module
 */
import { GBT_SCALE_BITS, gbtGradientBound, type GbtBinSums, type GbtLevelHistograms } from './gbt-local.js';
import type { GbtSpec } from './gbt-spec.js';
import { gbtFrontier, gbtLeftChild, gbtNodeDepth, gbtRightChild, gbtTreesOf, startGbtTree, type GbtModel, type GbtNode, type GbtSplit, type GbtTree } from './gbt-tree.js';
import { fixedToReal } from './signed-real.js';
import { gbtCategoricalGroups, gbtNumericBinGroups } from './gbt-bin-groups.js';

/** Gains within this relative difference count as equal (the first candidate wins). */
export const GBT_GAIN_TIE_RELATIVE = 1e-9;
/** Level ratios G/(H + λ) within this many per-row gradient bounds of each other count as equal. */
export const GBT_RATIO_TIE_ABSOLUTE = 1e-12;

/**
 * The order of categorical levels for prefix splits: by ratio, with runs of
 * ratios equal up to rounding (each within the tie of its predecessor) in
 * index order. Returns the indices into `ratios`.
 */
export function gbtLevelOrder(ratios: readonly number[], absoluteTie: number): number[] {
  const sorted = ratios.map((_, i) => i).sort((a, b) => ratios[a]! - ratios[b]! || a - b);
  const out: number[] = [];
  let run: number[] = [];
  sorted.forEach((i, k) => {
    if (k > 0) {
      const prev = ratios[sorted[k - 1]!]!;
      const cur = ratios[i]!;
      if (!(cur - prev <= Math.max(GBT_GAIN_TIE_RELATIVE * Math.max(Math.abs(prev), Math.abs(cur)), absoluteTie))) {
        out.push(...run.sort((a, b) => a - b));
        run = [];
      }
    }
    run.push(i);
  });
  out.push(...run.sort((a, b) => a - b));
  return out;
}

/** Sums over a set of rows: count, and G, H in units of 2^-GBT_SCALE_BITS. */
export interface GbtSums {
  readonly n: bigint;
  readonly g: bigint;
  readonly h: bigint;
}

export type GbtNodeDecision =
  | { readonly id: number; readonly kind: 'split'; readonly split: GbtSplit; readonly gain: number; readonly left: GbtSums; readonly right: GbtSums }
  | { readonly id: number; readonly kind: 'leaf'; readonly sums: GbtSums };

const real = (v: bigint): number => fixedToReal(v, GBT_SCALE_BITS);

/** G²/(H + λ), 0 when H + λ is not positive. */
function score(s: GbtSums, l2: number): number {
  const d = real(s.h) + l2;
  if (!(d > 0)) return 0;
  const g = real(s.g);
  return (g * g) / d;
}

/** −η G/(H + λ), 0 when H + λ is not positive. */
export function gbtLeafValue(s: GbtSums, spec: Pick<GbtSpec, 'l2' | 'learningRate'>): number {
  const d = real(s.h) + spec.l2;
  if (!(d > 0)) return 0;
  return (-spec.learningRate * real(s.g)) / d;
}

function add(a: GbtSums, b: GbtSums): GbtSums {
  return { n: a.n + b.n, g: a.g + b.g, h: a.h + b.h };
}

function minus(a: GbtSums, b: GbtSums): GbtSums {
  return { n: a.n - b.n, g: a.g - b.g, h: a.h - b.h };
}

const ZERO: GbtSums = { n: 0n, g: 0n, h: 0n };

function binAt(bins: GbtBinSums, b: number): GbtSums {
  return { n: bins.n[b] as bigint, g: bins.g[b] as bigint, h: bins.h[b] as bigint };
}

function totalOf(bins: GbtBinSums): GbtSums {
  let t = ZERO;
  for (let b = 0; b < bins.n.length; b++) t = add(t, binAt(bins, b));
  return t;
}

/** The sums over each open node of a level (its first variable's bins added up), by node id. */
export function gbtOpenNodeSums(histograms: GbtLevelHistograms): Map<number, GbtSums> {
  return new Map(histograms.nodes.filter((node) => node.variables.length > 0).map((node) => [node.id, totalOf(node.variables[0] as GbtBinSums)]));
}

/** A candidate split and the sums it sends each way. */
export interface Candidate {
  readonly split: GbtSplit;
  readonly left: GbtSums;
  readonly right: GbtSums;
}

/**
 * Every candidate split of one variable at one node, in order, over the
 * bins grouped by the bin rule (gbt-bin-groups.ts): any two of them differ
 * by no row or by at least `minLeafSubjects` rows.
 */
export function gbtSplitCandidates(
  spec: Pick<GbtSpec, 'l2' | 'loss' | 'maxLabelAbs' | 'minLeafSubjects'>,
  variable: GbtSpec['variables'][number],
  bins: GbtBinSums,
): Candidate[] {
  const minLeaf = BigInt(spec.minLeafSubjects);
  const total = totalOf(bins);
  const out: Candidate[] = [];
  if (variable.type === 'numeric') {
    let left = ZERO;
    let b = 0;
    for (const group of gbtNumericBinGroups(bins.n, minLeaf).slice(0, -1)) {
      for (; b <= group.last; b++) left = add(left, binAt(bins, b));
      out.push({ split: { type: 'numeric', variable: variable.name, bin: group.last, threshold: variable.edges[group.last] as number }, left, right: minus(total, left) });
    }
    return out;
  }
  const sumOf = (parts: readonly GbtSums[]): GbtSums => parts.reduce(add, ZERO);
  const pooled = gbtCategoricalGroups(bins.n, minLeaf).map((members) => ({ members, sums: sumOf(members.map((j) => binAt(bins, j))) }));
  const ratios = pooled.map((l) => {
    const d = real(l.sums.h) + spec.l2;
    return d > 0 ? real(l.sums.g) / d : 0;
  });
  const groups = gbtLevelOrder(ratios, GBT_RATIO_TIE_ABSOLUTE * gbtGradientBound(spec)).map((i) => pooled[i]!);
  let left = ZERO;
  const inLeft = new Set<number>();
  for (let i = 0; i + 1 < groups.length; i++) {
    left = add(left, groups[i]!.sums);
    for (const j of groups[i]!.members) inLeft.add(j);
    out.push({ split: { type: 'categorical', variable: variable.name, levels: variable.levels.filter((_, j) => inLeft.has(j)) }, left, right: minus(total, left) });
  }
  return out;
}

/**
 * The decision for every open node of the level: its best split, or a leaf.
 * Throws RangeError when the histograms' variables disagree on a node's row
 * count (no honest shops send that) or a node holds fewer than
 * minLeafSubjects rows (only a root can: the fit cannot release a tree).
 */
export function chooseGbtSplits(spec: Pick<GbtSpec, 'variables' | 'l2' | 'minLeafSubjects' | 'minSplitGain' | 'loss' | 'maxLabelAbs'>, histograms: GbtLevelHistograms): GbtNodeDecision[] {
  const minLeaf = BigInt(spec.minLeafSubjects);
  return histograms.nodes.map((node): GbtNodeDecision => {
    if (node.variables.length !== spec.variables.length) throw new RangeError(`node ${node.id}: expected ${spec.variables.length} variables' histograms`);
    const totals = node.variables.map(totalOf);
    const sums = totals[0] as GbtSums;
    if (totals.some((t) => t.n !== sums.n)) throw new RangeError(`node ${node.id}: the variables' histograms disagree on its row count`);
    if (sums.n < minLeaf) throw new RangeError(`node ${node.id} holds ${sums.n} subjects, fewer than minLeafSubjects ${spec.minLeafSubjects}`);
    let best: { readonly candidate: Candidate; readonly gain: number; readonly children: number } | undefined;
    spec.variables.forEach((variable, j) => {
      const bins = node.variables[j] as GbtBinSums;
      const parent = score(totals[j] as GbtSums, spec.l2);
      for (const candidate of gbtSplitCandidates(spec, variable, bins)) {
        if (candidate.left.n < minLeaf || candidate.right.n < minLeaf) continue;
        const children = score(candidate.left, spec.l2) + score(candidate.right, spec.l2);
        const gain = 0.5 * (children - parent);
        if (best === undefined || gain > best.gain + GBT_GAIN_TIE_RELATIVE * Math.abs(best.gain)) best = { candidate, gain, children };
      }
    });
    if (best === undefined || !(best.gain > spec.minSplitGain) || !(best.gain > GBT_GAIN_TIE_RELATIVE * best.children)) {
      return { id: node.id, kind: 'leaf', sums };
    }
    return { id: node.id, kind: 'split', split: best.candidate.split, gain: best.gain, left: best.candidate.left, right: best.candidate.right };
  });
}

/** A child of a split: a leaf at the maximum depth or when too small to split again, else open. */
function childNode(spec: Pick<GbtSpec, 'depth' | 'minLeafSubjects' | 'l2' | 'learningRate'>, id: number, sums: GbtSums): GbtNode {
  const subjects = Number(sums.n);
  if (gbtNodeDepth(id) >= spec.depth || subjects < 2 * spec.minLeafSubjects) return { id, kind: 'leaf', subjects, value: gbtLeafValue(sums, spec) };
  return { id, kind: 'open', subjects };
}

/** The growing tree with the level's decisions applied. */
export function applyGbtDecisions(spec: Pick<GbtSpec, 'depth' | 'minLeafSubjects' | 'l2' | 'learningRate'>, tree: GbtTree, decisions: readonly GbtNodeDecision[]): GbtTree {
  const byId = new Map(decisions.map((d) => [d.id, d]));
  const nodes: GbtNode[] = [];
  for (const node of tree.nodes) {
    const d = byId.get(node.id);
    if (node.kind !== 'open') {
      nodes.push(node);
      continue;
    }
    if (d === undefined) throw new RangeError(`no decision for open node ${node.id}`);
    if (d.kind === 'leaf') {
      nodes.push({ id: node.id, kind: 'leaf', subjects: Number(d.sums.n), value: gbtLeafValue(d.sums, spec) });
      continue;
    }
    nodes.push({ id: node.id, kind: 'split', subjects: Number(d.left.n + d.right.n), split: d.split, gain: d.gain });
    nodes.push(childNode(spec, gbtLeftChild(node.id), d.left), childNode(spec, gbtRightChild(node.id), d.right));
  }
  if (decisions.some((d) => !tree.nodes.some((n) => n.id === d.id && n.kind === 'open'))) throw new RangeError('a decision names a node that is not open');
  return { nodes: nodes.sort((a, b) => a.id - b.id) };
}

/**
 * One round of the fit: the level's histograms applied to the growing tree.
 * When the tree is finished, the next tree is started (its root open), or,
 * after `spec.trees` trees, the fit is done. Throws RangeError when the
 * histograms are not of the model's frontier.
 */
export function advanceGbtLevel(spec: GbtSpec, model: GbtModel, histograms: GbtLevelHistograms): { readonly done: boolean; readonly model: GbtModel } {
  const { complete, growing } = gbtTreesOf(model);
  if (growing === undefined) throw new RangeError('model: no tree is growing');
  const frontier = gbtFrontier(model);
  const ids = histograms.nodes.map((n) => n.id);
  if (ids.length !== frontier.length || ids.some((id, i) => id !== frontier[i])) throw new RangeError(`histograms are of nodes [${ids.join(', ')}], the frontier is [${frontier.join(', ')}]`);
  const tree = applyGbtDecisions(spec, growing, chooseGbtSplits(spec, histograms));
  const next: GbtModel = { ...model, trees: [...complete, tree] };
  if (tree.nodes.some((n) => n.kind === 'open')) return { done: false, model: next };
  if (next.trees.length < spec.trees) return { done: false, model: startGbtTree(next) };
  return { done: true, model: next };
}
