/**
 * The bin rule of a gradient-boosted-trees split search: before the fit
 * runner searches the splits of an open node, each variable's bins are
 * grouped so that any two candidate splits of that variable at that node
 * differ by no subject or by at least minLeafSubjects (≥ the purpose's k).
 *
 * Without it, a marketer who declares edges just below and just above one
 * subject's value gets a bin of one subject: two thresholds one subject
 * apart, and if the published trees split at both, their leaves differ by
 * that subject's gradient, hence its label. Every leaf holding k subjects
 * does not stop that; candidates differing by at least k do.
 *
 * - **Numeric.** Adjacent bins are merged left to right until the merged
 *   bin holds at least minLeafSubjects rows; a remainder below that at the
 *   right end (empty or not) joins the merged bin before it. Thresholds lie
 *   only between merged bins, so two thresholds differ by whole merged bins.
 *   A merged bin closes at the first bin that brings it to minLeafSubjects,
 *   so empty bins after it fall into the next one: of the thresholds around
 *   an empty bin, which give the same partition, the first remains (as the
 *   tie rule of the split search keeps it).
 * - **Categorical.** Levels present at the node with fewer than
 *   minLeafSubjects rows are pooled into one group that always moves
 *   together; if the pool still holds fewer than minLeafSubjects rows it
 *   joins the level holding the fewest rows (the first declared on a tie).
 *   The groups are then sorted by the split search's ratio order and
 *   prefix candidates are over groups.
 *
 * The grouping depends only on the exact row counts `n` (integers, the same
 * whatever the shops' rounding), never on the gradients: nodes holding the
 * same rows (the roots of all trees) get the same groups, so their splits
 * on one variable differ by 0 or at least minLeafSubjects subjects too.
 *
 * @module
 */

/** Bins `first` … `last` (inclusive) of a numeric variable, merged. */
export interface GbtBinRange {
  readonly first: number;
  readonly last: number;
}

function checkCounts(counts: readonly bigint[], minLeaf: bigint): void {
  if (!Array.isArray(counts) || counts.some((c) => typeof c !== 'bigint' || c < 0n)) throw new TypeError('counts must be non-negative bigints');
  if (typeof minLeaf !== 'bigint' || minLeaf < 1n) throw new RangeError(`minLeaf must be a bigint of at least 1, got ${String(minLeaf)}`);
}

/**
 * The merged bins of a numeric variable at a node, left to right, from the
 * rows `counts[b]` of each bin. Every merged bin holds 0 rows (only when all
 * do) or at least `minLeaf`, except a single merged bin holding every bin
 * when the node holds fewer than `minLeaf` rows.
 */
export function gbtNumericBinGroups(counts: readonly bigint[], minLeaf: bigint): GbtBinRange[] {
  checkCounts(counts, minLeaf);
  if (counts.length === 0) return [];
  const out: GbtBinRange[] = [];
  let first = 0;
  let acc = 0n;
  counts.forEach((n, b) => {
    acc += n;
    if (acc >= minLeaf) {
      out.push({ first, last: b });
      first = b + 1;
      acc = 0n;
    }
  });
  if (first < counts.length) {
    // A remainder below minLeaf joins the merged bin before it (or is the only one).
    const prev = out.pop();
    out.push({ first: prev?.first ?? first, last: counts.length - 1 });
  }
  return out;
}

/**
 * The groups of a categorical variable at a node, from the rows `counts[j]`
 * of each level: levels present (count above 0) with at least `minLeaf`
 * rows, each alone, and one pool of those with 1 … minLeaf − 1 rows; a pool
 * below `minLeaf` joins the level holding the fewest rows (the lowest index
 * on a tie), and is left alone when there is none (the node then has one
 * group and no candidate on this variable). Groups are lists of level
 * indices, ascending, in the order of their smallest index (the declared
 * order the ratio sort falls back on).
 */
export function gbtCategoricalGroups(counts: readonly bigint[], minLeaf: bigint): number[][] {
  checkCounts(counts, minLeaf);
  const pool = counts.flatMap((n, j) => (n > 0n && n < minLeaf ? [j] : []));
  const out: number[][] = counts.flatMap((n, j) => (n >= minLeaf ? [[j]] : []));
  if (pool.length > 0) {
    const poolRows = pool.reduce((s, j) => s + (counts[j] as bigint), 0n);
    const smallest = out.reduce<number[] | undefined>((best, g) => (best === undefined || (counts[g[0]!] as bigint) < (counts[best[0]!] as bigint) ? g : best), undefined);
    if (poolRows >= minLeaf || smallest === undefined) out.push(pool);
    else smallest.push(...pool);
  }
  for (const g of out) g.sort((a, b) => a - b);
  return out.sort((a, b) => (a[0] as number) - (b[0] as number));
}
