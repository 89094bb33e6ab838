/**
 * The CLI's HTTP client and kept-alive connections. Node reuses a connection
 * for the next request; the coordinator closes one that stayed idle for its
 * keep-alive timeout, and a request written to it just then fails with
 * ECONNRESET before the server reads it (the demo failed so after its local
 * scoring step). The client sends that one request again on a fresh
 * connection; a reset on a fresh connection is not retried. A real HTTP
 * server on 127.0.0.1 stands in for the race by destroying the socket.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorHttpClient } from '../../cli/http-client.js';

let server: Server | undefined;

/** A server that answers {n} with the request's number, and resets the connection of the requests `reset` picks. */
async function serve(reset: (request: number, requestsOnSocket: number) => boolean): Promise<{ url: string; connections: () => number; requests: () => number }> {
  let requests = 0;
  let connections = 0;
  const served = new WeakMap<Socket, number>();
  server = createServer((req, res) => {
    requests++;
    const onSocket = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, onSocket);
    if (reset(requests, onSocket)) {
      req.socket.destroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ n: requests }));
  });
  server.on('connection', () => void connections++);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, requests: () => requests };
}

afterEach(async () => {
  const s = server;
  server = undefined;
  s?.closeAllConnections();
  await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
});

describe('CoordinatorHttpClient on a kept-alive connection the server resets', () => {
  it('sends the request again once on a fresh connection when a reused connection is reset', async () => {
    // The second request on any connection is reset, as if the server had closed the idle connection as it arrived.
    const s = await serve((_, onSocket) => onSocket === 2);
    const client = new CoordinatorHttpClient(s.url, 'token');
    expect(await client.request('GET', '/first')).toEqual({ n: 1 });
    expect(await client.request('POST', '/second', { a: 1 })).toEqual({ n: 3 });
    expect(s.requests()).toBe(3);
    expect(s.connections()).toBe(2);
  });

  it('does not retry a reset on a fresh connection: the caller gets the error', async () => {
    const s = await serve(() => true);
    const client = new CoordinatorHttpClient(s.url, 'token');
    await expect(client.request('POST', '/refused', {})).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(s.requests()).toBe(1);
  });
});
