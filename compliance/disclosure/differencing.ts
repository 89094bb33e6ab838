/**
 * The differencing defence for exact (noise-free) purposes.
 *
 * Two exact releases whose rows differ by a few customers give, by
 * subtraction, the figures of those few: the same segment query before and
 * after one customer withdrew consent; two regressions whose `asOf` differ
 * by the seconds around one order (Σx and Σx² then differ by that order's
 * value and the customer's earlier figures); as many customers joining as
 * leaving, which leaves every count equal. And two releases whose merchant
 * sets differ by one shop (`targetMerchants` 3, then 4) give that shop's
 * figures alone.
 *
 * So the key holder records, per purpose, the rows behind every release:
 * the shops' row-set sketches (`compliance/row-set.ts`) of the customers
 * and the exact rows each release read under its scope (window, split,
 * campaign). A new release is compared with every earlier release of the
 * purpose, whatever the kinds: kinds share figures (a histogram's `all`
 * cell and the segment groups both sum `order.amount`), and the comparison
 * covers the fields both read plus membership. It is refused before
 * decryption when
 *
 * - 1..k−1 customers differ (`DIFFERENCING`), or
 * - 1..m−1 merchants differ (`MERCHANT_DIFFERENCING`): a merchant differs
 *   when it took part in one release only, or its compared rows changed.
 *
 * Rounds of one model fit are not compared with each other: they read the
 * same rows (a shop dropping out between rounds changes only who answered),
 * only the fit runner sees them, and what it publishes (parameters of the
 * next round, the model) is a function of whole aggregates. Releases
 * recorded before sketches existed are compared by their attested counts
 * (Σ over merchants of |n_m − n'_m|, a lower bound). Under DP the check is
 * not applied: the noise and the budget bound what any combination of
 * releases reveals.
 *
 * @module
 */
import { compareRowSets, type CustomerDifference, type ReleaseRowSet } from './row-set-difference.js';

/** The rows behind one release, as the key holder records them. */
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
  /** The fit the release is a round of, if any. */
  readonly fitId?: string | undefined;
  /** The shops' row-set sketches (absent in records made before they existed, and under DP). */
  readonly rowSet?: ReleaseRowSet | undefined;
}

/** An earlier release that a new one would difference against. */
export interface DifferencingHit {
  readonly earlier: PopulationRecord;
  readonly code: 'DIFFERENCING' | 'MERCHANT_DIFFERENCING';
  /** Customers (`DIFFERENCING`, a lower bound unless `exact`) or merchants that differ. */
  readonly difference: number;
  readonly exact: boolean;
  /** `DIFFERENCING`: what the difference was seen in (`members`, a field name, or `counts`). */
  readonly via?: string;
  /** `MERCHANT_DIFFERENCING`: the merchants that differ. */
  readonly merchants?: readonly string[];
}

/** Σ_m |a_m − b_m| over the union of merchants. */
export function populationDifference(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): number {
  let d = 0;
  for (const m of new Set([...Object.keys(a), ...Object.keys(b)])) d += Math.abs((a[m] ?? 0) - (b[m] ?? 0));
  return d;
}

/** The thresholds the comparison is held to. */
export interface DifferencingRules {
  /** k: fewest customers by which two releases may differ (when they differ at all). */
  readonly minSubjects: number;
  /** m: fewest merchants by which two releases may differ (when they differ at all). */
  readonly minMerchants: number;
}

function checkRules(rules: DifferencingRules): void {
  if (typeof rules !== 'object' || rules === null) throw new TypeError('rules: expected { minSubjects, minMerchants }');
  if (!Number.isSafeInteger(rules.minSubjects) || rules.minSubjects < 1) throw new RangeError('rules.minSubjects: expected an integer >= 1');
  if (!Number.isSafeInteger(rules.minMerchants) || rules.minMerchants < 1) throw new RangeError('rules.minMerchants: expected an integer >= 1');
}

/** How `next` compares with one earlier release, or undefined when the pair may both be released. */
export function differencingAgainst(earlier: PopulationRecord, next: PopulationRecord, rules: DifferencingRules): DifferencingHit | undefined {
  checkRules(rules);
  if (earlier.queryId === next.queryId) return undefined;
  if (earlier.fitId !== undefined && earlier.fitId === next.fitId) return undefined;
  if (earlier.rowSet === undefined || next.rowSet === undefined) {
    const difference = populationDifference(earlier.merchants, next.merchants);
    return difference > 0 && difference < rules.minSubjects ? { earlier, code: 'DIFFERENCING', difference, exact: false, via: 'counts' } : undefined;
  }
  const c = compareRowSets(earlier.rowSet, next.rowSet);
  const customers: CustomerDifference | null = c.customers;
  if (customers !== null && customers.count < rules.minSubjects) {
    return { earlier, code: 'DIFFERENCING', difference: customers.count, exact: customers.exact, via: customers.via };
  }
  if (c.merchants.length > 0 && c.merchants.length < rules.minMerchants) {
    return { earlier, code: 'MERCHANT_DIFFERENCING', difference: c.merchants.length, exact: true, merchants: c.merchants };
  }
  return undefined;
}

/**
 * The first earlier release (of any kind; `earlier` is one purpose's
 * releases) that `next` may not be released beside, or undefined.
 */
export function findDifferencing(earlier: readonly PopulationRecord[], next: PopulationRecord, rules: DifferencingRules): DifferencingHit | undefined {
  if (!Array.isArray(earlier)) throw new TypeError('earlier: expected an array of PopulationRecord');
  checkRules(rules);
  for (const e of earlier) {
    const hit = differencingAgainst(e, next, rules);
    if (hit) return hit;
  }
  return undefined;
}
