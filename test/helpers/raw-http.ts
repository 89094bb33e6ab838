/**
 * Raw TCP clients for HTTP tests: they send exactly the bytes a test gives
 * (malformed requests, bodies dripped a byte at a time) and report what the
 * server wrote and when it closed the connection. Every wait ends on a
 * socket event; the caller's test timeout is the only bound.
 */
import { connect, type Socket } from 'node:net';

export interface RawOutcome {
  /** Everything the server sent. */
  readonly data: Buffer;
  /** Milliseconds from connecting to the close. */
  readonly closedAfterMs: number;
}

export interface RawTarget {
  readonly port: number;
  /** Local address to connect from (any 127.x.y.z on Linux), so the server sees another client. */
  readonly localAddress?: string;
}

/** Connects; resolves with the socket once connected. */
export function rawConnect(target: RawTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: target.port, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects what `socket` receives until it closes. */
export function untilClosed(socket: Socket, startedAt = Date.now()): Promise<RawOutcome> {
  const parts: Buffer[] = [];
  socket.on('data', (b: Buffer) => parts.push(b));
  socket.on('error', () => undefined);
  return new Promise((resolve) => {
    socket.once('close', () => resolve({ data: Buffer.concat(parts), closedAfterMs: Date.now() - startedAt }));
  });
}

/** Sends `bytes` on a new connection and resolves when the server has closed it. */
export async function rawExchange(target: RawTarget, bytes: Buffer | string): Promise<RawOutcome> {
  const start = Date.now();
  const socket = await rawConnect(target);
  const done = untilClosed(socket, start);
  socket.write(bytes);
  return done;
}

/**
 * Sends `head`, then one byte of body every `everyMs` until the server
 * closes the connection (it never finishes the body).
 */
export async function dripBody(target: RawTarget, head: string, everyMs: number): Promise<RawOutcome> {
  const start = Date.now();
  const socket = await rawConnect(target);
  const done = untilClosed(socket, start);
  socket.write(head);
  const timer = setInterval(() => {
    if (socket.writable) socket.write('1');
  }, everyMs);
  try {
    return await done;
  } finally {
    clearInterval(timer);
  }
}

/** The status code and parsed body of each HTTP answer in `data` (bodies with Content-Length). */
export function parseAnswers(data: Buffer): { status: number; headers: Record<string, string>; body: string }[] {
  const out: { status: number; headers: Record<string, string>; body: string }[] = [];
  let rest = data.toString('latin1');
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}
