/**
 * HTTP API for people and scripts (marketers asking for segment statistics).
 * `buildHttpApp` never listens, so tests drive it with `inject`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { toHex } from '../crypto/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { PurposeStore } from './purpose-registry.js';
import { registerAuditRoutes } from './audit-routes.js';
import type { QueryService } from './query-service.js';
import type { FitRecord, FitRunner } from './fit-runner.js';
import { HttpProblem, PROBLEMS, problemBody } from './problems.js';
import type { CoordinatorStore, QueryRecord } from './store.js';

export interface HttpAppDeps {
  readonly store: CoordinatorStore;
  readonly queries: QueryService;
  readonly fits: FitRunner;
  readonly audit: AuditTrail;
  readonly purposes: PurposeStore;
  /** The operator's API token; only its SHA-256 is kept. */
  readonly apiToken: string;
  readonly logger: Logger;
  readonly onQueryCreated?: (queryId: string) => void;
}

const createQueryBody = z.object({
  kind: z.string().min(1).max(64),
  spec: z.record(z.string(), z.unknown()),
  targetMerchants: z.number().int().min(1).max(10_000).optional(),
  minMerchants: z.number().int().min(2).max(10_000).optional(),
  maxContributors: z.number().int().min(1).max(10_000).optional(),
  deadlineSeconds: z.number().int().min(1).max(30 * 24 * 3600).optional(),
  /** Consent cutoff (ISO-8601); defaults to the time of creation. */
  cutoff: z.iso.datetime({ offset: true }).optional(),
}).strict();

const queryIdParams = z.object({ id: z.string().min(1).max(128) });

const createFitBody = z.object({
  kind: z.string().min(1).max(64),
  spec: z.record(z.string(), z.unknown()),
  targetMerchants: z.number().int().min(1).max(10_000).optional(),
  minMerchants: z.number().int().min(2).max(10_000).optional(),
  roundDeadlineSeconds: z.number().int().min(1).max(24 * 3600).optional(),
}).strict();

function fitView(f: FitRecord): Record<string, unknown> {
  return {
    fitId: f.fitId,
    kind: f.kind,
    spec: f.spec,
    purpose: f.purpose,
    status: f.status,
    statusReason: f.statusReason,
    round: f.round,
    targetMerchants: f.targetMerchants,
    minMerchants: f.minMerchants,
    model: f.model,
    evaluation: f.evaluation,
    createdAt: f.createdAt.toISOString(),
    finishedAt: f.finishedAt?.toISOString() ?? null,
  };
}

function queryView(q: QueryRecord, contributions: number): Record<string, unknown> {
  return {
    queryId: q.queryId,
    kind: q.kind,
    spec: JSON.parse(q.specJson) as unknown,
    status: q.status,
    statusReason: q.statusReason,
    contributions,
    targetMerchants: q.targetMerchants,
    minMerchants: q.minMerchants,
    maxContributors: q.maxContributors,
    purpose: q.purpose,
    cutoff: q.cutoff.toISOString(),
    deadline: q.deadline.toISOString(),
    createdAt: q.createdAt.toISOString(),
  };
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new HttpProblem('VALIDATION_FAILED', issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid');
  }
  return r.data;
}

export function buildHttpApp(deps: HttpAppDeps): FastifyInstance {
  const tokenHash = createHash('sha256').update(deps.apiToken).digest();
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: 64 * 1024 });

  app.setErrorHandler((err, request, reply) => {
    let code: keyof typeof PROBLEMS = 'INTERNAL';
    let detail: string | undefined;
    if (err instanceof HttpProblem) {
      code = err.code;
      detail = err.detail;
    } else if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      code = 'PAYLOAD_TOO_LARGE';
    } else if ((err as { statusCode?: number }).statusCode === 400) {
      code = 'VALIDATION_FAILED';
      detail = err instanceof Error ? err.message : undefined;
    } else {
      request.log.error({ err }, 'request failed');
    }
    void reply.status(PROBLEMS[code].status).type('application/problem+json').send(problemBody(code, detail, request.url));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).type('application/problem+json').send(problemBody('NOT_FOUND', undefined, request.url));
  });

  app.addHook('onRequest', async (request) => {
    if (request.url === '/healthz') return;
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const presented = createHash('sha256').update(token).digest();
    if (token.length === 0 || !timingSafeEqual(presented, tokenHash)) {
      const route = (request.routeOptions.url ?? 'unknown').replace(/[^\x21-\x7e]/g, '?').slice(0, 256) || 'unknown';
      await deps.audit.record({ type: 'auth.failed', actor: 'coordinator', details: { surface: 'http', route, reason: token.length === 0 ? 'TOKEN_MISSING' : 'TOKEN_INVALID' } });
      throw new HttpProblem('UNAUTHENTICATED');
    }
  });

  app.get('/healthz', async () => ({ ok: true }));

  app.post('/v1/queries', async (request, reply) => {
    const body = parse(createQueryBody, request.body);
    const query = await deps.queries.create({
      kind: body.kind,
      spec: body.spec,
      targetMerchants: body.targetMerchants,
      minMerchants: body.minMerchants,
      maxContributors: body.maxContributors,
      deadlineSeconds: body.deadlineSeconds,
      cutoff: body.cutoff ? new Date(body.cutoff) : undefined,
      createdBy: 'operator',
    });
    deps.onQueryCreated?.(query.queryId);
    return reply.status(201).send(queryView(query, 0));
  });

  app.get('/v1/queries', async () => {
    const queries = await deps.store.listQueries();
    return { queries: await Promise.all(queries.map(async (q) => queryView(q, await deps.store.contributionCount(q.queryId)))) };
  });

  app.get('/v1/queries/:id', async (request) => {
    const { id } = parse(queryIdParams, request.params);
    const q = await deps.store.getQuery(id);
    if (!q) throw new HttpProblem('QUERY_NOT_FOUND', `no query ${id}`);
    const release = q.status === 'released' ? await deps.store.getRelease(id) : undefined;
    return {
      ...queryView(q, await deps.store.contributionCount(id)),
      result: release ? (JSON.parse(release.resultJson) as unknown) : null,
    };
  });

  app.get('/v1/queries/:id/release', async (request) => {
    const { id } = parse(queryIdParams, request.params);
    const q = await deps.store.getQuery(id);
    if (!q) throw new HttpProblem('QUERY_NOT_FOUND', `no query ${id}`);
    const release = await deps.store.getRelease(id);
    if (!release) throw new HttpProblem('RELEASE_NOT_READY', `query ${id} is ${q.status}`);
    return {
      release: JSON.parse(release.releaseJson) as unknown,
      releaseJson: release.releaseJson,
      keyholderSigningKey: toHex(release.keyholderSigningKey),
      signature: toHex(release.signature),
    };
  });

  app.post('/v1/fits', async (request, reply) => {
    const body = parse(createFitBody, request.body);
    const fit = await deps.fits.create({ ...body, createdBy: 'operator' });
    deps.onQueryCreated?.(fit.fitId);
    return reply.status(201).send(fitView(fit));
  });

  app.get('/v1/fits', async () => ({ fits: (await deps.fits.list()).map(fitView) }));

  app.get('/v1/fits/:id', async (request) => {
    const { id } = parse(queryIdParams, request.params);
    const fit = await deps.fits.get(id);
    if (!fit) throw new HttpProblem('FIT_NOT_FOUND', `no fit ${id}`);
    return fitView(fit);
  });

  registerAuditRoutes(app, { audit: deps.audit, purposes: deps.purposes });
  return app;
}
