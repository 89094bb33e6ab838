/**
 * Raw rows never leave a merchant: every byte a merchant node sends to the
 * coordinator is captured by a TCP proxy and searched for each customer
 * identifier, name and phone number of that shop.
 */
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

function startRecordingProxy(target: string, sink: Buffer[]): Promise<{ server: Server; address: string }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const server = createServer((client) => {
    const upstream = createConnection({ host, port });
    client.on('data', (d: Buffer) => sink.push(Buffer.from(d)));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, address: `127.0.0.1:${(server.address() as { port: number }).port}` })));
}

function column(csv: string, name: string): string[] {
  const [header, ...lines] = csv.split(/\r?\n/).filter((l) => l.length > 0);
  const idx = header!.split(',').indexOf(name);
  expect(idx).toBeGreaterThanOrEqual(0);
  return lines.map((l) => l.split(',')[idx]!);
}

describe('what a merchant sends', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let proxy: { server: Server; address: string };
  let node: MerchantNode;
  const sent: Buffer[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    shops = await makeShops(3, 'wire-privacy');
    proxy = await startRecordingProxy(cluster.coordinator.grpcAddress, sent);
    const nodes = await makeMerchants({ ...shops, shopDirs: shops.shopDirs.slice(0, 1) }, proxy.address, cluster.keyholder.signingPublicKeyHex);
    node = nodes[0]!;
  });

  afterAll(async () => {
    node?.close();
    proxy?.server.close();
    await cluster?.close();
  });

  it('contains ciphertexts and signatures but no customer identifier, name or phone', async () => {
    await api(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 3 });
    const outcomes = await node.answerOpenQueries();
    expect(outcomes.map((o) => o.outcome)).toEqual(['submitted']);

    const bytes = Buffer.concat(sent);
    expect(bytes.length).toBeGreaterThan(120_000); // at least one packed ciphertext (122,993 bytes) went through the proxy
    // The search works: the merchant's own id is on the wire in clear.
    expect(bytes.includes(Buffer.from(node.merchantId))).toBe(true);

    const csv = readFileSync(join(shops.shopDirs[0]!.dir, 'customers.csv'), 'utf8');
    const needles = [...column(csv, 'customer_id'), ...column(csv, 'name'), ...column(csv, 'phone')];
    expect(needles.length).toBeGreaterThan(300);
    const found = needles.filter((n) => n.length >= 3 && bytes.includes(Buffer.from(n, 'utf8')));
    expect(found).toEqual([]);
  });
});
