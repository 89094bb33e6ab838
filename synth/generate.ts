/**
 * Synthetic shops: customers whose order histories follow their lifecycle
 * stage (loyal customers buy often and recently, churning ones stopped months
 * ago, new ones signed up lately), lognormal order values at each shop's
 * price level, A/B campaign exposure, funnel sessions per channel and the
 * shop's monthly service figures. Everything derives from the seed.
 *
 * Streams: customers, orders and the A/B draws of the first two campaigns
 * come from the shop's main stream; opens, organic conversions of unexposed
 * customers and the campaign with a hold-out group from `SHOP/campaigns`,
 * sessions from `SHOP/sessions`, service figures from `SHOP/metrics`, the
 * consent ledger from `SHOP/consent`. Adding a stream never moves the data of
 * another, so customers.csv and orders.csv of a seed stay byte-identical.
 *
 * @module
 */
import { DAY_SECONDS, LIFECYCLE_STAGES, type LifecycleStage } from '../analytics/index.js';
import { generateShopConsents, type SynthShopConsents } from './consents.js';
import { fakeAge, fakeCity, fakeName, fakePhone } from './people.js';
import { Prng } from './prng.js';
import { makeProfiles, type CustomersPerShop, type ShopProfile } from './profile.js';
import { generateSessions, type SynthSession } from './sessions.js';
import { generateShopMetrics, type SynthShopMetrics } from './shop-metrics.js';

const DAY = DAY_SECONDS;

/** Default end of the order history: 2026-01-01T00:00:00Z (exclusive). */
export const DEFAULT_HISTORY_END_UNIX_S = Date.UTC(2026, 0, 1) / 1000;

/** Options of {@link generateSynth}. */
export interface SynthOptions {
  /** Number of shops, 1–99 (ids embed it as two digits). */
  readonly shops: number;
  /** Seed; numbers and strings with the same text give the same data. */
  readonly seed: number | string;
  /** Customers per shop: fixed, or a range (default 300–3000). */
  readonly customersPerShop?: CustomersPerShop;
  /** Exclusive end of the one-year history, Unix seconds. */
  readonly historyEndUnixS?: number;
  /** Called after each shop is generated. */
  readonly onProgress?: (event: SynthProgress) => void;
}

/** Progress report, one per shop and phase. */
export interface SynthProgress {
  readonly phase: 'generate' | 'write';
  /** 1-based number of the shop just finished. */
  readonly shop: number;
  readonly shops: number;
  readonly shopId: string;
}

/** A customer row as exported, direct identifiers included. */
export interface SynthCustomer {
  readonly customerId: string;
  readonly name: string;
  readonly phone: string;
  readonly city: string;
  readonly age: number;
  readonly signupUnixS: number;
  readonly lifecycleStage: LifecycleStage;
  readonly consentAnalytics: boolean;
  readonly consentMarketing: boolean;
}

/** An order row as exported. */
export interface SynthOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly orderedUnixS: number;
  readonly amountCents: bigint;
  readonly returned: boolean;
}

/** One customer's exposure to one campaign. */
export interface SynthCampaignExposure {
  readonly campaignId: string;
  readonly customerId: string;
  /** `control` customers are held out: never exposed, they convert only organically. */
  readonly variant: 'A' | 'B' | 'control';
  readonly exposed: boolean;
  /** Opened the message; every click was opened first. */
  readonly opened: boolean;
  readonly clicked: boolean;
  readonly converted: boolean;
}

export interface SynthShop {
  readonly profile: ShopProfile;
  readonly shopId: string;
  readonly customers: readonly SynthCustomer[];
  /** Sorted by time; order ids follow that order. */
  readonly orders: readonly SynthOrder[];
  readonly campaigns: readonly SynthCampaignExposure[];
  /** Funnel sessions, customer by customer. */
  readonly sessions: readonly SynthSession[];
  /** One row per month of the history. */
  readonly shopMetrics: readonly SynthShopMetrics[];
  /** Consent ledger and rights requests (own stream: the data above does not depend on it). */
  readonly consent: SynthShopConsents;
}

export interface SynthDataset {
  readonly seed: number | string;
  readonly historyStartUnixS: number;
  readonly historyEndUnixS: number;
  readonly shops: readonly SynthShop[];
}

/** Stage behaviour: typical gap, spend level and age. */
const STAGE = {
  new: { gapDays: 12, spend: 0.9, age: 29 },
  active: { gapDays: 42, spend: 1.0, age: 34 },
  loyal: { gapDays: 15, spend: 1.15, age: 39 },
  churning: { gapDays: 55, spend: 0.85, age: 36 },
} as const satisfies Record<LifecycleStage, { gapDays: number; spend: number; age: number }>;

/** Platform-wide campaigns, so A/B lift can be pooled across shops. */
const CAMPAIGNS = [
  { id: 'CMP-2025-618', at: Date.UTC(2025, 5, 18) / 1000, ctr: { A: 0.05, B: 0.08 } },
  { id: 'CMP-2025-1111', at: Date.UTC(2025, 10, 11) / 1000, ctr: { A: 0.07, B: 0.09 } },
] as const;

/** A later campaign with a hold-out group (never exposed), for exposed-vs-hold-out lift. */
const HOLDOUT_CAMPAIGN = { id: 'CMP-2025-0909', at: Date.UTC(2025, 8, 9) / 1000, controlShare: 0.2, ctr: { A: 0.06, B: 0.075 } } as const;
/** Open rate of an exposed message that was not clicked, by arm. */
const OPEN_RATE = { A: 0.22, B: 0.27 } as const;
/** Purchase in the attribution window without having seen the campaign. */
const ORGANIC_CONVERSION = 0.012;

const ORDER_VALUE_SIGMA = 0.6;
/** Cap on one order (¥50,000): realistic, and far below query bounds. */
const MAX_ORDER_CENTS = 5_000_000;

function checkOptions(o: SynthOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options: expected an object');
  if (!Number.isSafeInteger(o.shops) || o.shops < 1 || o.shops > 99) throw new RangeError('options.shops: expected an integer from 1 to 99');
  if (typeof o.seed !== 'string' && !(typeof o.seed === 'number' && Number.isFinite(o.seed))) {
    throw new TypeError('options.seed: expected a finite number or a string');
  }
  const c = o.customersPerShop;
  if (typeof c === 'number') {
    if (!Number.isSafeInteger(c) || c < 1 || c > 1_000_000) throw new RangeError('options.customersPerShop: expected an integer from 1 to 1000000');
  } else if (c !== undefined) {
    if (!Number.isSafeInteger(c.min) || !Number.isSafeInteger(c.max) || c.min < 1 || c.max < c.min || c.max > 1_000_000) {
      throw new RangeError('options.customersPerShop: expected { min, max } integers with 1 ≤ min ≤ max ≤ 1000000');
    }
  }
  if (o.historyEndUnixS !== undefined && (!Number.isSafeInteger(o.historyEndUnixS) || o.historyEndUnixS < 400 * DAY)) {
    throw new RangeError('options.historyEndUnixS: expected integer Unix seconds');
  }
}

/**
 * Order times of one customer: a renewal-style sequence with gamma gaps,
 * shaped by stage so the stage label is true of the behaviour.
 */
function orderTimes(rng: Prng, stage: LifecycleStage, p: ShopProfile, t0: number, t1: number, signup: number): number[] {
  const gap = (): number => Math.max(3600, Math.floor(rng.gamma2(STAGE[stage].gapDays * p.cadenceFactor * DAY)));
  const times: number[] = [];
  switch (stage) {
    case 'loyal': {
      let t = t0 + rng.int(0, 40 * DAY);
      while (t < t1 && times.length < 80) {
        times.push(t);
        t += gap();
      }
      while (times.length < 2) times.push(t1 - rng.int(1, 30 * DAY));
      break;
    }
    case 'active': {
      let t = rng.int(t0, t1 - 150 * DAY);
      const once = rng.chance(0.12);
      while (t < t1 && times.length < 40) {
        times.push(t);
        if (once) break;
        t += gap();
      }
      break;
    }
    case 'churning': {
      const cutoff = t1 - 100 * DAY;
      let t = rng.int(t0, t0 + 180 * DAY);
      const max = 1 + Math.min(5, Math.floor(-Math.log(1 - rng.next()) / 0.6));
      while (t < cutoff && times.length < max) {
        times.push(t);
        t += gap();
      }
      break;
    }
    case 'new': {
      const n = rng.weighted([0.3, 0.55, 0.15]);
      let t = signup + rng.int(0, 5 * DAY);
      for (let i = 0; i < n && t < t1; i++) {
        times.push(t);
        t += gap();
      }
      break;
    }
  }
  return times;
}

function signupTime(rng: Prng, stage: LifecycleStage, t0: number, t1: number): number {
  switch (stage) {
    case 'new':
      return rng.int(t1 - 75 * DAY, t1 - DAY);
    case 'loyal':
      return t0 - rng.int(30 * DAY, 1000 * DAY);
    case 'active':
      return t0 - rng.int(0, 500 * DAY);
    case 'churning':
      return t0 - rng.int(0, 700 * DAY);
  }
}

function orderCents(rng: Prng, p: ShopProfile, stage: LifecycleStage): bigint {
  const mean = p.meanOrderYuan * STAGE[stage].spend;
  const mu = Math.log(mean) - (ORDER_VALUE_SIGMA * ORDER_VALUE_SIGMA) / 2;
  const cents = Math.round(Math.exp(mu + ORDER_VALUE_SIGMA * rng.normal()) * 100);
  return BigInt(Math.min(MAX_ORDER_CENTS, Math.max(100, cents)));
}

/** Forked streams of one shop. */
interface ShopStreams {
  readonly main: Prng;
  readonly consent: Prng;
  readonly campaigns: Prng;
  readonly sessions: Prng;
  readonly metrics: Prng;
}

/**
 * Completes the A/B rows of the main stream (opens, organic conversions) and
 * adds the hold-out campaign, all from the `campaigns` stream.
 */
function campaignRows(
  rng: Prng,
  ab: ReadonlyArray<Omit<SynthCampaignExposure, 'opened'>>,
  customers: readonly SynthCustomer[],
): SynthCampaignExposure[] {
  const response = Math.exp(0.25 * rng.normal()); // this shop's audience responds a little more or less
  const out: SynthCampaignExposure[] = ab.map((e) => {
    const arm = e.variant === 'B' ? 'B' : 'A';
    const opened = e.clicked || (e.exposed && rng.chance(OPEN_RATE[arm] * response));
    const converted = e.converted || (!e.exposed && rng.chance(ORGANIC_CONVERSION));
    return { ...e, opened, converted };
  });
  const c = HOLDOUT_CAMPAIGN;
  for (const cu of customers) {
    if (!cu.consentMarketing || cu.signupUnixS > c.at) continue;
    const stageBoost = cu.lifecycleStage === 'loyal' ? 1.5 : cu.lifecycleStage === 'churning' ? 0.6 : 1;
    if (rng.chance(c.controlShare)) {
      const converted = rng.chance(ORGANIC_CONVERSION * stageBoost);
      out.push({ campaignId: c.id, customerId: cu.customerId, variant: 'control', exposed: false, opened: false, clicked: false, converted });
      continue;
    }
    const variant = rng.chance(0.5) ? 'A' : 'B';
    const exposed = rng.chance(0.92);
    const clicked = exposed && rng.chance(c.ctr[variant] * stageBoost * response);
    const opened = clicked || (exposed && rng.chance(OPEN_RATE[variant] * response));
    const converted = clicked ? rng.chance(0.3) : rng.chance(ORGANIC_CONVERSION * stageBoost * (exposed ? 1.4 : 1));
    out.push({ campaignId: c.id, customerId: cu.customerId, variant, exposed, opened, clicked, converted });
  }
  return out;
}

function generateShop(streams: ShopStreams, p: ShopProfile, t0: number, t1: number): SynthShop {
  const rng = streams.main;
  const nn = String(p.index).padStart(2, '0');
  const mix = LIFECYCLE_STAGES.map((s) => p.stageMix[s]);
  const customers: SynthCustomer[] = [];
  const pending: Array<{ customerId: string; t: number; stage: LifecycleStage }> = [];
  for (let i = 1; i <= p.customers; i++) {
    const customerId = `C-${nn}-${String(i).padStart(6, '0')}`;
    const stage = LIFECYCLE_STAGES[rng.weighted(mix)] as LifecycleStage;
    const signupUnixS = signupTime(rng, stage, t0, t1);
    const consentAnalytics = rng.chance(p.consentAnalyticsRate);
    customers.push({
      customerId,
      name: fakeName(rng),
      phone: fakePhone(rng),
      city: fakeCity(rng, p.region),
      age: fakeAge(rng, STAGE[stage].age),
      signupUnixS,
      lifecycleStage: stage,
      consentAnalytics,
      consentMarketing: rng.chance(p.consentMarketingRate),
    });
    for (const t of orderTimes(rng, stage, p, t0, t1, signupUnixS)) pending.push({ customerId, t, stage });
  }
  // Order ids follow time, as a shop system would assign them.
  pending.sort((a, b) => a.t - b.t || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
  const orders = pending.map(
    (o, i): SynthOrder => ({
      orderId: `O-${nn}-${String(i + 1).padStart(7, '0')}`,
      customerId: o.customerId,
      orderedUnixS: o.t,
      amountCents: orderCents(rng, p, o.stage),
      returned: rng.chance(p.returnRate),
    }),
  );
  const ab: Array<Omit<SynthCampaignExposure, 'opened'>> = [];
  for (const c of CAMPAIGNS) {
    for (const cu of customers) {
      if (!cu.consentMarketing || cu.signupUnixS > c.at) continue;
      const variant = rng.chance(0.5) ? 'A' : 'B';
      const exposed = rng.chance(0.9);
      const stageBoost = cu.lifecycleStage === 'loyal' ? 1.5 : cu.lifecycleStage === 'churning' ? 0.6 : 1;
      const clicked = exposed && rng.chance(c.ctr[variant] * stageBoost);
      const converted = exposed && rng.chance(clicked ? 0.3 : 0.01);
      ab.push({ campaignId: c.id, customerId: cu.customerId, variant, exposed, clicked, converted });
    }
  }
  const orderCount = new Map<string, number>();
  for (const o of orders) orderCount.set(o.customerId, (orderCount.get(o.customerId) ?? 0) + 1);
  return {
    profile: p,
    shopId: p.shopId,
    customers,
    orders,
    campaigns: campaignRows(streams.campaigns, ab, customers),
    sessions: generateSessions(streams.sessions, customers.map((c) => ({ customerId: c.customerId, orders: orderCount.get(c.customerId) ?? 0 }))),
    shopMetrics: generateShopMetrics(streams.metrics, orders, t0, t1),
    consent: generateShopConsents(streams.consent, p, customers, t1),
  };
}

/**
 * Generates `options.shops` shops deterministically from `options.seed`.
 * Each shop draws from its own forked stream.
 */
export function generateSynth(options: SynthOptions): SynthDataset {
  checkOptions(options);
  const root = new Prng(options.seed);
  const t1 = options.historyEndUnixS ?? DEFAULT_HISTORY_END_UNIX_S;
  const t0 = t1 - 365 * DAY;
  const profiles = makeProfiles(root.fork('profiles'), options.shops, options.customersPerShop ?? { min: 300, max: 3000 });
  const shops = profiles.map((p) => {
    const streams: ShopStreams = {
      main: root.fork(p.shopId),
      consent: root.fork(`${p.shopId}/consent`),
      campaigns: root.fork(`${p.shopId}/campaigns`),
      sessions: root.fork(`${p.shopId}/sessions`),
      metrics: root.fork(`${p.shopId}/metrics`),
    };
    const shop = generateShop(streams, p, t0, t1);
    options.onProgress?.({ phase: 'generate', shop: p.index, shops: options.shops, shopId: p.shopId });
    return shop;
  });
  return { seed: options.seed, historyStartUnixS: t0, historyEndUnixS: t1, shops };
}
