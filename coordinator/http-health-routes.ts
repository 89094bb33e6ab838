/**
 * Probes for orchestrators and load balancers: `/livez` says the process
 * answers (it looks at nothing else, so a database outage never gets a
 * healthy process restarted), `/readyz` says whether it can do its work
 * (database, schema, key holder; `readiness.ts`), so traffic is sent
 * elsewhere while it cannot. `/healthz` is kept, unchanged, for the
 * scripts and tests that already use it; it is liveness.
 *
 * All three are public: probes carry no token. Public routes are limited
 * per client address, and `/readyz` reuses its report for a second, so
 * probing cannot be turned into load on the database. A 503 names the
 * failing checks and nothing else: causes are in the coordinator's log.
 */
import { z } from 'zod';
import { defineRoute, RouteReply, type ApiRoute } from './http-routes.js';
import { problemBody } from './problems.js';
import type { ReadinessProbe } from './readiness.js';

const checkState = z.enum(['ok', 'failing']);
const checksSchema = z.object({
  database: checkState,
  migrations: checkState,
  keyholder: checkState.optional(),
}).meta({ id: 'ReadinessChecks', description: 'Each readiness check and its state; keyholder only when the coordinator is configured with a key holder' });

export const readySchema = z.object({ status: z.literal('ready'), checks: checksSchema }).meta({ id: 'Ready' });

export const notReadySchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.literal(503),
  code: z.literal('NOT_READY'),
  instance: z.string(),
  checks: checksSchema,
}).meta({ id: 'NotReady', description: 'problem+json NOT_READY with the state of every check' });

export function healthRoutes(readiness: ReadinessProbe): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET', url: '/healthz', operationId: 'health', tag: 'service', summary: 'Liveness (kept for existing scripts; same as /livez)',
      roles: 'public',
      responses: { 200: { description: 'Alive', schema: z.object({ ok: z.literal(true) }) } },
      handler: async () => ({ ok: true as const }),
    }),
    defineRoute({
      method: 'GET', url: '/livez', operationId: 'live', tag: 'service', summary: 'Liveness: the process answers; no dependency is checked',
      roles: 'public',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('alive') }) } },
      handler: async () => ({ status: 'alive' as const }),
    }),
    defineRoute({
      method: 'GET', url: '/readyz', operationId: 'ready', tag: 'service',
      summary: 'Readiness: the database answers, its schema is current, and the key holder answers (when configured)',
      roles: 'public',
      responses: {
        200: { description: 'Ready', schema: readySchema },
        503: { description: 'NOT_READY: at least one check is failing', schema: notReadySchema },
      },
      problems: ['NOT_READY'],
      handler: async ({ request }) => {
        const report = await readiness.report();
        const checks = { database: 'failing' as const, migrations: 'failing' as const, ...report.checks };
        if (report.ready) return { status: 'ready' as const, checks };
        return new RouteReply(503, { ...problemBody('NOT_READY', undefined, request.url), checks }, { 'cache-control': 'no-store' }, 'application/problem+json');
      },
    }),
  ];
}
