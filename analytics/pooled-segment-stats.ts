/**
 * Plaintext `segment-stats` over pooled rows from all shops: the answer a
 * federated release must reproduce. Written independently of the exact
 * BigInt path on purpose (per-order floating point, Welford's running
 * variance, per-customer sorting) so that agreement between the two is
 * evidence, not a tautology. Used only by demos and tests.
 *
 * @module
 */
import { DAY_SECONDS } from './calendar.js';
import type { SegmentStatsRow, SegmentStatsTable } from './segment-table.js';
import { LIFECYCLE_STAGES, type LifecycleStage, type PooledData } from './shop-data.js';

/** Options mirroring the spec members that change which orders count. */
export interface PooledSegmentStatsOptions {
  readonly excludeReturned?: boolean;
}

interface Acc {
  customers: number;
  repeat: number;
  n: number;
  mean: number;
  m2: number;
  gaps: number;
  gapDays: number;
}

/** Pooled plaintext statistics, rows in LIFECYCLE_STAGES order. */
export function pooledSegmentStats(pooled: PooledData, options: PooledSegmentStatsOptions = {}): SegmentStatsTable {
  if (typeof pooled !== 'object' || pooled === null || !Array.isArray(pooled.customers as unknown) || !Array.isArray(pooled.orders as unknown)) {
    throw new TypeError('pooled: expected { customers, orders } arrays');
  }
  // Customer ids are scoped to a shop; key by both.
  const key = (shopId: string, customerId: string): string => `${shopId}\u0000${customerId}`;
  const stageByCustomer = new Map<string, LifecycleStage>();
  for (const c of pooled.customers) if (c.consentAnalytics) stageByCustomer.set(key(c.shopId, c.customerId), c.lifecycleStage);

  const acc = new Map<LifecycleStage, Acc>(
    LIFECYCLE_STAGES.map((s) => [s, { customers: 0, repeat: 0, n: 0, mean: 0, m2: 0, gaps: 0, gapDays: 0 }]),
  );
  const ordersByCustomer = new Map<string, number[]>();
  for (const o of pooled.orders) {
    const k = key(o.shopId, o.customerId);
    const stage = stageByCustomer.get(k);
    if (stage === undefined || (options.excludeReturned === true && o.returned)) continue;
    const a = acc.get(stage) as Acc;
    const x = Number(o.amountCents) / 100;
    a.n += 1;
    const delta = x - a.mean;
    a.mean += delta / a.n;
    a.m2 += delta * (x - a.mean);
    const list = ordersByCustomer.get(k) ?? [];
    list.push(o.orderedUnixS);
    ordersByCustomer.set(k, list);
  }
  for (const [k, stage] of stageByCustomer) {
    const a = acc.get(stage) as Acc;
    a.customers += 1;
    const times = (ordersByCustomer.get(k) ?? []).slice().sort((p, q) => p - q);
    if (times.length >= 2) a.repeat += 1;
    for (let i = 1; i < times.length; i++) {
      a.gaps += 1;
      a.gapDays += ((times[i] as number) - (times[i - 1] as number)) / DAY_SECONDS;
    }
  }
  const rows = LIFECYCLE_STAGES.map((stage): SegmentStatsRow => {
    const a = acc.get(stage) as Acc;
    return {
      stage,
      suppressed: false,
      customers: a.customers,
      repeatCustomers: a.repeat,
      orders: a.n,
      repurchaseRate: a.customers > 0 ? a.repeat / a.customers : null,
      orderValueMean: a.n > 0 ? a.mean : null,
      orderValueVariance: a.n > 1 ? a.m2 / (a.n - 1) : null,
      meanDaysBetweenOrders: a.gaps > 0 ? a.gapDays / a.gaps : null,
    };
  });
  return { rows };
}
