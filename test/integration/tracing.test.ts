/**
 * OpenTelemetry tracing of the coordinator (off by default) on a real
 * cluster with an in-memory span exporter: three shops answer a query and
 * it is released, a shop's resent contribution is refused, an unknown query and a wrong token
 * are asked for over HTTP. The spans show the HTTP requests by route
 * pattern, every gRPC call with its status and fedmart code, and the round
 * (query id, kind, purpose, outcome) with the key holder's Release call and
 * the storing of the release as its children. No span holds a token, a
 * merchant id, a customer id, the query's specification or an error
 * message. Then the OTLP/HTTP exporter the CLI uses (FEDMART_OTEL=1) sends
 * spans to a local collector.
 */
import { createServer } from 'node:http';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { startTracing, TRACER_NAME } from '../../coordinator/tracing.js';
import { api, startCluster, TEST_TOKEN, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };
const WRONG_TOKEN = 'wrong-token-abcdef0123456789';

describe('coordinator spans on a real cluster', () => {
  const exporter = new InMemorySpanExporter();
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let queryId: string;
  let spans: ReadableSpan[];

  beforeAll(async () => {
    shops = await makeShops(3, 'tracing');
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, { coordinator: { tracing: { exporter } } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    queryId = created.body.queryId;
    const q = (await merchants[0]!.openQueries()).find((o) => o.queryId === queryId)!;
    for (const m of merchants) expect((await m.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    const final = await waitForFinal(cluster, queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');
    expect((await api(cluster, 'GET', '/v1/queries/q-no-such-query-0123')).status).toBe(404);
    expect((await fetch(`${cluster.coordinator.httpAddress}/v1/queries`, { headers: { authorization: `Bearer ${WRONG_TOKEN}` } })).status).toBe(401);
    // A shop that lost its receipts resends and is refused (DUPLICATE_CONTRIBUTION).
    const receipts = join(merchants[0]!.stateDir, 'receipts');
    for (const f of readdirSync(receipts)) rmSync(join(receipts, f));
    expect((await merchants[0]!.answer(q)).outcome).toBe('already-answered');
    spans = exporter.getFinishedSpans();
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
    if (shops) rmSync(shops.dir, { recursive: true, force: true });
  });

  const named = (name: string) => spans.filter((s) => s.name === name);

  it('has a span per HTTP request, named by the route pattern', () => {
    const create = named('HTTP POST /v1/queries');
    expect(create.length).toBe(1);
    expect(create[0]!.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/queries', 'http.response.status_code': 201 });
    const missing = named('HTTP GET /v1/queries/:id').filter((s) => s.attributes['http.response.status_code'] === 404);
    expect(missing.length).toBe(1);
    const refused = named('HTTP GET /v1/queries').filter((s) => s.attributes['http.response.status_code'] === 401);
    expect(refused.length).toBe(1);
    // The key holder and the shops of this process trace too (keyholder-merchant-tracing.test.ts); the coordinator's spans are its own tracer's.
    const coordinatorSpans = spans.filter((s) => /^(HTTP |fedmart\.round\.|fedmart\.v1\.MerchantService\/)/.test(s.name));
    expect(coordinatorSpans.length).toBeGreaterThan(0);
    expect(coordinatorSpans.every((s) => s.instrumentationScope.name === TRACER_NAME)).toBe(true);
  });

  it('has a span per gRPC call with its status', () => {
    const submits = named('fedmart.v1.MerchantService/SubmitContribution');
    expect(submits.length).toBe(4);
    const ok = submits.filter((s) => s.attributes['rpc.grpc.status_code'] === 0);
    expect(ok.length).toBe(3);
    for (const s of ok) expect(s.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.method': 'SubmitContribution' });
    const refused = submits.filter((s) => s.attributes['rpc.grpc.status_code'] !== 0);
    expect(refused.length).toBe(1);
    expect(refused[0]!.attributes['fedmart.error.code']).toBe('DUPLICATE_CONTRIBUTION');
    expect(refused[0]!.status).toMatchObject({ code: 2, message: 'DUPLICATE_CONTRIBUTION' });
    expect(named('fedmart.v1.MerchantService/ListOpenQueries').length).toBeGreaterThanOrEqual(3);
  });

  it('has the round with the key holder\'s release and the storing as children', () => {
    const rounds = named('fedmart.round.finish').filter((s) => s.attributes['fedmart.query.id'] === queryId);
    expect(rounds.length).toBe(1);
    const round = rounds[0]!;
    expect(round.parentSpanContext).toBeUndefined();
    expect(round.attributes).toMatchObject({ 'fedmart.query.kind': 'segment-stats', 'fedmart.purpose': 'marketing-analytics', 'fedmart.round.outcome': 'released', 'fedmart.contributions': 3 });
    const id = round.spanContext().spanId;
    for (const child of ['fedmart.round.keyholder-release', 'fedmart.round.store-release']) {
      const found = named(child).filter((s) => s.parentSpanContext?.spanId === id);
      expect(found.length, child).toBe(1);
      expect(found[0]!.spanContext().traceId).toBe(round.spanContext().traceId);
    }
  });

  it('holds no token, merchant id, customer id, specification or error message', () => {
    const text = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links, resource: s.resource.attributes })));
    expect(text).not.toContain(TEST_TOKEN);
    expect(text).not.toContain(WRONG_TOKEN);
    expect(text).not.toMatch(/Bearer|authorization/i);
    expect(text).not.toMatch(/shop-\d/);
    expect(text).not.toMatch(/\bC-\d{2}-\d{6}\b/);
    expect(text).not.toContain('lifecycle_stage');
    expect(text).not.toContain('q-no-such-query-0123');
    // Failed spans carry a code, not a message.
    for (const s of spans.filter((x) => x.status.code === 2)) expect(s.status.message ?? '').toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
  });
});

describe('the OTLP/HTTP exporter', () => {
  it('sends the spans to OTEL_EXPORTER_OTLP_ENDPOINT, and nothing once shut down', async () => {
    const received: { path: string; type: string; bytes: number }[] = [];
    const collector = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (b: Buffer) => parts.push(b));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: String(req.headers['content-type']), bytes: Buffer.concat(parts).length });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const previous = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
    try {
      const tracing = await startTracing({}, { FEDMART_OTEL: '1' });
      trace.getTracer(TRACER_NAME).startActiveSpan('fedmart.test', (span) => span.end());
      await tracing.shutdown();
      expect(received.length).toBeGreaterThanOrEqual(1);
      expect(received[0]!.path).toBe('/v1/traces');
      expect(received[0]!.type).toMatch(/^application\/json/);
      expect(received[0]!.bytes).toBeGreaterThan(0);
      // Off again: spans are no-ops.
      const after = trace.getTracer(TRACER_NAME).startSpan('fedmart.after');
      expect(after.isRecording()).toBe(false);
      after.end();
    } finally {
      if (previous === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = previous;
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });
});
