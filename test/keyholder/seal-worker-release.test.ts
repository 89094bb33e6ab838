/**
 * The key holder decrypts in a SEAL worker thread. A fault in that worker
 * (forced through the test-only hook) is invisible to the coordinator: the
 * Release over gRPC is retried on a fresh worker and the released table
 * equals the pooled plaintext answer. Two faults in a row answer UNAVAILABLE
 * (SEAL_WORKER_FAULT); the coordinator's retry then succeeds.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerchantNode, loadShopCompliance, loadShopData } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { testLogPath } from '../../harness/test-logs.js';

interface Row {
  stage: string;
  suppressed: boolean;
  customers: number | null;
  orderValueMean: number | null;
}

interface QueryView {
  status: string;
  statusReason: string | null;
  result: { rows: Row[] } | null;
}

describe('key holder with a faulting SEAL worker', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[] = [];
  const warnings: string[] = [];

  async function roundWith(groupBy: string): Promise<QueryView> {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy }, targetMerchants: 3,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const m of merchants) await m.answerOpenQueries();
    return (await waitForFinal(cluster, created.body.queryId)) as unknown as QueryView;
  }

  beforeAll(async () => {
    const khLog = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    cluster = await startCluster({}, { keyholder: { logger: khLog, sealWorker: { testHooks: true, spare: true, requestTimeoutMs: 10_000 } } });
    shops = await makeShops(3, 'seal-worker');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it('releases the exact pooled answer after a forced worker fault, retried on a fresh worker', async () => {
    const w = cluster.keyholder.sealWorker;
    await w.settled();
    w.injectFaultForTest('exit', 1);
    const q = await roundWith('lifecycle_stage');
    expect(q.status, q.statusReason ?? '').toBe('released');
    expect(w.replacements).toBe(1);
    expect(w.retries).toBe(1);
    const reference = pooledReference(shops.pooledDir);
    for (const row of q.result!.rows) {
      const ref = reference[row.stage]!;
      expect(row.customers).toBe(ref.customers);
      expect(Math.abs(row.orderValueMean! - ref.orderValueMean) / ref.orderValueMean).toBeLessThan(1e-9);
    }
    expect(warnings.some((l) => l.includes('SEAL worker replaced after a fault'))).toBe(true);
    console.log(`key holder SEAL worker replaced in ${w.lastReplacementMs!.toFixed(1)} ms (ready spare)`);
  });

  it('two faults in a row answer UNAVAILABLE; the coordinator retries and the next worker releases', async () => {
    const w = cluster.keyholder.sealWorker;
    await w.settled();
    const before = cluster.keyholder.keyHolder.decryptions;
    w.injectFaultForTest('throw', 2);
    const q = await roundWith('age_band');
    expect(q.status, q.statusReason ?? '').toBe('released');
    // The first Release failed on both workers, the coordinator's second one succeeded.
    expect(cluster.keyholder.keyHolder.decryptions).toBe(before + 2);
    expect(w.replacements).toBe(3);
    // The key holder answered UNAVAILABLE with the stable code, and the coordinator retried.
    const refusal = warnings.map((l) => JSON.parse(l) as { code?: string; status?: string }).find((l) => l.code === 'SEAL_WORKER_FAULT');
    expect(refusal?.status).toBe('UNAVAILABLE');
    const coordinatorLog = readFileSync(testLogPath('cluster'), 'utf8');
    expect(coordinatorLog).toMatch(/key holder unavailable; will retry/);
  });

  it('a merchant node encrypting in its SEAL worker survives a worker fault; the release is exact', async () => {
    // Shop 1 again, on the same state folder, now encrypting in a worker.
    const old = merchants[0]!;
    old.close();
    const shop = shops.shopDirs[0]!;
    const node = await MerchantNode.create({
      merchantId: shop.shopId,
      coordinatorAddress: cluster.coordinator.grpcAddress,
      data: await loadShopData(shop.dir, shop.shopId),
      compliance: await loadShopCompliance(shop.dir),
      stateDir: old.stateDir,
      keyholderSigningKeyHex: cluster.keyholder.signingPublicKeyHex,
      encryptInWorker: { testHooks: true, requestTimeoutMs: 10_000 },
      // Every ciphertext through the worker, so the injected fault meets this round's encryption.
      encryptionPool: false,
      logger: pino({ level: 'silent' }),
    });
    merchants[0] = node;
    await node.loadPublicKey();
    expect(node.sealWorker).toBeDefined();
    node.sealWorker!.injectFaultForTest('exit', 1);
    const q = await roundWith('lifecycle_stage');
    expect(q.status, q.statusReason ?? '').toBe('released');
    const reference = pooledReference(shops.pooledDir);
    for (const row of q.result!.rows) {
      expect(row.customers).toBe(reference[row.stage]!.customers);
      expect(Math.abs(row.orderValueMean! - reference[row.stage]!.orderValueMean) / reference[row.stage]!.orderValueMean).toBeLessThan(1e-9);
    }
    expect(node.sealWorker!.replacements).toBe(1);
    expect(node.sealWorker!.retries).toBe(1);
  });
});
