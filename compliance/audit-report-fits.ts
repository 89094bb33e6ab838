/**
 * The model fits of an audit bundle, for the report: which queries were
 * rounds of which fit, and how each fit ended.
 *
 * A fit's rounds are queries like any other (each with its own consent,
 * thresholds and release), so the bundle's per-query sections list them one
 * by one. The report shows one entry per fit instead and puts the rounds'
 * evidence in an appendix. The grouping uses only signed log entries:
 * `query.created` names its fit and round (entries made before rounds named
 * their fit do not), `round.retried` and `round.incomplete` name the fit of
 * their query, and `model.stored` / `fit.failed` give the fit's kind, purpose
 * and outcome. A query of a fit-round kind that no entry links to a fit is
 * kept apart as a round of an unnamed fit, never guessed into one.
 *
 * @module
 */
import { listQueryKinds } from '../analytics/index.js';
import type { AuditEntry } from './audit-events.js';
import type { QueryEvidence } from './audit-sections.js';

/** One round of a fit: its number (null when no entry states it) and the query's evidence. */
export interface FitRoundEvidence {
  readonly round: number | null;
  readonly query: QueryEvidence;
}

/** Everything the log says about one model fit. */
export interface FitEvidence {
  readonly fitId: string;
  /** The model kind (`model.stored` / `fit.failed`), else null. */
  readonly kind: string | null;
  readonly purpose: string | null;
  /** `model-stored`, `failed`, or `no-outcome` when the range holds neither entry. */
  readonly outcome: 'model-stored' | 'failed' | 'no-outcome';
  /** The fit's status code when it failed, and the round it failed at. */
  readonly failure: { readonly code: string; readonly round: number } | null;
  /** Rounds the stored model took (`model.stored`). */
  readonly modelRounds: number | null;
  /** Merchants of the stored model, sorted. */
  readonly merchants: readonly string[];
  readonly modelDigest: string | null;
  /** UTC time of the `model.stored` or `fit.failed` entry. */
  readonly endedAt: string | null;
  /** Rounds published again after closing with too few shops. */
  readonly retries: number;
  /** Rounds that closed without merchants that took part before. */
  readonly incompleteRounds: number;
  /** Round queries in the bundle, by round then first entry. */
  readonly rounds: readonly FitRoundEvidence[];
  /** Sequence numbers of the fit's own entries (outcome, retries, incomplete rounds). */
  readonly seqs: readonly number[];
}

/** The bundle's queries split into the marketers' own queries, the fits' rounds and rounds of no named fit. */
export interface FitGrouping {
  readonly fits: readonly FitEvidence[];
  /** Queries that are no round of any fit, in section order. */
  readonly ownQueries: readonly QueryEvidence[];
  /** Queries of a fit-round kind that no entry links to a fit. */
  readonly unattributedRounds: readonly QueryEvidence[];
}

/** Query kinds that are only ever steps of a model fit. */
function fitRoundKinds(): ReadonlySet<string> {
  const own = new Set(listQueryKinds());
  return new Set(listQueryKinds({ includeFitRounds: true }).filter((k) => !own.has(k)));
}

interface FitAcc {
  firstSeq: number;
  kind: string | null;
  purpose: string | null;
  stored: Extract<AuditEntry, { type: 'model.stored' }> | undefined;
  failed: Extract<AuditEntry, { type: 'fit.failed' }> | undefined;
  retries: number;
  incomplete: number;
  seqs: number[];
}

/**
 * Groups `queries` (the bundle's per-query sections) by the fits that
 * `entries` (the bundle's parsed entries, by seq) link them to. Pure.
 */
export function groupFits(entries: readonly AuditEntry[], queries: readonly QueryEvidence[]): FitGrouping {
  const fits = new Map<string, FitAcc>();
  const fit = (fitId: string, seq: number): FitAcc => {
    let f = fits.get(fitId);
    if (f === undefined) {
      f = { firstSeq: seq, kind: null, purpose: null, stored: undefined, failed: undefined, retries: 0, incomplete: 0, seqs: [] };
      fits.set(fitId, f);
    }
    return f;
  };
  const roundOf = new Map<string, { fitId: string; round: number | null }>();
  const link = (queryId: string, fitId: string, round: number | null): void => {
    const known = roundOf.get(queryId);
    if (known === undefined || (known.round === null && round !== null)) roundOf.set(queryId, { fitId, round });
  };

  for (const e of entries) {
    switch (e.type) {
      case 'query.created':
        if (e.details.fitId !== undefined) {
          fit(e.details.fitId, e.seq);
          link(e.details.queryId, e.details.fitId, e.details.fitRound ?? null);
        }
        break;
      case 'round.retried': {
        const f = fit(e.details.fitId, e.seq);
        f.retries++;
        f.seqs.push(e.seq);
        link(e.details.failedQueryId, e.details.fitId, e.details.round);
        link(e.details.queryId, e.details.fitId, e.details.round);
        break;
      }
      case 'round.incomplete': {
        const f = fit(e.details.fitId, e.seq);
        f.incomplete++;
        f.seqs.push(e.seq);
        link(e.details.queryId, e.details.fitId, e.details.round);
        break;
      }
      case 'model.stored': {
        const f = fit(e.details.fitId, e.seq);
        f.stored ??= e;
        f.kind ??= e.details.kind;
        f.purpose ??= e.details.purpose;
        f.seqs.push(e.seq);
        break;
      }
      case 'fit.failed': {
        const f = fit(e.details.fitId, e.seq);
        f.failed ??= e;
        f.kind ??= e.details.kind;
        f.purpose ??= e.details.purpose;
        f.seqs.push(e.seq);
        break;
      }
      default:
        break;
    }
  }

  const roundKinds = fitRoundKinds();
  const rounds = new Map<string, FitRoundEvidence[]>();
  const ownQueries: QueryEvidence[] = [];
  const unattributedRounds: QueryEvidence[] = [];
  for (const q of queries) {
    const linked = roundOf.get(q.queryId);
    if (linked !== undefined) rounds.set(linked.fitId, [...(rounds.get(linked.fitId) ?? []), { round: linked.round, query: q }]);
    else if (q.kind !== null && roundKinds.has(q.kind)) unattributedRounds.push(q);
    else ownQueries.push(q);
  }

  const firstSeq = (r: FitRoundEvidence): number => r.query.evidenceSeqs[0] ?? Number.MAX_SAFE_INTEGER;
  const result: FitEvidence[] = [...fits.entries()]
    .sort(([, a], [, b]) => a.firstSeq - b.firstSeq)
    .map(([fitId, f]): FitEvidence => {
      const own = [...(rounds.get(fitId) ?? [])].sort((a, b) => (a.round ?? Infinity) - (b.round ?? Infinity) || firstSeq(a) - firstSeq(b));
      const purpose = f.purpose ?? own.find((r) => r.query.purpose !== null)?.query.purpose ?? null;
      return {
        fitId,
        kind: f.kind,
        purpose,
        outcome: f.stored !== undefined ? 'model-stored' : f.failed !== undefined ? 'failed' : 'no-outcome',
        failure: f.failed === undefined ? null : { code: f.failed.details.code, round: f.failed.details.round },
        modelRounds: f.stored?.details.rounds ?? null,
        merchants: [...new Set(f.stored?.details.merchants ?? [])].sort(),
        modelDigest: f.stored?.details.modelDigest ?? null,
        endedAt: (f.stored ?? f.failed)?.time ?? null,
        retries: f.retries,
        incompleteRounds: f.incomplete,
        rounds: own,
        seqs: [...f.seqs].sort((a, b) => a - b),
      };
    });
  return { fits: result, ownQueries, unattributedRounds };
}
