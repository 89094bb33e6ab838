/**
 * Fuzz target of every HTTP route, enumerated from the app's own OpenAPI
 * document plus the console's hidden routes, so new routes are covered
 * without editing this file. Requests go through fastify's inject with each
 * role's token, the bootstrap token, none or garbage; hostile path
 * parameters, query strings and bodies (JSON of the route's fields with
 * random values, random JSON, broken JSON, wrong content types, oversized).
 *
 * The property: 2xx/3xx, or 4xx problem+json whose `code` belongs to that
 * status; never 5xx (except 503 PDF_UNAVAILABLE, which the app has without
 * Chromium); a refused request changes nothing but `auth.failed` entries.
 */
import fc from 'fast-check';
import { PROBLEMS } from '../../coordinator/problems.js';
import { consoleRoutes } from '../../coordinator/http-console.js';
import { BOOTSTRAP_TOKEN, ROLE_NAMES, type HttpFixture } from '../http-fixture.js';
import { hostileString, mutatedBytes, violation, type FuzzTarget, type PreparedTarget } from './common.js';
import type { FuzzCluster } from './env.js';

export interface RouteInfo {
  readonly method: string;
  /** OpenAPI form, `/v1/queries/{id}`. */
  readonly path: string;
  readonly pathParams: string[];
  readonly queryParams: string[];
  readonly bodyFields: string[] | null;
}

type Json = Record<string, any>;

/** Every route of the app: the OpenAPI operations and the console's hidden routes. */
export async function routeTable(fx: HttpFixture): Promise<RouteInfo[]> {
  const doc = (await fx.call(null, 'GET', '/openapi.json')).body as Json;
  const deref = (s: Json | undefined): Json | undefined => {
    if (s?.$ref) return doc.components?.schemas?.[String(s.$ref).split('/').pop()!] as Json | undefined;
    return s;
  };
  const out: RouteInfo[] = [];
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []) as Json[];
      const body = deref(op.requestBody?.content?.['application/json']?.schema as Json | undefined);
      out.push({
        method: method.toUpperCase(), path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => String(p.name)),
        queryParams: params.filter((p) => p.in === 'query').map((p) => String(p.name)),
        bodyFields: op.requestBody ? Object.keys((body?.properties ?? {}) as Json) : null,
      });
    }
  }
  for (const r of consoleRoutes()) {
    if (r.hidden) out.push({ method: r.method, path: r.url.replace(/:(\w+)/g, '{$1}'), pathParams: [...r.url.matchAll(/:(\w+)/g)].map((m) => m[1]!), queryParams: [], bodyFields: null });
  }
  return out;
}

type Who = 'marketer' | 'compliance' | 'admin' | 'merchant' | 'bootstrap' | 'none' | 'garbage';
const WHO: readonly Who[] = [...ROLE_NAMES, 'bootstrap', 'none', 'garbage'];

export interface HttpCase {
  readonly route: number;
  readonly method: string | null;
  readonly who: Who;
  readonly params: string[];
  readonly rawParams: boolean;
  readonly query: [string, string][];
  readonly body:
    | { kind: 'none' }
    | { kind: 'fields'; values: unknown[]; extra: [string, unknown][] }
    | { kind: 'json'; value: unknown }
    | { kind: 'raw'; bytes: Uint8Array; type: string }
    | { kind: 'oversized'; size: number };
}

const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileString, fc.constantFrom(-1, 0, 1e308, 2 ** 53, '2000-01-01T00:00:00Z', 'marketing-analytics', 'segment-stats', true, null));

/** Hostile requests for the routes of `table` (or one route, `only`). */
export function httpCaseArbitrary(table: readonly RouteInfo[], only?: number): fc.Arbitrary<HttpCase> {
  return fc.record({
    route: only === undefined ? fc.nat(table.length - 1) : fc.constant(only),
    method: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS') }),
    who: fc.constantFrom(...WHO),
    params: fc.array(hostileString, { minLength: 3, maxLength: 3 }),
    rawParams: fc.boolean(),
    query: fc.array(fc.tuple(fc.oneof(fc.constantFrom('from', 'to', 'seq', 'purpose', 'limit', 'status', 'kind'), hostileString), fc.oneof(hostileString, fc.integer().map(String))), { maxLength: 4 }),
    body: fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({ kind: fc.constant('fields' as const), values: fc.array(jsonValue, { minLength: 12, maxLength: 12 }), extra: fc.array(fc.tuple(hostileString, jsonValue), { maxLength: 2 }) }),
      fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
      fc.record({ kind: fc.constant('raw' as const), bytes: mutatedBytes([Buffer.from('{"kind":"segment-stats","spec":{"purpose":"marketing-analytics"},"from":"2000-01-01T00:00:00Z"}')]), type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '') }),
      fc.record({ kind: fc.constant('oversized' as const), size: fc.integer({ min: 60 * 1024, max: 200 * 1024 }) }),
    ),
  });
}

function tokenOf(fx: HttpFixture, who: Who): string | null {
  if (who === 'none') return null;
  if (who === 'bootstrap') return BOOTSTRAP_TOKEN;
  if (who === 'garbage') return 'fm_' + 'x'.repeat(40);
  return fx.users[who].token;
}

/** Percent-encodes; a lone surrogate becomes invalid UTF-8 on the wire (%ED%A0%80), itself worth sending. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '_')) + '%ED%A0%80';
  }
}

function safeRaw(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, '_').replace(/[?#]/g, '_');
}

/** Sends one case; resolves with `status code` or throws PropertyViolation. */
export async function runHttpCase(fx: HttpFixture & Pick<FuzzCluster, 'fingerprint' | 'changedSince'>, table: readonly RouteInfo[], c: HttpCase): Promise<string> {
  const r = table[c.route]!;
  let i = 0;
  const url = r.path.replace(/\{(\w+)\}/g, () => {
    const v = c.params[i++ % c.params.length] ?? '';
    return c.rawParams ? safeRaw(v) : enc(v);
  });
  const qs = c.query.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  const method = c.method ?? r.method;
  const headers: Record<string, string> = {};
  const token = tokenOf(fx, c.who);
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string | Buffer | undefined;
  const b = c.body;
  if (b.kind === 'fields') {
    const o: Record<string, unknown> = {};
    (r.bodyFields ?? ['kind', 'spec', 'from', 'to']).forEach((f, j) => (o[f] = b.values[j % b.values.length]));
    for (const [k, v] of b.extra) o[k] = v;
    payload = JSON.stringify(o);
    headers['content-type'] = 'application/json';
  } else if (b.kind === 'json') {
    payload = JSON.stringify(b.value);
    headers['content-type'] = 'application/json';
  } else if (b.kind === 'raw') {
    payload = Buffer.from(b.bytes);
    if (b.type) headers['content-type'] = b.type;
  } else if (b.kind === 'oversized') {
    payload = JSON.stringify({ kind: 'x'.repeat(b.size) });
    headers['content-type'] = 'application/json';
  }
  const before = await fx.fingerprint();
  const res = await fx.app.inject({ method: method as 'GET', url: qs ? `${url}?${qs}` : url, headers, ...(payload !== undefined && method !== 'GET' ? { payload } : {}) });
  const status = res.statusCode;
  const where = `${method} ${url} as ${c.who}`;
  if (status >= 500) {
    const code = /json/.test(String(res.headers['content-type'])) ? res.json<{ code?: string }>().code : undefined;
    if (!(status === 503 && code === 'PDF_UNAVAILABLE')) violation(`${where}: ${status} ${res.body.slice(0, 200)}`);
    return `${status} ${code}`;
  }
  if (status < 400) return `${status}`;
  if (!/^application\/problem\+json/.test(String(res.headers['content-type']))) violation(`${where}: ${status} is not problem+json (${String(res.headers['content-type'])})`);
  let body: { code?: unknown; status?: unknown };
  try {
    body = res.json();
  } catch {
    return violation(`${where}: ${status} body is not JSON`);
  }
  const code = String(body.code);
  const known = (PROBLEMS as Record<string, { status: number }>)[code];
  if (!known) violation(`${where}: ${status} without a known code (${code})`);
  if (known.status !== status || body.status !== status) violation(`${where}: code ${code} belongs to ${known.status}, answered ${status}`);
  const change = await fx.changedSince(before);
  if (change !== null) violation(`${where}: refused (${status} ${code}) but state changed: ${change}`);
  return `${status} ${code}`;
}

export const httpTarget: FuzzTarget = {
  name: 'http.routes',
  async prepare(env) {
    const fx = await env.http();
    const table = await routeTable(fx);
    const prepared: PreparedTarget<HttpCase> = {
      arbitrary: httpCaseArbitrary(table),
      run: (c) => runHttpCase(fx, table, c),
      after: async () => {
        const res = await fx.call(null, 'GET', '/healthz');
        if (res.status !== 200) throw new Error(`/healthz answers ${res.status}`);
      },
    };
    return prepared;
  },
};

export const HTTP_TARGETS: readonly FuzzTarget[] = [httpTarget];
