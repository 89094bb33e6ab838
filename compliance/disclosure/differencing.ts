/**
 * The differencing defence for exact (noise-free) purposes.
 *
 * Two exact releases over populations that differ by a few subjects give,
 * by subtraction, the statistics of those few: e.g. the same segment query
 * before and after one customer withdrew consent reveals that customer's
 * orders. The key holder therefore records, per purpose, the population
 * behind every release (per merchant, the subject count of its signed
 * consent attestation) and refuses a release whose population differs from
 * an earlier one of the same purpose by at least one and fewer than k
 * subjects, whatever the two kinds.
 *
 * Across kinds, because every kind of a purpose is computed over the same
 * subjects: a shop's attestation counts the customers whose consent to the
 * purpose holds at the cutoff, and every kind reads exactly those customers'
 * records. So two counts of one merchant are counts of one universe at two
 * times, and kinds share figures: a histogram's `all` cell holds the
 * consented orders and their value, as do the segment-stats groups together;
 * the RFM tiers and the churn rows count buyers. One release of each kind,
 * a withdrawal apart, would give that customer's figures by subtraction.
 *
 * The difference is measured as Σ over merchants of |n_m − n'_m|, a lower
 * bound on the size of the symmetric difference of the two populations.
 * A change that keeps every merchant's count (as many customers joined as
 * left) is not detected: counts cannot show it. The shops' attested Merkle
 * roots over the consent records used (`consentRoot`) differ then, but the
 * key holder cannot tell from two roots how many records changed; only a
 * DP purpose bounds that case. Under DP the check is not applied: the noise
 * and the budget already bound what any combination of releases reveals.
 *
 * @module
 */

/** The population behind one release, as the key holder records it. */
export interface PopulationRecord {
  readonly queryId: string;
  readonly kind: string;
  /** Hex digest of the spec the release answered. */
  readonly specDigest: string;
  /** Merchant id → subjects its consent attestation included. */
  readonly merchants: Readonly<Record<string, number>>;
  readonly attestedSubjects: number;
  /** ISO-8601 time of the release. */
  readonly releasedAt: string;
}

/** An earlier release that a new one would difference against. */
export interface DifferencingHit {
  readonly earlier: PopulationRecord;
  /** Lower bound on the number of subjects in one population and not the other. */
  readonly difference: number;
}

/** Σ_m |a_m − b_m| over the union of merchants. */
export function populationDifference(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): number {
  let d = 0;
  for (const m of new Set([...Object.keys(a), ...Object.keys(b)])) d += Math.abs((a[m] ?? 0) - (b[m] ?? 0));
  return d;
}

/**
 * The first earlier release (of any kind; `earlier` is one purpose's
 * releases) whose population differs from `next` by 1..k-1 subjects, or
 * undefined. Releases of the same query are skipped (re-delivering one
 * release reveals nothing new). `next.kind` is carried for the caller's
 * message only.
 */
export function findDifferencing(
  earlier: readonly PopulationRecord[],
  next: Pick<PopulationRecord, 'queryId' | 'kind' | 'merchants'>,
  minSubjects: number,
): DifferencingHit | undefined {
  if (!Array.isArray(earlier)) throw new TypeError('earlier: expected an array of PopulationRecord');
  if (!Number.isSafeInteger(minSubjects) || minSubjects < 1) throw new RangeError('minSubjects: expected an integer >= 1');
  for (const e of earlier) {
    if (e.queryId === next.queryId) continue;
    const difference = populationDifference(e.merchants, next.merchants);
    if (difference > 0 && difference < minSubjects) return { earlier: e, difference };
  }
  return undefined;
}
