/**
 * One full encrypted round, all parts real: synthetic shops, merchant nodes
 * encrypting with SEAL, gRPC on 127.0.0.1, PGlite, the key holder decrypting.
 * The released table must equal an independent plaintext pooled computation.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { describeBackends } from '../helpers/backends.js';

interface Row {
  stage: string;
  suppressed: boolean;
  customers: number | null;
  repurchaseRate: number | null;
  orderValueMean: number | null;
  orderValueVariance: number | null;
  meanDaysBetweenOrders: number | null;
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

describeBackends('encrypted segment statistics round', (backend) => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    cluster = await startCluster({}, { backend });
    shops = await makeShops(5, 'round-test');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('releases a table equal to the pooled plaintext answer', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats',
      spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' },
      targetMerchants: 5,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const m of merchants) {
      const outcomes = await m.answerOpenQueries();
      expect(outcomes.map((o) => o.outcome)).toEqual(['submitted']);
    }
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status).toBe('released');

    const reference = pooledReference(shops.pooledDir);
    const rows = (final.result as { rows: Row[] }).rows;
    expect(rows.map((r) => r.stage).sort()).toEqual(['active', 'churning', 'loyal', 'new']);
    for (const row of rows) {
      const ref = reference[row.stage]!;
      expect(row.suppressed).toBe(false);
      expect(row.customers).toBe(ref.customers);
      expect(relDiff(row.repurchaseRate!, ref.repeatCustomers / ref.customers)).toBeLessThan(1e-12);
      expect(relDiff(row.orderValueMean!, ref.orderValueMean)).toBeLessThan(1e-9);
      expect(relDiff(row.orderValueVariance!, ref.orderValueVariance)).toBeLessThan(1e-9);
      expect(relDiff(row.meanDaysBetweenOrders!, ref.meanDaysBetweenOrders)).toBeLessThan(1e-9);
    }

    // The signed release names the five merchants and the policy applied.
    const release = await api<{ release: { merchants: string[]; policy: { minMerchants: number; minSubjects: number } } }>(
      cluster, 'GET', `/v1/queries/${created.body.queryId}/release`);
    expect(release.body.release.merchants).toEqual(shops.shopDirs.map((s) => s.shopId).sort());
    expect(release.body.release.policy).toEqual({ minMerchants: 3, minSubjects: 10 });
    expect(cluster.keyholder.keyHolder.decryptions).toBe(1);
  });
});
