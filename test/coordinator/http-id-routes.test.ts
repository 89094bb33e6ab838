/**
 * Every route that names an id, taken from the app's own route table (the
 * OpenAPI document built from it), gets a NUL, invalid UTF-8 and a
 * 10,000-character id, in the path, in id fields of its body and in its
 * query parameters, over a real socket with the bootstrap administrator's
 * token: the answer is always 4xx problem+json, never a 500 from the
 * database (`POST /v1/users/%00/revoke` was 500 INTERNAL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ID_MAX_LENGTH, idProblem } from '../../coordinator/http-id-guard.js';
import { BOOTSTRAP_TOKEN, startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';
import { sendRaw, type RawAnswer } from '../helpers/http-request.js';

let fx: HttpFixture;
let port: number;

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly pathParams: string[];
  readonly queryParams: string[];
  readonly bodyIdFields: string[];
}

let operations: Operation[] = [];

beforeAll(async () => {
  fx = await startHttpFixture({ rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (fx.app.server.address() as { port: number }).port;
  const doc = (await fx.call(null, 'GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: { $ref?: string; properties?: Record<string, unknown> } }> } }>>;
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };
  const resolve = (s: { $ref?: string; properties?: Record<string, unknown> }) => (s.$ref ? doc.components.schemas[s.$ref.split('/').at(-1)!]! : s);
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        bodyIdFields: body ? Object.keys(resolve(body).properties ?? {}).filter((k) => /^id$|Id$/.test(k)) : [],
      });
    }
  }
  operations = operations.filter((o) => o.pathParams.length + o.queryParams.length + o.bodyIdFields.length > 0);
});
afterAll(() => fx?.close());

/** One request over a socket as the bootstrap administrator; the path is sent exactly as given. */
function send(method: string, path: string, body?: Buffer): Promise<RawAnswer> {
  return sendRaw(port, method, path, { token: BOOTSTRAP_TOKEN, ...(body ? { body } : {}) });
}

/** Bad ids as they go in a URL (percent-encoded). */
const URL_IDS: Record<string, string> = {
  nul: 'a%00b',
  'invalid UTF-8': 'a%FF%FEb',
  'truncated UTF-8': 'a%C3%28b',
  '10,000 characters': 'a'.repeat(10_000),
};

/** Bad ids as they go in a JSON body (bytes, since invalid UTF-8 is not a JS string). */
const BODY_IDS: Record<string, Buffer> = {
  nul: Buffer.from('"a\\u0000b"'),
  'invalid UTF-8': Buffer.concat([Buffer.from('"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"')]),
  'lone surrogate': Buffer.from('"a\\ud800b"'),
  '10,000 characters': Buffer.from(`"${'a'.repeat(10_000)}"`),
};

function expectProblem(res: Awaited<ReturnType<typeof send>>, what: string): void {
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  expect(res.type, what).toMatch(/^application\/problem\+json/);
  expect(res.json?.status, what).toBe(res.status);
  expect(typeof res.json?.code, what).toBe('string');
}

describe('every id route refuses hostile ids with 4xx problem+json', () => {
  it('finds the id routes in the route table', () => {
    const paths = operations.map((o) => `${o.method} ${o.path}`);
    // The known ones must be there; new ones are swept too.
    for (const p of ['POST /v1/users/{id}/revoke', 'GET /v1/queries/{id}', 'GET /v1/fits/{id}', 'GET /v1/jobs/{id}', 'GET /v1/merchants/{id}', 'POST /v1/users', 'POST /v1/pias']) {
      expect(paths).toContain(p);
    }
  });

  it('path ids', async () => {
    let n = 0;
    for (const op of operations.filter((o) => o.pathParams.length > 0)) {
      for (const [name, bad] of Object.entries(URL_IDS)) {
        let path = op.path;
        for (const p of op.pathParams) path = path.replace(`{${p}}`, bad);
        const body = op.method === 'POST' ? Buffer.from('{}') : undefined;
        const res = await send(op.method, path, body);
        const what = `${op.method} ${op.path} with a ${name} id`;
        expectProblem(res, what);
        // Short hostile ids are bad input; a long one may be refused by the router first (414).
        if (name === '10,000 characters') expect(['VALIDATION_FAILED', 'URI_TOO_LONG'], what).toContain(res.json?.code);
        else expect(res.json?.code, what).toBe('VALIDATION_FAILED');
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(9 * Object.keys(URL_IDS).length);
  }, 60_000);

  it('id fields of bodies', async () => {
    let n = 0;
    for (const op of operations.filter((o) => o.bodyIdFields.length > 0)) {
      for (const field of op.bodyIdFields) {
        for (const [name, bad] of Object.entries(BODY_IDS)) {
          const body = Buffer.concat([Buffer.from(`{"${field}":`), bad, Buffer.from('}')]);
          const path = op.pathParams.reduce((p, name) => p.replace(`{${name}}`, 'x-1'), op.path);
          const res = await send(op.method, path, body);
          const what = `${op.method} ${op.path} with a ${name} ${field}`;
          expectProblem(res, what);
          expect(res.json?.code, what).toBe('VALIDATION_FAILED');
          n++;
        }
      }
    }
    expect(n).toBeGreaterThanOrEqual(3 * Object.keys(BODY_IDS).length);
  }, 60_000);

  it('query parameters', async () => {
    let n = 0;
    for (const op of operations.filter((o) => o.queryParams.length > 0)) {
      for (const q of op.queryParams) {
        for (const [name, bad] of Object.entries(URL_IDS).filter(([k]) => k !== '10,000 characters')) {
          const path = op.pathParams.reduce((p, name) => p.replace(`{${name}}`, 'x-1'), op.path);
          const res = await send(op.method, `${path}?${q}=${bad}`, op.method === 'POST' ? Buffer.from('{}') : undefined);
          expectProblem(res, `${op.method} ${op.path}?${q}= with a ${name} value`);
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(0);
  }, 60_000);

  it('POST /v1/users/%00/revoke is 400, not 500', async () => {
    const res = await send('POST', '/v1/users/%00/revoke', Buffer.from('{}'));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });
});

describe('the id check', () => {
  it('takes ordinary ids and refuses the rest', () => {
    for (const ok of ['q-0123456789abcdef', 'shop-01', 'fit-ab', 'x'.repeat(HTTP_ID_MAX_LENGTH), 'café']) expect(idProblem(ok), ok).toBeUndefined();
    for (const bad of ['a\u0000b', 'a\u001b[31mb', 'a\nb', 'a\ud800b', 'a\ufffdb', 'x'.repeat(HTTP_ID_MAX_LENGTH + 1), 'a\u0085b']) expect(idProblem(bad), JSON.stringify(bad)).toBeDefined();
  });
});
