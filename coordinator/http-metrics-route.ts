/**
 * `GET /metrics`: the coordinator's Prometheus metrics (`metrics.ts`).
 *
 * Who may scrape: the figures are operational, not personal, but they show
 * how busy each purpose is and how much privacy budget it has left, so they
 * are not public. An administrator's API token works (the route is in the
 * route table with role `admin`: authentication, rate limits and audited
 * denials as everywhere else). Since a Prometheus server should not hold a
 * token that can also create users, a deployment can instead give it a
 * scrape token (`FEDMART_METRICS_TOKEN`): it opens this route and nothing
 * else, is compared by SHA-256 in constant time, and requests carrying it
 * are limited per client address like public routes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { defineRoute, RouteReply, type ApiRoute } from './http-routes.js';
import type { CoordinatorMetrics } from './metrics.js';

/** Shortest scrape token accepted: as for API tokens, it must not be guessable. */
export const MIN_METRICS_TOKEN_LENGTH = 16;

/** Raised at start for a scrape token too short to be a secret. */
export class MetricsTokenError extends Error {
  readonly code = 'METRICS_TOKEN_INVALID';
  constructor() {
    super(`the metrics scrape token must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`);
    this.name = 'MetricsTokenError';
  }
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** A check of `Authorization: Bearer <scrape token>`, or undefined without a configured token. */
export function scrapeTokenCheck(token: string | undefined): ((request: FastifyRequest) => boolean) | undefined {
  if (token === undefined) return undefined;
  if (token.length < MIN_METRICS_TOKEN_LENGTH) throw new MetricsTokenError();
  const expected = sha256(token);
  return (request) => {
    const header = request.headers.authorization ?? '';
    if (!header.startsWith('Bearer ') || header.length > 600) return false;
    return timingSafeEqual(sha256(header.slice(7).trim()), expected);
  };
}

export function metricsRoute(metrics: CoordinatorMetrics, scrapeToken?: string): ApiRoute {
  const scrape = scrapeTokenCheck(scrapeToken);
  return defineRoute({
    method: 'GET', url: '/metrics', operationId: 'getMetrics', tag: 'service',
    summary: 'Prometheus metrics (text exposition format); an administrator\'s token or the scrape token FEDMART_METRICS_TOKEN',
    roles: ['admin'],
    ...(scrape ? { acceptsCredential: scrape } : {}),
    responses: { 200: { description: 'Metrics in the Prometheus text format 0.0.4', contentType: 'text/plain' } },
    handler: async () => {
      const { text, contentType } = await metrics.render();
      return new RouteReply(200, text, { 'cache-control': 'no-store' }, contentType);
    },
  });
}
