/**
 * The report sections of an audit bundle, derived deterministically from the
 * log entries and the registers.
 *
 * Why derived rather than written: the verifier recomputes them from the
 * entries it has checked against the signed checkpoint, and compares. So a
 * report can say nothing the log does not say — no consent count, release or
 * suppression appears that is not backed by an entry, and each query's rows
 * list the sequence numbers of the entries behind them.
 *
 * Same input, same output: rows are ordered by purpose name or by the first
 * entry that mentions them, and lists of ids are sorted.
 *
 * @module
 */
import type { AuditEntry } from './audit-events.js';
import type { AuditRegisters } from './audit-registers.js';

type Counts = Record<string, number>;

/** One row of the record of processing activities (ROPA), per purpose. */
export interface ProcessingRegisterRow {
  readonly purpose: string;
  /** False when queries used a purpose the registers do not declare. */
  readonly registered: boolean;
  readonly description: string | null;
  readonly legalBasis: string | null;
  readonly fields: readonly string[];
  /** PI categories of the allowed fields, from the data classification. */
  readonly dataCategories: readonly string[];
  /** Allowed fields classified `sensitive`. */
  readonly sensitiveFields: readonly string[];
  readonly recipients: readonly string[];
  readonly retentionDays: number | null;
  /** `query.created` entries for this purpose in the bundle. */
  readonly queriesRun: number;
  readonly piaIds: readonly string[];
}

/** Everything the log says about one query. */
export interface QueryEvidence {
  readonly queryId: string;
  readonly purpose: string | null;
  readonly requester: string | null;
  readonly legalBasis: string | null;
  readonly kind: string | null;
  readonly specDigest: string | null;
  readonly createdAt: string | null;
  readonly thresholds: { readonly minMerchants: number; readonly minSubjects: number } | null;
  /** Merchants with an accepted contribution, sorted. */
  readonly merchants: readonly string[];
  /** Attested consented subjects, summed over accepted contributions. */
  readonly subjectsIncluded: number;
  readonly excludedByReason: Readonly<Counts>;
  readonly contributionsRejected: number;
  readonly suppressedCells: readonly string[];
  readonly suppressionReasons: readonly string[];
  readonly status: 'released' | 'failed' | 'open';
  readonly failureReason: string | null;
  readonly release: {
    readonly merchants: readonly string[];
    readonly policy: { readonly minMerchants: number; readonly minSubjects: number };
    /** Privacy-noise parameters spent on the release, or null if none. */
    readonly noise: { readonly mechanism: string; readonly epsilon: number; readonly delta: number } | null;
    readonly releaseDigest: string;
  } | null;
  /** Checks a reviewer should look at, as codes (empty when all is in order). */
  readonly findings: readonly string[];
  /** Sequence numbers of every entry about this query. */
  readonly evidenceSeqs: readonly number[];
}

/** Consent outcome of the contributions, per purpose. */
export interface ConsentSummaryRow {
  /** Null when the query was created before the bundle's range. */
  readonly purpose: string | null;
  readonly contributions: number;
  readonly subjectsIncluded: number;
  readonly subjectsExcluded: number;
  readonly excludedByReason: Readonly<Counts>;
}

/** Data-subject rights requests handled by shops (no identities). */
export interface RightsRequestsSection {
  readonly total: number;
  readonly byType: Readonly<Counts>;
  readonly requests: readonly { readonly seq: number; readonly shopId: string; readonly requestType: string; readonly day: string }[];
}

/** One impact assessment, as registered and as logged. */
export interface PiaRow {
  readonly id: string;
  readonly purpose: string;
  readonly assessedAt: string;
  readonly reviewer: string | null;
  readonly summary: string | null;
  readonly retainUntil: string;
  readonly registered: boolean;
  /** Seq of its `pia.recorded` entry in the bundle, if any. */
  readonly loggedSeq: number | null;
  readonly documentDigest: string | null;
}

/** Security-relevant events. */
export interface SecurityEventsSection {
  readonly authFailed: { readonly total: number; readonly byReason: Readonly<Counts>; readonly bySurface: Readonly<Counts> };
  readonly contributionsRejected: { readonly total: number; readonly byReason: Readonly<Counts>; readonly byGrpcCode: Readonly<Counts> };
  readonly configChanges: readonly { readonly seq: number; readonly key: string; readonly actor: string }[];
  readonly retentionDeletions: readonly { readonly seq: number; readonly category: string; readonly records: number; readonly cutoff: string }[];
  readonly exports: readonly { readonly seq: number; readonly exportKind: string; readonly queryId: string | null; readonly digest: string }[];
}

/** All derived sections of a bundle. */
export interface AuditSections {
  readonly processingRegister: readonly ProcessingRegisterRow[];
  readonly queries: readonly QueryEvidence[];
  readonly consentSummary: readonly ConsentSummaryRow[];
  readonly rightsRequests: RightsRequestsSection;
  readonly pias: readonly PiaRow[];
  readonly securityEvents: SecurityEventsSection;
}

/** Section names in the order the verifier compares them. */
export const AUDIT_SECTION_NAMES = ['processingRegister', 'queries', 'consentSummary', 'rightsRequests', 'pias', 'securityEvents'] as const;

function bump(counts: Map<string, number>, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

function toCounts(counts: Map<string, number>): Counts {
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** (reason, count) pairs of an accepted contribution's attested exclusions. */
function excludedPairs(e: Extract<AuditEntry, { type: 'contribution.accepted' }>): [string, number][] {
  const counts: Readonly<Record<string, number | undefined>> = e.details.excludedByReason;
  return Object.entries(counts).flatMap(([reason, n]): [string, number][] => (n === undefined ? [] : [[reason, n]]));
}

const sortedUnique = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

interface QueryAcc {
  firstSeq: number;
  created: Extract<AuditEntry, { type: 'query.created' }> | undefined;
  merchants: Set<string>;
  subjectsIncluded: number;
  excluded: Map<string, number>;
  rejected: number;
  cells: Set<string>;
  suppressionReasons: Set<string>;
  failed: Extract<AuditEntry, { type: 'query.failed' }> | undefined;
  release: Extract<AuditEntry, { type: 'release.stored' }> | undefined;
  seqs: number[];
}

/**
 * Derives every report section from `entries` (sorted by seq) and
 * `registers`. Pure and deterministic; never reads a clock.
 */
export function deriveSections(entries: readonly AuditEntry[], registers: AuditRegisters): AuditSections {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  if (typeof registers !== 'object' || registers === null) throw new TypeError('registers must be AuditRegisters');

  const queries = new Map<string, QueryAcc>();
  const query = (queryId: string, seq: number): QueryAcc => {
    let q = queries.get(queryId);
    if (q === undefined) {
      q = {
        firstSeq: seq,
        created: undefined,
        merchants: new Set(),
        subjectsIncluded: 0,
        excluded: new Map(),
        rejected: 0,
        cells: new Set(),
        suppressionReasons: new Set(),
        failed: undefined,
        release: undefined,
        seqs: [],
      };
      queries.set(queryId, q);
    }
    q.seqs.push(seq);
    return q;
  };

  const authByReason = new Map<string, number>();
  const authBySurface = new Map<string, number>();
  const rejByReason = new Map<string, number>();
  const rejByCode = new Map<string, number>();
  let authTotal = 0;
  let rejTotal = 0;
  const configChanges: { seq: number; key: string; actor: string }[] = [];
  const retentionDeletions: { seq: number; category: string; records: number; cutoff: string }[] = [];
  const exports: { seq: number; exportKind: string; queryId: string | null; digest: string }[] = [];
  const rights: { seq: number; shopId: string; requestType: string; day: string }[] = [];
  const rightsByType = new Map<string, number>();
  const piaLogged = new Map<string, Extract<AuditEntry, { type: 'pia.recorded' }>>();
  const loggedPurposes = new Map<string, Extract<AuditEntry, { type: 'purpose.registered' }>>();

  for (const e of entries) {
    switch (e.type) {
      case 'query.created':
        query(e.details.queryId, e.seq).created ??= e;
        break;
      case 'contribution.accepted': {
        const q = query(e.details.queryId, e.seq);
        q.merchants.add(e.details.merchantId);
        q.subjectsIncluded += e.details.subjectsIncluded;
        for (const [reason, n] of excludedPairs(e)) bump(q.excluded, reason, n);
        break;
      }
      case 'contribution.rejected':
        rejTotal++;
        bump(rejByReason, e.details.reason);
        bump(rejByCode, e.details.grpcCode);
        if (e.details.queryId !== null) query(e.details.queryId, e.seq).rejected++;
        break;
      case 'threshold.suppressed': {
        const q = query(e.details.queryId, e.seq);
        for (const c of e.details.cells) q.cells.add(c);
        q.suppressionReasons.add(e.details.reason);
        break;
      }
      case 'query.failed':
        query(e.details.queryId, e.seq).failed ??= e;
        break;
      case 'release.stored':
        query(e.details.queryId, e.seq).release ??= e;
        break;
      case 'export.created':
        exports.push({ seq: e.seq, exportKind: e.details.exportKind, queryId: e.details.queryId, digest: e.details.digest });
        if (e.details.queryId !== null) query(e.details.queryId, e.seq);
        break;
      case 'rights.request':
        rights.push({ seq: e.seq, shopId: e.details.shopId, requestType: e.details.requestType, day: e.details.day });
        bump(rightsByType, e.details.requestType);
        break;
      case 'auth.failed':
        authTotal++;
        bump(authByReason, e.details.reason);
        bump(authBySurface, e.details.surface);
        break;
      case 'config.changed':
        configChanges.push({ seq: e.seq, key: e.details.key, actor: e.actor });
        break;
      case 'retention.deleted':
        retentionDeletions.push({ seq: e.seq, category: e.details.category, records: e.details.records, cutoff: e.details.cutoff });
        break;
      case 'pia.recorded':
        if (!piaLogged.has(e.details.piaId)) piaLogged.set(e.details.piaId, e);
        break;
      case 'purpose.registered':
        loggedPurposes.set(e.details.purpose, e);
        break;
      case 'merchant.enrolled':
      case 'merchant.key-rotated':
      case 'merchant.revoked':
        break;
    }
  }

  const registeredPurposes = new Map(registers.purposes.map((p) => [p.name, p]));
  const classOf = new Map(registers.classification.map((c) => [c.field, c]));
  const piasByPurpose = new Map<string, string[]>();
  for (const p of registers.pias) piasByPurpose.set(p.purpose, [...(piasByPurpose.get(p.purpose) ?? []), p.id]);

  // ---- queries
  const queryRows: QueryEvidence[] = [...queries.entries()]
    .sort(([, a], [, b]) => a.firstSeq - b.firstSeq)
    .map(([queryId, q]): QueryEvidence => {
      const c = q.created?.details;
      const r = q.release?.details;
      const findings: string[] = [];
      if (c !== undefined) {
        const reg = registeredPurposes.get(c.purpose);
        if (reg === undefined) findings.push('PURPOSE_NOT_REGISTERED');
        else if (reg.legalBasis !== c.legalBasis) findings.push('LEGAL_BASIS_DIFFERS_FROM_REGISTER');
        const createdAt = Date.parse(q.created!.time);
        const pia = registers.pias.some((p) => p.purpose === c.purpose && Date.parse(p.assessedAt) <= createdAt);
        if (!pia) findings.push('NO_PIA_BEFORE_QUERY');
      } else {
        findings.push('QUERY_CREATED_OUTSIDE_RANGE');
      }
      if (r !== undefined) {
        if (r.merchants.length < r.policy.minMerchants) findings.push('RELEASE_BELOW_MIN_MERCHANTS');
        if (r.merchants.some((m) => !q.merchants.has(m))) findings.push('RELEASE_MERCHANT_WITHOUT_ACCEPTED_CONTRIBUTION');
        if (c !== undefined && (r.policy.minMerchants < c.thresholds.minMerchants || r.policy.minSubjects < c.thresholds.minSubjects)) {
          findings.push('RELEASE_POLICY_WEAKER_THAN_QUERY');
        }
        if (q.failed !== undefined) findings.push('RELEASED_AND_FAILED');
      }
      return {
        queryId,
        purpose: c?.purpose ?? null,
        requester: c?.requester ?? null,
        legalBasis: c?.legalBasis ?? null,
        kind: c?.kind ?? null,
        specDigest: c?.specDigest ?? null,
        createdAt: q.created?.time ?? null,
        thresholds: c === undefined ? null : { minMerchants: c.thresholds.minMerchants, minSubjects: c.thresholds.minSubjects },
        merchants: sortedUnique(q.merchants),
        subjectsIncluded: q.subjectsIncluded,
        excludedByReason: toCounts(q.excluded),
        contributionsRejected: q.rejected,
        suppressedCells: sortedUnique(q.cells),
        suppressionReasons: sortedUnique(q.suppressionReasons),
        status: r !== undefined ? 'released' : q.failed !== undefined ? 'failed' : 'open',
        failureReason: q.failed?.details.reason ?? null,
        release:
          r === undefined
            ? null
            : {
                merchants: sortedUnique(r.merchants),
                policy: { minMerchants: r.policy.minMerchants, minSubjects: r.policy.minSubjects },
                noise: r.noise === null ? null : { mechanism: r.noise.mechanism, epsilon: r.noise.epsilon, delta: r.noise.delta },
                releaseDigest: r.releaseDigest,
              },
        findings,
        evidenceSeqs: [...q.seqs].sort((a, b) => a - b),
      };
    });

  // ---- consent summary, per purpose of the query
  const consent = new Map<string, { purpose: string | null; contributions: number; included: number; excluded: Map<string, number> }>();
  for (const e of entries) {
    if (e.type !== 'contribution.accepted') continue;
    const purpose = queries.get(e.details.queryId)?.created?.details.purpose ?? null;
    const key = purpose ?? '';
    let row = consent.get(key);
    if (row === undefined) {
      row = { purpose, contributions: 0, included: 0, excluded: new Map() };
      consent.set(key, row);
    }
    row.contributions++;
    row.included += e.details.subjectsIncluded;
    for (const [reason, n] of excludedPairs(e)) bump(row.excluded, reason, n);
  }
  const consentSummary: ConsentSummaryRow[] = [...consent.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => ({
      purpose: row.purpose,
      contributions: row.contributions,
      subjectsIncluded: row.included,
      subjectsExcluded: [...row.excluded.values()].reduce((s, n) => s + n, 0),
      excludedByReason: toCounts(row.excluded),
    }));

  // ---- processing register (ROPA)
  const queriesByPurpose = new Map<string, number>();
  for (const q of queryRows) if (q.purpose !== null && q.createdAt !== null) bump(queriesByPurpose, q.purpose);
  const purposeNames = sortedUnique([...registeredPurposes.keys(), ...queriesByPurpose.keys(), ...loggedPurposes.keys()]);
  const processingRegister: ProcessingRegisterRow[] = purposeNames.map((name) => {
    const reg = registeredPurposes.get(name);
    const logged = loggedPurposes.get(name)?.details;
    const fields = [...(reg?.allowedFields ?? logged?.allowedFields ?? [])];
    return {
      purpose: name,
      registered: reg !== undefined,
      description: reg?.description ?? null,
      legalBasis: reg?.legalBasis ?? logged?.legalBasis ?? null,
      fields,
      dataCategories: sortedUnique(fields.flatMap((f) => {
        const c = classOf.get(f);
        return c === undefined ? [] : [c.category];
      })),
      sensitiveFields: fields.filter((f) => classOf.get(f)?.class === 'sensitive').sort(),
      recipients: [...(reg?.recipients ?? logged?.recipients ?? [])],
      retentionDays: reg?.retentionDays ?? logged?.retentionDays ?? null,
      queriesRun: queriesByPurpose.get(name) ?? 0,
      piaIds: sortedUnique(piasByPurpose.get(name) ?? []),
    };
  });

  // ---- PIAs: registered ones, then logged ones the registers lack
  const pias: PiaRow[] = registers.pias.map((p) => {
    const logged = piaLogged.get(p.id);
    return {
      id: p.id,
      purpose: p.purpose,
      assessedAt: p.assessedAt,
      reviewer: p.reviewer,
      summary: p.summary,
      retainUntil: p.retainUntil,
      registered: true,
      loggedSeq: logged?.seq ?? null,
      documentDigest: logged?.details.documentDigest ?? null,
    };
  });
  const registeredPiaIds = new Set(registers.pias.map((p) => p.id));
  for (const [id, e] of [...piaLogged.entries()].sort(([, a], [, b]) => a.seq - b.seq)) {
    if (registeredPiaIds.has(id)) continue;
    pias.push({
      id,
      purpose: e.details.purpose,
      assessedAt: e.details.assessedAt,
      reviewer: null,
      summary: null,
      retainUntil: e.details.retainUntil,
      registered: false,
      loggedSeq: e.seq,
      documentDigest: e.details.documentDigest,
    });
  }

  return {
    processingRegister,
    queries: queryRows,
    consentSummary,
    rightsRequests: { total: rights.length, byType: toCounts(rightsByType), requests: rights },
    pias,
    securityEvents: {
      authFailed: { total: authTotal, byReason: toCounts(authByReason), bySurface: toCounts(authBySurface) },
      contributionsRejected: { total: rejTotal, byReason: toCounts(rejByReason), byGrpcCode: toCounts(rejByCode) },
      configChanges,
      retentionDeletions,
      exports,
    },
  };
}
