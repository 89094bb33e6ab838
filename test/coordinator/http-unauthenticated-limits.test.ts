/**
 * Requests without a token are limited per client address: public routes,
 * console files and unknown routes share one window per address, failed
 * authentication has its own; another address is not affected. Errors of
 * fastify's router (an over-long path parameter) are problem+json too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';

let fx: HttpFixture;

beforeAll(async () => {
  fx = await startHttpFixture({ publicRateLimit: { limit: 5, windowMs: 60_000 }, authFailureLimit: { limit: 2, windowMs: 60_000 } });
});
afterAll(() => fx?.close());

const from = (remoteAddress: string, url: string, authorization?: string) =>
  fx.app.inject({ method: 'GET', url, remoteAddress, ...(authorization ? { headers: { authorization } } : {}) });

describe('unauthenticated requests per client address', () => {
  it('limits public routes, console files and unknown routes together, per address, with Retry-After', async () => {
    const statuses = [];
    for (const url of ['/healthz', '/openapi.json', '/console/', '/no-such-route', '/healthz']) statuses.push((await from('10.0.0.1', url)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 404, 200]);
    for (const url of ['/healthz', '/console/app.js', '/no-such-route', '/docs']) {
      const res = await from('10.0.0.1', url);
      expect(res.statusCode, url).toBe(429);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Another address has its own window.
    expect((await from('10.0.0.2', '/healthz')).statusCode).toBe(200);
    // A valid token is limited per user, not by the address's public window.
    expect((await from('10.0.0.1', '/v1/me', `Bearer ${fx.users.compliance.token}`)).statusCode).toBe(200);
  });

  it('limits failed authentication per address', async () => {
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await from('10.0.0.3', '/v1/me', 'Bearer wrong-token')).statusCode);
    expect(codes).toEqual([401, 401, 429]);
    expect((await from('10.0.0.4', '/v1/me', 'Bearer wrong-token')).statusCode).toBe(401);
  });

  it('answers an over-long path parameter with 414 problem+json', async () => {
    const res = await fx.call(fx.users.marketer.token, 'GET', `/v1/queries/${'x'.repeat(300)}`);
    expect(res.status).toBe(414);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'URI_TOO_LONG', status: 414 });
  });
});
