/**
 * Routes for marketers: publish queries and model fits for granted purposes,
 * watch their progress, read released results. Also `GET /v1/me` (who am I,
 * for every role) and the query and model kinds on offer.
 */
import { z } from 'zod';
import { MAX_ROUND_CONTRIBUTORS } from '../round/index.js';
import { toHex } from '../crypto/index.js';
import { disclosureRoleOf, explainReason, getModelDefinition, getQueryDefinition, listModelKinds, listQueryKinds, type DisclosureRole, type ReasonParams } from '../analytics/index.js';
import type { PurposeDefinition } from '../compliance/index.js';
import { ROLES, type Principal } from './auth.js';
import type { FitRecord, FitRunner } from './fit-runner.js';
import { defineRoute, type ApiRoute } from './http-routes.js';
import { HttpProblem } from './problems.js';
import { effectiveMinSubjects, type QueryService } from './query-service.js';
import type { CoordinatorStore, QueryRecord } from './store.js';

export interface QueryRouteDeps {
  readonly store: CoordinatorStore;
  readonly queries: QueryService;
  readonly fits: FitRunner;
  /** The key holder's k floor; a query shows the k of its purpose (see `effectiveMinSubjects`). */
  readonly minSubjects: number;
  readonly onQueryCreated?: ((queryId: string) => void) | undefined;
}

const iso = z.string().meta({ format: 'date-time' });

export const createQueryBody = z.object({
  kind: z.string().min(1).max(64),
  spec: z.record(z.string(), z.unknown()),
  targetMerchants: z.number().int().min(1).max(MAX_ROUND_CONTRIBUTORS).optional(),
  minMerchants: z.number().int().min(2).max(MAX_ROUND_CONTRIBUTORS).optional(),
  maxContributors: z.number().int().min(1).max(MAX_ROUND_CONTRIBUTORS).optional(),
  deadlineSeconds: z.number().int().min(1).max(30 * 24 * 3600).optional(),
  /** Consent cutoff (ISO-8601); defaults to the time of creation. */
  cutoff: z.iso.datetime({ offset: true }).optional(),
}).strict().meta({ id: 'CreateQuery' });

export const createFitBody = z.object({
  kind: z.string().min(1).max(64),
  spec: z.record(z.string(), z.unknown()),
  targetMerchants: z.number().int().min(1).max(10_000).optional(),
  minMerchants: z.number().int().min(2).max(10_000).optional(),
  roundDeadlineSeconds: z.number().int().min(1).max(24 * 3600).optional(),
}).strict().meta({ id: 'CreateFit' });

export const idParams = z.object({ id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/) }).strict();

/** A text in English and Simplified Chinese. */
export const reasonTextSchema = z.object({ en: z.string(), zh: z.string() }).meta({ id: 'ReasonText' });

export const queryViewSchema = z.object({
  queryId: z.string(),
  kind: z.string(),
  spec: z.unknown(),
  status: z.enum(['open', 'closing', 'released', 'failed']),
  statusReason: z.string().nullable(),
  /** Stable code of a failure (the key holder's refusal code or the coordinator's own); null unless failed. */
  statusCode: z.string().nullable(),
  /** What the failure means and what to do, for a marketer; null unless failed with a code. */
  explanation: reasonTextSchema.nullable(),
  contributions: z.number().int().min(0),
  targetMerchants: z.number().int(),
  minMerchants: z.number().int(),
  minSubjects: z.number().int(),
  maxContributors: z.number().int(),
  purpose: z.string(),
  requester: z.string(),
  fitId: z.string().nullable(),
  fitRound: z.number().int().nullable(),
  cutoff: iso,
  deadline: iso,
  createdAt: iso,
}).meta({ id: 'Query' });

export const queryWithResultSchema = queryViewSchema.extend({ result: z.unknown().nullable() }).meta({ id: 'QueryWithResult' });

export const releaseViewSchema = z.object({
  release: z.unknown(),
  releaseJson: z.string(),
  keyholderSigningKey: z.string().regex(/^[0-9a-f]{64}$/),
  signature: z.string().regex(/^[0-9a-f]+$/),
}).meta({ id: 'Release' });

export const fitViewSchema = z.object({
  fitId: z.string(),
  kind: z.string(),
  spec: z.unknown(),
  purpose: z.string(),
  status: z.enum(['running', 'evaluating', 'done', 'failed']),
  statusReason: z.string().nullable(),
  /** Stable code of a failure (the failed round's code, or FIT_CANNOT_CONTINUE); null unless failed. */
  statusCode: z.string().nullable(),
  /** What the failure means and what to do, for a marketer; null unless failed with a code. */
  explanation: reasonTextSchema.nullable(),
  round: z.number().int(),
  targetMerchants: z.number().int(),
  minMerchants: z.number().int(),
  /**
   * Rounds that closed with fewer than minMerchants shops (nothing was
   * decrypted) and were published again with the same state, oldest first;
   * see "Slow shops in fits" in docs/operations.md.
   */
  retries: z.array(z.object({
    round: z.number().int(),
    /** The attempt of the round that failed (1 = as first published). */
    attempt: z.number().int(),
    code: z.string(),
    /** Shops that had answered the failed attempt. */
    contributions: z.number().int(),
    failedAt: iso.nullable(),
  })),
  model: z.unknown().nullable(),
  evaluation: z.unknown().nullable(),
  createdAt: iso,
  finishedAt: iso.nullable(),
}).meta({ id: 'Fit' });

export const meSchema = z.object({
  id: z.string(),
  role: z.enum(ROLES),
  purposes: z.array(z.string()),
  merchantId: z.string().nullable(),
  bootstrap: z.boolean(),
}).meta({ id: 'Me' });

/**
 * A fit as marketers see it. `params` fills the explanation of a failure
 * (k and m of the fit's purpose, from {@link explanationParams} of its
 * latest round); without it the letters stand in the text.
 */
export function fitView(f: FitRecord, params: ReasonParams = { m: f.minMerchants }): z.infer<typeof fitViewSchema> {
  return {
    fitId: f.fitId,
    kind: f.kind,
    spec: f.spec,
    purpose: f.purpose,
    status: f.status,
    statusReason: f.statusReason,
    statusCode: f.statusCode,
    explanation: f.status === 'failed' && f.statusCode !== null ? explainReason(f.statusCode, params) : null,
    round: f.round,
    targetMerchants: f.targetMerchants,
    minMerchants: f.minMerchants,
    retries: f.retries.map((r) => ({ round: r.round, attempt: r.attempt, code: r.code, contributions: r.contributions, failedAt: r.failedAt?.toISOString() ?? null })),
    model: f.model ?? null,
    evaluation: f.evaluation ?? null,
    createdAt: f.createdAt.toISOString(),
    finishedAt: f.finishedAt?.toISOString() ?? null,
  };
}

/** The purpose definition stored with a query, or undefined when it does not parse. */
function storedPurpose(q: QueryRecord): PurposeDefinition | undefined {
  try {
    const p: unknown = JSON.parse(q.purposeJson);
    return typeof p === 'object' && p !== null ? (p as PurposeDefinition) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The thresholds a query's failure is explained with: the k that applies to
 * its purpose and the larger of the query's m and the purpose's own.
 */
export function explanationParams(q: QueryRecord, minSubjects: number): ReasonParams {
  const purpose = storedPurpose(q);
  const purposeM = purpose?.disclosure?.minMerchants;
  return {
    k: effectiveMinSubjects(minSubjects, purpose),
    m: typeof purposeM === 'number' && purposeM > q.minMerchants ? purposeM : q.minMerchants,
  };
}

/**
 * A query as marketers see it. `minSubjects` is the key holder's floor; the
 * view states the k that applies to the query's purpose, from the purpose
 * definition stored with the query. A failed query carries its code and
 * what it means in English and Chinese (analytics/disclosure-reasons.ts).
 */
export function queryView(q: QueryRecord, contributions: number, minSubjects: number): z.infer<typeof queryViewSchema> {
  const params = explanationParams(q, minSubjects);
  return {
    queryId: q.queryId,
    kind: q.kind,
    spec: JSON.parse(q.specJson) as unknown,
    status: q.status,
    statusReason: q.statusReason,
    statusCode: q.statusCode,
    explanation: q.status === 'failed' && q.statusCode !== null ? explainReason(q.statusCode, params) : null,
    contributions,
    targetMerchants: q.targetMerchants,
    minMerchants: q.minMerchants,
    minSubjects: params.k as number,
    maxContributors: q.maxContributors,
    purpose: q.purpose,
    requester: q.createdBy,
    fitId: q.fitId,
    fitRound: q.fitRound,
    cutoff: q.cutoff.toISOString(),
    deadline: q.deadline.toISOString(),
    createdAt: q.createdAt.toISOString(),
  };
}

/** The purpose a query would run under, or undefined when the spec is invalid (creation then fails with a coded problem). */
function purposeOfQuery(kind: string, spec: Record<string, unknown>): string | undefined {
  try {
    const def = getQueryDefinition(kind);
    return def.purposeOf(def.parseSpec({ ...spec, kind }));
  } catch {
    return undefined;
  }
}

function purposeOfFit(kind: string, spec: Record<string, unknown>): string | undefined {
  try {
    const def = getModelDefinition(kind);
    return def.purposeOf(def.parseFitSpec({ ...spec, kind }));
  } catch {
    return undefined;
  }
}

function visible(principal: Principal, purpose: string): boolean {
  return principal.role !== 'marketer' || principal.purposes.includes(purpose);
}

/** The disclosure role of a stored query's kind (`table` for kinds this coordinator no longer knows). */
function roleOfKind(kind: string): DisclosureRole {
  try {
    return disclosureRoleOf(getQueryDefinition(kind));
  } catch {
    return 'table';
  }
}

export function queryRoutes(deps: QueryRouteDeps): ApiRoute[] {
  /** The view of a fit; a failed one's explanation uses the thresholds of its latest round. */
  const viewOfFit = async (f: FitRecord): Promise<z.infer<typeof fitViewSchema>> => {
    if (f.status !== 'failed' || f.statusCode === null) return fitView(f);
    const round = await deps.store.latestRoundOfFit(f.fitId);
    return fitView(f, round ? explanationParams(round, deps.minSubjects) : { m: f.minMerchants });
  };
  const loadQuery = async (id: string): Promise<QueryRecord> => {
    const q = await deps.store.getQuery(id);
    if (!q) throw new HttpProblem('QUERY_NOT_FOUND', `no query ${id}`);
    return q;
  };
  return [
    defineRoute({
      method: 'GET', url: '/v1/me', operationId: 'getMe', tag: 'session',
      summary: 'The caller: id, role, granted purposes, own shop',
      roles: ['marketer', 'compliance', 'admin', 'merchant'],
      responses: { 200: { description: 'The caller', schema: meSchema } },
      handler: async ({ principal }) => ({ ...principal, purposes: [...principal.purposes] }),
    }),
    defineRoute({
      method: 'GET', url: '/v1/kinds', operationId: 'listKinds', tag: 'queries',
      summary: 'Query kinds and model kinds this coordinator can run',
      roles: ['marketer', 'admin'],
      responses: { 200: { description: 'Kinds', schema: z.object({ queryKinds: z.array(z.string()), modelKinds: z.array(z.string()) }) } },
      handler: async () => ({ queryKinds: listQueryKinds(), modelKinds: listModelKinds() }),
    }),
    defineRoute({
      method: 'POST', url: '/v1/queries', operationId: 'createQuery', tag: 'queries',
      summary: 'Publish a query for a granted purpose',
      roles: ['marketer'], purposeScoped: true,
      body: createQueryBody,
      responses: { 201: { description: 'Published', schema: queryViewSchema } },
      problems: ['QUERY_KIND_UNKNOWN', 'QUERY_KIND_INTERNAL', 'QUERY_SPEC_INVALID', 'OVERFLOW_RISK', 'PURPOSE_UNKNOWN', 'PIA_MISSING', 'FIELD_NOT_ALLOWED', 'CUTOFF_INVALID'],
      handler: async ({ body, principal, requirePurpose }) => {
        const purpose = purposeOfQuery(body.kind, body.spec);
        if (purpose !== undefined) await requirePurpose(purpose);
        const query = await deps.queries.create({
          kind: body.kind,
          spec: body.spec,
          targetMerchants: body.targetMerchants,
          minMerchants: body.minMerchants,
          maxContributors: body.maxContributors,
          deadlineSeconds: body.deadlineSeconds,
          cutoff: body.cutoff ? new Date(body.cutoff) : undefined,
          createdBy: principal.id,
          origin: 'person',
        });
        deps.onQueryCreated?.(query.queryId);
        return queryView(query, 0, deps.minSubjects);
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/queries', operationId: 'listQueries', tag: 'queries',
      summary: 'Your queries (a marketer\'s own; every query for the bootstrap administrator), with progress (rounds of model fits are shown under their fit)',
      roles: ['marketer'],
      responses: { 200: { description: 'Queries', schema: z.object({ queries: z.array(queryViewSchema) }) } },
      handler: async ({ principal }) => {
        // A marketer's list holds the queries they asked for, not their colleagues' work under the same purpose.
        const own = (q: QueryRecord) => principal.role !== 'marketer' || q.createdBy === principal.id;
        const queries = (await deps.store.listQueries()).filter((q) => visible(principal, q.purpose) && own(q) && roleOfKind(q.kind) !== 'fit-round');
        return { queries: await Promise.all(queries.map(async (q) => queryView(q, await deps.store.contributionCount(q.queryId), deps.minSubjects))) };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/queries/:id', operationId: 'getQuery', tag: 'queries',
      summary: 'One query: progress (merchants answered, thresholds) and, once released, its result',
      roles: ['marketer'], purposeScoped: true,
      params: idParams,
      responses: { 200: { description: 'The query', schema: queryWithResultSchema } },
      problems: ['QUERY_NOT_FOUND', 'QUERY_INTERNAL'],
      handler: async ({ params, requirePurpose }) => {
        const q = await loadQuery(params.id);
        await requirePurpose(q.purpose);
        if (roleOfKind(q.kind) === 'fit-round') {
          throw new HttpProblem('QUERY_INTERNAL', `query ${q.queryId} is round ${q.fitRound ?? '?'} of fit ${q.fitId ?? '?'}; its values stay with the fit runner: see GET /v1/fits/${q.fitId ?? ''}`);
        }
        const release = q.status === 'released' ? await deps.store.getRelease(q.queryId) : undefined;
        return { ...queryView(q, await deps.store.contributionCount(q.queryId), deps.minSubjects), result: release ? (JSON.parse(release.resultJson) as unknown) : null };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/queries/:id/release', operationId: 'getRelease', tag: 'queries',
      summary: "The key holder's signed release of a query",
      roles: ['marketer'], purposeScoped: true,
      params: idParams,
      responses: { 200: { description: 'The signed release', schema: releaseViewSchema } },
      problems: ['QUERY_NOT_FOUND', 'RELEASE_NOT_READY', 'RELEASE_INTERNAL'],
      handler: async ({ params, requirePurpose }) => {
        const q = await loadQuery(params.id);
        await requirePurpose(q.purpose);
        const role = roleOfKind(q.kind);
        if (role !== 'table') {
          throw new HttpProblem('RELEASE_INTERNAL', role === 'model'
            ? `the release of ${q.kind} query ${q.queryId} holds the model's input sums; only the fitted model (GET /v1/queries/${q.queryId}) is published`
            : `query ${q.queryId} is a round of fit ${q.fitId ?? '?'}; its values stay with the fit runner`);
        }
        const release = await deps.store.getRelease(q.queryId);
        if (!release) throw new HttpProblem('RELEASE_NOT_READY', `query ${q.queryId} is ${q.status}`);
        return {
          release: JSON.parse(release.releaseJson) as unknown,
          releaseJson: release.releaseJson,
          keyholderSigningKey: toHex(release.keyholderSigningKey),
          signature: toHex(release.signature),
        };
      },
    }),
    defineRoute({
      method: 'POST', url: '/v1/fits', operationId: 'createFit', tag: 'models',
      summary: 'Start an iterative model fit (a job of encrypted rounds) for a granted purpose',
      roles: ['marketer'], purposeScoped: true,
      body: createFitBody,
      responses: { 201: { description: 'Started; poll GET /v1/fits/{id} for status and round', schema: fitViewSchema } },
      problems: ['QUERY_KIND_UNKNOWN', 'QUERY_SPEC_INVALID', 'OVERFLOW_RISK', 'PURPOSE_UNKNOWN', 'PIA_MISSING', 'FIELD_NOT_ALLOWED'],
      handler: async ({ body, principal, requirePurpose }) => {
        const purpose = purposeOfFit(body.kind, body.spec);
        if (purpose !== undefined) await requirePurpose(purpose);
        const fit = await deps.fits.create({ ...body, createdBy: principal.id });
        deps.onQueryCreated?.(fit.fitId);
        return viewOfFit(fit);
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/fits', operationId: 'listFits', tag: 'models',
      summary: 'Your model fits (a marketer\'s own; every fit for the bootstrap administrator)',
      roles: ['marketer'],
      responses: { 200: { description: 'Fits', schema: z.object({ fits: z.array(fitViewSchema) }) } },
      handler: async ({ principal }) => {
        // As for queries: a marketer's list holds the fits they started, not their colleagues' work under the same purpose.
        const own = (f: FitRecord) => principal.role !== 'marketer' || f.createdBy === principal.id;
        return { fits: await Promise.all((await deps.fits.list()).filter((f) => visible(principal, f.purpose) && own(f)).map(viewOfFit)) };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/fits/:id', operationId: 'getFit', tag: 'models',
      summary: 'One model fit: status, round, model and held-out evaluation (score histograms for ROC curves)',
      roles: ['marketer'], purposeScoped: true,
      params: idParams,
      responses: { 200: { description: 'The fit', schema: fitViewSchema } },
      problems: ['FIT_NOT_FOUND'],
      handler: async ({ params, requirePurpose }) => {
        const fit = await deps.fits.get(params.id);
        if (!fit) throw new HttpProblem('FIT_NOT_FOUND', `no fit ${params.id}`);
        await requirePurpose(fit.purpose);
        return viewOfFit(fit);
      },
    }),
  ];
}
