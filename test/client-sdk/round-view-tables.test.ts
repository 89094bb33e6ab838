/**
 * The round view of campaigns, sessions and shop metrics: rows follow their
 * customer's consent and pseudonym; `campaign.*`, `session.*` and
 * `shop_metrics.*` fields outside the allow-list are blanked.
 */
import { describe, expect, it } from 'vitest';
import type { ShopData } from '../../analytics/index.js';
import { DEFAULT_PURPOSES, pseudonymise, type PurposeDefinition } from '../../compliance/index.js';
import { roundView } from '../../client-sdk/index.js';

const KEY = new Uint8Array(32).fill(9);
const MARKETING = DEFAULT_PURPOSES.find((p) => p.name === 'marketing-analytics')!;
const CHURN = DEFAULT_PURPOSES.find((p) => p.name === 'churn-modelling')!;

const data: ShopData = {
  shopId: 'shop-x',
  customers: [
    { customerId: 'C-1', lifecycleStage: 'loyal', consentAnalytics: true, consentMarketing: true, city: '上海', ageBand: '25-34', signupUnixS: 1000 },
    { customerId: 'C-2', lifecycleStage: 'new', consentAnalytics: false, consentMarketing: false, city: '北京', ageBand: '35-44', signupUnixS: 2000 },
  ],
  orders: [],
  campaigns: [
    { customerId: 'C-1', campaignId: 'CMP-1', variant: 'B', exposed: true, opened: true, clicked: true, converted: true },
    { customerId: 'C-2', campaignId: 'CMP-1', variant: 'A', exposed: true, opened: false, clicked: false, converted: false },
  ],
  sessions: [
    { customerId: 'C-1', channel: 'app', viewed: true, carted: true, ordered: false },
    { customerId: 'C-2', channel: 'web', viewed: true, carted: false, ordered: false },
  ],
  shopMetrics: [{ period: '2025-03', orders: 10, ratings: 4, positiveRatings: 3, returns: 1, complaints: 0, inquiries: 2, responseTimeSumS: 300 }],
};

describe('roundView of the optional tables', () => {
  it('keeps rows of included customers only, under their pseudonym', () => {
    const view = roundView(data, new Set(['C-1']), MARKETING, KEY);
    const p = pseudonymise('C-1', KEY);
    expect(view.campaigns).toEqual([{ customerId: p, campaignId: 'CMP-1', variant: 'B', exposed: true, opened: true, clicked: true, converted: true }]);
    expect(view.sessions).toEqual([{ customerId: p, channel: 'app', viewed: true, carted: true, ordered: false }]);
    expect(view.shopMetrics).toEqual(data.shopMetrics);
  });

  it('blanks campaign, session and shop-metrics fields the purpose may not read', () => {
    const view = roundView(data, new Set(['C-1']), CHURN, KEY);
    expect(view.campaigns?.[0]).toMatchObject({ campaignId: '', variant: 'B', opened: true });
    expect(view.sessions?.[0]).toMatchObject({ channel: 'app', carted: true });
    expect(view.shopMetrics?.[0]).toEqual({ period: '', orders: 0, ratings: 0, positiveRatings: 0, returns: 0, complaints: 0, inquiries: 0, responseTimeSumS: 0 });
    const bare: PurposeDefinition = { ...MARKETING, allowedFields: ['customer.lifecycle_stage'] };
    const none = roundView(data, new Set(['C-1']), bare, KEY);
    expect(none.campaigns?.[0]).toMatchObject({ campaignId: '', variant: '', exposed: false, opened: false, clicked: false, converted: false });
    expect(none.sessions?.[0]).toMatchObject({ channel: '', viewed: false, carted: false, ordered: false });
  });

  it('leaves tables the shop does not have absent', () => {
    const view = roundView({ shopId: 's', customers: data.customers, orders: [] }, new Set(['C-1']), MARKETING, KEY);
    expect('campaigns' in view || 'sessions' in view || 'shopMetrics' in view).toBe(false);
  });

  it('allows funnel, campaign and benchmark fields for marketing analytics and session/campaign responses for churn modelling', () => {
    for (const f of ['session.channel', 'session.viewed', 'session.carted', 'session.ordered', 'campaign.campaign_id', 'campaign.opened', 'shop_metrics.positive_ratings']) {
      expect(MARKETING.allowedFields).toContain(f);
    }
    for (const f of ['session.channel', 'session.ordered', 'campaign.opened', 'campaign.converted', 'order.amount', 'customer.age_band']) expect(CHURN.allowedFields).toContain(f);
    expect(CHURN.allowedFields).not.toContain('shop_metrics.orders');
  });
});
