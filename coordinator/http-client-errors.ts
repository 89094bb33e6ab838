/**
 * Answers Node's HTTP layer would otherwise make itself, in plain text or
 * fastify's own JSON: requests it cannot parse (a NUL in a header, bad
 * chunked encoding, raw bytes in the path), headers over the size limit
 * (431), requests past the timeouts (408), and `Expect` headers. They are
 * problem+json like every other answer, with a fixed body: nothing of the
 * request is echoed, since it was not even parsed.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HttpProblem, PROBLEMS, problemBody, type ProblemCode } from './problems.js';

/** `instance` of answers about a connection rather than a parsed request. */
const CONNECTION_INSTANCE = 'urn:fedmart:connection';

/** The problem a parser or timeout error from Node stands for. */
function problemOf(err: NodeJS.ErrnoException): ProblemCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  return 'MALFORMED_REQUEST';
}

/** A whole HTTP/1.1 answer with a problem+json body, ending the connection. */
export function rawProblemResponse(code: ProblemCode): string {
  const { status } = PROBLEMS[code];
  const body = JSON.stringify(problemBody(code, undefined, CONNECTION_INSTANCE));
  return `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n` +
    'Content-Type: application/problem+json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Cache-Control: no-store\r\n' +
    'Connection: close\r\n\r\n' +
    body;
}

function reasonPhrase(status: number): string {
  return ({ 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 417: 'Expectation Failed', 431: 'Request Header Fields Too Large' } as Record<number, string>)[status] ?? 'Error';
}

/** How long an answered connection may stay open for the peer to read the answer. */
const LINGER_MS = 500;

/**
 * fastify's `clientErrorHandler`: the problem+json answer, unless the peer
 * is gone or an answer to this request has begun (writing then would
 * corrupt it, as Node's own handler avoids too); then the socket is closed.
 * It is closed a moment after the answer is written rather than at once:
 * closing with unread bytes from the peer resets the connection, and the
 * peer would lose the answer. Further errors on it meanwhile are ignored.
 */
export function clientErrorHandler(log: Pick<Logger, 'debug'>): (err: NodeJS.ErrnoException, socket: Socket) => void {
  const answered = new WeakSet<Socket>();
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    const code = problemOf(err);
    // The parser's code only: its message can quote the request.
    log.debug({ code, reason: err.code ?? 'unknown' }, 'client error answered');
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    socket.end(rawProblemResponse(code));
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  };
}

function sendProblem(res: ServerResponse, code: ProblemCode): void {
  const body = JSON.stringify(problemBody(code, undefined, CONNECTION_INSTANCE));
  res.writeHead(PROBLEMS[code].status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // The body the client holds back is never read: the connection cannot carry another request.
    connection: 'close',
  });
  res.end(body);
}

/**
 * `Expect: 100-continue` is answered at once: 413 when the declared length
 * is over `bodyLimit`, otherwise 100 Continue and the request goes on, the
 * body then bound by the request timeout like any other. Any other
 * expectation is 417.
 */
export function answerExpectations(server: Server, bodyLimit: number): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!Number.isFinite(declared) || declared > bodyLimit) {
      sendProblem(res, 'PAYLOAD_TOO_LARGE');
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => sendProblem(res, 'EXPECTATION_FAILED'));
}

/**
 * HTTP/1.1 requests without Host are refused as problem+json (Node would
 * refuse them itself, in plain text, were its own check not turned off).
 */
export function requireHostHeader(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      throw new HttpProblem('MALFORMED_REQUEST', 'an HTTP/1.1 request needs a Host header');
    }
  });
}
