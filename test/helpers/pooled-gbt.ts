/**
 * An independent pooled implementation of gradient-boosted trees, for
 * comparison with the federated fit (analytics/gbt-*.ts): plain floats over
 * all rows together, splits found by scanning rows against each threshold or
 * level set, written from the rules in docs/gradient-boosted-trees.md rather
 * than with the library's histogram code, including the bin rule (candidate
 * splits of one variable at a node differ by no row or by at least
 * minLeafSubjects rows), here counted from the rows, and the cross-tree
 * rule (after every tree from the second, while one of its leaves shares 1 …
 * k − 1 rows with a leaf of an earlier tree, k the purpose's, the parent of the
 * violating leaf with the largest id becomes a leaf), its intersections
 * counted from the rows too. Used by test/analytics/gbt-exactness.test.ts and
 * test/integration/gbt-fit.test.ts.
 */
import type { GbtSpec } from '../../analytics/gbt-spec.js';
import type { GbtRow } from '../../analytics/gbt-tree.js';

export type PooledNode =
  | { id: number; kind: 'split'; subjects: number; variable: string; threshold?: number; levels?: string[]; gain: number }
  | { id: number; kind: 'leaf'; subjects: number; value: number };

/** Gains (and level ratios) within this relative difference count as equal. */
const TIE = 1e-9;
const RATIO_TIE = 1e-12;

/** Levels by ratio; neighbours equal up to rounding form runs kept in declared order (the documented rule). */
function orderLevels<L extends { j: number; ratio: number }>(levels: L[], absolute: number): L[] {
  const byRatio = [...levels].sort((a, b) => a.ratio - b.ratio || a.j - b.j);
  const runs: L[][] = [];
  for (const l of byRatio) {
    const last = runs.at(-1);
    const prev = last?.at(-1);
    if (last !== undefined && prev !== undefined && Math.abs(l.ratio - prev.ratio) <= Math.max(TIE * Math.max(Math.abs(l.ratio), Math.abs(prev.ratio)), absolute)) last.push(l);
    else runs.push([l]);
  }
  return runs.flatMap((run) => run.sort((a, b) => a.j - b.j));
}

export interface PooledOptions {
  /** Apply the cross-tree leaf rule (default true); false gives the fit without it, for showing what it prevents. */
  readonly leafOverlap?: boolean;
  /**
   * Trees grown before these (elsewhere, e.g. over other rows): per earlier
   * tree, the leaf id each row reaches. The rule compares the new trees'
   * leaves with theirs too.
   */
  readonly earlierLeaves?: readonly (readonly number[])[];
  /**
   * The fewest rows two leaves of different trees may share when they share
   * any: the purpose's k (default: spec.minLeafSubjects, for fits whose
   * minLeafSubjects is k).
   */
  readonly overlapSubjects?: number;
  /**
   * Not what the fit does: choose only splits whose children already share
   * 0 or ≥ overlapSubjects rows with every earlier leaf (instead of pruning
   * afterwards), to measure what such a search would keep.
   */
  readonly searchOverlap?: boolean;
}

/**
 * The pooled fit of `spec` on `rows`: the trees (heap-numbered nodes, sorted
 * by id) and every row's final margin. Throws when a tree reduced to its
 * root still shares 1 … overlapSubjects − 1 rows with an earlier leaf.
 */
export function pooledFit(spec: GbtSpec, rows: readonly GbtRow[], options: PooledOptions = {}): { trees: PooledNode[][]; margins: number[] } {
  const leafOverlap = options.leafOverlap ?? true;
  const overlapSubjects = options.overlapSubjects ?? spec.minLeafSubjects;
  /** Per earlier tree, the leaf id of every row. */
  const leafOfRow: (readonly number[])[] = [...(options.earlierLeaves ?? [])];
  const margins = rows.map(() => spec.baseMargin);
  const trees: PooledNode[][] = [];
  const sc = (g: number, h: number): number => (h + spec.l2 > 0 ? (g * g) / (h + spec.l2) : 0);
  const leafValue = (g: number, h: number): number => (h + spec.l2 > 0 ? (-spec.learningRate * g) / (h + spec.l2) : 0);
  for (let t = 0; t < spec.trees; t++) {
    const grad = rows.map((r, i) => {
      const m = margins[i] as number;
      if (spec.loss === 'logistic') {
        const p = m >= 0 ? 1 / (1 + Math.exp(-m)) : Math.exp(m) / (1 + Math.exp(m));
        return { g: p - r.y, h: p * (1 - p) };
      }
      return { g: m - r.y, h: 1 };
    });
    const sum = (idx: readonly number[]): { g: number; h: number } => {
      let g = 0;
      let h = 0;
      for (const i of idx) {
        g += grad[i]!.g;
        h += grad[i]!.h;
      }
      return { g, h };
    };
    // A leaf's rows split over each earlier tree's leaves: some part of 1..k-1 rows?
    const violates = (idx: readonly number[]): boolean =>
      leafOfRow.some((earlier) => {
        const parts = new Map<number, number>();
        for (const i of idx) parts.set(earlier[i]!, (parts.get(earlier[i]!) ?? 0) + 1);
        return [...parts.values()].some((c) => c > 0 && c < overlapSubjects);
      });
    let nodes: PooledNode[] = [];
    const rowsAt = new Map<number, number[]>(); // node id → its rows
    const grow = (id: number, depth: number, idx: number[]): void => {
      const all = sum(idx);
      rowsAt.set(id, idx);
      const leaf = (): void => {
        nodes.push({ id, kind: 'leaf', subjects: idx.length, value: leafValue(all.g, all.h) });
      };
      if (depth >= spec.depth || idx.length < 2 * spec.minLeafSubjects) return leaf();
      let best: { gain: number; children: number; node: PooledNode; left: number[]; right: number[] } | undefined;
      const consider = (variable: string, left: number[], right: number[], extra: { threshold?: number; levels?: string[] }): void => {
        if (left.length < spec.minLeafSubjects || right.length < spec.minLeafSubjects) return;
        if (options.searchOverlap === true && (violates(left) || violates(right))) return;
        const l = sum(left);
        const r = sum(right);
        const children = sc(l.g, l.h) + sc(r.g, r.h);
        const gain = 0.5 * (children - sc(all.g, all.h));
        if (best === undefined || gain > best.gain + TIE * Math.abs(best.gain)) {
          best = { gain, children, left, right, node: { id, kind: 'split', subjects: idx.length, variable, ...extra, gain } };
        }
      };
      for (const v of spec.variables) {
        if (v.type === 'numeric') {
          // The bin rule: a threshold only where the rows since the last threshold kept, and the rows above it, both
          // number at least minLeafSubjects (so thresholds lie between merged bins of at least that many rows).
          let since = Number.NEGATIVE_INFINITY;
          for (const threshold of v.edges) {
            const value = (i: number): number => rows[i]!.x[v.name] as number;
            const between = idx.filter((i) => value(i) >= since && value(i) < threshold).length;
            const above = idx.filter((i) => value(i) >= threshold).length;
            if (between < spec.minLeafSubjects || above < spec.minLeafSubjects) continue;
            since = threshold;
            consider(
              v.name,
              idx.filter((i) => (rows[i]!.x[v.name] as number) < threshold),
              idx.filter((i) => (rows[i]!.x[v.name] as number) >= threshold),
              { threshold },
            );
          }
        } else {
          // The bin rule: levels with 1..minLeafSubjects-1 rows here move as one pool; a pool below minLeafSubjects
          // joins the level with the fewest rows (the first declared on a tie); groups tie in at their first level.
          const rowsOf = (levels: readonly string[]): number[] => idx.filter((i) => levels.includes(rows[i]!.x[v.name] as string));
          const counts = v.levels.map((level) => rowsOf([level]).length);
          const small = v.levels.filter((_, j) => counts[j]! > 0 && counts[j]! < spec.minLeafSubjects);
          const sets = v.levels.filter((_, j) => counts[j]! >= spec.minLeafSubjects).map((level) => [level]);
          if (small.length > 0) {
            const fewest = sets.reduce<string[] | undefined>((best, g) => (best === undefined || counts[v.levels.indexOf(g[0]!)]! < counts[v.levels.indexOf(best[0]!)]! ? g : best), undefined);
            if (rowsOf(small).length >= spec.minLeafSubjects || fewest === undefined) sets.push(small);
            else fewest.push(...small);
          }
          const groups = sets.map((levels) => {
            const members = rowsOf(levels);
            const s = sum(members);
            return { levels, j: Math.min(...levels.map((l) => v.levels.indexOf(l))), ratio: s.h + spec.l2 > 0 ? s.g / (s.h + spec.l2) : 0 };
          });
          const present = orderLevels(groups, RATIO_TIE * (spec.loss === 'logistic' ? 1 : 4 * spec.maxLabelAbs));
          for (let k = 1; k < present.length; k++) {
            const set = new Set(present.slice(0, k).flatMap((g) => g.levels));
            consider(
              v.name,
              idx.filter((i) => set.has(rows[i]!.x[v.name] as string)),
              idx.filter((i) => !set.has(rows[i]!.x[v.name] as string)),
              { levels: v.levels.filter((l) => set.has(l)) },
            );
          }
        }
      }
      const chosen = best;
      if (chosen === undefined || !(chosen.gain > spec.minSplitGain) || !(chosen.gain > TIE * chosen.children)) return leaf();
      nodes.push(chosen.node);
      grow(2 * id + 1, depth + 1, chosen.left);
      grow(2 * id + 2, depth + 1, chosen.right);
    };
    grow(
      0,
      0,
      rows.map((_, i) => i),
    );
    if (leafOverlap) {
      // Is `id` below `parent`? Walk up the heap.
      const below = (id: number, parent: number): boolean => {
        let at = id;
        while (at > parent) at = (at - 1) >> 1;
        return at === parent && id !== parent;
      };
      for (;;) {
        const bad = nodes.filter((n) => n.kind === 'leaf' && violates(rowsAt.get(n.id)!)).map((n) => n.id);
        if (bad.length === 0) break;
        const worst = Math.max(...bad);
        if (worst === 0) throw new Error(`tree ${t + 1}: its root shares 1..${overlapSubjects - 1} rows with a leaf of an earlier tree`);
        const parent = (worst - 1) >> 1;
        const idx = rowsAt.get(parent)!;
        const s = sum(idx);
        nodes = nodes.filter((n) => n.id !== parent && !below(n.id, parent));
        nodes.push({ id: parent, kind: 'leaf', subjects: idx.length, value: leafValue(s.g, s.h) });
      }
    }
    const leafIdOf: number[] = rows.map(() => -1);
    for (const n of nodes) {
      if (n.kind !== 'leaf') continue;
      for (const i of rowsAt.get(n.id)!) {
        margins[i]! += n.value;
        leafIdOf[i] = n.id;
      }
    }
    leafOfRow.push(leafIdOf);
    trees.push(nodes.sort((a, b) => a.id - b.id));
  }
  return { trees, margins };
}
