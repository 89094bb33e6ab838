/**
 * Synthetic funnel sessions (浏览 → 加购 → 下单) per channel. Every order in
 * `orders.csv` is the last session of a run of visits in one channel; the
 * visits before it drop off at the view, cart or order step with rates that
 * depend on the channel (a store visit rarely leaves without buying, a web
 * visit often bounces) and vary from shop to shop. Customers without orders
 * only browse. Drawn from the shop's own `sessions` stream, so customers,
 * orders and campaigns of a seed do not change.
 *
 * @module
 */
import type { Prng } from './prng.js';

/** Channels in the order sessions.csv and queries list them. */
export const SYNTH_CHANNELS = ['app', 'web', 'mini-program', 'store'] as const;
export type SynthChannel = (typeof SYNTH_CHANNELS)[number];

/** A session row as exported. */
export interface SynthSession {
  readonly customerId: string;
  readonly channel: SynthChannel;
  readonly viewed: boolean;
  readonly carted: boolean;
  readonly ordered: boolean;
}

/** Typical share of visits and step rates (view | visit, cart | view, order | cart). */
const CHANNEL = {
  app: { share: 0.45, view: 0.9, cart: 0.45, order: 0.6 },
  web: { share: 0.2, view: 0.78, cart: 0.3, order: 0.5 },
  'mini-program': { share: 0.25, view: 0.85, cart: 0.4, order: 0.55 },
  store: { share: 0.1, view: 0.97, cart: 0.7, order: 0.85 },
} as const satisfies Record<SynthChannel, { share: number; view: number; cart: number; order: number }>;

/** Longest run of visits before an order (keeps file sizes bounded). */
const MAX_VISITS = 25;

interface ChannelRates {
  readonly share: number;
  readonly view: number;
  readonly cart: number;
  readonly order: number;
}

/** One shop's channel mix and step rates: the platform typical values, perturbed. */
function shopRates(rng: Prng): Record<SynthChannel, ChannelRates> {
  const wobble = (p: number, sd: number): number => Math.min(0.98, Math.max(0.05, p * Math.exp(sd * rng.normal())));
  const out = {} as Record<SynthChannel, ChannelRates>;
  for (const ch of SYNTH_CHANNELS) {
    const c = CHANNEL[ch];
    out[ch] = { share: c.share * Math.exp(0.5 * rng.normal()), view: wobble(c.view, 0.05), cart: wobble(c.cart, 0.2), order: wobble(c.order, 0.15) };
  }
  return out;
}

/**
 * Sessions of a shop's customers. `orderCounts` gives each customer's number
 * of orders (in customer order); each order ends one run of visits.
 */
export function generateSessions(rng: Prng, customers: ReadonlyArray<{ readonly customerId: string; readonly orders: number }>): SynthSession[] {
  const rates = shopRates(rng);
  const shares = SYNTH_CHANNELS.map((ch) => rates[ch].share);
  const out: SynthSession[] = [];
  const visit = (customerId: string, channel: SynthChannel, mayOrder: boolean): boolean => {
    const r = rates[channel];
    const viewed = rng.chance(r.view);
    const carted = viewed && rng.chance(r.cart);
    const ordered = mayOrder && carted && rng.chance(r.order);
    out.push({ customerId, channel, viewed, carted, ordered });
    return ordered;
  };
  for (const c of customers) {
    const home = SYNTH_CHANNELS[rng.weighted(shares)] as SynthChannel;
    const channel = (): SynthChannel => (rng.chance(0.7) ? home : (SYNTH_CHANNELS[rng.weighted(shares)] as SynthChannel));
    for (let i = 0; i < c.orders; i++) {
      const ch = channel();
      let done = false;
      for (let v = 1; v < MAX_VISITS && !done; v++) done = visit(c.customerId, ch, true);
      if (!done) out.push({ customerId: c.customerId, channel: ch, viewed: true, carted: true, ordered: true });
    }
    const browsing = c.orders === 0 ? 1 + Math.floor(-Math.log(1 - rng.next()) / 0.7) : rng.chance(0.3) ? 1 : 0;
    for (let i = 0; i < browsing; i++) visit(c.customerId, channel(), false);
  }
  return out;
}
