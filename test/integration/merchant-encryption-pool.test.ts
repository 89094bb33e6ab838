/**
 * Merchant nodes encrypting from their pool of precomputed Enc(0): one
 * filling in this thread, one filling in its SEAL worker, one without a pool
 * (fresh encryption). Two rounds under the same key release tables equal to
 * the pooled plaintext answer; the pooled nodes made every ciphertext from
 * the pool (refilled between the rounds), the other encrypted fresh.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MerchantNode, loadShopCompliance, loadShopData, type MerchantNodeOptions } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { makeShops, type SynthShops } from '../../harness/shops.js';
import { describeBackends } from '../helpers/backends.js';
import { testEnrolmentToken } from '../../harness/identity.js';
import { testLogger } from '../../harness/test-logs.js';

describeBackends('merchant encryption from a pool of Enc(0)', (backend) => {
  let cluster: Cluster;
  let shops: SynthShops;
  const merchants: MerchantNode[] = [];
  const variants: Pick<MerchantNodeOptions, 'encryptionPool' | 'encryptInWorker'>[] = [
    {},
    { encryptInWorker: true, encryptionPool: 4 },
    { encryptionPool: false },
  ];

  beforeAll(async () => {
    cluster = await startCluster({}, { backend });
    shops = await makeShops(3, 'pool-test');
    for (const [i, s] of shops.shopDirs.entries()) {
      const node = await MerchantNode.create({
        merchantId: s.shopId,
        coordinatorAddress: cluster.coordinator.grpcAddress,
        data: await loadShopData(s.dir, s.shopId),
        compliance: await loadShopCompliance(s.dir),
        stateDir: mkdtempSync(join(tmpdir(), `fedmart-state-${s.shopId}-`)),
        keyholderSigningKeyHex: cluster.keyholder.signingPublicKeyHex,
        enrolmentToken: await testEnrolmentToken(s.shopId),
        logger: testLogger('merchants').child({ merchantId: s.shopId }),
        ...variants[i],
      });
      merchants.push(node);
      await node.enrol();
      await node.loadPublicKey();
    }
  });

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  async function round(groupBy: string): Promise<void> {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats',
      spec: { purpose: 'marketing-analytics', groupBy },
      targetMerchants: 3,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const m of merchants) {
      const outcomes = await m.answerOpenQueries();
      expect(outcomes.map((o) => o.outcome)).toEqual(['submitted']);
    }
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');
    if (groupBy === 'lifecycle_stage') {
      const reference = pooledReference(shops.pooledDir);
      for (const row of (final.result as { rows: { stage: string; customers: number; orderValueMean: number }[] }).rows) {
        expect(row.customers).toBe(reference[row.stage]!.customers);
        expect(Math.abs(row.orderValueMean - reference[row.stage]!.orderValueMean) / reference[row.stage]!.orderValueMean).toBeLessThan(1e-9);
      }
    }
  }

  it('pooled and fresh encryptions sum to the exact release, round after round under one key', async () => {
    const [inProcess, inWorker, fresh] = merchants as [MerchantNode, MerchantNode, MerchantNode];
    await Promise.all([inProcess.encryptionPoolFilled(), inWorker.encryptionPoolFilled(), fresh.encryptionPoolFilled()]);
    expect(inProcess.encryptionStats()).toEqual({ pooled: 0, fresh: 0, ready: 8 });
    expect(inWorker.encryptionStats()).toEqual({ pooled: 0, fresh: 0, ready: 4 });
    expect(fresh.encryptionStats()).toEqual({ pooled: 0, fresh: 0, ready: 0 });

    await round('lifecycle_stage');
    const first = inProcess.encryptionStats().pooled;
    expect(first).toBeGreaterThan(0);
    expect(inProcess.encryptionStats().fresh).toBe(0);
    expect(inWorker.encryptionStats()).toMatchObject({ pooled: first, fresh: 0 });
    expect(fresh.encryptionStats()).toMatchObject({ pooled: 0, fresh: first });

    // The pools refill in the background; the next round under the same key uses them again.
    await Promise.all([inProcess.encryptionPoolFilled(), inWorker.encryptionPoolFilled()]);
    expect(inProcess.encryptionStats().ready).toBe(8);
    expect(inWorker.encryptionStats().ready).toBe(4);
    await round('lifecycle_stage');
    expect(inProcess.encryptionStats()).toMatchObject({ pooled: 2 * first, fresh: 0 });
    expect(inWorker.encryptionStats()).toMatchObject({ pooled: 2 * first, fresh: 0 });
    expect(fresh.encryptionStats()).toMatchObject({ pooled: 0, fresh: 2 * first });
    // Reloading the same key keeps the pool.
    await inProcess.loadPublicKey();
    await inProcess.encryptionPoolFilled();
    expect(inProcess.encryptionStats().ready).toBe(8);
  });
});
