/**
 * The administrator's merchants: the list shows each shop's status, revoking
 * is for administrators only, is audited once and shows as revoked, refusals
 * are problem+json. (Enrolment tokens are made offline with fedmart
 * enrol-token; the console only shows that command, never asking for the
 * authority's seed.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady } from '../../crypto/index.js';
import { BOOTSTRAP_TOKEN, startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';

let fx: HttpFixture;

beforeAll(async () => {
  await cryptoReady();
  fx = await startHttpFixture();
}, 60_000);

afterAll(async () => {
  await fx?.close();
});

interface MerchantView { merchantId: string; revokedAt: string | null }

const listed = async (): Promise<Record<string, string | null>> => {
  const res = await fx.call(fx.users.admin.token, 'GET', '/v1/merchants');
  expect(res.status).toBe(200);
  return Object.fromEntries((res.body.merchants as MerchantView[]).map((m) => [m.merchantId, m.revokedAt]));
};

describe('merchants over HTTP', () => {
  it('lists every enrolled shop as active until it is revoked', async () => {
    expect(await listed()).toEqual({ 'shop-01': null, 'shop-02': null });
  });

  it('refuses revocation to every role but administrators, with problem+json, and revokes nothing', async () => {
    for (const role of ['marketer', 'compliance', 'merchant'] as const) {
      const res = await fx.call(fx.users[role].token, 'POST', '/v1/merchants/shop-02/revoke', {});
      expect([res.status, res.body.code, String(res.headers['content-type'])], role).toEqual([403, 'ROLE_FORBIDDEN', expect.stringMatching(/^application\/problem\+json/)]);
    }
    expect((await fx.call(null, 'POST', '/v1/merchants/shop-02/revoke', {})).status).toBe(401);
    expect(await listed()).toEqual({ 'shop-01': null, 'shop-02': null });
  });

  it('revokes a shop once (as the console asks, with an empty body), audits merchant.revoked and then lists it as revoked', async () => {
    const before = await fx.audit.log.size();
    const res = await fx.call(fx.users.admin.token, 'POST', '/v1/merchants/shop-02/revoke', {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ merchantId: 'shop-02', revokedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const entry = await fx.lastEntry();
    expect(entry).toMatchObject({ type: 'merchant.revoked', actor: 'adm-test', details: { merchantId: 'shop-02', reason: 'REVOKED_BY_ADMINISTRATOR' } });
    expect(await fx.audit.log.size()).toBe(before + 1);
    const revokedAt = res.body.revokedAt as string;
    expect(await listed()).toEqual({ 'shop-01': null, 'shop-02': revokedAt });
    // Again: the same answer, no second entry, the first time kept.
    const again = await fx.call(fx.users.admin.token, 'POST', '/v1/merchants/shop-02/revoke', { reason: 'CONTRACT_ENDED' });
    expect([again.status, again.body.revokedAt]).toEqual([200, revokedAt]);
    expect(await fx.audit.log.size()).toBe(before + 1);
    // The other shop stays active, for its operator too.
    const own = await fx.call(fx.users.merchant.token, 'GET', '/v1/merchants/shop-01');
    expect([own.status, own.body.revokedAt]).toEqual([200, null]);
  });

  it('answers an unknown shop with 404 MERCHANT_NOT_FOUND and a bad reason code with 400, as problem+json', async () => {
    const unknown = await fx.call(BOOTSTRAP_TOKEN, 'POST', '/v1/merchants/shop-99/revoke', {});
    expect([unknown.status, unknown.body.code, String(unknown.headers['content-type'])]).toEqual([404, 'MERCHANT_NOT_FOUND', expect.stringMatching(/^application\/problem\+json/)]);
    const bad = await fx.call(BOOTSTRAP_TOKEN, 'POST', '/v1/merchants/shop-01/revoke', { reason: 'not a code' });
    expect(bad.status).toBe(400);
    expect(await listed()).toMatchObject({ 'shop-01': null });
  });

  it('refuses an administrator revoking their own user token with 409 SELF_REVOKE as problem+json', async () => {
    const res = await fx.call(fx.users.admin.token, 'POST', `/v1/users/${fx.users.admin.id}/revoke`);
    expect([res.status, res.body.code, String(res.headers['content-type'])]).toEqual([409, 'SELF_REVOKE', expect.stringMatching(/^application\/problem\+json/)]);
    const me = await fx.call(fx.users.admin.token, 'GET', '/v1/me');
    expect(me.status).toBe(200);
  });
});
