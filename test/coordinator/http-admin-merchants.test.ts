/**
 * The administrator's merchants: the list shows each shop's status, revoking
 * is for administrators only, is audited once and shows as revoked, refusals
 * are problem+json; and the console's enrolment tokens (made in the browser
 * from the authority seed) are the tokens of crypto/enrolment-token.ts: they
 * parse canonically and their key evidence verifies against the authority's
 * public key alone, as the coordinator's Enroll and the key holder check it.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KeyEvidenceError,
  canonicalEncode as nodeCanonicalEncode,
  cryptoReady,
  enrolmentEvidence,
  generateSigningKeyPair,
  parseEnrolmentToken,
  signingKeyPairFromSeed,
  toHex,
  verifyKeyEvidence,
} from '../../crypto/index.js';
import { canonicalEncode, issueEnrolmentToken, TokenIssueError } from '../../coordinator/console/enrolment-token.js';
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

describe("the console's enrolment tokens (enrolment-token.js)", () => {
  it('encodes statements exactly as crypto/canonical.ts does', () => {
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.maxSafeInteger(), fc.maxSafeNat());
    fc.assert(fc.property(fc.array(value, { maxLength: 6 }), (values) =>
      toHex(canonicalEncode('fedmart/v1/enrolment-token', values)) === toHex(nodeCanonicalEncode('fedmart/v1/enrolment-token', values))), { numRuns: 300 });
  });

  it("makes tokens whose evidence verifies against the authority's public key, for that merchant only", async () => {
    const authority = generateSigningKeyPair();
    const seed = authority.secretKey.slice(0, 32);
    expect(toHex(signingKeyPairFromSeed(seed).publicKey)).toBe(toHex(authority.publicKey));
    const now = Date.now();
    const issued = await issueEnrolmentToken({ authoritySeed: seed, merchantId: 'shop-new.7', days: 3, nowMs: now });
    expect(issued.authorityKey).toBe(toHex(authority.publicKey));
    const parsed = parseEnrolmentToken(issued.token);
    expect(parsed.statement.merchantId).toBe('shop-new.7');
    expect(parsed.statement.expiresUnixMs).toBe(now + 3 * 86_400_000);
    expect(toHex(parsed.statement.tokenId)).toBe(issued.tokenId);
    expect(issued.expiresAt).toBe(new Date(now + 3 * 86_400_000).toISOString());

    const node = generateSigningKeyPair();
    const evidence = enrolmentEvidence(issued.token, 'shop-new.7', node.publicKey);
    expect(verifyKeyEvidence(evidence, authority.publicKey, 'shop-new.7', node.publicKey, now).tokenIdHex).toBe(issued.tokenId);
    const code = (f: () => unknown): string => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return err instanceof KeyEvidenceError ? err.code : String(err);
      }
    };
    expect(code(() => verifyKeyEvidence(evidence, generateSigningKeyPair().publicKey, 'shop-new.7', node.publicKey, now))).toBe('AUTHORITY_SIGNATURE_INVALID');
    expect(code(() => enrolmentEvidence(issued.token, 'shop-other', node.publicKey))).toBe('TOKEN_MERCHANT_MISMATCH');
    expect(code(() => verifyKeyEvidence(evidence, authority.publicKey, 'shop-new.7', node.publicKey, now + 4 * 86_400_000))).toBe('TOKEN_EXPIRED');
    // Each token is fresh: another one for the same shop has another id and token key.
    const second = await issueEnrolmentToken({ authoritySeed: seed, merchantId: 'shop-new.7' });
    expect(second.tokenId).not.toBe(issued.tokenId);
    expect(parseEnrolmentToken(second.token).statement.expiresUnixMs - Date.now()).toBeGreaterThan(7 * 86_400_000 - 60_000);
  });

  it('refuses a seed of the wrong size, a bad merchant id and bad days with coded errors', async () => {
    const seed = new Uint8Array(32).fill(7);
    const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'issued', (err: unknown) => (err instanceof TokenIssueError ? err.code : String(err)));
    expect(await codeOf(issueEnrolmentToken({ authoritySeed: new Uint8Array(31), merchantId: 'shop-1' }))).toBe('SEED_INVALID');
    expect(await codeOf(issueEnrolmentToken({ authoritySeed: seed, merchantId: '-shop' }))).toBe('MERCHANT_ID_INVALID');
    expect(await codeOf(issueEnrolmentToken({ authoritySeed: seed, merchantId: 'shop:1' }))).toBe('MERCHANT_ID_INVALID');
    expect(await codeOf(issueEnrolmentToken({ authoritySeed: seed, merchantId: 'shop-1', days: 0 }))).toBe('DAYS_INVALID');
    expect(await codeOf(issueEnrolmentToken({ authoritySeed: seed, merchantId: 'shop-1', days: 1.5 }))).toBe('DAYS_INVALID');
  });
});
