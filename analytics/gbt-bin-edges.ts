/**
 * Bin edges of a numeric gradient-boosted-trees variable found from the
 * data: the grid a shop counts its rows on (G equal-width cells over the
 * variable's declared `range`), and the choice of edges at cell boundaries
 * from the cell counts summed over the shops.
 *
 * The grid is fixed by the spec alone, so every shop counts on the same
 * cells and the fit runner adds counts. Edges are boundaries of that grid,
 * so the rows below an edge are a sum of cells: the fit runner knows every
 * bin's row count exactly and keeps each bin at minLeafSubjects rows or more.
 *
 * @module
 */

/** Cells of the grid over a variable's range. A power of two, so the boundaries lo + (hi − lo) · j / G round once. */
export const GBT_GRID_CELLS = 256;

/** Boundary j (0 … G) of the grid over [lo, hi]: lo at 0, hi at G. */
export function gbtGridBoundary(range: readonly [number, number], j: number): number {
  const [lo, hi] = range;
  if (j <= 0) return lo;
  if (j >= GBT_GRID_CELLS) return hi;
  return lo + ((hi - lo) * j) / GBT_GRID_CELLS;
}

/**
 * Why a range cannot carry the grid (its width overflows, or two boundaries
 * coincide in floating point), or undefined when it can: every inner
 * boundary then lies strictly inside (lo, hi) and strictly above the one below.
 */
export function gbtGridProblem(range: readonly [number, number]): string | undefined {
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) return `expected finite lo < hi, got [${lo}, ${hi}]`;
  if (!Number.isFinite(hi - lo)) return `the width of [${lo}, ${hi}] overflows`;
  for (let j = 1; j <= GBT_GRID_CELLS; j++) {
    if (!(gbtGridBoundary(range, j) > gbtGridBoundary(range, j - 1))) return `[${lo}, ${hi}] is too narrow for ${GBT_GRID_CELLS} distinct cells`;
  }
  return undefined;
}

/**
 * The cell of a value: j such that boundary j ≤ v < boundary j + 1, values
 * below lo in cell 0 and at or above hi in the last. Agrees exactly with
 * comparing v against the boundaries (`v < edge`, as a split does), so the
 * rows below any boundary are the sum of the cells under it.
 */
export function gbtGridCell(range: readonly [number, number], v: number): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`v must be a number, got ${String(v)}`);
  const [lo, hi] = range;
  if (!(v >= lo)) return 0;
  if (v >= hi) return GBT_GRID_CELLS - 1;
  let j = Math.min(GBT_GRID_CELLS - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * GBT_GRID_CELLS)));
  // The division rounds; step to the cell the boundaries themselves say.
  while (j > 0 && v < gbtGridBoundary(range, j)) j--;
  while (j < GBT_GRID_CELLS - 1 && v >= gbtGridBoundary(range, j + 1)) j++;
  return j;
}

/**
 * Inner edges from the summed cell counts of one variable: at most
 * `bins − 1` grid boundaries, each bin holding at least `minLeafSubjects`
 * rows (so none is empty). With N rows, the bins aimed at are
 * b = min(bins, ⌊N / minLeafSubjects⌋) and the targets the equal-count
 * quantiles i · N / b (i = 1 … b − 1). For each target in turn the edge is
 * the boundary whose rows below, C, lie nearest the target, among the
 * boundaries that leave at least minLeafSubjects rows since the previous
 * edge and at least minLeafSubjects above (ties: the lowest boundary); a
 * target with no such boundary gets no edge. Deterministic, integers only.
 *
 * Returns the boundary indices (1 … G − 1, increasing); empty when no
 * boundary qualifies (fewer than 2 · minLeafSubjects rows, or almost all of
 * them in one cell).
 */
export function chooseGbtEdgeCells(counts: readonly number[], bins: number, minLeafSubjects: number): number[] {
  if (!Array.isArray(counts) || counts.length < 1) throw new TypeError('counts must be a non-empty array');
  if (counts.some((c) => !Number.isSafeInteger(c) || c < 0)) throw new RangeError('counts must be non-negative safe integers');
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${String(bins)}`);
  if (!Number.isInteger(minLeafSubjects) || minLeafSubjects < 1) throw new RangeError(`minLeafSubjects must be a positive integer, got ${String(minLeafSubjects)}`);
  // below[j]: rows in cells 0 … j − 1, the rows below boundary j.
  const below = [0];
  for (const c of counts) below.push((below.at(-1) as number) + c);
  const total = below.at(-1) as number;
  const b = Math.min(bins, Math.floor(total / minLeafSubjects));
  const out: number[] = [];
  let previous = 0;
  for (let i = 1; i < b; i++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let j = 1; j < counts.length; j++) {
      const c = below[j] as number;
      if (c - previous < minLeafSubjects || total - c < minLeafSubjects) continue;
      // |C − i·N/b| compared as |C·b − i·N| (integers).
      const distance = Math.abs(c * b - i * total);
      if (distance < bestDistance) {
        best = j;
        bestDistance = distance;
      }
    }
    if (best < 0) continue;
    out.push(best);
    previous = below[best] as number;
  }
  return out;
}

/** The edges (values) chosen for a variable with `range` from its summed grid counts: {@link chooseGbtEdgeCells} at the grid's boundaries. */
export function chooseGbtEdges(range: readonly [number, number], counts: readonly number[], bins: number, minLeafSubjects: number): number[] {
  if (counts.length !== GBT_GRID_CELLS) throw new RangeError(`counts must hold ${GBT_GRID_CELLS} cells, got ${counts.length}`);
  return chooseGbtEdgeCells(counts, bins, minLeafSubjects).map((j) => gbtGridBoundary(range, j));
}
