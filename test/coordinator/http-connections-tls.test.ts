/**
 * The issue was found over TLS (300 TLS connections dripping a body stayed
 * open 130 s): the same limits hold on the https server, whose timeouts
 * reach Node through fastify's `https` options rather than `http`.
 *
 * - a dozen TLS connections dripping a body are cut (408 problem+json) at
 *   the request timeout while an honest https request is answered;
 * - a TCP connection that never starts its TLS handshake is closed at the
 *   handshake timeout;
 * - connections beyond the per-address cap are closed before any handshake.
 *
 * Every wait ends on a socket event; the test timeouts only bound a failure.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, DEPLOYMENT_FILES } from '../../cli/deployment.js';
import { BOOTSTRAP_TOKEN, startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';
import { parseAnswers, rawConnect, untilClosed, type RawOutcome } from '../helpers/raw-http.js';

const REQUEST_TIMEOUT_MS = 3_000;
/** Timeout, one check, the linger after the answer, and slack for a busy machine. */
const CUT_WITHIN_MS = REQUEST_TIMEOUT_MS + 250 + 500 + 4_000;

let dir: string;
let ca: string;
let fx: HttpFixture;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedmart-tls-conn-'));
  await createDeployment(join(dir, 'deployment'));
  const pem = (f: string) => readFileSync(join(dir, 'deployment', f), 'utf8');
  ca = pem(DEPLOYMENT_FILES.caCert);
  fx = await startHttpFixture({
    https: { cert: pem(DEPLOYMENT_FILES.coordinatorCert), key: pem(DEPLOYMENT_FILES.coordinatorKey) },
    serverLimits: { headersTimeoutMs: REQUEST_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, checkIntervalMs: 250, tlsHandshakeTimeoutMs: 1_500, maxConnectionsPerAddress: 20 },
    rateLimit: { limit: 1_000_000, windowMs: 60_000 },
  });
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (fx.app.server.address() as { port: number }).port;
}, 120_000);
afterAll(async () => {
  await fx?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A TLS connection from `localAddress` (TCP first, so the client address can be chosen). */
async function tlsOpen(localAddress: string): Promise<TLSSocket> {
  const tcp = await rawConnect({ port, localAddress });
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ socket: tcp, ca, servername: 'localhost' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A TLS connection that sends a request head and then a byte of body every 100 ms until the server closes it. */
async function tlsDrip(localAddress: string): Promise<RawOutcome> {
  const start = Date.now();
  const socket = await tlsOpen(localAddress);
  const done = untilClosed(socket, start);
  socket.write(`POST /v1/queries HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: Bearer ${BOOTSTRAP_TOKEN}\r\nContent-Length: 60000\r\n\r\n{"x":"`);
  const timer = setInterval(() => {
    if (socket.writable) socket.write('1');
  }, 100);
  try {
    return await done;
  } finally {
    clearInterval(timer);
  }
}

function honestGet(localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, localAddress, ca, servername: 'localhost', path: '/v1/me', agent: false, headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('over TLS', () => {
  it('cuts a dozen dripping TLS bodies at the request timeout while an honest request is answered', async () => {
    const drips = Array.from({ length: 12 }, () => tlsDrip('127.0.0.1'));
    let allCut = false;
    const cut = Promise.all(drips).finally(() => (allCut = true));
    const honest: number[] = [];
    while (!allCut) honest.push(await honestGet('127.0.0.2'));
    for (const o of await cut) {
      expect(o.closedAfterMs).toBeLessThan(CUT_WITHIN_MS);
      const last = parseAnswers(o.data).at(-1);
      expect(last?.status).toBe(408);
      expect(last?.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(last!.body)).toMatchObject({ code: 'REQUEST_TIMEOUT' });
    }
    expect(honest.length).toBeGreaterThan(0);
    expect(honest.every((s) => s === 200)).toBe(true);
  }, 30_000);

  it('closes a connection that never starts its handshake at the handshake timeout', async () => {
    const start = Date.now();
    const outcome = await untilClosed(await rawConnect({ port }), start);
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(outcome.closedAfterMs).toBeLessThan(1_500 + 4_000);
  }, 15_000);

  it('closes connections beyond the per-address cap before any handshake', async () => {
    const held = [];
    for (let i = 0; i < 20; i++) held.push(await tlsOpen('127.0.0.3'));
    const heldClosed = held.map((s) => untilClosed(s));
    const extra = await untilClosed(await rawConnect({ port, localAddress: '127.0.0.3' }));
    expect(extra.data.length).toBe(0);
    expect(extra.closedAfterMs).toBeLessThan(1_000);
    expect(await honestGet('127.0.0.4')).toBe(200);
    for (const s of held) s.destroy();
    await Promise.all(heldClosed);
  }, 30_000);
});
