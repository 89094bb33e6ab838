/**
 * A differentially private purpose through real encrypted rounds: the
 * segment table comes back with its noise, ε/δ and intervals that hold the
 * pooled answer; the purpose's zCDP budget survives a key holder restart and,
 * once spent, further queries fail with BUDGET_EXHAUSTED naming the purpose
 * and what remains; a restart with a looser policy is refused.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { DisclosureError, type PurposeRegistry } from '../../compliance/index.js';
import { startKeyHolder, type RunningKeyHolder } from '../../keyholder/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { pooledReference, type ReferenceRow } from '../helpers/pooled-reference.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { DP_SEGMENT_SPEC } from '../compliance/disclosure/fixtures.js';

const DP = { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 0.5, totalRho: 1 } as const;
const { kind: _kind, ...SPEC } = DP_SEGMENT_SPEC;
const SHOWN = ['customers', 'repeatCustomers', 'orders', 'repurchaseRate', 'orderValueMean', 'meanDaysBetweenOrders'] as const;

/** Gives marketing-analytics the DP block in the shop's own registry, so the shop agrees to the same terms. */
function withDp(registry: PurposeRegistry, disclosure: unknown): PurposeRegistry {
  return { ...registry, purposes: registry.purposes.map((p) => (p.name === 'marketing-analytics' ? { ...p, disclosure } : p)) } as PurposeRegistry;
}

interface Summary {
  mechanism: string;
  epsilon: number;
  delta: number;
  rho: string;
  rhoSpent: string;
  rhoTotal: string;
  attestedSubjects: { value: number; sd: number; ci: [number, number] };
  rows: Record<string, Record<(typeof SHOWN)[number], [number, number]>>;
}

async function runQuery(cluster: Cluster, merchants: MerchantNode[]): Promise<{ queryId: string; status: string; statusReason: string | null; result: unknown }> {
  const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
  for (const m of merchants) await m.answerOpenQueries();
  return waitForFinal(cluster, created.body.queryId);
}

describe('a differentially private purpose in real rounds', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let registry: PurposeRegistry;
  let reference: Record<string, ReferenceRow>;
  let keyholder: RunningKeyHolder;

  beforeAll(async () => {
    shops = await makeShops(3, 'disclosure-dp');
    reference = pooledReference(shops.pooledDir);
    for (const s of shops.shopDirs) {
      const file = join(s.dir, 'purposes.json');
      writeFileSync(file, JSON.stringify(withDp(JSON.parse(readFileSync(file, 'utf8')) as PurposeRegistry, DP), null, 1));
    }
    registry = JSON.parse(readFileSync(join(shops.shopDirs[0]!.dir, 'purposes.json'), 'utf8')) as PurposeRegistry;
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, { purposes: registry });
    keyholder = cluster.keyholder;
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.coordinator.close();
    await keyholder?.close();
    if (cluster) rmSync(cluster.dir, { recursive: true, force: true });
  });

  it('releases a noisy segment table with its ε, δ, noise and intervals that hold the pooled answer', async () => {
    const final = await runQuery(cluster, merchants);
    expect(final.status, final.statusReason ?? '').toBe('released');
    const result = final.result as { rows: { stage: string; suppressed: boolean; customers: number | null }[]; disclosure: Summary };
    const d = result.disclosure;
    expect(d).toMatchObject({ mechanism: 'discrete-gaussian', rho: '0.5', rhoSpent: '0.5', rhoTotal: '1', delta: 1e-6 });
    expect(d.epsilon).toBeCloseTo(0.5 + 2 * Math.sqrt(0.5 * Math.log(1e6)), 9);
    expect(d.attestedSubjects.sd).toBeGreaterThan(0);

    const { body } = await api<{ release: { attestedSubjects: number; cells: Record<string, { noise?: Record<string, { sd: number; ci: [string, string] }> }> } }>(
      cluster, 'GET', `/v1/queries/${final.queryId}/release`);
    const loyalNoise = body.release.cells.loyal!.noise!;
    expect(Object.keys(loyalNoise).sort()).toEqual(['loyal.customers', 'loyal.interval_count', 'loyal.interval_sum_s', 'loyal.order_value_sum_cents', 'loyal.order_value_sumsq_cents2', 'loyal.orders', 'loyal.repeat_customers']);
    // σ_f = Δ_f √(n / 2ρ) with n = 8 noised values per customer and ρ = 0.5: customers (Δ = 1) get σ = 2√2.
    expect(loyalNoise['loyal.customers']!.sd).toBeCloseTo(2 * Math.SQRT2, 9);
    expect(loyalNoise['loyal.orders']!.sd).toBeCloseTo(60 * 2 * Math.SQRT2, 6);

    let covered = 0;
    let cells = 0;
    for (const row of result.rows) {
      if (row.suppressed) continue;
      const ref = reference[row.stage]!;
      for (const stat of SHOWN) {
        const [lo, hi] = d.rows[row.stage]![stat];
        const truth = stat === 'repurchaseRate' ? ref.repeatCustomers / ref.customers : ref[stat];
        cells++;
        if (truth >= lo && truth <= hi) covered++;
      }
    }
    console.log(`one DP round: ${covered}/${cells} displayed statistics within their 95 % intervals`);
    expect(cells).toBe(4 * SHOWN.length);
    expect(covered / cells).toBeGreaterThanOrEqual(0.8);

    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const stored = entries.find((e) => e.type === 'release.stored' && e.details.queryId === final.queryId);
    expect(stored?.details).toMatchObject({ noise: { mechanism: 'discrete-gaussian', epsilon: d.epsilon, delta: 1e-6 } });
  });

  it('keeps the spent budget across a key holder restart and refuses once it is spent, naming the purpose', async () => {
    // Restart the key holder on the same data folder and address.
    await keyholder.close();
    keyholder = await startKeyHolder({
      dataDir: join(cluster.dir, 'keyholder'), listen: keyholder.address, purposes: registry.purposes, logger: pino({ level: 'silent' }),
      enrolmentAuthorityPublicKeyHex: cluster.identity.authorityPublicKeyHex, coordinatorRequestKeyHex: cluster.identity.requestKeyHex,
    });
    expect(keyholder.keyHolder.disclosure.ledger('marketing-analytics').rhoSpentUnits).toBe(500_000_000n);

    const second = await runQuery(cluster, merchants);
    expect(second.status, second.statusReason ?? '').toBe('released');
    expect((second.result as { disclosure: Summary }).disclosure).toMatchObject({ rhoSpent: '1', rhoTotal: '1' });

    const third = await runQuery(cluster, merchants);
    expect(third.status).toBe('failed');
    expect(third.statusReason).toContain("purpose 'marketing-analytics': privacy-loss budget exhausted: ρ=0 of ρ=1 remains and a release costs ρ=0.5");
    expect(keyholder.keyHolder.decryptions).toBe(1);
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    expect(entries.find((e) => e.type === 'query.failed' && e.details.queryId === third.queryId)?.details)
      .toEqual({ queryId: third.queryId, reason: 'BUDGET_EXHAUSTED', contributions: 3 });
  });

  it('refuses to start with a looser policy on the same data folder', async () => {
    const looser = withDp(registry, { ...DP, totalRho: 2 });
    const err = await startKeyHolder({
      dataDir: join(cluster.dir, 'keyholder'), listen: '127.0.0.1:0', purposes: looser.purposes, logger: pino({ level: 'silent' }),
      enrolmentAuthorityPublicKeyHex: cluster.identity.authorityPublicKeyHex, coordinatorRequestKeyHex: cluster.identity.requestKeyHex,
    })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DisclosureError);
    expect(err).toMatchObject({ code: 'POLICY_LOOSENED', purpose: 'marketing-analytics' });
    expect((err as Error).message).toContain('totalRho 1 -> 2');
  });
});
