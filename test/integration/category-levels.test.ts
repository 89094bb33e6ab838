/**
 * category-levels as real encrypted rounds: five shops declare a customer
 * column `brand` as categorical without levels. Some levels hold at least
 * k = 10 customers pooled but fewer than k at every single shop (they must
 * be revealed, with their exact pooled counts); one level is held by three
 * customers (it must appear nowhere: not in the result, not in the signed
 * release, not in anything the coordinator stores). The attack: with a salt
 * chosen so that the three-customer level shares its bucket with a large
 * level, the key holder withholds that bucket (LEVELS_COLLIDE) instead of
 * releasing a sum a marketer could subtract the large level from. Then a
 * second column's discovered levels are pasted into a linear-model spec and
 * the fit equals the pooled group means exactly. All parts real: merchant
 * nodes, SEAL, gRPC on 127.0.0.1, PGlite, the key holder at k = 10.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinearModelResult } from '../../analytics/index.js';
import { levelBucket, type CategoryLevelsResult } from '../../analytics/category-levels.js';
import { DEFAULT_PURPOSE_REGISTRY, type PurposeRegistry } from '../../compliance/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster, type QueryState } from '../../harness/cluster.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';
import { SlotLayout } from '../../crypto/index.js';

const AS_OF = '2026-01-01T00:00:00Z';
const PURPOSE = 'marketing-analytics';
const BUCKETS = 256;
const RARE = 'Rare-Orchid-7';
const BIG = 'common-x';
/** Pooled: spread-a 15 (3 a shop), spread-b 10 (2 a shop), rare 3, tiny-1 4, tiny-2 4, the rest common-x / common-y. */
const BRAND_LEVELS = ['spread-a', 'spread-b', RARE, 'tiny-1', 'tiny-2', BIG, 'common-y'];
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];

/** The brand of the i-th consented customer of shop s (file order). */
function brandOf(s: number, i: number): string {
  if (i < 3) return 'spread-a';
  if (i < 5) return 'spread-b';
  if (i === 5 && s < 3) return RARE;
  if (i === 6 && s < 4) return 'tiny-1';
  if (i === 7 && s > 0) return 'tiny-2';
  return i % 2 === 0 ? BIG : 'common-y';
}

/** Tiers: platinum for two customers a shop (10 pooled, fewer than k at each), the others by turn. */
function tierOf(i: number): string {
  if (i >= 8 && i < 10) return 'platinum';
  return ['bronze', 'silver', 'gold'][i % 3] as string;
}

function registry(): PurposeRegistry {
  return {
    ...DEFAULT_PURPOSE_REGISTRY,
    purposes: DEFAULT_PURPOSE_REGISTRY.purposes.map((p) => (p.name === PURPOSE ? { ...p, allowedFields: [...p.allowedFields, 'customer.brand', 'customer.tier'] } : p)),
  };
}

/** A CSV file of `fedmart synth` (no quoted fields) as rows. */
function readCsv(path: string): { header: string; rows: Record<string, string>[]; lines: string[] } {
  const [header, ...lines] = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = header!.split(',');
  return { header: header!, lines, rows: lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]))) };
}

interface Truth {
  /** Pooled consented customers per brand and per tier, and per shop per brand. */
  brands: Map<string, number>;
  perShopBrands: Map<string, number>[];
  tiers: Map<string, number>;
  /** Consented customers' tier and orders before asOf. */
  customers: { tier: string; orders: number }[];
}

const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

/** Adds brand and tier (categorical, no levels) to every shop and returns the pooled truth. */
function addColumns(shopDirs: readonly { dir: string }[]): Truth {
  const truth: Truth = { brands: new Map(), perShopBrands: [], tiers: new Map(), customers: [] };
  shopDirs.forEach(({ dir }, s) => {
    const path = join(dir, 'customers.csv');
    const { header, rows, lines } = readCsv(path);
    const orders = readCsv(join(dir, 'orders.csv')).rows.filter((o) => o['ordered_at']! < AS_OF);
    const perShop = new Map<string, number>();
    let i = 0;
    const out = rows.map((r, j) => {
      const consented = r['consent_analytics'] === 'true';
      const brand = consented ? brandOf(s, i) : BIG;
      const tier = consented ? tierOf(i) : 'bronze';
      if (consented) {
        bump(truth.brands, brand);
        bump(perShop, brand);
        bump(truth.tiers, tier);
        truth.customers.push({ tier, orders: orders.filter((o) => o['customer_id'] === r['customer_id']).length });
        i++;
      }
      return `${lines[j]},${brand},${tier}`;
    });
    truth.perShopBrands.push(perShop);
    writeFileSync(path, `${[`${header},brand,tier`, ...out].join('\n')}\n`);
    const schema = JSON.parse(readFileSync(join(dir, 'schema.json'), 'utf8')) as { tables: { customers: Record<string, unknown> } };
    schema.tables.customers['columns'] = {
      ...(schema.tables.customers['columns'] ?? {}),
      brand: { column: 'brand', type: 'categorical' },
      tier: { column: 'tier', type: 'categorical' },
    };
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema, null, 2));
    writeFileSync(join(dir, 'purposes.json'), JSON.stringify(registry(), null, 2));
  });
  return truth;
}

/** The first salt from `from` under which `levels` fall into distinct buckets, except the pairs `together` share one. */
function saltWhere(levels: readonly string[], together: readonly [string, string] | null, from = 0): number {
  for (let salt = from; ; salt++) {
    const buckets = levels.map((l) => levelBucket(l, salt, BUCKETS));
    const key = (l: string) => buckets[levels.indexOf(l)];
    if (together !== null && key(together[0]) !== key(together[1])) continue;
    const distinct = new Set(levels.filter((l) => together === null || l !== together[1]).map(key));
    if (distinct.size === levels.length - (together === null ? 0 : 1)) return salt;
  }
}

/** Every row of every table of the coordinator's database, as text. */
async function databaseText(cluster: Cluster): Promise<string> {
  const db = cluster.coordinator.store.db;
  const tables = await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await db.query<Record<string, unknown>>(`SELECT * FROM "${table_name}"`);
    parts.push(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v)));
  }
  return parts.join('\n');
}

describe('category-levels over five shops, k = 10', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[] = [];
  let truth: Truth;
  const salts = { plain: 0, adversarial: 0, tier: 0 };
  const states = new Map<string, QueryState>();
  const ids = new Map<string, string>();
  let model: QueryState;

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: 10 }, { purposes: registry() });
    const shops = await makeShops(5, 'category-levels', { customersPerShop: { min: 60, max: 120 } });
    truth = addColumns(shops.shopDirs);
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    salts.plain = saltWhere(BRAND_LEVELS, null);
    salts.adversarial = saltWhere(BRAND_LEVELS, [BIG, RARE]);
    salts.tier = saltWhere(TIERS, null);
    const specs: Record<string, Record<string, unknown>> = {
      plain: { purpose: PURPOSE, data: 'customers', variable: 'brand', asOf: AS_OF, salt: salts.plain },
      adversarial: { purpose: PURPOSE, data: 'customers', variable: 'brand', asOf: AS_OF, salt: salts.adversarial },
      tier: { purpose: PURPOSE, data: 'customers', variable: 'tier', asOf: AS_OF, salt: salts.tier },
    };
    for (const [name, spec] of Object.entries(specs)) {
      const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'category-levels', spec, targetMerchants: 5 });
      expect(created.status, `${name}: ${JSON.stringify(created.body)}`).toBe(201);
      ids.set(name, created.body.queryId);
    }
    for (const m of merchants) {
      const outcomes = await m.answerOpenQueries();
      expect(outcomes.map((o) => o.outcome), `${m.merchantId}: ${outcomes.map((o) => ('message' in o ? o.message : o.outcome)).join('; ')}`).toEqual(['submitted', 'submitted', 'submitted']);
    }
    for (const [name, id] of ids) states.set(name, await waitForFinal(cluster, id));
    // The analyst pastes the discovered tiers into a model spec.
    const tiers = (states.get('tier')!.result as CategoryLevelsResult).levels.map((l) => l.level);
    const fit = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'linear-model',
      spec: { purpose: PURPOSE, data: 'customers', asOf: AS_OF, formula: 'I(n_orders + 1) ~ C(tier)', levels: { tier: tiers }, aggregates: { n_orders: 'count(orders)' } },
      targetMerchants: 5,
    });
    expect(fit.status, JSON.stringify(fit.body)).toBe(201);
    for (const m of merchants) await m.answerOpenQueries();
    model = await waitForFinal(cluster, fit.body.queryId);
  }, 400_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it('reveals the levels of at least k customers pooled, even those under k at every shop, with exact counts', () => {
    const q = states.get('plain')!;
    expect(q.status, q.statusReason ?? '').toBe('released');
    const r = q.result as CategoryLevelsResult;
    for (const spread of ['spread-a', 'spread-b']) for (const shop of truth.perShopBrands) expect(shop.get(spread) ?? 0).toBeLessThan(10);
    const expected = [...truth.brands].filter(([, n]) => n >= 10).map(([level, subjects]) => ({ level, subjects })).sort((a, b) => (a.level < b.level ? -1 : 1));
    expect(expected.map((l) => l.level)).toEqual(['common-x', 'common-y', 'spread-a', 'spread-b']);
    expect(r.levels).toEqual(expected);
    expect(r.withheldBuckets.collided).toBe(0);
    // rare (3) + tiny-1 (4) + tiny-2 (4): withheld together, so no released level is needed as a complement.
    expect(r.withheldBuckets.subjects).toBe(11);
    expect(r.withheldBuckets.tooFew).toBe(BUCKETS - 4);
    expect(r.hint).toContain('"levels": { "brand": ["common-x","common-y","spread-a","spread-b"] }');
    console.log(`category-levels: result ${JSON.stringify(q.result).length} bytes as stored; ${r.levels.map((l) => `${l.level}=${l.subjects}`).join(', ')}; withheld ${JSON.stringify(r.withheldBuckets)}`);
  });

  it('never shows the level of three customers: not in results, releases or the coordinator\'s database', async () => {
    for (const name of ['plain', 'adversarial']) {
      const id = ids.get(name)!;
      expect(JSON.stringify(states.get(name))).not.toContain(RARE);
      const release = await api<{ releaseJson: string }>(cluster, 'GET', `/v1/queries/${id}/release`);
      expect(release.status).toBe(200);
      expect(release.body.releaseJson).not.toContain(RARE);
      const stored = (await cluster.coordinator.store.getRelease(id))!;
      expect(stored.resultJson).not.toContain(RARE);
      expect(stored.releaseJson).not.toContain(RARE);
    }
    const everything = await databaseText(cluster);
    expect(everything).toContain('spread-a'); // the scan reads the stored results
    expect(everything).not.toContain(RARE);
  });

  it('withholds a bucket where the rare level hides beside a large one (LEVELS_COLLIDE), never releasing the sum', async () => {
    expect(levelBucket(RARE, salts.adversarial, BUCKETS)).toBe(levelBucket(BIG, salts.adversarial, BUCKETS));
    const q = states.get('adversarial')!;
    expect(q.status, q.statusReason ?? '').toBe('released');
    const r = q.result as CategoryLevelsResult & { withheld: { cell: string; reasonCode: string }[] };
    expect(r.levels.map((l) => l.level)).toEqual(['common-y', 'spread-a', 'spread-b']);
    expect(r.withheldBuckets.collided).toBe(1);
    expect(r.hint).toMatch(/another salt/);
    const bucket = `bucket.${levelBucket(BIG, salts.adversarial, BUCKETS)}`;
    const release = await api<{ release: { cells: Record<string, { suppressed: boolean; reasonCode?: string; totals?: unknown }> } }>(cluster, 'GET', `/v1/queries/${ids.get('adversarial')}/release`);
    expect(release.body.release.cells[bucket]).toMatchObject({ suppressed: true, reasonCode: 'LEVELS_COLLIDE' });
    expect(release.body.release.cells[bucket]?.totals).toBeUndefined();
    // The coordinator lists the withheld cells beside the result, with their reason.
    expect(r.withheld.find((w) => w.cell === bucket)?.reasonCode).toBe('LEVELS_COLLIDE');
  });

  it('fits a linear model with the discovered levels pasted in, equal to the pooled group means', () => {
    const tier = states.get('tier')!.result as CategoryLevelsResult;
    expect(tier.levels.map((l) => l.level)).toEqual([...TIERS].sort());
    expect(tier.levels.find((l) => l.level === 'platinum')?.subjects).toBe(truth.tiers.get('platinum'));
    expect(model.status, model.statusReason ?? '').toBe('released');
    const r = model.result as LinearModelResult;
    const [reference, ...others] = tier.levels.map((l) => l.level);
    expect(r.coefficients.map((c) => c.feature)).toEqual(others.map((l) => `C(tier)${l}`));
    const mean = (t: string) => {
      const xs = truth.customers.filter((c) => c.tier === t);
      return xs.reduce((a, c) => a + c.orders, 0) / xs.length;
    };
    expect(r.n).toBe(truth.customers.length);
    expect(Math.abs(r.intercept!.estimate - (mean(reference!) + 1))).toBeLessThan(1e-9);
    r.coefficients.forEach((c, i) => expect(Math.abs(c.estimate - (mean(others[i]!) - mean(reference!))), c.feature).toBeLessThan(1e-9));
  });

  it('refuses a round where one shop inflates the total of all buckets (INPUT_OUT_OF_BOUNDS), releasing nothing', async () => {
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'category-levels', spec: { purpose: PURPOSE, data: 'customers', variable: 'brand', asOf: AS_OF, salt: salts.plain + 1 }, targetMerchants: 5,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const [evil, ...honest] = merchants;
    // The malicious shop's encoder: its own values with all.subjects (the last field, one limb) raised by 1,000,
    // far inside the field's own bound, so only the relation to the buckets' subjects catches it.
    const encode = Object.getOwnPropertyDescriptor(SlotLayout.prototype, 'encode')!.value as SlotLayout['encode'];
    SlotLayout.prototype.encode = function (this: SlotLayout, values: readonly bigint[]): BigUint64Array[] {
      const poisoned = [...values];
      poisoned[poisoned.length - 1] = (poisoned[poisoned.length - 1] as bigint) + 1000n;
      return encode.call(this, poisoned);
    };
    try {
      expect((await evil!.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    } finally {
      SlotLayout.prototype.encode = encode;
    }
    for (const m of honest) await m.answerOpenQueries();
    const q = await waitForFinal(cluster, created.body.queryId);
    expect(q.status).toBe('failed');
    expect(q.statusReason).toContain('INPUT_OUT_OF_BOUNDS');
    expect(q.statusReason).toMatch(/all\.subjects is \d+, not the buckets' subjects added up/);
    expect(q.result ?? null).toBeNull();
  }, 180_000);
});
