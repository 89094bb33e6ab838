/**
 * `baseMargin: "auto"` of `gradient-boosted-trees` (analytics/
 * gbt-base-margin.ts): the margin before the first tree is found from the
 * first level's root sums, computed by the shops at margin 0, and that level
 * is read at it. Checked without a cluster, through the registered round
 * kinds (test/helpers/gbt-in-process.ts): the margin equals the log-odds of
 * the label mean (binary) or the mean (numeric) counted here from the rows;
 * the first level read at it equals the level the shops compute at it;
 * the whole model equals the pooled fit (test/helpers/pooled-gbt.ts) started
 * at that margin; every round after the first level carries the number; and
 * a label the same for every row stops the fit.
 */
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson } from '../../analytics/canonical-json.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { gbtBaseMarginFromRoot, gbtLevelAtBaseMargin } from '../../analytics/gbt-base-margin.js';
import { decodeGbtLevel, GBT_SCALE_BITS } from '../../analytics/gbt-local.js';
import { gbtFitDefinition, gbtRows, gbtSpecOf, parseGbtFitSpec, type GbtFitSpec } from '../../analytics/gradient-boosted-trees.js';
import { getQueryDefinition } from '../../analytics/registry.js';
import type { ShopData } from '../../analytics/shop-data.js';
import { fitGbtInProcess } from '../helpers/gbt-in-process.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { pooledFit } from '../helpers/pooled-gbt.js';

const K = 10;
const BRANDS = ['A', 'B', 'C', 'D'];

/** Seeded table rows over three shops of unequal size: price, brand, a binary `bought` (mean about 0.3) and numeric `units`. */
function shops(seed: number, sizes: readonly number[] = [120, 300, 580]): ShopData[] {
  const rand = mulberry32(seed);
  return sizes.map((size, s) => ({
    shopId: `s${s}`,
    customers: [],
    orders: [],
    tables: {
      sales: {
        rows: Array.from({ length: size }, () => {
          const price = Math.round((2 + 3 * rand() + 0.3 * s) * 100) / 100;
          const brand = BRANDS[Math.floor(rand() * BRANDS.length)] as string;
          const logit = -1.2 + 0.8 * (price < 3 ? 1 : 0) + (brand === 'B' ? 0.9 : 0);
          return { price, brand, bought: rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0, units: Math.round(180 - 25 * price + (brand === 'C' ? 20 : 0) + 30 * rand()) };
        }),
      },
    },
  }));
}

const VARIABLES = [
  { name: 'price', type: 'numeric', edges: [2.5, 3, 3.5, 4, 4.5, 5] },
  { name: 'brand', type: 'categorical', levels: BRANDS },
];
const LABELS = {
  binary: { name: 'bought', type: 'binary' },
  numeric: { name: 'units', type: 'numeric', maxAbs: 1000 },
} as const;

const fitJson = (label: keyof typeof LABELS, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  purpose: 'sales-analytics', data: 'sales', label: LABELS[label], variables: VARIABLES, trees: 4, depth: 2, learningRate: 0.3, minLeafSubjects: K, baseMargin: 'auto', ...over,
});

describe('gbt base margin from the data', () => {
  it('parses "auto" and refuses other words naming baseMargin; the first level carries "auto", every later round the number', () => {
    const spec = parseGbtFitSpec({ kind: 'gradient-boosted-trees', ...fitJson('binary') });
    expect(spec.baseMargin).toBe('auto');
    expect(JSON.parse(canonicalSpecJson(spec)).baseMargin).toBe('auto');
    let err: unknown;
    try {
      parseGbtFitSpec({ kind: 'gradient-boosted-trees', ...fitJson('binary', { baseMargin: 'mean' }) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QuerySpecError);
    expect((err as QuerySpecError).path).toBe('baseMargin');
    const data = shops(3);
    const state = gbtFitDefinition.initialState(spec);
    const first = gbtFitDefinition.roundQuery(spec, state, 1, 'f');
    expect((first.spec as { baseMargin: unknown }).baseMargin).toBe('auto');
    const def = getQueryDefinition(first.kind);
    const roundSpec = def.parseSpec(JSON.parse(canonicalSpecJson({ ...first.spec, kind: first.kind })));
    const fields = def.fields(roundSpec).map((f) => f.name);
    const vectors = data.map((shop) => def.computeLocal(roundSpec, shop));
    const totals = Object.fromEntries(fields.map((f, i) => [f, vectors.reduce((a, v) => a + (v[i] as bigint), 0n)]));
    const result = def.finalise(roundSpec, { cells: { all: { suppressed: false, totals } }, minSubjects: K });
    const next = gbtFitDefinition.advance(spec, state, result, 1);
    expect(next.done).toBe(false);
    if (next.done) return;
    const second = gbtFitDefinition.roundQuery(spec, next.state, 2, 'f');
    const rows = data.flatMap((s) => gbtRows(spec, s));
    const mean = rows.reduce((a, r) => a + r.y, 0) / rows.length;
    expect((second.spec as { baseMargin: unknown }).baseMargin).toBeCloseTo(Math.log(mean / (1 - mean)), 12);
  });

  for (const label of ['binary', 'numeric'] as const) {
    it(`${label} label: the first level read at the margin found equals the level the shops compute at it, bin by bin`, () => {
      const data = shops(label === 'binary' ? 5 : 6);
      const auto = parseGbtFitSpec({ kind: 'gradient-boosted-trees', ...fitJson(label) });
      const level = (spec: GbtFitSpec) => {
        const q = gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'f');
        const def = getQueryDefinition(q.kind);
        const roundSpec = def.parseSpec(JSON.parse(canonicalSpecJson({ ...q.spec, kind: q.kind })));
        const fields = def.fields(roundSpec).map((f) => f.name);
        const vectors = data.map((shop) => def.computeLocal(roundSpec, shop));
        return decodeGbtLevel(gbtSpecOf(spec), [0], Object.fromEntries(fields.map((f, i) => [f, vectors.reduce((a, v) => a + (v[i] as bigint), 0n)])));
      };
      const rows = data.flatMap((s) => gbtRows(auto, s));
      const mean = rows.reduce((a, r) => a + r.y, 0) / rows.length;
      const want = label === 'binary' ? Math.log(mean / (1 - mean)) : mean;
      const b = gbtBaseMarginFromRoot(gbtSpecOf(auto), level(auto));
      expect(Math.abs(b - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      const read = gbtLevelAtBaseMargin(gbtSpecOf(auto), level(auto), b);
      const atB = level(parseGbtFitSpec({ kind: 'gradient-boosted-trees', ...fitJson(label, { baseMargin: b }) }));
      // The shops sum floats and round once: the two agree to float accuracy, far below a row's gradient.
      const real = (v: bigint) => Number(v) / 2 ** GBT_SCALE_BITS;
      let worst = 0;
      read.nodes[0]!.variables.forEach((bins, j) => {
        const other = atB.nodes[0]!.variables[j]!;
        expect(bins.n).toEqual(other.n);
        bins.g.forEach((g, i) => (worst = Math.max(worst, Math.abs(real(g) - real(other.g[i]!)))));
        bins.h.forEach((h, i) => (worst = Math.max(worst, Math.abs(real(h) - real(other.h[i]!)))));
      });
      expect(worst).toBeLessThanOrEqual(1e-9);
    });

    it(`${label} label: the model starts at that margin and equals the pooled fit started there`, () => {
      const data = shops(label === 'binary' ? 7 : 8);
      const { spec, model } = fitGbtInProcess(fitJson(label), data, K);
      const rows = data.flatMap((s) => gbtRows(spec, s));
      const mean = rows.reduce((a, r) => a + r.y, 0) / rows.length;
      const want = label === 'binary' ? Math.log(mean / (1 - mean)) : mean;
      expect(Math.abs(model.baseMargin - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      const pooled = pooledFit({ ...gbtSpecOf(spec), minLeafSubjects: K, baseMargin: want }, rows);
      expect(model.trees.map((t) => t.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects]))).toEqual(pooled.trees.map((t) => t.map((n) => [n.id, n.kind, n.subjects])));
      let worst = 0;
      model.trees.forEach((t, ti) =>
        t.nodes.forEach((n, i) => {
          const w = pooled.trees[ti]![i]!;
          if (n.kind === 'leaf' && w.kind === 'leaf') worst = Math.max(worst, Math.abs(n.value - w.value) / Math.max(Math.abs(w.value), 1e-12));
        }),
      );
      expect(worst).toBeLessThanOrEqual(1e-9);
      expect(model.trees.some((t) => t.nodes.some((n) => n.kind === 'split'))).toBe(true);
    });
  }

  it('stops the fit when a binary label is the same for every row (no finite log-odds)', () => {
    const data = shops(9).map((s) => ({ ...s, tables: { sales: { rows: s.tables!['sales']!.rows.map((r) => ({ ...r, bought: 0 })) } } }));
    expect(() => fitGbtInProcess(fitJson('binary'), data, K)).toThrow(/the label is 0 for every one of the 1000 training rows/);
  });
});
