/**
 * `/metrics` after a real round: three shops answer a query of a
 * differentially private purpose (ρ 0.5 of 1 per release), one of them
 * resends after losing its receipts and is refused. The scrape shows three
 * accepted contributions, one refused with DUPLICATE_CONTRIBUTION, one
 * released round in the duration histogram, no open query, the audit log's
 * size, ρ 0.5 left for the purpose, and Node's process metrics. Only the
 * scrape token or an administrator's token opens it.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import type { PurposeRegistry } from '../../compliance/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { DP_SEGMENT_SPEC } from '../compliance/disclosure/fixtures.js';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789';
const DP = { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 0.5, totalRho: 1 } as const;
const { kind: _kind, ...SPEC } = DP_SEGMENT_SPEC;

function withDp(registry: PurposeRegistry): PurposeRegistry {
  return { ...registry, purposes: registry.purposes.map((p) => (p.name === 'marketing-analytics' ? { ...p, disclosure: DP } : p)) };
}

/** The value of one sample line, e.g. `fedmart_contributions_refused_total{code="X"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Prometheus metrics after a real round', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    shops = await makeShops(3, 'metrics');
    for (const s of shops.shopDirs) {
      const file = join(s.dir, 'purposes.json');
      writeFileSync(file, JSON.stringify(withDp(JSON.parse(readFileSync(file, 'utf8')) as PurposeRegistry), null, 1));
    }
    const registry = JSON.parse(readFileSync(join(shops.shopDirs[0]!.dir, 'purposes.json'), 'utf8')) as PurposeRegistry;
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, { purposes: registry, coordinator: { metricsToken: METRICS_TOKEN } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
    if (shops) rmSync(shops.dir, { recursive: true, force: true });
  });

  const scrape = (token: string | null) =>
    fetch(`${cluster.coordinator.httpAddress}/metrics`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });

  it('counts accepted and refused contributions, the round, open queries, the audit log and the budget left', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const [first] = merchants as [MerchantNode];
    const q = (await first.openQueries()).find((o) => o.queryId === created.body.queryId)!;
    for (const m of merchants) expect((await m.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status, final.statusReason ?? '').toBe('released');
    // A shop that lost its receipts resends and is refused: the coordinator already holds its contribution.
    const receipts = join(first.stateDir, 'receipts');
    for (const f of readdirSync(receipts)) rmSync(join(receipts, f));
    expect((await first.answer(q)).outcome).toBe('already-answered');

    const res = await scrape(METRICS_TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'fedmart_contributions_accepted_total')).toBe(3);
    expect(sample(text, 'fedmart_contributions_refused_total{code="DUPLICATE_CONTRIBUTION"}')).toBe(1);
    // Group commit: the transactions that stored them hold the three accepted contributions between them.
    expect(sample(text, 'fedmart_contribution_batch_size_sum')).toBe(3);
    expect(sample(text, 'fedmart_contribution_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fedmart_contribution_batch_size_count')).toBeLessThanOrEqual(3);
    expect(sample(text, 'fedmart_round_duration_seconds_count{outcome="released"}')).toBe(1);
    expect(sample(text, 'fedmart_round_duration_seconds_sum{outcome="released"}')).toBeGreaterThan(0);
    expect(sample(text, 'fedmart_queries_open')).toBe(0);
    expect(sample(text, 'fedmart_queries_closing')).toBe(0);
    expect(sample(text, 'fedmart_audit_log_entries')).toBe(await cluster.coordinator.audit.log.size());
    expect(sample(text, 'fedmart_dp_budget_rho_remaining{purpose="marketing-analytics"}')).toBeCloseTo(0.5, 9);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // No merchant or query id is a label.
    expect(text).not.toContain(q.queryId);
    expect(text).not.toMatch(/shop-/);
  });

  it('opens to the scrape token or an administrator, and to nobody else', async () => {
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape('not-the-metrics-token-0123456')).status).toBe(401);
    const marketer = await api<{ token: string }>(cluster, 'POST', '/v1/users', { role: 'marketer', purposes: ['marketing-analytics'] });
    expect((await scrape(marketer.body.token)).status).toBe(403);
    expect((await scrape('test-token-0123456789abcdef')).status).toBe(200);
    // The scrape token opens nothing else.
    const other = await fetch(`${cluster.coordinator.httpAddress}/v1/queries`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(other.status).toBe(401);
  });
});
