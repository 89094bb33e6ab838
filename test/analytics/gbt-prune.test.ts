/**
 * The cross-tree leaf rule (analytics/gbt-prune.ts): counting the rows a
 * leaf of the last tree shares with each leaf of the earlier trees, and
 * pruning the last tree until every such intersection holds no row or at
 * least k (the purpose's). Hand cases, and a property over generated rows and
 * trees: after pruning, any two leaves of different trees differ by 0 or at
 * least k rows, counted here from the rows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GbtVariable } from '../../analytics/gbt-spec.js';
import { gbtLeafOverlapCounts, pruneGbtTreeByOverlap, type GbtLeafOverlapCount } from '../../analytics/gbt-prune.js';
import type { GbtNode, GbtRow, GbtTree } from '../../analytics/gbt-tree.js';

const X: GbtVariable = { name: 'x', type: 'numeric', edges: [10, 20, 30, 40, 45, 50, 60, 70, 80, 85, 90] };
const VARIABLES = [X];

const split = (id: number, subjects: number, threshold: number): GbtNode => ({ id, kind: 'split', subjects, split: { type: 'numeric', variable: 'x', bin: X.edges.indexOf(threshold), threshold } });
const leaf = (id: number, subjects: number, value = id): GbtNode => ({ id, kind: 'leaf', subjects, value });
const rowsAt = (values: readonly number[]): GbtRow[] => values.map((x) => ({ x: { x }, y: 0 }));
/** Rows with x = v for every v in [from, to) step 1. */
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** The leaf of `tree` a row reaches, walking the tree here (v < threshold goes left). */
function leafOf(tree: GbtTree, row: GbtRow): number {
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  let id = 0;
  for (let n = byId.get(0); n?.kind === 'split'; n = byId.get(id)) id = (row.x['x'] as number) < (n.split as { threshold: number }).threshold ? 2 * id + 1 : 2 * id + 2;
  return id;
}

describe('gbt-prune: counting', () => {
  it('counts each row once per earlier tree, in the pair of leaves it reaches, as a plain count does', () => {
    const t1: GbtTree = { nodes: [split(0, 100, 50), leaf(1, 50), leaf(2, 50)] };
    const t2: GbtTree = { nodes: [split(0, 100, 30), leaf(1, 30), split(2, 70, 70), leaf(5, 40), leaf(6, 30)] };
    const t3: GbtTree = { nodes: [split(0, 100, 60), leaf(1, 60), leaf(2, 40)] };
    const rows = rowsAt(range(0, 100));
    const { leafRows, overlaps } = gbtLeafOverlapCounts(VARIABLES, [t1, t2, t3], rows);
    expect(Object.fromEntries(leafRows)).toEqual({ 1: 60, 2: 40 });
    const plain = new Map<string, number>();
    for (const r of rows) for (const [s, t] of [t1, t2].entries()) plain.set(`${s}.${leafOf(t, r)}.${leafOf(t3, r)}`, (plain.get(`${s}.${leafOf(t, r)}.${leafOf(t3, r)}`) ?? 0) + 1);
    expect(new Map(overlaps.map((o) => [`${o.tree}.${o.leaf}.${o.lastLeaf}`, o.rows]))).toEqual(plain);
    expect(() => gbtLeafOverlapCounts(VARIABLES, [t1, { nodes: [{ id: 0, kind: 'open' }] }], rows)).toThrow(/open node 0/);
  });
});

describe('gbt-prune: pruning', () => {
  // 100 rows, x = 0 … 99; tree 1 splits at 50 (leaves 1: x < 50, 2: x ≥ 50).
  const rows = rowsAt(range(0, 100));
  const t1: GbtTree = { nodes: [split(0, 100, 50), leaf(1, 50), leaf(2, 50)] };
  const value = (id: number): number => 1000 + id;
  const prune = (earlier: readonly GbtTree[], last: GbtTree, m: number): GbtTree => pruneGbtTreeByOverlap(last, gbtLeafOverlapCounts(VARIABLES, [...earlier, last], rows).overlaps, m, value);

  it('leaves a tree alone when every intersection is 0 or at least k, and prunes up to the root when needed', () => {
    // Last tree: 40, then 70 (leaves 1: [0, 40), 5: [40, 70), 6: [70, 100)). Leaf 5 shares 10 rows with tree 1's leaf 1.
    const last: GbtTree = { nodes: [split(0, 100, 40), leaf(1, 40), split(2, 60, 70), leaf(5, 30), leaf(6, 30)] };
    expect(prune([t1], last, 10)).toEqual(last);
    // At 11: leaf 5 violates → node 2 ([40, 100), still 10 rows with leaf 1 of tree 1) → the root (50 and 50 rows).
    expect(prune([t1], last, 11)).toEqual({ nodes: [leaf(0, 100, 1000)] });
  });

  it("turns the parent of the violating leaf into a leaf (the value given, the split's subjects), its leaves' counts added", () => {
    // Tree 1 at 45 (45 and 55 rows); last tree 30, then 40: leaf 6 = [40, 100) shares 5 rows with x < 45.
    const t1b: GbtTree = { nodes: [split(0, 100, 45), leaf(1, 45), leaf(2, 55)] };
    const last: GbtTree = { nodes: [split(0, 100, 30), leaf(1, 30), split(2, 70, 40), leaf(5, 10), leaf(6, 60)] };
    // Node 2 = [30, 100) holds leaves 5 (10 rows with x < 45) and 6 (5 rows): 15 and 55 rows, no violation left.
    expect(prune([t1b], last, 10)).toEqual({ nodes: [split(0, 100, 30), leaf(1, 30), leaf(2, 70, 1002)] });
  });

  it('prunes only the subtree that violates, against any earlier tree', () => {
    // Last tree: 50, then 20 on the left and 80 on the right: no violation against tree 1 (50). Tree 2 splits at 85,
    // so leaf 6 ([80, 100)) shares 5 rows with its leaf 1.
    const t2: GbtTree = { nodes: [split(0, 100, 85), leaf(1, 85), leaf(2, 15)] };
    const last: GbtTree = { nodes: [split(0, 100, 50), split(1, 50, 20), split(2, 50, 80), leaf(3, 20), leaf(4, 30), leaf(5, 30), leaf(6, 20)] };
    expect(prune([t1], last, 10)).toEqual(last);
    // Node 2 = [50, 100): 35 and 15 rows with tree 2's leaves, 50 with tree 1's leaf 2; the left side stays.
    expect(prune([t1, t2], last, 10)).toEqual({ nodes: [split(0, 100, 50), split(1, 50, 20), leaf(2, 50, 1002), leaf(3, 20), leaf(4, 30)] });
  });

  it('stops when the root itself shares 1 … k − 1 rows with an earlier leaf, and refuses what no fit sends', () => {
    const last: GbtTree = { nodes: [split(0, 100, 40), leaf(1, 40), leaf(2, 60)] };
    // Rows changed between trees: leaf 1 shares 3 rows with tree 1's leaf 1, leaf 2 none; the root then 3.
    const overlaps: GbtLeafOverlapCount[] = [
      { tree: 0, leaf: 1, lastLeaf: 1, rows: 3 },
      { tree: 0, leaf: 2, lastLeaf: 1, rows: 37 },
      { tree: 0, leaf: 2, lastLeaf: 2, rows: 60 },
    ];
    expect(() => pruneGbtTreeByOverlap(last, overlaps, 10, value)).toThrow(/the tree's root shares 3 rows with leaf 1 of tree 1, fewer than k = 10/);
    expect(() => pruneGbtTreeByOverlap(last, [{ tree: 0, leaf: 1, lastLeaf: 0, rows: 3 }], 10, value)).toThrow(/node 0 is not a leaf/);
    expect(() => pruneGbtTreeByOverlap(last, [{ tree: 0, leaf: 1, lastLeaf: 1, rows: -1 }], 10, value)).toThrow(/not a count/);
    expect(() => pruneGbtTreeByOverlap(last, overlaps, 0, value)).toThrow(/^k: /);
    expect(() => pruneGbtTreeByOverlap({ nodes: [{ id: 0, kind: 'open' }] }, [], 10, value)).toThrow(/still growing/);
  });
});

// ---------------------------------------------------------------------------
// Property: random trees over random rows; after pruning each new tree against the earlier ones (as the fit does,
// tree by tree), every pair of leaves of different trees differs by 0 or at least m rows, counted from the rows.

/** A random complete tree on x, from thresholds consumed in heap order; a split only when both sides hold at least m rows (as every leaf of a fit does). */
function randomTree(rows: readonly GbtRow[], thresholds: readonly number[], depth: number, m: number): GbtTree {
  const nodes: GbtNode[] = [];
  let next = 0;
  const grow = (id: number, d: number, idx: readonly GbtRow[]): void => {
    const t = thresholds[next++ % thresholds.length] as number;
    const left = idx.filter((r) => (r.x['x'] as number) < t);
    if (d >= depth || left.length < m || idx.length - left.length < m) {
      nodes.push({ id, kind: 'leaf', subjects: idx.length, value: id });
      return;
    }
    nodes.push(split(id, idx.length, t));
    grow(2 * id + 1, d + 1, left);
    grow(2 * id + 2, d + 1, idx.filter((r) => (r.x['x'] as number) >= t));
  };
  grow(0, 0, rows);
  return { nodes: nodes.sort((a, b) => a.id - b.id) };
}

/** Rows of each leaf of `tree`, found by walking the tree here. */
function leafSets(tree: GbtTree, rows: readonly GbtRow[]): Set<number>[] {
  const by = new Map<number, Set<number>>();
  rows.forEach((r, i) => {
    const id = leafOf(tree, r);
    if (!by.has(id)) by.set(id, new Set());
    by.get(id)!.add(i);
  });
  return [...by.values()];
}

describe('gbt-prune: property', () => {
  it('after pruning, any two leaves of different trees differ by 0 or at least k rows', () => {
    // So the property is not vacuous: runs in which some tree was pruned.
    let pruned = 0;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 30, maxLength: 300 }),
        fc.array(fc.array(fc.constantFrom(...X.edges), { minLength: 7, maxLength: 7 }), { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 15 }),
        (values, treeThresholds, depth, m) => {
          const rows = rowsAt(values);
          const trees: GbtTree[] = [];
          for (const thresholds of treeThresholds) {
            const grown = randomTree(rows, thresholds, depth, m);
            if (trees.length === 0) {
              trees.push(grown);
              continue;
            }
            const { overlaps } = gbtLeafOverlapCounts(VARIABLES, [...trees, grown], rows);
            // The same rows in every tree: a root shares whole leaves of at least m rows, so pruning never fails.
            const kept = pruneGbtTreeByOverlap(grown, overlaps, m, () => -1);
            if (kept.nodes.length < grown.nodes.length) pruned++;
            trees.push(kept);
          }
          const sets = trees.map((t) => leafSets(t, rows));
          for (let t = 1; t < sets.length; t++) {
            for (let s = 0; s < t; s++) {
              for (const a of sets[t]!) {
                for (const b of sets[s]!) {
                  let onlyA = 0;
                  for (const i of a) if (!b.has(i)) onlyA++;
                  let onlyB = 0;
                  for (const i of b) if (!a.has(i)) onlyB++;
                  const shared = a.size - onlyA;
                  expect(shared === 0 || shared >= m).toBe(true);
                  expect(onlyA === 0 || onlyA >= m).toBe(true);
                  expect(onlyB === 0 || onlyB >= m).toBe(true);
                }
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(pruned).toBeGreaterThan(20);
  });
});
