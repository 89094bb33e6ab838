/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table
 * (`http-routes.ts`): paths from the routes, parameters and bodies from
 * their zod schemas (`z.toJSONSchema`, JSON Schema 2020-12 as OpenAPI 3.1
 * uses it), every documented response, the problem+json answers each route
 * can give, and who may call it (`x-fedmart-roles`). Served at
 * /openapi.json; /docs is a plain HTML page listing the routes from the same
 * document, with nothing fetched from anywhere.
 */
import { z } from 'zod';
import { ROLE_LABELS, type Role } from './auth.js';
import { commonProblems, problemSchema, type ApiRoute } from './http-routes.js';
import { PROBLEMS, type ProblemCode } from './problems.js';

type Json = Record<string, unknown>;

/** JSON Schema of `schema` with named sub-schemas moved into `components`. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output', components: Record<string, Json>): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  const defs = (json.$defs ?? {}) as Record<string, Json>;
  delete json.$defs;
  delete json.$schema;
  const rename = new Map<string, string>();
  for (const [id, def] of Object.entries(defs)) {
    let name = id;
    const text = JSON.stringify(def);
    if (components[name] !== undefined && JSON.stringify(components[name]) !== text) name = `${id}${io === 'input' ? 'Input' : 'Output'}`;
    rename.set(id, name);
  }
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v === null || typeof v !== 'object') return v;
    const out: Json = {};
    for (const [k, x] of Object.entries(v as Json)) {
      out[k] = k === '$ref' && typeof x === 'string' && x.startsWith('#/$defs/') ? `#/components/schemas/${rename.get(x.slice(8)) ?? x.slice(8)}` : rewrite(x);
    }
    return out;
  };
  for (const [id, def] of Object.entries(defs)) components[rename.get(id)!] = rewrite(def) as Json;
  return rewrite(json) as Json;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query', components: Record<string, Json>): Json[] {
  if (!schema) return [];
  const json = schemaOf(schema, 'input', components);
  const props = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: s }));
}

export interface OpenApiInfo {
  readonly title?: string;
  readonly version?: string;
}

/** The OpenAPI 3.1 document of `routes` (hidden routes left out). */
export function buildOpenApiDocument(routes: readonly ApiRoute[], info: OpenApiInfo = {}): Json {
  const components: Record<string, Json> = {};
  const problemRef = schemaOf(problemSchema, 'output', components);
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    if (route.hidden) continue;
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Record<string, Json> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.schema
          ? { content: { 'application/json': { schema: schemaOf(spec.schema, 'output', components) } } }
          : spec.contentType ? { content: { [spec.contentType]: { schema: { type: 'string', ...(spec.contentType === 'application/pdf' ? { contentMediaType: 'application/pdf' } : {}) } } } } : {}),
      };
    }
    const byStatus = new Map<number, ProblemCode[]>();
    for (const code of new Set([...commonProblems(route), ...(route.problems ?? [])])) {
      const status = PROBLEMS[code].status;
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      responses[String(status)] = {
        description: codes.map((c) => `${c}: ${PROBLEMS[c].title}`).join('; '),
        ...(status === 429 ? { headers: { 'Retry-After': { description: 'Seconds until the rate-limit window ends', schema: { type: 'integer' } } } } : {}),
        content: { 'application/problem+json': { schema: problemRef } },
      };
    }
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters: [...parameters(route.params, 'path', components), ...parameters(route.query, 'query', components)],
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input', components) } } } } : {}),
      responses,
      security: route.roles === 'public' ? [] : [{ bearer: [] }],
      'x-fedmart-roles': route.roles === 'public' ? [] : route.roles,
      ...(route.purposeScoped ? { 'x-fedmart-purpose-scoped': true } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'fedmart coordinator API',
      version: info.version ?? '1',
      description: 'Privacy-preserving federated analytics for merchants. Every route needs a bearer API token except the public ones; x-fedmart-roles names the roles that may call it (the bootstrap administrator may call all). Errors are application/problem+json with a stable code.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'fedmart API token (FEDMART_API_TOKEN for the bootstrap administrator, or one created by an administrator)' } },
    },
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A static HTML page listing the operations of an OpenAPI document. */
export function renderDocsPage(doc: Json): string {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const roles = (op['x-fedmart-roles'] as Role[]).map((r) => `${ROLE_LABELS[r].en} / ${ROLE_LABELS[r].zh}`).join(', ') || 'public';
      const params = ((op.parameters ?? []) as Json[]).map((p) => `<code>${esc(String(p.name))}</code> (${esc(String(p.in))}${p.required ? ', required' : ''})`).join(', ');
      const statuses = Object.keys(op.responses as Json).join(' ');
      rows.push(`<tr><td><span class="m m-${esc(method)}">${esc(method.toUpperCase())}</span></td><td><code>${esc(path)}</code></td><td>${esc(String(op.summary))}${op['x-fedmart-purpose-scoped'] ? ' <em>(granted purposes only)</em>' : ''}${params ? `<br><small>parameters: ${params}</small>` : ''}${op.requestBody ? '<br><small>JSON body</small>' : ''}</td><td>${esc(roles)}</td><td><small>${esc(statuses)}</small></td></tr>`);
    }
  }
  const info = doc.info as { title: string; version: string; description: string };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} — API reference</title>
<style>
body{font:15px/1.5 system-ui,"Noto Sans CJK SC",sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24;background:#fff}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}code{font:13px ui-monospace,monospace}.m{font:600 12px ui-monospace,monospace;padding:.1rem .35rem;border-radius:3px;color:#fff}
.m-get{background:#0b5cad}.m-post{background:#176f2c}.m-delete{background:#a40e26}a{color:#0b5cad}
</style>
</head>
<body>
<h1>${esc(info.title)} <small>v${esc(info.version)}</small></h1>
<p>${esc(info.description)}</p>
<p>Machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Web console: <a href="/console/">/console/</a>.</p>
<table>
<caption class="sr">Operations</caption>
<thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">What it does</th><th scope="col">Roles</th><th scope="col">Statuses</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</body>
</html>
`;
}
