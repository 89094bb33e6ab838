/**
 * Merchant identity end to end: the key holder believes no merchant the
 * enrolment authority did not vouch for, whatever the coordinator says.
 *
 * - A compromised coordinator (this test, holding the coordinator's
 *   request-signing key and its database) asks the key holder to decrypt ONE
 *   real shop's contribution padded with m-1 contributions of fabricated
 *   merchants: self-made keys without evidence, tokens signed by a key that is
 *   not the authority, a real token statement re-bound to a fake key without
 *   the token secret, a forged rotation, a real merchant's evidence under
 *   another id. Each is refused with its code and nothing is decrypted. A
 *   request signed by another key, or unsigned, is refused too.
 * - Tokens enrol once; a revoked merchant's later contributions are refused
 *   while its earlier one still counts in a release; a rotated key works and
 *   the old key no longer does, while a contribution signed with the old key
 *   before the rotation is still released.
 */
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeContext, blake2b256, enrolmentEvidence, generateSigningKeyPair, issueEnrolmentToken, keyEvidenceFromJson, randomBytes, rotateKeyEvidence, signDigest, signEnvelope, signingKeyPairFromSeed, sumPackedContributions, type KeyEvidence, type KeyRotation, type SigningKeyPair } from '../../crypto/index.js';
import { tokenBindingDigest } from '../../crypto/enrolment-token.js';
import { MerchantNode, loadOrCreateSigningKey, loadShopCompliance, loadShopData } from '../../client-sdk/index.js';
import { KeyHolderClient } from '../../coordinator/keyholder-client.js';
import { signReleaseRequest } from '../../protos/index.js';
import { MerchantServiceClient, callUnary, envelopeOf, errorCodeOf, keyEvidenceToWire, keyRotationToWire, type ContributionHeader, type OpenQuery, type ReleaseHeader, type ReleasePart } from '../../protos/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { chunks, enrolRaw, RawSubmitter } from '../helpers/raw-client.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { testEnrolmentToken } from '../../harness/identity.js';
import { testLogger } from '../../harness/test-logs.js';

const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

interface Padding {
  readonly header: ContributionHeader;
  readonly ciphertexts: Uint8Array;
  readonly signingKey: Uint8Array;
  readonly evidence: KeyEvidence | undefined;
}

describe('merchant identity', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let ctx: HeContext;
  const extra: MerchantNode[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    shops = await makeShops(5, 'identity', { customersPerShop: { min: 40, max: 80 } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    ctx = await HeContext.create();
  }, 180_000);

  afterAll(async () => {
    for (const m of [...(merchants ?? []), ...extra]) m.close();
    ctx?.close();
    await cluster?.close();
  });

  async function openQuery(targetMerchants: number): Promise<OpenQuery> {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants, deadlineSeconds: 600 });
    expect(created.status).toBe(201);
    return (await merchants[0]!.openQueries()).find((q) => q.queryId === created.body.queryId)!;
  }

  /** A node that is not enrolled: a self-made key under `merchantId`, with a real shop's data. */
  async function fabricated(merchantId: string, shopIndex: number): Promise<MerchantNode> {
    const s = shops.shopDirs[shopIndex]!;
    const node = await MerchantNode.create({
      merchantId,
      coordinatorAddress: cluster.coordinator.grpcAddress,
      data: await loadShopData(s.dir, s.shopId),
      compliance: await loadShopCompliance(s.dir),
      stateDir: mkdtempSync(join(tmpdir(), `fedmart-fake-${merchantId}-`)),
      keyholderSigningKeyHex: cluster.keyholder.signingPublicKeyHex,
      logger: testLogger('identity'),
    });
    await node.loadPublicKey();
    extra.push(node);
    return node;
  }

  function padding(node: MerchantNode, q: OpenQuery, evidence: KeyEvidence | undefined): Padding {
    const built = node.buildContribution(q);
    return { header: built.header, ciphertexts: Buffer.concat(built.ciphertexts), signingKey: node.signingPublicKey, evidence };
  }

  /** The coordinator's stored evidence of a real merchant (a compromised coordinator has it). */
  async function storedEvidence(merchantId: string): Promise<KeyEvidence> {
    return keyEvidenceFromJson((await cluster.coordinator.store.merchantState(merchantId))!.keyEvidenceJson!);
  }

  /** Streams a release request to the key holder as the coordinator would; resolves with the refusal or 'released'. */
  async function ask(q: OpenQuery, contributions: readonly Padding[], signer: SigningKeyPair | null): Promise<{ status?: number; code?: string; details?: string }> {
    const count = contributions[0]!.header.ciphertextDigests.length;
    const sums = sumPackedContributions(ctx, contributions.map((c) => c.ciphertexts), count);
    const header: ReleaseHeader = {
      queryId: q.queryId, kind: q.kind, specJson: q.specJson, specDigest: Buffer.from(q.specDigest), paramSet: q.paramSet, keyId: Buffer.from(q.keyId),
      maxContributors: q.maxContributors, aggregateDigest: Buffer.from(blake2b256(Buffer.concat(sums))), contributionCount: contributions.length,
      cutoffUnixMs: q.cutoffUnixMs, coordinatorSignature: Buffer.alloc(0),
    };
    if (signer) header.coordinatorSignature = signReleaseRequest(header, signer);
    const parts: ReleasePart[] = [
      { header },
      ...contributions.map((c) => ({
        contribution: {
          header: c.header,
          merchantSigningKey: Buffer.from(c.signingKey),
          ciphertexts: Buffer.from(c.ciphertexts),
          keyEvidence: c.evidence ? keyEvidenceToWire(c.evidence) : undefined,
        },
      })),
    ];
    const client = new KeyHolderClient(cluster.keyholder.address);
    try {
      await client.release(parts);
      return { code: 'released' };
    } catch (err) {
      return { status: (err as ServiceError).code, code: errorCodeOf(err), details: (err as ServiceError).details };
    } finally {
      client.close();
    }
  }

  it('refuses one real shop padded with fabricated merchants, every variant, and decrypts nothing', async () => {
    const q = await openQuery(5);
    const [m1, m2, m3, , m5] = merchants as [MerchantNode, MerchantNode, MerchantNode, MerchantNode, MerchantNode];
    const real = padding(m1, q, m1.keyEvidence());
    const requestKey = cluster.identity.requestKey;
    const rogueAuthority = randomBytes(32);

    // 1. Self-made keys, no evidence at all.
    const f1 = await fabricated('fake-1', 1);
    const f2 = await fabricated('fake-2', 2);
    // 2. Self-made keys with tokens signed by a key that is not the enrolment authority.
    const rogue = (n: MerchantNode) => enrolmentEvidence(issueEnrolmentToken({ authoritySeed: rogueAuthority, merchantId: n.merchantId }), n.merchantId, n.signingPublicKey);
    // 3. A real merchant's token statement (shop-05 never answers this query) re-bound to a fake key without the token secret.
    const impostor = await fabricated(m5.merchantId, 4);
    const m5Evidence = await storedEvidence(m5.merchantId);
    const impostorKey = loadOrCreateSigningKey(join(impostor.stateDir, 'signing.seed'));
    const rebound: KeyEvidence = {
      ...m5Evidence,
      enrolledKey: impostor.signingPublicKey,
      tokenBinding: signDigest(tokenBindingDigest(m5.merchantId, m5Evidence.statement.tokenId, impostor.signingPublicKey), impostorKey.secretKey),
    };
    // 4. The real evidence, with a rotation to the fake key that shop-05's key never signed.
    const forgedRotation = rotateKeyEvidence(m5Evidence, impostorKey.secretKey, impostorKey).evidence;
    // 5. The real, untouched evidence, but the fake key signs the contribution.
    // 6. Shop-02's genuine evidence claimed by a fabricated merchant id.
    const f2Claiming = await storedEvidence(m2.merchantId);
    // And a second impostor for the other padding slot, under shop-04's id.
    const impostor4 = await fabricated(merchants[3]!.merchantId, 3);

    const variants: { name: string; pads: Padding[]; reason: string }[] = [
      { name: 'self-made keys, no evidence', pads: [padding(f1, q, undefined), padding(f2, q, undefined)], reason: 'carries no key evidence' },
      { name: 'tokens signed by a non-authority key', pads: [padding(f1, q, rogue(f1)), padding(f2, q, rogue(f2))], reason: 'AUTHORITY_SIGNATURE_INVALID' },
      { name: 'a real token statement re-bound to a fake key', pads: [padding(impostor, q, rebound), padding(f1, q, undefined)], reason: 'BINDING_INVALID' },
      { name: 'a forged rotation of a real key', pads: [padding(impostor, q, forgedRotation), padding(f2, q, rogue(f2))], reason: 'ROTATION_INVALID' },
      {
        name: 'real evidence, fake signing key',
        pads: [padding(impostor, q, m5Evidence), padding(impostor4, q, await storedEvidence(merchants[3]!.merchantId))],
        reason: 'KEY_MISMATCH',
      },
      { name: 'a real merchant\'s evidence under another id', pads: [padding(f2, q, f2Claiming), padding(f1, q, m1.keyEvidence())], reason: 'TOKEN_MERCHANT_MISMATCH' },
    ];
    for (const v of variants) {
      const outcome = await ask(q, [real, ...v.pads], requestKey);
      expect({ status: outcome.status, code: outcome.code }, v.name).toEqual({ status: status.PERMISSION_DENIED, code: 'MERCHANT_UNVERIFIED' });
      expect(outcome.details, v.name).toContain(v.reason);
    }
    expect(cluster.keyholder.keyHolder.decryptions).toBe(0);

    // Three genuine shops, but the request is signed by another key, or not at all.
    const genuine = [real, padding(m2, q, m2.keyEvidence()), padding(m3, q, m3.keyEvidence())];
    expect(await ask(q, genuine, generateSigningKeyPair())).toMatchObject({ status: status.UNAUTHENTICATED, code: 'REQUEST_SIGNATURE_INVALID' });
    expect(await ask(q, genuine, null)).toMatchObject({ status: status.UNAUTHENTICATED, code: 'REQUEST_SIGNATURE_INVALID' });
    expect(cluster.keyholder.keyHolder.decryptions).toBe(0);

    // The same three, signed by the coordinator's key: this is what the refusals above withheld.
    expect(await ask(q, genuine, requestKey)).toEqual({ code: 'released' });
    expect(cluster.keyholder.keyHolder.decryptions).toBe(1);
  }, 180_000);

  it('enrols with a token once; refuses missing, foreign, expired, mismatched and reused tokens', async () => {
    const grpc = cluster.coordinator.grpcAddress;
    const k1 = generateSigningKeyPair();
    const k2 = generateSigningKeyPair();
    const token = await testEnrolmentToken('shop-new');
    expect(await enrolRaw(grpc, 'shop-new', k1, undefined)).toMatchObject({ ok: false, status: status.UNAUTHENTICATED, code: 'KEY_EVIDENCE_MISSING' });
    const foreign = issueEnrolmentToken({ authoritySeed: randomBytes(32), merchantId: 'shop-new' });
    expect(await enrolRaw(grpc, 'shop-new', k1, enrolmentEvidence(foreign, 'shop-new', k1.publicKey)))
      .toMatchObject({ ok: false, status: status.PERMISSION_DENIED, code: 'AUTHORITY_SIGNATURE_INVALID' });
    const expired = await testEnrolmentToken('shop-new', Date.now() - 1000);
    expect(await enrolRaw(grpc, 'shop-new', k1, enrolmentEvidence(expired, 'shop-new', k1.publicKey)))
      .toMatchObject({ ok: false, status: status.PERMISSION_DENIED, code: 'TOKEN_EXPIRED' });
    // The token's evidence sent for another merchant id.
    expect(await enrolRaw(grpc, 'shop-other', k1, enrolmentEvidence(token, 'shop-new', k1.publicKey)))
      .toMatchObject({ ok: false, status: status.PERMISSION_DENIED, code: 'TOKEN_MERCHANT_MISMATCH' });

    const first = enrolmentEvidence(token, 'shop-new', k1.publicKey);
    expect(await enrolRaw(grpc, 'shop-new', k1, first)).toEqual({ ok: true, newlyEnrolled: true });
    // The same key and token again: idempotent.
    expect(await enrolRaw(grpc, 'shop-new', k1, first)).toEqual({ ok: true, newlyEnrolled: false });
    // The token again for another key: refused.
    expect(await enrolRaw(grpc, 'shop-new', k2, enrolmentEvidence(token, 'shop-new', k2.publicKey)))
      .toMatchObject({ ok: false, status: status.ALREADY_EXISTS, code: 'TOKEN_USED' });

    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const enrolled = entries.filter((e) => e.type === 'merchant.enrolled' && e.details.merchantId === 'shop-new');
    expect(enrolled).toHaveLength(1);
    expect(enrolled[0]!.details).toMatchObject({ tokenId: Buffer.from(first.statement.tokenId).toString('hex') });
  });

  it('refuses a revoked merchant from then on; its earlier contribution still counts', async () => {
    const [m1, m2, m3] = merchants as [MerchantNode, MerchantNode, MerchantNode];
    const q = await openQuery(3);
    expect((await m1.answer(q)).outcome).toBe('submitted');
    const revoked = await api<{ revokedAt: string | null }>(cluster, 'POST', `/v1/merchants/${m1.merchantId}/revoke`, { reason: 'CONTRACT_ENDED' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    for (const m of [m2, m3]) expect((await m.answer(q)).outcome).toBe('submitted');
    const final = await waitForFinal(cluster, q.queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');
    const release = await api<{ release: { merchants: string[] } }>(cluster, 'GET', `/v1/queries/${q.queryId}/release`);
    expect(release.body.release.merchants).toContain(m1.merchantId);

    const later = await openQuery(3);
    expect(await m1.answer(later)).toMatchObject({ outcome: 'refused', code: 'MERCHANT_REVOKED' });
    expect(await enrolRaw(cluster.coordinator.grpcAddress, m1.merchantId, generateSigningKeyPair(),
      enrolmentEvidence(await testEnrolmentToken(m1.merchantId), m1.merchantId, generateSigningKeyPair().publicKey)))
      .toMatchObject({ ok: false });
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    expect(entries.filter((e) => e.type === 'merchant.revoked').map((e) => e.details)).toEqual([{ merchantId: m1.merchantId, reason: 'CONTRACT_ENDED' }]);
  }, 120_000);

  it('rotates a key: the new key works, the old one is refused, and what the old key signed before stays valid', async () => {
    // Four shops: a release by shops 2-4 beside the earlier one by shops 1-3 would differ by two merchants,
    // fewer than m = 3, and be refused (MERCHANT_DIFFERENCING); with shop 5 they differ by three.
    const [, m2, m3, m4, m5] = merchants as [MerchantNode, MerchantNode, MerchantNode, MerchantNode, MerchantNode];
    const before = await openQuery(4);
    expect((await m4.answer(before)).outcome).toBe('submitted'); // signed with the enrolled key
    const oldKey = loadOrCreateSigningKey(join(m4.stateDir, 'signing.seed'));
    const oldPublic = Buffer.from(m4.signingPublicKey).toString('hex');
    expect(await m4.rotateKey()).toBe(1);
    expect(Buffer.from(m4.signingPublicKey).toString('hex')).not.toBe(oldPublic);
    for (const m of [m2, m3, m5]) expect((await m.answer(before)).outcome).toBe('submitted');
    const released = await waitForFinal(cluster, before.queryId);
    expect(released.status, released.statusReason ?? '').toBe('released');

    const after = await openQuery(4);
    // The old key can no longer sign a contribution.
    const built = m4.buildContribution(after);
    const oldSigned = { ...built.header, signature: Buffer.from(signEnvelope(envelopeOf(built.header), oldKey.secretKey)) };
    const raw = new RawSubmitter(cluster.coordinator.grpcAddress);
    try {
      expect(await raw.send([{ header: oldSigned }, ...chunks(Buffer.concat(built.ciphertexts))]))
        .toMatchObject({ ok: false, status: status.UNAUTHENTICATED, code: 'SIGNATURE_INVALID' });
    } finally {
      raw.close();
    }
    // The new key can, and the key holder follows the chain token -> enrolled key -> rotation 1.
    expect((await m4.answer(after)).outcome).toBe('submitted');
    for (const m of [m2, m3, m5]) expect((await m.answer(after)).outcome).toBe('submitted');
    const final = await waitForFinal(cluster, after.queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');

    // A restart needs no token: the evidence is in the state folder.
    const s = shops.shopDirs[3]!;
    const restarted = await MerchantNode.create({
      merchantId: m4.merchantId, coordinatorAddress: cluster.coordinator.grpcAddress, data: await loadShopData(s.dir, s.shopId),
      compliance: await loadShopCompliance(s.dir), stateDir: m4.stateDir, keyholderSigningKeyHex: cluster.keyholder.signingPublicKeyHex,
      logger: testLogger('identity'),
    });
    extra.push(restarted);
    expect(await restarted.enrol()).toBe(false);
    expect(Buffer.from(restarted.signingPublicKey).equals(Buffer.from(m4.signingPublicKey))).toBe(true);

    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    expect(entries.filter((e) => e.type === 'merchant.key-rotated').map((e) => e.details))
      .toEqual([{ merchantId: m4.merchantId, sequence: 1, keyDigest: Buffer.from(blake2b256(m4.signingPublicKey)).toString('hex') }]);
  }, 120_000);

  it('answers a resent rotation idempotently, refuses a wrong sequence or a forged one, and a node finishes a rotation cut short', async () => {
    const m5 = merchants[4]!;
    const grpc = cluster.coordinator.grpcAddress;
    const client = new MerchantServiceClient(grpc, credentials.createInsecure());
    const rotate = async (rotation: KeyRotation) => {
      try {
        return { ok: true, ...(await callUnary(client.rotateKey.bind(client), { merchantId: m5.merchantId, rotation: keyRotationToWire(rotation) })) };
      } catch (err) {
        return { ok: false, status: (err as ServiceError).code, code: errorCodeOf(err) };
      }
    };
    try {
      // The node's next key is made and the coordinator accepts the rotation, then the node "dies"
      // before it wrote its evidence and moved the key into place.
      const nextSeed = randomBytes(32);
      writeFileSync(join(m5.stateDir, 'signing.next.seed'), nextSeed, { mode: 0o600 });
      const current = loadOrCreateSigningKey(join(m5.stateDir, 'signing.seed'));
      const { rotation } = rotateKeyEvidence(m5.keyEvidence()!, current.secretKey, signingKeyPairFromSeed(nextSeed));
      expect(await rotate(rotation)).toMatchObject({ ok: true, sequence: 1 });
      expect(await rotate(rotation)).toMatchObject({ ok: true, sequence: 1 }); // a lost reply, resent
      expect(await rotate({ ...rotation, sequence: 3 })).toMatchObject({ ok: false, status: status.FAILED_PRECONDITION, code: 'ROTATION_SEQUENCE' });
      const stranger = generateSigningKeyPair();
      const forged = rotateKeyEvidence(keyEvidenceFromJson((await cluster.coordinator.store.merchantState(m5.merchantId))!.keyEvidenceJson!),
        stranger.secretKey, generateSigningKeyPair()).rotation;
      expect(await rotate(forged)).toMatchObject({ ok: false, status: status.UNAUTHENTICATED, code: 'ROTATION_INVALID' });

      // Its old key is refused now; rotating again resends the same rotation and the node catches up.
      const q = await openQuery(3);
      expect(await m5.answer(q)).toMatchObject({ outcome: 'refused', code: 'SIGNATURE_INVALID' });
      expect(await m5.rotateKey()).toBe(1);
      expect(Buffer.from(m5.signingPublicKey).equals(Buffer.from(signingKeyPairFromSeed(nextSeed).publicKey))).toBe(true);
      expect((await m5.answer(q)).outcome).toBe('submitted');
    } finally {
      client.close();
    }
  }, 120_000);
});
