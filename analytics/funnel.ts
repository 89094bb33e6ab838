/**
 * `funnel`: the purchase funnel per channel (浏览 view → 加购 cart → 下单
 * order → 复购 repeat) and campaign response (open rate, click-through rate
 * 点击率, conversion rate 转化率) per campaign, from counts summed over shops.
 *
 * Per channel (one released cell, subjects = customers with a session in
 * it): sessions, sessions that viewed / carted / ordered, and customers,
 * buyers (≥ 1 ordering session in the channel) and repeat buyers (≥ 2). Each
 * flag is counted as the shop exported it; step rates are ratios of the
 * counts (cart rate = carted / viewed sessions, order rate = ordered / carted).
 * Sessions in channels the spec does not list are not counted.
 *
 * Per campaign (one cell, subjects = customers assigned to it, at most one
 * row each): exposed rows, and exposed rows that were opened, clicked and
 * converted. Open rate = opened / exposed, click-through rate = clicked /
 * exposed, click-to-open = clicked / opened, conversion = converted / exposed.
 * Rows of campaigns the spec does not list are not counted.
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { atMost, firstBroken, totalOf, type RelationCheck } from './input-relations.js';
import { purposeSchema } from './model-spec.js';
import { assertWithinBounds, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import { ratioToNumber } from './rational.js';
import type { ShopData } from './shop-data.js';
import { boundSchema, parseWith } from './spec-parse.js';
import { asJson, boundMember, purposeMember, type KindGuideBody } from './kind-guide-types.js';

export const FUNNEL_KIND = 'funnel';

/** Channels counted when the spec names none. */
export const DEFAULT_FUNNEL_CHANNELS = ['app', 'web', 'mini-program', 'store'] as const;

const CHANNEL_STATS = ['customers', 'sessions', 'viewed', 'carted', 'ordered', 'buyers', 'repeat_buyers'] as const;
const CAMPAIGN_STATS = ['customers', 'exposed', 'opened', 'clicked', 'converted'] as const;
type ChannelStat = (typeof CHANNEL_STATS)[number];
type CampaignStat = (typeof CAMPAIGN_STATS)[number];

/** Per-shop bounds. */
export interface FunnelBounds {
  /** Customers of one shop (bounds customer counts and campaign rows). */
  readonly maxCustomers: bigint;
  /** Sessions of one shop in one channel. */
  readonly maxSessions: bigint;
}

export const DEFAULT_FUNNEL_BOUNDS: FunnelBounds = { maxCustomers: 10_000_000n, maxSessions: 1_000_000_000n };

/** Parsed, normalised `funnel` spec. */
export interface FunnelSpec {
  readonly kind: typeof FUNNEL_KIND;
  readonly purpose: string;
  readonly channels: readonly string[];
  readonly campaigns: readonly string[];
  readonly bounds: FunnelBounds;
}

/** One channel's funnel; counts and rates are null when the cell is suppressed. */
export interface ChannelFunnel {
  readonly channel: string;
  readonly suppressed: boolean;
  readonly customers: number | null;
  readonly sessions: number | null;
  readonly viewedSessions: number | null;
  readonly cartedSessions: number | null;
  readonly orderedSessions: number | null;
  /** viewed / sessions. */
  readonly viewRate: number | null;
  /** carted / viewed. */
  readonly cartRate: number | null;
  /** ordered / carted. */
  readonly orderRate: number | null;
  /** ordered / sessions. */
  readonly sessionConversion: number | null;
  readonly buyers: number | null;
  readonly repeatBuyers: number | null;
  /** buyers / customers. */
  readonly buyerRate: number | null;
  /** repeat buyers / buyers (复购率 within the channel). */
  readonly repeatRate: number | null;
}

/** One campaign's response. */
export interface CampaignResponse {
  readonly campaignId: string;
  readonly suppressed: boolean;
  readonly customers: number | null;
  readonly exposed: number | null;
  readonly opened: number | null;
  readonly clicked: number | null;
  readonly converted: number | null;
  readonly openRate: number | null;
  readonly clickThroughRate: number | null;
  readonly clickToOpenRate: number | null;
  readonly conversionRate: number | null;
}

export interface FunnelResult {
  readonly channels: readonly ChannelFunnel[];
  readonly campaigns: readonly CampaignResponse[];
}

const distinct = <T extends z.ZodType<string>>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((v, i) => {
        if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [i], message: `'${v}' is listed twice` });
        seen.add(v);
      });
    });

/** Channel names as schemas declare them. */
export const channelNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a channel name like mini-program');
/** Campaign ids as exported. */
export const campaignIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a campaign id like CMP-2025-618');

const specSchema = z.strictObject({
  kind: z.literal(FUNNEL_KIND),
  purpose: purposeSchema,
  channels: distinct(channelNameSchema, 16).optional(),
  campaigns: distinct(campaignIdSchema, 64).optional(),
  bounds: z.strictObject({ maxCustomers: boundSchema.optional(), maxSessions: boundSchema.optional() }).optional(),
});

/** Validates untrusted spec JSON; throws QuerySpecError naming the path. */
export function parseFunnelSpec(json: unknown): FunnelSpec {
  const raw = parseWith(specSchema, json);
  const channels = raw.channels ?? [...DEFAULT_FUNNEL_CHANNELS];
  const campaigns = raw.campaigns ?? [];
  if (channels.length === 0 && campaigns.length === 0) throw new QuerySpecError('channels', 'name at least one channel or campaign');
  return {
    kind: FUNNEL_KIND,
    purpose: raw.purpose,
    channels,
    campaigns,
    bounds: {
      maxCustomers: raw.bounds?.maxCustomers ?? DEFAULT_FUNNEL_BOUNDS.maxCustomers,
      maxSessions: raw.bounds?.maxSessions ?? DEFAULT_FUNNEL_BOUNDS.maxSessions,
    },
  };
}

const channelField = (channel: string, stat: ChannelStat): string => `channel.${channel}.${stat}`;
const campaignField = (campaign: string, stat: CampaignStat): string => `campaign.${campaign}.${stat}`;

/** Channels first (seven fields each), then campaigns (five each). */
export function funnelFields(spec: FunnelSpec): FieldSpec[] {
  const { maxCustomers, maxSessions } = spec.bounds;
  const channelMax = (s: ChannelStat): bigint => (s === 'customers' || s === 'buyers' || s === 'repeat_buyers' ? maxCustomers : maxSessions);
  return [
    ...spec.channels.flatMap((c) => CHANNEL_STATS.map((s) => ({ name: channelField(c, s), max: channelMax(s) }))),
    ...spec.campaigns.flatMap((c) => CAMPAIGN_STATS.map((s) => ({ name: campaignField(c, s), max: maxCustomers }))),
  ];
}

/** One cell per channel and per campaign. */
export function funnelCells(spec: FunnelSpec): CellSpec[] {
  return [
    ...spec.channels.map((c) => ({ name: `channel.${c}`, subjectsField: channelField(c, 'customers'), fields: CHANNEL_STATS.map((s) => channelField(c, s)) })),
    ...spec.campaigns.map((c) => ({ name: `campaign.${c}`, subjectsField: campaignField(c, 'customers'), fields: CAMPAIGN_STATS.map((s) => campaignField(c, s)) })),
  ];
}

/**
 * Shop side. Throws RangeError naming `data.campaigns` when a customer has
 * two rows in one campaign, and naming the field when a count exceeds its
 * bound.
 */
export function computeFunnelLocal(spec: FunnelSpec, data: ShopData): bigint[] {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.customers as unknown)) throw new TypeError('data: expected ShopData');
  const channelIndex = new Map(spec.channels.map((c, i) => [c, i]));
  const perChannel = spec.channels.map(() => ({ sessions: 0n, viewed: 0n, carted: 0n, ordered: 0n, customers: new Set<string>(), orders: new Map<string, number>() }));
  for (const s of spec.channels.length > 0 ? (data.sessions ?? []) : []) {
    const i = channelIndex.get(s.channel);
    if (i === undefined) continue;
    const t = perChannel[i] as (typeof perChannel)[number];
    t.sessions++;
    t.customers.add(s.customerId);
    if (s.viewed) t.viewed++;
    if (s.carted) t.carted++;
    if (s.ordered) {
      t.ordered++;
      t.orders.set(s.customerId, (t.orders.get(s.customerId) ?? 0) + 1);
    }
  }
  const campaignIndex = new Map(spec.campaigns.map((c, i) => [c, i]));
  const perCampaign = spec.campaigns.map(() => ({ customers: new Set<string>(), exposed: 0n, opened: 0n, clicked: 0n, converted: 0n }));
  for (const e of spec.campaigns.length > 0 ? (data.campaigns ?? []) : []) {
    const i = campaignIndex.get(e.campaignId);
    if (i === undefined) continue;
    const t = perCampaign[i] as (typeof perCampaign)[number];
    if (t.customers.has(e.customerId)) throw new RangeError(`data.campaigns: customer ${e.customerId} has two rows in campaign ${e.campaignId}`);
    t.customers.add(e.customerId);
    if (!e.exposed) continue;
    t.exposed++;
    if (e.opened) t.opened++;
    if (e.clicked) t.clicked++;
    if (e.converted) t.converted++;
  }
  const values: bigint[] = [];
  for (const t of perChannel) {
    let buyers = 0n;
    let repeat = 0n;
    for (const k of t.orders.values()) {
      buyers++;
      if (k >= 2) repeat++;
    }
    values.push(BigInt(t.customers.size), t.sessions, t.viewed, t.carted, t.ordered, buyers, repeat);
  }
  for (const t of perCampaign) values.push(BigInt(t.customers.size), t.exposed, t.opened, t.clicked, t.converted);
  assertWithinBounds(funnelFields(spec), values);
  return values;
}

const rate = (num: bigint, den: bigint): number | null => (den > 0n ? ratioToNumber(num, den) : null);

function cellTotals(release: ReleasedTotals, cell: string, fields: readonly string[]): Record<string, bigint> | null {
  const c = release.cells[cell];
  if (c === undefined) throw new TypeError(`release.cells.${cell}: missing`);
  if (c.suppressed) return null;
  const out: Record<string, bigint> = {};
  for (const f of fields) {
    const v = c.totals?.[f];
    if (typeof v !== 'bigint' || v < 0n) throw new TypeError(`release.cells.${cell}.totals.${f}: missing or negative`);
    out[f] = v;
  }
  return out;
}

/** Coordinator side: rates from the released counts; suppressed cells give nulls. */
export function finaliseFunnel(spec: FunnelSpec, release: ReleasedTotals): FunnelResult {
  if (typeof release !== 'object' || release === null || typeof release.cells !== 'object' || release.cells === null) {
    throw new TypeError('release: expected { cells }');
  }
  const channels = spec.channels.map((channel): ChannelFunnel => {
    const t = cellTotals(release, `channel.${channel}`, CHANNEL_STATS.map((s) => channelField(channel, s)));
    const g = (s: ChannelStat): bigint => (t as Record<string, bigint>)[channelField(channel, s)] as bigint;
    if (t === null) {
      return { channel, suppressed: true, customers: null, sessions: null, viewedSessions: null, cartedSessions: null, orderedSessions: null, viewRate: null, cartRate: null, orderRate: null, sessionConversion: null, buyers: null, repeatBuyers: null, buyerRate: null, repeatRate: null };
    }
    return {
      channel,
      suppressed: false,
      customers: Number(g('customers')),
      sessions: Number(g('sessions')),
      viewedSessions: Number(g('viewed')),
      cartedSessions: Number(g('carted')),
      orderedSessions: Number(g('ordered')),
      viewRate: rate(g('viewed'), g('sessions')),
      cartRate: rate(g('carted'), g('viewed')),
      orderRate: rate(g('ordered'), g('carted')),
      sessionConversion: rate(g('ordered'), g('sessions')),
      buyers: Number(g('buyers')),
      repeatBuyers: Number(g('repeat_buyers')),
      buyerRate: rate(g('buyers'), g('customers')),
      repeatRate: rate(g('repeat_buyers'), g('buyers')),
    };
  });
  const campaigns = spec.campaigns.map((campaignId): CampaignResponse => {
    const t = cellTotals(release, `campaign.${campaignId}`, CAMPAIGN_STATS.map((s) => campaignField(campaignId, s)));
    const g = (s: CampaignStat): bigint => (t as Record<string, bigint>)[campaignField(campaignId, s)] as bigint;
    if (t === null) {
      return { campaignId, suppressed: true, customers: null, exposed: null, opened: null, clicked: null, converted: null, openRate: null, clickThroughRate: null, clickToOpenRate: null, conversionRate: null };
    }
    return {
      campaignId,
      suppressed: false,
      customers: Number(g('customers')),
      exposed: Number(g('exposed')),
      opened: Number(g('opened')),
      clicked: Number(g('clicked')),
      converted: Number(g('converted')),
      openRate: rate(g('opened'), g('exposed')),
      clickThroughRate: rate(g('clicked'), g('exposed')),
      clickToOpenRate: rate(g('clicked'), g('opened')),
      conversionRate: rate(g('converted'), g('exposed')),
    };
  });
  return { channels, campaigns };
}

/**
 * Relations every honest shop's funnel satisfies (input-relations.ts): a
 * channel's customers, views, carts and orders come from its sessions, its
 * buyers are customers with an ordering session, and a repeat buyer has two
 * of them; a campaign's exposed customers are among its customers, and only
 * exposed customers open, click or convert.
 */
export function funnelInputViolation(spec: FunnelSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  const checks: RelationCheck[] = [];
  for (const c of spec.channels) {
    const t = (stat: ChannelStat): bigint => totalOf(totals, channelField(c, stat));
    const name = (stat: ChannelStat): string => channelField(c, stat);
    for (const stat of ['customers', 'viewed', 'carted', 'ordered'] as const) checks.push(atMost(name(stat), t(stat), name('sessions'), t('sessions')));
    checks.push(
      atMost(name('buyers'), t('buyers'), name('customers'), t('customers')),
      atMost(`${name('buyers')} + ${name('repeat_buyers')}`, t('buyers') + t('repeat_buyers'), name('ordered'), t('ordered')),
      atMost(name('repeat_buyers'), t('repeat_buyers'), name('buyers'), t('buyers')),
    );
  }
  for (const c of spec.campaigns) {
    const t = (stat: CampaignStat): bigint => totalOf(totals, campaignField(c, stat));
    const name = (stat: CampaignStat): string => campaignField(c, stat);
    checks.push(atMost(name('exposed'), t('exposed'), name('customers'), t('customers')));
    for (const stat of ['opened', 'clicked', 'converted'] as const) checks.push(atMost(name(stat), t(stat), name('exposed'), t('exposed')));
  }
  return firstBroken(checks);
}

const FUNNEL_GUIDE: KindGuideBody = {
  summary: 'Purchase funnel per channel (view, cart, order, repeat) and response per campaign.',
  description:
    'Per channel (one cell, subjects = customers with a session there): sessions, sessions that viewed, carted and ordered, customers, ' +
    'buyers and repeat buyers, with the step rates. Per campaign (one cell, subjects = customers assigned to it): exposed, opened, ' +
    'clicked and converted, with open rate, click-through rate and conversion rate. Channels and campaigns not listed are not counted.',
  members: [
    purposeMember('marketing-analytics'),
    { name: 'channels', type: 'string[]', required: false, default: asJson(DEFAULT_FUNNEL_CHANNELS), description: 'Channel names as shops declare them (lower case, digits, -), distinct, at most 16.' },
    { name: 'campaigns', type: 'string[]', required: false, default: '[] (none)', description: 'Campaign ids as exported (e.g. CMP-2025-618), distinct, at most 64. Name at least one channel or campaign.' },
    boundMember('maxCustomers', DEFAULT_FUNNEL_BOUNDS.maxCustomers, 'customers (and campaign rows)'),
    boundMember('maxSessions', DEFAULT_FUNNEL_BOUNDS.maxSessions, 'sessions in one channel'),
  ],
  sections: [],
  example: { purpose: 'marketing-analytics', channels: ['app', 'web', 'mini-program', 'store'], campaigns: ['CMP-2025-618', 'CMP-2025-1111'] },
};

/** The `funnel` query definition registered under its kind. */
export const funnelQuery: QueryDefinition<FunnelSpec, FunnelResult, typeof FUNNEL_KIND> = {
  kind: FUNNEL_KIND,
  guide: FUNNEL_GUIDE,
  parseSpec: parseFunnelSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => [
    ...(spec.channels.length > 0 ? ['session.channel', 'session.viewed', 'session.carted', 'session.ordered'] : []),
    ...(spec.campaigns.length > 0 ? ['campaign.campaign_id', 'campaign.exposed', 'campaign.opened', 'campaign.clicked', 'campaign.converted'] : []),
  ],
  fields: funnelFields,
  cells: funnelCells,
  computeLocal: computeFunnelLocal,
  finalise: finaliseFunnel,
  inputViolation: funnelInputViolation,
};
