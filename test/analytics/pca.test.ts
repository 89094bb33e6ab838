/**
 * `pca`: a hand-computed covariance/correlation decomposition, and the
 * federated eigenvalues against power iteration with deflation on the pooled
 * covariance computed independently in the test.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accumulateMoments, canonicalSpecJson, momentFields } from '../../analytics/index.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { fitPca, pcaQuery as q, type PcaFeatureSpec } from '../../analytics/pca.js';
import { momentTotals } from '../../analytics/moment-sums.js';
import { AS_OF, AS_OF_S, datasetArb, federate, pooledShop, splitShops } from '../helpers/random-shop-data.js';
import { plainCovariance, plainFeatureRows, powerEigenvalues } from '../helpers/plain-features.js';

const base = { kind: 'pca', purpose: 'marketing-analytics', asOf: AS_OF };

function fitRows(spec: PcaFeatureSpec, rows: number[][]) {
  const layout = { variables: spec.features, maxAbs: spec.features.map((v) => spec.bounds.featureMaxAbs[v]!), maxRows: spec.bounds.maxRows, scaleBits: spec.scaleBits };
  const v = accumulateMoments(layout, rows);
  return fitPca(spec, momentTotals(layout, Object.fromEntries(momentFields(layout).map((f, i) => [f.name, v[i]!]))));
}

// Means 0; Σa² = Σb² = 22, Σab = 18 over 6 rows: covariance [[4.4, 3.6], [3.6, 4.4]].
const HAND = [
  [1, 1],
  [-1, -1],
  [1, -1],
  [-1, 1],
  [3, 3],
  [-3, -3],
];

describe('pca on hand-made data', () => {
  it('decomposes the covariance: eigenvalues 8 and 0.8 along (1,1) and (1,−1)', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency', 'tenure_days'], standardise: false }) as PcaFeatureSpec;
    const r = fitRows(spec, HAND);
    expect(r.status).toBe('fitted');
    expect(r.matrix).toBe('covariance');
    expect(r.means).toEqual([0, 0]);
    expect(r.standardDeviations).toEqual([Math.sqrt(4.4), Math.sqrt(4.4)]);
    expect(r.eigenvalues[0]).toBeCloseTo(8, 13);
    expect(r.eigenvalues[1]).toBeCloseTo(0.8, 13);
    expect(r.components[0]?.loadings).toEqual([expect.closeTo(Math.SQRT1_2, 14), expect.closeTo(Math.SQRT1_2, 14)]);
    expect(r.components[1]?.loadings).toEqual([expect.closeTo(Math.SQRT1_2, 14), expect.closeTo(-Math.SQRT1_2, 14)]);
    expect(r.components[0]?.explained).toBeCloseTo(8 / 8.8, 14);
    expect(r.components[1]?.cumulative).toBeCloseTo(1, 14);
  });

  it('decomposes the correlation matrix by default and reports the requested components', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency', 'tenure_days'], components: 1 }) as PcaFeatureSpec;
    const r = fitRows(spec, HAND);
    expect(r.matrix).toBe('correlation');
    expect(r.eigenvalues).toEqual([expect.closeTo(1 + 18 / 22, 14), expect.closeTo(1 - 18 / 22, 14)]);
    expect(r.components).toHaveLength(1);
  });

  it('reports a constant feature or too few rows instead of dividing by zero', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency', 'tenure_days'] }) as PcaFeatureSpec;
    expect(fitRows(spec, [[1, 2], [1, 3]])).toMatchObject({ status: 'degenerate', problem: expect.stringMatching(/frequency does not vary/) });
    expect(fitRows(spec, [[1, 2]])).toMatchObject({ status: 'degenerate', eigenvalues: [] });
  });

  it('is suppressed as a whole below the k threshold', () => {
    const spec = q.parseSpec({ ...base, features: ['frequency', 'viewed_sessions'] });
    expect(federate(q, spec, [{ shopId: 's', customers: [], orders: [] }], 10)).toMatchObject({ status: 'suppressed', n: null, components: [] });
  });
});

describe('pca spec', () => {
  it('fills in defaults, reads its features’ fields and round-trips through canonical JSON', () => {
    const spec = q.parseSpec({ ...base, features: ['monetary_yuan', 'sessions:web', 'lifecycle:loyal'] });
    expect(spec).toMatchObject({ standardise: true, components: 3, scaleBits: 32 });
    expect(q.parseSpec(JSON.parse(canonicalSpecJson(spec)))).toEqual(spec);
    expect(q.inputFields(spec)).toEqual(['customer.lifecycle_stage', 'order.amount', 'order.ordered_at', 'session.channel']);
    expect(q.cells(spec)[0]).toMatchObject({ name: 'moments', subjectsField: 'n' });
  });

  it.each([
    [{ features: ['frequency'] }, 'features'],
    [{ features: ['frequency', 'monetary_yuan'], components: 3 }, 'components'],
    [{ features: ['frequency', 'monetary_yuan'], components: 0 }, 'components'],
    [{ features: ['frequency', 'bogus'] }, 'features.1'],
    [{ features: ['frequency', 'monetary_yuan'], asOf: '2026-01-01' }, 'asOf'],
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
});

describe('pca over shops', () => {
  it('gives the eigenvalues of the pooled covariance or correlation to 1e-6 relative (property)', () => {
    const features = ['frequency', 'monetary_yuan', 'tenure_days', 'sessions:app', 'viewed_sessions'];
    let worst = 0;
    let fits = 0;
    fc.assert(
      fc.property(datasetArb(4, 10, 60), fc.boolean(), (d, standardise) => {
        const spec = q.parseSpec({ ...base, features, standardise });
        const rows = plainFeatureRows(pooledShop(d), features, AS_OF_S);
        const r = federate(q, spec, splitShops(d));
        expect(r.n).toBe(rows.length);
        fc.pre(r.status === 'fitted');
        fits++;
        const ref = powerEigenvalues(plainCovariance(rows, standardise));
        const top = Math.max(...ref);
        ref.forEach((l, i) => {
          // Relative to each eigenvalue; one below 1e-6 of the largest is held to 1e-12 of the largest
          // in absolute terms, the accuracy power iteration with deflation attains (it leaves
          // residues of order ε·λmax, e.g. −4e-6 for an exact zero next to 7e9).
          const rel = Math.abs(r.eigenvalues[i]! - l) / Math.max(Math.abs(l), 1e-6 * top);
          worst = Math.max(worst, rel);
          expect(rel, `λ${i}: ${r.eigenvalues[i]} vs ${l}`).toBeLessThan(1e-6);
        });
      }),
      { numRuns: 100 },
    );
    expect(fits).toBeGreaterThan(50);
    console.info(`pca: largest relative eigenvalue difference against power iteration ${worst.toExponential(2)} over ${fits} fits`);
  });
});
