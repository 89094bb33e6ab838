/**
 * OpenTelemetry spans of the key holder and the merchant nodes (off by
 * default) on a real cluster, collected with an in-memory exporter: the key
 * holder is started with tracing on (the process's one tracer provider, so
 * the coordinator's and the shops' spans in this process go to it too).
 * Three shops answer a query and it is released. The key holder's Release
 * call continues the coordinator's trace (W3C traceparent in the gRPC
 * metadata): its server span is a child of the coordinator's
 * `fedmart.round.keyholder-release` span, with the release and its steps
 * (verify, aggregate, decrypt, disclose) below it. Each shop's answer is a
 * root span with its compute, encrypt and send steps. A refused Release
 * call carries its stable code; a malformed traceparent is ignored. No span
 * holds a token, key, merchant id, customer id, specification or message.
 */
import { context, trace, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { MERCHANT_TRACER_NAME } from '../../client-sdk/merchant-node-tracing.js';
import { KeyHolderClient } from '../../coordinator/keyholder-client.js';
import { TRACER_NAME as COORDINATOR_TRACER } from '../../coordinator/tracing.js';
import { KEYHOLDER_TRACER_NAME } from '../../keyholder/tracing.js';
import { KeyHolderServiceClient, type PublicKeyBundle } from '../../protos/index.js';
import { api, startCluster, TEST_TOKEN, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };
const REMOTE_TRACE = '0af7651916cd43dd8448eb211c80319c';
const REMOTE_SPAN = 'b7ad6b7169203331';

/** Attribute keys a key-holder or merchant span may carry: ids, counts, codes and rpc.* only. */
const ALLOWED_ATTRIBUTES = new Set([
  'rpc.system', 'rpc.service', 'rpc.method', 'rpc.grpc.status_code',
  'fedmart.query.id', 'fedmart.query.kind', 'fedmart.contributions', 'fedmart.release.repeated', 'fedmart.ciphertexts',
  'fedmart.ciphertexts.pooled', 'fedmart.bytes', 'fedmart.answer.outcome', 'fedmart.error.code',
]);

describe('key holder and merchant spans on a real cluster', () => {
  const exporter = new InMemorySpanExporter();
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let queryId: string;
  let spans: ReadableSpan[];
  let testParent: { traceId: string; spanId: string };
  /** The GetPublicKey spans of this test's own two calls (the coordinator made one at its start). */
  let rawCalls: ReadableSpan[];

  beforeAll(async () => {
    shops = await makeShops(3, 'kh-tracing');
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, { keyholder: { tracing: { exporter } } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    queryId = created.body.queryId;
    const q = (await merchants[0]!.openQueries()).find((o) => o.queryId === queryId)!;
    for (const m of merchants) expect((await m.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    const final = await waitForFinal(cluster, queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');
    // A shop that lost its receipts resends: the send is refused (DUPLICATE_CONTRIBUTION), the answer is already-answered.
    const receipts = join(merchants[0]!.stateDir, 'receipts');
    for (const f of readdirSync(receipts)) rmSync(join(receipts, f));
    expect((await merchants[0]!.answer(q)).outcome).toBe('already-answered');

    // A refused Release call, made inside a span: the key holder's span continues it and carries the code.
    const client = new KeyHolderClient(cluster.keyholder.address);
    try {
      await trace.getTracer('fedmart-test').startActiveSpan('test.release', async (span: Span) => {
        testParent = { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
        await expect(client.release([])).rejects.toMatchObject({ code: 3 });
        span.end();
      });
    } finally {
      client.close();
    }
    // GetPublicKey with a well-formed and with a malformed traceparent, outside any span.
    const mark = exporter.getFinishedSpans().length;
    const raw = new KeyHolderServiceClient(cluster.keyholder.address, credentials.createInsecure());
    try {
      for (const value of [`00-${REMOTE_TRACE}-${REMOTE_SPAN}-01`, `00-${REMOTE_TRACE}-not-a-span-01`]) {
        const metadata = new Metadata();
        metadata.set('traceparent', value);
        await context.with(trace.deleteSpan(context.active()), () => new Promise<void>((resolve, reject) => {
          raw.getPublicKey({}, metadata, (err: ServiceError | null, res?: PublicKeyBundle) => (err ? reject(err) : res ? resolve() : reject(new Error('empty'))));
        }));
      }
    } finally {
      raw.close();
    }
    spans = exporter.getFinishedSpans();
    rawCalls = spans.slice(mark).filter((s) => s.name === 'fedmart.v1.KeyHolderService/GetPublicKey');
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
    if (shops) rmSync(shops.dir, { recursive: true, force: true });
  });

  const named = (name: string) => spans.filter((s) => s.name === name);
  const childrenOf = (parent: ReadableSpan, name: string) => named(name).filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId && s.spanContext().traceId === parent.spanContext().traceId);

  it('continues the round\'s trace in the key holder: Release under the coordinator\'s keyholder-release span', () => {
    const round = named('fedmart.round.finish').find((s) => s.attributes['fedmart.query.id'] === queryId)!;
    expect(round.instrumentationScope.name).toBe(COORDINATOR_TRACER);
    const [callSpan] = childrenOf(round, 'fedmart.round.keyholder-release');
    expect(callSpan).toBeDefined();
    const releases = childrenOf(callSpan!, 'fedmart.v1.KeyHolderService/Release');
    expect(releases.length).toBe(1);
    const server = releases[0]!;
    expect(server.instrumentationScope.name).toBe(KEYHOLDER_TRACER_NAME);
    expect(server.kind).toBe(1); // SpanKind.SERVER
    expect(server.parentSpanContext?.isRemote).toBe(true);
    expect(server.attributes).toMatchObject({
      'rpc.system': 'grpc', 'rpc.service': 'fedmart.v1.KeyHolderService', 'rpc.method': 'Release', 'rpc.grpc.status_code': 0,
      'fedmart.query.id': queryId, 'fedmart.query.kind': 'segment-stats', 'fedmart.contributions': 3,
    });
    expect(server.resource.attributes['service.name']).toBe('fedmart-keyholder');
  });

  it('has the release and its steps, in order, below the Release call', () => {
    const server = named('fedmart.v1.KeyHolderService/Release').find((s) => s.attributes['fedmart.query.id'] === queryId)!;
    const [release] = childrenOf(server, 'fedmart.keyholder.release');
    expect(release).toBeDefined();
    expect(release!.attributes).toMatchObject({ 'fedmart.query.id': queryId, 'fedmart.query.kind': 'segment-stats', 'fedmart.contributions': 3, 'fedmart.release.repeated': false });
    const steps = ['fedmart.keyholder.verify', 'fedmart.keyholder.aggregate', 'fedmart.keyholder.decrypt', 'fedmart.keyholder.disclose'].map((name) => {
      const found = childrenOf(release!, name);
      expect(found.length, name).toBe(1);
      expect(found[0]!.status.code, name).not.toBe(2);
      return found[0]!;
    });
    const starts = steps.map((s) => s.startTime[0] * 1e9 + s.startTime[1]);
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    expect(steps[2]!.attributes['fedmart.ciphertexts']).toBeGreaterThanOrEqual(1);
  });

  it('records a refused Release call by its stable code, as a child of the caller\'s span', () => {
    const refused = named('fedmart.v1.KeyHolderService/Release').filter((s) => s.attributes['rpc.grpc.status_code'] !== 0);
    expect(refused.length).toBe(1);
    expect(refused[0]!.spanContext().traceId).toBe(testParent.traceId);
    expect(refused[0]!.parentSpanContext?.spanId).toBe(testParent.spanId);
    expect(refused[0]!.attributes).toMatchObject({ 'rpc.grpc.status_code': 3, 'fedmart.error.code': 'HEADER_FIRST' });
    expect(refused[0]!.status).toMatchObject({ code: 2, message: 'HEADER_FIRST' });
    expect(childrenOf(refused[0]!, 'fedmart.keyholder.release')).toEqual([]);
  });

  it('follows a well-formed traceparent and ignores a malformed one', () => {
    const calls = rawCalls;
    expect(calls.length).toBe(2);
    const followed = calls.filter((s) => s.spanContext().traceId === REMOTE_TRACE);
    expect(followed.length).toBe(1);
    expect(followed[0]!.parentSpanContext).toMatchObject({ spanId: REMOTE_SPAN, isRemote: true });
    const fresh = calls.filter((s) => s.spanContext().traceId !== REMOTE_TRACE && s.parentSpanContext === undefined);
    expect(fresh.length).toBe(1);
  });

  it('has a root span per shop answer with its compute, encrypt and send steps', () => {
    const answers = named('fedmart.merchant.answer').filter((s) => s.attributes['fedmart.query.id'] === queryId);
    expect(answers.length).toBe(4);
    for (const a of answers) {
      expect(a.instrumentationScope.name).toBe(MERCHANT_TRACER_NAME);
      expect(a.parentSpanContext).toBeUndefined();
      expect(a.attributes['fedmart.query.kind']).toBe('segment-stats');
    }
    const submitted = answers.filter((a) => a.attributes['fedmart.answer.outcome'] === 'submitted');
    expect(submitted.length).toBe(3);
    for (const a of submitted) {
      const [compute] = childrenOf(a, 'fedmart.merchant.compute');
      const [encrypt] = childrenOf(a, 'fedmart.merchant.encrypt');
      const [send] = childrenOf(a, 'fedmart.merchant.send');
      expect(compute && encrypt && send).toBeTruthy();
      expect(encrypt!.attributes['fedmart.ciphertexts']).toBeGreaterThanOrEqual(1);
      expect(send!.kind).toBe(2); // SpanKind.CLIENT
      expect(send!.attributes).toMatchObject({ 'rpc.method': 'SubmitContribution', 'rpc.grpc.status_code': 0 });
      expect(send!.attributes['fedmart.bytes']).toBeGreaterThan(0);
      const times = [compute!, encrypt!, send!].map((s) => s.startTime[0] * 1e9 + s.startTime[1]);
      expect([...times].sort((x, y) => x - y)).toEqual(times);
    }
    // The resend: the send is refused, the answer itself is not a failure.
    const resent = answers.filter((a) => a.attributes['fedmart.answer.outcome'] === 'already-answered');
    expect(resent.length).toBe(1);
    const [send] = childrenOf(resent[0]!, 'fedmart.merchant.send');
    expect(send!.attributes).toMatchObject({ 'rpc.grpc.status_code': 6, 'fedmart.error.code': 'DUPLICATE_CONTRIBUTION' });
    expect(resent[0]!.status.code).not.toBe(2);
  });

  it('holds no token, key, merchant id, customer id, specification or error message', () => {
    const ours = spans.filter((s) => s.instrumentationScope.name === KEYHOLDER_TRACER_NAME || s.instrumentationScope.name === MERCHANT_TRACER_NAME);
    expect(ours.length).toBeGreaterThan(10);
    for (const s of ours) {
      for (const key of Object.keys(s.attributes)) expect(ALLOWED_ATTRIBUTES.has(key), `${s.name}: ${key}`).toBe(true);
      expect(s.events).toEqual([]);
    }
    const text = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links, resource: s.resource.attributes })));
    expect(text).not.toContain(TEST_TOKEN);
    expect(text).not.toMatch(/Bearer|authorization/i);
    expect(text.toLowerCase()).not.toContain(cluster.keyholder.signingPublicKeyHex.toLowerCase());
    for (const m of merchants) expect(text.toLowerCase()).not.toContain(Buffer.from(m.signingPublicKey).toString('hex'));
    expect(text).not.toMatch(/shop-\d/);
    expect(text).not.toMatch(/\bC-\d{2}-\d{6}\b/);
    expect(text).not.toContain('lifecycle_stage');
    // Every string attribute is short: no key, ciphertext or digest fits.
    for (const s of ours) for (const v of Object.values(s.attributes)) if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(64);
    for (const s of spans.filter((x) => x.status.code === 2)) expect(s.status.message ?? '').toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
  });
});
