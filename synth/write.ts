/**
 * Writes a synthetic dataset to disk, the way `fedmart synth` lays it out:
 *
 * ```
 * OUT/shop-01/{customers,orders,campaigns,sessions,shop-metrics}.csv, schema.json
 * OUT/shop-01/consents.jsonl, rights-requests.jsonl            consent ledger (see below)
 * OUT/shop-01/fields.json, purposes.json                      classification, purposes + PIAs
 * OUT/shop-01/.fedmart-state/pseudonym.key                    the shop's pseudonym key (0600, folder 0700), in the
 *                                                              node's default state folder, or STATE/shop-01/ with `stateDir`
 * OUT/pooled/{customers,orders,campaigns,sessions,shop-metrics}.csv, schema.json
 *                                                              all shops, with shop_id
 * OUT/pooled/{consents,rights-requests}.jsonl                  all shops, with shopId
 * OUT/manifest.json                                            { seed, shops: [...] }
 * ```
 *
 * `consents.jsonl` holds one JSON consent record per line with the shop's
 * customer id in an extra leading `customerId` field (the loader strips it:
 * records themselves carry only pseudonyms); `rights-requests.jsonl` one
 * rights request per line. Customers without a record have no line.
 *
 * The pooled files exist only so demos and tests can compute the plaintext
 * answer a federated release must equal.
 *
 * @module
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '../crypto/index.js';
import { PSEUDONYM_KEY_FILE, defaultStateDir } from '../client-sdk/pseudonym-key.js';
import { OPTIONAL_TABLES, standardShopSchema } from '../client-sdk/schema.js';
import { DEFAULT_FIELD_CLASSIFICATION, DEFAULT_PURPOSE_REGISTRY } from '../compliance/consent.js';
import { csvLine, formatBool, formatCents, isoSeconds } from './csv-format.js';
import { generateSynth, type SynthCampaignExposure, type SynthCustomer, type SynthOptions, type SynthOrder } from './generate.js';
import type { SynthSession } from './sessions.js';
import type { SynthShopMetrics } from './shop-metrics.js';

/** `OUT/manifest.json`. */
export interface SynthManifest {
  readonly seed: number | string;
  readonly shops: ReadonlyArray<{
    readonly shopId: string;
    /** Folder relative to the output folder. */
    readonly dir: string;
    readonly customers: number;
    readonly orders: number;
  }>;
}

const CUSTOMER_COLUMNS = ['customer_id', 'name', 'phone', 'city', 'age', 'signup_at', 'lifecycle_stage', 'consent_analytics', 'consent_marketing'];
const ORDER_COLUMNS = ['order_id', 'customer_id', 'ordered_at', 'amount', 'returned'];
const CAMPAIGN_COLUMNS = ['campaign_id', 'customer_id', 'variant', 'exposed', 'opened', 'clicked', 'converted'];
const SESSION_COLUMNS = ['customer_id', 'channel', 'viewed', 'carted', 'ordered'];
const SHOP_METRICS_COLUMNS = ['period', 'orders', 'ratings', 'positive_ratings', 'returns', 'complaints', 'inquiries', 'response_time_sum_s'];

function campaignFields(e: SynthCampaignExposure): string[] {
  return [e.campaignId, e.customerId, e.variant, formatBool(e.exposed), formatBool(e.opened), formatBool(e.clicked), formatBool(e.converted)];
}

function sessionFields(s: SynthSession): string[] {
  return [s.customerId, s.channel, formatBool(s.viewed), formatBool(s.carted), formatBool(s.ordered)];
}

function shopMetricsFields(m: SynthShopMetrics): string[] {
  return [m.period, String(m.orders), String(m.ratings), String(m.positiveRatings), String(m.returns), String(m.complaints), String(m.inquiries), String(m.responseTimeSumS)];
}

/** Header line and rows of one table, with a copy of every row (shop id first) for the pooled file. */
function table<T>(columns: readonly string[], rows: readonly T[], fields: (row: T) => string[], shopId: string, pooled: string[]): string {
  const out = [csvLine(columns)];
  for (const r of rows) {
    const f = fields(r);
    out.push(csvLine(f));
    pooled.push(csvLine([shopId, ...f]));
  }
  return out.join('');
}

function customerFields(c: SynthCustomer): string[] {
  return [
    c.customerId,
    c.name,
    c.phone,
    c.city,
    String(c.age),
    isoSeconds(c.signupUnixS),
    c.lifecycleStage,
    formatBool(c.consentAnalytics),
    formatBool(c.consentMarketing),
  ];
}

function orderFields(o: SynthOrder): string[] {
  return [o.orderId, o.customerId, isoSeconds(o.orderedUnixS), formatCents(o.amountCents), formatBool(o.returned)];
}

/** Options of {@link writeSynth}. */
export interface WriteSynthOptions extends SynthOptions {
  /**
   * Folder of the merchant nodes' state folders: each shop's pseudonym key is
   * written to `STATE/<shopId>/pseudonym.key` (what `fedmart merchant --state
   * STATE/<shopId>` reads). Default: each shop's default state folder,
   * `OUT/<shopId>/.fedmart-state`.
   */
  readonly stateDir?: string | undefined;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
const jsonLine = (value: unknown): string => `${JSON.stringify(value)}\n`;

/**
 * Generates and writes the dataset; returns the manifest it wrote. Existing
 * files of the same names are overwritten; nothing else in `outDir` is
 * touched.
 */
export async function writeSynth(outDir: string, options: WriteSynthOptions): Promise<SynthManifest> {
  if (typeof outDir !== 'string' || outDir === '') throw new TypeError('outDir: expected a folder path');
  if (options.stateDir !== undefined && (typeof options.stateDir !== 'string' || options.stateDir === '')) throw new TypeError('options.stateDir: expected a folder path');
  const data = generateSynth(options);
  const pooledDir = join(outDir, 'pooled');
  await mkdir(pooledDir, { recursive: true });
  const pooledCustomers: string[] = [csvLine(['shop_id', ...CUSTOMER_COLUMNS])];
  const pooledOrders: string[] = [csvLine(['shop_id', ...ORDER_COLUMNS])];
  const pooledCampaigns: string[] = [csvLine(['shop_id', ...CAMPAIGN_COLUMNS])];
  const pooledSessions: string[] = [csvLine(['shop_id', ...SESSION_COLUMNS])];
  const pooledMetrics: string[] = [csvLine(['shop_id', ...SHOP_METRICS_COLUMNS])];
  const pooledConsents: string[] = [];
  const pooledRights: string[] = [];
  const shops: Array<SynthManifest['shops'][number]> = [];
  for (const shop of data.shops) {
    const dir = join(outDir, shop.shopId);
    await mkdir(dir, { recursive: true });
    const customers = [csvLine(CUSTOMER_COLUMNS)];
    for (const c of shop.customers) {
      const f = customerFields(c);
      customers.push(csvLine(f));
      pooledCustomers.push(csvLine([shop.shopId, ...f]));
    }
    const orders = [csvLine(ORDER_COLUMNS)];
    for (const o of shop.orders) {
      const f = orderFields(o);
      orders.push(csvLine(f));
      pooledOrders.push(csvLine([shop.shopId, ...f]));
    }
    const campaigns = table(CAMPAIGN_COLUMNS, shop.campaigns, campaignFields, shop.shopId, pooledCampaigns);
    const sessions = table(SESSION_COLUMNS, shop.sessions, sessionFields, shop.shopId, pooledSessions);
    const metrics = table(SHOP_METRICS_COLUMNS, shop.shopMetrics, shopMetricsFields, shop.shopId, pooledMetrics);
    const consents: string[] = [];
    for (const { customerId, record } of shop.consent.consents) {
      consents.push(jsonLine({ customerId, ...record }));
      pooledConsents.push(jsonLine({ shopId: shop.shopId, customerId, ...record }));
    }
    const rights: string[] = [];
    for (const r of shop.consent.rightsRequests) {
      rights.push(jsonLine(r));
      pooledRights.push(jsonLine({ shopId: shop.shopId, ...r }));
    }
    const stateDir = options.stateDir === undefined ? defaultStateDir(dir) : join(options.stateDir, shop.shopId);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await chmod(stateDir, 0o700);
    const keyFile = join(stateDir, PSEUDONYM_KEY_FILE);
    await Promise.all([
      writeFile(join(dir, 'customers.csv'), customers.join('')),
      writeFile(join(dir, 'orders.csv'), orders.join('')),
      writeFile(join(dir, 'campaigns.csv'), campaigns),
      writeFile(join(dir, 'sessions.csv'), sessions),
      writeFile(join(dir, 'shop-metrics.csv'), metrics),
      writeFile(join(dir, 'schema.json'), json(standardShopSchema({ include: OPTIONAL_TABLES }))),
      writeFile(join(dir, 'consents.jsonl'), consents.join('')),
      writeFile(join(dir, 'rights-requests.jsonl'), rights.join('')),
      writeFile(join(dir, 'fields.json'), json(DEFAULT_FIELD_CLASSIFICATION)),
      writeFile(join(dir, 'purposes.json'), json(DEFAULT_PURPOSE_REGISTRY)),
      writeFile(keyFile, `${toHex(shop.consent.pseudonymKey)}\n`, { mode: 0o600 }).then(() => chmod(keyFile, 0o600)),
    ]);
    shops.push({ shopId: shop.shopId, dir: shop.shopId, customers: shop.customers.length, orders: shop.orders.length });
    options.onProgress?.({ phase: 'write', shop: shop.profile.index, shops: data.shops.length, shopId: shop.shopId });
  }
  await Promise.all([
    writeFile(join(pooledDir, 'customers.csv'), pooledCustomers.join('')),
    writeFile(join(pooledDir, 'orders.csv'), pooledOrders.join('')),
    writeFile(join(pooledDir, 'campaigns.csv'), pooledCampaigns.join('')),
    writeFile(join(pooledDir, 'sessions.csv'), pooledSessions.join('')),
    writeFile(join(pooledDir, 'shop-metrics.csv'), pooledMetrics.join('')),
    writeFile(join(pooledDir, 'schema.json'), json(standardShopSchema({ pooled: true, include: OPTIONAL_TABLES }))),
    writeFile(join(pooledDir, 'consents.jsonl'), pooledConsents.join('')),
    writeFile(join(pooledDir, 'rights-requests.jsonl'), pooledRights.join('')),
  ]);
  const manifest: SynthManifest = { seed: data.seed, shops };
  await writeFile(join(outDir, 'manifest.json'), json(manifest));
  return manifest;
}
