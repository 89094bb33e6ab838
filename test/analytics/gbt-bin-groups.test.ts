/**
 * The bin rule of the gradient-boosted-trees split search
 * (analytics/gbt-bin-groups.ts, used by gbt-split.ts): hand cases of the
 * numeric merge, the categorical pool and its join, the attack it stops (a
 * bin of one row between two declared edges), and a property over generated
 * rows: any two candidate splits of one variable at a node send sets of rows
 * left that differ by no row or by at least minLeafSubjects rows, the sets
 * counted here from the rows against each threshold or level set.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gbtCategoricalGroups, gbtNumericBinGroups } from '../../analytics/gbt-bin-groups.js';
import { GBT_SCALE_BITS, type GbtBinSums } from '../../analytics/gbt-local.js';
import { chooseGbtSplits, gbtSplitCandidates } from '../../analytics/gbt-split.js';
import type { GbtSpec, GbtVariable } from '../../analytics/gbt-spec.js';
import { gbtBin, type GbtSplit } from '../../analytics/gbt-tree.js';

const S = BigInt(GBT_SCALE_BITS);
const big = (xs: readonly number[]): bigint[] => xs.map(BigInt);

interface Row {
  readonly x: number | string;
  /** Gradient in units of 2^-20. */
  readonly g: number;
}

/** One variable's histogram at a node from its rows (squared loss: h = 1 per row). */
function histogram(variable: GbtVariable, rows: readonly Row[]): GbtBinSums {
  const bins = variable.type === 'numeric' ? variable.edges.length + 1 : variable.levels.length;
  const n = Array.from({ length: bins }, () => 0n);
  const g = Array.from({ length: bins }, () => 0n);
  const h = Array.from({ length: bins }, () => 0n);
  for (const r of rows) {
    const b = gbtBin(variable, r.x);
    n[b]! += 1n;
    g[b]! += BigInt(r.g) << (S - 20n);
    h[b]! += 1n << S;
  }
  return { n, g, h };
}

/** The rows a split sends left, decided here from each row's value. */
function leftRows(split: GbtSplit, rows: readonly Row[]): Set<number> {
  const out = new Set<number>();
  rows.forEach((r, i) => {
    if (split.type === 'numeric' ? (r.x as number) < split.threshold : split.levels.includes(r.x as string)) out.add(i);
  });
  return out;
}

function differ(a: ReadonlySet<number>, b: ReadonlySet<number>): number {
  let d = 0;
  for (const i of a) if (!b.has(i)) d++;
  for (const i of b) if (!a.has(i)) d++;
  return d;
}

const specOf = (minLeafSubjects: number): Pick<GbtSpec, 'l2' | 'loss' | 'maxLabelAbs' | 'minLeafSubjects'> => ({ l2: 1, loss: 'squared', maxLabelAbs: 1000, minLeafSubjects });

describe('gbt bin rule: hand cases', () => {
  it('merges numeric bins left to right until each holds minLeaf rows; a small remainder joins the bin before', () => {
    expect(gbtNumericBinGroups(big([3, 4, 0, 5, 2, 9]), 5n)).toEqual([
      { first: 0, last: 1 },
      { first: 2, last: 3 },
      { first: 4, last: 5 },
    ]);
    // Empty bins after a merged bin closes fall into the next one (the first of equal thresholds stays).
    expect(gbtNumericBinGroups(big([10, 0, 0, 10]), 10n)).toEqual([
      { first: 0, last: 0 },
      { first: 1, last: 3 },
    ]);
    expect(gbtNumericBinGroups(big([6, 0, 2]), 5n)).toEqual([{ first: 0, last: 2 }]);
    expect(gbtNumericBinGroups(big([6, 7, 0, 0]), 5n)).toEqual([
      { first: 0, last: 0 },
      { first: 1, last: 3 },
    ]);
    expect(gbtNumericBinGroups(big([1, 1, 1]), 5n)).toEqual([{ first: 0, last: 2 }]);
    expect(gbtNumericBinGroups(big([0, 0]), 5n)).toEqual([{ first: 0, last: 1 }]);
    // minLeaf 1: every non-empty bin closes its own merged bin.
    expect(gbtNumericBinGroups(big([2, 0, 1]), 1n)).toEqual([
      { first: 0, last: 0 },
      { first: 1, last: 2 },
    ]);
    expect(() => gbtNumericBinGroups(big([1]), 0n)).toThrow(RangeError);
    expect(() => gbtNumericBinGroups([-1n], 2n)).toThrow(TypeError);
  });

  it('pools categorical levels of 1..minLeaf-1 rows; a pool still small joins the level with the fewest rows', () => {
    expect(gbtCategoricalGroups(big([0, 12, 3, 1, 20]), 4n)).toEqual([[1], [2, 3], [4]]);
    expect(gbtCategoricalGroups(big([0, 12, 3, 1, 20]), 10n)).toEqual([[1, 2, 3], [4]]);
    expect(gbtCategoricalGroups(big([4, 12, 0, 20, 7]), 10n)).toEqual([[0, 4], [1], [3]]);
    // The fewest rows: the first declared on a tie.
    expect(gbtCategoricalGroups(big([30, 4, 12, 12]), 10n)).toEqual([[0], [1, 2], [3]]);
    expect(gbtCategoricalGroups(big([30, 12, 12, 4]), 10n)).toEqual([[0], [1, 3], [2]]);
    // Only small levels: one group, so no candidate.
    expect(gbtCategoricalGroups(big([3, 4]), 10n)).toEqual([[0, 1]]);
    expect(gbtCategoricalGroups(big([0, 0]), 10n)).toEqual([]);
    expect(gbtCategoricalGroups(big([10, 11]), 10n)).toEqual([[0], [1]]);
  });

  it('a bin of one row between two declared edges gives no threshold that tells it apart', () => {
    // 30 rows at 1..30, gradient −1 up to 15 and +1 above; the target holds 15.5 (gradient −1), alone between the
    // edges 15.2 and 15.8.
    const variable: GbtVariable = { name: 'v', type: 'numeric', edges: [5.5, 15.2, 15.8, 25.5] };
    const rows: Row[] = [...Array.from({ length: 30 }, (_, i) => ({ x: i + 1, g: (i + 1 <= 15 ? -1 : 1) << 20 })), { x: 15.5, g: -1 << 20 }];
    const bins = histogram(variable, rows);
    expect(bins.n).toEqual(big([5, 10, 1, 10, 5]));
    const thresholds = (minLeaf: number): number[] => gbtSplitCandidates(specOf(minLeaf), variable, bins).map((c) => (c.split as { threshold: number }).threshold);
    // Without a rule (minLeaf 1) both edges around the target are candidates, one row apart.
    expect(thresholds(1)).toEqual([5.5, 15.2, 15.8, 25.5]);
    // minLeaf 5: [5] [10] [1 + 10] [5]: 15.8 is no longer a threshold.
    expect(thresholds(5)).toEqual([5.5, 15.2, 25.5]);
    // Through the split search: 15.8 separates the gradients exactly and wins without the rule; with it, 15.2 does.
    const choose = (minLeafSubjects: number): unknown =>
      chooseGbtSplits({ variables: [variable], l2: 1, loss: 'squared', maxLabelAbs: 1000, minLeafSubjects, minSplitGain: 0 }, { nodes: [{ id: 0, variables: [bins] }] })[0];
    expect(choose(1)).toMatchObject({ kind: 'split', split: { threshold: 15.8 } });
    expect(choose(5)).toMatchObject({ kind: 'split', split: { threshold: 15.2 } });
  });

  it('a level of one row moves with the other small levels, never alone', () => {
    const variable: GbtVariable = { name: 'c', type: 'categorical', levels: ['a', 'b', 'c', 'd'] };
    const rows: Row[] = [
      ...Array.from({ length: 12 }, () => ({ x: 'a', g: -3 << 20 })),
      ...Array.from({ length: 12 }, () => ({ x: 'b', g: 3 << 20 })),
      { x: 'c', g: 50 << 20 },
      ...Array.from({ length: 4 }, () => ({ x: 'd', g: 0 })),
    ];
    const bins = histogram(variable, rows);
    const sets = (minLeaf: number): string[][] => gbtSplitCandidates(specOf(minLeaf), variable, bins).map((c) => [...(c.split as { readonly levels: readonly string[] }).levels]);
    // Without a rule the order is a (−3), d (0), b (3), c (50): c alone is the complement of the last prefix.
    expect(sets(1)).toEqual([['a'], ['a', 'd'], ['a', 'b', 'd']]);
    // minLeaf 10: c and d pool (5 rows) and join a (12 rows, tied with b, declared first): a + c + d, then b.
    expect(sets(10)).toEqual([['a', 'c', 'd']]);
    // minLeaf 5: the pool holds 5 rows and stays a group: a | b | c + d.
    expect(sets(5)).toEqual([['a'], ['a', 'b']]);
  });
});

describe('gbt bin rule: property', () => {
  const LEVELS = ['a', 'b', 'c', 'd', 'e', 'f'];
  const level = fc.oneof(
    { arbitrary: fc.constant('a'), weight: 12 },
    { arbitrary: fc.constant('b'), weight: 8 },
    { arbitrary: fc.constant('c'), weight: 4 },
    { arbitrary: fc.constant('d'), weight: 2 },
    { arbitrary: fc.constant('e'), weight: 1 },
    { arbitrary: fc.constant('f'), weight: 1 },
  );
  const rowsArb = fc.array(fc.record({ x: fc.integer({ min: 0, max: 30 }), c: level, g: fc.integer({ min: -1000, max: 1000 }), g2: fc.integer({ min: -1000, max: 1000 }) }), { maxLength: 90 });
  const edgesArb = fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 12 }).map((xs) => xs.sort((a, b) => a - b).map((x) => x + 0.5));

  it('any two candidates of one variable at a node differ by 0 or at least minLeafSubjects rows, whatever the gradients (two nodes holding the same rows), and each leaves minLeafSubjects on both sides', () => {
    let compared = 0;
    let candidates = 0;
    let removed = 0;
    fc.assert(
      fc.property(rowsArb, edgesArb, fc.integer({ min: 1, max: 12 }), (raw, edges, minLeaf) => {
        const numeric: GbtVariable = { name: 'x', type: 'numeric', edges };
        const categorical: GbtVariable = { name: 'c', type: 'categorical', levels: LEVELS };
        for (const [variable, rows, again] of [
          [numeric, raw.map((r) => ({ x: r.x, g: r.g })), raw.map((r) => ({ x: r.x, g: r.g2 }))],
          [categorical, raw.map((r) => ({ x: r.c, g: r.g })), raw.map((r) => ({ x: r.c, g: r.g2 }))],
        ] as const) {
          const bins = histogram(variable, rows);
          // The same rows with other gradients (the same node population in another tree): their candidates too.
          const cands = [...gbtSplitCandidates(specOf(minLeaf), variable, bins), ...gbtSplitCandidates(specOf(minLeaf), variable, histogram(variable, again))];
          removed += gbtSplitCandidates(specOf(1), variable, bins).length - cands.length / 2;
          const sets = cands.map((c) => leftRows(c.split, rows));
          cands.forEach((c, i) => {
            // The sums a candidate carries are those of the rows it sends left.
            expect(c.left.n).toBe(BigInt(sets[i]!.size));
            expect(sets[i]!.size).toBeGreaterThanOrEqual(minLeaf);
            expect(rows.length - sets[i]!.size).toBeGreaterThanOrEqual(minLeaf);
          });
          candidates += cands.length;
          for (let i = 0; i < sets.length; i++) {
            for (let j = i + 1; j < sets.length; j++) {
              const d = differ(sets[i]!, sets[j]!);
              expect(d === 0 || d >= minLeaf, `${variable.name}: candidates ${i} and ${j} differ by ${d} rows (minLeaf ${minLeaf})`).toBe(true);
              compared++;
            }
          }
        }
      }),
      { numRuns: 300, seed: 20261207 },
    );
    // The property is not vacuous: pairs were compared, and the rule removed candidates.
    expect(compared).toBeGreaterThan(100);
    expect(candidates).toBeGreaterThan(100);
    expect(removed).toBeGreaterThan(100);
  });
});
