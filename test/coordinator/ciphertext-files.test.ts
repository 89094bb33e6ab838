/**
 * Ciphertext files beside a PGlite folder: what a contribution row names is
 * there and byte-equal; a refused insert (a second send of the same
 * contribution, a closed query) deletes only its own file and never the
 * stored one; names from the database cannot leave the folder; and a file
 * left by a crash between write and commit is swept at the next start while
 * every named file stays.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cryptoReady, randomBytes } from '../../crypto/index.js';
import { CoordinatorStore, openDatabase, type Database } from '../../coordinator/index.js';
import { CiphertextFiles, CiphertextFilesError } from '../../coordinator/ciphertext-files.js';
import { ContributionHeader } from '../../protos/index.js';

describe('CiphertextFiles', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fedmart-ctfiles-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back exactly what it wrote, under fresh names, readable by this user only', async () => {
    const files = new CiphertextFiles(join(dir, 'a'));
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4096 }), async (bytes) => {
      const name = await files.write(bytes);
      expect(name).toMatch(/^[0-9a-f]{32}$/);
      expect(await files.read(name, bytes.length)).toEqual(bytes);
    }), { numRuns: 40 });
    const names = readdirSync(files.dir);
    expect(new Set(names).size).toBe(names.length);
    expect(statSync(files.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(files.dir, names[0]!)).mode & 0o777).toBe(0o600);
  });

  it('refuses names that are not its own, missing files and a wrong length with CIPHERTEXTS_MISSING', async () => {
    const files = new CiphertextFiles(join(dir, 'b'));
    writeFileSync(join(dir, 'secret'), 'outside');
    for (const name of ['../secret', '/etc/passwd', '', 'A'.repeat(32), `${'0'.repeat(31)}/`]) {
      await expect(files.read(name)).rejects.toBeInstanceOf(CiphertextFilesError);
    }
    await expect(files.read('0'.repeat(32))).rejects.toMatchObject({ code: 'CIPHERTEXTS_MISSING' });
    const name = await files.write(new Uint8Array(10));
    await expect(files.read(name, 11)).rejects.toThrow(/holds 10 bytes, not 11/);
    await expect(files.write('text' as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError);
  });

  it('sweeps only its own unnamed files', async () => {
    const files = new CiphertextFiles(join(dir, 'c'));
    const kept = await files.write(new Uint8Array([1]));
    const orphan = await files.write(new Uint8Array([2]));
    writeFileSync(join(files.dir, 'notes.txt'), 'not ours');
    expect(await files.sweep(new Set([kept]))).toBe(1);
    expect(readdirSync(files.dir).sort()).toEqual([kept, 'notes.txt'].sort());
    expect(readdirSync(files.dir)).not.toContain(orphan);
  });
});

describe('contributions stored as files on PGlite', () => {
  let dir: string;
  let db: Database;
  let store: CoordinatorStore;

  beforeAll(async () => {
    await cryptoReady();
    dir = mkdtempSync(join(tmpdir(), 'fedmart-ctrows-'));
    db = await openDatabase(join(dir, 'db'));
    store = new CoordinatorStore(db);
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fileCount = () => readdirSync(db.ciphertextFiles!.dir).length;

  async function openQuery(queryId: string): Promise<void> {
    await store.createQuery({
      queryId, kind: 'segment-stats', specJson: '{}', specDigest: new Uint8Array(32), paramSet: 'bfv-4096', keyId: new Uint8Array(32),
      maxContributors: 10, targetMerchants: 5, minMerchants: 2, deadline: new Date(Date.now() + 600_000), purpose: 'marketing-analytics',
      purposeJson: '{}', termsJson: '', cutoff: new Date(), createdBy: 'test', fitId: null, fitRound: null,
    });
  }

  const contribution = (queryId: string, merchantId: string, ciphertexts: Uint8Array) => ({
    queryId, merchantId, envelopeDigest: randomBytes(32), ciphertexts, attestationJson: '{}', subjectsIncluded: 20,
    header: ContributionHeader.fromPartial({ queryId, merchantId }),
  });

  it('keeps the bytes in a named file, not in the row, and a refused second send removes only its own file', async () => {
    expect(db.ciphertextFiles).toBeDefined();
    for (const m of ['shop-a', 'shop-b']) await store.enrolMerchant(m, randomBytes(32));
    await openQuery('q-files');
    const first = randomBytes(5000);
    expect((await store.insertContribution(contribution('q-files', 'shop-a', first))).ok).toBe(true);
    const row = (await db.query<{ ciphertexts: Uint8Array | null; ciphertexts_file: string | null }>(
      'SELECT ciphertexts, ciphertexts_file FROM contributions WHERE query_id = $1', ['q-files']))[0]!;
    expect(row.ciphertexts).toBeNull();
    expect(readdirSync(db.ciphertextFiles!.dir)).toEqual([row.ciphertexts_file]);

    // The same merchant again (a resend, or a forgery with other bytes): refused, the stored file untouched.
    const again = await store.insertContribution(contribution('q-files', 'shop-a', randomBytes(5000)));
    expect(again).toEqual({ ok: false, reason: 'duplicate' });
    expect(fileCount()).toBe(1);
    expect((await store.contributions('q-files'))[0]!.ciphertexts).toEqual(first);

    // A closed query refuses inside the transaction: its file goes too.
    expect(await store.transition('q-files', 'open', 'closing')).toBe(true);
    expect(await store.insertContribution(contribution('q-files', 'shop-b', randomBytes(5000)))).toEqual({ ok: false, reason: 'query-closed' });
    expect(fileCount()).toBe(1);
  });

  it('reports a named file that was removed by hand instead of summing without it', async () => {
    await openQuery('q-gone');
    expect((await store.insertContribution(contribution('q-gone', 'shop-a', randomBytes(100)))).ok).toBe(true);
    const name = (await db.query<{ f: string }>('SELECT ciphertexts_file AS f FROM contributions WHERE query_id = $1', ['q-gone']))[0]!.f;
    rmSync(join(db.ciphertextFiles!.dir, name));
    await expect(store.contributions('q-gone')).rejects.toMatchObject({ code: 'CIPHERTEXTS_MISSING' });
  });

  it('sweeps a file left by a crash before its commit, and keeps every named one across a restart', async () => {
    const orphan = await db.ciphertextFiles!.write(randomBytes(100));
    const before = fileCount();
    await db.close();
    db = await openDatabase(join(dir, 'db'));
    store = new CoordinatorStore(db);
    expect(await store.sweepCiphertextFiles()).toBe(1);
    expect(fileCount()).toBe(before - 1);
    expect(readdirSync(db.ciphertextFiles!.dir)).not.toContain(orphan);
    expect((await store.contributions('q-files')).length).toBe(1);
  });

  it('keeps the ciphertexts in the row in memory', async () => {
    const mem = await openDatabase('memory://');
    try {
      expect(mem.ciphertextFiles).toBeUndefined();
      expect(await new CoordinatorStore(mem).sweepCiphertextFiles()).toBe(0);
    } finally {
      await mem.close();
    }
  });
});
