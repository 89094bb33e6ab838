import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GBT_SCALE_BITS, type GbtLevelHistograms } from '../../analytics/gbt-local.js';
import { parseGbtSpec, type GbtNumericVariable } from '../../analytics/gbt-spec.js';
import { advanceGbtLevel, chooseGbtSplits, gbtLevelOrder } from '../../analytics/gbt-split.js';
import {
  assertReleasableGbtModel,
  emptyGbtModel,
  gbtBin,
  gbtFrontier,
  gbtNodeDepth,
  gbtPredict,
  gbtRoute,
  goesLeft,
  startGbtTree,
  type GbtModel,
} from '../../analytics/gbt-tree.js';

const S = BigInt(GBT_SCALE_BITS);
const fixed = (x: number): bigint => BigInt(Math.round(x * 1024)) << (S - 10n);

const spec = parseGbtSpec(
  {
    kind: 'gradient-boosted-trees',
    purpose: 'p',
    label: { name: 'y', type: 'numeric' },
    variables: [
      { name: 'age', type: 'numeric', edges: [30, 50] },
      { name: 'region', type: 'categorical', levels: ['n', 's', 'e'] },
    ],
    trees: 2,
    depth: 2,
    learningRate: 0.5,
    l2: 1,
    minLeafSubjects: 3,
  },
  3,
);

/** Histograms of one node from per-bin (n, G) with h = 1 per row. */
function node(id: number, age: [number, number][], region: [number, number][]): GbtLevelHistograms['nodes'][number] {
  const bins = (xs: [number, number][]) => ({ n: xs.map(([n]) => BigInt(n)), g: xs.map(([, g]) => fixed(g)), h: xs.map(([n]) => BigInt(n) << S) });
  return { id, variables: [bins(age), bins(region)] };
}

describe('gradient-boosted-trees model', () => {
  it('bins numeric values by the inner edges (v < edge goes left) and levels by index', () => {
    const age = spec.variables[0] as GbtNumericVariable;
    expect([10, 29.999, 30, 49, 50, 1e9].map((v) => gbtBin(age, v))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(gbtBin(spec.variables[1]!, 'e')).toBe(2);
    expect(() => gbtBin(spec.variables[1]!, 'w')).toThrow(RangeError);
    fc.assert(
      fc.property(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.integer({ min: 0, max: 1 }), (v, t) => {
        const split = { type: 'numeric' as const, variable: 'age', bin: t, threshold: age.edges[t] as number };
        expect(goesLeft(split, spec.variables, { x: { age: v, region: 'n' }, y: 0 })).toBe(gbtBin(age, v) <= t);
      }),
    );
    expect([0, 1, 2, 3, 6, 7, 14].map(gbtNodeDepth)).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });

  it('grows a tree level by level from histograms and predicts with it', () => {
    let model: GbtModel = startGbtTree(emptyGbtModel(spec));
    expect(gbtFrontier(model)).toEqual([0]);
    // Root: ages < 30 have residual sum −40 over 4 rows; the region split is weaker.
    const root = node(0, [[4, -40], [6, 6], [5, 4]], [[5, -30], [5, -5], [5, 5]]);
    const [decision] = chooseGbtSplits(spec, { nodes: [root] });
    expect(decision).toMatchObject({ kind: 'split', split: { type: 'numeric', variable: 'age', bin: 0, threshold: 30 } });
    let next = advanceGbtLevel(spec, model, { nodes: [root] });
    model = next.model;
    // Left child (4 rows < 2 × 3) is a leaf at once: −0.5 × (−40)/(4 + 1) = 4; right is open. The split records its
    // gain ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] with G_L = −40 over 4 rows, G_R = 10 over 11.
    expect(model.trees[0]!.nodes).toEqual([
      { id: 0, kind: 'split', subjects: 15, split: { type: 'numeric', variable: 'age', bin: 0, threshold: 30 }, gain: expect.closeTo(0.5 * (1600 / 5 + 100 / 12 - 900 / 16), 10) },
      { id: 1, kind: 'leaf', subjects: 4, value: 4 },
      { id: 2, kind: 'open', subjects: 11 },
    ]);
    expect(gbtFrontier(model)).toEqual([2]);
    // Node 2: region n|s,e? n has G = 10 over 4 rows, s and e −0 … choose by sorted G/(H+λ).
    const n2 = node(2, [[0, 0], [6, 6], [5, 4]], [[4, 12], [4, -1], [3, -1]]);
    next = advanceGbtLevel(spec, model, { nodes: [n2] });
    model = next.model;
    expect(next.done).toBe(false);
    const tree = model.trees[0]!;
    expect(tree.nodes.find((n) => n.id === 2)).toMatchObject({ kind: 'split', split: { type: 'categorical', variable: 'region', levels: ['s', 'e'] } });
    expect(tree.nodes.filter((n) => n.kind === 'leaf').map((n) => n.id)).toEqual([1, 5, 6]);
    expect(gbtFrontier(model)).toEqual([0]); // the second tree started
    const row = { x: { age: 40, region: 'n' }, y: 0 };
    expect(gbtRoute(tree, spec.variables, row).id).toBe(6);
    expect(gbtPredict(model, row)).toBeCloseTo(-0.5 * (12 / 5), 12);
    // A root where no split leaves 3 rows on both sides is a leaf, and the fit ends after two trees.
    const small = node(0, [[2, 1], [2, 1], [1, 1]], [[5, 3], [0, 0], [0, 0]]);
    next = advanceGbtLevel(spec, model, { nodes: [small] });
    expect(next.done).toBe(true);
    expect(next.model.trees[1]!.nodes).toEqual([{ id: 0, kind: 'leaf', subjects: 5, value: -0.5 * (3 / 6) }]);
    expect(() => assertReleasableGbtModel(next.model, 3)).not.toThrow();
    expect(() => assertReleasableGbtModel(next.model, 6)).toThrow(/fewer than 6/);
    expect(() => assertReleasableGbtModel(model, 3)).toThrow(/open/);
  });

  it('orders categorical levels by ratio, keeping ratios equal up to rounding in declared order', () => {
    expect(gbtLevelOrder([0.5, -1, 0.25], 0)).toEqual([1, 2, 0]);
    expect(gbtLevelOrder([0.1 + 0.2, 0.3, -2], 0)).toEqual([2, 0, 1]); // 0.1 + 0.2 exceeds 0.3 by one ulp
    expect(gbtLevelOrder([1e-17, -1e-17, 5], 1e-12)).toEqual([0, 1, 2]);
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { maxLength: 12 }), (ratios) => {
        const order = gbtLevelOrder(ratios, 1e-12);
        expect([...order].sort((a, b) => a - b)).toEqual(ratios.map((_, i) => i));
        // Non-decreasing up to the ties: no level follows one with a clearly larger ratio.
        order.forEach((i, k) => {
          if (k > 0) expect(ratios[i]!).toBeGreaterThanOrEqual(ratios[order[k - 1]!]! - 1e-6);
        });
      }),
    );
  });

  it('refuses histograms that do not fit the frontier or disagree with themselves', () => {
    const model = startGbtTree(emptyGbtModel(spec));
    expect(() => advanceGbtLevel(spec, model, { nodes: [node(2, [[5, 1], [5, 1], [5, 1]], [[5, 1], [5, 1], [5, 1]])] })).toThrow(/frontier/);
    expect(() => chooseGbtSplits(spec, { nodes: [node(0, [[5, 1], [5, 1], [5, 1]], [[5, 1], [5, 1], [4, 1]])] })).toThrow(/disagree/);
    expect(() => chooseGbtSplits(spec, { nodes: [node(0, [[1, 1], [0, 0], [0, 0]], [[1, 1], [0, 0], [0, 0]])] })).toThrow(/fewer than minLeafSubjects/);
    expect(() => startGbtTree(model)).toThrow(/still growing/);
  });
});
