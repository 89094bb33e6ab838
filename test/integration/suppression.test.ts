/**
 * Cells with fewer than k subjects are suppressed by the key holder and
 * reported as suppressed; so is the smallest other cell, since the attested
 * subject total would otherwise give a lone suppressed cell back
 * (secondary suppression). The others are released exactly.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { pooledReference, type ReferenceRow } from '../helpers/pooled-reference.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';
import { describeBackends } from '../helpers/backends.js';

describeBackends('k-subject suppression', (backend) => {
  let cluster: Cluster;
  let merchants: MerchantNode[];
  let reference: Record<string, ReferenceRow>;
  let k: number;

  beforeAll(async () => {
    const shops = await makeShops(3, 'suppression');
    reference = pooledReference(shops.pooledDir);
    // Choose k so that the smallest cell falls under it and the largest does not.
    const counts = Object.values(reference).map((r) => r.customers).sort((a, b) => a - b);
    k = counts[0]! + 1;
    expect(k).toBeLessThanOrEqual(counts[counts.length - 1]!);
    cluster = await startCluster({ minMerchants: 3, minSubjects: k }, { backend });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('suppresses the cells under k plus a complement, and releases the rest exactly', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 3,
    });
    for (const m of merchants) await m.answerOpenQueries();
    const final = await waitForFinal(cluster, created.body.queryId);
    expect(final.status).toBe('released');
    const rows = (final.result as { rows: { stage: string; suppressed: boolean; customers: number | null }[] }).rows;
    const release = await api<{ release: { cells: Record<string, { suppressed: boolean; reason?: string; reasonCode?: string; totals?: unknown }> } }>(
      cluster, 'GET', `/v1/queries/${created.body.queryId}/release`);
    const cells = release.body.release.cells;
    // The complement is the smallest cell at or above k.
    const complement = Object.keys(reference).filter((s) => reference[s]!.customers >= k).sort((a, b) => reference[a]!.customers - reference[b]!.customers)[0]!;
    for (const row of rows) {
      const expected = reference[row.stage]!.customers;
      if (expected < k) {
        expect(row.suppressed).toBe(true);
        expect(row.customers).toBeNull();
        expect(cells[row.stage]).toMatchObject({ reason: expect.stringContaining(`Fewer than ${k} customers`), reasonZh: expect.stringContaining(`${k}`), reasonCode: 'FEWER_THAN_K_SUBJECTS' });
      } else if (row.stage === complement) {
        expect(row.suppressed).toBe(true);
        expect(row.customers).toBeNull();
        expect(cells[row.stage]).toMatchObject({ suppressed: true, reasonCode: 'SECONDARY' });
      } else {
        expect(row.suppressed).toBe(false);
        expect(row.customers).toBe(expected);
      }
    }
    const suppressed = Object.entries(cells).filter(([, c]) => c.suppressed);
    expect(suppressed.length).toBeGreaterThanOrEqual(2);
    for (const [, cell] of suppressed) expect(cell.totals).toBeUndefined();
    // Together the withheld cells hold at least k subjects: the attested total gives only their sum.
    expect(suppressed.reduce((s, [name]) => s + reference[name]!.customers, 0)).toBeGreaterThanOrEqual(k);
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const audited = entries.filter((e) => e.type === 'threshold.suppressed').map((e) => e.details);
    expect(audited).toContainEqual(expect.objectContaining({ queryId: created.body.queryId, reason: 'SECONDARY', cells: [complement] }));
  });
});
