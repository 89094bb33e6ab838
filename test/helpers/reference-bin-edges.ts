/**
 * Bin edges of a numeric variable with a `range`, computed from pooled
 * values by the rule docs/gradient-boosted-trees.md states, written here
 * without the library's code (analytics/gbt-bin-edges.ts): the 256-cell grid
 * over [lo, hi] and the equal-count choice of edges at its boundaries. Used
 * by test/analytics/gbt-bin-grid.test.ts and test/integration/gbt-bin-edges.test.ts.
 */

/** Cells of the grid, as the docs state it. */
export const GRID_CELLS = 256;

/** Boundary j of the grid over a range: lo + (hi − lo) · j / 256. */
export const gridBoundary = ([lo, hi]: readonly [number, number], j: number): number => lo + ((hi - lo) * j) / GRID_CELLS;

/** Counts of `values` on the grid: a value's cell is the number of inner boundaries at or below it (below lo: the first, at or above hi: the last). */
export function gridCounts(values: readonly number[], range: readonly [number, number]): number[] {
  const cells = Array<number>(GRID_CELLS).fill(0);
  for (const v of values) {
    let j = 0;
    for (let b = 1; b < GRID_CELLS; b++) if (v >= gridBoundary(range, b)) j = b;
    cells[j]! += 1;
  }
  return cells;
}

/**
 * The edges from grid counts: b = min(bins, ⌊N / m⌋) bins aimed at, targets
 * i · N / b (i = 1 … b − 1); for each the boundary whose rows below lie
 * nearest (the lowest on a tie) among those leaving at least m rows since
 * the previous edge and m above; a target with none gets no edge.
 */
export function referenceEdges(cells: readonly number[], range: readonly [number, number], bins: number, m: number): number[] {
  const n = cells.reduce((a, b) => a + b, 0);
  const b = Math.min(bins, Math.floor(n / m));
  const edges: number[] = [];
  let previous = 0;
  for (let i = 1; i < b; i++) {
    let best: { j: number; below: number; distance: number } | undefined;
    let below = 0;
    for (let j = 1; j < GRID_CELLS; j++) {
      below += cells[j - 1] as number;
      if (below - previous < m || n - below < m) continue;
      const distance = Math.abs(below * b - i * n); // |below − i·N/b| · b, in integers
      if (best === undefined || distance < best.distance) best = { j, below, distance };
    }
    if (best === undefined) continue;
    edges.push(gridBoundary(range, best.j));
    previous = best.below;
  }
  return edges;
}
