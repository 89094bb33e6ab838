/**
 * The differencing defence across kinds, through real encrypted rounds:
 * every kind of a purpose is computed over the same consented subjects, and
 * kinds share figures (a histogram's `all` cell holds the consented orders'
 * total value, as the segment-stats groups do together). A histogram
 * released before a customer withdrew and a segment table after it would
 * give that customer's spending by subtraction, so the second is refused
 * before anything is decrypted and the refusal is audited. A release of
 * another kind over the very same population goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShopData, type MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

const PURPOSE = 'marketing-analytics';

type ReleaseView = { release: { cells: Record<string, { suppressed: boolean; totals?: Record<string, string> }> } };

describe('population differencing across kinds of one purpose', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    shops = await makeShops(3, 'cross-kind');
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  async function run(kind: string, spec: Record<string, unknown>): Promise<{ queryId: string; status: string; statusReason: string | null }> {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind, spec: { purpose: PURPOSE, ...spec }, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const m of merchants) await m.answerOpenQueries();
    const final = await waitForFinal(cluster, created.body.queryId);
    return { queryId: created.body.queryId, status: final.status, statusReason: final.statusReason ?? null };
  }

  it('refuses a segment table one withdrawal after a histogram, before decrypting, and audits why', async () => {
    const histogram = await run('histogram', { variable: 'order_value' });
    expect(histogram.status, histogram.statusReason ?? '').toBe('released');
    // Another kind over the same population is no difference at all.
    const rfm = await run('rfm', { asOf: '2026-01-01T00:00:00Z' });
    expect(rfm.status, rfm.statusReason ?? '').toBe('released');
    const { body } = await api<ReleaseView>(cluster, 'GET', `/v1/queries/${histogram.queryId}/release`);
    const valueBefore = BigInt(body.release.cells.all!.totals!['all.value_sum']!);

    // A customer of shop 0 with orders, included in those releases, withdraws consent now.
    const m0 = merchants[0]!;
    const data = await loadShopData(shops.shopDirs.find((s) => s.shopId === m0.merchantId)!.dir, m0.merchantId);
    const ledger = m0.compliance.ledger;
    const purpose = m0.compliance.registry.purposes.find((x) => x.name === PURPOSE)!;
    const now = Date.now();
    const buyers = new Set(data.orders.map((o) => o.customerId));
    const victim = ledger.customerIds().find((id) => buyers.has(id) && ledger.evaluate(id, purpose, new Date(now)).included)!;
    expect(victim).toBeDefined();
    const spend = data.orders.filter((o) => o.customerId === victim).reduce((s, o) => s + o.amountCents, 0n);
    expect(spend).toBeGreaterThan(0n);
    expect(valueBefore).toBeGreaterThan(spend);
    ledger.applyRightsRequest({ requestId: 'RR-XKIND-1', customerId: victim, type: 'withdrawal', receivedAt: new Date(now - 2000).toISOString() }, { handledAt: new Date(now - 1000) });

    const decryptions = cluster.keyholder.keyHolder.decryptions;
    const segment = await run('segment-stats', { groupBy: 'lifecycle_stage' });
    expect(segment.status).toBe('failed');
    // The first earlier release it would difference against is the histogram, of another kind.
    expect(segment.statusReason).toContain(`differ from those of released query ${histogram.queryId}`);
    expect(segment.statusReason).toContain('by 1 customer(s) (customers in one and not the other), fewer than k=10');
    expect(cluster.keyholder.keyHolder.decryptions).toBe(decryptions);
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    expect(entries.find((e) => e.type === 'query.failed' && e.details.queryId === segment.queryId)?.details)
      .toEqual({ queryId: segment.queryId, reason: 'DIFFERENCING', contributions: 3 });
  });
});
