/**
 * `linear-regression`: hand-computed OLS and ridge fits, standard errors and
 * R², and the federated fit against an independent pooled fit (two-pass
 * centred normal equations solved by Gaussian elimination in the test) for
 * random datasets split over shops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accumulateMoments, canonicalSpecJson, momentFields } from '../../analytics/index.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { fitLinearRegression, linearRegressionQuery as q, type LinearRegressionSpec } from '../../analytics/linear-regression.js';
import { momentTotals, type MomentTotals } from '../../analytics/moment-sums.js';
import { AS_OF, AS_OF_S, datasetArb, federate, pooledShop, splitShops } from '../helpers/random-shop-data.js';
import { plainFeatureRows, plainLinearFit } from '../helpers/plain-features.js';

const base = { kind: 'linear-regression', purpose: 'marketing-analytics', asOf: AS_OF };

/** Exact moments of hand rows (features…, target) under the spec's layout. */
function moments(spec: LinearRegressionSpec, rows: number[][]): MomentTotals {
  const layout = { variables: [...spec.features, spec.target], maxAbs: [...spec.features, spec.target].map((v) => spec.bounds.featureMaxAbs[v]!), maxRows: spec.bounds.maxRows, scaleBits: spec.scaleBits };
  const v = accumulateMoments(layout, rows);
  return momentTotals(layout, Object.fromEntries(momentFields(layout).map((f, i) => [f.name, v[i]!])));
}

const HAND = [
  [0, 1],
  [1, 3],
  [2, 2],
  [3, 5],
];

describe('linear regression on hand-made data', () => {
  it('fits OLS with intercept: β = 1.1, β₀ = 1.1, RSS 2.7, R² = 1 − 2.7/8.75, SEs from σ²(XᵀX)⁻¹', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency'], target: 'monetary_yuan' });
    const r = fitLinearRegression(spec, moments(spec, HAND));
    expect(r.status).toBe('fitted');
    expect(r.n).toBe(4);
    expect(r.coefficients[0]?.estimate).toBeCloseTo(1.1, 14);
    expect(r.intercept?.estimate).toBeCloseTo(1.1, 14);
    expect(r.rSquared).toBeCloseTo(1 - 2.7 / 8.75, 14);
    expect(r.residualDf).toBeCloseTo(2, 14);
    expect(r.residualVariance).toBeCloseTo(1.35, 13);
    expect(r.coefficients[0]?.standardError).toBeCloseTo(Math.sqrt(1.35 / 5), 13);
    expect(r.intercept?.standardError).toBeCloseTo(Math.sqrt(1.35 * (0.25 + 2.25 / 5)), 13);
    expect(r.coefficients[0]?.standardisedEstimate).toBeNull();
  });

  it('fits ridge (unpenalised intercept), standardised ridge and a model through the origin', () => {
    const ridge = q.parseSpec({ ...base, features: ['frequency'], target: 'monetary_yuan', lambda: 1 });
    const r = fitLinearRegression(ridge, moments(ridge, HAND));
    expect(r.coefficients[0]?.estimate).toBeCloseTo(5.5 / 6, 14);
    expect(r.intercept?.estimate).toBeCloseTo(2.75 - 1.5 * (5.5 / 6), 14);
    expect(r.residualDf).toBeCloseTo(4 - 1 - 5 / 6, 14); // n − 1 − tr((K + λ)⁻¹K)
    const std = q.parseSpec({ ...base, features: ['frequency'], target: 'monetary_yuan', lambda: 4, standardise: true });
    const s = fitLinearRegression(std, moments(std, HAND));
    expect(s.coefficients[0]?.estimate).toBeCloseTo(5.5 / (5 + 4 * 1.25), 14); // sd² = Sxx/n = 1.25
    expect(s.coefficients[0]?.standardisedEstimate).toBeCloseTo(0.55 * Math.sqrt(1.25), 14);
    const origin = q.parseSpec({ ...base, features: ['frequency'], target: 'monetary_yuan', intercept: false });
    const o = fitLinearRegression(origin, moments(origin, HAND));
    expect(o.intercept).toBeNull();
    expect(o.coefficients[0]?.estimate).toBeCloseTo(22 / 14, 14);
    expect(o.rSquared).toBeCloseTo(1 - (39 - (22 * 22) / 14) / 39, 13); // raw R² = 1 − RSS/Σy²
  });

  it('recovers an exact linear relation to rounding and reports collinear features as singular', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency', 'tenure_days'], target: 'monetary_yuan' });
    const rows = [
      [1, 10],
      [2, 5],
      [4, 7],
      [7, 1],
      [3, 3],
    ].map(([a, b]) => [a!, b!, 2 + 3 * a! - b!]);
    const r = fitLinearRegression(spec, moments(spec, rows));
    expect(r.coefficients.map((c) => c.estimate)).toEqual([expect.closeTo(3, 12), expect.closeTo(-1, 12)]);
    expect(r.intercept?.estimate).toBeCloseTo(2, 11);
    expect(r.rSquared).toBeCloseTo(1, 14);
    const collinear = rows.map(([a, , y]) => [a!, 2 * a!, y!]);
    const bad = fitLinearRegression(spec, moments(spec, collinear));
    expect(bad.status).toBe('singular');
    expect(bad.problem).toMatch(/collinear/);
    expect(bad.coefficients).toEqual([]);
    const ridge = q.parseSpec({ ...base, features: ['frequency', 'tenure_days'], target: 'monetary_yuan', lambda: 0.5 });
    expect(fitLinearRegression(ridge, moments(ridge, collinear)).status).toBe('fitted');
    const flat = q.parseSpec({ ...base, features: ['frequency'], target: 'monetary_yuan', standardise: true });
    expect(fitLinearRegression(flat, moments(flat, [[1, 2], [1, 3]])).problem).toMatch(/frequency does not vary/);
    expect(fitLinearRegression(flat, moments(flat, [[1, 2]])).status).toBe('singular');
  });

  it('is suppressed as a whole below the k threshold', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency'], target: 'monetary_yuan' });
    const shop = { shopId: 's', customers: [{ customerId: 'c', lifecycleStage: 'new' as const, consentAnalytics: true, consentMarketing: true, city: '', ageBand: '', signupUnixS: 0 }], orders: [] };
    const r = federate(q, spec, [shop], 10);
    expect(r).toMatchObject({ status: 'suppressed', n: null, coefficients: [], rSquared: null });
  });
});

describe('linear regression spec', () => {
  it('fills in defaults, reads exactly its features’ fields and round-trips through canonical JSON', () => {
    const spec = q.parseSpec({ ...base, features: ['recency_days', 'sessions:app', 'age_band:25-34'], target: 'monetary_yuan', bounds: { featureMaxAbs: { monetary_yuan: 1e6 } } });
    expect(spec).toMatchObject({ intercept: true, standardise: false, lambda: 0, scaleBits: 32 });
    expect(spec.bounds).toEqual({ maxRows: 10_000_000n, featureMaxAbs: { recency_days: 36_600, 'sessions:app': 1e6, 'age_band:25-34': 1, monetary_yuan: 1e6 } });
    expect(q.parseSpec(JSON.parse(canonicalSpecJson(spec)))).toEqual(spec);
    expect(q.inputFields(spec)).toEqual(['customer.age_band', 'order.amount', 'order.ordered_at', 'session.channel']);
    expect(q.cells(spec)).toEqual([{ name: 'moments', subjectsField: 'n', fields: q.fields(spec).map((f) => f.name) }]);
    // n, Σx± per variable, Σxxᵀ± per pair with itself, then the supports of 4 variables and 6 pairs.
    expect(q.fields(spec)).toHaveLength(1 + 2 * 4 + 2 * 10 + 4 + 6);
  });

  it.each([
    [{ features: ['frequency'], target: 'frequency' }, 'target'],
    [{ features: ['nope'], target: 'frequency' }, 'features.0'],
    [{ features: ['tenure_days', 'tenure_days'], target: 'frequency' }, 'features.1'],
    [{ features: [], target: 'frequency' }, 'features'],
    [{ features: ['tenure_days'], target: 'frequency', lambda: -1 }, 'lambda'],
    [{ features: ['tenure_days'], target: 'frequency', asOf: '2026-02-30T00:00:00Z' }, 'asOf'],
    [{ features: ['tenure_days'], target: 'frequency', bounds: { featureMaxAbs: { recency_days: 5 } } }, 'bounds.featureMaxAbs.recency_days'],
    [{ features: ['tenure_days'], target: 'frequency', bounds: { featureMaxAbs: { frequency: 0 } } }, 'bounds.featureMaxAbs.frequency'],
    [{ features: ['tenure_days'], target: 'frequency', scaleBits: 60 }, 'scaleBits'],
  ])('refuses %j naming %s', (patch, path) => {
    let err: unknown;
    try {
      q.parseSpec({ ...base, ...patch });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(QuerySpecError);
    expect((err as QuerySpecError).path).toBe(path);
  });

  it('bounds what one customer can move each total by (sensitivity for DP purposes, property)', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency', 'lifecycle:loyal'], target: 'monetary_yuan', bounds: { featureMaxAbs: { frequency: 20, monetary_yuan: 1e5 } } });
    const sens = q.subjectSensitivity!(spec);
    const row = fc.tuple(fc.integer({ min: 0, max: 20 }), fc.constantFrom(0, 1), fc.double({ min: 0, max: 1e5, noNaN: true }));
    const layout = { variables: ['frequency', 'lifecycle:loyal', 'monetary_yuan'], maxAbs: [20, 1, 1e5], maxRows: spec.bounds.maxRows, scaleBits: spec.scaleBits };
    const totals = (rows: number[][]) => {
      const v = accumulateMoments(layout, rows);
      const names = momentFields(layout).map((f) => f.name);
      const m = momentTotals(layout, Object.fromEntries(names.map((n, i) => [n, v[i]!])));
      return { n: m.n, sums: m.sums, cross: m.cross };
    };
    fc.assert(
      fc.property(fc.array(row, { maxLength: 10 }), row, (rows, extra) => {
        const a = totals(rows);
        const b = totals([...rows, extra]);
        const abs = (x: bigint) => (x < 0n ? -x : x);
        expect(abs(b.n - a.n) <= sens.perField.n!).toBe(true);
        layout.variables.forEach((v, i) => expect(abs(b.sums[i]! - a.sums[i]!) <= sens.perField[`sum(${v})+`]!).toBe(true));
        layout.variables.forEach((v, i) =>
          layout.variables.forEach((w, j) => {
            if (j >= i) expect(abs(b.cross[i]![j]! - a.cross[i]![j]!) <= sens.perField[`cross(${v},${w})+`]!).toBe(true);
          }),
        );
      }),
      { numRuns: 100 },
    );
    expect(sens.disjointCells).toBe(true);
    expect(Object.keys(sens.perField).sort()).toEqual(q.fields(spec).map((f) => f.name).sort());
  });

  it('refuses a feature value beyond its declared bound, naming the field', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency'], target: 'monetary_yuan', bounds: { featureMaxAbs: { monetary_yuan: 10 } } });
    const shop = {
      shopId: 's',
      customers: [{ customerId: 'c', lifecycleStage: 'new' as const, consentAnalytics: true, consentMarketing: true, city: '', ageBand: '', signupUnixS: 0 }],
      orders: [{ orderId: 'o', customerId: 'c', orderedUnixS: 1000, amountCents: 1001n, returned: false }],
    };
    expect(() => q.computeLocal(spec, shop)).toThrow(/field sum\(monetary_yuan\): feature monetary_yuan value 10.01 exceeds its bound 10/);
  });
});

describe('linear regression over shops', () => {
  it('matches the independent pooled OLS/ridge fit to 1e-6 relative (property)', () => {
    const features = ['frequency', 'recency_days', 'tenure_days', 'sessions:app', 'lifecycle:loyal', 'age_band:25-34'];
    let worst = 0;
    let fits = 0;
    fc.assert(
      fc.property(datasetArb(3, 25, 80), fc.boolean(), fc.constantFrom(0, 0, 0.5, 20), fc.boolean(), (d, intercept, lambda, standardise) => {
        const spec = q.parseSpec({ ...base, features, target: 'monetary_yuan', intercept, lambda, standardise });
        const rows = plainFeatureRows(pooledShop(d), [...features, 'monetary_yuan'], AS_OF_S);
        const ref = rows.length > features.length + 2 ? plainLinearFit(rows, features.length, intercept, lambda, standardise) : null;
        const r = federate(q, spec, splitShops(d));
        expect(r.n).toBe(rows.length);
        fc.pre(ref !== null && r.status === 'fitted');
        fits++;
        const scale = Math.max(...ref.beta.map(Math.abs), 1e-300);
        r.coefficients.forEach((cf, j) => {
          // Relative to each coefficient; one below 1e-6 of the largest is held to 1e-12 of the
          // largest in absolute terms (a coefficient that is zero to rounding has no relative accuracy).
          const rel = Math.abs(cf.estimate - ref.beta[j]!) / Math.max(Math.abs(ref.beta[j]!), 1e-6 * scale);
          worst = Math.max(worst, rel);
          expect(rel, `${cf.feature}: ${cf.estimate} vs ${ref.beta[j]}`).toBeLessThan(1e-6);
        });
        if (intercept) expect(Math.abs(r.intercept!.estimate - ref.b0!)).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(ref.b0!), scale));
      }),
      { numRuns: 120 },
    );
    expect(fits).toBeGreaterThan(60);
    console.info(`linear-regression: largest relative coefficient difference against the pooled fit ${worst.toExponential(2)} over ${fits} fits`);
  });
});
