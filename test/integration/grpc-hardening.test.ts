/**
 * Slow, half-open, oversized and too frequent gRPC peers:
 *
 * - a contribution stream that sends its header (or nothing) and then
 *   waits is cut off after streamTimeoutMs with DEADLINE_EXCEEDED
 *   STREAM_TIMEOUT, and nothing is stored;
 * - a declared size above the stream cap is RESOURCE_EXHAUSTED before any
 *   data is read; a single message above the message cap is refused from
 *   its 5-byte length prefix, without the server waiting for (buffering)
 *   its body;
 * - keepalive drops a connection whose peer stops answering pings, on the
 *   coordinator and on the key holder, and an idle connection is closed;
 * - rate limits (fixed windows): per peer address for unauthenticated calls, per merchant
 *   after authentication, RESOURCE_EXHAUSTED RATE_LIMITED with a retry hint.
 */
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, signDigest } from '../../crypto/index.js';
import { loadOrCreateSigningKey, type MerchantNode } from '../../client-sdk/index.js';
import {
  type ContributionChunk,
  MerchantServiceClient,
  errorCodeOf,
  rightsReportDigest,
  type OpenQuery,
} from '../../protos/index.js';
import { credentials } from '@grpc/grpc-js';
import { RETRY_AFTER_METADATA_KEY } from '../../coordinator/grpc-rate-limit.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { chunks, RawSubmitter } from '../helpers/raw-client.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

async function openQuery(cluster: Cluster, m: MerchantNode): Promise<OpenQuery> {
  const { body } = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
    kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 100,
  });
  return (await m.openQueries()).find((q) => q.queryId === body.queryId)!;
}

async function contributions(cluster: Cluster): Promise<number> {
  const rows = await cluster.coordinator.store.db.query<{ n: string | number }>('SELECT count(*) AS n FROM contributions');
  return Number(rows[0]!.n);
}

/** A stream that writes `messages` and then neither ends nor sends more. */
function hangingStream(client: MerchantServiceClient, messages: ContributionChunk[]): Promise<{ err: ServiceError | null; ms: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    const call = client.submitContribution(new Metadata(), { deadline: new Date(Date.now() + 30_000) }, (err) => resolve({ err, ms: Date.now() - start }));
    call.on('error', () => undefined);
    for (const m of messages) call.write(m);
  });
}

/** Waits until `socket`-like emitter closes, or `ms` passes (resolves false). */
function closedWithin(emitter: { once(e: 'close', f: () => void): unknown }, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    emitter.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Opens a TCP connection, speaks the HTTP/2 preface and one SETTINGS frame, then never answers anything. */
function halfOpenPeer(address: string) {
  const { host, port } = hostPort(address);
  const socket = netConnect(port, host);
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
  return socket;
}

let shops: SynthShops;

beforeAll(async () => {
  shops = await makeShops(2, 'grpc-hardening', { customersPerShop: 40 });
}, 60_000);

describe('slow streams, stream and message size, keepalive', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[];
  let client: MerchantServiceClient;
  let query: OpenQuery;

  beforeAll(async () => {
    cluster = await startCluster({}, {
      coordinator: { streamTimeoutMs: 600, grpcKeepalive: { keepaliveTimeMs: 300, keepaliveTimeoutMs: 300, maxConnectionIdleMs: 60_000 } },
      keyholder: { keepalive: { keepaliveTimeMs: 300, keepaliveTimeoutMs: 300, maxConnectionIdleMs: 60_000 } },
    });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    client = new MerchantServiceClient(cluster.coordinator.grpcAddress, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    query = await openQuery(cluster, merchants[0]!);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('cuts off a stream that sends nothing, or a header and then nothing, with DEADLINE_EXCEEDED STREAM_TIMEOUT and stores nothing', async () => {
    const before = await contributions(cluster);
    const silent = await hangingStream(client, []);
    expect(silent.err?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(errorCodeOf(silent.err)).toBe('STREAM_TIMEOUT');
    expect(silent.ms).toBeGreaterThanOrEqual(500);
    expect(silent.ms).toBeLessThan(5_000);
    // A header that passes every check; the stream then stalls before the ciphertext.
    const built = merchants[0]!.buildContribution(query);
    const stalled = await hangingStream(client, [{ header: built.header }, ...chunks(built.ciphertexts[0]!.subarray(0, 1000))]);
    expect([stalled.err?.code, errorCodeOf(stalled.err)]).toEqual([status.DEADLINE_EXCEEDED, 'STREAM_TIMEOUT']);
    expect(stalled.ms).toBeLessThan(5_000);
    expect(await contributions(cluster)).toBe(before);
  });

  it('refuses a single message above 1 MiB from its length prefix, without waiting for its body', async () => {
    const raw = new RawSubmitter(cluster.coordinator.grpcAddress);
    try {
      const big = await raw.send([{ data: Buffer.alloc(2 * 1024 * 1024) }]);
      expect(big.status).toBe(status.RESOURCE_EXHAUSTED);
    } finally {
      raw.close();
    }
    // By hand: a 5-byte gRPC prefix announcing 64 MiB, then nothing. The answer comes at once.
    const session = http2Connect(`http://${cluster.coordinator.grpcAddress}`);
    session.on('error', () => undefined);
    try {
      const start = Date.now();
      const req = session.request({
        [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: '/fedmart.v1.MerchantService/SubmitContribution',
        'content-type': 'application/grpc', te: 'trailers',
      });
      req.on('error', () => undefined);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(64 * 1024 * 1024, 1);
      req.write(prefix);
      // The status comes in the response headers (trailers-only) or the trailers; our side never ends the stream.
      const grpcStatus = await new Promise<string | undefined>((resolve) => {
        req.on('response', (headers) => { if (headers['grpc-status'] !== undefined) resolve(headers['grpc-status'] as string); });
        req.on('trailers', (trailers) => resolve(trailers['grpc-status'] as string | undefined));
        req.on('data', () => undefined);
        req.on('close', () => resolve(undefined));
      });
      req.close();
      expect(Number(grpcStatus)).toBe(status.RESOURCE_EXHAUSTED);
      expect(Date.now() - start).toBeLessThan(500); // the stream timeout is 600 ms; no body was ever sent
    } finally {
      session.close();
    }
  });

  it('drops a half-open connection that stops answering keepalive pings, on the coordinator and the key holder', async () => {
    for (const address of [cluster.coordinator.grpcAddress, cluster.keyholder.address]) {
      const socket = halfOpenPeer(address);
      try {
        expect(await closedWithin(socket, 5_000), address).toBe(true);
      } finally {
        socket.destroy();
      }
    }
  });
});

describe('a small stream cap; idle connections', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[];
  let client: MerchantServiceClient;
  let query: OpenQuery;

  beforeAll(async () => {
    cluster = await startCluster({}, { coordinator: { maxStreamBytes: 100_000, grpcKeepalive: { maxConnectionIdleMs: 400 } } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    client = new MerchantServiceClient(cluster.coordinator.grpcAddress, credentials.createInsecure());
    query = await openQuery(cluster, merchants[0]!);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('refuses a declared size above the stream cap before reading any data', async () => {
    // 122,993 declared bytes against a cap of 100,000; the stream stays open, so only the cap can end it early.
    const built = merchants[1]!.buildContribution(query);
    const before = await contributions(cluster);
    const res = await hangingStream(client, [{ header: built.header }]);
    expect([res.err?.code, errorCodeOf(res.err)]).toEqual([status.RESOURCE_EXHAUSTED, 'STREAM_TOO_LARGE']);
    expect(res.ms).toBeLessThan(500);
    expect(await contributions(cluster)).toBe(before);
  });

  it('closes a connection without calls after max_connection_idle_ms', async () => {
    {
      const session = http2Connect(`http://${cluster.coordinator.grpcAddress}`);
      session.on('error', () => undefined);
      let goaway = false;
      session.on('goaway', () => (goaway = true));
      expect(await closedWithin(session, 5_000)).toBe(true);
      expect(goaway).toBe(true);
    }
  });
});

describe('gRPC rate limits', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[];
  let client: MerchantServiceClient;

  beforeAll(async () => {
    // Windows of burst / rate: 800 s per peer, 200 s per merchant; none ends during the test.
    cluster = await startCluster({}, { coordinator: { grpcRateLimit: { perPeer: { ratePerSecond: 0.01, burst: 8 }, perMerchant: { ratePerSecond: 0.01, burst: 2 } } } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    client = new MerchantServiceClient(cluster.coordinator.grpcAddress, credentials.createInsecure());
  }, 120_000);

  afterAll(async () => {
    client?.close();
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  const unary = <Req>(fn: (req: Req, md: Metadata, opts: object, cb: (err: ServiceError | null) => void) => unknown, req: Req) =>
    new Promise<ServiceError | null>((resolve) => fn.call(client, req, new Metadata(), { deadline: new Date(Date.now() + 10_000) }, (err) => resolve(err)));

  function report(m: MerchantNode) {
    const key = loadOrCreateSigningKey(join(m.stateDir, 'signing.seed'));
    const r = { merchantId: m.merchantId, events: [{ type: 'access', handledUnixMs: BigInt(Date.now() - 1000), receivedUnixMs: 0n, pending: false, requestRef: Buffer.alloc(0) }], createdUnixMs: BigInt(Date.now()), nonce: Buffer.from(randomBytes(32)) };
    return { ...r, signature: Buffer.from(signDigest(rightsReportDigest(r), key.secretKey)) };
  }

  it('limits authenticated calls per merchant, with a retry hint, and leaves other merchants alone', async () => {
    const [m1, m2] = merchants as [MerchantNode, MerchantNode];
    expect(await unary(client.reportRightsEvents, report(m1))).toBeNull();
    expect(await unary(client.reportRightsEvents, report(m1))).toBeNull();
    const limited = await unary(client.reportRightsEvents, report(m1));
    expect(limited?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(errorCodeOf(limited)).toBe('RATE_LIMITED');
    expect(Number(limited?.metadata.get(RETRY_AFTER_METADATA_KEY)[0])).toBeGreaterThan(0);
    expect(await unary(client.reportRightsEvents, report(m2))).toBeNull();
  });

  it('keeps a silent connection open for seconds under the default keepalive (control for the test above)', async () => {
    const socket = halfOpenPeer(cluster.coordinator.grpcAddress);
    try {
      expect(await closedWithin(socket, 2_000)).toBe(false);
    } finally {
      socket.destroy();
    }
  });

  it('limits unauthenticated calls per peer address', async () => {
    // makeMerchants enrolled two merchants and fetched the key twice from this address: 4 of 8 tokens.
    const outcomes: (string | undefined)[] = [];
    for (let i = 0; i < 6; i++) {
      const err = await unary(client.getPublicKey, {});
      outcomes.push(err ? errorCodeOf(err) : 'OK');
    }
    expect(outcomes.slice(-2)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    expect(outcomes.filter((o) => o === 'OK').length).toBeGreaterThanOrEqual(1);
    const err = await unary(client.listOpenQueries, { merchantId: 'shop-01' });
    expect([err?.code, errorCodeOf(err)]).toEqual([status.RESOURCE_EXHAUSTED, 'RATE_LIMITED']);
    expect(Number(err?.metadata.get(RETRY_AFTER_METADATA_KEY)[0])).toBeGreaterThan(1000);
  });
});
