/**
 * The round view: consent filter, keyed pseudonyms, generalisation and
 * allow-list blanking, without changing the statistic.
 */
import { describe, expect, it } from 'vitest';
import type { ShopData } from '../../analytics/index.js';
import { computeSegmentStatsLocal } from '../../analytics/segment-stats.js';
import { parseSegmentStatsSpec } from '../../analytics/segment-stats-spec.js';
import { DEFAULT_PURPOSES, type PurposeDefinition } from '../../compliance/index.js';
import { roundView } from '../../client-sdk/index.js';

const KEY = new Uint8Array(32).fill(7);
const data: ShopData = {
  shopId: 'shop-x',
  customers: [
    { customerId: 'C-1', lifecycleStage: 'loyal', consentAnalytics: true, consentMarketing: true, city: '上海', ageBand: '25-34', signupUnixS: 1000 },
    { customerId: 'C-2', lifecycleStage: 'new', consentAnalytics: true, consentMarketing: false, city: '北京', ageBand: '35-44', signupUnixS: 2000 },
    { customerId: 'C-3', lifecycleStage: 'loyal', consentAnalytics: true, consentMarketing: false, city: '成都', ageBand: '18-24', signupUnixS: 3000 },
  ],
  orders: [
    { orderId: 'O-1', customerId: 'C-1', orderedUnixS: 10_000, amountCents: 1234n, returned: false },
    { orderId: 'O-2', customerId: 'C-1', orderedUnixS: 90_000, amountCents: 999n, returned: true },
    { orderId: 'O-3', customerId: 'C-2', orderedUnixS: 20_000, amountCents: 5000n, returned: false },
    { orderId: 'O-4', customerId: 'C-3', orderedUnixS: 30_000, amountCents: 700n, returned: false },
  ],
};
const narrow: PurposeDefinition = { ...DEFAULT_PURPOSES[0]!, allowedFields: ['customer.lifecycle_stage', 'order.amount', 'order.ordered_at'] };

describe('roundView', () => {
  it('keeps only included customers and their orders, under pseudonyms', () => {
    const view = roundView(data, new Set(['C-1', 'C-3']), narrow, KEY);
    expect(view.customers).toHaveLength(2);
    expect(view.orders).toHaveLength(3);
    const text = JSON.stringify(view, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const id of ['C-1', 'C-2', 'C-3', 'O-1', 'O-2', 'O-4', '上海', '成都']) expect(text).not.toContain(id);
    expect(new Set(view.orders.map((o) => o.customerId))).toEqual(new Set(view.customers.map((c) => c.customerId)));
  });

  it('blanks fields outside the allow-list and generalises cities where allowed', () => {
    const view = roundView(data, new Set(['C-1']), narrow, KEY);
    expect(view.customers[0]).toMatchObject({ city: '', ageBand: '', signupUnixS: 0, lifecycleStage: 'loyal' });
    expect(view.orders.map((o) => o.returned)).toEqual([false, false]);
    const wide = roundView(data, new Set(['C-1']), DEFAULT_PURPOSES[0]!, KEY);
    expect(wide.customers[0]).toMatchObject({ city: 'tier-1', ageBand: '25-34', signupUnixS: 1000 });
  });

  it('gives the same statistic as the consented raw rows', () => {
    const spec = parseSegmentStatsSpec({ kind: 'segment-stats', purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' });
    const included = new Set(['C-1', 'C-3']);
    const raw: ShopData = {
      ...data,
      customers: data.customers.map((c) => ({ ...c, consentAnalytics: included.has(c.customerId) })),
    };
    expect(computeSegmentStatsLocal(spec, roundView(data, included, narrow, KEY))).toEqual(computeSegmentStatsLocal(spec, raw));
  });
});
