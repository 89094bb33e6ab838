/**
 * Edges of numeric gradient-boosted-trees variables found from the data
 * (analytics/gbt-bin-edges.ts): the grid's cells agree with comparing a value
 * against the boundaries (as a split compares against an edge), and the
 * edges chosen from cell counts are boundaries, strictly increasing, at most
 * bins − 1, with every bin holding at least minLeafSubjects rows. Hand cases
 * check the equal-count rule; fast-check the guarantees on random counts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GBT_GRID_CELLS, chooseGbtEdgeCells, chooseGbtEdges, gbtGridBoundary, gbtGridCell, gbtGridProblem } from '../../analytics/gbt-bin-edges.js';

const G = GBT_GRID_CELLS;

/** Rows in each bin that boundary indices make of the cells. */
function binRows(counts: readonly number[], cells: readonly number[]): number[] {
  const cuts = [0, ...cells, counts.length];
  return cuts.slice(1).map((to, i) => counts.slice(cuts[i], to).reduce((a, b) => a + b, 0));
}

/** Counts with `rows` rows in the given cells, 0 elsewhere. */
function countsWith(rows: Record<number, number>): number[] {
  return Array.from({ length: G }, (_, j) => rows[j] ?? 0);
}

describe('gbt bin edges: the grid', () => {
  it('puts a value in the cell whose boundaries bracket it, below lo in the first and at or above hi in the last', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 1e-3, max: 1e6, noNaN: true }), fc.double({ min: -2e6, max: 2e6, noNaN: true }), (lo, width, v) => {
        const range: [number, number] = [lo, lo + width];
        fc.pre(gbtGridProblem(range) === undefined);
        const j = gbtGridCell(range, v);
        expect(j).toBeGreaterThanOrEqual(0);
        expect(j).toBeLessThan(G);
        // Exactly the boundaries 1 … G − 1 at or below v.
        let below = 0;
        for (let b = 1; b < G; b++) if (v >= gbtGridBoundary(range, b)) below++;
        expect(j).toBe(below);
      }),
      { numRuns: 300 },
    );
    expect(gbtGridCell([0, 256], 255.999)).toBe(255);
    expect(gbtGridCell([0, 256], 1)).toBe(1);
    expect(gbtGridCell([0, 256], -5)).toBe(0);
    expect(gbtGridCell([0, 256], 1e9)).toBe(255);
    expect(gbtGridCell([0.1, 0.7], 0.1 + (0.6 * 3) / 256)).toBe(3);
  });

  it('refuses ranges that cannot carry the grid', () => {
    expect(gbtGridProblem([0, 1])).toBeUndefined();
    expect(gbtGridProblem([1, 1])).toMatch(/lo < hi/);
    expect(gbtGridProblem([2, 1])).toMatch(/lo < hi/);
    expect(gbtGridProblem([-1e308, 1e308])).toMatch(/overflows/);
    expect(gbtGridProblem([1, 1 + 1e-14])).toMatch(/too narrow/);
  });
});

describe('gbt bin edges: the choice', () => {
  it('hand cases: equal counts, a mass in one cell, too few rows, the bins cap', () => {
    // One row per cell, 4 bins: quantiles at 64, 128 and 192 rows.
    expect(chooseGbtEdgeCells(Array(G).fill(1), 4, 10)).toEqual([64, 128, 192]);
    // 25 bins of 10 would be allowed, but bins = 4 caps it.
    expect(chooseGbtEdgeCells(Array(G).fill(4), 2, 1)).toEqual([128]);
    // 10 rows in cell 0, 80 in cell 100, 10 in cell 200: targets 25, 50, 75.
    // 25 → the nearest allowed count is 10 (lowest boundary 1); 50 → 90 (boundary 101); 75 → nothing leaves 10 above.
    expect(chooseGbtEdgeCells(countsWith({ 0: 10, 100: 80, 200: 10 }), 4, 10)).toEqual([1, 101]);
    // Fewer than 2 × minLeafSubjects rows, or (nearly) all of them in one cell: no edge.
    expect(chooseGbtEdgeCells(countsWith({ 3: 5, 9: 5 }), 16, 6)).toEqual([]);
    expect(chooseGbtEdgeCells(countsWith({ 7: 500 }), 16, 10)).toEqual([]);
    expect(chooseGbtEdgeCells(countsWith({ 7: 500, 8: 9 }), 16, 10)).toEqual([]);
    // 20 rows over 16 bins with minLeafSubjects 10: b = 2, one edge at the median.
    expect(chooseGbtEdgeCells(countsWith({ 0: 5, 50: 5, 51: 5, 52: 5 }), 16, 10)).toEqual([51]);
    // The edges as values: boundaries of the grid over the range.
    expect(chooseGbtEdges([0, 2.56], Array(G).fill(1), 4, 10)).toEqual([0.64, 1.28, 1.92]);
    expect(() => chooseGbtEdges([0, 1], [1, 2], 4, 1)).toThrow(RangeError);
    expect(() => chooseGbtEdgeCells([1, -1], 4, 1)).toThrow(RangeError);
    expect(() => chooseGbtEdgeCells([1, 1], 4, 0)).toThrow(RangeError);
  });

  it('every bin holds at least minLeafSubjects rows; edges are increasing grid boundaries inside the range, at most bins − 1 (property)', () => {
    const counts = fc.oneof(
      fc.array(fc.nat(30), { minLength: G, maxLength: G }),
      // Sparse: most cells empty, a few heavy ones.
      fc.dictionary(fc.integer({ min: 0, max: G - 1 }).map(String), fc.integer({ min: 1, max: 400 }), { maxKeys: 12 }).map((d) => countsWith(Object.fromEntries(Object.entries(d).map(([k, v]) => [Number(k), v])))),
    );
    fc.assert(
      fc.property(counts, fc.integer({ min: 2, max: 64 }), fc.integer({ min: 1, max: 200 }), fc.double({ min: -1e5, max: 1e5, noNaN: true }), fc.double({ min: 1, max: 1e5, noNaN: true }), (c, bins, m, lo, width) => {
        const cells = chooseGbtEdgeCells(c, bins, m);
        expect(cells.length).toBeLessThanOrEqual(bins - 1);
        cells.forEach((j, i) => {
          expect(Number.isInteger(j) && j >= 1 && j <= G - 1).toBe(true);
          if (i > 0) expect(j).toBeGreaterThan(cells[i - 1] as number);
        });
        const rows = binRows(c, cells);
        const total = c.reduce((a, b) => a + b, 0);
        if (cells.length > 0) for (const r of rows) expect(r).toBeGreaterThanOrEqual(m);
        // No edge only when no single boundary leaves m rows on both sides.
        if (cells.length === 0) {
          let below = 0;
          for (let j = 1; j < G; j++) {
            below += c[j - 1] as number;
            expect(below >= m && total - below >= m).toBe(false);
          }
        }
        // The same cells as values, strictly inside the range.
        const range: [number, number] = [lo, lo + width];
        const edges = chooseGbtEdges(range, c, bins, m);
        expect(edges).toEqual(cells.map((j) => gbtGridBoundary(range, j)));
        edges.forEach((e, i) => {
          expect(e > range[0] && e < range[1]).toBe(true);
          if (i > 0) expect(e).toBeGreaterThan(edges[i - 1] as number);
        });
        // Deterministic.
        expect(chooseGbtEdgeCells([...c], bins, m)).toEqual(cells);
      }),
      { numRuns: 400 },
    );
  });
});
