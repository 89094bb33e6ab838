/**
 * A merchant node that dies mid-stream resends idempotently: a stream cut
 * off half-way stores nothing; the node then
 * submits; asked again it answers from its receipt; a node that lost its
 * receipts is told ALREADY_EXISTS. `fedmart merchant --once` processes
 * SIGKILLed at seeded points while building, streaming or recording its
 * receipt, then run to the end, leave exactly one contribution. The round's
 * release counts every merchant once and equals the pooled answer.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReceipts, type MerchantNode } from '../../client-sdk/index.js';
import { MerchantServiceClient, type OpenQuery } from '../../protos/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { killHard, spawnFedmart } from '../helpers/coordinator-process.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { testEnrolmentToken } from '../../harness/identity.js';

const KILLS = 5;

describe('merchant node dying mid-stream', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let nodes: MerchantNode[];

  beforeAll(async () => {
    cluster = await startCluster();
    shops = await makeShops(3, 'merchant-resend', { customersPerShop: { min: 50, max: 120 } });
    // Shops 1 and 2 run in this process; shop 3 runs as `fedmart merchant` processes below.
    nodes = await makeMerchants({ ...shops, shopDirs: shops.shopDirs.slice(0, 2) }, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes ?? []) n.close();
    await cluster?.close();
  });

  /** Sends the header and half of the ciphertext bytes, then cancels the stream (RST_STREAM, as a dying client's stack would). */
  async function halfStream(node: MerchantNode, q: OpenQuery): Promise<void> {
    const built = node.buildContribution(q);
    const body = Buffer.concat(built.ciphertexts);
    const client = new MerchantServiceClient(cluster.coordinator.grpcAddress, credentials.createInsecure());
    await new Promise<void>((resolve) => {
      const call = client.submitContribution(new Metadata(), () => resolve());
      call.on('error', () => undefined);
      call.write({ header: built.header });
      call.write({ data: body.subarray(0, Math.floor(body.length / 2)) });
      setTimeout(() => call.cancel(), 100);
    });
    client.close();
    await new Promise((r) => setTimeout(r, 200));
  }

  async function contributions(queryId: string): Promise<number> {
    return (await api<{ contributions: number }>(cluster, 'GET', `/v1/queries/${queryId}`)).body.contributions;
  }

  it('stores nothing from a cut stream, then exactly one contribution per merchant however often it resends', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 3, deadlineSeconds: 300,
    });
    const [n1, n2] = nodes as [MerchantNode, MerchantNode];
    const q = (await n1.openQueries()).find((o) => o.queryId === created.body.queryId)!;

    await halfStream(n1, q);
    await halfStream(n1, q);
    expect(await contributions(q.queryId)).toBe(0);

    expect((await n1.answer(q)).outcome).toBe('submitted');
    expect(readReceipts(n1.stateDir).map((r) => r.queryId)).toEqual([q.queryId]);
    expect((await n1.answer(q)).outcome).toBe('already-answered'); // from its receipt, nothing sent
    // A node that lost its receipts resends and is told the contribution is stored.
    const receipts = join(n1.stateDir, 'receipts');
    for (const f of readdirSync(receipts)) rmSync(join(receipts, f));
    expect((await n1.answer(q)).outcome).toBe('already-answered');
    expect(readdirSync(receipts)).toHaveLength(1); // a note that the coordinator holds it
    expect(await contributions(q.queryId)).toBe(1);

    // Shop 3 as a process, SIGKILLed at seeded points after it is ready, then run to the end.
    const shop3 = shops.shopDirs[2]!;
    // Its own state folder, holding the shop's pseudonym key (consents.jsonl is keyed by it).
    const shop3State = join(cluster.dir, 'shop3-state');
    mkdirSync(shop3State, { recursive: true, mode: 0o700 });
    writeFileSync(join(shop3State, 'pseudonym.key'), readFileSync(join(shop3.dir, '.fedmart-state', 'pseudonym.key')), { mode: 0o600 });
    const args = ['merchant', '--id', shop3.shopId, '--data', shop3.dir, '--coordinator', cluster.coordinator.grpcAddress,
      '--keyholder-key', cluster.keyholder.signingPublicKeyHex, '--state', shop3State, '--once',
      // One token for every restart: the first start keeps the key evidence, later ones enrol idempotently.
      '--enrol-token', await testEnrolmentToken(shop3.shopId)];
    const rng = mulberry32(20261125);
    const storedAfterKill: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const p = spawnFedmart(args, join(cluster.dir, `merchant-${i}.log`));
      await p.ready;
      await new Promise((r) => setTimeout(r, Math.floor(rng() * 120)));
      await killHard(p);
      storedAfterKill.push(await contributions(q.queryId));
      expect(storedAfterKill[i]).toBeLessThanOrEqual(2);
    }
    console.log(`merchant process kills: contributions stored after each kill ${JSON.stringify(storedAfterKill)} (1: not yet, 2: stored)`);
    const last = spawnFedmart(args, join(cluster.dir, 'merchant-last.log'));
    await last.ready;
    const exit = await new Promise<number | null>((resolve) => last.child.once('exit', (code) => resolve(code)));
    expect(exit).toBe(0);
    expect(await contributions(q.queryId)).toBe(2);

    // Shop 2 answers; the release counts each merchant once and is exact.
    expect((await n2.answer(q)).outcome).toBe('submitted');
    const final = await waitForFinal(cluster, q.queryId);
    expect(final.status).toBe('released');
    expect(final.contributions).toBe(3);
    const reference = pooledReference(shops.pooledDir);
    for (const row of (final.result as { rows: { stage: string; customers: number }[] }).rows) expect(row.customers).toBe(reference[row.stage]!.customers);
    const release = await api<{ release: { merchants: string[] } }>(cluster, 'GET', `/v1/queries/${q.queryId}/release`);
    expect(release.body.release.merchants).toEqual(shops.shopDirs.map((s) => s.shopId).sort());
  }, 180_000);
});
