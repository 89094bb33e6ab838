/**
 * Plain pooled computations of the marketing analytics kinds over all shops'
 * rows in one table: what a data scientist gets without federation. Written
 * straightforwardly (filters over the pooled rows, floating point where
 * exactness is not at stake, month labels from ISO strings) and sharing no
 * code with analytics/ beyond reading a spec's declared parameters, so that
 * agreement with a federated result is evidence.
 *
 * `readPooledDataset` reads the pooled CSV files `fedmart synth` writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LifecycleStage } from '../../analytics/index.js';
import type { CohortRetentionSpec } from '../../analytics/retention-spec.js';
import type { HistogramSpec } from '../../analytics/histogram-spec.js';
import type { RfmSpec } from '../../analytics/rfm-spec.js';

const DAY = 86_400;

/** A customer row as the pooled computations need it; ids are unique over the dataset. */
export interface PlainCustomer {
  readonly customerId: string;
  readonly consentAnalytics: boolean;
  readonly lifecycleStage: LifecycleStage;
  readonly ageBand: string;
  readonly city: string;
  readonly signupUnixS: number;
}

export interface PlainOrder {
  readonly customerId: string;
  readonly orderedUnixS: number;
  readonly amountCents: bigint;
  readonly returned: boolean;
}

export interface PlainDataset {
  readonly customers: readonly PlainCustomer[];
  readonly orders: readonly PlainOrder[];
}

function readTable(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.length > 0);
  if (!header) return [];
  const cols = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    if (cells.length !== cols.length) throw new Error(`unexpected quoting in ${path}: ${line}`);
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
  });
}

function band(age: number): string {
  if (age < 18) return '<18';
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 55) return '45-54';
  if (age < 65) return '55-64';
  return '65+';
}

/** The pooled CSV files as one dataset: customer ids prefixed by their shop, ages banded, amounts in cents. */
export function readPooledDataset(pooledDir: string): PlainDataset {
  const customers = readTable(join(pooledDir, 'customers.csv')).map((c) => ({
    customerId: `${c.shop_id}/${c.customer_id}`,
    consentAnalytics: c.consent_analytics === 'true',
    lifecycleStage: c.lifecycle_stage as LifecycleStage,
    ageBand: band(Number(c.age)),
    city: c.city ?? '',
    signupUnixS: Date.parse(c.signup_at ?? '') / 1000,
  }));
  const orders = readTable(join(pooledDir, 'orders.csv')).map((o) => {
    const [yuan, fen = ''] = (o.amount ?? '').split('.');
    return {
      customerId: `${o.shop_id}/${o.customer_id}`,
      orderedUnixS: Date.parse(o.ordered_at ?? '') / 1000,
      amountCents: BigInt(yuan ?? '0') * 100n + BigInt(fen.padEnd(2, '0') || '0'),
      returned: o.returned === 'true',
    };
  });
  return { customers, orders };
}

function ordersByCustomer(data: PlainDataset): Map<string, PlainOrder[]> {
  const out = new Map<string, PlainOrder[]>();
  for (const o of data.orders) {
    const list = out.get(o.customerId) ?? [];
    list.push(o);
    out.set(o.customerId, list);
  }
  return out;
}

/** segment-stats of the consented customers `inGroup` picks: counts, mean and sample variance (yuan), mean days between orders. */
export function pooledGroupStats(data: PlainDataset, inGroup: (c: PlainCustomer) => boolean) {
  const byCustomer = ordersByCustomer(data);
  const members = data.customers.filter((c) => c.consentAnalytics && inGroup(c));
  const amounts: number[] = [];
  let repeat = 0;
  let gaps = 0;
  let gapSeconds = 0;
  for (const c of members) {
    const mine = byCustomer.get(c.customerId) ?? [];
    for (const o of mine) amounts.push(Number(o.amountCents) / 100);
    const times = mine.map((o) => o.orderedUnixS).sort((a, b) => a - b);
    if (times.length >= 2) repeat++;
    for (let i = 1; i < times.length; i++) {
      gaps++;
      gapSeconds += times[i]! - times[i - 1]!;
    }
  }
  const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;
  return {
    customers: members.length,
    repeatCustomers: repeat,
    orders: amounts.length,
    orderValueMean: amounts.length > 0 ? mean : null,
    orderValueVariance: amounts.length > 1 ? amounts.reduce((a, x) => a + (x - mean) ** 2, 0) / (amounts.length - 1) : null,
    meanDaysBetweenOrders: gaps > 0 ? gapSeconds / gaps / DAY : null,
  };
}

/** RFM: cell name (`r{R}f{F}m{M}`, `core`, `ordinary`) → [customers, orders, spend cents]; scores by counting edges passed. */
export function pooledRfm(s: RfmSpec, data: PlainDataset): Map<string, [number, number, number]> {
  const byCustomer = ordersByCustomer(data);
  const asOf = Date.parse(s.asOf) / 1000;
  const out = new Map<string, [number, number, number]>();
  const bump = (key: string, orders: number, cents: number) => {
    const c = out.get(key) ?? [0, 0, 0];
    out.set(key, [c[0] + 1, c[1] + orders, c[2] + cents]);
  };
  for (const c of data.customers) {
    if (!c.consentAnalytics) continue;
    const mine = (byCustomer.get(c.customerId) ?? []).filter(
      (o) => o.orderedUnixS > asOf - s.windowDays * DAY && o.orderedUnixS <= asOf && !(s.excludeReturned && o.returned),
    );
    if (mine.length === 0) continue;
    const last = Math.max(...mine.map((o) => o.orderedUnixS));
    const spend = mine.reduce((a, o) => a + Number(o.amountCents), 0);
    const daysAgo = (asOf - last) / DAY;
    const r = s.recencyEdgesDays.length + 1 - s.recencyEdgesDays.filter((e) => daysAgo >= e).length;
    const f = 1 + s.frequencyEdges.filter((e) => mine.length >= e).length;
    const m = 1 + s.monetaryEdgesCents.filter((e) => spend >= e).length;
    bump(`r${r}f${f}m${m}`, mine.length, spend);
    const core = r >= s.core.minRecencyScore && f >= s.core.minFrequencyScore && m >= s.core.minMonetaryScore;
    bump(core ? 'core' : 'ordinary', mine.length, spend);
  }
  return out;
}

/** `YYYY-MM` of an instant at an offset, and month differences, written plainly. */
const monthKey = (t: number, offset: number): string => new Date((t + offset * 60) * 1000).toISOString().slice(0, 7);
const monthsBetween = (from: string, to: string): number => (Number(to.slice(0, 4)) - Number(from.slice(0, 4))) * 12 + Number(to.slice(5)) - Number(from.slice(5));

/**
 * Cohort retention: cohort month → size, `month/k` → active customers,
 * repurchase counts and gap sums, stage → [buyers, churned].
 */
export function pooledRetention(s: CohortRetentionSpec, data: PlainDataset) {
  const byCustomer = ordersByCustomer(data);
  const asOf = Date.parse(s.asOf) / 1000;
  const asOfMonth = monthKey(asOf, s.utcOffsetMinutes);
  const cohortSize = new Map<string, number>();
  const active = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  let buyers = 0;
  let repeat = 0;
  let gaps = 0;
  let gapSeconds = 0;
  const churn = new Map<string, [number, number]>();
  for (const c of data.customers) {
    if (!c.consentAnalytics) continue;
    const times = (byCustomer.get(c.customerId) ?? []).filter((o) => o.orderedUnixS <= asOf).map((o) => o.orderedUnixS).sort((a, b) => a - b);
    const acquired =
      s.acquisition === 'signup'
        ? c.signupUnixS <= asOf ? monthKey(c.signupUnixS, s.utcOffsetMinutes) : null
        : times.length > 0 ? monthKey(times[0]!, s.utcOffsetMinutes) : null;
    if (acquired !== null && monthsBetween(s.firstCohort, acquired) >= 0 && monthsBetween(s.firstCohort, acquired) < s.cohorts) {
      inc(cohortSize, acquired);
      for (const month of new Set(times.map((t) => monthKey(t, s.utcOffsetMinutes)))) {
        const k = monthsBetween(acquired, month);
        if (k >= 0 && k <= s.maxMonthsSince && monthsBetween(month, asOfMonth) >= 0) inc(active, `${acquired}/${k}`);
      }
    }
    if (times.length === 0) continue;
    buyers++;
    if (times.length > 1) repeat++;
    for (let i = 1; i < times.length; i++) {
      gaps++;
      gapSeconds += times[i]! - times[i - 1]!;
    }
    const [b, ch] = churn.get(c.lifecycleStage) ?? [0, 0];
    const recent = times.some((t) => t > asOf - s.churnDays * DAY);
    churn.set(c.lifecycleStage, [b + 1, ch + (recent ? 0 : 1)]);
  }
  return { cohortSize, active, buyers, repeat, gaps, gapSeconds, churn };
}

/** The histogram's variable over the pooled rows: order amounts in cents, or gaps in days, with their customer. */
export function pooledHistogramValues(s: HistogramSpec, data: PlainDataset): { value: number; customer: string }[] {
  const byCustomer = ordersByCustomer(data);
  const out: { value: number; customer: string }[] = [];
  for (const c of data.customers) {
    if (!c.consentAnalytics) continue;
    const mine = (byCustomer.get(c.customerId) ?? []).filter((o) => !(s.excludeReturned && o.returned));
    if (s.variable === 'order_value') for (const o of mine) out.push({ value: Number(o.amountCents), customer: c.customerId });
    else {
      const times = mine.map((o) => o.orderedUnixS).sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) out.push({ value: (times[i]! - times[i - 1]!) / DAY, customer: c.customerId });
    }
  }
  return out;
}

/** The exact p-th percentile of pooled values: the item of rank ⌈N·p/100⌉. */
export function exactPercentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((sorted.length * p) / 100) - 1]!;
}
