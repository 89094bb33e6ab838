/**
 * A store-week sales data set as a retail analyst has it (price, promotion,
 * display, brand and units sold per store, week and brand), generated from a
 * seed and written as shop export folders: each shop holds some stores, in a
 * table it declares under `extraTables` (no customer table at all; the
 * columns' PIPL class `none` classifies them as business data, no
 * `fields.json` needed) and `purposes.json` allowing them to a
 * `sales-analytics` purpose.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PURPOSE_REGISTRY, type PurposeRegistry } from '../../compliance/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { mulberry32 } from './mulberry32.js';
import type { SynthShops } from '../../harness/shops.js';

export const BRANDS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'] as const;
export const SALES_PURPOSE = 'sales-analytics';
export const STORE_WEEK_COLUMNS = ['store', 'week', 'brand', 'price', 'promo', 'display', 'feature', 'units', 'rare'] as const;

export type StoreWeekRow = Record<(typeof STORE_WEEK_COLUMNS)[number], string | number>;

/** Rows per shop: `stores` stores each, `weeks` weeks, every brand. `rare` is 1 on exactly `rareRows` rows of shop 0. */
export function storeWeekRows(shops: number, stores: number, weeks: number, seed: number, rareRows = 3): StoreWeekRow[][] {
  const rnd = mulberry32(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const brandEffect = BRANDS.map(() => normal() * 12);
  const out: StoreWeekRow[][] = [];
  for (let s = 0; s < shops; s++) {
    const rows: StoreWeekRow[] = [];
    for (let st = 0; st < stores; st++) {
      const store = `S${s}${st}`;
      const storeEffect = normal() * 8;
      for (let w = 1; w <= weeks; w++) {
        BRANDS.forEach((brand, b) => {
          const price = Math.round((1.5 + rnd() * 4.5) * 100) / 100;
          const promo = rnd() < 0.3 ? 1 : 0;
          const display = rnd() < 0.25 ? 1 : 0;
          const feature = (rnd() < 0.5 ? -1 : 1) * (1 + Math.floor(rnd() * 500)) / 1000; // never exactly 0: a column zero on 1..k-1 rows is refused
          const mean = 220 - 45 * Math.log(price) + 18 * promo + 11 * display + 9 * promo * display + (brandEffect[b] as number) + storeEffect + 6 * feature;
          const units = Math.max(0, Math.round(mean + normal() * 14));
          rows.push({ store, week: w, brand, price, promo, display, feature, units, rare: s === 0 && rows.length < rareRows ? 1 : 0 });
        });
      }
    }
    out.push(rows);
  }
  return out;
}

const csv = (rows: readonly StoreWeekRow[]): string =>
  [STORE_WEEK_COLUMNS.join(','), ...rows.map((r) => STORE_WEEK_COLUMNS.map((c) => String(r[c])).join(','))].join('\n') + '\n';

/** The shop schema declaring only the store-week table. */
export function storeWeekSchema(): unknown {
  return {
    version: 1,
    tables: {},
    extraTables: {
      store_week: {
        file: 'store-week.csv',
        columns: {
          store: { column: 'store', type: 'categorical', class: 'none' },
          week: { column: 'week', type: 'integer', min: 1, max: 5000, class: 'none' },
          brand: { column: 'brand', type: 'categorical', levels: [...BRANDS], class: 'none' },
          price: { column: 'price', type: 'numeric', scale: 2, min: 0.01, class: 'none' },
          promo: { column: 'promo', type: 'integer', min: 0, max: 1, class: 'none' },
          display: { column: 'display', type: 'integer', min: 0, max: 1, class: 'none' },
          feature: { column: 'feature', type: 'numeric', scale: 3, class: 'none' },
          units: { column: 'units', type: 'integer', min: 0, class: 'none' },
          rare: { column: 'rare', type: 'integer', min: 0, max: 1, class: 'none' },
        },
      },
    },
  };
}

/**
 * Registry: the built-in purposes plus `sales-analytics`, which reads
 * `columns` of the store-week table (default: the generated table's), with
 * its impact assessment.
 */
export function salesRegistry(columns: readonly string[] = STORE_WEEK_COLUMNS): PurposeRegistry {
  return {
    ...DEFAULT_PURPOSE_REGISTRY,
    purposes: [
      ...DEFAULT_PURPOSE_REGISTRY.purposes,
      {
        name: SALES_PURPOSE,
        description: 'Price and promotion response models over store-week sales (business data, no customer in them).',
        legalBasis: 'consent',
        allowedFields: columns.map((c) => `store_week.${c}`),
        sensitiveAllowed: false,
        retentionDays: 365,
        recipients: ['fedmart platform (coordinator)'],
        personalisedMarketing: false,
      },
    ],
    pias: [
      ...DEFAULT_PURPOSE_REGISTRY.pias,
      {
        id: 'PIA-2026-101',
        purpose: SALES_PURPOSE,
        assessedAt: '2026-01-01T00:00:00Z',
        reviewer: 'Data protection officer',
        summary: 'Store-week sales hold no person; models are released above the k-row threshold.',
        risks: ['A model term describing very few store-weeks'],
        measures: ['Model release rules on every design column and pair'],
        retainUntil: '2029-01-01T00:00:00Z',
      },
    ],
  };
}

/**
 * Answers every round of a fit as it is published, until the fit ends;
 * returns the fit's last view.
 */
export async function driveFit<T extends { status: string }>(get: () => Promise<T>, nodes: readonly MerchantNode[]): Promise<T> {
  for (;;) {
    const view = await get();
    if (view.status === 'done' || view.status === 'failed') return view;
    let answered = false;
    for (const m of nodes) {
      for (const q of await m.openQueries()) {
        if (m.hasAnswered(q.queryId)) continue;
        await m.answer(q);
        answered = true;
      }
    }
    // Nothing to answer: the coordinator is releasing a round or publishing the next one.
    if (!answered) await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes one export folder per shop; returns them in the shape merchant helpers take, and the pooled rows. */
export function writeStoreWeekShops(rows: readonly StoreWeekRow[][]): SynthShops {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-store-week-'));
  const shopDirs = rows.map((shopRows, i) => {
    const shopId = `shop-${String(i + 1).padStart(2, '0')}`;
    const shopDir = join(dir, shopId);
    mkdirSync(shopDir);
    writeFileSync(join(shopDir, 'schema.json'), JSON.stringify(storeWeekSchema(), null, 2));
    writeFileSync(join(shopDir, 'store-week.csv'), csv(shopRows));
    writeFileSync(join(shopDir, 'purposes.json'), JSON.stringify(salesRegistry(), null, 2));
    writeFileSync(join(shopDir, 'consents.jsonl'), '');
    return { shopId, dir: shopDir };
  });
  return { dir, shopDirs, pooledDir: join(dir, 'pooled') };
}
