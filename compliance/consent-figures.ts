/**
 * Consent figures per purpose and month that say what they count.
 *
 * The log holds, per accepted contribution, the number of consented subjects
 * one shop included in one round (`contribution.accepted`, from the shop's
 * signed consent attestation). The coordinator never sees who they are, so
 * it cannot tell whether the 4,000 customers a shop included in one round
 * are the same 4,000 it included in the next. Summing over rounds therefore
 * counts *subject-rounds* (one customer in 28 rounds counts 28 times), not
 * people.
 *
 * What the counts do bound:
 *
 * - within one round, a shop includes each of its customers at most once
 *   (one consent record per included subject), so the number it included
 *   in its largest round is a lower bound of the distinct customers of that
 *   shop included in the period; summed over shops
 *   ({@link ConsentFigures.distinctIncludedAtLeast}) it bounds the distinct
 *   (shop, customer) pairs from below. A person who buys at two shops has a
 *   pseudonym at each and counts once per shop: no count of *persons* across
 *   shops exists anywhere in the system;
 * - the sum over rounds ({@link ConsentFigures.subjectRoundsIncluded}) bounds
 *   the same distinct count from above.
 *
 * Rounds are queries: every `query.created` is one round, including each
 * round of an iterative fit and each retry. A month is the UTC month of the
 * `contribution.accepted` entry. Pure and deterministic; never reads a clock.
 *
 * @module
 */
import type { AuditEntry } from './audit-events.js';

/** The figures of one purpose over one span of time (a month, or everything derived). */
export interface ConsentFigures {
  /** Rounds (queries) with at least one accepted contribution. */
  readonly rounds: number;
  /** Accepted contributions (one per shop per round). */
  readonly contributions: number;
  /** Shops with an accepted contribution. */
  readonly shops: number;
  /** Included subjects summed over contributions: subject-rounds, NOT distinct subjects. */
  readonly subjectRoundsIncluded: number;
  /** Excluded subjects summed over contributions: subject-rounds, NOT distinct subjects. */
  readonly subjectRoundsExcluded: number;
  /** The most subjects included in any single round, all its shops together. */
  readonly largestRoundIncluded: number;
  /**
   * Lower bound of the distinct consented (shop, customer) pairs included:
   * for each shop its largest single-round count, summed over shops.
   */
  readonly distinctIncludedAtLeast: number;
}

/** Figures of one purpose in one UTC month. */
export interface ConsentPeriodFigures extends ConsentFigures {
  /** `YYYY-MM`, UTC. */
  readonly period: string;
}

/** Figures of one purpose: over everything derived, and per month (ascending). */
export interface PurposeConsentFigures extends ConsentFigures {
  /** Null when the query was created before the entries derived from. */
  readonly purpose: string | null;
  readonly periods: readonly ConsentPeriodFigures[];
}

/** Accumulates the figures of one span. */
class Span {
  private readonly rounds = new Map<string, number>();
  private readonly shopMax = new Map<string, number>();
  private contributions = 0;
  private included = 0;
  private excluded = 0;

  add(queryId: string, shop: string, included: number, excluded: number): void {
    this.contributions++;
    this.included += included;
    this.excluded += excluded;
    this.rounds.set(queryId, (this.rounds.get(queryId) ?? 0) + included);
    this.shopMax.set(shop, Math.max(this.shopMax.get(shop) ?? 0, included));
  }

  figures(): ConsentFigures {
    let largest = 0;
    for (const n of this.rounds.values()) largest = Math.max(largest, n);
    let atLeast = 0;
    for (const n of this.shopMax.values()) atLeast += n;
    return {
      rounds: this.rounds.size,
      contributions: this.contributions,
      shops: this.shopMax.size,
      subjectRoundsIncluded: this.included,
      subjectRoundsExcluded: this.excluded,
      largestRoundIncluded: largest,
      distinctIncludedAtLeast: atLeast,
    };
  }
}

/**
 * Consent figures per purpose (sorted by name, the unknown purpose first, as
 * `consentSummary` of the audit sections) from `entries` sorted by seq.
 */
export function consentFigures(entries: readonly AuditEntry[]): PurposeConsentFigures[] {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  const purposeOf = new Map<string, string>();
  const byPurpose = new Map<string, { purpose: string | null; all: Span; months: Map<string, Span> }>();
  for (const e of entries) {
    if (e.type === 'query.created') {
      if (!purposeOf.has(e.details.queryId)) purposeOf.set(e.details.queryId, e.details.purpose);
      continue;
    }
    if (e.type !== 'contribution.accepted') continue;
    const { queryId, merchantId, subjectsIncluded } = e.details;
    const excluded = Object.values(e.details.excludedByReason as Readonly<Record<string, number | undefined>>).reduce<number>((s, n) => s + (n ?? 0), 0);
    const purpose = purposeOf.get(queryId) ?? null;
    const key = purpose ?? '';
    let row = byPurpose.get(key);
    if (row === undefined) {
      row = { purpose, all: new Span(), months: new Map() };
      byPurpose.set(key, row);
    }
    const month = e.time.slice(0, 7);
    let span = row.months.get(month);
    if (span === undefined) {
      span = new Span();
      row.months.set(month, span);
    }
    row.all.add(queryId, merchantId, subjectsIncluded, excluded);
    span.add(queryId, merchantId, subjectsIncluded, excluded);
  }
  return [...byPurpose.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => ({
      purpose: row.purpose,
      ...row.all.figures(),
      periods: [...row.months.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([period, span]) => ({ period, ...span.figures() })),
    }));
}
