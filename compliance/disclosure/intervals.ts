/**
 * Confidence intervals for what a marketer is shown from a DP release.
 *
 * The release carries, per noisy total, the exact noise parameter and the
 * noisy value before clamping, so intervals can be formed at any level
 * after the fact (post-processing costs no privacy). Totals get the release's
 * confidence c directly. A ratio of two noisy totals (a rate, a mean) gets
 * the interval [lo_num / hi_den, hi_num / lo_den] from intervals of level
 * (1 + c)/2 for each: both hold together with probability at least c (union
 * bound), so the ratio interval covers with at least c as well. Intervals
 * are clipped to what the spec's bounds allow (a rate in [0, 1], a mean
 * order value below the per-order bound).
 *
 * @module
 */
import { DAY_SECONDS, SEGMENT_STATS_KIND, SEGMENT_STAT_NAMES, segmentFieldName, type ReleaseDocument, type ReleasedNoise, type SegmentStatName, type SegmentStatsSpec } from '../../analytics/index.js';
import { noiseHalfWidth, noiseParameterOf } from './noise.js';

/** A closed interval [lo, hi]. */
export type Interval = readonly [number, number];

/** Interval for a total with the given noise at `confidence`, clipped at zero. */
export function totalInterval(noise: ReleasedNoise, confidence: number): Interval {
  const h = noiseHalfWidth(noiseParameterOf(noise), confidence);
  const noisy = Number(BigInt(noise.noisy));
  return [Math.max(0, noisy - h), Math.max(0, noisy + h)];
}

function ratioInterval(num: Interval, den: Interval, scale: number, cap: number): Interval {
  const lo = den[1] > 0 ? num[0] / (den[1] * scale) : 0;
  const hi = den[0] > 0 ? num[1] / (den[0] * scale) : cap;
  return [Math.min(Math.max(0, lo), cap), Math.min(Math.max(0, hi), cap)];
}

/** Intervals of the displayed statistics of one segment row (variance has none). */
export interface SegmentRowIntervals {
  readonly customers: Interval;
  readonly repeatCustomers: Interval;
  readonly orders: Interval;
  readonly repurchaseRate: Interval;
  /** Yuan. */
  readonly orderValueMean: Interval;
  /** Days. */
  readonly meanDaysBetweenOrders: Interval;
}

/** One noisy total as shown: value, standard deviation of its noise, interval. */
export interface ShownTotal {
  readonly value: number;
  readonly sd: number;
  readonly ci: Interval;
}

/** The DP part of a finalised result: accounting and intervals. */
export interface DisclosureSummary {
  readonly mode: 'dp';
  readonly purpose: string;
  readonly mechanism: 'discrete-gaussian' | 'discrete-laplace';
  readonly confidence: number;
  readonly delta: number;
  readonly epsilon: number;
  readonly epsilonSpent: number;
  readonly rho: string;
  readonly rhoSpent: string;
  readonly rhoTotal: string;
  readonly attestedSubjects: ShownTotal;
  /** Cell → field → noisy total with interval. */
  readonly totals: Readonly<Record<string, Readonly<Record<string, ShownTotal>>>>;
  /** `segment-stats` only: group → intervals of the row's displayed statistics. */
  readonly rows?: Readonly<Record<string, SegmentRowIntervals>>;
}

function shown(noise: ReleasedNoise, released: string, confidence: number): ShownTotal {
  return { value: Number(released), sd: noise.sd, ci: totalInterval(noise, confidence) };
}

function segmentRows(spec: SegmentStatsSpec, doc: ReleaseDocument, confidence: number): Record<string, SegmentRowIntervals> {
  const pair = (1 + confidence) / 2;
  const out: Record<string, SegmentRowIntervals> = {};
  for (const [group, cell] of Object.entries(doc.cells)) {
    if (cell.suppressed || !cell.noise) continue;
    const noise = cell.noise;
    const at = (stat: SegmentStatName, c: number): Interval | undefined => {
      const n = noise[segmentFieldName(group, stat)];
      return n ? totalInterval(n, c) : undefined;
    };
    if (!SEGMENT_STAT_NAMES.every((s) => noise[segmentFieldName(group, s)] !== undefined)) continue;
    const maxMean = Number(spec.bounds.maxOrderCents) / 100;
    const maxGapDays = Number(spec.bounds.horizonSeconds) / DAY_SECONDS;
    out[group] = {
      customers: at('customers', confidence) as Interval,
      repeatCustomers: at('repeat_customers', confidence) as Interval,
      orders: at('orders', confidence) as Interval,
      repurchaseRate: ratioInterval(at('repeat_customers', pair) as Interval, at('customers', pair) as Interval, 1, 1),
      orderValueMean: ratioInterval(at('order_value_sum_cents', pair) as Interval, at('orders', pair) as Interval, 100, maxMean),
      meanDaysBetweenOrders: ratioInterval(at('interval_sum_s', pair) as Interval, at('interval_count', pair) as Interval, DAY_SECONDS, maxGapDays),
    };
  }
  return out;
}

/**
 * The accounting and intervals of a DP release, or undefined for an exact
 * one. `spec` is the parsed spec of `kind` (used for `segment-stats` rows).
 */
export function disclosureSummary(kind: string, spec: unknown, doc: ReleaseDocument): DisclosureSummary | undefined {
  const d = doc.disclosure;
  if (!d || d.mode !== 'dp' || !d.dp) return undefined;
  const dp = d.dp;
  const totals: Record<string, Record<string, ShownTotal>> = {};
  for (const [name, cell] of Object.entries(doc.cells)) {
    if (cell.suppressed || !cell.noise) continue;
    const fields: Record<string, ShownTotal> = {};
    for (const [field, noise] of Object.entries(cell.noise)) {
      fields[field] = shown(noise, cell.totals[field] ?? cell.subjects, dp.confidence);
    }
    totals[name] = fields;
  }
  return {
    mode: 'dp',
    purpose: d.purpose,
    mechanism: dp.mechanism,
    confidence: dp.confidence,
    delta: dp.delta,
    epsilon: dp.epsilon,
    epsilonSpent: dp.epsilonSpent,
    rho: dp.rho,
    rhoSpent: dp.rhoSpent,
    rhoTotal: dp.rhoTotal,
    attestedSubjects: shown(dp.attestedSubjectsNoise, String(doc.attestedSubjects), dp.confidence),
    totals,
    ...(kind === SEGMENT_STATS_KIND ? { rows: segmentRows(spec as SegmentStatsSpec, doc, dp.confidence) } : {}),
  };
}
