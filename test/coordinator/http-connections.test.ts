/**
 * Hostile connections to a real coordinator HTTP server on 127.0.0.1:
 *
 * - bodies dripped a byte at a time are cut (408 problem+json) within the
 *   request timeout while honest requests keep being answered;
 * - connections beyond the per-address cap are closed at once, another
 *   address is not affected; the total cap the same way;
 * - `Expect: 100-continue` is answered at once (100, or 413 for a body over
 *   the limit), and a body that then never comes is cut; other
 *   expectations are 417;
 * - what Node's parser refuses (a NUL in a header, bad chunked encoding,
 *   raw UTF-8 in the path, headers over the size limit) is problem+json
 *   with a fixed body that echoes nothing.
 *
 * Every wait ends on a socket event; the test timeouts only bound a failure.
 */
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capConnections } from '../../coordinator/http-connection-caps.js';
import type { HttpServerLimits } from '../../coordinator/http-server-limits.js';
import { BOOTSTRAP_TOKEN, startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';
import { dripBody, parseAnswers, rawConnect, rawExchange, untilClosed, type RawOutcome } from '../helpers/raw-http.js';

const LIMITS: Partial<HttpServerLimits> = {
  headersTimeoutMs: 3_000,
  requestTimeoutMs: 3_000,
  checkIntervalMs: 250,
  idleTimeoutMs: 10_000,
  maxConnectionsPerAddress: 40,
  maxConnections: 200,
};
/** The latest a dripping request may be cut: the timeout, one check, the linger after the answer, and slack for a busy machine. */
const CUT_WITHIN_MS = 3_000 + 250 + 500 + 4_000;

let fx: HttpFixture;
let port: number;

beforeAll(async () => {
  // Honest requests loop as fast as they are answered: the per-token rate limit is not what this tests.
  fx = await startHttpFixture({ serverLimits: LIMITS, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (fx.app.server.address() as { port: number }).port;
});
afterAll(() => fx?.close());

/** An honest GET of /v1/me from `localAddress`, on its own connection. */
function honestGet(localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, localAddress, path: '/v1/me', agent: false, headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function expectProblem(outcome: RawOutcome, status: number, code: string, notEchoed: string[] = []): void {
  const answers = parseAnswers(outcome.data);
  const last = answers.at(-1);
  expect(last, outcome.data.toString('latin1').slice(0, 200)).toBeDefined();
  expect(last!.status).toBe(status);
  expect(last!.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(last!.body)).toMatchObject({ status, code });
  for (const s of notEchoed) expect(outcome.data.toString('latin1')).not.toContain(s);
}

describe('slow clients', () => {
  it('cuts a few dozen dripping bodies within the request timeout while honest requests are answered', async () => {
    const head = (auth: boolean) => 'POST /v1/queries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `${auth ? `Authorization: Bearer ${BOOTSTRAP_TOKEN}\r\n` : ''}Content-Length: 60000\r\n\r\n{"x":"`;
    // Half with a token (the route waits for the body), half without (answered 401 at once, the body still dripping).
    const drips = Array.from({ length: 30 }, (_, i) => dripBody({ port }, head(i % 2 === 0), 100));
    let allCut = false;
    const cut = Promise.all(drips).finally(() => {
      allCut = true;
    });
    const honest: number[] = [];
    // Another client address, so the drips' per-address cap is not what keeps it working.
    while (!allCut) honest.push(await honestGet('127.0.0.2'));
    const outcomes = await cut;
    for (const o of outcomes) {
      expect(o.closedAfterMs).toBeLessThan(CUT_WITHIN_MS);
      expectProblem(o, 408, 'REQUEST_TIMEOUT');
    }
    expect(honest.length).toBeGreaterThan(0);
    expect(honest.every((s) => s === 200)).toBe(true);
    // And from the drips' own address once they are gone.
    expect(await honestGet('127.0.0.1')).toBe(200);
  }, 30_000);

  it('answers Expect: 100-continue at once, and cuts a body that never follows', async () => {
    const head = (length: number) => 'POST /v1/queries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${BOOTSTRAP_TOKEN}\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`;
    const socket = await rawConnect({ port });
    const done = untilClosed(socket);
    const interim = new Promise<string>((resolve) => socket.once('data', (b: Buffer) => resolve(b.toString('latin1'))));
    socket.write(head(20));
    expect(await interim).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
    const outcome = await done;
    expect(outcome.closedAfterMs).toBeLessThan(CUT_WITHIN_MS);
    expectProblem(outcome, 408, 'REQUEST_TIMEOUT');

    const tooLarge = await rawExchange({ port }, head(10_000_000));
    expect(tooLarge.closedAfterMs).toBeLessThan(2_000);
    expectProblem(tooLarge, 413, 'PAYLOAD_TOO_LARGE');
    expect(tooLarge.data.toString('latin1')).not.toContain('100 Continue');

    const other = await rawExchange({ port }, 'GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: coffee\r\n\r\n');
    expectProblem(other, 417, 'EXPECTATION_FAILED', ['coffee']);
  }, 30_000);
});

describe('connection caps', () => {
  it('closes connections beyond the per-address cap at once; another address still connects', async () => {
    const held = [];
    for (let i = 0; i < 40; i++) held.push(await rawConnect({ port, localAddress: '127.0.0.3' }));
    const heldClosed = held.map((s) => untilClosed(s));
    let heldOpen = true;
    void Promise.race(heldClosed).then(() => (heldOpen = false));
    const extra = await Promise.all(Array.from({ length: 5 }, async () => untilClosed(await rawConnect({ port, localAddress: '127.0.0.3' }))));
    // Refused before the server read anything: nothing was sent, and the 40 held ones are still open.
    for (const o of extra) expect(o.data.length).toBe(0);
    expect(heldOpen).toBe(true);
    expect(await honestGet('127.0.0.4')).toBe(200);
    for (const s of held) s.destroy();
    await Promise.all(heldClosed);
  }, 30_000);

  it('counts every address against the total cap', async () => {
    const server: Server = createServer((s) => s.on('error', () => undefined));
    const stats = capConnections(server, { maxConnections: 3, maxConnectionsPerAddress: 2 }, pino({ level: 'silent' }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const netPort = (server.address() as { port: number }).port;
    const a = [await rawConnect({ port: netPort, localAddress: '127.0.0.5' }), await rawConnect({ port: netPort, localAddress: '127.0.0.5' })];
    const thirdFromA = untilClosed(await rawConnect({ port: netPort, localAddress: '127.0.0.5' }));
    expect((await thirdFromA).data.length).toBe(0);
    const b = await rawConnect({ port: netPort, localAddress: '127.0.0.6' });
    const overTotal = untilClosed(await rawConnect({ port: netPort, localAddress: '127.0.0.7' }));
    await overTotal;
    expect(stats()).toEqual({ open: 3, refused: 2 });
    const closed = [...a, b].map((s) => untilClosed(s));
    for (const s of [...a, b]) s.destroy();
    await Promise.all(closed);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(stats().open).toBe(0);
  });
});

describe("answers made below fastify are problem+json", () => {
  const cases: { name: string; bytes: Buffer | string; status: number; code: string; secret: string }[] = [
    { name: 'a NUL in a header', bytes: Buffer.from('GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Secret-Probe: ab\u0000cd\r\n\r\n', 'latin1'), status: 400, code: 'MALFORMED_REQUEST', secret: 'X-Secret-Probe' },
    {
      name: 'bad chunked encoding',
      bytes: `POST /v1/queries HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Secret-Probe: 1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ-not-hex\r\n{}\r\n0\r\n\r\n`,
      status: 400, code: 'MALFORMED_REQUEST', secret: 'not-hex',
    },
    { name: 'raw UTF-8 in the path', bytes: Buffer.concat([Buffer.from('GET /v1/queries/'), Buffer.from('密钥-secret-probe', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')]), status: 400, code: 'MALFORMED_REQUEST', secret: 'secret-probe' },
    { name: 'headers over the size limit', bytes: `GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Secret-Probe: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'HEADERS_TOO_LARGE', secret: 'X-Secret-Probe' },
    { name: 'an invalid method', bytes: 'GE\u0001T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', secret: 'GE' },
    { name: 'HTTP/1.1 without Host', bytes: 'GET /v1/me HTTP/1.1\r\nX-Secret-Probe: 1\r\nConnection: close\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', secret: 'X-Secret-Probe' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const outcome = await rawExchange({ port }, c.bytes);
      expectProblem(outcome, c.status, c.code, [c.secret]);
    }, 15_000);
  }
});
