/**
 * A real encrypted round with every hop over TLS on 127.0.0.1: merchants and
 * the HTTP API to the coordinator's certificate, the coordinator to the key
 * holder with mutual TLS, all certificates from `fedmart init`. Peers that
 * trust another CA, or present no client certificate, are refused.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { CoordinatorHttpClient } from '../../cli/http-client.js';
import { createDeployment, DEPLOYMENT_FILES } from '../../cli/deployment.js';
import { KeyHolderClient } from '../../coordinator/keyholder-client.js';
import { HeContext, DEFAULT_HE_PARAM_SET } from '../../crypto/index.js';
import { api, startCluster, waitForFinal, TEST_TOKEN, type Cluster } from '../../harness/cluster.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

describe('TLS everywhere on 127.0.0.1', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[] = [];
  const otherDir = mkdtempSync(join(tmpdir(), 'fedmart-other-ca-'));
  let otherCa: string;

  beforeAll(async () => {
    cluster = await startCluster({}, { tls: true });
    shops = await makeShops(3, 'tls-round');
    await createDeployment(join(otherDir, 'deployment'));
    otherCa = readFileSync(join(otherDir, 'deployment', DEPLOYMENT_FILES.caCert), 'utf8');
  });

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
    rmSync(otherDir, { recursive: true, force: true });
  });

  it('serves https and gRPC over TLS', () => {
    expect(cluster.coordinator.httpAddress).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(cluster.tls).toBeDefined();
  });

  it('completes a segment round: merchants pin the deployment CA, the coordinator reaches the key holder with mutual TLS', async () => {
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex, { coordinatorCa: cluster.tls!.ca });
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats',
      spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' },
      targetMerchants: 3,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const m of merchants) {
      expect((await m.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    }
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');
    const reference = pooledReference(shops.pooledDir);
    for (const row of (final.result as { rows: { stage: string; suppressed: boolean; customers: number | null }[] }).rows) {
      if (!row.suppressed) expect(row.customers).toBe(reference[row.stage]!.customers);
    }
    expect(cluster.keyholder.keyHolder.decryptions).toBe(1);

    // The CLI's HTTP client reads the release over https, trusting only the deployment CA.
    const client = new CoordinatorHttpClient(cluster.coordinator.httpAddress, TEST_TOKEN, { ca: cluster.tls!.ca });
    const q = await client.request<{ status: string }>('GET', `/v1/queries/${created.body.queryId}`);
    expect(q.status).toBe('released');
  });

  it('refuses a merchant that pins a different CA (UNAVAILABLE, certificate error)', async () => {
    const [other] = await makeMerchants({ ...shops, shopDirs: shops.shopDirs.slice(0, 1) }, cluster.coordinator.grpcAddress,
      cluster.keyholder.signingPublicKeyHex, { coordinatorCa: otherCa, enrol: false }).then(
      () => [undefined],
      (err: unknown) => [err],
    );
    expect(other).toBeDefined();
    expect((other as ServiceError).code).toBe(status.UNAVAILABLE);
    expect((other as ServiceError).details).toMatch(/certificate/i);
  });

  it('refuses a merchant speaking plaintext to the TLS coordinator', async () => {
    const err = await makeMerchants({ ...shops, shopDirs: shops.shopDirs.slice(0, 1) }, cluster.coordinator.grpcAddress,
      cluster.keyholder.signingPublicKeyHex, { enrol: false }).then(() => undefined, (e: unknown) => e);
    expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
  });

  it('the HTTP client refuses the coordinator when it trusts another CA', async () => {
    const client = new CoordinatorHttpClient(cluster.coordinator.httpAddress, TEST_TOKEN, { ca: otherCa });
    await expect(client.request('GET', '/healthz')).rejects.toThrow(/certificate/i);
    const system = new CoordinatorHttpClient(cluster.coordinator.httpAddress, TEST_TOKEN, { ca: undefined });
    if (!process.env.FEDMART_CA) await expect(system.request('GET', '/healthz')).rejects.toThrow(/certificate/i);
  });

  it('the key holder refuses a client without a client certificate, and one whose certificate another CA signed', async () => {
    const ctx = await HeContext.create(DEFAULT_HE_PARAM_SET);
    try {
      const anonymous = new KeyHolderClient(cluster.keyholder.address, { ca: cluster.tls!.ca });
      const err = await anonymous.fetchPublicKey(ctx).then(() => undefined, (e: unknown) => e);
      anonymous.close();
      expect((err as ServiceError).code).toBe(status.UNAVAILABLE);

      const other = (f: string) => readFileSync(join(otherDir, 'deployment', f), 'utf8');
      const stranger = new KeyHolderClient(cluster.keyholder.address, {
        ca: cluster.tls!.ca, cert: other(DEPLOYMENT_FILES.coordinatorCert), key: other(DEPLOYMENT_FILES.coordinatorKey),
      });
      const err2 = await stranger.fetchPublicKey(ctx).then(() => undefined, (e: unknown) => e);
      stranger.close();
      expect((err2 as ServiceError).code).toBe(status.UNAVAILABLE);

      // The coordinator's own certificate is accepted.
      const deployment = (f: string) => readFileSync(join(cluster.tls!.deploymentDir, f), 'utf8');
      const coordinator = new KeyHolderClient(cluster.keyholder.address, {
        ca: cluster.tls!.ca, cert: deployment(DEPLOYMENT_FILES.coordinatorCert), key: deployment(DEPLOYMENT_FILES.coordinatorKey),
      });
      const bundle = await coordinator.fetchPublicKey(ctx, cluster.keyholder.signingPublicKeyHex);
      coordinator.close();
      expect(bundle.publicKey.length).toBeGreaterThan(0);
    } finally {
      ctx.close();
    }
  });
});
