/**
 * The server limits' defaults keep the promise the API makes (a dripping
 * body is cut within 30 s), and limits that would switch a timeout off or
 * that Node refuses are refused at start with the option's name.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_SERVER_LIMITS, HttpServerLimitsError, fastifyServerOptions, resolveHttpServerLimits } from '../../coordinator/http-server-limits.js';

describe('HTTP server limits', () => {
  it('cut a request within 30 s by default, answer included', () => {
    const d = DEFAULT_HTTP_SERVER_LIMITS;
    // The timeout, one check, and the 500 ms the answer may linger.
    expect(d.requestTimeoutMs + d.checkIntervalMs + 500).toBeLessThan(30_000);
    expect(d.headersTimeoutMs).toBeLessThanOrEqual(d.requestTimeoutMs);
    expect(d.tlsHandshakeTimeoutMs).toBeLessThan(30_000);
  });

  it('reach Node through fastify for http and https alike', () => {
    const o = fastifyServerOptions(resolveHttpServerLimits({ requestTimeoutMs: 7_000, headersTimeoutMs: 5_000, checkIntervalMs: 300 }));
    expect(o).toMatchObject({ requestTimeout: 7_000, keepAliveTimeout: 5_000, connectionTimeout: 30_000 });
    expect(o.http).toMatchObject({ headersTimeout: 5_000, connectionsCheckingInterval: 300 });
    expect(o.tlsOptions).toMatchObject({ headersTimeout: 5_000, connectionsCheckingInterval: 300, handshakeTimeout: 10_000 });
  });

  it('refuse a zero, negative or fractional limit, and headers slower than the request', () => {
    for (const bad of [{ requestTimeoutMs: 0 }, { maxConnections: -1 }, { checkIntervalMs: 0.5 }, { headersTimeoutMs: Number.NaN }]) {
      expect(() => resolveHttpServerLimits(bad)).toThrow(HttpServerLimitsError);
    }
    expect(() => resolveHttpServerLimits({ headersTimeoutMs: 30_000 })).toThrow(/headersTimeoutMs/);
  });
});
