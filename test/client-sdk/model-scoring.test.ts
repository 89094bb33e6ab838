/**
 * Scoring a gradient-boosted-trees model at the shop (client-sdk/model-scoring.ts)
 * without a cluster: a model fitted through the kind's own functions on
 * store-week shops written to disk and loaded as a merchant node loads them,
 * scored on one shop's table and compared with the stored trees walked by
 * hand over the rows as generated (not as loaded); rows missing a variable
 * counted and left out; and the refusals, each with its code: a kind not
 * scored here, a spec the coordinator did not send, a column the shop does
 * not have, a field its purpose does not allow, an undeclared level, a purpose
 * the shop does not know.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalSpecJson } from '../../analytics/canonical-json.js';
import type { ShopData } from '../../analytics/shop-data.js';
import { loadShopCompliance, loadShopData, roundView, type ShopCompliance } from '../../client-sdk/index.js';
import { ModelScoringError, scoreModel, type DownloadedModel, type ModelScoringCode } from '../../client-sdk/model-scoring.js';
import { getPurpose } from '../../compliance/index.js';
import { fitGbtInProcess, type InProcessFit } from '../helpers/gbt-in-process.js';
import { walkGbt } from '../helpers/gbt-walk.js';
import { BRANDS, SALES_PURPOSE, salesRegistry, storeWeekRows, writeStoreWeekShops, type StoreWeekRow } from '../helpers/store-week.js';

const K = 10;
const SPECS: Record<'binary' | 'numeric', Record<string, unknown>> = {
  binary: {
    purpose: SALES_PURPOSE,
    data: 'store_week',
    label: { name: 'promo', type: 'binary' },
    variables: [
      { name: 'price', type: 'numeric', edges: [2, 3, 4, 5] },
      { name: 'display', type: 'numeric', edges: [0.5] },
      { name: 'brand', type: 'categorical', levels: [...BRANDS] },
      { name: 'units', type: 'numeric', edges: [150, 200, 250] },
    ],
    trees: 3,
    depth: 2,
    learningRate: 0.5,
  },
  numeric: {
    purpose: SALES_PURPOSE,
    data: 'store_week',
    label: { name: 'units', type: 'numeric', maxAbs: 1000 },
    variables: [
      { name: 'price', type: 'numeric', edges: [2, 3, 4, 5] },
      { name: 'promo', type: 'numeric', edges: [0.5] },
      { name: 'brand', type: 'categorical', levels: [...BRANDS] },
    ],
    trees: 3,
    depth: 2,
    learningRate: 0.5,
  },
};

interface Shop {
  readonly data: ShopData;
  readonly compliance: ShopCompliance;
  readonly rows: readonly StoreWeekRow[];
}

let shops: Shop[];
const fits = new Map<'binary' | 'numeric', InProcessFit>();

const downloaded = (fit: InProcessFit, over: Partial<DownloadedModel> = {}): DownloadedModel => ({
  modelId: 'fit-test',
  kind: 'gradient-boosted-trees',
  modelJson: canonicalSpecJson(fit.model),
  specJson: canonicalSpecJson(fit.spec),
  ...over,
});

/** The shop with its store-week table's rows replaced. */
function withRows(shop: Shop, rows: readonly Record<string, unknown>[]): Shop {
  return { ...shop, data: { ...shop.data, tables: { store_week: { rows: rows as never } } } };
}

function refusal(f: () => unknown): { code: ModelScoringCode; message: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof ModelScoringError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a ModelScoringError');
}

beforeAll(async () => {
  const generated = storeWeekRows(3, 2, 10, 77).map((rows, s) => rows.slice(0, 100 + 50 * s));
  const dirs = writeStoreWeekShops(generated);
  shops = await Promise.all(
    dirs.shopDirs.map(async (d, s) => ({ data: await loadShopData(d.dir, d.shopId), compliance: await loadShopCompliance(d.dir), rows: generated[s] as StoreWeekRow[] })),
  );
  const views = shops.map((s) => roundView(s.data, new Set(), getPurpose(s.compliance.registry, SALES_PURPOSE), s.compliance.pseudonymKey));
  for (const name of ['binary', 'numeric'] as const) fits.set(name, fitGbtInProcess(SPECS[name], views, K));
}, 60_000);

describe('scoring a gradient-boosted-trees model at the shop', () => {
  it.each(['binary', 'numeric'] as const)('%s label: one score per row of the table, equal to the stored trees walked by hand', (name) => {
    const fit = fits.get(name)!;
    expect(fit.model.trees.some((t) => t.nodes.some((n) => n.kind === 'split'))).toBe(true);
    const shop = shops[1]!;
    const scored = scoreModel(downloaded(fit), shop);
    expect(scored).toMatchObject({ kind: 'gradient-boosted-trees', idColumn: 'row', label: name === 'binary' ? 'promo' : 'units', output: name === 'binary' ? 'probability' : 'prediction', leftOut: 0 });
    expect(scored.scores.map((s) => s.id)).toEqual(shop.rows.map((_, i) => String(i + 1)));
    let worst = 0;
    shop.rows.forEach((r, i) => {
      const want = walkGbt(fit.model, { price: Number(r.price), promo: Number(r.promo), display: Number(r.display), brand: String(r.brand), units: Number(r.units) });
      worst = Math.max(worst, Math.abs(scored.scores[i]!.score - want) / Math.max(1e-300, Math.abs(want)));
    });
    expect(worst).toBeLessThan(1e-12);
    // Distinct scores: the trees do route the rows apart.
    expect(new Set(scored.scores.map((s) => s.score)).size).toBeGreaterThan(1);
  });

  it('leaves out rows missing a variable, counts them and scores the rest as before; the label is not read', () => {
    const fit = fits.get('binary')!;
    const shop = shops[2]!;
    const before = scoreModel(downloaded(fit), shop);
    const gaps = new Set([0, 7, 8, 120, 199]);
    expect(shop.rows).toHaveLength(200);
    // The label (promo) missing everywhere changes nothing: scoring reads the variables only.
    const rows = shop.data.tables!.store_week!.rows.map((r, i) => ({ ...r, promo: null, ...(gaps.has(i) ? { price: null } : {}) }));
    const after = scoreModel(downloaded(fit), withRows(shop, rows));
    expect(after.leftOut).toBe(gaps.size);
    expect(after.scores).toEqual(before.scores.filter((_, i) => !gaps.has(i)));
  });

  it('refuses, with a code, what it cannot score', () => {
    const fit = fits.get('numeric')!;
    const shop = shops[0]!;
    expect(refusal(() => scoreModel(downloaded(fit, { kind: 'kmeans' }), shop))).toMatchObject({ code: 'MODEL_NOT_SCORABLE', message: expect.stringContaining('kmeans') });
    expect(refusal(() => scoreModel(downloaded(fit, { specJson: '' }), shop)).code).toBe('MODEL_NOT_SCORABLE');
    expect(refusal(() => scoreModel(downloaded(fit, { specJson: '{"purpose":"sales-analytics"}' }), shop)).code).toBe('MODEL_NOT_SCORABLE');
    // A table without a column a variable reads.
    const noBrand = shop.data.tables!.store_week!.rows.map(({ brand: _brand, ...r }) => r);
    expect(refusal(() => scoreModel(downloaded(fit), withRows(shop, noBrand)))).toMatchObject({ code: 'DATA_CANNOT_SCORE', message: expect.stringContaining('brand') });
    // A level the spec does not declare: the variable is named, never the value.
    const odd = shop.data.tables!.store_week!.rows.map((r, i) => (i === 3 ? { ...r, brand: 'Zq' } : r));
    const level = refusal(() => scoreModel(downloaded(fit), withRows(shop, odd)));
    expect(level).toMatchObject({ code: 'DATA_CANNOT_SCORE', message: expect.stringContaining('brand') });
    expect(level.message).not.toContain('Zq');
    // The purpose does not allow a field the model reads at this shop.
    const narrow = { ...shop, compliance: { ...shop.compliance, registry: salesRegistry(['store', 'week', 'price', 'promo', 'units']) } };
    expect(refusal(() => scoreModel(downloaded(fit), narrow))).toMatchObject({ code: 'DATA_CANNOT_SCORE', message: expect.stringContaining('store_week.brand') });
    // A purpose the shop does not know.
    const unknown = { ...shop, compliance: { ...shop.compliance, registry: { ...shop.compliance.registry, purposes: shop.compliance.registry.purposes.filter((p) => p.name !== SALES_PURPOSE) } } };
    expect(refusal(() => scoreModel(downloaded(fit), unknown))).toMatchObject({ code: 'DATA_CANNOT_SCORE', message: expect.stringContaining(SALES_PURPOSE) });
  });
});
