/**
 * `funnel`: hand-computed channel funnels and campaign response, and the
 * federated answer (sum of shops' local counts, finalised) against a plain
 * pooled computation for random datasets split over shops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson, type ShopData } from '../../analytics/index.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { funnelQuery as q, type FunnelResult, type FunnelSpec } from '../../analytics/funnel.js';
import { datasetArb, federate, pooledShop, splitShops, type RandomDataset } from '../helpers/random-shop-data.js';

const customer = (customerId: string) => ({ customerId, lifecycleStage: 'active' as const, consentAnalytics: true, consentMarketing: true, city: '', ageBand: '', signupUnixS: 0 });
const s = (customerId: string, channel: string, viewed: boolean, carted: boolean, ordered: boolean) => ({ customerId, channel, viewed, carted, ordered });
const e = (customerId: string, campaignId: string, variant: 'A' | 'B' | 'control', exposed: boolean, opened: boolean, clicked: boolean, converted: boolean) => ({
  customerId,
  campaignId,
  variant,
  exposed,
  opened,
  clicked,
  converted,
});

const HAND: ShopData = {
  shopId: 'hand',
  customers: ['c1', 'c2', 'c3'].map(customer),
  orders: [],
  sessions: [
    s('c1', 'app', true, true, true),
    s('c1', 'app', true, true, true),
    s('c1', 'web', true, false, false),
    s('c2', 'app', true, true, false),
    s('c2', 'app', false, false, false),
    s('c3', 'store', true, true, true),
    s('c3', 'kiosk', true, true, true),
  ],
  campaigns: [
    e('c1', 'C1', 'A', true, true, true, true),
    e('c2', 'C1', 'B', true, true, false, false),
    e('c3', 'C1', 'control', false, false, false, true),
    e('c3', 'C9', 'A', true, true, true, true),
  ],
};

const spec = q.parseSpec({ kind: 'funnel', purpose: 'marketing-analytics', campaigns: ['C1'] });

describe('funnel on hand-made data', () => {
  it('counts sessions, buyers, repeat buyers and campaign response exactly', () => {
    const r = federate(q, spec, [HAND]);
    const app = r.channels.find((c) => c.channel === 'app');
    expect(app).toEqual({
      channel: 'app',
      suppressed: false,
      customers: 2,
      sessions: 4,
      viewedSessions: 3,
      cartedSessions: 3,
      orderedSessions: 2,
      viewRate: 0.75,
      cartRate: 1,
      orderRate: 2 / 3,
      sessionConversion: 0.5,
      buyers: 1,
      repeatBuyers: 1,
      buyerRate: 0.5,
      repeatRate: 1,
    });
    expect(r.channels.find((c) => c.channel === 'web')).toMatchObject({ customers: 1, sessions: 1, viewRate: 1, cartRate: 0, orderRate: null, buyers: 0, repeatRate: null });
    expect(r.channels.find((c) => c.channel === 'mini-program')).toMatchObject({ customers: 0, sessions: 0, viewRate: null, buyerRate: null });
    expect(r.channels.find((c) => c.channel === 'store')).toMatchObject({ customers: 1, orderedSessions: 1, buyers: 1, repeatBuyers: 0, repeatRate: 0 });
    expect(r.channels.map((c) => c.channel)).toEqual(['app', 'web', 'mini-program', 'store']); // kiosk is not listed
    expect(r.campaigns).toEqual([
      { campaignId: 'C1', suppressed: false, customers: 3, exposed: 2, opened: 2, clicked: 1, converted: 1, openRate: 1, clickThroughRate: 0.5, clickToOpenRate: 0.5, conversionRate: 0.5 },
    ]);
  });

  it('gives the same answer when the customers are held by two shops', () => {
    const a: ShopData = { ...HAND, customers: HAND.customers.slice(0, 1), sessions: HAND.sessions!.filter((x) => x.customerId === 'c1'), campaigns: HAND.campaigns!.filter((x) => x.customerId === 'c1') };
    const b: ShopData = { ...HAND, customers: HAND.customers.slice(1), sessions: HAND.sessions!.filter((x) => x.customerId !== 'c1'), campaigns: HAND.campaigns!.filter((x) => x.customerId !== 'c1') };
    expect(federate(q, spec, [a, b])).toEqual(federate(q, spec, [HAND]));
  });

  it('suppresses a channel or campaign with fewer than k customers as a whole', () => {
    const r = federate(q, spec, [HAND], 2);
    expect(r.channels.find((c) => c.channel === 'app')?.suppressed).toBe(false);
    expect(r.channels.find((c) => c.channel === 'web')).toMatchObject({ suppressed: true, customers: null, sessions: null, cartRate: null, repeatRate: null });
    expect(r.campaigns[0]?.suppressed).toBe(false);
    expect(federate(q, spec, [HAND], 4).campaigns[0]).toMatchObject({ suppressed: true, openRate: null });
  });

  it('refuses a customer twice in one campaign and counts beyond their bounds, naming them', () => {
    const twice: ShopData = { ...HAND, campaigns: [...HAND.campaigns!, e('c1', 'C1', 'A', true, false, false, false)] };
    expect(() => q.computeLocal(spec, twice)).toThrow(/data\.campaigns: customer c1 has two rows in campaign C1/);
    const tight = q.parseSpec({ kind: 'funnel', purpose: 'marketing-analytics', bounds: { maxSessions: 3 } });
    expect(() => q.computeLocal(tight, HAND)).toThrow(RangeError);
    expect(() => q.computeLocal(tight, HAND)).toThrow(/field channel\.app\.sessions/);
  });
});

describe('funnel spec', () => {
  it('fills in defaults, lays out cells with customer subjects and round-trips through canonical JSON', () => {
    expect(spec).toEqual({
      kind: 'funnel',
      purpose: 'marketing-analytics',
      channels: ['app', 'web', 'mini-program', 'store'],
      campaigns: ['C1'],
      bounds: { maxCustomers: 10_000_000n, maxSessions: 1_000_000_000n },
    });
    expect(q.parseSpec(JSON.parse(canonicalSpecJson(spec)))).toEqual(spec);
    const cells = q.cells(spec);
    expect(cells.map((c) => [c.name, c.subjectsField])).toEqual([
      ['channel.app', 'channel.app.customers'],
      ['channel.web', 'channel.web.customers'],
      ['channel.mini-program', 'channel.mini-program.customers'],
      ['channel.store', 'channel.store.customers'],
      ['campaign.C1', 'campaign.C1.customers'],
    ]);
    expect(cells.flatMap((c) => c.fields)).toEqual(q.fields(spec).map((f) => f.name));
  });

  it('reads exactly the session and campaign fields it needs', () => {
    expect(q.inputFields(spec)).toEqual(['session.channel', 'session.viewed', 'session.carted', 'session.ordered', 'campaign.campaign_id', 'campaign.exposed', 'campaign.opened', 'campaign.clicked', 'campaign.converted']);
    expect(q.inputFields(q.parseSpec({ kind: 'funnel', purpose: 'p', channels: [], campaigns: ['X'] }))).toEqual(['campaign.campaign_id', 'campaign.exposed', 'campaign.opened', 'campaign.clicked', 'campaign.converted']);
    expect(q.inputFields(q.parseSpec({ kind: 'funnel', purpose: 'p' }))).toEqual(['session.channel', 'session.viewed', 'session.carted', 'session.ordered']);
  });

  it.each([
    [{ channels: ['App'] }, 'channels.0'],
    [{ channels: ['app', 'app'] }, 'channels.1'],
    [{ channels: [], campaigns: [] }, 'channels'],
    [{ campaigns: ['bad id'] }, 'campaigns.0'],
    [{ bounds: { maxSessions: 0 } }, 'bounds.maxSessions'],
    [{ extra: true }, ''],
  ])('refuses %j naming %s', (patch, path) => {
    let err: unknown;
    try {
      q.parseSpec({ kind: 'funnel', purpose: 'marketing-analytics', ...patch });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(QuerySpecError);
    expect((err as QuerySpecError).path).toBe(path);
  });
});

/** The funnel computed straight from the pooled rows, in plain code. */
function pooledFunnel(d: RandomDataset, sp: FunnelSpec): FunnelResult {
  const rows = pooledShop(d);
  const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
  const channels = sp.channels.map((channel) => {
    const ss = (rows.sessions ?? []).filter((x) => x.channel === channel);
    const customers = new Set(ss.map((x) => x.customerId)).size;
    const orderedBy = new Map<string, number>();
    for (const x of ss) if (x.ordered) orderedBy.set(x.customerId, (orderedBy.get(x.customerId) ?? 0) + 1);
    const buyers = orderedBy.size;
    const repeat = [...orderedBy.values()].filter((k) => k >= 2).length;
    const viewed = ss.filter((x) => x.viewed).length;
    const carted = ss.filter((x) => x.carted).length;
    const ordered = ss.filter((x) => x.ordered).length;
    return {
      channel,
      suppressed: false,
      customers,
      sessions: ss.length,
      viewedSessions: viewed,
      cartedSessions: carted,
      orderedSessions: ordered,
      viewRate: ratio(viewed, ss.length),
      cartRate: ratio(carted, viewed),
      orderRate: ratio(ordered, carted),
      sessionConversion: ratio(ordered, ss.length),
      buyers,
      repeatBuyers: repeat,
      buyerRate: ratio(buyers, customers),
      repeatRate: ratio(repeat, buyers),
    };
  });
  const campaigns = sp.campaigns.map((campaignId) => {
    const es = (rows.campaigns ?? []).filter((x) => x.campaignId === campaignId);
    const exposed = es.filter((x) => x.exposed);
    const n = (f: 'opened' | 'clicked' | 'converted') => exposed.filter((x) => x[f]).length;
    return {
      campaignId,
      suppressed: false,
      customers: es.length,
      exposed: exposed.length,
      opened: n('opened'),
      clicked: n('clicked'),
      converted: n('converted'),
      openRate: ratio(n('opened'), exposed.length),
      clickThroughRate: ratio(n('clicked'), exposed.length),
      clickToOpenRate: ratio(n('clicked'), n('opened')),
      conversionRate: ratio(n('converted'), exposed.length),
    };
  });
  return { channels, campaigns };
}

describe('funnel over shops', () => {
  it('equals the pooled plain computation however the customers are split (property)', () => {
    const sp = q.parseSpec({ kind: 'funnel', purpose: 'marketing-analytics', campaigns: ['C1', 'C2'] });
    fc.assert(
      fc.property(datasetArb(4, 0, 40), (d) => {
        expect(federate(q, sp, splitShops(d))).toEqual(pooledFunnel(d, sp));
      }),
      { numRuns: 150 },
    );
  });
});
