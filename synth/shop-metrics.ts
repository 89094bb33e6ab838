/**
 * Synthetic monthly service figures of a shop (商家信任指标): orders and
 * returns counted from the shop's own synthetic orders, ratings, positive
 * ratings (好评), complaints and first-response times of customer inquiries
 * drawn at shop-specific rates, so shops differ clearly on every trust
 * indicator. Drawn from the shop's own `metrics` stream.
 *
 * @module
 */
import type { Prng } from './prng.js';

/** A shop-metrics row as exported. */
export interface SynthShopMetrics {
  /** `YYYY-MM`. */
  readonly period: string;
  readonly orders: number;
  readonly ratings: number;
  readonly positiveRatings: number;
  readonly returns: number;
  readonly complaints: number;
  readonly inquiries: number;
  readonly responseTimeSumS: number;
}

/** `YYYY-MM` of a Unix time (UTC). */
export function periodOf(unixS: number): string {
  return new Date(unixS * 1000).toISOString().slice(0, 7);
}

/** Months `[from, to]` inclusive as `YYYY-MM`. */
function months(t0: number, t1: number): string[] {
  const out: string[] = [];
  const d = new Date(t0 * 1000);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth();
  const last = periodOf(t1 - 1);
  for (;;) {
    const p = `${y}-${String(m + 1).padStart(2, '0')}`;
    out.push(p);
    if (p >= last) return out;
    m++;
    if (m === 12) {
      m = 0;
      y++;
    }
  }
}

/**
 * One row per month of the history `[t0, t1)`, from the shop's orders and
 * shop-level rates drawn first.
 */
export function generateShopMetrics(
  rng: Prng,
  orders: ReadonlyArray<{ readonly orderedUnixS: number; readonly returned: boolean }>,
  t0: number,
  t1: number,
): SynthShopMetrics[] {
  const rateRating = rng.uniform(0.3, 0.6);
  const ratePositive = 1 - 0.12 * rng.next() ** 1.5; // 88%–100%, most shops above 95%
  const rateComplaint = 0.002 + 0.018 * rng.next() ** 2;
  const rateInquiry = rng.uniform(0.15, 0.35);
  const meanResponseS = 60 * Math.exp(rng.uniform(Math.log(1), Math.log(45))); // 1–45 minutes
  const byMonth = new Map(months(t0, t1).map((p) => [p, { orders: 0, returns: 0 }]));
  for (const o of orders) {
    const m = byMonth.get(periodOf(o.orderedUnixS));
    if (m === undefined) continue;
    m.orders++;
    if (o.returned) m.returns++;
  }
  const out: SynthShopMetrics[] = [];
  for (const [period, m] of byMonth) {
    let ratings = 0;
    let positiveRatings = 0;
    let complaints = 0;
    let inquiries = 0;
    let responseTimeSumS = 0;
    for (let i = 0; i < m.orders; i++) {
      if (rng.chance(rateRating)) {
        ratings++;
        if (rng.chance(ratePositive)) positiveRatings++;
      }
      if (rng.chance(rateComplaint)) complaints++;
      if (rng.chance(rateInquiry)) {
        inquiries++;
        responseTimeSumS += Math.max(5, Math.round(rng.gamma2(meanResponseS)));
      }
    }
    out.push({ period, orders: m.orders, ratings, positiveRatings, returns: m.returns, complaints, inquiries, responseTimeSumS });
  }
  return out;
}
