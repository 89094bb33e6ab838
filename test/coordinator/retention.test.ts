/**
 * Retention on each backend: with a one-day purpose and a one-year purpose,
 * a pass two days later erases the ciphertexts and releases of the
 * finished one-day queries only, keeps open queries and every audit entry,
 * and logs one `retention.deleted` entry per category with its count; the
 * log still verifies and a second pass finds nothing. PGlite runs in a
 * folder, so the ciphertexts are files the rows name: erased files are
 * deleted from the disk, the others stay.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { cryptoReady, generateSigningKeyPair, randomBytes } from '../../crypto/index.js';
import { DEFAULT_PURPOSE_REGISTRY, type PurposeRegistry } from '../../compliance/index.js';
import { AuditTrail, CoordinatorStore, PurposeStore, openDatabase, type Database } from '../../coordinator/index.js';
import { RETENTION_CATEGORIES, RetentionJob } from '../../coordinator/retention.js';
import { ContributionHeader } from '../../protos/index.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describeBackends } from '../helpers/backends.js';

const DAY = 86_400_000;
const base = DEFAULT_PURPOSE_REGISTRY.purposes[0]!;
const REGISTRY: PurposeRegistry = {
  version: 1,
  purposes: [{ ...base, name: 'short-lived', retentionDays: 1 }, { ...base, name: 'long-lived', retentionDays: 365 }],
  pias: [],
};

describeBackends('retention', (backend) => {
  let t: TestDatabase;
  let db: Database;
  let store: CoordinatorStore;
  let audit: AuditTrail;

  beforeAll(async () => {
    await cryptoReady();
    t = await freshDatabase(backend, 'retention', { onDisk: true });
    db = await openDatabase(t.target);
    store = new CoordinatorStore(db);
    audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair: generateSigningKeyPair() });
    await new PurposeStore(db, audit).sync(REGISTRY, 'test');
  });

  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  /** A query of `purpose` with two contributions, finished (`released` stores a release) or left open. */
  async function round(queryId: string, purpose: string, end: 'released' | 'failed' | 'open'): Promise<void> {
    await store.createQuery({
      queryId, kind: 'segment-stats', specJson: '{}', specDigest: new Uint8Array(32), paramSet: 'bfv-4096', keyId: new Uint8Array(32),
      maxContributors: 10, targetMerchants: 5, minMerchants: 2, deadline: new Date(Date.now() + 60_000), purpose,
      purposeJson: JSON.stringify(REGISTRY.purposes.find((p) => p.name === purpose)), termsJson: '', cutoff: new Date(), createdBy: 'test', fitId: null, fitRound: null,
    });
    for (const merchantId of ['shop-a', 'shop-b']) {
      const outcome = await store.insertContribution({
        queryId, merchantId, envelopeDigest: randomBytes(32), ciphertexts: randomBytes(64), attestationJson: '{}', subjectsIncluded: 20,
        header: ContributionHeader.fromPartial({ queryId, merchantId }),
      });
      expect(outcome.ok).toBe(true);
    }
    if (end === 'open') return;
    expect(await store.transition(queryId, 'open', 'closing')).toBe(true);
    if (end === 'failed') {
      expect(await store.transition(queryId, 'closing', 'failed', 'test')).toBe(true);
      return;
    }
    expect(await store.saveRelease({ queryId, releaseJson: '{}', keyholderSigningKey: new Uint8Array(32), signature: new Uint8Array(64), resultJson: '{"rows":[]}' })).toBe(true);
  }

  async function erased(queryId: string): Promise<number> {
    return (await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM contributions WHERE query_id = $1 AND ciphertexts IS NULL AND ciphertexts_file IS NULL', [queryId]))[0]!.n;
  }

  /** Ciphertext files on disk (PGlite in a folder), null where the rows hold the ciphertexts. */
  function filesOnDisk(): number | null {
    return db.ciphertextFiles ? readdirSync(db.ciphertextFiles.dir).length : null;
  }

  it('erases ciphertexts and releases past the purpose retention, logs the counts, and keeps the evidence', async () => {
    for (const m of ['shop-a', 'shop-b']) await store.enrolMerchant(m, randomBytes(32));
    await round('q-short-released', 'short-lived', 'released');
    await round('q-short-failed', 'short-lived', 'failed');
    await round('q-short-open', 'short-lived', 'open');
    await round('q-long-released', 'long-lived', 'released');
    expect(filesOnDisk()).toBe(backend === 'pglite' ? 8 : null);
    const sizeBefore = await audit.log.size();
    const log = pino({ level: 'silent' });
    const now = new Date(Date.now() + 2 * DAY);
    const job = new RetentionJob(db, audit, log, { now: () => now });

    // Nothing is due yet today.
    expect(await job.runOnce(new Date())).toEqual({ queries: 0, ciphertexts: 0, releases: 0, auditEntries: 0 });
    const pass = await job.runOnce();
    expect(pass).toEqual({ queries: 2, ciphertexts: 4, releases: 1, auditEntries: 2 });

    expect(await erased('q-short-released')).toBe(2);
    expect(await erased('q-short-failed')).toBe(2);
    expect(await erased('q-short-open')).toBe(0);
    expect(await erased('q-long-released')).toBe(0);
    expect(filesOnDisk()).toBe(backend === 'pglite' ? 4 : null);
    expect((await store.contributions('q-long-released')).map((c) => c.ciphertexts.length)).toEqual([64, 64]);
    await expect(store.contributions('q-short-released')).rejects.toMatchObject({ code: 'CIPHERTEXTS_ERASED' });
    expect(await store.getRelease('q-short-released')).toBeUndefined();
    expect(await store.getRelease('q-long-released')).toBeDefined();
    // The metadata the audit log refers to stays.
    expect((await store.getQuery('q-short-released'))?.status).toBe('released');
    expect(await store.contributionCount('q-short-released')).toBe(2);

    const entries = await audit.log.entries(sizeBefore, await audit.log.size());
    const cutoff = new Date(now.getTime() - DAY).toISOString();
    expect(entries.map((e) => [e.type, e.details])).toEqual([
      ['retention.deleted', { category: RETENTION_CATEGORIES.ciphertexts, records: 4, cutoff }],
      ['retention.deleted', { category: RETENTION_CATEGORIES.releases, records: 1, cutoff }],
    ]);
    expect((await audit.log.verifyStoredLog()).ok).toBe(true);

    // A second pass (or another coordinator's) finds nothing more to erase or log.
    expect(await job.runOnce()).toEqual({ queries: 0, ciphertexts: 0, releases: 0, auditEntries: 0 });
    expect(await audit.log.size()).toBe(sizeBefore + 2);
    // A year on, the long-lived query goes too.
    expect(await job.runOnce(new Date(Date.now() + 366 * DAY))).toMatchObject({ queries: 1, ciphertexts: 2, releases: 1 });
    expect(filesOnDisk()).toBe(backend === 'pglite' ? 2 : null); // the open query's
  });
});
