/**
 * The gRPC health service as fedmart wraps it, on a real grpc-js server on
 * 127.0.0.1: NOT_SERVING until set, SERVING when set; unknown names get
 * NOT_FOUND without the name echoed, and one SERVICE_UNKNOWN to a watch,
 * whose stream then ends; watches are capped; shutdown tells watchers
 * NOT_SERVING and ends their streams, so a graceful shutdown finishes.
 */
import { Server, ServerCredentials, credentials, makeClientConstructor } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcHealth, checkHealth } from '../../protos/grpc-health.js';

const SERVICE = 'fedmart.v1.TestService';
const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');

interface WatchStream {
  on(event: 'data', fn: (m: { status: string }) => void): void;
  on(event: 'end' | 'error' | 'status', fn: (e?: { code?: number }) => void): void;
  cancel(): void;
}

describe('grpc.health.v1 as wrapped by GrpcHealth', () => {
  let server: Server | undefined;
  let current: GrpcHealth | undefined;
  const clients: { close(): void }[] = [];

  async function start(maxWatches?: number): Promise<{ health: GrpcHealth; address: string }> {
    const health = new GrpcHealth([SERVICE], maxWatches);
    current = health;
    server = new Server();
    health.addTo(server);
    const port = await new Promise<number>((resolve, reject) => server!.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    return { health, address: `127.0.0.1:${port}` };
  }

  function watch(address: string, service: string): { seen: string[]; ended: Promise<number | undefined>; stream: WatchStream } {
    const client = new Health(address, credentials.createInsecure()) as unknown as { watch(r: { service: string }): WatchStream; close(): void };
    clients.push(client);
    const seen: string[] = [];
    const stream = client.watch({ service });
    stream.on('data', (m) => seen.push(m.status));
    const ended = new Promise<number | undefined>((resolve) => {
      stream.on('error', (e) => resolve(e?.code));
      stream.on('end', () => resolve(0));
    });
    return { seen, ended, stream };
  }

  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  afterEach(async () => {
    // As the services do on close: open watches would otherwise hold a graceful shutdown.
    current?.shutdown();
    for (const c of clients.splice(0)) c.close();
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
  });

  it('answers NOT_SERVING until set, then SERVING for the server and the declared service', async () => {
    const { health, address } = await start();
    const target = { address, credentials: credentials.createInsecure() };
    expect(await checkHealth(target, '', 2000)).toBe('NOT_SERVING');
    health.set('SERVING');
    expect(await checkHealth(target, '', 2000)).toBe('SERVING');
    expect(await checkHealth(target, SERVICE, 2000)).toBe('SERVING');
  });

  it('answers an unknown name NOT_FOUND without repeating it, and ends its watch after SERVICE_UNKNOWN', async () => {
    const { health, address } = await start();
    health.set('SERVING');
    const name = `\u001b[31m${'x'.repeat(10_000)}`;
    const err = await checkHealth({ address, credentials: credentials.createInsecure() }, name, 2000).catch((e: { code: number; details: string }) => e);
    expect(err).toMatchObject({ code: 5 });
    expect((err as { details: string }).details).not.toMatch(/xxx|\u001b/);
    const w = watch(address, name);
    expect(await w.ended).toBe(0);
    expect(w.seen).toEqual(['SERVICE_UNKNOWN']);
  });

  it('refuses watches beyond the cap with RESOURCE_EXHAUSTED', async () => {
    const { health, address } = await start(2);
    health.set('SERVING');
    const a = watch(address, '');
    const b = watch(address, SERVICE);
    await until(() => a.seen.length > 0 && b.seen.length > 0);
    const c = watch(address, '');
    expect(await c.ended).toBe(8);
    a.stream.cancel();
    await a.ended;
    // A slot is free again once a watcher leaves.
    const d = watch(address, '');
    await until(() => d.seen.length > 0);
    expect(d.seen).toEqual(['SERVING']);
  });

  it('tells watchers NOT_SERVING on shutdown and ends their streams, so a graceful shutdown completes', async () => {
    const { health, address } = await start();
    health.set('SERVING');
    const w = watch(address, SERVICE);
    await until(() => w.seen.length > 0);
    health.shutdown();
    health.set('SERVING'); // ignored once shutting down
    expect(await w.ended).toBe(0);
    expect(w.seen).toEqual(['SERVING', 'NOT_SERVING']);
    const s = server!;
    server = undefined;
    const closed = new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
    await expect(Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('held open'), 5000))])).resolves.toBe('closed');
  });
});
