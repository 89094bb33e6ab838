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
 *   together. Levels (each its own group, above) and the pool are sorted by
 *   the split search's ratio order; if the pool still holds fewer than
 *   minLeafSubjects rows it joins the neighbour in that order holding fewer
 *   rows (the one before it when both hold as many), and the merged group
 *   keeps its place. Prefix candidates are over groups.
 *
 * The grouping depends only on the exact row counts `n` (integers, the same
 * for every shop rounding), apart from the categorical order, which the
 * split search fixes as before.
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
 * The first step of the categorical rule: levels present at the node (count
 * above 0) with at least `minLeaf` rows, each alone, and one pool of those
 * with 1 … minLeaf − 1 rows. Groups are lists of level indices, ascending,
 * and come in the order of their smallest index (the declared order the
 * ratio sort falls back on).
 */
export function gbtPoolSmallLevels(counts: readonly bigint[], minLeaf: bigint): number[][] {
  checkCounts(counts, minLeaf);
  const pool = counts.flatMap((n, j) => (n > 0n && n < minLeaf ? [j] : []));
  const out: number[][] = counts.flatMap((n, j) => (n >= minLeaf ? [[j]] : []));
  if (pool.length > 0) out.push(pool);
  return out.sort((a, b) => (a[0] as number) - (b[0] as number));
}

/**
 * The second step: groups in the split search's order, with their row
 * counts; a group holding fewer than `minLeaf` rows (the pool, when it does)
 * joins the neighbour holding fewer rows, the one before it on a tie, and
 * the merged group keeps the place. Returns, for each resulting group, the
 * positions in `ordered` it is made of (ascending). A single group is left
 * as it is however small (the node is not split on this variable).
 */
export function gbtJoinSmallGroups(ordered: readonly bigint[], minLeaf: bigint): number[][] {
  checkCounts(ordered, minLeaf);
  const groups = ordered.map((n, i) => ({ n, members: [i] }));
  for (;;) {
    const p = groups.findIndex((g) => g.n < minLeaf);
    if (p < 0 || groups.length < 2) break;
    const before = groups[p - 1];
    const after = groups[p + 1];
    const q = before === undefined ? p + 1 : after === undefined || before.n <= after.n ? p - 1 : p + 1;
    const lo = Math.min(p, q);
    const a = groups[lo]!;
    const b = groups[lo + 1]!;
    groups.splice(lo, 2, { n: a.n + b.n, members: [...a.members, ...b.members] });
  }
  return groups.map((g) => g.members);
}
