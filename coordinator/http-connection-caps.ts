/**
 * Caps on the connections the HTTP server holds open, per remote address and
 * in total. Timeouts bound how long one connection lasts; these bound how
 * many a client (or all clients) can hold at once, so that hundreds of slow
 * connections from one address cannot take every socket.
 *
 * Connections are counted on the server's `connection` event (for https,
 * the TCP connection, before the TLS handshake costs anything) and released
 * on the socket's `close`; one beyond a cap is destroyed at once, without an
 * answer: nothing has been read from it yet.
 */
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';

export interface ConnectionCaps {
  readonly maxConnectionsPerAddress: number;
  readonly maxConnections: number;
}

/** Counts and refusals, for tests and metrics. */
export interface ConnectionCapStats {
  readonly open: number;
  readonly refused: number;
}

/** How often a refusal is logged at most: a flood must not become a flood of log lines. */
const LOG_EVERY_MS = 10_000;

/** Applies `caps` to `server`; returns a view of the counts. */
export function capConnections(server: Server, caps: ConnectionCaps, log: Pick<Logger, 'warn'>): () => ConnectionCapStats {
  const byAddress = new Map<string, number>();
  let open = 0;
  let refused = 0;
  let lastLog = 0;
  let unlogged = 0;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const mine = byAddress.get(address) ?? 0;
    if (open >= caps.maxConnections || mine >= caps.maxConnectionsPerAddress) {
      refused++;
      unlogged++;
      socket.destroy();
      const now = Date.now();
      if (now - lastLog >= LOG_EVERY_MS) {
        // Counts only: a client address can be personal data.
        log.warn({ refused: unlogged, open, fromThatAddress: mine, caps }, 'connections over the cap closed');
        lastLog = now;
        unlogged = 0;
      }
      return;
    }
    open++;
    byAddress.set(address, mine + 1);
    socket.once('close', () => {
      open--;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left <= 0) byAddress.delete(address);
      else byAddress.set(address, left);
    });
  });
  return () => ({ open, refused });
}
