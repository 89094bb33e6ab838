/**
 * The storage layer on each backend: versioned migrations (once, even when
 * several processes start together; never over a newer schema),
 * exactly-once acceptance by the database, the intake's fresh facts in
 * one statement, one closer per query by claim and lease, and one
 * gap-free Merkle audit log with consistent checkpoints under concurrent
 * writers.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  HeContext,
  HeEncryptor,
  cryptoReady,
  generateHeKeys,
  generateSigningKeyPair,
  randomBytes,
  type SigningKeyPair,
} from '../../crypto/index.js';
import { AuditTrail, CoordinatorStore, openDatabase, type Database } from '../../coordinator/index.js';
import { SchemaTooNewError } from '../../coordinator/database-errors.js';
import { ClosingClaims } from '../../coordinator/closing-claims.js';
import { DataDirLockedError } from '../../coordinator/data-dir-lock.js';
import { MIGRATIONS } from '../../coordinator/migrations.js';
import { ContributionHeader } from '../../protos/index.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describeBackends } from '../helpers/backends.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));

describeBackends('coordinator storage', (backend) => {
  let ctx: HeContext;
  let cts: Uint8Array[];
  /** One database for the tests below that use distinct ids (a fresh PGlite costs seconds). */
  let shared: Database;
  /** A database on disk for the migration tests, in their order (the last one makes it too new). */
  let onDisk: TestDatabase;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await cryptoReady();
    ctx = await HeContext.create();
    shared = await open((await fresh('shared')).target);
    const enc = new HeEncryptor(ctx, generateHeKeys(ctx).publicKey);
    cts = [1n, 2n, 3n, 4n, 5n].map((v) => enc.encryptPacked(new BigUint64Array(ctx.slotCount).fill(v)));
    enc.close();
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    ctx?.close();
  });

  async function fresh(label: string, onDisk = false): Promise<TestDatabase> {
    const t = await freshDatabase(backend, label, { onDisk });
    cleanups.push(() => t.drop());
    return t;
  }

  async function open(target: string): Promise<Database> {
    const db = await openDatabase(target);
    cleanups.push(() => db.close().catch(() => undefined));
    return db;
  }

  async function query(store: CoordinatorStore, queryId: string, deadlineMs = 60_000, target = 3) {
    return store.createQuery({
      queryId, kind: 'segment-stats', specJson: '{}', specDigest: new Uint8Array(32), paramSet: ctx.paramSet.name,
      keyId: new Uint8Array(32), maxContributors: 100, targetMerchants: target, minMerchants: 2,
      deadline: new Date(Date.now() + deadlineMs), purpose: 'marketing-analytics', purposeJson: '{"retentionDays":365}', termsJson: '',
      cutoff: new Date(), createdBy: 'test', fitId: null, fitRound: null,
    });
  }

  function contribution(queryId: string, merchantId: string, ciphertexts: Uint8Array) {
    return {
      queryId, merchantId, envelopeDigest: randomBytes(32), ciphertexts, attestationJson: '{}', subjectsIncluded: 1,
      header: ContributionHeader.fromPartial({ queryId, merchantId, nonce: Buffer.from(randomBytes(16)), signature: Buffer.alloc(64) }),
    };
  }

  async function tables(db: Database): Promise<string[]> {
    const rows = await db.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
    return rows.map((r) => r.t);
  }

  it('migrates a fresh database to the latest version once; reopening changes nothing', async () => {
    const t = (onDisk = await fresh('migrate', true));
    const db = await open(t.target);
    const versions = await db.query<{ version: number }>('SELECT version FROM schema_version ORDER BY version');
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    const before = await tables(db);
    expect(before).toEqual(expect.arrayContaining(['queries', 'contributions', 'releases', 'audit_entries', 'partial_aggregates', 'purposes']));
    await db.close();
    const again = await open(t.target);
    expect((await again.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_version'))[0]?.n).toBe(MIGRATIONS.length);
    expect(await tables(again)).toEqual(before);
    await again.close();
  });

  it(backend === 'postgres'
    ? 'migrates once when four processes start on an empty database at the same moment'
    : 'lets one process at a time open a data folder', async () => {
    if (backend === 'postgres') {
      const t = await fresh('concurrent', true);
      const dbs = await Promise.all([1, 2, 3, 4].map(() => openDatabase(t.target, { poolSize: 2 })));
      const versions = await dbs[0]!.query<{ version: number }>('SELECT version FROM schema_version ORDER BY version');
      expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
      for (const d of dbs) await d.close();
    } else {
      const first = await openDatabase(onDisk.target);
      await expect(openDatabase(onDisk.target)).rejects.toBeInstanceOf(DataDirLockedError);
      await first.close();
      const second = await openDatabase(onDisk.target);
      await second.close();
    }
  });

  it('refuses to start on a schema newer than the code, with a clear error, and touches nothing', async () => {
    const t = onDisk;
    const db = await openDatabase(t.target);
    await db.query('INSERT INTO schema_version (version) VALUES ($1)', [MIGRATIONS.length + 1]);
    const before = await tables(db);
    await db.close();
    const err = await openDatabase(t.target).then(
      async (d) => {
        await d.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect((err as SchemaTooNewError).code).toBe('SCHEMA_TOO_NEW');
    expect((err as Error).message).toBe(
      `database schema version ${MIGRATIONS.length + 1} is newer than this fedmart supports (${MIGRATIONS.length}); upgrade fedmart before starting it on this database`,
    );
    // The coordinator itself refuses to start, with that message, and exit code 1.
    // The database is refused before the request key is read, so its file is never made.
    const cli = spawnSync(process.execPath, [BIN, 'coordinator', '--keyholder', '127.0.0.1:1', '--db', t.target,
      '--enrolment-authority', 'ab'.repeat(32), '--request-key', join(tmpdir(), 'fedmart-storage-test-request.seed')],
      { encoding: 'utf8', env: { ...process.env, FEDMART_API_TOKEN: 'storage-test-token-0123456789' }, timeout: 60_000 });
    expect(cli.status, cli.stderr).toBe(1);
    expect(cli.stderr).toContain(`fedmart coordinator: database schema version ${MIGRATIONS.length + 1} is newer than this fedmart supports`);
    expect(cli.stderr).toContain('[SCHEMA_TOO_NEW]');
    const check = await openDatabase(t.target, { migrate: false });
    expect(await tables(check)).toEqual(before);
    expect((await check.query<{ v: number }>('SELECT max(version) AS v FROM schema_version'))[0]?.v).toBe(MIGRATIONS.length + 1);
    await check.close();
  });

  it('accepts one contribution per merchant and query, and only while the query is open by the database clock', async () => {
    const db = shared;
    const store = new CoordinatorStore(db);
    for (const m of ['m1', 'm2']) await store.enrolMerchant(m, randomBytes(32));
    await query(store, 'q-open');
    await query(store, 'q-late', 300);
    expect((await store.insertContribution(contribution('q-open', 'm1', cts[0]!))).ok).toBe(true);
    expect(await store.insertContribution(contribution('q-open', 'm1', cts[1]!))).toEqual({ ok: false, reason: 'duplicate' });
    expect(await store.insertContribution(contribution('q-none', 'm1', cts[1]!))).toEqual({ ok: false, reason: 'query-unknown' });
    await new Promise((r) => setTimeout(r, 400));
    expect(await store.insertContribution(contribution('q-late', 'm1', cts[1]!))).toEqual({ ok: false, reason: 'query-closed' });
    expect(await store.transition('q-open', 'open', 'closing')).toBe(true);
    expect(await store.insertContribution(contribution('q-open', 'm2', cts[1]!))).toEqual({ ok: false, reason: 'query-closed' });
    expect(await store.contributionCount('q-open')).toBe(1);
    expect(await store.contributionCount('q-late')).toBe(0);
  });

  it('reads the intake\'s fresh facts in one statement, and which queries are unfinished', async () => {
    const db = shared;
    const store = new CoordinatorStore(db);
    const key = randomBytes(32);
    await store.enrolMerchant('m-facts', key);
    await store.enrolMerchant('m-facts-revoked', randomBytes(32));
    await store.revokeMerchant('m-facts-revoked', 'test');
    await query(store, 'q-facts');
    await query(store, 'q-facts-done');
    const fresh = await store.intakeFacts('m-facts', 'q-facts');
    expect(fresh).toMatchObject({ merchant: { merchantId: 'm-facts', keySequence: 0, revokedAt: null }, queryStatus: 'open', contributed: false });
    expect(Buffer.from(fresh.merchant!.signingPublicKey).equals(Buffer.from(key))).toBe(true);
    expect((await store.insertContribution(contribution('q-facts', 'm-facts', cts[0]!))).ok).toBe(true);
    expect(await store.intakeFacts('m-facts', 'q-facts')).toMatchObject({ queryStatus: 'open', contributed: true });
    expect(await store.intakeFacts('m-facts', 'q-none')).toMatchObject({ queryStatus: undefined, contributed: false });
    expect(await store.intakeFacts('m-none', 'q-facts')).toEqual({ merchant: undefined, queryStatus: 'open', contributed: false });
    expect((await store.intakeFacts('m-facts-revoked', 'q-facts')).merchant?.revokedAt).toBeInstanceOf(Date);
    expect(await store.transition('q-facts-done', 'open', 'closing')).toBe(true);
    expect(await store.intakeFacts('m-facts', 'q-facts-done')).toMatchObject({ queryStatus: 'closing', contributed: false });
    expect((await store.unfinishedQueryIds(['q-facts', 'q-facts-done', 'q-none', 'quote"d'])).sort()).toEqual(['q-facts', 'q-facts-done']);
    expect(await store.transition('q-facts-done', 'closing', 'failed', 'test')).toBe(true);
    expect(await store.unfinishedQueryIds(['q-facts', 'q-facts-done'])).toEqual(['q-facts']);
    expect(await store.unfinishedQueryIds([])).toEqual([]);
  });

  it('gives a closing query to one claimant at a time, passes it on when the lease lapses, and stores one release', async () => {
    const db = shared;
    const store = new CoordinatorStore(db);
    await db.query(`UPDATE queries SET status = 'failed' WHERE status IN ('open', 'closing')`); // earlier tests' queries
    await query(store, 'q-claim');
    const a = new ClosingClaims(db, 'coord-a', 300);
    const b = new ClosingClaims(db, 'coord-b', 300);
    expect(await a.claimNext()).toBeUndefined();
    expect((await a.closeDue()).length).toBe(0);
    await db.query(`UPDATE queries SET deadline = now() - interval '1 second' WHERE query_id = 'q-claim'`);
    expect(await b.closeDue()).toEqual([{ queryId: 'q-claim', contributions: 0, reason: 'deadline' }]);
    expect(await a.closeDue()).toEqual([]);
    const [ca, cb] = await Promise.all([a.claimNext(), b.claimNext()]);
    expect([ca?.queryId, cb?.queryId].filter(Boolean)).toEqual(['q-claim']);
    const holder = ca ? a : b;
    const other = ca ? b : a;
    expect(await other.renew('q-claim')).toBe(false);
    expect(await holder.renew('q-claim')).toBe(true);
    expect(await other.claimNext()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 400)); // the holder stalls past its lease
    expect((await other.claimNext())?.queryId).toBe('q-claim');
    const release = { queryId: 'q-claim', releaseJson: '{}', keyholderSigningKey: new Uint8Array(32), signature: new Uint8Array(64), resultJson: '{}' };
    expect(await store.saveRelease(release)).toBe(true);
    expect(await store.saveRelease(release)).toBe(false); // the stalled holder's late copy is discarded
    expect((await store.getQuery('q-claim'))?.status).toBe('released');
    expect(await holder.claimNext()).toBeUndefined();
  });

  it('keeps one gap-free audit log with consistent checkpoints under concurrent writers sharing the key', async () => {
    const t = await fresh('audit');
    const keyPair: SigningKeyPair = generateSigningKeyPair();
    // Two connections (on PostgreSQL two pools, as two coordinator processes would have).
    const dbs = backend === 'postgres' ? [await open(t.target), await open(t.target)] : [await open(t.target)];
    const trails = dbs.map((db) => new AuditTrail({ db, origin: 'test.local/audit', keyPair }));
    const trailOf = (i: number) => trails[i % trails.length]!;
    for (let round = 0; round < 6; round++) {
      // Ten appends and two checkpoints race; every checkpoint must find a consistent log.
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => trailOf(i).record({
          type: 'auth.failed', actor: 'coordinator', details: { surface: 'grpc', route: 'Enroll', reason: 'PROOF_INVALID' },
        })),
        trailOf(round).checkpoint(),
        trailOf(round + 1).checkpoint(),
      ]);
    }
    await trailOf(0).checkpoint();
    const log = trailOf(1).log;
    expect(await log.size()).toBe(60);
    const entries = await log.entries(0, 60);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // Each entry is stamped after the one before it, whichever connection appended it.
    expect(entries.filter((e, i) => i > 0 && Date.parse(e.time) <= Date.parse(entries[i - 1]!.time))).toEqual([]);
    const report = await log.verifyStoredLog();
    expect(report).toMatchObject({ ok: true, size: 60 });
    expect((report as { checkpointsChecked: number }).checkpointsChecked).toBeGreaterThanOrEqual(6);
  });
});
