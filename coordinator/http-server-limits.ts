/**
 * Time and connection limits of the coordinator's HTTP server. Without them
 * a client that opens connections and drips a body, or sends
 * `Expect: 100-continue` and then nothing, holds a socket for as long as it
 * likes (fastify's default request timeout is none at all), and a few
 * hundred such clients hold the server.
 *
 * Every request, body included, must arrive within `requestTimeoutMs`; Node
 * looks for late ones every `checkIntervalMs`, so a dripping body is cut
 * (408) at most `requestTimeoutMs + checkIntervalMs` after it started:
 * 20 s + 1 s with the defaults, under the 30 s the API promises.
 */
import type { FastifyHttpOptions, FastifyHttpsOptions } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

export interface HttpServerLimits {
  /** All request headers must arrive within this after the connection or the previous request (default 10 s). */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (default 20 s). */
  readonly requestTimeoutMs: number;
  /** How often Node looks for requests past those timeouts (default 1 s). */
  readonly checkIntervalMs: number;
  /** A socket with no bytes either way for this long is closed (default 30 s). */
  readonly idleTimeoutMs: number;
  /** How long a kept-alive connection waits for its next request (default 5 s). */
  readonly keepAliveTimeoutMs: number;
  /** How long a TLS handshake may take (default 10 s; https only). */
  readonly tlsHandshakeTimeoutMs: number;
  /** Open connections from one remote address; further ones are closed at once (default 64). */
  readonly maxConnectionsPerAddress: number;
  /** Open connections in all; further ones are closed at once (default 1024). */
  readonly maxConnections: number;
}

export const DEFAULT_HTTP_SERVER_LIMITS: HttpServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  checkIntervalMs: 1_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxConnectionsPerAddress: 64,
  maxConnections: 1024,
};

/** Thrown at start for limits that cannot work (a zero timeout would mean none). */
export class HttpServerLimitsError extends RangeError {
  constructor(readonly option: keyof HttpServerLimits, message: string) {
    super(`${option}: ${message}`);
    this.name = 'HttpServerLimitsError';
  }
}

/** `partial` over the defaults, checked: every value a positive integer, headers within the request timeout. */
export function resolveHttpServerLimits(partial: Partial<HttpServerLimits> = {}): HttpServerLimits {
  const limits = { ...DEFAULT_HTTP_SERVER_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits) as [keyof HttpServerLimits, number][]) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new HttpServerLimitsError(key, 'must be a positive integer');
  }
  // Node refuses a headers timeout above the request timeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new HttpServerLimitsError('headersTimeoutMs', 'must not exceed requestTimeoutMs');
  return limits;
}

type ServerOptions = Pick<FastifyHttpOptions<HttpServer>, 'requestTimeout' | 'keepAliveTimeout' | 'connectionTimeout' | 'http'>;

/** The fastify options that carry `limits` (for https, merge `tlsOptions` into its `https` object). */
export function fastifyServerOptions(limits: HttpServerLimits): ServerOptions & { readonly tlsOptions: NonNullable<FastifyHttpsOptions<HttpsServer>['https']> } {
  const node = {
    headersTimeout: limits.headersTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
    // The API does not use Host; without this Node answers a Host-less request itself, in plain text.
    requireHostHeader: false,
  };
  return {
    // fastify sets these on the server after creating it.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: node,
    tlsOptions: { ...node, handshakeTimeout: limits.tlsHandshakeTimeoutMs },
  };
}
