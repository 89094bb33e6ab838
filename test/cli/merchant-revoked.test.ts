/**
 * `fedmart merchant` against a real coordinator: once an administrator
 * revokes its merchant, the node stops with one line naming the reason and
 * exit code 3 instead of asking again at every poll; started again, it stops
 * the same way. Other refusals are left to the next poll (fatalRefusal).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fatalRefusal, MERCHANT_REVOKED_EXIT } from '../../cli/merchant-command.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { testEnrolmentToken } from '../../harness/identity.js';
import { makeShops, type SynthShops } from '../../harness/shops.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));

interface Run {
  readonly ready: Promise<boolean>;
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

function merchant(args: readonly string[]): Run {
  const child = spawn(process.execPath, [BIN, 'merchant', ...args], { env: { ...process.env, FEDMART_API_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  let onReady: (v: boolean) => void = () => undefined;
  const ready = new Promise<boolean>((resolve) => { onReady = resolve; });
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout += `${line}\n`;
    if (line.includes('"event":"ready"')) onReady(true);
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once('close', (code) => {
      onReady(false);
      resolve({ code, stdout, stderr });
    });
  });
  return { ready, exited, kill: () => child.kill('SIGKILL') };
}

/** Lines of stderr that are not the node's JSON log lines. */
const plainLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

describe('fatalRefusal', () => {
  it('stops on MERCHANT_REVOKED only, naming the merchant and the code', () => {
    const line = fatalRefusal('shop-7', 'MERCHANT_REVOKED', 'merchant shop-7 is revoked');
    expect(line).toMatch(/^fedmart merchant: stopping: .*shop-7.*PERMISSION_DENIED MERCHANT_REVOKED: merchant shop-7 is revoked.*revoked it/);
    expect(line).not.toContain('\n');
    expect(fatalRefusal('shop-7', 'MERCHANT_REVOKED', 'a\nb\u001b[2J')).not.toMatch(/[\n\u001b]/);
    for (const code of [undefined, 'TOO_LATE', 'RATE_LIMITED', 'QUERY_CLOSED', 'UNAVAILABLE']) expect(fatalRefusal('shop-7', code, 'x')).toBeUndefined();
  });
});

describe('a revoked merchant node', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  const running: Run[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    shops = await makeShops(1, 'merchant-revoked', { customersPerShop: { min: 30, max: 60 } });
  }, 120_000);

  afterAll(async () => {
    for (const r of running) r.kill();
    await cluster?.close();
    if (shops) rmSync(shops.dir, { recursive: true, force: true });
  });

  it('stops with one line and exit code 3 instead of retrying, also when started again', async () => {
    const shop = shops.shopDirs[0]!;
    const args = ['--id', shop.shopId, '--data', shop.dir, '--coordinator', cluster.coordinator.grpcAddress,
      '--keyholder-key', cluster.keyholder.signingPublicKeyHex, '--poll-ms', '100', '--encryption-pool', '0',
      '--enrol-token', await testEnrolmentToken(shop.shopId)];
    const node = merchant(args);
    running.push(node);
    expect(await node.ready).toBe(true);

    const revoked = await api<{ revokedAt: string | null }>(cluster, 'POST', `/v1/merchants/${shop.shopId}/revoke`, { reason: 'CONTRACT_ENDED' });
    expect(revoked.status).toBe(200);
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 3, deadlineSeconds: 300,
    });
    expect(created.status).toBe(201);

    const first = await Promise.race([node.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    expect(first, 'the node kept running after its merchant was revoked').not.toBeNull();
    expect(first!.code).toBe(MERCHANT_REVOKED_EXIT);
    const lines = plainLines(first!.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^fedmart merchant: stopping: the coordinator refuses merchant ${shop.shopId} for good \\(PERMISSION_DENIED MERCHANT_REVOKED`));
    // The refusal was reported once, not retried at every poll.
    expect(first!.stdout.split('\n').filter((l) => l.includes('"outcome":"refused"'))).toHaveLength(1);

    // Started again, it does not loop either.
    const again = merchant(args);
    running.push(again);
    const second = await Promise.race([again.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    expect(second, 'the restarted node kept running').not.toBeNull();
    expect(second!.code).toBe(MERCHANT_REVOKED_EXIT);
    expect(plainLines(second!.stderr)).toHaveLength(1);
    expect(plainLines(second!.stderr)[0]).toMatch(/MERCHANT_REVOKED/);
  }, 120_000);
});
