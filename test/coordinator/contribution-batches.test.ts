/**
 * Group commit on each backend. Contributions sent together are stored in
 * fewer transactions than contributions, with the outcome each would have
 * had alone: stored, a duplicate (inside the batch or already stored), a
 * closed or unknown query, a revoked merchant. Each stored one has exactly
 * one audit entry, the log verifies, and nothing is acknowledged before its
 * batch committed. An item whose audit entry cannot be written fails alone:
 * the others of its batch are stored one by one.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cryptoReady, generateSigningKeyPair, randomBytes } from '../../crypto/index.js';
import { AuditTrail, CoordinatorStore, openDatabase, type Database } from '../../coordinator/index.js';
import { ContributionBatches } from '../../coordinator/contribution-batches.js';
import type { NewContribution } from '../../coordinator/store.js';
import { ContributionHeader } from '../../protos/index.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describeBackends } from '../helpers/backends.js';

describeBackends('contribution batches', (backend) => {
  let t: TestDatabase;
  let db: Database;
  let store: CoordinatorStore;
  let audit: AuditTrail;

  beforeAll(async () => {
    await cryptoReady();
    t = await freshDatabase(backend, 'batches', { onDisk: true });
    db = await openDatabase(t.target);
    store = new CoordinatorStore(db);
    audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair: generateSigningKeyPair() });
    for (let m = 0; m < 40; m++) await store.enrolMerchant(`shop-${m}`, randomBytes(32));
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  async function openQuery(queryId: string): Promise<void> {
    await store.createQuery({
      queryId, kind: 'segment-stats', specJson: '{}', specDigest: new Uint8Array(32), paramSet: 'bfv-4096', keyId: new Uint8Array(32),
      maxContributors: 100, targetMerchants: 50, minMerchants: 2, deadline: new Date(Date.now() + 600_000), purpose: 'p',
      purposeJson: '{}', termsJson: '', cutoff: new Date(), createdBy: 'test', fitId: null, fitRound: null,
    });
  }

  function item(queryId: string, merchantId: string, overrides: Partial<NewContribution> = {}): NewContribution {
    return {
      queryId, merchantId, envelopeDigest: randomBytes(32), ciphertexts: randomBytes(300), attestationJson: '{}', subjectsIncluded: 20,
      header: ContributionHeader.fromPartial({ queryId, merchantId }),
      inTx: (tx) => audit.record({ type: 'contribution.accepted', actor: merchantId, details: {
        merchantId, queryId, envelopeDigest: '00'.repeat(32), attestationDigest: '00'.repeat(32), subjectsIncluded: 20, excludedByReason: {},
      } }, tx),
      ...overrides,
    };
  }

  const accepted = async (queryId: string) =>
    (await audit.log.entries(0, await audit.log.size())).filter((e) => e.type === 'contribution.accepted' && e.details.queryId === queryId).map((e) => e.actor).sort();

  it('stores what arrives together in fewer transactions, with each item\'s own outcome', async () => {
    await openQuery('q-open');
    await openQuery('q-closed');
    expect(await store.transition('q-closed', 'open', 'closing')).toBe(true);
    expect((await store.insertContribution(item('q-open', 'shop-0'))).ok).toBe(true);
    expect(await store.revokeMerchant('shop-39', 'test')).toBe('revoked');

    const batches = new ContributionBatches(store, 8);
    const items = [
      ...Array.from({ length: 30 }, (_, m) => item('q-open', `shop-${m + 1}`)),
      item('q-open', 'shop-0'), // already stored
      item('q-open', 'shop-5'), // twice in the same burst
      item('q-closed', 'shop-2'),
      item('q-unknown', 'shop-3'),
      item('q-open', 'shop-39'),
    ];
    // Staged first (as the intake does before queueing), so all queue in one tick:
    // the first goes alone at once, the other 34 wait and go 8 at a time.
    const staged = await Promise.all(items.map(async (i) => ({ ...i, ciphertextsFile: await store.stageCiphertexts(i.ciphertexts) })));
    const outcomes = await Promise.all(staged.map((i) => batches.insert(i)));
    expect(outcomes.slice(0, 30).every((o) => o.ok)).toBe(true);
    expect(outcomes.slice(30, 34).map((o) => (o.ok ? 'ok' : o.reason))).toEqual(['duplicate', 'duplicate', 'query-closed', 'query-unknown']);
    expect(outcomes[34]).toEqual({ ok: false, reason: 'merchant-revoked' });

    // Fewer commits than contributions, none larger than the cap.
    expect(batches.stats).toEqual({ batches: 1 + 5, contributions: 35, largest: 8 });

    const stored = await store.contributions('q-open');
    const expected = ['shop-0', ...Array.from({ length: 30 }, (_, m) => `shop-${m + 1}`)];
    expect(stored.map((c) => c.merchantId).sort()).toEqual(expected.sort());
    // The first send of shop-5 is the one stored, byte for byte.
    expect(stored.find((c) => c.merchantId === 'shop-5')?.ciphertexts).toEqual(items[4]?.ciphertexts);
    expect(await accepted('q-open')).toEqual(expected.sort());
    expect((await audit.log.verifyStoredLog()).ok).toBe(true);
    if (db.ciphertextFiles) {
      const named = await db.query<{ f: string }>('SELECT ciphertexts_file AS f FROM contributions WHERE ciphertexts_file IS NOT NULL');
      expect(await store.sweepCiphertextFiles()).toBe(0); // every refused item removed its own file
      expect(named.length).toBe(expected.length);
    }
  });

  it('lets one item whose audit entry fails fail alone', async () => {
    await openQuery('q-bad');
    const batches = new ContributionBatches(store, 16);
    const bad = item('q-bad', 'shop-7', { inTx: async () => { throw new Error('audit entry refused'); } });
    const items = [...['shop-1', 'shop-2', 'shop-3'].map((m) => item('q-bad', m)), bad, ...['shop-4', 'shop-5'].map((m) => item('q-bad', m))];
    // Staged first, so shop-1 goes alone and the other five share a batch, which fails and is stored one by one.
    const staged = await Promise.all(items.map(async (i) => ({ ...i, ciphertextsFile: await store.stageCiphertexts(i.ciphertexts) })));
    const results = await Promise.allSettled(staged.map((i) => batches.insert(i)));
    expect(batches.stats).toEqual({ batches: 1 + 4, contributions: 5, largest: 1 });
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ message: 'audit entry refused' });
    const stored = (await store.contributions('q-bad')).map((c) => c.merchantId).sort();
    expect(stored).toEqual(['shop-1', 'shop-2', 'shop-3', 'shop-4', 'shop-5']);
    expect(await accepted('q-bad')).toEqual(stored);
    expect((await audit.log.verifyStoredLog()).ok).toBe(true);
    expect(await store.sweepCiphertextFiles()).toBe(0);
  });

  /** `db` whose transactions count their statements and how many are open at once. */
  function countingDatabase() {
    const seen = { statements: [] as string[], open: 0, mostOpen: 0 };
    const counted = new Proxy(db, {
      get(target, key) {
        if (key === 'transaction') {
          return (fn: Parameters<Database['transaction']>[0], options?: Parameters<Database['transaction']>[1]) => target.transaction(async (tx) => {
            seen.open++;
            seen.mostOpen = Math.max(seen.mostOpen, seen.open);
            try {
              return await fn({ query: (sql, params) => (seen.statements.push(sql), tx.query(sql, params)) });
            } finally {
              seen.open--;
            }
          }, options);
        }
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { counted, seen };
  }

  const acceptedEvent = (queryId: string, merchantId: string) => ({ type: 'contribution.accepted', actor: merchantId, details: {
    merchantId, queryId, envelopeDigest: '00'.repeat(32), attestationDigest: '00'.repeat(32), subjectsIncluded: 20, excludedByReason: {},
  } }) as const;

  it('appends a batch\'s audit entries in one INSERT when they come as auditEvents, each with its own entry', async () => {
    await openQuery('q-events');
    const { counted, seen } = countingDatabase();
    const batches = new ContributionBatches(new CoordinatorStore(counted), 8, { recorder: audit });
    const items = Array.from({ length: 9 }, (_, m) => {
      const { inTx: _inTx, ...rest } = item('q-events', `shop-${m + 1}`);
      return { ...rest, auditEvent: acceptedEvent('q-events', `shop-${m + 1}`) };
    });
    // Staged first, so the first goes alone and the other eight together.
    const staged = await Promise.all(items.map(async (i) => ({ ...i, ciphertextsFile: await store.stageCiphertexts(i.ciphertexts) })));
    expect((await Promise.all(staged.map((i) => batches.insert(i)))).every((o) => o.ok)).toBe(true);
    expect(batches.stats).toEqual({ batches: 2, contributions: 9, largest: 8 });
    // One audit INSERT per transaction, not one per contribution.
    expect(seen.statements.filter((q) => q.startsWith('INSERT INTO audit_entries'))).toHaveLength(2);
    expect(await accepted('q-events')).toEqual(items.map((i) => i.merchantId).sort());
    const entries = (await audit.log.entries(0, await audit.log.size())).filter((e) => e.type === 'contribution.accepted' && e.details.queryId === 'q-events');
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => (entries[0]?.seq ?? 0) + i));
    expect((await audit.log.verifyStoredLog()).ok).toBe(true);
    // An auditEvent with nowhere to go is a programming error, not an entry silently lost.
    await expect(new CoordinatorStore(db).insertContributions([items[0]!])).rejects.toThrow(TypeError);
  });

  it('runs up to `concurrency` transactions at once, each item with its own outcome and entry', async () => {
    await openQuery('q-parallel');
    const { counted, seen } = countingDatabase();
    const concurrency = db.backend === 'postgres' ? 2 : 1;
    const batches = new ContributionBatches(new CoordinatorStore(counted), 4, { recorder: audit, concurrency });
    const items = Array.from({ length: 30 }, (_, m) => {
      const { inTx: _inTx, ...rest } = item('q-parallel', `shop-${m + 1}`);
      return { ...rest, auditEvent: acceptedEvent('q-parallel', `shop-${m + 1}`) };
    });
    // The last is shop-4 sent again (with its own staged file, as every send has).
    const staged = await Promise.all([...items, items[3]!].map(async (i) => ({ ...i, ciphertextsFile: await store.stageCiphertexts(i.ciphertexts) })));
    const outcomes = await Promise.all(staged.map((i) => batches.insert(i)));
    expect(outcomes.slice(0, 30).every((o) => o.ok)).toBe(true);
    expect(outcomes[30]).toEqual({ ok: false, reason: 'duplicate' });
    expect(seen.mostOpen).toBe(concurrency);
    expect(batches.stats.contributions).toBe(31); // every item went through a transaction, the duplicate too
    expect((await store.contributions('q-parallel')).map((c) => c.merchantId).sort()).toEqual(items.map((i) => i.merchantId).sort());
    expect(await accepted('q-parallel')).toEqual(items.map((i) => i.merchantId).sort());
    expect((await audit.log.verifyStoredLog()).ok).toBe(true);
  });

  it('refuses a batch size or concurrency that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new ContributionBatches(store, bad)).toThrow(RangeError);
    for (const bad of [0, -1, 1.5]) expect(() => new ContributionBatches(store, 4, { concurrency: bad })).toThrow(/concurrency/);
  });
});
