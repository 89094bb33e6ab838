/**
 * Publishing queries: every check a query must pass before merchants see it
 * (known kind, valid spec, overflow and noise limits, registered purpose with
 * a recorded impact assessment, fields within the purpose's allow-list,
 * cutoff not in the future), then storage and the `query.created` audit
 * entry in one transaction. Used by the HTTP API and by model fits, whose
 * rounds are ordinary queries.
 *
 * Refusals are `RequestError` (`request-errors.ts`), or the round's own
 * `RoundError` where the round refuses (SPEC_INVALID, LAYOUT_INVALID); the
 * HTTP edge turns both into problems (`http-problem-map.ts`).
 */
import { blake2b256, randomBytes, toHex, type HeContext } from '../crypto/index.js';
import { canonicalSpecJson, disclosureRoleOf } from '../analytics/index.js';
import { RoundTerms, definitionOf } from '../round/index.js';
import { PiaMissingError, PurposeFieldError, assertFieldsAllowed, assertPiaRecorded, disclosureTerms, type PurposeDefinition } from '../compliance/index.js';
import type { PublicKeyBundle } from '../protos/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { PurposeStore } from './purpose-registry.js';
import { RequestError } from './request-errors.js';
import type { CoordinatorStore, QueryRecord } from './store.js';
import type { SqlExecutor } from './database.js';

export interface CreateQueryRequest {
  /**
   * Who asks: a person through the API, or the fit runner publishing a step
   * of a fit. Only the fit runner may create `fit-round` kinds.
   */
  readonly origin?: 'person' | 'fit-runner' | undefined;
  readonly kind: string;
  readonly spec: Record<string, unknown>;
  readonly targetMerchants?: number | undefined;
  readonly minMerchants?: number | undefined;
  readonly maxContributors?: number | undefined;
  readonly deadlineSeconds?: number | undefined;
  readonly cutoff?: Date | undefined;
  readonly createdBy: string;
  readonly fitId?: string | undefined;
  readonly fitRound?: number | undefined;
  /** Runs in the query's own transaction after its `query.created` entry (the fit runner audits a retried round there). */
  readonly alsoInTx?: ((tx: SqlExecutor, q: QueryRecord) => Promise<unknown>) | undefined;
}

export interface QueryServiceDeps {
  readonly store: CoordinatorStore;
  readonly audit: AuditTrail;
  readonly purposes: PurposeStore;
  readonly ctx: HeContext;
  readonly publicKeyBundle: PublicKeyBundle;
  /** The key holder's k threshold, a floor under every purpose's own; see {@link effectiveMinSubjects}. */
  readonly minSubjects: number;
}

/**
 * The k the key holder applies to releases for `purpose`: its own floor, or
 * the purpose's `disclosure.minSubjects` when that is stricter (a purpose may
 * tighten the floor, never loosen it). This is what audit entries and query
 * views state. Throws RangeError naming `floor` when it is not an integer >= 1.
 */
export function effectiveMinSubjects(floor: number, purpose: Pick<PurposeDefinition, 'disclosure'> | undefined): number {
  if (!Number.isSafeInteger(floor) || floor < 1) throw new RangeError(`floor: expected an integer >= 1, got ${String(floor)}`);
  const own = purpose?.disclosure?.minSubjects;
  return typeof own === 'number' && Number.isSafeInteger(own) && own > floor ? own : floor;
}

export class QueryService {
  constructor(private readonly deps: QueryServiceDeps) {}

  /**
   * The registered purpose `name`, checked to have a PIA in force at `at` and
   * to allow `fields`. Throws RequestError (PURPOSE_UNKNOWN, PIA_MISSING, FIELD_NOT_ALLOWED).
   */
  async checkPurpose(name: string, fields: readonly string[], at: Date): Promise<PurposeDefinition> {
    const purpose = await this.deps.purposes.purpose(name);
    if (!purpose) throw new RequestError('PURPOSE_UNKNOWN', `purpose ${name} is not registered`);
    try {
      assertPiaRecorded(purpose, await this.deps.purposes.pias(purpose.name), at);
      assertFieldsAllowed(purpose, fields);
    } catch (err) {
      if (err instanceof PiaMissingError) throw new RequestError('PIA_MISSING', err.message);
      if (err instanceof PurposeFieldError) throw new RequestError('FIELD_NOT_ALLOWED', err.message);
      throw err;
    }
    return purpose;
  }

  /**
   * Checks the query, stores it and records `query.created`. Throws
   * RequestError (QUERY_KIND_UNKNOWN, QUERY_KIND_INTERNAL, CUTOFF_INVALID
   * and those of `checkPurpose`) or RoundError (SPEC_INVALID, LAYOUT_INVALID:
   * no layout, or more than MAX_ROUND_CONTRIBUTORS) for a request it refuses.
   */
  async create(req: CreateQueryRequest): Promise<QueryRecord> {
    const { deps } = this;
    let definition;
    try {
      definition = definitionOf(req.kind);
    } catch {
      // The refusal names only the kind asked for (the round's own message lists every registered kind).
      throw new RequestError('QUERY_KIND_UNKNOWN', `no query kind ${req.kind}`);
    }
    if (disclosureRoleOf(definition) === 'fit-round' && req.origin !== 'fit-runner') {
      throw new RequestError('QUERY_KIND_INTERNAL', `${req.kind} is a step of a model fit: only the fit runner creates it, and its values stay with the fit runner; start a fit with POST /v1/fits instead`);
    }
    const maxContributors = req.maxContributors ?? 100;
    // RoundTerms refuses more than MAX_ROUND_CONTRIBUTORS (LAYOUT_INVALID); beyond maxAddends the sums go in stages (stageContributors).
    const terms = RoundTerms.fromSpec(deps.ctx, req.kind, { ...req.spec, kind: req.kind }, maxContributors);
    const { spec, specJson, specDigest } = terms;
    const now = new Date();
    const purpose = await this.checkPurpose(definition.purposeOf(spec), definition.inputFields(spec), now);
    const cutoff = req.cutoff ?? now;
    if (cutoff.getTime() > now.getTime()) throw new RequestError('CUTOFF_INVALID', `cutoff ${cutoff.toISOString()} is in the future`);
    const termsJson = canonicalSpecJson(disclosureTerms(purpose, deps.minSubjects));
    const enrolled = (await deps.store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM merchants'))[0]?.n ?? 0;
    const minMerchants = req.minMerchants ?? 3;
    return deps.store.createQuery({
      queryId: `q-${toHex(randomBytes(8))}`,
      kind: req.kind,
      specJson,
      specDigest,
      paramSet: deps.publicKeyBundle.paramSet,
      keyId: deps.publicKeyBundle.keyId,
      maxContributors,
      targetMerchants: Math.min(req.targetMerchants ?? Math.max(enrolled, minMerchants), maxContributors),
      minMerchants,
      deadline: new Date(now.getTime() + (req.deadlineSeconds ?? 600) * 1000),
      purpose: purpose.name,
      purposeJson: canonicalSpecJson(purpose),
      termsJson,
      cutoff,
      createdBy: req.createdBy,
      fitId: req.fitId ?? null,
      fitRound: req.fitRound ?? null,
    }, (tx, q) => deps.audit.record({
      type: 'query.created',
      actor: q.createdBy,
      details: {
        queryId: q.queryId,
        requester: q.createdBy,
        purpose: purpose.name,
        legalBasis: purpose.legalBasis,
        kind: q.kind,
        specDigest: toHex(q.specDigest),
        thresholds: { minMerchants: q.minMerchants, minSubjects: effectiveMinSubjects(deps.minSubjects, purpose) },
        disclosureMode: purpose.disclosure?.mode ?? 'exact',
        termsDigest: toHex(blake2b256(Buffer.from(termsJson, 'utf8'))),
        ...(q.fitId === null ? {} : { fitId: q.fitId, fitRound: q.fitRound ?? 0 }),
      },
    }, tx).then(() => req.alsoInTx?.(tx, q)));
  }
}
