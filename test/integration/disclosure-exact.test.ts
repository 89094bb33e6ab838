/**
 * Disclosure control of exact releases through real encrypted rounds:
 * a group one shop dominates is withheld together with a complement, so
 * neither can be derived from what is released; and a second query whose
 * population differs by one customer who withdrew consent is refused
 * before anything is decrypted, with the reason in the audit log. Both
 * are explained: each withheld cell by its code and the catalogue's text in
 * English and Chinese (in the signed release and beside the result), the
 * refusal by its code and explanation in the query view.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { explainReason, getQueryDefinition } from '../../analytics/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { pooledReference, type ReferenceRow } from '../helpers/pooled-reference.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { determinedCells } from '../compliance/disclosure/fixtures.js';

const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };
const STAGES = ['new', 'active', 'loyal', 'churning'];

function table(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const cols = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

/** Per stage, the largest single shop's share of the consented order value, straight from the pooled CSV files. */
function largestShares(pooledDir: string): Record<string, number> {
  const stageOf = new Map(table(join(pooledDir, 'customers.csv')).filter((c) => c.consent_analytics === 'true').map((c) => [`${c.shop_id}/${c.customer_id}`, c.lifecycle_stage!]));
  const sums = new Map<string, Map<string, number>>();
  for (const o of table(join(pooledDir, 'orders.csv'))) {
    const stage = stageOf.get(`${o.shop_id}/${o.customer_id}`);
    if (stage === undefined) continue;
    const byShop = sums.get(stage) ?? new Map<string, number>();
    byShop.set(o.shop_id!, (byShop.get(o.shop_id!) ?? 0) + Number(o.amount));
    sums.set(stage, byShop);
  }
  return Object.fromEntries([...sums].map(([stage, m]) => {
    const v = [...m.values()];
    return [stage, Math.max(...v) / v.reduce((a, b) => a + b, 0)];
  }));
}

type ReleaseView = { release: { attestedSubjects: number; disclosure: unknown; cells: Record<string, { suppressed: boolean; reason?: string; reasonZh?: string; reasonCode?: string; subjects?: string; totals?: Record<string, string> }> } };

describe('exact disclosure control in real rounds', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let reference: Record<string, ReferenceRow>;
  let shares: Record<string, number>;
  let p: number;
  let top: string;
  let first: string;

  beforeAll(async () => {
    // Three shops of very unequal size: one holds most of the loyal customers' spending.
    shops = await makeShops(3, 'dominance-c');
    reference = pooledReference(shops.pooledDir);
    shares = largestShares(shops.pooledDir);
    const sorted = Object.entries(shares).sort(([, a], [, b]) => b - a);
    top = sorted[0]![0];
    // Below the top share; above every other share even with the bins' 19 % slack.
    p = Math.floor(sorted[0]![1] * 100) - 1;
    expect(sorted[1]![1] * 2 ** 0.25 * 100).toBeLessThan(p);
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10, dominance: { maxSharePercent: p } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('withholds the group one shop dominates and a complement; neither follows from the released totals', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    first = created.body.queryId;
    for (const m of merchants) await m.answerOpenQueries();
    const final = await waitForFinal(cluster, first);
    expect(final.status, final.statusReason ?? '').toBe('released');
    const { body } = await api<ReleaseView>(cluster, 'GET', `/v1/queries/${first}/release`);
    const cells = body.release.cells;
    expect(body.release.disclosure).toEqual({ purpose: 'marketing-analytics', mode: 'exact', dominance: { maxSharePercent: p }, dp: null });
    expect(cells[top]).toMatchObject({ suppressed: true, reasonCode: 'DOMINANCE' });
    const withheld = new Set(Object.entries(cells).filter(([, c]) => c.suppressed).map(([n]) => n));
    expect(withheld.size).toBe(2);
    // The complement of a dominated group is the largest other group by order value: it dilutes the most.
    const revenue = (s: string): number => reference[s]!.orders * reference[s]!.orderValueMean;
    const complement = STAGES.filter((s) => s !== top).sort((a, b) => revenue(b) - revenue(a))[0]!;
    expect(cells[complement]).toMatchObject({ suppressed: true, reasonCode: 'SECONDARY' });
    // Each withheld cell says why in English and Chinese, in the signed release and beside the result.
    const params = { k: 10, p };
    expect(cells[top]).toMatchObject({ reason: explainReason('DOMINANCE', params).en, reasonZh: explainReason('DOMINANCE', params).zh });
    expect(cells[top]!.reasonZh).toContain(`${p}%`);
    expect(cells[complement]).toMatchObject({ reason: explainReason('SECONDARY', params).en, reasonZh: explainReason('SECONDARY', params).zh });
    expect((final.result as { withheld: unknown }).withheld).toEqual(STAGES.filter((s) => withheld.has(s)).map((s) => ({
      cell: s, reasonCode: cells[s]!.reasonCode, reason: explainReason(cells[s]!.reasonCode!, params), params,
    })));
    // Released groups are exact, and no shop holds more than p % of any of them.
    const rows = (final.result as { rows: { stage: string; suppressed: boolean; customers: number | null; orders: number | null }[] }).rows;
    for (const row of rows) {
      if (withheld.has(row.stage)) {
        expect([row.suppressed, row.customers, row.orders]).toEqual([true, null, null]);
      } else {
        expect([row.suppressed, row.customers, row.orders]).toEqual([false, reference[row.stage]!.customers, reference[row.stage]!.orders]);
        expect(shares[row.stage]! * 100).toBeLessThanOrEqual(p);
      }
    }
    // What a reader knows: the released totals, the attested total (= Σ customers), and, from any
    // other grouping of the same population, the grand total of every field. No withheld value follows.
    const spec = getQueryDefinition('segment-stats').parseSpec({ kind: 'segment-stats', ...SPEC });
    const margins = getQueryDefinition('segment-stats').margins!(spec);
    expect(determinedCells(STAGES, withheld, margins)).toEqual([]);
    const customersKnown = STAGES.filter((s) => !withheld.has(s)).reduce((a, s) => a + Number(cells[s]!.subjects), 0);
    expect(body.release.attestedSubjects - customersKnown).toBe([...withheld].reduce((a, s) => a + reference[s]!.customers, 0));
    expect([...withheld].every((s) => reference[s]!.customers < body.release.attestedSubjects - customersKnown)).toBe(true);

    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const suppressed = entries.filter((e) => e.type === 'threshold.suppressed').map((e) => e.details);
    expect(suppressed).toContainEqual({ queryId: first, cells: [top], reason: 'DOMINANCE' });
    expect(suppressed).toContainEqual(expect.objectContaining({ queryId: first, reason: 'SECONDARY' }));
  });

  it('refuses a second query whose population differs by one withdrawn customer, before decrypting, and logs why', async () => {
    const decryptions = cluster.keyholder.keyHolder.decryptions;
    // A customer of shop 0 who was in the first release withdraws consent now.
    const m0 = merchants[0]!;
    const ledger = m0.compliance.ledger;
    const purpose = m0.compliance.registry.purposes.find((x) => x.name === 'marketing-analytics')!;
    const now = Date.now();
    const victim = ledger.customerIds().find((id) => ledger.evaluate(id, purpose, new Date(now)).included)!;
    ledger.applyRightsRequest({ requestId: 'RR-DIFF-1', customerId: victim, type: 'withdrawal', receivedAt: new Date(now - 2000).toISOString() }, { handledAt: new Date(now - 1000) });

    for (const spec of [SPEC, { ...SPEC, groupBy: 'age_band' }]) {
      const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec, targetMerchants: 3 });
      for (const m of merchants) await m.answerOpenQueries();
      const final = await waitForFinal(cluster, created.body.queryId);
      expect(final.status).toBe('failed');
      expect(final.statusReason).toContain(`differ from those of released query ${first}`);
      expect(final.statusReason).toContain('by 1 customer(s) (customers in one and not the other), fewer than k=10');
      expect(final).toMatchObject({ statusCode: 'DIFFERENCING', explanation: explainReason('DIFFERENCING', { k: 10, m: 3 }) });
      const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
      expect(entries.find((e) => e.type === 'query.failed' && e.details.queryId === created.body.queryId)?.details)
        .toEqual({ queryId: created.body.queryId, reason: 'DIFFERENCING', contributions: 3 });
    }
    expect(cluster.keyholder.keyHolder.decryptions).toBe(decryptions);
  });
});
