/**
 * HTTP API for people and scripts, and the web console. `buildHttpApp`
 * never listens, so tests drive it with `inject`.
 *
 * The routes come from tables (`http-query-routes.ts`, `audit-routes.ts`,
 * `http-admin-routes.ts`, `http-console.ts`) registered by `http-routes.ts`,
 * which authenticates the bearer token, applies per-token rate limits,
 * checks the caller's role and parses every input with zod; the same tables
 * produce the OpenAPI document at /openapi.json and the page at /docs.
 * Errors are problem+json with a stable code (`problems.ts`); domain code
 * throws transport-free errors that become problems only here
 * (`http-problem-map.ts`). 5xx answers never carry internals.
 *
 * The server under the app is bounded too: header, request, idle and TLS
 * handshake timeouts (`http-server-limits.ts`), connection caps per client
 * address and in total (`http-connection-caps.ts`), and the answers Node's
 * HTTP layer would make itself (parse errors, 431, 408, `Expect`) are
 * problem+json with fixed bodies (`http-client-errors.ts`). Every id in a
 * path or body passes one check before any route sees it (`http-id-guard.ts`).
 */
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AuditTrail } from './audit-trail.js';
import { auditRoutes } from './audit-routes.js';
import { UserStore } from './auth-store.js';
import { adminRoutes } from './http-admin-routes.js';
import { answerExpectations, clientErrorHandler, requireHostHeader } from './http-client-errors.js';
import { capConnections } from './http-connection-caps.js';
import { consoleRoutes } from './http-console.js';
import { healthRoutes } from './http-health-routes.js';
import { HTTP_ID_MAX_LENGTH } from './http-id-guard.js';
import { metricsRoute } from './http-metrics-route.js';
import { CoordinatorMetrics } from './metrics.js';
import { JobRegistry } from './http-jobs.js';
import { queryRoutes } from './http-query-routes.js';
import { FixedWindowLimiter, type RateLimitOptions } from './http-rate-limit.js';
import { sharedRateWindows, type RateWindows } from './rate-windows.js';
import { RenderSlots } from './render-slots.js';
import { fastifyServerOptions, resolveHttpServerLimits, type HttpServerLimits } from './http-server-limits.js';
import { defineRoute, rateLimited, registerRoutes, RouteReply, type ApiRoute } from './http-routes.js';
import { buildOpenApiDocument, renderDocsPage } from './openapi.js';
import type { PurposeStore } from './purpose-registry.js';
import type { QueryService } from './query-service.js';
import type { FitRunner } from './fit-runner.js';
import { problemOf } from './http-problem-map.js';
import { PROBLEMS, problemBody } from './problems.js';
import { ReadinessProbe } from './readiness.js';
import { TRACER_NAME } from './tracing.js';
import { LOG_REDACT } from '../protos/log-redact.js';
import type { CoordinatorStore } from './store.js';

export interface HttpAppDeps {
  readonly store: CoordinatorStore;
  readonly queries: QueryService;
  readonly fits: FitRunner;
  readonly audit: AuditTrail;
  readonly purposes: PurposeStore;
  /** The bootstrap administrator's API token (FEDMART_API_TOKEN); only its SHA-256 is kept. */
  readonly apiToken: string;
  readonly logger: Logger;
  readonly onQueryCreated?: (queryId: string) => void;
  /** The key holder's k threshold, shown with each query (default 10). */
  readonly minSubjects?: number;
  /** Requests per caller per window (default 600 a minute). */
  readonly rateLimit?: RateLimitOptions;
  /** Failed authentications per client address per window before 429 (default 60 a minute). */
  readonly authFailureLimit?: RateLimitOptions;
  /** Requests without a token (public routes, console files, unknown routes) per client address per window (default 1200 a minute). */
  readonly publicRateLimit?: RateLimitOptions;
  /** Chromium for PDF reports: a path, null for none, undefined to look for one. */
  readonly chromium?: string | null;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  readonly https?: { readonly cert: string | Uint8Array; readonly key: string | Uint8Array };
  /** Timeouts and connection caps of the server (defaults: `DEFAULT_HTTP_SERVER_LIMITS`). */
  readonly serverLimits?: Partial<HttpServerLimits>;
  /** What `/readyz` reports (default: the database and its schema, no key holder). */
  readonly readiness?: ReadinessProbe;
  /** What `/metrics` shows (default: a registry of this app's own, with the database figures). */
  readonly metrics?: CoordinatorMetrics;
  /** A token (at least 16 characters) that opens `/metrics` and nothing else, for a Prometheus server (FEDMART_METRICS_TOKEN). */
  readonly metricsToken?: string;
  /** Export jobs (default: a registry on `store.db` made from `coordinatorId` and `jobLeaseMs`); the app sweeps it while it runs. */
  readonly jobs?: JobRegistry;
  /** This process's name on the export jobs it runs (default random). */
  readonly coordinatorId?: string;
  /** How long a claim on a running export job lasts unless renewed (default 30 s); another coordinator takes over after it. */
  readonly jobLeaseMs?: number;
  /** Chromium renders (PDF reports) this process runs at once; more wait (default 2). */
  readonly maxConcurrentRenders?: number;
  /** Rate-limit counters in the database (default: on PostgreSQL, counters on `store.db` shared with every coordinator on it; on PGlite, none). */
  readonly rateWindows?: RateWindows;
}

/** Every API route (not yet registered), for the app, the OpenAPI document and tests. */
export function apiRoutes(deps: HttpAppDeps, users: UserStore, jobs: JobRegistry, renders = new RenderSlots(deps.maxConcurrentRenders ?? 2)): ApiRoute[] {
  const routes: ApiRoute[] = [
    ...healthRoutes(deps.readiness ?? new ReadinessProbe({ db: deps.store.db, logger: deps.logger })),
    metricsRoute(deps.metrics ?? new CoordinatorMetrics({ db: deps.store.db, logger: deps.logger }), deps.metricsToken),
    ...queryRoutes({ store: deps.store, queries: deps.queries, fits: deps.fits, minSubjects: deps.minSubjects ?? 10, onQueryCreated: deps.onQueryCreated }),
    ...auditRoutes({ audit: deps.audit, purposes: deps.purposes, jobs, chromium: deps.chromium, renders }),
    ...adminRoutes({ store: deps.store, users, purposes: deps.purposes, audit: deps.audit }),
  ];
  let doc: Record<string, unknown> | undefined;
  const document = () => (doc ??= buildOpenApiDocument(routes));
  routes.push(
    defineRoute({
      method: 'GET', url: '/openapi.json', operationId: 'openapi', tag: 'service', summary: 'This OpenAPI 3.1 document',
      roles: 'public',
      responses: { 200: { description: 'OpenAPI document', schema: z.record(z.string(), z.unknown()) } },
      handler: async () => document(),
    }),
    defineRoute({
      method: 'GET', url: '/docs', operationId: 'docs', tag: 'service', summary: 'API reference page (static HTML from the OpenAPI document)',
      roles: 'public',
      responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
      handler: async () => new RouteReply(200, renderDocsPage(document()), {
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'x-content-type-options': 'nosniff',
      }, 'text/html; charset=utf-8'),
    }),
    ...consoleRoutes(),
  );
  return routes;
}

/**
 * Errors fastify's router raises before any route runs (a path parameter
 * longer than `HTTP_ID_MAX_LENGTH` characters once percent-decoded, a
 * malformed percent-encoding) answer problem+json like every other error.
 */
function frameworkErrors(err: { code?: string; message: string }, request: FastifyRequest, reply: FastifyReply): void {
  const code: keyof typeof PROBLEMS = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'URI_TOO_LONG' : 'VALIDATION_FAILED';
  void reply.status(PROBLEMS[code].status).type('application/problem+json')
    .send(problemBody(code, code === 'URI_TOO_LONG' ? `a path parameter is longer than ${HTTP_ID_MAX_LENGTH} characters` : 'the URL is not valid', request.url));
}

/**
 * One OpenTelemetry server span per request (a no-op unless tracing was
 * started, see tracing.ts), named by the route's pattern: the method, the
 * pattern and the status code, never the URL, headers or body.
 */
function traceRequests(app: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url ?? 'unmatched';
    spans.set(request, trace.getTracer(TRACER_NAME).startSpan(`HTTP ${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'http.route': route },
    }));
  });
  const end = (request: FastifyRequest, statusCode: number | undefined) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    if (statusCode !== undefined) span.setAttribute('http.response.status_code', statusCode);
    if (statusCode === undefined || statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  app.addHook('onResponse', async (request, reply) => end(request, reply.statusCode));
  app.addHook('onRequestAbort', async (request) => end(request, undefined));
}

/** Largest request body (JSON) any route takes. */
const BODY_LIMIT = 64 * 1024;

export function buildHttpApp(deps: HttpAppDeps): FastifyInstance {
  const pem = (v: string | Uint8Array) => (typeof v === 'string' ? v : Buffer.from(v));
  // Credentials in headers or token fields never reach a log line (defence in depth).
  const httpLog = deps.logger.child({}, { redact: LOG_REDACT }) as FastifyBaseLogger;
  // Timeouts, connection caps and answers made below fastify: `http-server-limits.ts`, `http-client-errors.ts`.
  const limits = resolveHttpServerLimits(deps.serverLimits);
  const { tlsOptions, http: httpOptions, ...timeouts } = fastifyServerOptions(limits);
  // The router takes path parameters as long as the longest id (fastify's default is 100), so ids of
  // 101 to 128 characters reach their route as documented; a longer one is 414 URI_TOO_LONG problem+json.
  const routerOptions = { maxParamLength: HTTP_ID_MAX_LENGTH };
  const common = { loggerInstance: httpLog, bodyLimit: BODY_LIMIT, routerOptions, frameworkErrors, clientErrorHandler: clientErrorHandler(deps.logger), ...timeouts };
  // An https fastify differs from the http one only in its server type, which callers never touch.
  const app = (deps.https
    ? Fastify({ ...common, https: { ...tlsOptions, cert: pem(deps.https.cert), key: pem(deps.https.key) } })
    : Fastify({ ...common, http: httpOptions })) as unknown as FastifyInstance;
  capConnections(app.server, limits, deps.logger);
  answerExpectations(app.server, BODY_LIMIT);
  requireHostHeader(app);
  traceRequests(app);
  // JSON only: any other body type is 415 UNSUPPORTED_MEDIA_TYPE.
  app.removeContentTypeParser('text/plain');
  const users = new UserStore(deps.store.db, deps.audit, deps.apiToken);
  // Export jobs live in the database; this app runs the ones it starts and takes over those of a coordinator that died.
  const jobs = deps.jobs ?? new JobRegistry(deps.store.db, deps.logger, {
    ...(deps.coordinatorId === undefined ? {} : { coordinatorId: deps.coordinatorId }),
    ...(deps.jobLeaseMs === undefined ? {} : { leaseMs: deps.jobLeaseMs }),
  });
  app.addHook('onReady', async () => jobs.startSweeping());
  // A clean close hands the jobs running here over to the other coordinators (http-jobs.ts).
  app.addHook('onClose', async () => {
    await jobs.shutdown();
  });
  // On PostgreSQL rate limits count in the database, so that every coordinator on it enforces one limit per key.
  const windows = deps.rateWindows ?? sharedRateWindows(deps.store.db, deps.logger);
  const counted = (name: string) => (windows ? { windows, name } : undefined);

  app.setErrorHandler((err, request, reply) => {
    let code: keyof typeof PROBLEMS = 'INTERNAL';
    let detail: string | undefined;
    const fastifyCode = (err as { code?: string }).code;
    // Route refusals (HttpProblem) and domain refusals (RequestError, the round's RoundError): `http-problem-map.ts`.
    const known = problemOf(err);
    if (known) {
      code = known.code;
      detail = known.detail;
    } else if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      code = 'PAYLOAD_TOO_LARGE';
    } else if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      code = 'UNSUPPORTED_MEDIA_TYPE';
    } else if ((err as { statusCode?: number }).statusCode === 400) {
      code = 'VALIDATION_FAILED';
      detail = err instanceof Error ? err.message : undefined;
    } else {
      request.log.error({ err }, 'request failed');
    }
    void reply.status(PROBLEMS[code].status).type('application/problem+json').send(problemBody(code, detail, request.url));
  });
  const publicLimiter = new FixedWindowLimiter(deps.publicRateLimit ?? { limit: 1200, windowMs: 60_000 }, counted('http.public'));
  app.setNotFoundHandler(async (request, reply) => {
    const limit = await publicLimiter.take(request.ip);
    if (!limit.ok) {
      const problem = rateLimited(reply, limit.retryAfterSeconds);
      return reply.status(429).type('application/problem+json').send(problemBody('RATE_LIMITED', problem.detail, request.url));
    }
    return reply.status(404).type('application/problem+json').send(problemBody('NOT_FOUND', undefined, request.url));
  });

  registerRoutes(app, apiRoutes(deps, users, jobs), {
    users,
    audit: deps.audit,
    limiter: new FixedWindowLimiter(deps.rateLimit ?? { limit: 600, windowMs: 60_000 }, counted('http.user')),
    failureLimiter: new FixedWindowLimiter(deps.authFailureLimit ?? { limit: 60, windowMs: 60_000 }, counted('http.auth-failure')),
    publicLimiter,
  });
  return app;
}
