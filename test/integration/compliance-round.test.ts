/**
 * The PIPL compliance core around a real round: purposes, PIAs and field
 * allow-lists gate queries; shops filter by consent at the cutoff and sign an
 * attestation; the coordinator refuses contributions without a valid one;
 * the k threshold uses attested counts; every step lands in the audit log,
 * whose export verifies offline and fails when altered.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes, signDigest, signEnvelope, toHex } from '../../crypto/index.js';
import {
  DEFAULT_PURPOSE_REGISTRY,
  parseAttestation,
  verifyAuditBundle,
  type AuditBundle,
  type PurposeRegistry,
} from '../../compliance/index.js';
import { canonicalSpecJson } from '../../analytics/index.js';
import { loadOrCreateSigningKey, type MerchantNode } from '../../client-sdk/index.js';
import { MerchantServiceClient, envelopeOf, errorCodeOf, rightsReportDigest, type ContributionHeader } from '../../protos/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { chunks, RawSubmitter } from '../helpers/raw-client.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { describeBackends } from '../helpers/backends.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

/** The default registry plus a narrow purpose without `order.returned`, and one without a PIA. */
const REGISTRY: PurposeRegistry = {
  version: 1,
  purposes: [
    ...DEFAULT_PURPOSE_REGISTRY.purposes,
    {
      ...DEFAULT_PURPOSE_REGISTRY.purposes[0]!,
      name: 'narrow-analytics',
      allowedFields: ['customer.lifecycle_stage', 'order.amount', 'order.ordered_at'],
    },
    { ...DEFAULT_PURPOSE_REGISTRY.purposes[0]!, name: 'unassessed-analytics' },
  ],
  pias: [...DEFAULT_PURPOSE_REGISTRY.pias, { ...DEFAULT_PURPOSE_REGISTRY.pias[0]!, id: 'PIA-NARROW-1', purpose: 'narrow-analytics' }],
};

function resign(h: ContributionHeader, seedFile: string): ContributionHeader {
  return { ...h, signature: Buffer.from(signEnvelope(envelopeOf(h), loadOrCreateSigningKey(seedFile).secretKey)) };
}

describeBackends('compliance core in a round', (backend) => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let raw: RawSubmitter;

  beforeAll(async () => {
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, { purposes: REGISTRY, backend });
    shops = await makeShops(3, 'compliance-round');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    raw = new RawSubmitter(cluster.coordinator.grpcAddress);
  });

  it('reports handled rights requests once, as type, days and an opaque reference only', async () => {
    let reported = 0;
    for (const m of merchants) reported += await m.reportRightsRequests();
    expect(reported).toBeGreaterThan(0);
    for (const m of merchants) expect(await m.reportRightsRequests()).toBe(0);
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const rights = entries.filter((e) => e.type === 'rights.request');
    expect(rights).toHaveLength(reported);
    for (const e of rights) {
      expect(Object.keys(e.details).sort()).toEqual(['day', 'receivedDay', 'requestRef', 'requestType', 'shopId', 'status']);
      if (e.type !== 'rights.request') continue;
      // The synthetic shops handle every request, between 6 hours and 10 days after receipt.
      expect(e.details.status).toBe('handled');
      const days = (Date.parse(e.details.day) - Date.parse(e.details.receivedDay!)) / 86_400_000;
      expect(days).toBeGreaterThanOrEqual(0);
      expect(days).toBeLessThanOrEqual(11);
    }
    expect(new Set(rights.map((e) => (e.type === 'rights.request' ? `${e.details.shopId}/${e.details.requestRef}` : ''))).size).toBe(rights.length);
  });

  it('refuses rights reports whose days or reference do not fit together, before checking the signature', async () => {
    const m = merchants[0]!;
    const key = loadOrCreateSigningKey(join(m.stateDir, 'signing.seed'));
    const client = new MerchantServiceClient(cluster.coordinator.grpcAddress, credentials.createInsecure());
    const day = (s: string) => BigInt(Date.parse(`${s}T00:00:00.000Z`));
    const send = (event: { receivedUnixMs: bigint; pending: boolean; requestRef: Buffer }) => {
      const r = { merchantId: m.merchantId, events: [{ type: 'access', handledUnixMs: day('2025-05-04'), ...event }], createdUnixMs: BigInt(Date.now()), nonce: Buffer.from(randomBytes(16)) };
      const req = { ...r, signature: Buffer.from(signDigest(rightsReportDigest(r), key.secretKey)) };
      return new Promise<string | undefined>((done) => client.reportRightsEvents(req, (err) => done(err ? `${err.code}:${errorCodeOf(err)}` : 'OK')));
    };
    try {
      const ref = Buffer.alloc(16, 7);
      expect(await send({ receivedUnixMs: day('2025-05-05'), pending: false, requestRef: ref })).toBe(`${status.INVALID_ARGUMENT}:EVENT_TIME_INVALID`);
      expect(await send({ receivedUnixMs: day('2025-05-01'), pending: true, requestRef: ref })).toBe(`${status.INVALID_ARGUMENT}:EVENT_TIME_INVALID`);
      expect(await send({ receivedUnixMs: day('2025-05-01'), pending: false, requestRef: Buffer.alloc(0) })).toBe(`${status.INVALID_ARGUMENT}:EVENT_REF_INVALID`);
      expect(await send({ receivedUnixMs: 0n, pending: false, requestRef: ref })).toBe(`${status.INVALID_ARGUMENT}:EVENT_REF_INVALID`);
      expect(await send({ receivedUnixMs: day('2025-05-01'), pending: false, requestRef: ref })).toBe('OK');
      const last = (await cluster.coordinator.audit.log.entries((await cluster.coordinator.audit.log.size()) - 1, await cluster.coordinator.audit.log.size()))[0]!;
      expect(last).toMatchObject({ type: 'rights.request', details: { day: '2025-05-04', receivedDay: '2025-05-01', status: 'handled', requestRef: '07'.repeat(16) } });
    } finally {
      client.close();
    }
  });

  afterAll(async () => {
    raw?.close();
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('refuses queries for unknown purposes, purposes without a PIA and fields outside the allow-list', async () => {
    const unknown = await api<{ code: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: { ...SPEC, purpose: 'no-such-purpose' } });
    expect([unknown.status, unknown.body.code]).toEqual([400, 'PURPOSE_UNKNOWN']);
    const noPia = await api<{ code: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: { ...SPEC, purpose: 'unassessed-analytics' } });
    expect([noPia.status, noPia.body.code]).toEqual([400, 'PIA_MISSING']);
    const field = await api<{ code: string; detail: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { ...SPEC, purpose: 'narrow-analytics', excludeReturned: true },
    });
    expect([field.status, field.body.code]).toEqual([400, 'FIELD_NOT_ALLOWED']);
    expect(field.body.detail).toContain('order.returned');
  });

  it('has a shop decline a purpose it did not register', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: { ...SPEC, purpose: 'narrow-analytics' }, targetMerchants: 3, deadlineSeconds: 3 });
    expect(created.status).toBe(201);
    const q = (await merchants[0]!.openQueries()).find((o) => o.queryId === created.body.queryId)!;
    const outcome = await merchants[0]!.answer(q);
    expect(outcome).toMatchObject({ outcome: 'declined', code: 'PURPOSE_UNKNOWN' });
  });

  it('counts consent exclusions by reason, excludes a withdrawal at once, and attests what it did', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    const [m0, m1, m2] = merchants as [MerchantNode, MerchantNode, MerchantNode];
    const q = (await m0.openQueries()).find((o) => o.queryId === created.body.queryId)!;

    // Before: what shop 0 would attest.
    const before = parseAttestation(JSON.parse(Buffer.from(m0.buildContribution(q).header.consentAttestation).toString('utf8')));
    // A customer of shop 0 who is included withdraws consent (a rights request handled now).
    const ledger = m0.compliance.ledger;
    const purpose = DEFAULT_PURPOSE_REGISTRY.purposes[0]!;
    const victim = ledger.customerIds().find((id) => ledger.evaluate(id, purpose, new Date(Number(q.cutoffUnixMs))).included)!;
    ledger.applyRightsRequest({ requestId: 'RR-TEST-1', customerId: victim, type: 'withdrawal', receivedAt: new Date(Number(q.cutoffUnixMs) - 1000).toISOString() }, { handledAt: new Date(Number(q.cutoffUnixMs) - 500) });
    const built = m0.buildContribution(q);
    const after = parseAttestation(JSON.parse(Buffer.from(built.header.consentAttestation).toString('utf8')));
    expect(after.subjectsIncluded).toBe(before.subjectsIncluded - 1);
    expect(after.excludedByReason.withdrawn + after.excludedByReason['rights-request']).toBe(before.excludedByReason.withdrawn + before.excludedByReason['rights-request'] + 1);
    expect(after.purpose).toBe('marketing-analytics');
    expect(after.cutoff).toBe(new Date(Number(q.cutoffUnixMs)).toISOString());
    // Included + excluded covers every customer of the shop's export, each once.
    const total = after.subjectsIncluded + Object.values(after.excludedByReason).reduce((a, b) => a + b, 0);
    const exported = readFileSync(join(shops.shopDirs[0]!.dir, 'customers.csv'), 'utf8').split('\n').filter((l) => l.length > 0).length - 1;
    expect(total).toBe(exported);

    // The coordinator refuses contributions without a valid attestation.
    const seed0 = join(m0.stateDir, 'signing.seed');
    const missing = await raw.send([{ header: resign({ ...built.header, consentAttestation: Buffer.alloc(0) }, seed0) }, ...chunks(built.ciphertexts[0]!)]);
    expect([missing.status, missing.code]).toEqual([status.INVALID_ARGUMENT, 'ATTESTATION_MISSING']);
    const otherPurpose = Buffer.from(canonicalSpecJson({ ...after, purpose: 'churn-modelling', terms: { ...after.terms, purpose: 'churn-modelling' } }), 'utf8');
    const mismatched = await raw.send([{ header: resign({ ...built.header, consentAttestation: otherPurpose }, seed0) }, ...chunks(built.ciphertexts[0]!)]);
    expect([mismatched.status, mismatched.code]).toEqual([status.INVALID_ARGUMENT, 'ATTESTATION_MISMATCH']);
    const inflated = Buffer.from(canonicalSpecJson({ ...after, subjectsIncluded: after.subjectsIncluded + 100, recordsUsed: after.recordsUsed + 100 }), 'utf8');
    const unsigned = await raw.send([{ header: { ...built.header, consentAttestation: inflated } }, ...chunks(built.ciphertexts[0]!)]);
    expect([unsigned.status, unsigned.code]).toEqual([status.UNAUTHENTICATED, 'SIGNATURE_INVALID']);

    // The honest round completes; the release states the attested subjects.
    expect((await m0.submit(built.header, built.ciphertexts)).queryId).toBe(q.queryId);
    const a1 = m1.buildContribution(q);
    const a2 = m2.buildContribution(q);
    await m1.submit(a1.header, a1.ciphertexts);
    await m2.submit(a2.header, a2.ciphertexts);
    const final = await waitForFinal(cluster, q.queryId);
    expect(final.status).toBe('released');
    const release = await api<{ release: { attestedSubjects: number } }>(cluster, 'GET', `/v1/queries/${q.queryId}/release`);
    expect(release.body.release.attestedSubjects).toBe(after.subjectsIncluded + a1.attestation.subjectsIncluded + a2.attestation.subjectsIncluded);
    const customers = (final.result as { rows: { customers: number | null }[] }).rows.reduce((s, r) => s + (r.customers ?? 0), 0);
    expect(customers).toBe(release.body.release.attestedSubjects);
  });

  it('records the story in a log that verifies, and an exported report that fails when altered', async () => {
    const report = await cluster.coordinator.audit.log.verifyStoredLog();
    expect(report.ok).toBe(true);
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const types = entries.map((e) => e.type);
    for (const t of ['purpose.registered', 'pia.recorded', 'merchant.enrolled', 'query.created', 'contribution.accepted', 'contribution.rejected', 'release.stored', 'rights.request']) {
      expect(types, t).toContain(t);
    }
    // No personal data: no customer id of any shop appears in any entry.
    const text = entries.map((e) => JSON.stringify(e)).join('\n');
    const ids = readFileSync(join(shops.shopDirs[0]!.dir, 'customers.csv'), 'utf8').split('\n').slice(1).map((l) => l.split(',')[0]!).filter(Boolean);
    expect(ids.filter((id) => text.includes(id))).toEqual([]);

    const exported = await api<AuditBundle>(cluster, 'POST', '/v1/audit/exports', { from: '2000-01-01T00:00:00Z', to: new Date().toISOString() });
    expect(exported.status).toBe(200);
    const auditKey = toHex(cluster.coordinator.audit.publicKey);
    const verdict = verifyAuditBundle(exported.body, { publicKeyHex: auditKey });
    expect(verdict.ok).toBe(true);
    const bundle = exported.body;
    const accepted = bundle.sections.queries.flatMap((q) => [q]).length;
    expect(accepted).toBeGreaterThan(0);

    const dir = mkdtempSync(join(tmpdir(), 'fedmart-bundle-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(bundle));
    const ok = spawnSync(process.execPath, [BIN, 'audit', 'verify', good, '--key', auditKey], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^intact: /);

    const mutations: [string, (b: AuditBundle) => unknown][] = [
      ['an entry edited', (b) => ({ ...b, entries: b.entries.map((e, i) => (i === 3 ? { ...e, entry: e.entry.replace('"time":"2', '"time":"1') } : e)) })],
      ['an entry dropped', (b) => ({ ...b, entries: b.entries.filter((_, i) => i !== 2) })],
      ['a section changed', (b) => ({ ...b, sections: { ...b.sections, consentSummary: [] } })],
      ['the signature changed', (b) => ({ ...b, signature: b.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) })],
    ];
    for (const [name, mutate] of mutations) {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify(mutate(bundle)));
      const bad = spawnSync(process.execPath, [BIN, 'audit', 'verify', file, '--key', auditKey], { encoding: 'utf8' });
      expect(bad.status, name).toBe(1);
      expect(bad.stderr, name).toMatch(/BROKEN at \S+/);
    }
    // Verifying against another key fails too.
    const wrongKey = spawnSync(process.execPath, [BIN, 'audit', 'verify', good, '--key', '00'.repeat(32)], { encoding: 'utf8' });
    expect(wrongKey.status).toBe(1);
  });
});

describeBackends('k threshold on attested subjects', (backend) => {
  it('refuses to decrypt when the shops attest fewer than k consented subjects', async () => {
    // k is at most 1000 (shops size their row-set sketches for it): three small shops attest fewer.
    const cluster = await startCluster({ minMerchants: 3, minSubjects: 1000 }, { backend });
    const shops = await makeShops(3, 'attested-k', { customersPerShop: { min: 40, max: 80 } });
    const merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    try {
      const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
      for (const m of merchants) await m.answerOpenQueries();
      const final = await waitForFinal(cluster, created.body.queryId);
      expect(final.status).toBe('failed');
      expect(final.statusReason).toMatch(/consented subjects/);
      expect(cluster.keyholder.keyHolder.decryptions).toBe(0);
      const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
      expect(entries.find((e) => e.type === 'query.failed')).toMatchObject({ details: { reason: 'TOO_FEW_SUBJECTS', contributions: 3 } });
    } finally {
      for (const m of merchants) m.close();
      await cluster.close();
    }
  });
});
