/**
 * Readiness and gRPC health of a real cluster whose coordinator reaches its
 * PostgreSQL database through a TCP relay: the relay is cut (the database is
 * unreachable) and restored. `/readyz` goes 200 → 503 → 200 and the
 * coordinator's `grpc.health.v1` SERVING → NOT_SERVING → SERVING, while the
 * key holder stays SERVING; the database figures of /metrics turn NaN
 * (fedmart_metrics_database_up 0) and come back. The key holder's health watchers hear
 * NOT_SERVING when it shuts down, and their streams end so it can.
 */
import { rmSync } from 'node:fs';
import { credentials, makeClientConstructor } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkHealth } from '../../protos/grpc-health.js';
import { TEST_TOKEN, startCluster, type Cluster } from '../../harness/cluster.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describePostgres } from '../helpers/backends.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { openDatabase } from '../../coordinator/index.js';

const MERCHANT_SERVICE = 'fedmart.v1.MerchantService';
const KEYHOLDER_SERVICE = 'fedmart.v1.KeyHolderService';

/** Polls `fn` until it returns `want` (health is refreshed on a timer). */
async function eventually<T>(fn: () => Promise<T>, want: T, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await fn().catch((err: unknown) => err as T);
    if (JSON.stringify(last) === JSON.stringify(want)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last as T;
}

describePostgres('health probes with the database taken away and given back', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let cluster: Cluster;

  beforeAll(async () => {
    database = await freshDatabase('postgres', 'health');
    const direct = new URL(database.target);
    // Migrate directly, then let the coordinator reach the database only through the relay.
    await (await openDatabase(database.target)).close();
    proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const relayed = new URL(database.target);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(proxy.port);
    cluster = await startCluster({}, { coordinator: { database: relayed.toString(), healthIntervalMs: 100 } });
  });

  let keyholderClosed = false;

  afterAll(async () => {
    await proxy?.restore().catch(() => undefined);
    if (cluster) {
      await cluster.coordinator.close();
      if (!keyholderClosed) await cluster.keyholder.close();
      rmSync(cluster.dir, { recursive: true, force: true });
    }
    await proxy?.close();
    await database?.drop();
  });

  const readyz = async () => {
    const res = await fetch(`${cluster.coordinator.httpAddress}/readyz`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };
  /** One sample of the coordinator's /metrics (the bootstrap token is checked without the database). */
  const metric = async (series: string) => {
    const res = await fetch(`${cluster.coordinator.httpAddress}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const line = (await res.text()).split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const coordinatorHealth = (service: string) =>
    checkHealth({ address: cluster.coordinator.grpcAddress, credentials: credentials.createInsecure() }, service, 2000);
  const keyholderHealth = () =>
    checkHealth({ address: cluster.keyholder.address, credentials: credentials.createInsecure() }, KEYHOLDER_SERVICE, 2000);

  it('is ready and SERVING with the database, schema and key holder answering', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok', migrations: 'ok', keyholder: 'ok' } } });
    expect(await coordinatorHealth('')).toBe('SERVING');
    expect(await coordinatorHealth(MERCHANT_SERVICE)).toBe('SERVING');
    expect(await keyholderHealth()).toBe('SERVING');
    expect(await metric('fedmart_metrics_database_up')).toBe(1);
    expect(await metric('fedmart_queries_open')).toBe(0);
    expect(await metric('fedmart_db_pool_max_connections')).toBe(10);
    expect(await metric('fedmart_db_pool_waiting')).toBe(0);
    await expect(coordinatorHealth('x'.repeat(10_000))).rejects.toMatchObject({ code: 5, details: expect.not.stringContaining('xxx') });
  });

  it('turns 503 and NOT_SERVING while the database is unreachable, and back when it returns', async () => {
    await proxy.cut();
    const down = await eventually(async () => (await readyz()).status, 503);
    expect(down).toBe(503);
    const body = (await readyz()).body;
    expect(body).toMatchObject({ code: 'NOT_READY', checks: { database: 'failing', migrations: 'failing', keyholder: 'ok' } });
    expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|postgres|ECONNREFUSED/i);
    expect(await eventually(() => coordinatorHealth(MERCHANT_SERVICE), 'NOT_SERVING')).toBe('NOT_SERVING');
    expect(await coordinatorHealth('')).toBe('NOT_SERVING');
    // The key holder does not depend on the coordinator's database.
    expect(await keyholderHealth()).toBe('SERVING');
    // Database figures are unknown, not stale, while it is away.
    expect(await eventually(() => metric('fedmart_metrics_database_up'), 0)).toBe(0);
    expect(await metric('fedmart_queries_open')).toBeNaN();

    await proxy.restore();
    expect(await eventually(async () => (await readyz()).status, 200)).toBe(200);
    expect(await eventually(() => coordinatorHealth(MERCHANT_SERVICE), 'SERVING')).toBe('SERVING');
    expect(await eventually(() => metric('fedmart_metrics_database_up'), 1)).toBe(1);
  });

  it('tells the key holder\'s health watchers NOT_SERVING on shutdown and ends their streams', async () => {
    const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
    const client = new Health(cluster.keyholder.address, credentials.createInsecure()) as unknown as {
      watch(req: { service: string }): NodeJS.EventEmitter;
      close(): void;
    };
    const seen: string[] = [];
    const stream = client.watch({ service: KEYHOLDER_SERVICE });
    const ended = new Promise<void>((resolve) => {
      stream.on('end', () => resolve());
      stream.on('error', () => resolve());
    });
    stream.on('data', (m: { status: string }) => seen.push(m.status));
    expect(await eventually(async () => seen.slice(), ['SERVING'])).toEqual(['SERVING']);
    keyholderClosed = true;
    await cluster.keyholder.close();
    await ended;
    client.close();
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
  });
});
