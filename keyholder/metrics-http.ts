/**
 * The key holder's optional HTTP listener: `GET /metrics` (Prometheus text
 * format) and nothing else. Off unless the key holder is started with
 * `metrics.listen` (`fedmart keyholder --metrics-listen HOST:PORT`).
 *
 * - Plain HTTP on a loopback address by default. Any other address needs
 *   both a scrape token and TLS (served with the key holder's certificate;
 *   no client certificate is asked for), and the start fails otherwise.
 * - With a scrape token (`FEDMART_METRICS_TOKEN`, at least 16 characters),
 *   `Authorization: Bearer <token>` is required; it is compared by SHA-256 in
 *   constant time. Without one, anyone who can reach the loopback address
 *   may scrape.
 * - Every error is problem+json (RFC 9457) with a stable code: 401
 *   UNAUTHENTICATED, 404 NOT_FOUND, 405 METHOD_NOT_ALLOWED, 429 RATE_LIMITED
 *   (more than 60 refused tokens a minute from one address), 400
 *   MALFORMED_REQUEST, 500 INTERNAL. No answer quotes the request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { hostOfAddress, isLoopbackHost, type ServerTls } from '../protos/index.js';

/** Shortest scrape token accepted: it must not be guessable. */
export const MIN_KEYHOLDER_METRICS_TOKEN_LENGTH = 16;

/** Refused tokens per client address and minute before 429. */
const AUTH_FAILURES_PER_MINUTE = 60;

export interface KeyHolderMetricsListenOptions {
  /** host:port to serve `/metrics` on; port 0 picks a free one. Loopback unless `token` and TLS are both given. */
  readonly listen: string;
  /** Scrape token (FEDMART_METRICS_TOKEN); when set, `Authorization: Bearer <token>` is required. */
  readonly token?: string | undefined;
  /** Collect Node's process metrics (default true). */
  readonly processMetrics?: boolean;
}

/** Raised at start for a metrics listener that would be unsafe or cannot be parsed. */
export class MetricsListenError extends Error {
  readonly code = 'METRICS_LISTEN_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'MetricsListenError';
  }
}

const PROBLEMS = {
  MALFORMED_REQUEST: { status: 400, title: 'The request is not well-formed HTTP' },
  UNAUTHENTICATED: { status: 401, title: 'Missing or invalid scrape token' },
  NOT_FOUND: { status: 404, title: 'No such route; the key holder serves GET /metrics only' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Only GET and HEAD are allowed' },
  RATE_LIMITED: { status: 429, title: 'Too many refused tokens; retry after the time in Retry-After' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const;
type ProblemCode = keyof typeof PROBLEMS;

function problemJson(code: ProblemCode): string {
  const p = PROBLEMS[code];
  return JSON.stringify({ type: `urn:fedmart:problem:${code.toLowerCase().replaceAll('_', '-')}`, title: p.title, status: p.status, code });
}

const pem = (v: string | Uint8Array): string | Buffer => (typeof v === 'string' ? v : Buffer.from(v));

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** host and port of `listen` (`host:port`, `[v6]:port`); MetricsListenError otherwise. */
function parseListen(listen: string): { host: string; port: number } {
  const host = hostOfAddress(listen);
  const rest = listen.trim().slice(host.length);
  const port = Number(rest.startsWith(':') ? rest.slice(1) : Number.NaN);
  if (!host || host === 'unix:' || !Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new MetricsListenError(`metrics listen address ${JSON.stringify(listen)}: expected HOST:PORT`);
  }
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

export interface RunningMetricsListener {
  /** Base URL, e.g. `http://127.0.0.1:9464`; scrape `${url}/metrics`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `render()` as `GET /metrics` on `options.listen`. Throws
 * MetricsListenError, before listening, for a short token or a
 * non-loopback address without both a token and `tls`.
 */
export async function startMetricsListener(
  options: KeyHolderMetricsListenOptions,
  render: () => Promise<{ text: string; contentType: string }>,
  logger: Logger,
  tls?: ServerTls,
): Promise<RunningMetricsListener> {
  const { host, port } = parseListen(options.listen);
  const token = options.token;
  if (token !== undefined && token.length < MIN_KEYHOLDER_METRICS_TOKEN_LENGTH) {
    throw new MetricsListenError(`the metrics scrape token must be at least ${MIN_KEYHOLDER_METRICS_TOKEN_LENGTH} characters`);
  }
  if (!isLoopbackHost(host) && (token === undefined || tls === undefined)) {
    throw new MetricsListenError(
      `refusing to serve metrics on ${options.listen}: not a loopback address; another address needs a scrape token (FEDMART_METRICS_TOKEN) and TLS (--tls-cert, --tls-key)`,
    );
  }
  const expected = token === undefined ? undefined : sha256(token);
  const authorized = (req: IncomingMessage): boolean => {
    if (!expected) return true;
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ') || header.length > 600) return false;
    return timingSafeEqual(sha256(header.slice(7).trim()), expected);
  };
  // Refused tokens per address, in fixed one-minute windows.
  const failures = new Map<string, { start: number; count: number }>();
  const failureAllowed = (address: string): { ok: boolean; retryAfter: number } => {
    const now = Date.now();
    let w = failures.get(address);
    if (!w || now - w.start >= 60_000) {
      if (failures.size > 10_000) failures.clear();
      w = { start: now, count: 0 };
      failures.set(address, w);
    }
    w.count++;
    return { ok: w.count <= AUTH_FAILURES_PER_MINUTE, retryAfter: Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000)) };
  };

  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body: string, head: boolean) => {
    res.writeHead(status, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(head ? undefined : body);
  };
  const problem = (res: ServerResponse, code: ProblemCode, head: boolean, headers: Record<string, string> = {}) =>
    send(res, PROBLEMS[code].status, { 'content-type': 'application/problem+json', ...headers }, problemJson(code), head);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return problem(res, 'NOT_FOUND', head);
    if (req.method !== 'GET' && !head) return problem(res, 'METHOD_NOT_ALLOWED', false, { allow: 'GET, HEAD' });
    if (!authorized(req)) {
      const limit = failureAllowed(req.socket.remoteAddress ?? '');
      if (!limit.ok) return problem(res, 'RATE_LIMITED', head, { 'retry-after': String(limit.retryAfter) });
      return problem(res, 'UNAUTHENTICATED', head, { 'www-authenticate': 'Bearer realm="fedmart-keyholder-metrics"' });
    }
    let rendered: { text: string; contentType: string };
    try {
      rendered = await render();
    } catch (err) {
      logger.error({ err: err instanceof Error ? { name: err.name, message: err.message } : {} }, 'metrics: rendering failed');
      return problem(res, 'INTERNAL', head);
    }
    send(res, 200, { 'content-type': rendered.contentType }, rendered.text, head);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) problem(res, 'INTERNAL', false);
      else res.destroy();
    });
  };
  const server: Server = tls
    ? createHttpsServer({ cert: pem(tls.cert), key: pem(tls.key) }, listener)
    : createHttpServer(listener);
  // A scrape is one small GET: short timeouts and few connections.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 32;
  server.on('clientError', (_err: Error, socket: Socket) => {
    if (socket.writable) {
      const body = problemJson('MALFORMED_REQUEST');
      socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    } else {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as { port: number }).port;
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  return {
    url,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
