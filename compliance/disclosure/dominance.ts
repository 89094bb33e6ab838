/**
 * The (1, p) dominance rule on decrypted bin counts.
 *
 * For a cell with total T of its dominance field and, per geometric bin, the
 * number of shops whose own cell total falls in it (see
 * `analytics/dominance-bins.ts`), the largest single contribution x₁ is at
 * most the upper edge of the highest non-empty bin (and at most T). The cell
 * violates the rule when that bound exceeds p % of T.
 *
 * Only the upper edge is used, never lower edges of the other shops' bins:
 * a dishonest shop could set extra bits to make the others look larger and
 * so hide another shop's dominance; extra bits can only raise this bound.
 *
 * @module
 */

/** What the key holder knows about one cell's largest contribution. */
export interface DominanceFacts {
  /** Exact decrypted total of the cell's dominance field. */
  readonly total: bigint;
  /** Upper bound on the largest single merchant's part of `total`. */
  readonly largestUpper: bigint;
}

/**
 * Upper bound on the largest shop's cell total from bin counts, given the
 * bins' lower edges and the field's per-shop bound `max`.
 */
export function largestContributionBound(edges: readonly bigint[], counts: readonly bigint[], total: bigint, max: bigint): bigint {
  if (!Array.isArray(edges) || !Array.isArray(counts) || edges.length !== counts.length) {
    throw new RangeError(`counts: expected one count per bin edge (${Array.isArray(edges) ? edges.length : '?'}), got ${Array.isArray(counts) ? counts.length : '?'}`);
  }
  if (typeof total !== 'bigint' || total < 0n) throw new RangeError(`total: expected a bigint >= 0, got ${String(total)}`);
  for (let i = counts.length - 1; i >= 0; i--) {
    if ((counts[i] as bigint) > 0n) {
      const upper = i + 1 < edges.length ? (edges[i + 1] as bigint) - 1n : max;
      return upper < total ? upper : total;
    }
  }
  // No shop reported a non-zero total: nothing can dominate (T is 0 for honest shops).
  return 0n;
}

/** True when the largest contribution may exceed `maxSharePercent` % of the total. */
export function violatesDominance(facts: DominanceFacts, maxSharePercent: number): boolean {
  if (!(maxSharePercent > 0 && maxSharePercent <= 100)) throw new RangeError(`maxSharePercent: expected a number in (0, 100], got ${maxSharePercent}`);
  if (facts.total <= 0n) return false;
  // x₁ / T > p / 100, with p scaled to an integer in ten-thousandths.
  const p = BigInt(Math.round(maxSharePercent * 10_000));
  return facts.largestUpper * 1_000_000n > p * facts.total;
}
