/**
 * The HTTP API as a table of route definitions. Each route states who may
 * call it (roles), zod schemas for params, query, body and every response,
 * and a handler. From the table come:
 *
 * - the fastify routes, with authentication, per-token rate limits and the
 *   role check in an `onRequest` hook (before any body is looked at), then
 *   the shared id check (`http-id-guard.ts`), then zod parsing of params,
 *   query and body, then the handler, whose answer is
 *   checked against the response schema before it is sent;
 * - the OpenAPI 3.1 document (`openapi.ts`);
 * - the route × role tests (`test/coordinator/http-roles.test.ts`).
 *
 * Purpose grants and a merchant operator's own shop depend on the data a
 * request touches, so handlers check them with `ctx.requirePurpose` and
 * `ctx.requireMerchant`. Every denial is an `auth.failed` audit entry with
 * the reason (TOKEN_MISSING, TOKEN_INVALID, TOKEN_REVOKED, ROLE_FORBIDDEN,
 * PURPOSE_NOT_GRANTED, NOT_OWN_MERCHANT) and the caller's id as actor.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditTrail } from './audit-trail.js';
import type { UserStore } from './auth-store.js';
import { purposeGranted, type Principal, type Role } from './auth.js';
import { checkRequestIds } from './http-id-guard.js';
import type { FixedWindowLimiter } from './http-rate-limit.js';
import { HttpProblem, PROBLEMS, type ProblemCode } from './problems.js';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** One documented response of a route. */
export interface ResponseSpec {
  readonly description: string;
  /** JSON body schema; absent for non-JSON bodies. */
  readonly schema?: z.ZodType;
  /** Content type when not JSON (e.g. `text/html`, `application/pdf`). */
  readonly contentType?: string;
}

/** What a handler may return instead of a plain JSON body. */
export class RouteReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
    /** Sent as is (Buffer or string) with this content type, not as JSON. */
    readonly contentType?: string,
  ) {}
}

export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The caller (an `anonymous` principal without grants on public routes). */
  readonly principal: Principal;
  readonly request: FastifyRequest;
  /** Throws PURPOSE_NOT_GRANTED (audited) unless the caller is granted `purpose` or is not purpose-scoped. */
  requirePurpose(purpose: string): Promise<void>;
  /** Throws NOT_OWN_MERCHANT (audited) when a merchant operator asks about another shop. */
  requireMerchant(merchantId: string): Promise<void>;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteDefinition<PS extends z.ZodType | undefined, QS extends z.ZodType | undefined, BS extends z.ZodType | undefined> {
  readonly method: HttpMethod;
  /** fastify path, e.g. `/v1/queries/:id`. */
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  /** Roles that may call the route (the bootstrap administrator always may), or `public`. */
  readonly roles: readonly Role[] | 'public';
  /** True when marketers may only use it for granted purposes (documentation; the handler checks). */
  readonly purposeScoped?: boolean;
  readonly params?: PS;
  readonly query?: QS;
  readonly body?: BS;
  /** Responses by status; the first 2xx is the default status of a plain handler answer. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Problem codes the route may answer with besides the common ones. */
  readonly problems?: readonly ProblemCode[];
  /** Not in the OpenAPI document (static console files); limited per client address like every public route. */
  readonly hidden?: boolean;
  /**
   * A credential other than an API token that opens this one route (the
   * metrics scrape token). A request it accepts is served without a
   * principal and limited per client address like a public route.
   */
  readonly acceptsCredential?: (request: FastifyRequest) => boolean;
  handler(ctx: RouteContext<Out<PS>, Out<QS>, Out<BS>>): Promise<unknown>;
}

/** A route with its types erased, as kept in the table. */
export type ApiRoute = RouteDefinition<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/** Declares a route; the generic parameters type the handler's params, query and body. */
export function defineRoute<PS extends z.ZodType | undefined = undefined, QS extends z.ZodType | undefined = undefined, BS extends z.ZodType | undefined = undefined>(
  def: RouteDefinition<PS, QS, BS>,
): ApiRoute {
  return def;
}

/** The problem+json body every error answers with. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.enum(Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]),
  detail: z.string().optional(),
  instance: z.string(),
}).meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable fedmart code' });

/** Codes a route answers with by role: unauthenticated, forbidden, rate limited. */
export function commonProblems(route: ApiRoute): ProblemCode[] {
  const out: ProblemCode[] = ['INTERNAL'];
  if (route.roles !== 'public') out.push('UNAUTHENTICATED', 'ROLE_FORBIDDEN', 'RATE_LIMITED');
  if (route.params || route.query || route.body) out.push('VALIDATION_FAILED');
  if (route.body) out.push('PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE');
  if (route.purposeScoped) out.push('PURPOSE_NOT_GRANTED');
  return out;
}

export function parseInput<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue ? [where, ...issue.path.map(String)].join('.') : where;
    throw new HttpProblem('VALIDATION_FAILED', issue ? `${path}: ${issue.message}` : 'invalid');
  }
  return r.data;
}

export interface RouteRuntime {
  readonly users: UserStore;
  readonly audit: AuditTrail;
  /** Per caller (user id). */
  readonly limiter: FixedWindowLimiter;
  /** Per client address, for failed authentication. */
  readonly failureLimiter: FixedWindowLimiter;
  /** Per client address, for requests without a token: public routes, console files, unknown routes. */
  readonly publicLimiter?: FixedWindowLimiter;
}

declare module 'fastify' {
  interface FastifyRequest {
    fedmartPrincipal?: Principal;
  }
}

const ANONYMOUS: Principal = { id: 'anonymous', role: 'marketer', purposes: [], merchantId: null, bootstrap: false };

function routeLabel(request: FastifyRequest): string {
  return (request.routeOptions.url ?? 'unknown').replace(/[^\x21-\x7e]/g, '?').slice(0, 256) || 'unknown';
}

/** Records an `auth.failed` entry. */
async function recordDenial(rt: RouteRuntime, request: FastifyRequest, actor: string, reason: string): Promise<void> {
  await rt.audit.record({ type: 'auth.failed', actor, details: { surface: 'http', route: routeLabel(request), reason } });
}

function bearer(request: FastifyRequest): string {
  const header = request.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? header.slice(7).trim() : '';
}

export function rateLimited(reply: FastifyReply, retryAfterSeconds: number): HttpProblem {
  void reply.header('retry-after', String(retryAfterSeconds));
  return new HttpProblem('RATE_LIMITED', `retry after ${retryAfterSeconds} s`);
}

/** Registers every route of `routes` on `app`. */
export function registerRoutes(app: FastifyInstance, routes: readonly ApiRoute[], rt: RouteRuntime): void {
  for (const route of routes) {
    const successStatus = Number(Object.keys(route.responses).find((s) => Number(s) >= 200 && Number(s) < 300) ?? 200);
    app.route({
      method: route.method,
      url: route.url,
      onRequest: async (request, reply) => {
        if (route.roles === 'public' || route.acceptsCredential?.(request)) {
          const limit = await rt.publicLimiter?.take(request.ip);
          if (limit && !limit.ok) throw rateLimited(reply, limit.retryAfterSeconds);
          return;
        }
        const auth = await rt.users.authenticate(bearer(request));
        if (!auth.ok) {
          const limit = await rt.failureLimiter.take(request.ip);
          if (!limit.ok) throw rateLimited(reply, limit.retryAfterSeconds);
          await recordDenial(rt, request, 'anonymous', auth.reason);
          throw new HttpProblem('UNAUTHENTICATED');
        }
        const principal = auth.principal;
        const limit = await rt.limiter.take(principal.id);
        if (!limit.ok) throw rateLimited(reply, limit.retryAfterSeconds);
        request.fedmartPrincipal = principal;
        if (!principal.bootstrap && !route.roles.includes(principal.role)) {
          await recordDenial(rt, request, principal.id, 'ROLE_FORBIDDEN');
          throw new HttpProblem('ROLE_FORBIDDEN', `${principal.role} may not call ${route.method} ${route.url}`);
        }
      },
      // After authentication and body parsing, before the route's schemas: one id check for every route.
      preValidation: async (request) => checkRequestIds(request),
      handler: async (request, reply) => {
        const principal = request.fedmartPrincipal ?? ANONYMOUS;
        const ctx: RouteContext<unknown, unknown, unknown> = {
          params: route.params ? parseInput(route.params, request.params, 'params') : undefined,
          query: route.query ? parseInput(route.query, request.query ?? {}, 'query') : undefined,
          body: route.body ? parseInput(route.body, request.body, 'body') : undefined,
          principal,
          request,
          requirePurpose: async (purpose) => {
            if (principal.role !== 'marketer' || purposeGranted(principal, purpose)) return;
            await recordDenial(rt, request, principal.id, 'PURPOSE_NOT_GRANTED');
            throw new HttpProblem('PURPOSE_NOT_GRANTED', `you are not granted the purpose ${purpose}`);
          },
          requireMerchant: async (merchantId) => {
            if (principal.role !== 'merchant' || principal.merchantId === merchantId) return;
            await recordDenial(rt, request, principal.id, 'NOT_OWN_MERCHANT');
            throw new HttpProblem('NOT_OWN_MERCHANT', 'you may only see your own shop');
          },
        };
        const answer = await route.handler(ctx);
        const out = answer instanceof RouteReply ? answer : new RouteReply(successStatus, answer);
        const spec = route.responses[out.status];
        if (!spec) {
          request.log.error({ route: route.operationId, status: out.status }, 'route answered with an undocumented status');
          throw new Error('undocumented status');
        }
        if (spec.schema) {
          const checked = spec.schema.safeParse(out.body);
          if (!checked.success) {
            request.log.error({ route: route.operationId, issues: checked.error.issues.slice(0, 3) }, 'response does not match its schema');
            throw new Error('response schema mismatch');
          }
        }
        void reply.status(out.status);
        for (const [k, v] of Object.entries(out.headers)) void reply.header(k, v);
        if (out.contentType) void reply.type(out.contentType);
        return reply.send(out.body);
      },
    });
  }
}
