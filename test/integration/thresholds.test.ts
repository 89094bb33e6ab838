/**
 * A query answered by fewer than m merchants is never decrypted: neither
 * when the coordinator closes it short, nor when a coordinator asks the key
 * holder directly. Cells under k subjects are suppressed.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { blake2b256 } from '../../crypto/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { keyEvidenceToWire, type ReleaseHeader } from '../../protos/index.js';
import { RoundError, rpcErrorOf } from '../../round/index.js';
import { signReleaseRequest } from '../../protos/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';
import { describeBackends } from '../helpers/backends.js';

const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

describeBackends('merchant and subject thresholds', (backend) => {
  let cluster: Cluster;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, { backend });
    merchants = await makeMerchants(await makeShops(3, 'thresholds'), cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('fails a query that closes at its deadline with fewer than m merchants, without asking the key holder', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3, deadlineSeconds: 8 });
    const q = (await merchants[0]!.openQueries()).find((o) => o.queryId === created.body.queryId)!;
    await merchants[0]!.answer(q);
    await merchants[1]!.answer(q);
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status).toBe('failed');
    expect(final.statusReason).toMatch(/only 2 of the required 3 merchants/);
    expect(cluster.keyholder.keyHolder.decryptions).toBe(0);
    const release = await api<{ code: string }>(cluster, 'GET', `/v1/queries/${created.body.queryId}/release`);
    expect(release.status).toBe(409);
    expect(release.body.code).toBe('RELEASE_NOT_READY');
  });

  it('has the key holder refuse fewer than m merchants even when a coordinator asks', async () => {
    // A coordinator configured with a lower minimum than the key holder's policy.
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 2, minMerchants: 2 });
    const q = (await merchants[0]!.openQueries()).find((o) => o.queryId === created.body.queryId)!;
    await merchants[0]!.answer(q);
    await merchants[1]!.answer(q);
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status).toBe('failed');
    expect(final.statusReason).toMatch(/TOO_FEW_MERCHANTS/);
    expect(cluster.keyholder.keyHolder.decryptions).toBe(0);

    // And directly, with one merchant's contribution twice under one id: refused before decryption.
    const built = merchants[0]!.buildContribution(q);
    // Signed with the coordinator's request key, with the merchant's real key evidence: only m stops it.
    const header: ReleaseHeader = {
      queryId: q.queryId, kind: q.kind, specJson: q.specJson, specDigest: q.specDigest, paramSet: q.paramSet, keyId: q.keyId,
      maxContributors: q.maxContributors, aggregateDigest: Buffer.from(blake2b256(built.ciphertexts[0]!)), contributionCount: 1,
      cutoffUnixMs: q.cutoffUnixMs, coordinatorSignature: Buffer.alloc(0),
    };
    header.coordinatorSignature = signReleaseRequest(header, cluster.identity.requestKey);
    let thrown: unknown;
    try {
      await cluster.keyholder.keyHolder.release(header, [{
        header: built.header, merchantSigningKey: merchants[0]!.signingPublicKey, ciphertexts: built.ciphertexts[0]!,
        keyEvidence: keyEvidenceToWire(merchants[0]!.keyEvidence()!),
      }]);
    } catch (err) {
      thrown = err;
    }
    // The key holder refuses with a round code; its gRPC edge sends it as FAILED_PRECONDITION.
    expect(thrown).toBeInstanceOf(RoundError);
    expect((thrown as RoundError).code).toBe('TOO_FEW_MERCHANTS');
    expect(rpcErrorOf(thrown as RoundError).status).toBe(status.FAILED_PRECONDITION);
    expect(cluster.keyholder.keyHolder.decryptions).toBe(0);

    // A cutoff no Date can hold (an int64 the fuzzer sent) is a refused header, not an internal error.
    const farCutoff: ReleaseHeader = { ...header, cutoffUnixMs: -7541693345903406570n, coordinatorSignature: Buffer.alloc(0) };
    farCutoff.coordinatorSignature = signReleaseRequest(farCutoff, cluster.identity.requestKey);
    const refused = await cluster.keyholder.keyHolder.release(farCutoff, [{
      header: built.header, merchantSigningKey: merchants[0]!.signingPublicKey, ciphertexts: built.ciphertexts[0]!,
      keyEvidence: keyEvidenceToWire(merchants[0]!.keyEvidence()!),
    }]).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(RoundError);
    expect((refused as RoundError).code).toBe('HEADER_INVALID');
    expect(cluster.keyholder.keyHolder.decryptions).toBe(0);
  });
});
