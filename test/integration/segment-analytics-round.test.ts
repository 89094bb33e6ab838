/**
 * The marketing analytics kinds as real encrypted rounds, all parts real:
 * synthetic shops, merchant nodes (consent filter, round view, SEAL),
 * gRPC on 127.0.0.1, PGlite, the key holder decrypting and suppressing cells
 * with fewer than k = 10 subjects. Every released number must equal an
 * independent plain computation over the pooled CSV files (consented
 * customers are exactly those with consent_analytics=true), every suppressed
 * cell must be null, and a cell is suppressed exactly when its pooled subject
 * count is below k or the key holder withheld it as a complement (reason
 * SECONDARY, so that no withheld cell follows from a released total).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cohortRetentionQuery, type CohortRetentionResult } from '../../analytics/retention.js';
import { histogramQuery, type HistogramResult } from '../../analytics/histogram.js';
import { rfmQuery, type RfmTable } from '../../analytics/rfm.js';
import type { SegmentGroupTable } from '../../analytics/segment-table.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster, type QueryState } from '../../harness/cluster.js';
import {
  exactPercentile,
  pooledGroupStats,
  pooledHistogramValues,
  pooledRetention,
  pooledRfm,
  readPooledDataset,
  type PlainDataset,
} from '../helpers/pooled-analytics.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

const K = 10;
const PURPOSE = 'marketing-analytics';
/** Specs as a marketer posts them (the coordinator adds `kind`). */
const QUERIES = {
  'segment-stats': { purpose: PURPOSE, groupBy: 'age_band' },
  rfm: { purpose: PURPOSE, asOf: '2026-01-01T00:00:00Z' },
  'cohort-retention': { purpose: PURPOSE, asOf: '2025-12-31T15:59:59Z' }, // 23:59:59 on 31 December, Beijing time
  order_value: { purpose: PURPOSE, variable: 'order_value' },
  purchase_interval: { purpose: PURPOSE, variable: 'purchase_interval' },
} as const;

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('encrypted marketing analytics rounds', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let pooled: PlainDataset;
  const results = new Map<string, QueryState>();
  /** Per query, withheld cell → reason code, from the signed release. */
  const reasons = new Map<string, Map<string, string>>();
  /** Suppressed exactly when under k or withheld as a complement; under k always with that reason. */
  const expectSuppression = (query: string, cell: string, suppressed: boolean, subjects: number): void => {
    const reason = reasons.get(query)?.get(cell);
    expect(suppressed, `${query} ${cell}`).toBe(subjects < K || reason === 'SECONDARY');
    if (subjects < K) expect(reason, `${query} ${cell}`).toBe('FEWER_THAN_K_SUBJECTS');
  };

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: K });
    shops = await makeShops(5, 'analytics-round');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    pooled = readPooledDataset(shops.pooledDir);

    const ids = new Map<string, string>();
    for (const [name, spec] of Object.entries(QUERIES)) {
      const kind = name === 'order_value' || name === 'purchase_interval' ? 'histogram' : name;
      const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind, spec, targetMerchants: 5 });
      expect(created.status, `${name}: ${JSON.stringify(created.body)}`).toBe(201);
      ids.set(name, created.body.queryId);
    }
    for (const m of merchants) {
      const outcomes = await m.answerOpenQueries();
      expect(outcomes.map((o) => o.outcome), m.merchantId).toEqual(Object.keys(QUERIES).map(() => 'submitted'));
    }
    for (const [name, id] of ids) {
      const final = await waitForFinal(cluster, id);
      expect(final.status, `${name}: ${final.statusReason}`).toBe('released');
      results.set(name, final);
      const release = await api<{ release: { cells: Record<string, { suppressed: boolean; reasonCode?: string }> } }>(cluster, 'GET', `/v1/queries/${id}/release`);
      reasons.set(name, new Map(Object.entries(release.body.release.cells).filter(([, c]) => c.suppressed).map(([cell, c]) => [cell, c.reasonCode ?? ''])));
    }
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('segment-stats by age band equals the pooled statistics per band; small bands are suppressed', () => {
    const table = results.get('segment-stats')!.result as SegmentGroupTable;
    expect(table.groupBy).toBe('age_band');
    expect(table.rows.map((r) => r.group)).toEqual(['<18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+']);
    for (const row of table.rows) {
      const ref = pooledGroupStats(pooled, (c) => c.ageBand === row.group);
      expect(row.suppressed, row.group).toBe(ref.customers < K);
      if (row.suppressed) {
        expect(row).toMatchObject({ customers: null, repeatCustomers: null, orders: null, orderValueMean: null, orderValueVariance: null, meanDaysBetweenOrders: null });
        continue;
      }
      expect([row.customers, row.repeatCustomers, row.orders]).toEqual([ref.customers, ref.repeatCustomers, ref.orders]);
      expect(relDiff(row.orderValueMean!, ref.orderValueMean!)).toBeLessThan(1e-12);
      expect(relDiff(row.orderValueVariance!, ref.orderValueVariance!)).toBeLessThan(1e-9);
      expect(relDiff(row.meanDaysBetweenOrders!, ref.meanDaysBetweenOrders!)).toBeLessThan(1e-12);
    }
    // Synthetic customers are adults: the <18 band is empty and must be suppressed.
    expect(table.rows[0]).toMatchObject({ group: '<18', suppressed: true, customers: null });
  });

  it('rfm equals the pooled RFM table and tiers cell by cell; cells under k are null', () => {
    const table = results.get('rfm')!.result as RfmTable;
    const ref = pooledRfm(rfmQuery.parseSpec({ kind: 'rfm', ...QUERIES.rfm }), pooled);
    expect(table.cells).toHaveLength(64);
    let suppressed = 0;
    const check = (name: string, got: { suppressed: boolean; customers: number | null; orders: number | null; spend: number | null; meanSpend: number | null }) => {
      const [customers, orders, cents] = ref.get(name) ?? [0, 0, 0];
      expectSuppression('rfm', name, got.suppressed, customers);
      if (got.suppressed) {
        suppressed++;
        expect(got, name).toEqual({ ...got, customers: null, orders: null, spend: null, meanSpend: null });
        return;
      }
      expect([got.customers, got.orders, got.spend], name).toEqual([customers, orders, cents / 100]);
      expect(got.meanSpend, name).toBe(cents / (100 * customers));
    };
    for (const c of table.cells) check(`r${c.recencyScore}f${c.frequencyScore}m${c.monetaryScore}`, c);
    for (const t of table.tiers) check(t.tier, t);
    expect(table.tiers.every((t) => !t.suppressed)).toBe(true);
    expect(suppressed).toBeGreaterThan(0);
    expect(table.cells.filter((c) => !c.suppressed).length).toBeGreaterThan(10);
  });

  it('cohort retention, repurchase, interval and churn equal the pooled computation; small cells are null', () => {
    const r = results.get('cohort-retention')!.result as CohortRetentionResult;
    const spec = cohortRetentionQuery.parseSpec({ kind: 'cohort-retention', ...QUERIES['cohort-retention'] });
    const ref = pooledRetention(spec, pooled);
    expect(r.cohorts.map((c) => c.cohort)).toEqual(Array.from({ length: 12 }, (_, i) => `2025-${String(i + 1).padStart(2, '0')}`));
    let released = 0;
    let suppressed = 0;
    for (const c of r.cohorts) {
      const size = ref.cohortSize.get(c.cohort) ?? 0;
      expectSuppression('cohort-retention', `cohort.${c.cohort}`, c.suppressed, size);
      expect(c.customers).toBe(c.suppressed ? null : size);
      expect(c.months).toHaveLength(12 - Number(c.cohort.slice(5)) + 1);
      for (const m of c.months) {
        const active = ref.active.get(`${c.cohort}/${m.monthsSince}`) ?? 0;
        expectSuppression('cohort-retention', `cohort.${c.cohort}.m${m.monthsSince}`, m.suppressed, active);
        if (m.suppressed) {
          suppressed++;
          expect([m.active, m.retention]).toEqual([null, null]);
        } else {
          released++;
          expect(m.active).toBe(active);
          expect(m.retention).toBe(c.suppressed ? null : active / size);
        }
      }
    }
    expect(released).toBeGreaterThan(20);
    expect(suppressed).toBeGreaterThan(0);
    expect(r.repurchase).toMatchObject({ suppressed: false, buyers: ref.buyers, repeatBuyers: ref.repeat, repurchaseRate: ref.repeat / ref.buyers });
    expect(relDiff(r.repurchase.meanDaysBetweenOrders!, ref.gapSeconds / ref.gaps / 86_400)).toBeLessThan(1e-12);
    for (const c of r.churn) {
      const [buyers, churned] = ref.churn.get(c.stage) ?? [0, 0];
      expectSuppression('cohort-retention', `churn.${c.stage}`, c.suppressed, buyers);
      expect([c.buyers, c.churned, c.churnRate]).toEqual(c.suppressed ? [null, null, null] : [buyers, churned, churned / buyers]);
    }
  });

  it.each([['order_value'], ['purchase_interval']] as const)('the %s histogram equals the pooled bins; percentiles are within the bin width of the exact ones', (name) => {
    const r = results.get(name)!.result as HistogramResult;
    const spec = histogramQuery.parseSpec({ kind: 'histogram', ...QUERIES[name] });
    const values = pooledHistogramValues(spec, pooled);
    const scale = name === 'order_value' ? 100 : 1;
    const shown = values.map((v) => v.value / scale);
    r.bins.forEach((b, j) => {
      const last = j === r.bins.length - 1;
      const inBin = values.filter((_, i) => shown[i]! >= b.from && (shown[i]! < b.to || (last && shown[i] === b.to)));
      const customers = new Set(inBin.map((v) => v.customer)).size;
      expectSuppression(name, `bin.${j}`, b.suppressed, customers);
      expect([b.count, b.customers], `bin ${j}`).toEqual(b.suppressed ? [null, null] : [inBin.length, customers]);
    });
    expect(r.total.count).toBe(values.length);
    expect(relDiff(r.total.mean!, shown.reduce((a, x) => a + x, 0) / values.length)).toBeLessThan(1e-9);
    expect(r.percentiles.map((p) => p.percentile)).toEqual([50, 90]);
    for (const p of r.percentiles) {
      const exact = exactPercentile(shown, p.percentile);
      if (p.value === null) {
        // Not placed: withheld bins both below and above the one holding it hide the items under it.
        const j = r.bins.findIndex((b) => exact >= b.from && exact <= b.to);
        expect(r.bins.slice(0, j + 1).some((b) => b.suppressed) && r.bins.slice(j).some((b) => b.suppressed), `p${p.percentile}`).toBe(true);
        continue;
      }
      const bin = r.bins[p.bin!]!;
      expect(exact).toBeGreaterThanOrEqual(bin.from);
      expect(exact).toBeLessThanOrEqual(bin.to);
      expect(p.errorBound).toBe(bin.to - bin.from);
      expect(Math.abs(p.value - exact)).toBeLessThanOrEqual(p.errorBound!);
    }
  });
});
