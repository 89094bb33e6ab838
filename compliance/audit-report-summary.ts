/**
 * The figures of the audit report's executive summary, computed from the
 * bundle's derived sections and its fit grouping — nothing the sections do
 * not already say.
 *
 * Subjects are counted per round: each accepted contribution attests how
 * many consented subjects it included, and the same person is included
 * again in every later query and every round of a fit. The sum is therefore
 * "subject-rounds", an upper bound on people, and is labelled so.
 *
 * @module
 */
import type { AuditSections } from './audit-sections.js';
import type { FitGrouping } from './audit-report-fits.js';

/** Privacy-noise spending of one purpose's releases (sequential composition: ε and δ add up). */
export interface DpSpend {
  readonly purpose: string;
  readonly releases: number;
  readonly epsilon: number;
  readonly delta: number;
}

/** The executive summary's figures. */
export interface AuditReportSummary {
  readonly purposesRegistered: number;
  /** Purposes that queries of the range were created under, sorted. */
  readonly purposesUsed: readonly string[];
  readonly ownQueries: { readonly total: number; readonly released: number; readonly failed: number; readonly open: number };
  readonly fits: { readonly total: number; readonly modelStored: number; readonly failed: number; readonly noOutcome: number; readonly roundQueries: number };
  /** Round queries of a fit-round kind no entry links to a fit. */
  readonly unattributedRounds: number;
  /** Distinct merchants with an accepted contribution. */
  readonly merchants: readonly string[];
  readonly contributionsAccepted: number;
  /** Consented subjects summed over accepted contributions (one person counts once per query round). */
  readonly subjectRounds: number;
  /** Excluded subjects summed the same way. */
  readonly excludedSubjectRounds: number;
  /** The most subjects one query included (a floor of the distinct people behind the range). */
  readonly largestQuerySubjects: number;
  readonly suppressedCells: number;
  readonly queriesWithSuppression: number;
  readonly dp: readonly DpSpend[];
  readonly releasesWithoutNoise: number;
  readonly security: {
    readonly authFailed: number;
    readonly contributionsRejected: number;
    readonly configChanges: number;
    readonly retentionDeletions: number;
    readonly exports: number;
  };
  readonly rightsRequests: number;
  readonly pias: number;
  /** Queries with at least one finding, and the finding codes seen, sorted. */
  readonly findings: { readonly queries: number; readonly codes: readonly string[] };
}

/** Computes the summary figures. Pure. */
export function summarizeAuditReport(sections: AuditSections, grouping: FitGrouping): AuditReportSummary {
  const all = sections.queries;
  const merchants = new Set<string>();
  let subjectRounds = 0;
  let excluded = 0;
  let largest = 0;
  let suppressed = 0;
  let withSuppression = 0;
  let withoutNoise = 0;
  const dp = new Map<string, { releases: number; epsilon: number; delta: number }>();
  const codes = new Set<string>();
  let withFindings = 0;
  for (const q of all) {
    for (const m of q.merchants) merchants.add(m);
    subjectRounds += q.subjectsIncluded;
    largest = Math.max(largest, q.subjectsIncluded);
    excluded += Object.values(q.excludedByReason).reduce((s, n) => s + n, 0);
    suppressed += q.suppressedCells.length;
    if (q.suppressedCells.length > 0) withSuppression++;
    if (q.release !== null) {
      const n = q.release.noise;
      if (n === null) withoutNoise++;
      else {
        const key = q.purpose ?? '';
        const acc = dp.get(key) ?? { releases: 0, epsilon: 0, delta: 0 };
        acc.releases++;
        acc.epsilon += n.epsilon;
        acc.delta += n.delta;
        dp.set(key, acc);
      }
    }
    if (q.findings.length > 0) withFindings++;
    for (const f of q.findings) codes.add(f);
  }
  const own = grouping.ownQueries;
  const fits = grouping.fits;
  return {
    purposesRegistered: sections.processingRegister.filter((r) => r.registered).length,
    purposesUsed: [...new Set(all.flatMap((q) => (q.purpose === null ? [] : [q.purpose])))].sort(),
    ownQueries: {
      total: own.length,
      released: own.filter((q) => q.status === 'released').length,
      failed: own.filter((q) => q.status === 'failed').length,
      open: own.filter((q) => q.status === 'open').length,
    },
    fits: {
      total: fits.length,
      modelStored: fits.filter((f) => f.outcome === 'model-stored').length,
      failed: fits.filter((f) => f.outcome === 'failed').length,
      noOutcome: fits.filter((f) => f.outcome === 'no-outcome').length,
      roundQueries: fits.reduce((s, f) => s + f.rounds.length, 0),
    },
    unattributedRounds: grouping.unattributedRounds.length,
    merchants: [...merchants].sort(),
    contributionsAccepted: sections.consentSummary.reduce((s, r) => s + r.contributions, 0),
    subjectRounds,
    excludedSubjectRounds: excluded,
    largestQuerySubjects: largest,
    suppressedCells: suppressed,
    queriesWithSuppression: withSuppression,
    dp: [...dp.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([purpose, d]) => ({ purpose, ...d })),
    releasesWithoutNoise: withoutNoise,
    security: {
      authFailed: sections.securityEvents.authFailed.total,
      contributionsRejected: sections.securityEvents.contributionsRejected.total,
      configChanges: sections.securityEvents.configChanges.length,
      retentionDeletions: sections.securityEvents.retentionDeletions.length,
      exports: sections.securityEvents.exports.length,
    },
    rightsRequests: sections.rightsRequests.total,
    pias: sections.pias.length,
    findings: { queries: withFindings, codes: [...codes].sort() },
  };
}
