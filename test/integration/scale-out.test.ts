/**
 * Scale-out on PostgreSQL: three `fedmart coordinator` processes started
 * together on one fresh database (they migrate once), sharing the audit key
 * and the key holder, serve 30 merchant nodes spread over their gRPC
 * addresses. One coordinator is SIGKILLed in the middle of the round; its
 * merchants without a receipt fail over to the others. The release must
 * equal the pooled plaintext answer and hold each merchant once — each
 * coordinator's running sum holds only what it stored, so none is trusted
 * and the closer adds the stored contributions — and the one Merkle audit
 * log, written and checkpointed by all three, must verify.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadOrCreateSeedFile, signingKeyPairFromSeed } from '../../crypto/index.js';
import { MerchantNode, loadShopCompliance, loadShopData } from '../../client-sdk/index.js';
import type { AnswerOutcome } from '../../client-sdk/merchant-node.js';
import { AuditTrail, openDatabase, type Database } from '../../coordinator/index.js';
import { startKeyHolder, type RunningKeyHolder } from '../../keyholder/index.js';
import type { OpenQuery } from '../../protos/index.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describePostgres } from '../helpers/backends.js';
import { coordinatorArgs, killHard, spawnFedmart, type FedmartProcess } from '../helpers/coordinator-process.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { makeShops, type SynthShops } from '../../harness/shops.js';
import { testEnrolmentToken, testIdentity } from '../../harness/identity.js';

const TOKEN = 'scale-out-token-0123456789';
const SHOPS = 30;

interface Coordinator {
  readonly process: FedmartProcess;
  readonly grpc: string;
  readonly http: string;
}

describePostgres('three coordinators on one PostgreSQL, one killed mid-round', () => {
  let dir: string;
  let database: TestDatabase;
  let keyholder: RunningKeyHolder;
  let coordinators: Coordinator[] = [];
  let shops: SynthShops;
  let nodes: MerchantNode[] = [];
  let db: Database | undefined;

  async function node(shop: { shopId: string; dir: string }, coordinator: Coordinator): Promise<MerchantNode> {
    const m = await MerchantNode.create({
      merchantId: shop.shopId,
      coordinatorAddress: coordinator.grpc,
      data: await loadShopData(shop.dir, shop.shopId),
      compliance: await loadShopCompliance(shop.dir),
      stateDir: join(dir, 'state', shop.shopId),
      keyholderSigningKeyHex: keyholder.signingPublicKeyHex,
      enrolmentToken: await testEnrolmentToken(shop.shopId),
      logger: pino({ level: 'silent' }),
    });
    nodes.push(m);
    await m.loadPublicKey();
    return m;
  }

  async function http<T>(c: Coordinator, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(c.http + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await res.json()) as T;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedmart-scale-'));
    database = await freshDatabase('postgres', 'scale_out');
    // The authority and the request key all three coordinators share, in the files coordinatorArgs names.
    const identity = await testIdentity(dir);
    keyholder = await startKeyHolder({
      dataDir: join(dir, 'keyholder'), logger: pino({ level: 'silent' }),
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex, coordinatorRequestKeyHex: identity.requestKeyHex,
    });
    loadOrCreateSeedFile(join(dir, 'audit.seed')); // the one audit key all three coordinators sign with
    const [shopsMade, started] = await Promise.all([
      makeShops(SHOPS, 'scale-out', { customersPerShop: { min: 50, max: 120 } }),
      // All three at once on an empty database: migrations run once, under the advisory lock.
      Promise.all(['c1', 'c2', 'c3'].map(async (id) => {
        const p = spawnFedmart(
          [...coordinatorArgs({ dir, token: TOKEN, keyholderAddress: keyholder.address, keyholderKeyHex: keyholder.signingPublicKeyHex, db: database.target, grpcPort: 0, httpPort: 0 }),
            '--id', id, '--close-lease-ms', '3000'],
          join(dir, `${id}.log`), { FEDMART_API_TOKEN: TOKEN });
        const ready = await p.ready;
        return { process: p, grpc: String(ready.grpc), http: String(ready.http) };
      })),
    ]);
    shops = shopsMade;
    coordinators = started;
    for (const [i, s] of shops.shopDirs.entries()) {
      await (await node(s, coordinators[i % 3]!)).enrol();
    }
  }, 180_000);

  afterAll(async () => {
    for (const m of nodes) m.close();
    for (const c of coordinators) await c.process.stop();
    await keyholder?.close();
    await db?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('gives the exact pooled answer, each merchant once, and one verifying audit log', async () => {
    const [c1, c2, c3] = coordinators as [Coordinator, Coordinator, Coordinator];
    const versions = await (db = await openDatabase(database.target)).query<{ version: number }>('SELECT version FROM schema_version ORDER BY version');
    expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));

    const created = await http<{ queryId: string }>(c1, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: SHOPS, deadlineSeconds: 300,
    });
    const q: OpenQuery = (await nodes[0]!.openQueries()).find((o) => o.queryId === created.queryId)!;
    const first = nodes.slice(0, 15);
    const rest = nodes.slice(15, SHOPS);
    for (const m of first) expect((await m.answer(q)).outcome).toBe('submitted');

    // Mid-round: each coordinator stored five, and keeps its running sum in its own memory only
    // (no partial aggregate row is written per contribution). Kill c2 while the rest stream in.
    const midRound = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM contributions WHERE query_id = $1', [q.queryId]);
    expect(midRound[0]?.n).toBe(15);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM partial_aggregates'))[0]?.n).toBe(0);
    const inFlight = rest.map((m) => m.answer(q).catch((err: unknown) => ({ outcome: 'error', err }) as const));
    await new Promise((r) => setTimeout(r, 150));
    await killHard(c2.process);
    const outcomes = await Promise.all(inFlight);

    // Merchants of c2 without a receipt fail over to c1 and c3 (same state folder: same key, same receipts).
    let failedOver = 0;
    for (const [i, o] of outcomes.entries()) {
      const index = 15 + i;
      if (o.outcome === 'submitted') continue;
      expect(index % 3, `shop ${index} of a surviving coordinator: ${o.outcome}`).toBe(1);
      const replacement = await node(shops.shopDirs[index]!, index % 2 === 0 ? c1 : c3);
      const again: AnswerOutcome = await replacement.answer(q);
      expect(['submitted', 'already-answered']).toContain(again.outcome);
      failedOver++;
    }

    let final: { status: string; contributions: number; result: { rows: { stage: string; customers: number; orderValueMean: number; orderValueVariance: number }[] } };
    for (const until = Date.now() + 60_000; ;) {
      final = await http(c3, 'GET', `/v1/queries/${q.queryId}`);
      if (final.status === 'released' || final.status === 'failed' || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(final.status).toBe('released');
    expect(final.contributions).toBe(SHOPS);
    const reference = pooledReference(shops.pooledDir);
    for (const row of final.result.rows) {
      const ref = reference[row.stage]!;
      expect(row.customers).toBe(ref.customers);
      expect(Math.abs(row.orderValueMean / ref.orderValueMean - 1)).toBeLessThan(1e-9);
      expect(Math.abs(row.orderValueVariance / ref.orderValueVariance - 1)).toBeLessThan(1e-9);
    }
    const release = await http<{ release: { merchants: string[] } }>(c1, 'GET', `/v1/queries/${q.queryId}/release`);
    expect(release.release.merchants).toEqual(shops.shopDirs.map((s) => s.shopId).sort());

    // Exactly once in the database, one release, no partial aggregate rows.
    const stored = await db.query<{ n: number; merchants: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT merchant_id)::int AS merchants FROM contributions WHERE query_id = $1', [q.queryId]);
    expect(stored[0]).toEqual({ n: SHOPS, merchants: SHOPS });
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM releases WHERE query_id = $1', [q.queryId]))[0]?.n).toBe(1);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM partial_aggregates WHERE query_id = $1', [q.queryId]))[0]?.n).toBe(0);

    // One Merkle log, appended and checkpointed by all three, verifies with the shared key.
    const audit = new AuditTrail({ db, origin: 'fedmart.local/audit', keyPair: signingKeyPairFromSeed(loadOrCreateSeedFile(join(dir, 'audit.seed'))) });
    await audit.checkpoint();
    const report = await audit.log.verifyStoredLog();
    expect(report, JSON.stringify(report)).toMatchObject({ ok: true });
    const entries = await audit.log.entries(0, await audit.log.size());
    expect(entries.filter((e) => e.type === 'contribution.accepted' && e.details.queryId === q.queryId)).toHaveLength(SHOPS);
    expect(entries.filter((e) => e.type === 'release.stored')).toHaveLength(1);
    // Purposes were registered once although three coordinators started together.
    const registered = entries.filter((e) => e.type === 'purpose.registered').map((e) => (e.details as { purpose: string }).purpose);
    expect(registered).toEqual([...new Set(registered)]);
    console.log(`scale-out: ${failedOver} merchant(s) of the killed coordinator failed over`);
  }, 180_000);
});
