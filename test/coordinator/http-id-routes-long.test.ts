/**
 * Path ids longer than fastify's default parameter limit (100 characters):
 * every route that names an id in its path, taken from the app's own route
 * table, gets ids of 101 to 20,000 characters, plain and percent-encoded,
 * with and without a token, by GET, POST and HEAD, over a real socket. The
 * answer is always 4xx problem+json. Ids up to the documented id limit
 * (`HTTP_ID_MAX_LENGTH`, 128) reach their route; longer ones are refused by
 * the router with 414 URI_TOO_LONG, and a request line too long for Node's
 * parser with 431 HEADERS_TOO_LARGE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ID_MAX_LENGTH } from '../../coordinator/http-id-guard.js';
import { BOOTSTRAP_TOKEN, startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';
import { sendRaw, type RawAnswer } from '../helpers/http-request.js';

let fx: HttpFixture;
let port: number;
let operations: { method: string; path: string; pathParams: string[] }[] = [];

const LIMIT = { limit: 1_000_000, windowMs: 60_000 };

beforeAll(async () => {
  fx = await startHttpFixture({ rateLimit: LIMIT, publicRateLimit: LIMIT, authFailureLimit: LIMIT });
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (fx.app.server.address() as { port: number }).port;
  const doc = (await fx.call(null, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      if (pathParams.length > 0) operations.push({ method: method.toUpperCase(), path, pathParams });
    }
  }
});
afterAll(() => fx?.close());

type Answer = RawAnswer;

/** One request over a socket; the path is sent exactly as given, with a JSON body for POST. */
function send(method: string, path: string, token: string | null): Promise<Answer> {
  return sendRaw(port, method, path, { token, ...(method === 'POST' ? { body: Buffer.from('{}') } : {}) });
}

function expectProblem(res: Answer, what: string, head = false): void {
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  expect(res.type, what).toMatch(/^application\/problem\+json/);
  if (head) return; // HEAD answers carry no body
  expect(res.json?.status, what).toBe(res.status);
  expect(typeof res.json?.code, what).toBe('string');
  expect(String(res.json?.type), what).toMatch(/^urn:fedmart:problem:/);
}

const pathWith = (op: { path: string; pathParams: string[] }, id: string) => op.pathParams.reduce((p, name) => p.replace(`{${name}}`, id), op.path);

describe('path ids longer than 100 characters', () => {
  it('finds the id routes', () => {
    const paths = operations.map((o) => `${o.method} ${o.path}`);
    for (const p of ['GET /v1/queries/{id}', 'GET /v1/fits/{id}', 'GET /v1/jobs/{id}', 'POST /v1/users/{id}/revoke', 'GET /v1/merchants/{id}']) expect(paths).toContain(p);
  });

  it('ids of 101 to 128 characters reach their route (its own 4xx), never 414', async () => {
    let n = 0;
    for (const op of operations) {
      for (const id of ['a'.repeat(101), 'a'.repeat(HTTP_ID_MAX_LENGTH), '%C3%A9'.repeat(HTTP_ID_MAX_LENGTH)]) {
        const what = `${op.method} ${op.path} with a ${id.length}-character id`;
        const res = await send(op.method, pathWith(op, id), BOOTSTRAP_TOKEN);
        expectProblem(res, what);
        expect(res.json?.code, what).not.toBe('URI_TOO_LONG');
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(9 * 3);
  }, 60_000);

  it('longer ids are 414 URI_TOO_LONG problem+json, with or without a token, by every method', async () => {
    let n = 0;
    const ids = {
      [`${HTTP_ID_MAX_LENGTH + 1} characters`]: 'a'.repeat(HTTP_ID_MAX_LENGTH + 1),
      [`${HTTP_ID_MAX_LENGTH + 1} percent-encoded characters`]: '%C3%A9'.repeat(HTTP_ID_MAX_LENGTH + 1),
      '1,000 characters': 'b'.repeat(1000),
      '10,000 characters': 'c'.repeat(10_000),
    };
    for (const op of operations) {
      for (const [name, id] of Object.entries(ids)) {
        for (const token of [BOOTSTRAP_TOKEN, null, 'not-a-token-0123456789abcdef']) {
          const what = `${op.method} ${op.path} with a ${name} id, token ${token === null ? 'none' : token === BOOTSTRAP_TOKEN ? 'valid' : 'unknown'}`;
          const res = await send(op.method, pathWith(op, id), token);
          expectProblem(res, what);
          expect(res.status, what).toBe(414);
          expect(res.json, what).toMatchObject({ code: 'URI_TOO_LONG', status: 414, detail: `a path parameter is longer than ${HTTP_ID_MAX_LENGTH} characters` });
          n++;
        }
        if (op.method === 'GET') {
          const head = await send('HEAD', pathWith(op, id), BOOTSTRAP_TOKEN);
          expectProblem(head, `HEAD ${op.path} with a ${name} id`, true);
          expect(head.status).toBe(414);
        }
      }
    }
    expect(n).toBeGreaterThanOrEqual(9 * 4 * 3);
  }, 120_000);

  it('a request line too long for the HTTP parser is 431 problem+json that echoes nothing', async () => {
    const id = 'd'.repeat(20_000);
    const res = await send('GET', `/v1/queries/${id}`, BOOTSTRAP_TOKEN);
    expectProblem(res, 'GET /v1/queries/ with a 20,000-character id');
    expect(res.json?.code).toBe('HEADERS_TOO_LARGE');
    expect(res.text).not.toContain('ddddddddd');
  });

  it('the console\'s files and unknown routes answer long paths with 4xx problem+json too', async () => {
    for (const path of [`/console/${'e'.repeat(300)}`, `/v1/no-such-route/${'e'.repeat(300)}`, `/v1/queries/${'e'.repeat(300)}/no-such-step`]) {
      for (const token of [BOOTSTRAP_TOKEN, null]) expectProblem(await send('GET', path, token), `GET ${path.slice(0, 30)}…`);
    }
  });
});
