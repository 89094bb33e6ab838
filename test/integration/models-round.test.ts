/**
 * Funnel, A/B lift, linear/ridge regression and PCA as real encrypted rounds,
 * all parts real: five synthetic shops, merchant nodes (consent filter, round
 * view with pseudonyms, SEAL), gRPC on 127.0.0.1, PGlite, the key holder
 * decrypting with k = 10. Every released result must equal an independent
 * computation over the pooled CSV files read in plain code: counts exactly,
 * rates to the last bit, lifts to 1e-12, regression coefficients and PCA
 * eigenvalues to 1e-6 relative (the reached difference is printed).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopData } from '../../analytics/index.js';
import type { AbLiftResult } from '../../analytics/lift.js';
import type { FunnelResult } from '../../analytics/funnel.js';
import type { LinearRegressionResult } from '../../analytics/linear-regression.js';
import type { PcaResult } from '../../analytics/pca.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster, type QueryState } from '../../harness/cluster.js';
import { plainCovariance, plainFeatureRows, plainLinearFit, powerEigenvalues } from '../helpers/plain-features.js';
import { readConsentedPool } from '../helpers/pooled-models.js';
import { makeMerchants, type SynthShops } from '../../harness/shops.js';
import { writeSynth } from '../../synth/index.js';

const PURPOSE = 'marketing-analytics';
const AS_OF = '2026-01-01T00:00:00Z';
const CAMPAIGNS = ['CMP-2025-618', 'CMP-2025-1111', 'CMP-2025-0909'];
const FEATURES = ['recency_days', 'frequency', 'tenure_days', 'sessions:app', 'sessions:web', 'age_band:25-34', 'lifecycle:loyal'];
const PCA_FEATURES = ['recency_days', 'frequency', 'monetary_yuan', 'tenure_days', 'viewed_sessions', 'carted_sessions'];

/** Specs as a marketer posts them (the coordinator adds `kind`). */
const QUERIES: Record<string, { kind: string; spec: Record<string, unknown> }> = {
  funnel: { kind: 'funnel', spec: { purpose: PURPOSE, campaigns: CAMPAIGNS } },
  abHoldout: { kind: 'ab-lift', spec: { purpose: PURPOSE, campaignId: 'CMP-2025-0909', compare: 'variant', treatment: 'B', control: 'control' } },
  abExposure: { kind: 'ab-lift', spec: { purpose: PURPOSE, campaignId: 'CMP-2025-1111', compare: 'exposure', outcome: 'clicked' } },
  ols: { kind: 'linear-regression', spec: { purpose: PURPOSE, asOf: AS_OF, features: FEATURES, target: 'monetary_yuan' } },
  ridge: { kind: 'linear-regression', spec: { purpose: PURPOSE, asOf: AS_OF, features: FEATURES, target: 'monetary_yuan', lambda: 50, standardise: true } },
  pca: { kind: 'pca', spec: { purpose: PURPOSE, asOf: AS_OF, features: PCA_FEATURES } },
};

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

describe('encrypted funnel, lift and model rounds', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let pool: ShopData;
  const results = new Map<string, QueryState>();

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: 10 });
    // Smaller shops than the default keep the file well under 30 s; sizes still differ 4x.
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-models-'));
    const manifest = await writeSynth(dir, { shops: 5, seed: 'models-round', customersPerShop: { min: 300, max: 1200 } });
    shops = { dir, shopDirs: manifest.shops.map((s) => ({ shopId: s.shopId, dir: join(dir, s.dir) })), pooledDir: join(dir, 'pooled') };
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    pool = readConsentedPool(shops.pooledDir);
    const ids = new Map<string, string>();
    for (const [name, q] of Object.entries(QUERIES)) {
      const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: q.kind, spec: q.spec, targetMerchants: 5 });
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
    }
  });

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  it('funnel per channel and campaign response equal the pooled counts and rates', () => {
    const r = results.get('funnel')!.result as FunnelResult;
    expect(r.channels.map((c) => c.channel)).toEqual(['app', 'web', 'mini-program', 'store']);
    for (const c of r.channels) {
      const ss = pool.sessions!.filter((x) => x.channel === c.channel);
      const orderedBy = new Map<string, number>();
      for (const x of ss) if (x.ordered) orderedBy.set(x.customerId, (orderedBy.get(x.customerId) ?? 0) + 1);
      const [viewed, carted, ordered] = (['viewed', 'carted', 'ordered'] as const).map((f) => ss.filter((x) => x[f]).length) as [number, number, number];
      const customers = new Set(ss.map((x) => x.customerId)).size;
      const repeat = [...orderedBy.values()].filter((k) => k >= 2).length;
      expect(c).toEqual({
        channel: c.channel,
        suppressed: false,
        customers,
        sessions: ss.length,
        viewedSessions: viewed,
        cartedSessions: carted,
        orderedSessions: ordered,
        viewRate: ratio(viewed, ss.length),
        cartRate: ratio(carted, viewed),
        orderRate: ratio(ordered, carted),
        sessionConversion: ratio(ordered, ss.length),
        buyers: orderedBy.size,
        repeatBuyers: repeat,
        buyerRate: ratio(orderedBy.size, customers),
        repeatRate: ratio(repeat, orderedBy.size),
      });
    }
    // Channels differ: the store converts a visit far more often than the web.
    const rate = (ch: string) => r.channels.find((c) => c.channel === ch)!.sessionConversion!;
    expect(rate('store')).toBeGreaterThan(2 * rate('web'));
    expect(r.campaigns.map((c) => c.campaignId)).toEqual(CAMPAIGNS);
    for (const c of r.campaigns) {
      const es = pool.campaigns!.filter((x) => x.campaignId === c.campaignId);
      const exposed = es.filter((x) => x.exposed);
      const n = (f: 'opened' | 'clicked' | 'converted') => exposed.filter((x) => x[f]).length;
      expect(c).toEqual({
        campaignId: c.campaignId,
        suppressed: false,
        customers: es.length,
        exposed: exposed.length,
        opened: n('opened'),
        clicked: n('clicked'),
        converted: n('converted'),
        openRate: ratio(n('opened'), exposed.length),
        clickThroughRate: ratio(n('clicked'), exposed.length),
        clickToOpenRate: ratio(n('clicked'), n('opened')),
        conversionRate: ratio(n('converted'), exposed.length),
      });
    }
  });

  it('variant-versus-hold-out and exposed-versus-unexposed lifts equal the pooled arm counts, with Wald and delta-method intervals', () => {
    const check = (name: string, campaignId: string, inTreatment: (x: (typeof pool.campaigns & {})[number]) => boolean | null, outcome: 'converted' | 'clicked') => {
      const r = results.get(name)!.result as AbLiftResult;
      const es = pool.campaigns!.filter((x) => x.campaignId === campaignId);
      const arm = (t: boolean) => es.filter((x) => inTreatment(x) === t);
      const [t, c] = [arm(true), arm(false)];
      const [y1, y0] = [t.filter((x) => x[outcome]).length, c.filter((x) => x[outcome]).length];
      expect([r.treatment.customers, r.treatment.successes, r.control.customers, r.control.successes], name).toEqual([t.length, y1, c.length, y0]);
      const p1 = y1 / t.length;
      const p0 = y0 / c.length;
      expect([r.treatment.rate, r.control.rate]).toEqual([p1, p0]);
      const se = Math.sqrt((p1 * (1 - p1)) / t.length + (p0 * (1 - p0)) / c.length);
      expect(relDiff(r.absoluteLift!.estimate, p1 - p0)).toBeLessThan(1e-12);
      expect(relDiff(r.absoluteLift!.lower, p1 - p0 - 1.959963984540054 * se)).toBeLessThan(1e-12);
      if (p0 === 0) {
        expect(r.relativeLift).toBeNull(); // no ratio to a zero rate
        return r;
      }
      const ser = Math.sqrt((p1 * (1 - p1)) / (t.length * p0 * p0) + (p1 * p1 * (1 - p0)) / (c.length * p0 ** 3));
      expect(relDiff(r.relativeLift!.estimate, p1 / p0 - 1)).toBeLessThan(1e-12);
      expect(relDiff(r.relativeLift!.upper, p1 / p0 - 1 + 1.959963984540054 * ser)).toBeLessThan(1e-12);
      return r;
    };
    const holdout = check('abHoldout', 'CMP-2025-0909', (x) => (x.variant === 'B' ? true : x.variant === 'control' ? false : null), 'converted');
    expect(holdout.control.label).toBe('control');
    expect(holdout.absoluteLift!.estimate).toBeGreaterThan(0); // the synthetic campaign beats its hold-out group
    // Nobody clicks a campaign they never saw: the unexposed click rate is 0 and the relative lift undefined.
    const exposure = check('abExposure', 'CMP-2025-1111', (x) => x.exposed, 'clicked');
    expect(exposure.control).toMatchObject({ label: 'unexposed', successes: 0 });
  });

  it('OLS and standardised ridge coefficients equal the pooled fit to 1e-6 relative', () => {
    const rows = plainFeatureRows(pool, [...FEATURES, 'monetary_yuan'], Date.parse(AS_OF) / 1000);
    let worst = 0;
    for (const [name, lambda, standardise] of [['ols', 0, false], ['ridge', 50, true]] as const) {
      const r = results.get(name)!.result as LinearRegressionResult;
      const ref = plainLinearFit(rows, FEATURES.length, true, lambda, standardise)!;
      expect(r.status).toBe('fitted');
      expect(r.n).toBe(rows.length);
      r.coefficients.forEach((c, j) => {
        expect(c.feature).toBe(FEATURES[j]);
        const d = relDiff(c.estimate, ref.beta[j]!);
        worst = Math.max(worst, d);
        expect(d, `${name} ${c.feature}`).toBeLessThan(1e-6);
      });
      worst = Math.max(worst, relDiff(r.intercept!.estimate, ref.b0!));
      expect(relDiff(r.intercept!.estimate, ref.b0!)).toBeLessThan(1e-6);
      if (name === 'ols') {
        // R² and σ² from the pooled residuals.
        const fitted = rows.map((row) => ref.b0! + FEATURES.reduce((s, _, j) => s + ref.beta[j]! * row[j]!, 0));
        const y = rows.map((row) => row[FEATURES.length]!);
        const ybar = y.reduce((s, v) => s + v, 0) / y.length;
        const rss = y.reduce((s, v, i) => s + (v - fitted[i]!) ** 2, 0);
        const tss = y.reduce((s, v) => s + (v - ybar) ** 2, 0);
        expect(relDiff(r.rSquared!, 1 - rss / tss)).toBeLessThan(1e-6);
        expect(relDiff(r.residualVariance!, rss / (rows.length - FEATURES.length - 1))).toBeLessThan(1e-6);
        expect(r.coefficients.every((c) => c.standardError! > 0)).toBe(true);
      }
    }
    console.info(`models-round: regression coefficients within ${worst.toExponential(2)} relative of the pooled fit`);
  });

  it('PCA eigenvalues equal those of the pooled correlation matrix to 1e-6 relative', () => {
    const r = results.get('pca')!.result as PcaResult;
    const rows = plainFeatureRows(pool, PCA_FEATURES, Date.parse(AS_OF) / 1000);
    const ref = powerEigenvalues(plainCovariance(rows, true));
    expect(r.status).toBe('fitted');
    expect(r.n).toBe(rows.length);
    const worst = Math.max(...ref.map((l, i) => relDiff(r.eigenvalues[i]!, l)));
    expect(worst).toBeLessThan(1e-6);
    expect(r.components[0]!.explained).toBeGreaterThan(0.3);
    expect(r.components.at(-1)!.cumulative).toBeCloseTo(1, 12);
    console.info(`models-round: PCA eigenvalues within ${worst.toExponential(2)} relative of power iteration on the pooled matrix`);
  });
});
