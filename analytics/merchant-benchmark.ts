/**
 * `merchant-benchmark`: where a shop stands among participating shops on
 * trust indicators (商家信任指标) — positive-rating rate 好评率, return/exchange
 * rate 退换货率, complaint rate 投诉率 and mean first-response time 响应时长 —
 * without any shop's own value leaving it.
 *
 * Each shop computes its indicators from its monthly service figures
 * (`shopMetrics`, optionally only the months in `periods`) and contributes,
 * per indicator, a one-hot vector over the spec's bins (a 1 in the bin its
 * value falls in; nothing when it has less than `minVolume` orders, ratings
 * or inquiries behind the indicator). The sum is a histogram of shops, which
 * `finalise` turns into the federated distribution; {@link placeShop} then
 * computes a shop's percentile from that distribution and its own values,
 * inside the shop: the placement is never sent anywhere.
 *
 * Bins: edges e₀ < e₁ < … split the line into [−∞, e₀), [e₀, e₁), …,
 * [e_last, ∞); a value equal to an edge belongs to the bin above it.
 *
 * Disclosure control: the subjects here are shops. Every bin is its own
 * released cell whose subjects field is the bin's shop count, so the key
 * holder's threshold k (`minSubjects`) acts as *at least k shops per bin*: a
 * bin with fewer is suppressed, and nobody learns whether it holds one shop
 * or none. Per bin, because the histogram is all that is released and a bin
 * with one or two shops would let anyone who knows who takes part narrow a
 * competitor's indicator to that bin (business-confidential figures; the
 * analogue of a small customer cell). Customer-level protection still holds:
 * indicators rest on at least `minVolume` orders/ratings/inquiries, and the
 * round needs the key holder's minimum merchants and attested consented
 * subjects like every kind. Complementary disclosure: a reporting shop adds
 * exactly one to its indicator and the release names the contributing
 * merchants, so a lone withheld bin would follow by subtraction; each
 * indicator's bins are therefore declared as one margin, and the key
 * holder's secondary suppression withholds further bins until the withheld
 * ones together hold at least k shops. Residual risk, inherent in any count
 * release: m − 1 colluding shops learn the last shop's bin from a histogram
 * of m shops, which only the minimum-merchant rule limits. With the default
 * policy (k = 10) a bin shows only once ten shops share it, so benchmarks
 * need many shops and coarse edges (the defaults have 5–6 bins).
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { atMost, firstBroken, totalOf } from './input-relations.js';
import { purposeSchema } from './model-spec.js';
import { assertWithinBounds, type CellMargin, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import { ratioToNumber } from './rational.js';
import type { ShopData } from './shop-data.js';
import { parseWith } from './spec-parse.js';
import { asJson, purposeMember, type KindGuideBody } from './kind-guide-types.js';

export const MERCHANT_BENCHMARK_KIND = 'merchant-benchmark';

type Volume = 'orders' | 'ratings' | 'inquiries';

/** The indicators, their direction and what they are computed from. */
export const BENCHMARK_INDICATORS = {
  positive_rating_rate: {
    label: 'positive-rating rate',
    labelZh: '好评率',
    better: 'higher',
    volume: 'ratings',
    inputFields: ['shop_metrics.ratings', 'shop_metrics.positive_ratings'],
    defaultEdges: [0.9, 0.95, 0.97, 0.98, 0.99],
    isRate: true,
  },
  return_rate: {
    label: 'return/exchange rate',
    labelZh: '退换货率',
    better: 'lower',
    volume: 'orders',
    inputFields: ['shop_metrics.orders', 'shop_metrics.returns'],
    defaultEdges: [0.03, 0.05, 0.07, 0.1],
    isRate: true,
  },
  complaint_rate: {
    label: 'complaints per order',
    labelZh: '投诉率',
    better: 'lower',
    volume: 'orders',
    inputFields: ['shop_metrics.orders', 'shop_metrics.complaints'],
    defaultEdges: [0.002, 0.005, 0.01, 0.02],
    isRate: true,
  },
  response_minutes: {
    label: 'mean first-response time, minutes',
    labelZh: '平均响应时长(分钟)',
    better: 'lower',
    volume: 'inquiries',
    inputFields: ['shop_metrics.inquiries', 'shop_metrics.response_time_sum_s'],
    defaultEdges: [2, 5, 10, 30],
    isRate: false,
  },
} as const satisfies Record<string, { label: string; labelZh: string; better: 'higher' | 'lower'; volume: Volume; inputFields: readonly string[]; defaultEdges: readonly number[]; isRate: boolean }>;

export type BenchmarkIndicator = keyof typeof BENCHMARK_INDICATORS;
export const BENCHMARK_INDICATOR_NAMES = Object.keys(BENCHMARK_INDICATORS) as BenchmarkIndicator[];

/** Least volume behind an indicator for a shop to report it. */
export const DEFAULT_MIN_VOLUME: Readonly<Record<Volume, number>> = { orders: 100, ratings: 50, inquiries: 20 };

/** Parsed, normalised `merchant-benchmark` spec. */
export interface MerchantBenchmarkSpec {
  readonly kind: typeof MERCHANT_BENCHMARK_KIND;
  readonly purpose: string;
  readonly indicators: readonly BenchmarkIndicator[];
  /** Edges of every selected indicator. */
  readonly edges: Readonly<Partial<Record<BenchmarkIndicator, readonly number[]>>>;
  readonly minVolume: Readonly<Record<Volume, number>>;
  /** Months counted, inclusive (`YYYY-MM`); all months when absent. */
  readonly periods?: { readonly from: string; readonly to: string };
}

const month = z.string().regex(/^[0-9]{4}-(0[1-9]|1[0-2])$/, 'expected a month like 2025-06');
const indicatorName = z.enum(BENCHMARK_INDICATOR_NAMES as [BenchmarkIndicator, ...BenchmarkIndicator[]]);
const specSchema = z.strictObject({
  kind: z.literal(MERCHANT_BENCHMARK_KIND),
  purpose: purposeSchema,
  indicators: z.array(indicatorName).min(1).max(BENCHMARK_INDICATOR_NAMES.length).optional(),
  edges: z.partialRecord(indicatorName, z.array(z.number().finite()).min(1).max(20)).optional(),
  minVolume: z.strictObject({ orders: z.number().int().min(1).max(1e9).optional(), ratings: z.number().int().min(1).max(1e9).optional(), inquiries: z.number().int().min(1).max(1e9).optional() }).optional(),
  periods: z.strictObject({ from: month, to: month }).optional(),
});

/** Validates untrusted spec JSON; throws QuerySpecError naming the path. */
export function parseMerchantBenchmarkSpec(json: unknown): MerchantBenchmarkSpec {
  const raw = parseWith(specSchema, json);
  const indicators = raw.indicators ?? BENCHMARK_INDICATOR_NAMES;
  if (new Set(indicators).size !== indicators.length) throw new QuerySpecError('indicators', 'an indicator is listed twice');
  const edges: Partial<Record<BenchmarkIndicator, readonly number[]>> = {};
  for (const key of Object.keys(raw.edges ?? {}) as BenchmarkIndicator[]) {
    if (!indicators.includes(key)) throw new QuerySpecError(`edges.${key}`, 'the indicator is not selected');
  }
  for (const ind of indicators) {
    const e = raw.edges?.[ind] ?? [...BENCHMARK_INDICATORS[ind].defaultEdges];
    e.forEach((x, i) => {
      if (i > 0 && !(x > (e[i - 1] as number))) throw new QuerySpecError(`edges.${ind}.${i}`, 'edges must increase strictly');
      if (BENCHMARK_INDICATORS[ind].isRate ? !(x > 0 && x < 1) : !(x > 0)) throw new QuerySpecError(`edges.${ind}.${i}`, BENCHMARK_INDICATORS[ind].isRate ? 'a rate edge lies in (0, 1)' : 'an edge is positive');
    });
    edges[ind] = e;
  }
  if (raw.periods !== undefined && raw.periods.from > raw.periods.to) throw new QuerySpecError('periods.to', 'must not be before periods.from');
  return {
    kind: MERCHANT_BENCHMARK_KIND,
    purpose: raw.purpose,
    indicators: BENCHMARK_INDICATOR_NAMES.filter((n) => indicators.includes(n)),
    edges,
    minVolume: { ...DEFAULT_MIN_VOLUME, ...raw.minVolume },
    ...(raw.periods === undefined ? {} : { periods: raw.periods }),
  };
}

const edgesOf = (spec: MerchantBenchmarkSpec, ind: BenchmarkIndicator): readonly number[] => spec.edges[ind] ?? BENCHMARK_INDICATORS[ind].defaultEdges;
const binField = (ind: BenchmarkIndicator, bin: number): string => `${ind}.bin${bin}`;

/** Per indicator, one field per bin (edges + 1), each at most 1. */
export function merchantBenchmarkFields(spec: MerchantBenchmarkSpec): FieldSpec[] {
  return spec.indicators.flatMap((ind) => Array.from({ length: edgesOf(spec, ind).length + 1 }, (_, b) => ({ name: binField(ind, b), max: 1n })));
}

/** One cell per bin; its subjects are the bin's shops (see module documentation). */
export function merchantBenchmarkCells(spec: MerchantBenchmarkSpec): CellSpec[] {
  return merchantBenchmarkFields(spec).map((f) => ({ name: f.name, subjectsField: f.name, fields: [f.name] }));
}

/** The monthly figures each indicator is computed from (matching its inputFields). */
const INDICATOR_FIGURES: Readonly<Record<BenchmarkIndicator, ReadonlyArray<'orders' | 'ratings' | 'positiveRatings' | 'returns' | 'complaints' | 'inquiries' | 'responseTimeSumS'>>> = {
  positive_rating_rate: ['ratings', 'positiveRatings'],
  return_rate: ['orders', 'returns'],
  complaint_rate: ['orders', 'complaints'],
  response_minutes: ['inquiries', 'responseTimeSumS'],
};

/** Per indicator, its bins form one relation (their sum is the reporting shops). */
export function merchantBenchmarkMargins(spec: MerchantBenchmarkSpec): CellMargin[] {
  return spec.indicators.map((ind) => ({ parts: Array.from({ length: edgesOf(spec, ind).length + 1 }, (_, b) => binField(ind, b)) }));
}

/** A shop's own indicator values; null where it has too little volume or no figures. */
export type ShopIndicators = Readonly<Partial<Record<BenchmarkIndicator, number | null>>>;

/**
 * The shop's own indicators (computed and kept locally). Throws RangeError
 * naming `data.shopMetrics` for impossible figures (negative counts, more
 * positive ratings than ratings).
 */
export function shopIndicators(spec: MerchantBenchmarkSpec, data: ShopData): ShopIndicators {
  if (typeof data !== 'object' || data === null) throw new TypeError('data: expected ShopData');
  const t = { orders: 0n, ratings: 0n, positiveRatings: 0n, returns: 0n, complaints: 0n, inquiries: 0n, responseTimeSumS: 0n };
  // Only the figures the selected indicators need are read (they are the query's inputFields).
  const keys = [...new Set(spec.indicators.flatMap((i) => INDICATOR_FIGURES[i]))];
  for (const m of data.shopMetrics ?? []) {
    if (spec.periods !== undefined && (m.period < spec.periods.from || m.period > spec.periods.to)) continue;
    for (const k of keys) {
      const v = m[k];
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`data.shopMetrics: ${k} of ${m.period} is not a non-negative integer`);
      t[k] += BigInt(v);
    }
    if (keys.includes('positiveRatings') && m.positiveRatings > m.ratings) throw new RangeError(`data.shopMetrics: positive ratings exceed ratings in ${m.period}`);
  }
  const min = (v: Volume): bigint => BigInt(spec.minVolume[v]);
  const out: Partial<Record<BenchmarkIndicator, number | null>> = {};
  for (const ind of spec.indicators) {
    switch (ind) {
      case 'positive_rating_rate':
        out[ind] = t.ratings >= min('ratings') ? ratioToNumber(t.positiveRatings, t.ratings) : null;
        break;
      case 'return_rate':
        out[ind] = t.orders >= min('orders') ? ratioToNumber(t.returns, t.orders) : null;
        break;
      case 'complaint_rate':
        out[ind] = t.orders >= min('orders') ? ratioToNumber(t.complaints, t.orders) : null;
        break;
      case 'response_minutes':
        out[ind] = t.inquiries >= min('inquiries') ? ratioToNumber(t.responseTimeSumS, t.inquiries * 60n) : null;
        break;
    }
  }
  return out;
}

/** Index of the bin `value` falls in: the number of edges ≤ value. */
export function benchmarkBin(edges: readonly number[], value: number): number {
  let b = 0;
  while (b < edges.length && value >= (edges[b] as number)) b++;
  return b;
}

/** Shop side: a one-hot bin vector per indicator (all zero where the shop does not report it). */
export function computeMerchantBenchmarkLocal(spec: MerchantBenchmarkSpec, data: ShopData): bigint[] {
  const own = shopIndicators(spec, data);
  const values = spec.indicators.flatMap((ind) => {
    const edges = edgesOf(spec, ind);
    const v = own[ind];
    const bin = v === null || v === undefined ? -1 : benchmarkBin(edges, v);
    return Array.from({ length: edges.length + 1 }, (_, b) => (b === bin ? 1n : 0n));
  });
  assertWithinBounds(merchantBenchmarkFields(spec), values);
  return values;
}

/** One bin of the federated distribution. */
export interface BenchmarkBin {
  /** Inclusive lower edge; null for the first bin. */
  readonly lower: number | null;
  /** Exclusive upper edge; null for the last bin. */
  readonly upper: number | null;
  /** Shops in the bin; null when suppressed (fewer than k). */
  readonly shops: number | null;
}

/** One indicator's distribution over shops. */
export interface IndicatorDistribution {
  readonly indicator: BenchmarkIndicator;
  readonly label: string;
  readonly labelZh: string;
  readonly better: 'higher' | 'lower';
  readonly bins: readonly BenchmarkBin[];
  /** Shops in released bins. */
  readonly releasedShops: number;
  readonly suppressedBins: number;
}

export interface MerchantBenchmarkResult {
  readonly indicators: readonly IndicatorDistribution[];
}

/** Coordinator side: the histogram of shops per indicator; suppressed bins show null. */
export function finaliseMerchantBenchmark(spec: MerchantBenchmarkSpec, release: ReleasedTotals): MerchantBenchmarkResult {
  if (typeof release !== 'object' || release === null || typeof release.cells !== 'object' || release.cells === null) {
    throw new TypeError('release: expected { cells }');
  }
  return {
    indicators: spec.indicators.map((ind): IndicatorDistribution => {
      const edges = edgesOf(spec, ind);
      const bins = Array.from({ length: edges.length + 1 }, (_, b): BenchmarkBin => {
        const name = binField(ind, b);
        const cell = release.cells[name];
        if (cell === undefined) throw new TypeError(`release.cells.${name}: missing`);
        let shops: number | null = null;
        if (!cell.suppressed) {
          const v = cell.totals?.[name];
          if (typeof v !== 'bigint' || v < 0n) throw new TypeError(`release.cells.${name}.totals.${name}: missing or negative`);
          shops = Number(v);
        }
        return { lower: b === 0 ? null : (edges[b - 1] as number), upper: b === edges.length ? null : (edges[b] as number), shops };
      });
      const d = BENCHMARK_INDICATORS[ind];
      return {
        indicator: ind,
        label: d.label,
        labelZh: d.labelZh,
        better: d.better,
        bins,
        releasedShops: bins.reduce((s, b) => s + (b.shops ?? 0), 0),
        suppressedBins: bins.filter((b) => b.shops === null).length,
      };
    }),
  };
}

/** A shop's standing on one indicator, computed inside the shop. */
export interface ShopPlacement {
  readonly indicator: BenchmarkIndicator;
  readonly value: number | null;
  readonly bin: number | null;
  /** Mid-rank position among the compared shops in increasing value, 0–100. */
  readonly percentile: number | null;
  /** Share of the other compared shops this shop does better than (ties in its bin count half), 0–100. */
  readonly outperforms: number | null;
  /** Shops compared with: those in released bins, plus this shop when its own bin is suppressed. */
  readonly comparedWith: number;
  /** False when some bins were suppressed, so shops in them are left out of the comparison. */
  readonly complete: boolean;
}

/**
 * Places the shop's own indicators in the released distribution. Pure and
 * local: call it in the shop with {@link shopIndicators}; the placement is
 * returned only to the caller. Bin resolution is the spec's edges: shops in
 * the same bin count as ties. A suppressed own bin counts as holding just this
 * shop. Throws TypeError naming the argument on malformed input.
 */
export function placeShop(result: MerchantBenchmarkResult, ownIndicators: ShopIndicators): ShopPlacement[] {
  const dists: unknown = typeof result === 'object' && result !== null ? result.indicators : undefined;
  if (!Array.isArray(dists)) throw new TypeError('result: expected a MerchantBenchmarkResult');
  if (typeof ownIndicators !== 'object' || ownIndicators === null) throw new TypeError('ownIndicators: expected indicator values');
  return (dists as readonly IndicatorDistribution[]).map((dist): ShopPlacement => {
    const value = ownIndicators[dist.indicator] ?? null;
    const complete = dist.suppressedBins === 0;
    if (value === null) return { indicator: dist.indicator, value: null, bin: null, percentile: null, outperforms: null, comparedWith: dist.releasedShops, complete };
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`ownIndicators.${dist.indicator}: expected a finite number or null`);
    const edges = dist.bins.slice(1).map((b) => b.lower as number);
    const bin = benchmarkBin(edges, value);
    let below = 0;
    let above = 0;
    dist.bins.forEach((b, i) => {
      if (i < bin) below += b.shops ?? 0;
      if (i > bin) above += b.shops ?? 0;
    });
    const same = Math.max(1, dist.bins[bin]?.shops ?? 1);
    const total = below + same + above;
    const worse = dist.better === 'higher' ? below : above;
    return {
      indicator: dist.indicator,
      value,
      bin,
      percentile: (100 * (below + same / 2)) / total,
      outperforms: total > 1 ? (100 * (worse + (same - 1) / 2)) / (total - 1) : null,
      comparedWith: total,
      complete,
    };
  });
}

/** The `merchant-benchmark` query definition registered under its kind. */
/**
 * The relation every honest shop's one-hot bins satisfy, checked by the key
 * holder on the pooled sums (input-relations.ts): a shop is in at most one
 * bin of each indicator, so an indicator's bins hold at most the shops that
 * contributed. A shop that adds itself to several bins breaks it; one that
 * moves its own vote, or takes another shop's vote out of a bin and puts one
 * in another, does not (docs/input-validity.md).
 */
export function merchantBenchmarkInputViolation(spec: MerchantBenchmarkSpec, totals: ReadonlyMap<string, bigint>, contributors: number): string | undefined {
  return firstBroken(spec.indicators.map((ind) => {
    let shops = 0n;
    for (let b = 0; b <= edgesOf(spec, ind).length; b++) shops += totalOf(totals, binField(ind, b));
    return atMost(`the shops in the bins of ${ind}`, shops, 'the contributing shops', BigInt(contributors));
  }));
}

const MERCHANT_BENCHMARK_GUIDE: KindGuideBody = {
  summary: "Distribution of shops' rating, return and complaint rates and response time.",
  description:
    'Each shop computes its trust indicators from its monthly service figures and sends a one-hot vector over the declared bins; the ' +
    'sum is a histogram of shops per indicator. A shop places itself in that distribution locally. Every bin is a cell whose subjects ' +
    'are shops, so a bin shows only once at least k shops share it; a shop with less than minVolume behind an indicator does not report it.',
  members: [
    purposeMember('marketing-analytics'),
    {
      name: 'indicators',
      type: 'string[]',
      required: false,
      default: 'all',
      description: `Indicators to benchmark: ${BENCHMARK_INDICATOR_NAMES.map((n) => `${n} (${BENCHMARK_INDICATORS[n].label}, ${BENCHMARK_INDICATORS[n].better} is better)`).join('; ')}.`,
      values: BENCHMARK_INDICATOR_NAMES,
    },
    {
      name: 'edges',
      type: 'object',
      required: false,
      default: BENCHMARK_INDICATOR_NAMES.map((n) => `${n} ${asJson(BENCHMARK_INDICATORS[n].defaultEdges)}`).join(', '),
      description: 'Bin edges per selected indicator, strictly increasing, 1 to 20: rates lie in (0, 1), response_minutes above 0.',
      sample: { return_rate: [0.02, 0.05, 0.1] },
    },
    { name: 'minVolume.orders', type: 'integer', required: false, default: String(DEFAULT_MIN_VOLUME.orders), description: 'Least orders behind return_rate and complaint_rate.', sample: 200 },
    { name: 'minVolume.ratings', type: 'integer', required: false, default: String(DEFAULT_MIN_VOLUME.ratings), description: 'Least ratings behind positive_rating_rate.', sample: 80 },
    { name: 'minVolume.inquiries', type: 'integer', required: false, default: String(DEFAULT_MIN_VOLUME.inquiries), description: 'Least inquiries behind response_minutes.', sample: 30 },
    { name: 'periods', type: 'object', required: false, default: 'all months', description: 'Months counted, inclusive: {"from": "2025-01", "to": "2025-12"}.' },
  ],
  sections: [],
  example: { purpose: 'marketing-analytics', indicators: ['positive_rating_rate', 'return_rate', 'complaint_rate'], periods: { from: '2025-01', to: '2025-12' } },
};

export const merchantBenchmarkQuery: QueryDefinition<MerchantBenchmarkSpec, MerchantBenchmarkResult, typeof MERCHANT_BENCHMARK_KIND> = {
  kind: MERCHANT_BENCHMARK_KIND,
  guide: MERCHANT_BENCHMARK_GUIDE,
  parseSpec: parseMerchantBenchmarkSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => [
    ...new Set([...spec.indicators.flatMap((i) => BENCHMARK_INDICATORS[i].inputFields), ...(spec.periods === undefined ? [] : ['shop_metrics.period'])]),
  ].sort(),
  fields: merchantBenchmarkFields,
  cells: merchantBenchmarkCells,
  margins: merchantBenchmarkMargins,
  computeLocal: computeMerchantBenchmarkLocal,
  finalise: finaliseMerchantBenchmark,
  inputViolation: merchantBenchmarkInputViolation,
};
