/**
 * Who can download a fitted model over the merchants' gRPC (`GetModel`),
 * against a real coordinator and key holder: a model is a released result
 * of its purpose, for enrolled shops, so someone who learnt a fit id (from a
 * log, a URL, a screenshot) must not fetch it by asking. The request must be
 * signed by an enrolled, unrevoked merchant's current key, fresh. Each
 * refusal comes before the fit is looked up (so it is no oracle for which
 * fit ids exist); a correctly signed request for an unknown fit gets
 * MODEL_UNKNOWN, showing the checks let an honest shop through (the cluster
 * tests of scoring, gbt-score and logistic-fit, download real models so).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, randomBytes, signDigest, type SigningKeyPair } from '../../crypto/index.js';
import { MerchantNode, loadOrCreateSigningKey, loadShopCompliance, loadShopData } from '../../client-sdk/index.js';
import { GetModelRequest, MerchantServiceClient, callUnary, errorCodeOf, modelRequestDigest } from '../../protos/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeShops, type SynthShops } from '../../harness/shops.js';
import { testEnrolmentToken } from '../../harness/identity.js';
import { testLogger } from '../../harness/test-logs.js';

let cluster: Cluster;
let shops: SynthShops;
let client: MerchantServiceClient;
const nodes: MerchantNode[] = [];
const keys = new Map<string, SigningKeyPair>();
const stateDirs: string[] = [];

beforeAll(async () => {
  cluster = await startCluster();
  shops = await makeShops(2, 'model-access');
  for (const s of shops.shopDirs) {
    const stateDir = mkdtempSync(join(tmpdir(), `fedmart-model-access-${s.shopId}-`));
    stateDirs.push(stateDir);
    const node = await MerchantNode.create({
      merchantId: s.shopId,
      coordinatorAddress: cluster.coordinator.grpcAddress,
      data: await loadShopData(s.dir, s.shopId),
      compliance: await loadShopCompliance(s.dir),
      stateDir,
      keyholderSigningKeyHex: cluster.keyholder.signingPublicKeyHex,
      enrolmentToken: await testEnrolmentToken(s.shopId),
      logger: testLogger('merchants').child({ merchantId: s.shopId }),
    });
    await node.enrol();
    nodes.push(node);
    keys.set(s.shopId, loadOrCreateSigningKey(join(stateDir, 'signing.seed')));
  }
  client = new MerchantServiceClient(cluster.coordinator.grpcAddress, credentials.createInsecure());
}, 120_000);

afterAll(async () => {
  client?.close();
  for (const n of nodes) n.close();
  await cluster?.close();
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
  if (shops) rmSync(shops.dir, { recursive: true, force: true });
});

/** A request for `modelId` as `merchantId`, signed with `key` (none: unsigned), made `ageMs` ago. */
function request(merchantId: string, key: SigningKeyPair | undefined, modelId = 'fit-0123456789', ageMs = 0): GetModelRequest {
  const unsigned = { modelId, merchantId, createdUnixMs: BigInt(Date.now() - ageMs), nonce: Buffer.from(randomBytes(16)) };
  return { ...unsigned, signature: key === undefined ? Buffer.alloc(0) : Buffer.from(signDigest(modelRequestDigest(unsigned), key.secretKey)) };
}

/** auth.failed entries of GetModel in the audit log. */
async function failedGetModelAuth(): Promise<number> {
  const res = await api<{ entries: { entry: string }[] }>(cluster, 'GET', '/v1/audit/entries?from=0&to=1000&type=auth.failed');
  expect(res.status).toBe(200);
  return res.body.entries.map((e) => JSON.parse(e.entry) as { details: { route?: string } }).filter((e) => e.details.route === 'GetModel').length;
}

async function refusal(req: Partial<GetModelRequest>): Promise<string> {
  try {
    await callUnary(client.getModel.bind(client), GetModelRequest.fromPartial(req));
  } catch (err) {
    return `${(err as { code: number }).code}:${errorCodeOf(err)}`;
  }
  return 'answered';
}

describe('GetModel: models go to enrolled shops only', () => {
  it('refuses a request that only knows a fit id, as an older client sends it', async () => {
    expect(await refusal({ modelId: 'fit-0123456789' })).toBe(`${status.INVALID_ARGUMENT}:MERCHANT_ID_INVALID`);
    expect(await refusal(request('shop-01', undefined))).toBe(`${status.UNAUTHENTICATED}:SIGNATURE_INVALID`);
  });

  it("refuses a shop's id signed with another key, an unknown merchant, a stale request and a changed fit id; audits the bad signature", async () => {
    const shop = shops.shopDirs[0]!.shopId;
    const before = await failedGetModelAuth();
    expect(await refusal(request(shop, generateSigningKeyPair()))).toBe(`${status.UNAUTHENTICATED}:SIGNATURE_INVALID`);
    expect(await refusal(request('shop-99', generateSigningKeyPair()))).toBe(`${status.PERMISSION_DENIED}:MERCHANT_NOT_ENROLLED`);
    expect(await refusal(request(shop, keys.get(shop), 'fit-0123456789', 10 * 60_000))).toBe(`${status.INVALID_ARGUMENT}:REQUEST_TIME_INVALID`);
    // A signature for one fit id does not fetch another.
    const signed = request(shop, keys.get(shop), 'fit-aaaaaaaaaa');
    expect(await refusal({ ...signed, modelId: 'fit-bbbbbbbbbb' })).toBe(`${status.UNAUTHENTICATED}:SIGNATURE_INVALID`);
    const after = await failedGetModelAuth();
    expect(after - before).toBe(2);
  });

  it('lets a correctly signed request reach the model lookup, and refuses the same shop once it is revoked', async () => {
    const shop = shops.shopDirs[1]!.shopId;
    expect(await refusal(request(shop, keys.get(shop)))).toBe(`${status.NOT_FOUND}:MODEL_UNKNOWN`);
    const revoked = await api<{ revokedAt: string | null }>(cluster, 'POST', `/v1/merchants/${shop}/revoke`, { reason: 'CONTRACT_ENDED' });
    expect(revoked.status).toBe(200);
    expect(await refusal(request(shop, keys.get(shop)))).toBe(`${status.PERMISSION_DENIED}:MERCHANT_REVOKED`);
  });
});
