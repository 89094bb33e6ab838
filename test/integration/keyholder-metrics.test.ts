/**
 * The key holder's `/metrics` listener on a real cluster: three shops answer
 * a query of a differentially private purpose (ρ 0.5 of 1 per release) and
 * the key holder releases it; a Release stream that does not start with a
 * header is refused. The scrape shows one release, one decryption, one
 * refusal HEADER_FIRST, the release's duration, the purpose's ledger (ρ 1
 * total, 0.5 spent, 0.5 left, one release) and Node's process metrics, and
 * no query or merchant id. Only the scrape token opens it; every error is
 * problem+json; an unsafe listener stops the start.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import type { PurposeRegistry } from '../../compliance/index.js';
import { MetricsListenError, startMetricsListener } from '../../keyholder/metrics-http.js';
import { KeyHolderServiceClient, errorCodeOf } from '../../protos/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { DP_SEGMENT_SPEC } from '../compliance/disclosure/fixtures.js';

const METRICS_TOKEN = 'keyholder-scrape-token-0123456789';
const DP = { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 0.5, totalRho: 1 } as const;
const { kind: _kind, ...SPEC } = DP_SEGMENT_SPEC;

function withDp(registry: PurposeRegistry): PurposeRegistry {
  return { ...registry, purposes: registry.purposes.map((p) => (p.name === 'marketing-analytics' ? { ...p, disclosure: DP } : p)) };
}

/** The value of one sample line, e.g. `fedmart_keyholder_release_refusals_total{code="X"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('key holder metrics after a real release', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let url: string;

  beforeAll(async () => {
    shops = await makeShops(3, 'kh-metrics');
    for (const s of shops.shopDirs) {
      const file = join(s.dir, 'purposes.json');
      writeFileSync(file, JSON.stringify(withDp(JSON.parse(readFileSync(file, 'utf8')) as PurposeRegistry), null, 1));
    }
    const registry = JSON.parse(readFileSync(join(shops.shopDirs[0]!.dir, 'purposes.json'), 'utf8')) as PurposeRegistry;
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, {
      purposes: registry,
      keyholder: { metrics: { listen: '127.0.0.1:0', token: METRICS_TOKEN } },
    });
    url = `${cluster.keyholder.metricsUrl}/metrics`;
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
    if (shops) rmSync(shops.dir, { recursive: true, force: true });
  });

  const scrape = (token: string | null, init: RequestInit = {}) =>
    fetch(url, { ...init, headers: token === null ? {} : { authorization: `Bearer ${token}` } });

  it('listens on loopback only when asked to', () => {
    expect(cluster.keyholder.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('starts at zero with the purpose\'s whole budget', async () => {
    const res = await scrape(METRICS_TOKEN);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(sample(text, 'fedmart_keyholder_releases_total')).toBe(0);
    expect(sample(text, 'fedmart_keyholder_decryptions_total')).toBe(0);
    expect(sample(text, 'fedmart_keyholder_dp_budget_rho_total{purpose="marketing-analytics"}')).toBe(1);
    expect(sample(text, 'fedmart_keyholder_dp_budget_rho_spent{purpose="marketing-analytics"}')).toBe(0);
    expect(sample(text, 'fedmart_keyholder_dp_budget_rho_remaining{purpose="marketing-analytics"}')).toBe(1);
    expect(sample(text, 'fedmart_keyholder_purpose_releases{purpose="marketing-analytics"}')).toBe(0);
  });

  it('counts a real release, a refusal and the budget spent', async () => {
    // A Release stream that does not open with its header is refused before anything is read further.
    const client = new KeyHolderServiceClient(cluster.keyholder.address, credentials.createInsecure());
    const refused = await new Promise<ServiceError | null>((resolve) => {
      const call = client.release((e) => resolve(e));
      call.write({});
      call.end();
    });
    client.close();
    expect(errorCodeOf(refused)).toBe('HEADER_FIRST');

    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const m of merchants) expect((await m.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');

    const res = await scrape(METRICS_TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    expect(sample(text, 'fedmart_keyholder_releases_total')).toBe(1);
    expect(sample(text, 'fedmart_keyholder_releases_repeated_total')).toBe(0);
    expect(sample(text, 'fedmart_keyholder_decryptions_total')).toBe(cluster.keyholder.keyHolder.decryptions);
    expect(sample(text, 'fedmart_keyholder_decryptions_total')).toBe(1);
    expect(sample(text, 'fedmart_keyholder_release_refusals_total{code="HEADER_FIRST"}')).toBe(1);
    expect(sample(text, 'fedmart_keyholder_release_duration_seconds_count')).toBe(1);
    expect(sample(text, 'fedmart_keyholder_release_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'fedmart_keyholder_dp_budget_rho_total{purpose="marketing-analytics"}')).toBe(1);
    expect(sample(text, 'fedmart_keyholder_dp_budget_rho_spent{purpose="marketing-analytics"}')).toBeCloseTo(0.5, 9);
    expect(sample(text, 'fedmart_keyholder_dp_budget_rho_remaining{purpose="marketing-analytics"}')).toBeCloseTo(0.5, 9);
    expect(sample(text, 'fedmart_keyholder_dp_budget_rho_per_release{purpose="marketing-analytics"}')).toBeCloseTo(0.5, 9);
    expect(sample(text, 'fedmart_keyholder_purpose_releases{purpose="marketing-analytics"}')).toBe(1);
    // Exact purposes have a release count but no budget.
    expect(text).not.toMatch(/fedmart_keyholder_dp_budget_rho_remaining\{purpose="(?!marketing-analytics)/);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // No query or merchant id is a label.
    expect(text).not.toContain(created.body.queryId);
    expect(text).not.toMatch(/shop-/);
    // The coordinator's figure, from the released document, agrees with the key holder's ledger.
    const coordinatorText = await (await fetch(`${cluster.coordinator.httpAddress}/metrics`, { headers: { authorization: 'Bearer test-token-0123456789abcdef' } })).text();
    expect(sample(coordinatorText, 'fedmart_dp_budget_rho_remaining{purpose="marketing-analytics"}')).toBeCloseTo(0.5, 9);
  });

  it('opens to the scrape token only, and answers every error with problem+json', async () => {
    const expectProblem = async (res: Response, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ status, code, type: `urn:fedmart:problem:${code.toLowerCase().replaceAll('_', '-')}` });
    };
    const none = await scrape(null);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    await expectProblem(none, 401, 'UNAUTHENTICATED');
    await expectProblem(await scrape('not-the-scrape-token-0123456789'), 401, 'UNAUTHENTICATED');
    await expectProblem(await scrape(METRICS_TOKEN, { method: 'POST', body: '{}' }), 405, 'METHOD_NOT_ALLOWED');
    await expectProblem(await fetch(`${cluster.keyholder.metricsUrl}/metrics/../v1/keys`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }), 404, 'NOT_FOUND');
    await expectProblem(await fetch(`${cluster.keyholder.metricsUrl}/${'x'.repeat(500)}`), 404, 'NOT_FOUND');
    const head = await scrape(METRICS_TOKEN, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('limits refused tokens per address', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 61; i++) {
      last = await scrape(`wrong-token-${i}-0123456789abcdef`);
      if (last.status === 429) break;
      await last.arrayBuffer();
    }
    expect(last?.status).toBe(429);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last?.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
  });
});

describe('an unsafe metrics listener stops the start', () => {
  const render = async () => ({ text: '', contentType: 'text/plain' });
  const logger = pino({ level: 'silent' });

  it('refuses another address without a token and TLS, a short token and a malformed address', async () => {
    await expect(startMetricsListener({ listen: '0.0.0.0:0' }, render, logger)).rejects.toBeInstanceOf(MetricsListenError);
    await expect(startMetricsListener({ listen: '0.0.0.0:0', token: METRICS_TOKEN }, render, logger)).rejects.toThrow(/not a loopback address/);
    await expect(startMetricsListener({ listen: '127.0.0.1:0', token: 'short' }, render, logger)).rejects.toThrow(/at least 16 characters/);
    await expect(startMetricsListener({ listen: '127.0.0.1' }, render, logger)).rejects.toThrow(/HOST:PORT/);
  });

  it('serves without a token on loopback', async () => {
    const listener = await startMetricsListener({ listen: '127.0.0.1:0' }, async () => ({ text: 'x 1\n', contentType: 'text/plain; version=0.0.4' }), logger);
    try {
      const res = await fetch(`${listener.url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('x 1\n');
    } finally {
      await listener.close();
    }
  });
});
