/**
 * The compliance officer's HTTP routes on a real PGlite database through
 * fastify's inject: consent evidence whose figures say what they count
 * (subject-rounds summed over rounds, a lower bound of distinct subjects),
 * checked against counts the test takes from the customers it has each
 * round include; the rights-request register with status and response
 * time; the audit timeline searched by query id; and a bundle holding the
 * new rights entries still verifying offline.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditBundle } from '../../compliance/index.js';
import { toHex } from '../../crypto/index.js';
import { startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';

const d = (label: string): string => createHash('sha256').update(label).digest('hex');

let fx: HttpFixture;

/** Which customers each shop includes in each round of a four-round fit (a shop's customers recur in every round). */
const ROUNDS: { queryId: string; included: Record<string, number[]> }[] = [
  { queryId: 'q-fit-r1', included: { 'shop-01': range(0, 40), 'shop-02': range(0, 25) } },
  { queryId: 'q-fit-r2', included: { 'shop-01': range(0, 40), 'shop-02': range(0, 25) } },
  { queryId: 'q-fit-r3', included: { 'shop-01': range(5, 45), 'shop-02': range(0, 30) } },
  { queryId: 'q-fit-r4', included: { 'shop-01': range(0, 42) } },
];

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

beforeAll(async () => {
  fx = await startHttpFixture();
  for (const r of ROUNDS) {
    await fx.audit.record({
      type: 'query.created', actor: 'mkt-test',
      details: { queryId: r.queryId, requester: 'mkt-test', purpose: 'marketing-analytics', legalBasis: 'consent', kind: 'logistic-regression', specDigest: d(r.queryId), thresholds: { minMerchants: 2, minSubjects: 10 } },
    });
    for (const [shop, customers] of Object.entries(r.included)) {
      await fx.audit.record({
        type: 'contribution.accepted', actor: shop,
        details: { merchantId: shop, queryId: r.queryId, envelopeDigest: d(`${r.queryId}${shop}`), attestationDigest: null, subjectsIncluded: customers.length, excludedByReason: { withdrawn: 1 } },
      });
    }
  }
  // Rights requests: one from an older node (no status), one pending then handled 6 days after receipt, one still pending.
  const rights = [
    { shopId: 'shop-01', requestType: 'access', day: '2025-05-02' },
    { shopId: 'shop-01', requestType: 'deletion', day: '2025-05-03', receivedDay: '2025-05-03', status: 'pending', requestRef: 'a'.repeat(32) },
    { shopId: 'shop-02', requestType: 'withdrawal', day: '2025-05-05', receivedDay: '2025-05-05', status: 'pending', requestRef: 'b'.repeat(32) },
    { shopId: 'shop-01', requestType: 'deletion', day: '2025-05-09', receivedDay: '2025-05-03', status: 'handled', requestRef: 'a'.repeat(32) },
  ] as const;
  for (const details of rights) await fx.audit.record({ type: 'rights.request', actor: details.shopId, details });
});

afterAll(async () => {
  await fx?.close();
});

describe('GET /v1/compliance/consent-evidence', () => {
  it('labels sums over rounds as subject-rounds and bounds the distinct subjects from below', async () => {
    const res = await fx.call(fx.users.compliance.token, 'GET', '/v1/compliance/consent-evidence');
    expect(res.status).toBe(200);
    const p = res.body.purposes.find((x: { purpose: string | null }) => x.purpose === 'marketing-analytics');
    // Independent counts from the test's own sets.
    let subjectRounds = 0;
    const pairs = new Set<string>();
    for (const r of ROUNDS) for (const [shop, cs] of Object.entries(r.included)) {
      subjectRounds += cs.length;
      for (const c of cs) pairs.add(`${shop}/${c}`);
    }
    expect(subjectRounds).toBe(242);
    expect(pairs.size).toBe(75);
    // The existing fields are kept (the PDF report reads them) and are sums over rounds.
    expect(p.subjectsIncluded).toBe(subjectRounds);
    expect(p.contributions).toBe(7);
    expect(p.subjectsExcluded).toBe(7);
    expect(p.excludedByReason).toEqual({ withdrawn: 7 });
    expect(p).toMatchObject({ rounds: 4, shops: 2, subjectRoundsIncluded: subjectRounds, subjectRoundsExcluded: 7, largestRoundIncluded: 70 });
    // shop-01's largest round 42 + shop-02's 30, at most the true 45 + 30 distinct pairs.
    expect(p.distinctIncludedAtLeast).toBe(72);
    expect(p.distinctIncludedAtLeast).toBeLessThanOrEqual(pairs.size);
    // All entries fall in the month they were logged in (two months only if the run crossed midnight of a month's end).
    const months = [...new Set((await fx.call(fx.users.compliance.token, 'GET', '/v1/audit/entries?from=0&to=1000&type=contribution.accepted')).body.entries
      .map((e: { entry: string }) => (JSON.parse(e.entry) as { time: string }).time.slice(0, 7)))];
    expect(p.periods.map((x: { period: string }) => x.period)).toEqual(months);
    expect(p.periods.reduce((s: number, x: { subjectRoundsIncluded: number }) => s + x.subjectRoundsIncluded, 0)).toBe(subjectRounds);
    if (months.length === 1) expect(p.periods[0]).toMatchObject({ rounds: 4, contributions: 7, distinctIncludedAtLeast: 72 });
  });

  it('describes every consent figure in the OpenAPI document', async () => {
    const doc = (await fx.call(null, 'GET', '/openapi.json')).body;
    const item = doc.components.schemas.ConsentEvidence.properties.purposes.items.properties;
    for (const f of ['rounds', 'shops', 'subjectRoundsIncluded', 'subjectRoundsExcluded', 'largestRoundIncluded', 'distinctIncludedAtLeast', 'periods']) expect(item[f], f).toBeDefined();
    expect(item.subjectRoundsIncluded.description).toMatch(/NOT distinct subjects/);
    expect(item.distinctIncludedAtLeast.description).toMatch(/Lower bound/);
    expect(item.subjectsIncluded.description).toMatch(/NOT distinct subjects/);
  });
});

describe('GET /v1/audit/entries?queryId=', () => {
  it('returns only the entries about that query', async () => {
    const size = (await fx.call(fx.users.compliance.token, 'GET', '/v1/audit/entries?from=0&to=0')).body.size as number;
    const res = await fx.call(fx.users.compliance.token, 'GET', `/v1/audit/entries?from=0&to=${size}&queryId=q-fit-r3`);
    expect(res.status).toBe(200);
    const entries = res.body.entries.map((e: { entry: string }) => JSON.parse(e.entry) as { type: string; details: { queryId: string } });
    expect(entries.map((e: { type: string }) => e.type)).toEqual(['query.created', 'contribution.accepted', 'contribution.accepted']);
    expect(entries.every((e: { details: { queryId: string } }) => e.details.queryId === 'q-fit-r3')).toBe(true);
    const bad = await fx.call(fx.users.compliance.token, 'GET', `/v1/audit/entries?from=0&to=10&queryId=${encodeURIComponent('a b')}`);
    expect(bad.status).toBe(400);
  });
});

describe('GET /v1/compliance/rights-requests', () => {
  it('shows each request once, with its status and the days from received to handled', async () => {
    const res = await fx.call(fx.users.compliance.token, 'GET', '/v1/compliance/rights-requests');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.byStatus).toEqual({ pending: 1, handled: 1, unreported: 1 });
    expect(res.body.byType).toEqual({ access: 1, deletion: 1, withdrawal: 1 });
    const rows = res.body.requests.map((q: Record<string, unknown>) => [q.shopId, q.requestType, q.status, q.receivedDay, q.day, q.responseDays]);
    expect(rows).toEqual([
      ['shop-01', 'access', null, null, '2025-05-02', null],
      ['shop-02', 'withdrawal', 'pending', '2025-05-05', '2025-05-05', null],
      ['shop-01', 'deletion', 'handled', '2025-05-03', '2025-05-09', 6],
    ]);
  });

  it('exports a bundle holding those entries that verifies offline under the coordinator key', async () => {
    const res = await fx.call(fx.users.compliance.token, 'POST', '/v1/audit/exports', { from: '2000-01-01T00:00:00Z', to: new Date(Date.now() + 60_000).toISOString() });
    expect(res.status).toBe(200);
    const v = verifyAuditBundle(res.body, { publicKeyHex: toHex(fx.audit.publicKey) });
    expect(v.ok, v.ok ? '' : `${v.firstBroken}: ${v.reason}`).toBe(true);
    expect(res.body.sections.rightsRequests.total).toBe(4);
  });
});
