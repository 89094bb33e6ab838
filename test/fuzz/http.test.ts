/**
 * Every HTTP route (from the app's OpenAPI document and the console's
 * hidden routes, so new routes are included without editing this file)
 * under hostile requests with each role's token, none and garbage: 2xx/3xx
 * or a 4xx problem+json with a code of that status, never 5xx, and a
 * refused request changes nothing but auth.failed entries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FuzzEnv, runTarget } from '../../harness/fuzz/index.js';
import { httpCaseArbitrary, routeTable, runHttpCase, type RouteInfo } from '../../harness/fuzz/http.js';

const env = new FuzzEnv();
let table: RouteInfo[];

beforeAll(async () => {
  table = await routeTable(await env.http());
});
afterAll(() => env.close());

describe('HTTP routes under hostile requests', () => {
  it('enumerates the API and console routes', () => {
    expect(table.length).toBeGreaterThan(30);
    expect(table.some((r) => r.path === '/v1/queries' && r.method === 'POST')).toBe(true);
    expect(table.some((r) => r.path === '/console/{file}')).toBe(true);
  });

  it('every route answers precisely, 12 hostile requests per route', async () => {
    const fx = await env.http();
    const failures: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < table.length; i++) {
      const report = await runTarget(`${table[i]!.method} ${table[i]!.path}`, { arbitrary: httpCaseArbitrary(table, i), run: (c) => runHttpCase(fx, table, c) }, { runs: 12 });
      if (report.failure) failures.push(`${report.target}: ${report.failure}`);
      for (const k of Object.keys(report.outcomes)) seen.add(k);
    }
    expect(failures).toEqual([]);
    for (const outcome of ['401 UNAUTHENTICATED', '403 ROLE_FORBIDDEN', '400 VALIDATION_FAILED', '413 PAYLOAD_TOO_LARGE']) expect(seen).toContain(outcome);
  }, 120_000);

  it('random routes, methods and roles: 300 requests', async () => {
    const report = await runTarget('http.routes', { arbitrary: httpCaseArbitrary(table), run: async (c) => runHttpCase(await env.http(), table, c) }, { runs: 300 });
    expect(report.failure).toBeNull();
  }, 120_000);
});
