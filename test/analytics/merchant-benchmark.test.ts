/**
 * `merchant-benchmark`: per-indicator histograms of shops from one-hot bin
 * vectors, shops placed locally against them, and the federated histogram
 * against a plain computation over random shops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson, type ShopData, type ShopMetricsPeriod } from '../../analytics/index.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { merchantBenchmarkQuery as q, placeShop, shopIndicators, type MerchantBenchmarkSpec } from '../../analytics/merchant-benchmark.js';
import { decideSuppression } from '../../compliance/disclosure/suppression.js';
import { datasetArb, federate, splitShops } from '../helpers/random-shop-data.js';

function month(period: string, m: Partial<ShopMetricsPeriod>): ShopMetricsPeriod {
  return { period, orders: 0, ratings: 0, positiveRatings: 0, returns: 0, complaints: 0, inquiries: 0, responseTimeSumS: 0, ...m };
}
const shop = (shopId: string, shopMetrics: ShopMetricsPeriod[]): ShopData => ({ shopId, customers: [], orders: [], shopMetrics });

// Indicators (positive, return, complaint, response minutes):
// s1: 196/200 = .98, 40/1000 = .04, 3/1000 = .003, 4 min
// s2: 90/100 = .90 (an edge: the bin above), 50/500 = .10, 10/500 = .02, 30 min
// s3: 30 ratings (< 50: not reported), 100/2000 = .05, 0, 10 inquiries (< 20: not reported)
const S1 = shop('s1', [month('2025-01', { orders: 600, ratings: 120, positiveRatings: 118, returns: 20, complaints: 1, inquiries: 60, responseTimeSumS: 60 * 240 }), month('2025-02', { orders: 400, ratings: 80, positiveRatings: 78, returns: 20, complaints: 2, inquiries: 40, responseTimeSumS: 40 * 240 })]);
const S2 = shop('s2', [month('2025-03', { orders: 500, ratings: 100, positiveRatings: 90, returns: 50, complaints: 10, inquiries: 50, responseTimeSumS: 50 * 1800 })]);
const S3 = shop('s3', [month('2025-01', { orders: 2000, ratings: 30, positiveRatings: 30, returns: 100, complaints: 0, inquiries: 10, responseTimeSumS: 600 })]);

const spec = q.parseSpec({ kind: 'merchant-benchmark', purpose: 'marketing-analytics' });
const counts = (r: ReturnType<typeof q.finalise>, ind: string) => r.indicators.find((i) => i.indicator === ind)?.bins.map((b) => b.shops);

describe('merchant-benchmark on hand-made shops', () => {
  it('computes each shop’s indicators locally, with too little volume left out', () => {
    expect(shopIndicators(spec, S1)).toEqual({ positive_rating_rate: 0.98, return_rate: 0.04, complaint_rate: 0.003, response_minutes: 4 });
    expect(shopIndicators(spec, S3)).toEqual({ positive_rating_rate: null, return_rate: 0.05, complaint_rate: 0, response_minutes: null });
    expect(shopIndicators(spec, shop('none', []))).toEqual({ positive_rating_rate: null, return_rate: null, complaint_rate: null, response_minutes: null });
  });

  it('sends one-hot bins and releases a histogram of shops per indicator', () => {
    expect(q.computeLocal(spec, S2)).toEqual([0n, 1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 1n, 0n, 0n, 0n, 0n, 1n, 0n, 0n, 0n, 0n, 1n]);
    const r = federate(q, spec, [S1, S2, S3]);
    expect(counts(r, 'positive_rating_rate')).toEqual([0, 1, 0, 0, 1, 0]);
    expect(counts(r, 'return_rate')).toEqual([0, 1, 1, 0, 1]);
    expect(counts(r, 'complaint_rate')).toEqual([1, 1, 0, 0, 1]);
    expect(counts(r, 'response_minutes')).toEqual([0, 1, 0, 0, 1]);
    const rr = r.indicators.find((i) => i.indicator === 'return_rate');
    expect(rr).toMatchObject({ label: 'return/exchange rate', labelZh: '退换货率', better: 'lower', releasedShops: 3, suppressedBins: 0 });
    expect(rr?.bins[0]).toEqual({ lower: null, upper: 0.03, shops: 0 });
    expect(rr?.bins[4]).toEqual({ lower: 0.1, upper: null, shops: 1 });
  });

  it('places a shop by mid-rank, in the direction that is better', () => {
    const r = federate(q, spec, [S1, S2, S3]);
    const p = placeShop(r, shopIndicators(spec, S1));
    expect(p.find((x) => x.indicator === 'positive_rating_rate')).toEqual({ indicator: 'positive_rating_rate', value: 0.98, bin: 4, percentile: 75, outperforms: 100, comparedWith: 2, complete: true });
    expect(p.find((x) => x.indicator === 'return_rate')).toMatchObject({ bin: 1, percentile: 100 / 6, outperforms: 100, comparedWith: 3 });
    expect(p.find((x) => x.indicator === 'complaint_rate')).toMatchObject({ bin: 1, percentile: 50, outperforms: 50 });
    const p3 = placeShop(r, shopIndicators(spec, S3));
    expect(p3.find((x) => x.indicator === 'positive_rating_rate')).toMatchObject({ value: null, percentile: null, outperforms: null });
    expect(p3.find((x) => x.indicator === 'complaint_rate')).toMatchObject({ bin: 0, percentile: 100 / 6, outperforms: 100 });
  });

  it('suppresses bins with fewer than k shops and places shops among released bins only', () => {
    const S4 = { ...S1, shopId: 's4' };
    const r = federate(q, spec, [S1, S2, S3, S4], 2);
    const pos = r.indicators.find((i) => i.indicator === 'positive_rating_rate');
    expect(pos?.bins.map((b) => b.shops)).toEqual([null, null, null, null, 2, null]);
    expect(pos).toMatchObject({ releasedShops: 2, suppressedBins: 5 });
    const p1 = placeShop(r, shopIndicators(spec, S1)).find((x) => x.indicator === 'positive_rating_rate');
    expect(p1).toMatchObject({ bin: 4, percentile: 50, outperforms: 50, comparedWith: 2, complete: false });
    const p2 = placeShop(r, shopIndicators(spec, S2)).find((x) => x.indicator === 'positive_rating_rate');
    expect(p2).toMatchObject({ bin: 1, percentile: 100 / 6, outperforms: 0, comparedWith: 3, complete: false });
  });

  it('declares each indicator’s bins as one margin, so a lone small bin is never the only one withheld', () => {
    const one = q.parseSpec({ kind: 'merchant-benchmark', purpose: 'p', indicators: ['return_rate'] });
    expect(q.margins?.(one)).toEqual([{ parts: ['return_rate.bin0', 'return_rate.bin1', 'return_rate.bin2', 'return_rate.bin3', 'return_rate.bin4'] }]);
    // 12, 3 and 15 shops with k = 10: bin 1 alone would follow from the merchant count by subtraction,
    // so the key holder also withholds the smallest other bin until the withheld bins hold ≥ k shops.
    const shops = [12n, 3n, 15n, 20n, 11n];
    const cells = shops.map((subjects, b) => ({ name: `return_rate.bin${b}`, subjects }));
    const out = decideSuppression(cells, { minSubjects: 10, dominance: null }, q.margins?.(one) ?? []);
    expect(Object.fromEntries(out)).toEqual({ 'return_rate.bin1': 'FEWER_THAN_K_SUBJECTS', 'return_rate.bin4': 'SECONDARY' });
  });

  it('counts only the months in periods', () => {
    const febOnly = q.parseSpec({ kind: 'merchant-benchmark', purpose: 'p', indicators: ['return_rate'], periods: { from: '2025-02', to: '2025-02' }, minVolume: { orders: 1 } });
    expect(shopIndicators(febOnly, S1)).toEqual({ return_rate: 0.05 });
    expect(shopIndicators(febOnly, S2)).toEqual({ return_rate: null });
  });

  it('refuses impossible figures, naming them', () => {
    expect(() => q.computeLocal(spec, shop('x', [month('2025-01', { ratings: 1, positiveRatings: 2 })]))).toThrow(/data\.shopMetrics: positive ratings exceed ratings in 2025-01/);
    expect(() => q.computeLocal(spec, shop('x', [month('2025-01', { orders: -1 })]))).toThrow(/data\.shopMetrics: orders of 2025-01/);
    expect(() => placeShop({ indicators: 'x' } as never, {})).toThrow(/result/);
  });
});

describe('merchant-benchmark spec', () => {
  it('fills in defaults, keeps one cell per bin whose subjects are its shops, and round-trips', () => {
    expect(spec.indicators).toEqual(['positive_rating_rate', 'return_rate', 'complaint_rate', 'response_minutes']);
    expect(spec.minVolume).toEqual({ orders: 100, ratings: 50, inquiries: 20 });
    expect(q.parseSpec(JSON.parse(canonicalSpecJson(spec)))).toEqual(spec);
    const cells = q.cells(spec);
    expect(cells).toHaveLength(21);
    for (const c of cells) expect(c.fields).toEqual([c.subjectsField]);
    expect(q.fields(spec).every((f) => f.max === 1n)).toBe(true);
    const custom = q.parseSpec({ kind: 'merchant-benchmark', purpose: 'p', indicators: ['response_minutes'], edges: { response_minutes: [1, 60] }, periods: { from: '2025-01', to: '2025-06' } });
    expect(q.fields(custom).map((f) => f.name)).toEqual(['response_minutes.bin0', 'response_minutes.bin1', 'response_minutes.bin2']);
    expect(q.parseSpec(JSON.parse(canonicalSpecJson(custom)))).toEqual(custom);
    expect(q.inputFields(custom)).toEqual(['shop_metrics.inquiries', 'shop_metrics.period', 'shop_metrics.response_time_sum_s']);
  });

  it.each([
    [{ indicators: ['nps'] }, 'indicators.0'],
    [{ indicators: ['return_rate', 'return_rate'] }, 'indicators'],
    [{ edges: { return_rate: [0.05, 0.05] } }, 'edges.return_rate.1'],
    [{ edges: { return_rate: [0.5, 1.5] } }, 'edges.return_rate.1'],
    [{ edges: { response_minutes: [-1] } }, 'edges.response_minutes.0'],
    [{ indicators: ['return_rate'], edges: { response_minutes: [1] } }, 'edges.response_minutes'],
    [{ periods: { from: '2025-05', to: '2025-01' } }, 'periods.to'],
    [{ periods: { from: '2025-13', to: '2025-01' } }, 'periods.from'],
    [{ minVolume: { orders: 0 } }, 'minVolume.orders'],
  ])('refuses %j naming %s', (patch, path) => {
    let err: unknown;
    try {
      q.parseSpec({ kind: 'merchant-benchmark', purpose: 'p', ...patch });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(QuerySpecError);
    expect((err as QuerySpecError).path).toBe(path);
  });
});

/** The histogram of shops, computed per shop in plain code. */
function plainHistogram(shops: readonly ShopData[], sp: MerchantBenchmarkSpec): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const ind of sp.indicators) {
    const edges = sp.edges[ind] as number[];
    const bins = new Array<number>(edges.length + 1).fill(0);
    for (const s of shops) {
      const t = (s.shopMetrics ?? []).reduce(
        (a, m) => ({ o: a.o + m.orders, r: a.r + m.ratings, p: a.p + m.positiveRatings, ret: a.ret + m.returns, c: a.c + m.complaints, i: a.i + m.inquiries, t: a.t + m.responseTimeSumS }),
        { o: 0, r: 0, p: 0, ret: 0, c: 0, i: 0, t: 0 },
      );
      const v =
        ind === 'positive_rating_rate' ? (t.r >= sp.minVolume.ratings ? t.p / t.r : null)
        : ind === 'return_rate' ? (t.o >= sp.minVolume.orders ? t.ret / t.o : null)
        : ind === 'complaint_rate' ? (t.o >= sp.minVolume.orders ? t.c / t.o : null)
        : t.i >= sp.minVolume.inquiries ? t.t / t.i / 60 : null;
      if (v === null) continue;
      bins[edges.filter((e) => v >= e).length]! += 1;
    }
    out[ind] = bins;
  }
  return out;
}

describe('merchant-benchmark over shops', () => {
  it('releases exactly the histogram of the shops’ own indicators (property)', () => {
    const sp = q.parseSpec({ kind: 'merchant-benchmark', purpose: 'p', edges: { response_minutes: [1, 5, 20, 45] } });
    fc.assert(
      fc.property(datasetArb(7, 0, 0), (d) => {
        const shops = splitShops(d);
        const r = federate(q, sp, shops);
        const expected = plainHistogram(shops, sp);
        for (const ind of r.indicators) expect(ind.bins.map((b) => b.shops), ind.indicator).toEqual(expected[ind.indicator]);
      }),
      { numRuns: 150 },
    );
  });
});
