/**
 * The key holder's Release stream is read under limits before anything is
 * verified or decrypted: a peer that opens a stream and sends nothing is cut
 * off (DEADLINE_EXCEEDED STREAM_TIMEOUT), and a request carrying more
 * ciphertext bytes than allowed is refused (RESOURCE_EXHAUSTED
 * RELEASE_TOO_LARGE) through a real round, with nothing decrypted.
 */
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { KeyHolderServiceClient, errorCodeOf } from '../../protos/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';

const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

describe('Release stream limits', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    // One segment contribution is 123 KB of ciphertext: three of them exceed 200 KB.
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, { keyholder: { releaseStream: { idleTimeoutMs: 500, maxBytes: 200_000 } } });
    merchants = await makeMerchants(await makeShops(3, 'release-limits'), cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  }, 120_000);

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('cuts off a stream that sends nothing', async () => {
    const client = new KeyHolderServiceClient(cluster.keyholder.address, credentials.createInsecure());
    const started = Date.now();
    const err = await new Promise<ServiceError | null>((resolve) => {
      client.release((e) => resolve(e));
    });
    client.close();
    expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(errorCodeOf(err)).toBe('STREAM_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(cluster.keyholder.keyHolder.decryptions).toBe(0);
  });

  it('refuses a request carrying more ciphertext than allowed, decrypting nothing', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    expect(created.status).toBe(201);
    for (const m of merchants) await m.answerOpenQueries();
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status).toBe('failed');
    expect(final.statusReason).toMatch(/RELEASE_TOO_LARGE/);
    expect(cluster.keyholder.keyHolder.decryptions).toBe(0);
  }, 120_000);
});
