/**
 * Keys at rest: every secret file the system writes is 0600 and every folder
 * holding secrets 0700, even under umask 0 (so no file relies on the umask):
 * the key holder's data folder (BFV secret key, signing seed, release
 * ledger, disclosure budgets and stored releases), the coordinator's audit
 * seed, its PGlite folder (token hashes, audit log, contributions), each
 * merchant's state folder (signing seed, receipts, key evidence) and each
 * shop's pseudonym key. Real objects, one real round.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { openDatabase } from '../../coordinator/index.js';
import { HeContext } from '../../crypto/index.js';
import { loadOrCreateKeys } from '../../keyholder/key-store.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

/** Files under `dir` that may be world-readable: public by design. */
const PUBLIC_FILES = new Set(['he-public.key', 'param-set']);

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8).padStart(4, '0');
}

/** Every folder under (and including) `dir` and every file that is not public, with its mode. */
function modes(dir: string): { dirs: Record<string, string>; files: Record<string, string> } {
  const dirs: Record<string, string> = {};
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    dirs[relative(dir, d) || '.'] = modeOf(d);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!PUBLIC_FILES.has(e.name)) files[relative(dir, p)] = modeOf(p);
    }
  };
  walk(dir);
  return { dirs, files };
}

function expectPrivate(dir: string, label: string): void {
  const { dirs, files } = modes(dir);
  expect(Object.keys(files).length, `${label}: no files found`).toBeGreaterThan(0);
  for (const [d, m] of Object.entries(dirs)) expect(m, `${label}: folder ${d}`).toBe('0700');
  for (const [f, m] of Object.entries(files)) expect(m, `${label}: file ${f}`).toBe('0600');
}

describe('secret files at rest', () => {
  let previousUmask: number;
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[] = [];
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    previousUmask = process.umask(0);
    cluster = await startCluster({});
    shops = await makeShops(3, 'file-modes');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 3,
    });
    for (const m of merchants) await m.answerOpenQueries();
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');
  });

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
    await database?.drop();
    process.umask(previousUmask);
  });

  it('the key holder data folder: secret key, signing seed, ledger, budgets and releases', () => {
    const dir = join(cluster.dir, 'keyholder');
    expectPrivate(dir, 'key holder');
    expect(modes(dir).files).toHaveProperty('he-secret.key');
    expect(modes(dir).files).toHaveProperty('signing.seed');
  });

  it('a key holder folder made beforehand with mode 0755 is tightened to 0700', async () => {
    const base = mkdtempSync(join(tmpdir(), 'fedmart-kh-mode-'));
    const ctx = await HeContext.create();
    try {
      const dir = join(base, 'kh');
      mkdirSync(dir, { mode: 0o755 });
      expect(modeOf(dir)).toBe('0755');
      loadOrCreateKeys(dir, ctx);
      expectPrivate(dir, 'key holder (pre-made folder)');
    } finally {
      ctx.close();
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('the coordinator audit seed', () => {
    expect(modeOf(join(cluster.dir, 'audit.seed'))).toBe('0600');
  });

  it('each merchant state folder: signing seed and receipts', () => {
    for (const m of merchants) {
      expectPrivate(m.stateDir, m.merchantId);
      expect(modeOf(join(m.stateDir, 'signing.seed'))).toBe('0600');
      expect(modeOf(join(m.stateDir, 'receipts'))).toBe('0700');
      expect(readdirSync(join(m.stateDir, 'receipts')).length).toBe(1);
    }
  });

  it('each shop pseudonym key, in the state folder and not in the export', () => {
    for (const s of shops.shopDirs) {
      expectPrivate(join(s.dir, '.fedmart-state'), s.shopId);
      expect(modeOf(join(s.dir, '.fedmart-state', 'pseudonym.key')), s.shopId).toBe('0600');
      expect(existsSync(join(s.dir, 'pseudonym.key')), s.shopId).toBe(false);
    }
  });

  it('the coordinator PGlite folder (token hashes, audit log, contributions) is not readable by others', async () => {
    database = await freshDatabase('pglite', 'file-modes', { onDisk: true });
    const db = await openDatabase(database.target);
    try {
      const top = modeOf(database.target);
      expect(top).toBe('0700');
      // Contribution ciphertexts live in files inside it, as private as the rest.
      const files = db.ciphertextFiles!;
      expect(modeOf(files.dir)).toBe('0700');
      expect(modeOf(join(files.dir, await files.write(new Uint8Array([1, 2, 3]))))).toBe('0600');
    } finally {
      await db.close();
    }
  });
});
