import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPooledData, loadShopData } from '../../client-sdk/load-shop-data.js';
import { writeSynth } from '../../synth/index.js';
import { Prng } from '../../synth/prng.js';
import { generateSynth, type SynthShop } from '../../synth/generate.js';
import type { SynthManifest } from '../../synth/write.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'fedmart-synth-'));

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const DAY = 86_400;

function meanOrderYuan(shop: SynthShop): number {
  const total = shop.orders.reduce((s, o) => s + Number(o.amountCents), 0);
  return total / shop.orders.length / 100;
}

describe('Prng', () => {
  it('is deterministic per seed, and forks are independent streams', () => {
    const a = new Prng(7);
    const b = new Prng('7');
    expect(Array.from({ length: 5 }, () => a.nextUint32())).toEqual(Array.from({ length: 5 }, () => b.nextUint32()));
    expect(new Prng(7).fork('x').next()).not.toBe(new Prng(7).fork('y').next());
    expect(new Prng(7).next()).not.toBe(new Prng(8).next());
    expect(() => new Prng(Number.NaN)).toThrow(TypeError);
  });
});

describe('writeSynth', () => {
  let dirA: string;
  let manifest: SynthManifest;
  const progress: string[] = [];

  beforeAll(async () => {
    dirA = tmp();
    manifest = await writeSynth(dirA, { shops: 5, seed: 42, onProgress: (p) => progress.push(`${p.phase}:${p.shop}/${p.shops}`) });
  });

  it('lays out per-shop exports, pooled files and a manifest', () => {
    const files = [...filesOf(dirA).keys()].sort();
    expect(files).toEqual(
      [
        'manifest.json',
        ...['campaigns.csv', 'consents.jsonl', 'customers.csv', 'orders.csv', 'rights-requests.jsonl', 'schema.json', 'sessions.csv', 'shop-metrics.csv'].map(
          (f) => `pooled/${f}`,
        ),
        ...[1, 2, 3, 4, 5].flatMap((i) =>
          [
            'campaigns.csv',
            'consents.jsonl',
            'customers.csv',
            'fields.json',
            'orders.csv',
            '.fedmart-state/pseudonym.key',
            'purposes.json',
            'rights-requests.jsonl',
            'schema.json',
            'sessions.csv',
            'shop-metrics.csv',
          ].map((f) => `shop-0${i}/${f}`),
        ),
      ].sort(),
    );
    expect(JSON.parse(readFileSync(join(dirA, 'manifest.json'), 'utf8'))).toEqual(manifest);
    expect(manifest.seed).toBe(42);
    expect(manifest.shops.map((s) => s.shopId)).toEqual(['shop-01', 'shop-02', 'shop-03', 'shop-04', 'shop-05']);
    expect(progress).toContain('generate:5/5');
    expect(progress).toContain('write:5/5');
  });

  it('writes the declared columns and formats', () => {
    const customers = readFileSync(join(dirA, 'shop-02/customers.csv'), 'utf8').split('\n');
    expect(customers[0]).toBe('customer_id,name,phone,city,age,signup_at,lifecycle_stage,consent_analytics,consent_marketing');
    expect(customers[1]).toMatch(/^C-02-000001,\p{Script=Han}{2,4},1\d{10},\p{Script=Han}+,\d+,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,(new|active|loyal|churning),(true|false),(true|false)$/u);
    const orders = readFileSync(join(dirA, 'shop-02/orders.csv'), 'utf8').split('\n');
    expect(orders[0]).toBe('order_id,customer_id,ordered_at,amount,returned');
    expect(orders[1]).toMatch(/^O-02-0000001,C-02-\d{6},\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,\d+\.\d\d,(true|false)$/);
    const campaigns = readFileSync(join(dirA, 'shop-02/campaigns.csv'), 'utf8').split('\n');
    expect(campaigns[0]).toBe('campaign_id,customer_id,variant,exposed,opened,clicked,converted');
    expect(campaigns[1]).toMatch(/^CMP-[\w-]+,C-02-\d{6},(A|B|control),(true|false),(true|false),(true|false),(true|false)$/);
    const sessions = readFileSync(join(dirA, 'shop-02/sessions.csv'), 'utf8').split('\n');
    expect(sessions[0]).toBe('customer_id,channel,viewed,carted,ordered');
    expect(sessions[1]).toMatch(/^C-02-\d{6},(app|web|mini-program|store),(true|false),(true|false),(true|false)$/);
    const metrics = readFileSync(join(dirA, 'shop-02/shop-metrics.csv'), 'utf8').split('\n');
    expect(metrics[0]).toBe('period,orders,ratings,positive_ratings,returns,complaints,inquiries,response_time_sum_s');
    expect(metrics[1]).toMatch(/^\d{4}-\d\d(,\d+){7}$/);
    const pooled = readFileSync(join(dirA, 'pooled/orders.csv'), 'utf8').split('\n');
    expect(pooled[0]).toBe('shop_id,order_id,customer_id,ordered_at,amount,returned');
  });

  it('is byte-identical for the same seed and differs for another seed', async () => {
    const dirB = tmp();
    await writeSynth(dirB, { shops: 5, seed: 42 });
    const a = filesOf(dirA);
    const b = filesOf(dirB);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, bytes] of a) expect(b.get(name)?.equals(bytes), name).toBe(true);

    const dirC = tmp();
    await writeSynth(dirC, { shops: 5, seed: 43 });
    const c = filesOf(dirC);
    expect(c.get('shop-01/orders.csv')?.equals(a.get('shop-01/orders.csv') as Buffer)).toBe(false);
    expect(c.get('pooled/customers.csv')?.equals(a.get('pooled/customers.csv') as Buffer)).toBe(false);
  });

  it('loads back through the declared schema, with pooled = union of shops', async () => {
    const shops = await Promise.all(manifest.shops.map((s) => loadShopData(join(dirA, s.dir))));
    shops.forEach((d, i) => {
      expect(d.shopId).toBe(manifest.shops[i]?.shopId);
      expect(d.customers.length).toBe(manifest.shops[i]?.customers);
      expect(d.orders.length).toBe(manifest.shops[i]?.orders);
    });
    const pooled = await loadPooledData(join(dirA, 'pooled'));
    expect(pooled.customers.length).toBe(shops.reduce((s, d) => s + d.customers.length, 0));
    expect(pooled.orders.length).toBe(shops.reduce((s, d) => s + d.orders.length, 0));
    const ids = new Set(pooled.orders.map((o) => o.orderId));
    expect(ids.size).toBe(pooled.orders.length); // ids never collide across shops
    shops.forEach((d) => {
      expect(d.campaigns?.length).toBeGreaterThan(0);
      expect(d.sessions?.length).toBeGreaterThan(d.orders.length);
      expect(d.shopMetrics).toHaveLength(12);
    });
    for (const table of ['campaigns', 'sessions', 'shopMetrics'] as const) {
      expect(pooled[table]?.length, table).toBe(shops.reduce((s, d) => s + (d[table]?.length ?? 0), 0));
    }
  });
});

describe('generateSynth', () => {
  const data = generateSynth({ shops: 5, seed: 'realism' });

  it('makes shops that differ in size and price level', () => {
    const sizes = data.shops.map((s) => s.customers.length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(300);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3000);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(3);
    const means = data.shops.map(meanOrderYuan);
    expect(Math.max(...means) / Math.min(...means)).toBeGreaterThanOrEqual(3);
    const loyalShare = data.shops.map((s) => s.customers.filter((c) => c.lifecycleStage === 'loyal').length / s.customers.length);
    expect(Math.max(...loyalShare) - Math.min(...loyalShare)).toBeGreaterThan(0.03);
  });

  it('keeps orders in a year of history with integer seconds and whole cents', () => {
    for (const shop of data.shops) {
      const bad = shop.orders.filter(
        (o) =>
          !Number.isSafeInteger(o.orderedUnixS) ||
          o.orderedUnixS < data.historyStartUnixS ||
          o.orderedUnixS >= data.historyEndUnixS ||
          o.amountCents < 100n,
      );
      expect(bad).toEqual([]);
      const times = shop.orders.map((o) => o.orderedUnixS);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    expect(data.historyEndUnixS - data.historyStartUnixS).toBe(365 * DAY);
  });

  it('gives stages the behaviour their names promise', () => {
    const byStage = new Map<string, { customers: number; repeat: number; gaps: number[]; recent: number }>();
    for (const shop of data.shops) {
      const times = new Map<string, number[]>();
      for (const o of shop.orders) times.set(o.customerId, [...(times.get(o.customerId) ?? []), o.orderedUnixS]);
      for (const c of shop.customers) {
        const s = byStage.get(c.lifecycleStage) ?? { customers: 0, repeat: 0, gaps: [], recent: 0 };
        const t = (times.get(c.customerId) ?? []).sort((a, b) => a - b);
        s.customers++;
        if (t.length >= 2) s.repeat++;
        for (let i = 1; i < t.length; i++) s.gaps.push((t[i] as number) - (t[i - 1] as number));
        if (t.some((x) => x > data.historyEndUnixS - 60 * DAY)) s.recent++;
        if (t.length > 0) expect(t[0]).toBeGreaterThanOrEqual(c.signupUnixS);
        byStage.set(c.lifecycleStage, s);
      }
    }
    const meanGap = (stage: string): number => {
      const g = byStage.get(stage)?.gaps ?? [];
      return g.reduce((a, b) => a + b, 0) / g.length;
    };
    expect(byStage.get('loyal')?.repeat).toBe(byStage.get('loyal')?.customers);
    expect(meanGap('loyal')).toBeLessThan(meanGap('churning') / 2);
    expect(byStage.get('churning')?.recent).toBe(0);
    const rate = (stage: string): number => (byStage.get(stage)?.repeat ?? 0) / (byStage.get(stage)?.customers ?? 1);
    expect(rate('loyal')).toBeGreaterThan(rate('active'));
    expect(rate('active')).toBeGreaterThan(rate('churning'));
    expect(rate('churning')).toBeGreaterThan(rate('new'));
  });

  it('has 85–95% analytics consent per shop and fake Chinese-style identities', () => {
    for (const shop of data.shops) {
      const rate = shop.customers.filter((c) => c.consentAnalytics).length / shop.customers.length;
      expect(rate).toBeGreaterThan(0.8);
      expect(rate).toBeLessThan(0.98);
      for (const c of shop.customers.slice(0, 50)) {
        expect(c.name).toMatch(/^\p{Script=Han}{2,4}$/u);
        expect(c.phone).toMatch(/^1[3-9]\d{9}$/);
        expect(c.age).toBeGreaterThanOrEqual(18);
      }
    }
  });

  it('checks its options', () => {
    expect(() => generateSynth({ shops: 0, seed: 1 })).toThrow(/options\.shops/);
    expect(() => generateSynth({ shops: 100, seed: 1 })).toThrow(RangeError);
    expect(() => generateSynth({ shops: 1, seed: Number.POSITIVE_INFINITY })).toThrow(/options\.seed/);
    expect(() => generateSynth({ shops: 1, seed: 1, customersPerShop: { min: 10, max: 5 } })).toThrow(/customersPerShop/);
    expect(generateSynth({ shops: 2, seed: 1, customersPerShop: 40 }).shops.map((s) => s.customers.length)).toEqual([40, 40]);
  });
});
