/**
 * The chart builders of the marketer's results (coordinator/console/
 * charts.js) and the pure parts of their views, checked against numbers
 * worked out here: bar heights proportional to the values, withheld values
 * never drawn as bars but as hatched slots of the full plot height with
 * their own reason, heat-map shades ordered as the counts, bubble areas
 * proportional to cluster sizes and positions linear in the coordinates,
 * the R × F grid of an RFM table summed over monetary scores, and a model
 * fit's rounds folded into one row of the query list.
 */
import { describe, expect, it } from 'vitest';
import { barChart, countHeatMap, histogramChart, scatterChart } from '../../coordinator/console/charts.js';
import { rfmGrid } from '../../coordinator/console/rfm-view.js';
import { recentItems } from '../../coordinator/console/query-list.js';
import { FEATURE_UNITS, inUnits } from '../../coordinator/console/kmeans-view.js';

/** Every element `<tag ...>` whose class attribute is exactly `cls`, as attribute maps. */
function elements(svg: string, tag: string, cls: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(new RegExp(`<${tag} ([^>]*)>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    if (attrs.class === cls) out.push(attrs);
  }
  return out;
}

const num = (s: string | undefined): number => Number(s);

describe('histogramChart', () => {
  const values = [10, 40, null, 25, 0, null];
  const reasons = ['', '', 'fewer than 10 customers', '', '', 'one shop dominates'];
  const svg = histogramChart({
    title: 'Order values',
    edges: [0, 50, 100, 200, 500, 1000, 1_000_000],
    values,
    suppressedLabels: values.map((v, j) => (v === null ? reasons[j] : undefined)),
    suppressedTitles: values.map((v, j) => (v === null ? `why ${j}` : undefined)),
  });

  it('draws one bar per released bin, heights proportional to the counts', () => {
    const bars = elements(svg, 'rect', 'bar');
    expect(bars.map((b) => num(b['data-bin']))).toEqual([0, 1, 3, 4]);
    const height = new Map(bars.map((b) => [num(b['data-bin']), num(b.height)]));
    // 40 : 10 : 25 : 0, whatever the top tick.
    expect(height.get(1)! / height.get(0)!).toBeCloseTo(4, 9);
    expect(height.get(3)! / height.get(0)!).toBeCloseTo(2.5, 9);
    expect(height.get(4)).toBe(0);
    // Bars stand on one baseline: y + height is the same for all.
    const base = bars.map((b) => num(b.y) + num(b.height));
    expect(new Set(base.map((v) => v.toFixed(6))).size).toBe(1);
    // Adjacent bins: each bar starts where the previous slot ends (equal widths).
    const xs = bars.map((b) => num(b.x));
    const w = (xs[1]! - xs[0]!);
    expect(xs[2]! - xs[0]!).toBeCloseTo(3 * w, 9);
  });

  it('draws a withheld bin as a hatched slot of the full plot height with its own reason, never a bar', () => {
    const slots = elements(svg, 'rect', 'slot suppressed');
    expect(slots).toHaveLength(2);
    const bars = elements(svg, 'rect', 'bar');
    const base = num(bars[0]!.y) + num(bars[0]!.height);
    for (const s of slots) {
      expect(num(s.y) + num(s.height)).toBeCloseTo(base, 9);
      // The plot's full height (320 high, 28 above and 64 below it), whatever the counts beside it.
      expect(num(s.height)).toBe(320 - 28 - 64);
      expect(s.fill).toMatch(/^url\(#chart\d+-hatch\)$/);
    }
    // The reasons, written across the slots (wrapped into lines).
    const written = [...svg.matchAll(/<text class="slot-label"[^>]*>(.*?)<\/text>/g)].map((m) => [...m[1]!.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((x) => x[1]).join(' '));
    expect(written).toEqual(['fewer than 10 customers', 'one shop dominates']);
    // Ticks: 40 at most, so 0, 10, 20, 30, 40.
    expect([...svg.matchAll(/text-anchor="end" font-size="11" fill="#57606a">(\d+)</g)].map((m) => Number(m[1]))).toEqual([0, 10, 20, 30, 40]);
    expect(svg).toContain('<title>100–200: why 2</title>');
    expect(svg).toContain('<title>1000–1000000: why 5</title>');
    // Every edge is written at its boundary.
    for (const e of ['0', '50', '100', '200', '500', '1000', '1000000']) expect(svg).toContain(`>${e}</text>`);
    expect(svg).toMatch(/role="img"/);
    expect(svg).toMatch(/<title id="chart\d+-t">Order values<\/title><desc id="chart\d+-d">0–50: 10; 50–100: 40; 100–200: fewer than 10 customers;/);
  });
});

describe('barChart', () => {
  it('draws bars proportional to the values and withheld values as full-height slots, not bars', () => {
    const svg = barChart({ title: 't', labels: ['a', 'b', 'c', 'd'], values: [3, null, 12, 6], suppressedLabels: [undefined, 'protects another cell', undefined, undefined] });
    const bars = elements(svg, 'rect', 'bar');
    expect(bars).toHaveLength(3);
    const [a, c, d] = bars.map((b) => num(b.height));
    expect(c! / a!).toBeCloseTo(4, 9);
    expect(d! / a!).toBeCloseTo(2, 9);
    const slots = elements(svg, 'rect', 'slot suppressed');
    expect(slots).toHaveLength(1);
    // 300 high, 28 above and 56 below the plot.
    expect(num(slots[0]!.height)).toBe(300 - 28 - 56);
    expect(svg).toContain('protects another cell');
  });
});

describe('countHeatMap', () => {
  const svg = countHeatMap({
    title: 'Customers per R × F cell',
    rows: ['R2', 'R1'],
    cols: ['F1', 'F2', 'F3'],
    cells: [[120, null, 30], [60, 15, null]],
    cellTexts: [[undefined, undefined, '≥ 30'], [undefined, undefined, undefined]],
    suppressedLabels: [[undefined, '客户少于 10 人', undefined], [undefined, undefined, undefined]],
    suppressedTitles: [[undefined, '该单元涉及的客户少于 10 人', undefined], [undefined, undefined, undefined]],
  });

  it('shades cells deeper the larger their count, the largest darkest', () => {
    const cells = elements(svg, 'rect', 'cell');
    const shade = cells.map((c) => ({ v: num(c['data-value']), red: Number(/rgb\((\d+),/.exec(c.fill!)![1]) }));
    expect(shade.map((s) => s.v)).toEqual([120, 30, 60, 15]);
    const byValue = [...shade].sort((a, b) => a.v - b.v);
    for (let i = 1; i < byValue.length; i++) expect(byValue[i]!.red).toBeLessThan(byValue[i - 1]!.red);
    // The largest is the scale's end, rgb(8,48,107); a count c has t = c / 120.
    expect(cells[0]!.fill).toBe('rgb(8,48,107)');
    expect(cells[2]!.fill).toBe(`rgb(${[239, 246, 255].map((a, i) => Math.round(a + ([8, 48, 107][i]! - a) * 0.5)).join(',')})`);
  });

  it('hatches a withheld cell with its reason and leaves a cell with no customers empty', () => {
    expect(elements(svg, 'rect', 'slot suppressed')).toHaveLength(1);
    expect(elements(svg, 'rect', 'cell empty')).toHaveLength(1);
    expect(svg).toContain('客户少于 10 人');
    expect(svg).toContain('<title>R2, F2: 该单元涉及的客户少于 10 人</title>');
    expect(svg).toContain('>≥ 30</text>');
  });
});

describe('scatterChart', () => {
  const points = [
    { x: 1.5, y: 120, size: 400, label: '1' },
    { x: 6, y: 80, size: 100, label: '2' },
    { x: 3, y: 300, size: 25, label: '3' },
  ];
  const svg = scatterChart({ title: 'Centroids', points, xLabel: 'Orders', yLabel: 'Mean order value' });
  const circles = elements(svg, 'circle', 'point');

  it('sizes bubbles by area: r² proportional to the cluster size, the largest radius 26', () => {
    const r = circles.map((c) => num(c.r));
    expect(r[0]).toBeCloseTo(26, 2);
    expect((r[1]! ** 2) / (r[0]! ** 2)).toBeCloseTo(100 / 400, 3);
    expect((r[2]! ** 2) / (r[0]! ** 2)).toBeCloseTo(25 / 400, 3);
  });

  it('places centroids linearly in x and y (y up)', () => {
    const cx = circles.map((c) => num(c.cx));
    const cy = circles.map((c) => num(c.cy));
    const sx = (cx[1]! - cx[0]!) / (6 - 1.5);
    expect((cx[2]! - cx[0]!) / (3 - 1.5)).toBeCloseTo(sx, 1);
    const sy = (cy[1]! - cy[0]!) / (80 - 120);
    expect(sy).toBeLessThan(0);
    expect((cy[2]! - cy[0]!) / (300 - 120)).toBeCloseTo(sy, 1);
    expect(svg).toMatch(/role="img"/);
    expect(svg).toContain('<title>1: Orders 1.5, Mean order value 120 (400)</title>');
  });
});

describe('k-means units', () => {
  it('turn model values back into the features\' own units', () => {
    // analytics/features.ts: orders / 10, mean order value in yuan / 100, mean gap days / 30.
    expect(inUnits('orders', 0.35)).toBeCloseTo(3.5, 12);
    expect(inUnits('avg_order_value', 1.25)).toBeCloseTo(125, 12);
    expect(inUnits('mean_gap_days', 2)).toBeCloseTo(60, 12);
    expect(inUnits('return_rate', 0.1)).toBeCloseTo(10, 12);
    expect(inUnits('income', 7)).toBe(7);
    expect(Object.keys(FEATURE_UNITS)).toContain('tenure_years');
  });
});

describe('rfmGrid', () => {
  const bucket = (n: number) => Array.from({ length: n }, (_, i) => ({ score: i + 1, from: i, to: i + 1 }));
  const cells: any[] = [];
  // customers = 100·r + 10·f + m; r2f1m2 and r1f2m1, r1f2m2 withheld.
  for (const r of [1, 2]) for (const f of [1, 2]) for (const m of [1, 2]) {
    const suppressed = (r === 2 && f === 1 && m === 2) || (r === 1 && f === 2);
    cells.push({ recencyScore: r, frequencyScore: f, monetaryScore: m, suppressed, customers: suppressed ? null : 100 * r + 10 * f + m });
  }
  const result = { recency: bucket(2), frequency: bucket(2), monetary: bucket(2), cells };
  const reasons = { label: (c: string) => `L:${c}`, why: (c: string) => `W:${c}` };

  it('sums customers over the monetary scores, marking partly withheld sums and fully withheld cells', () => {
    const g = rfmGrid(result, 'all', reasons);
    expect(g.rScores).toEqual([2, 1]);
    expect(g.fScores).toEqual([1, 2]);
    // R2: F1 has m1 only (211), F2 both (221 + 222); R1: F1 both (111 + 112), F2 none.
    expect(g.cells).toEqual([[211, 443], [223, null]]);
    expect(g.cellTexts[0]![0]).toBe('≥ 211');
    expect(g.cellTexts[0]![1]).toBeUndefined();
    expect(g.suppressedLabels[1]![1]).toBe('L:r1f2m1 / L:r1f2m2');
    expect(g.suppressedTitles[1]![1]).toBe('M1: W:r1f2m1 M2: W:r1f2m2');
  });

  it('shows one monetary score\'s cells as they are', () => {
    const g = rfmGrid(result, 2, reasons);
    expect(g.cells).toEqual([[null, 222], [112, null]]);
    expect(g.suppressedLabels[0]![0]).toBe('L:r2f1m2');
    expect(g.cellTexts.flat().filter(Boolean)).toEqual([]);
  });
});

describe('recentItems', () => {
  const at = (m: number) => `2026-12-07T10:${String(m).padStart(2, '0')}:00.000Z`;
  const query = (id: string, m: number, fitId: string | null = null, fitRound: number | null = null) => ({ queryId: id, kind: fitId ? 'kmeans-round' : 'rfm', purpose: 'p', status: 'released', contributions: 3, targetMerchants: 3, createdAt: at(m), fitId, fitRound });

  it('lists a fit once, newest first, with its 31 rounds inside it', () => {
    const rounds = Array.from({ length: 31 }, (_, i) => query(`r${i + 1}`, 10 + i, 'fit-1', i + 1));
    const queries = [query('q-a', 5), ...rounds, query('q-b', 50)];
    const fits = [{ fitId: 'fit-1', kind: 'kmeans', purpose: 'p', status: 'done', round: 31, retries: [], createdAt: at(9) }];
    const items = recentItems(queries, fits);
    expect(items.map((i) => (i.kind === 'fit' ? i.fitId : i.query.queryId))).toEqual(['q-b', 'fit-1', 'q-a']);
    expect(items[1]!.rounds).toHaveLength(31);
  });

  it('keeps rounds of a fit missing from the fit list in one row, and fits without listed rounds too', () => {
    const queries = [query('r1', 1, 'fit-x', 1), query('r2', 2, 'fit-x', 2)];
    const fits = [{ fitId: 'fit-2', kind: 'kmeans', purpose: 'p', status: 'running', round: 4, retries: [], createdAt: at(3) }];
    const items = recentItems(queries, fits);
    expect(items.map((i) => [i.kind, i.fitId, i.rounds?.length])).toEqual([['fit', 'fit-2', 0], ['fit', 'fit-x', 2]]);
    expect(recentItems(Array.from({ length: 80 }, (_, i) => query(`q${i}`, i % 60)), [])).toHaveLength(50);
  });
});
