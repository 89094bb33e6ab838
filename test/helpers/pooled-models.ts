/**
 * The pooled CSV files `fedmart synth` writes, read in plain code (no
 * client-sdk loader, no analytics/ code) into the row shapes the plain
 * feature and model references take, keeping only customers with
 * consent_analytics=true (exactly those a marketing-analytics round
 * includes). Ids are prefixed by their shop so they are unique when pooled.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CampaignExposure, Customer, Order, Session, ShopData } from '../../analytics/index.js';

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
  if (age >= 65) return '65+';
  const lo = 25 + 10 * Math.floor((age - 25) / 10);
  return `${lo}-${lo + 9}`;
}

const cents = (text: string): bigint => {
  const [whole = '0', frac = ''] = text.split('.');
  return BigInt(whole) * 100n + BigInt(frac.padEnd(2, '0'));
};

/** Consented customers' rows of every shop as one dataset. */
export function readConsentedPool(pooledDir: string): ShopData {
  const id = (r: Record<string, string>): string => `${r.shop_id}/${r.customer_id}`;
  const customers: Customer[] = readTable(join(pooledDir, 'customers.csv'))
    .filter((r) => r.consent_analytics === 'true')
    .map((r) => ({
      customerId: id(r),
      lifecycleStage: r.lifecycle_stage as Customer['lifecycleStage'],
      consentAnalytics: true,
      consentMarketing: r.consent_marketing === 'true',
      city: r.city ?? '',
      ageBand: band(Number(r.age)),
      signupUnixS: Date.parse(r.signup_at ?? '') / 1000,
    }));
  const keep = new Set(customers.map((c) => c.customerId));
  const orders: Order[] = readTable(join(pooledDir, 'orders.csv'))
    .filter((r) => keep.has(id(r)))
    .map((r) => ({ orderId: `${r.shop_id}/${r.order_id}`, customerId: id(r), orderedUnixS: Date.parse(r.ordered_at ?? '') / 1000, amountCents: cents(r.amount ?? ''), returned: r.returned === 'true' }));
  const sessions: Session[] = readTable(join(pooledDir, 'sessions.csv'))
    .filter((r) => keep.has(id(r)))
    .map((r) => ({ customerId: id(r), channel: r.channel ?? '', viewed: r.viewed === 'true', carted: r.carted === 'true', ordered: r.ordered === 'true' }));
  const campaigns: CampaignExposure[] = readTable(join(pooledDir, 'campaigns.csv'))
    .filter((r) => keep.has(id(r)))
    .map((r) => ({
      customerId: id(r),
      campaignId: r.campaign_id ?? '',
      variant: r.variant as CampaignExposure['variant'],
      exposed: r.exposed === 'true',
      opened: r.opened === 'true',
      clicked: r.clicked === 'true',
      converted: r.converted === 'true',
    }));
  return { shopId: 'pooled', customers, orders, sessions, campaigns };
}
