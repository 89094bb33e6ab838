/**
 * Declared features (hand-computed values, asOf snapshot, listwise deletion),
 * exact fixed-point moment sums (any split over shops gives the same
 * integers), and the Jacobi eigen-decomposition's conventions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accumulateMoments, momentFields, type ShopData } from '../../analytics/index.js';
import { centredScatter, momentMeans, momentTotals, type MomentLayout } from '../../analytics/moment-sums.js';
import { featureDefinition, featureMatrix, featuresInputFields } from '../../analytics/features.js';
import { symmetricEigen } from '../../analytics/symmetric-eigen.js';
import { sumVectors } from '../helpers/random-shop-data.js';

const t = (iso: string): number => Date.parse(iso) / 1000;
const AS_OF = t('2026-01-01T00:00:00Z');

const DATA: ShopData = {
  shopId: 's',
  customers: [
    { customerId: 'c1', lifecycleStage: 'loyal', consentAnalytics: true, consentMarketing: true, city: '', ageBand: '25-34', signupUnixS: t('2025-01-01T00:00:00Z') },
    { customerId: 'c2', lifecycleStage: 'new', consentAnalytics: true, consentMarketing: true, city: '', ageBand: '<18', signupUnixS: t('2025-12-31T12:00:00Z') },
    { customerId: 'c3', lifecycleStage: 'active', consentAnalytics: true, consentMarketing: true, city: '', ageBand: '65+', signupUnixS: t('2026-02-01T00:00:00Z') },
  ],
  orders: [
    { orderId: 'o1', customerId: 'c1', orderedUnixS: t('2025-06-01T00:00:00Z'), amountCents: 10_000n, returned: false },
    { orderId: 'o2', customerId: 'c1', orderedUnixS: t('2025-12-01T00:00:00Z'), amountCents: 5_050n, returned: true },
    { orderId: 'o3', customerId: 'c1', orderedUnixS: t('2026-02-01T00:00:00Z'), amountCents: 99_999n, returned: false },
  ],
  sessions: [
    { customerId: 'c1', channel: 'app', viewed: true, carted: true, ordered: true },
    { customerId: 'c1', channel: 'app', viewed: true, carted: false, ordered: false },
    { customerId: 'c1', channel: 'web', viewed: false, carted: false, ordered: false },
    { customerId: 'c2', channel: 'mini-program', viewed: true, carted: true, ordered: false },
  ],
  campaigns: [
    { customerId: 'c1', campaignId: 'C1', variant: 'A', exposed: true, opened: true, clicked: true, converted: false },
    { customerId: 'c1', campaignId: 'C2', variant: 'B', exposed: true, opened: false, clicked: false, converted: true },
  ],
};

describe('features', () => {
  it('computes every feature of a customer at asOf (later orders do not exist yet)', () => {
    const names = ['recency_days', 'frequency', 'monetary_yuan', 'avg_order_yuan', 'return_count', 'tenure_days', 'sessions:app', 'sessions:web', 'viewed_sessions', 'carted_sessions', 'ordered_sessions', 'campaign_exposures', 'campaign_opens', 'campaign_clicks', 'campaign_conversions', 'age_band:25-34', 'lifecycle:loyal', 'lifecycle:new'];
    expect(featureMatrix(DATA, names, AS_OF)).toEqual([[31, 2, 150.5, 75.25, 1, 365, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 0]]);
  });

  it('drops a customer for whom a feature is undefined (listwise) and keeps customer order', () => {
    expect(featureMatrix(DATA, ['frequency', 'tenure_days'], AS_OF)).toEqual([
      [2, 365],
      [0, 0.5],
    ]);
    expect(featureMatrix(DATA, ['frequency', 'sessions:mini-program', 'age_band:<18', 'age_band:65+'], AS_OF)).toEqual([
      [2, 0, 0, 0],
      [0, 1, 1, 0],
      [0, 0, 0, 1],
    ]);
  });

  it('names the fields each feature reads, and knows only declared names', () => {
    expect(featuresInputFields(['monetary_yuan', 'sessions:app', 'age_band:25-34', 'tenure_days'])).toEqual(['customer.age_band', 'customer.signup_at', 'order.amount', 'order.ordered_at', 'session.channel']);
    for (const bad of ['sessions:App', 'age_band:young', 'lifecycle:vip', 'monetary', 'x:y', '']) expect(featureDefinition(bad), bad).toBeUndefined();
    expect(() => featuresInputFields(['nope'])).toThrow(/names: 'nope' is not a feature/);
    expect(() => featureMatrix(DATA, ['nope'], AS_OF)).toThrow(RangeError);
  });
});

const layout = (variables: string[], maxAbs: number[], scaleBits = 8): MomentLayout => ({ variables, maxAbs, maxRows: 1000n, scaleBits });

describe('moment sums', () => {
  it('are exact integers at scale 2^s and 2^2s, signed totals split in two fields', () => {
    const l = layout(['x', 'y'], [10, 10], 8);
    const v = accumulateMoments(l, [
      [1, 2],
      [3, -4],
    ]);
    expect(momentFields(l).map((f) => f.name)).toEqual(['n', 'sum(x)+', 'sum(x)-', 'sum(y)+', 'sum(y)-', 'cross(x,x)+', 'cross(x,x)-', 'cross(x,y)+', 'cross(x,y)-', 'cross(y,y)+', 'cross(y,y)-', 'nz(x)', 'nz(y)', 'nz(x,y)']);
    expect(v).toEqual([2n, 4n * 256n, 0n, 0n, 2n * 256n, 10n * 65536n, 0n, 0n, 10n * 65536n, 20n * 65536n, 0n, 2n, 2n, 2n]);
    const byName = Object.fromEntries(momentFields(l).map((f, i) => [f.name, v[i] as bigint]));
    const m = momentTotals(l, byName);
    expect(m.sums).toEqual([1024n, -512n]);
    expect(momentMeans(m)).toEqual([2, -1]);
    expect(centredScatter(m)).toEqual([
      [2, -6],
      [-6, 18],
    ]);
  });

  it('count a variable\'s support on the quantised values the sums carry', () => {
    // At scale 2^0, 0.3 quantises to 0: it adds nothing to Σx, so the row is not in the group Σx describes.
    const l = layout(['x'], [10], 0);
    const v = accumulateMoments(l, [[0.3], [2], [0]]);
    const byName = Object.fromEntries(momentFields(l).map((f, i) => [f.name, v[i] as bigint]));
    expect(byName['sum(x)+']).toBe(2n);
    expect(byName['nz(x)']).toBe(1n);
  });

  it('refuses a value beyond its bound and too many rows, naming the field', () => {
    expect(() => accumulateMoments(layout(['x', 'y'], [10, 1]), [[1, 2]])).toThrow(/field sum\(y\): feature y value 2 exceeds its bound 1/);
    expect(() => accumulateMoments({ ...layout(['x'], [1]), maxRows: 1n }, [[0], [0]])).toThrow(/field n: 2 rows exceed bounds.maxRows 1/);
    expect(() => accumulateMoments(layout(['x'], [1]), [[Number.NaN]])).toThrow(RangeError);
  });

  it('sum over shops to exactly the pooled signed totals however rows are split, with bounds that hold (property)', () => {
    const row = fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0, 1), fc.double({ min: -1, max: 1, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.tuple(row, fc.integer({ min: 0, max: 3 })), { maxLength: 50 }), fc.integer({ min: 0, max: 52 }), (rows, s) => {
        const l = layout(['a', 'b', 'c', 'd'], [1e6, 1000, 1, 1], s);
        const fields = momentFields(l);
        const shops = [0, 1, 2, 3].map((k) => accumulateMoments(l, rows.filter(([, shop]) => shop === k).map(([r]) => r)));
        const pooled = accumulateMoments(l, rows.map(([r]) => r));
        const summed = sumVectors(shops, fields.length);
        // Each shop splits its own signed totals, so the parts differ; the signed totals do not.
        const totals = (v: readonly bigint[]) => momentTotals(l, Object.fromEntries(fields.map((f, i) => [f.name, v[i] as bigint])));
        expect(totals(summed)).toEqual(totals(pooled));
        pooled.forEach((v, i) => expect(v <= (fields[i] as { max: bigint }).max).toBe(true));
      }),
      { numRuns: 200 },
    );
  });

  it('give a centred scatter equal to a two-pass float computation (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 1e5, max: 1e5 + 1, noNaN: true }), fc.integer({ min: -50, max: 50 })), { minLength: 2, maxLength: 60 }), (rows) => {
        const l = layout(['big', 'small'], [2e5, 50], 40);
        const v = accumulateMoments(l, rows);
        const m = momentTotals(l, Object.fromEntries(momentFields(l).map((f, i) => [f.name, v[i] as bigint])));
        const mean = [0, 1].map((j) => rows.reduce((s, r) => s + (r[j] as number), 0) / rows.length);
        const scatter = [0, 1].map((a) => [0, 1].map((b) => rows.reduce((s, r) => s + ((r[a] as number) - (mean[a] as number)) * ((r[b] as number) - (mean[b] as number)), 0)));
        const got = centredScatter(m);
        for (const a of [0, 1]) {
          for (const b of [0, 1]) {
            const ref = (scatter[a] as number[])[b] as number;
            // Quantisation (2^-41 per value) and the float reference's own rounding bound the difference.
            expect(Math.abs(((got[a] as number[])[b] as number) - ref)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(ref)) + rows.length * 1e-6);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('symmetricEigen', () => {
  it('returns decreasing eigenvalues and unit eigenvectors with the largest component positive', () => {
    const [a, b] = symmetricEigen([
      [2, 1],
      [1, 2],
    ]);
    expect(a?.value).toBeCloseTo(3, 14);
    expect(b?.value).toBeCloseTo(1, 14);
    expect(a?.vector[0]).toBeCloseTo(Math.SQRT1_2, 14);
    expect(a?.vector[1]).toBeCloseTo(Math.SQRT1_2, 14);
    expect(b?.vector[0]).toBeCloseTo(Math.SQRT1_2, 14); // tie in magnitude: the first component is made positive
    expect(b?.vector[1]).toBeCloseTo(-Math.SQRT1_2, 14);
    const diag = symmetricEigen([
      [1, 0, 0],
      [0, -5, 0],
      [0, 0, 3],
    ]);
    expect(diag.map((p) => p.value)).toEqual([3, 1, -5]);
    expect(diag.map((p) => p.vector)).toEqual([
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
    ]);
  });

  it('decomposes random symmetric matrices: A v = λ v, orthonormal, deterministic (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }).chain((n) => fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: n * n, maxLength: n * n }).map((xs) => ({ n, xs }))), ({ n, xs }) => {
        const a = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => ((xs[i * n + j] as number) + (xs[j * n + i] as number)) / 2));
        const pairs = symmetricEigen(a);
        expect(symmetricEigen(a)).toEqual(pairs);
        const scale = Math.max(1, ...a.flat().map(Math.abs));
        for (let k = 0; k < n; k++) {
          const { value, vector } = pairs[k]!;
          if (k > 0) expect(value).toBeLessThanOrEqual(pairs[k - 1]!.value);
          for (let i = 0; i < n; i++) {
            const av = a[i]!.reduce((s, x, j) => s + x * vector[j]!, 0);
            expect(Math.abs(av - value * vector[i]!)).toBeLessThan(1e-10 * scale * n);
          }
          for (let l = 0; l < n; l++) {
            const dot = vector.reduce((s, x, i) => s + x * pairs[l]!.vector[i]!, 0);
            expect(Math.abs(dot - (k === l ? 1 : 0))).toBeLessThan(1e-12 * n);
          }
          const lead = vector.reduce((best, x, i) => (Math.abs(x) > Math.abs(vector[best]!) ? i : best), 0);
          expect(vector[lead]!).toBeGreaterThan(0);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses matrices that are not square, finite and symmetric, naming the argument', () => {
    expect(() => symmetricEigen([])).toThrow(/a: expected a non-empty square matrix/);
    expect(() => symmetricEigen([[1, 2]])).toThrow(/a\[0\]/);
    expect(() => symmetricEigen([[Number.NaN]])).toThrow(/a\[0\]\[0\]/);
    expect(() => symmetricEigen([[1, 2], [3, 1]])).toThrow(/not symmetric/);
  });
});
