/**
 * `/livez`, `/readyz` and `/healthz` on the HTTP app (real PGlite): ready
 * while the database answers with the current schema; 503 problem+json
 * naming the failing checks, and nothing else, when the schema is behind
 * or the database is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../coordinator/migrations.js';
import { startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';

/** The app reuses a readiness report for one second. */
const afterCache = () => new Promise((r) => setTimeout(r, 1100));

describe('liveness and readiness over HTTP', () => {
  let fx: HttpFixture;

  beforeAll(async () => {
    fx = await startHttpFixture();
  });

  afterAll(async () => {
    await fx?.app.close();
  });

  it('answers /livez and the older /healthz without a token', async () => {
    expect(await fx.call(null, 'GET', '/livez')).toMatchObject({ status: 200, body: { status: 'alive' } });
    expect(await fx.call(null, 'GET', '/healthz')).toMatchObject({ status: 200, body: { ok: true } });
  });

  it('is ready with the database answering and the schema current (no key holder configured)', async () => {
    const res = await fx.call(null, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok' } });
  });

  it('is not ready while the schema is behind this code, and ready again when it is current', async () => {
    const latest = MIGRATIONS.length;
    await fx.db.query('DELETE FROM schema_version WHERE version = $1', [latest]);
    await afterCache();
    const res = await fx.call(null, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'NOT_READY', status: 503, checks: { database: 'ok', migrations: 'failing' } });
    await fx.db.query('INSERT INTO schema_version (version) VALUES ($1)', [latest]);
    await afterCache();
    expect((await fx.call(null, 'GET', '/readyz')).status).toBe(200);
  });

  it('answers 503 naming the failing checks, without internals, when the database is closed; livez stays 200', async () => {
    await fx.db.close();
    await afterCache();
    const res = await fx.call(null, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      type: 'urn:fedmart:problem:not-ready',
      title: expect.any(String),
      status: 503,
      code: 'NOT_READY',
      instance: '/readyz',
      checks: { database: 'failing', migrations: 'failing' },
    });
    expect(res.raw.toString()).not.toMatch(/memory:|closed|pglite|postgres/i);
    expect((await fx.call(null, 'GET', '/livez')).status).toBe(200);
  });
});
