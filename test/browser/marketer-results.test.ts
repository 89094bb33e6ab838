/**
 * The marketer's result views (coordinator/console/marketer.js and the views
 * it calls) in a real headless Chromium (playwright-core, fresh profile):
 * the console's own files are served to the page from disk, and the page
 * renders results made by the kinds' own finalise functions from release
 * totals written here, with withheld cells of different reasons. Checked
 * against numbers worked out here: the RFM heat map's R × F sums and its
 * withheld cells, each with its own reason in Chinese and English; the
 * histogram's bars proportional to the bin counts and withheld bins drawn as
 * slots, never bars; the k-means centroids in the features' own units with
 * bubble areas proportional to the cluster sizes; and a fit of 31 rounds as
 * one row of the query list. Screenshots land in test-output/browser/.
 *
 * Without Chromium the suite is skipped with the reason in its name.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainReason, withheldCellsOf, withheldLabel } from '../../analytics/disclosure-reasons.js';
import { finaliseHistogram, parseHistogramSpec } from '../../analytics/histogram.js';
import type { SuppressionReasonCode } from '../../analytics/query-definition.js';
import { finaliseRfm, parseRfmSpec } from '../../analytics/rfm.js';
import { rfmTriples } from '../../analytics/rfm-spec.js';
import { specTemplate } from '../../coordinator/console/spec-templates.js';

// Code inside page.evaluate runs in the browser; the project's lib has no DOM types.
declare const document: { querySelector(selector: string): any; querySelectorAll(selector: string): Iterable<any> };
declare const window: Record<string, any>;

const CHROMIUM = process.env.FEDMART_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const CONSOLE = resolve(import.meta.dirname, '../../coordinator/console');
const SHOTS = resolve(import.meta.dirname, '../../test-output/browser');
const ORIGIN = 'http://console.test';
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html' };
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="styles.css"></head><body><main id="main"></main>
<script type="module">
import { renderResult } from './marketer.js';
import { kmeansModelView } from './kmeans-view.js';
import { recentTable } from './query-list.js';
import { setLang } from './i18n.js';
const main = document.getElementById('main');
window.show = (lang, what, json) => {
  setLang(lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  const v = JSON.parse(json);
  main.replaceChildren();
  if (what === 'result') { const box = document.createElement('section'); main.append(box); renderResult(box, v); }
  if (what === 'kmeans') { const card = document.createElement('div'); card.className = 'card'; card.append(kmeansModelView(v)); main.append(card); }
  if (what === 'list') { const card = document.createElement('section'); card.className = 'card'; card.append(recentTable(v.queries, v.fits)); main.append(card); }
};
window.ready = true;
</script></body></html>`;

const K = 10;
const P = 60;
type Cells = Record<string, { suppressed: boolean; totals?: Record<string, bigint>; reasonCode?: SuppressionReasonCode }>;

/** A released cell with `stats` totals, or a withheld one with `code`. */
function cell(name: string, stats: Record<string, number>, code?: SuppressionReasonCode): Cells[string] {
  if (code) return { suppressed: true, reasonCode: code };
  return { suppressed: false, totals: Object.fromEntries(Object.entries(stats).map(([k, v]) => [`${name}.${k}`, BigInt(v)])) };
}

/** The stored result of a table kind: the finalised table and its withheld cells with reasons (as the coordinator adds them). */
function stored<T extends object>(result: T, cells: Cells): T & { withheld: ReturnType<typeof withheldCellsOf> } {
  const withheld = withheldCellsOf({ cells: cells as never, policy: { minMerchants: 3, minSubjects: K }, disclosure: { dominance: { maxSharePercent: P } } as never });
  return { ...result, withheld };
}

// RFM with the console's template spec (4 × 4 × 4 scores): customers = (13r + 7f + 3m) mod 29; fewer than K withheld
// for that reason, one cell withheld for dominance and one to protect another.
const rfmSpec = parseRfmSpec({ kind: 'rfm', ...specTemplate('rfm', 'marketing-analytics') });
const customersOf = (r: number, f: number, m: number) => (13 * r + 7 * f + 3 * m) % 29;
const rfmCode = (r: number, f: number, m: number): SuppressionReasonCode | undefined =>
  r === 4 && f === 4 && m === 2 ? 'DOMINANCE' : r === 3 && f === 3 && m === 2 ? 'SECONDARY' : customersOf(r, f, m) < K ? 'FEWER_THAN_K_SUBJECTS' : undefined;
const rfmCells: Cells = {};
const tiers = { core: { customers: 0, orders: 0, spend_cents: 0 }, ordinary: { customers: 0, orders: 0, spend_cents: 0 } };
for (const [r, f, m] of rfmTriples(rfmSpec)) {
  const c = customersOf(r, f, m);
  const stats = { customers: c, orders: c * f, spend_cents: c * m * 30_000 };
  rfmCells[`r${r}f${f}m${m}`] = cell(`r${r}f${f}m${m}`, stats, rfmCode(r, f, m));
  const tier = tiers[r >= 3 && f >= 3 ? 'core' : 'ordinary'];
  for (const k of ['customers', 'orders', 'spend_cents'] as const) tier[k] += stats[k];
}
rfmCells.core = cell('core', tiers.core);
rfmCells.ordinary = cell('ordinary', tiers.ordinary);
const rfmQuery = { queryId: 'q-rfm', kind: 'rfm', spec: specTemplate('rfm', 'marketing-analytics'), minSubjects: K, minMerchants: 3, status: 'released', result: stored(finaliseRfm(rfmSpec, { cells: rfmCells }), rfmCells) };

// A histogram of order values with the template's edges (¥0, 50, 100, 200, 500, 1,000, 1,000,000).
const histSpec = parseHistogramSpec({ kind: 'histogram', ...specTemplate('histogram', 'marketing-analytics') });
const counts = [120, 340, 8, 210, 45, 3];
const buyers = [90, 250, 6, 160, 40, 3];
const histCodes: (SuppressionReasonCode | undefined)[] = [undefined, undefined, 'FEWER_THAN_K_SUBJECTS', undefined, 'DOMINANCE', 'FEWER_THAN_K_SUBJECTS'];
const histCells: Cells = Object.fromEntries(counts.map((n, j) => [`bin.${j}`, cell(`bin.${j}`, { items: n, customers: buyers[j]! }, histCodes[j])]));
histCells.all = cell('all', { items: 726, customers: 420, value_sum: 726 * 15_000 });
const histQuery = { queryId: 'q-hist', kind: 'histogram', spec: specTemplate('histogram', 'marketing-analytics'), minSubjects: K, minMerchants: 3, status: 'released', result: stored(finaliseHistogram(histSpec, { cells: histCells }), histCells) };

describe.skipIf(!HAVE_CHROMIUM)(`marketer result views in Chromium${HAVE_CHROMIUM ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let context: BrowserContext;
  let profile: string;
  const pageErrors: string[] = [];

  async function shown(lang: 'zh' | 'en', what: string, value: unknown): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${ORIGIN}/view.html`);
    await page.waitForFunction(() => window.ready === true);
    await page.evaluate(([l, w, json]) => window.show(l, w, json), [lang, what, JSON.stringify(value)] as const);
    return page;
  }

  /** Every chart of the page has role img, a title and a description, and a table beside it. */
  async function chartsAccessible(page: Page): Promise<void> {
    const charts = await page.evaluate(() => [...document.querySelectorAll('svg.chart')].map((s) => ({
      role: s.getAttribute('role'),
      title: s.querySelector('title')?.textContent ?? '',
      desc: s.querySelector('desc')?.textContent ?? '',
      table: Boolean(s.closest('.chart-with-table')?.querySelector('table')),
    })));
    expect(charts.length).toBeGreaterThan(0);
    for (const c of charts) {
      expect(c.role).toBe('img');
      expect(c.title).not.toBe('');
      expect(c.desc).not.toBe('');
      expect(c.table).toBe(true);
    }
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'fedmart-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
      viewport: { width: 1360, height: 900 },
    });
    // The console's files from disk; nothing else is reachable.
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== ORIGIN) return route.abort();
      if (url.pathname === '/view.html') return route.fulfill({ status: 200, contentType: 'text/html', body: PAGE });
      const file = join(CONSOLE, url.pathname.slice(1));
      if (!file.startsWith(CONSOLE) || !existsSync(file)) return route.fulfill({ status: 404, body: '' });
      return route.fulfill({ status: 200, contentType: TYPES[extname(file)] ?? 'application/octet-stream', body: readFileSync(file) });
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    expect(pageErrors).toEqual([]);
  });

  it('shows an RFM result as an R × F heat map summed over M, with the cells\' table beside it, not as JSON', async () => {
    const page = await shown('zh', 'result', rfmQuery);
    await page.locator('#result-card svg.chart').waitFor();
    expect(await page.locator('#result-card pre.json').count()).toBe(0);
    await chartsAccessible(page);
    // Sums over M of the released cells, worked out here; a cell whose every M part is withheld is a slot.
    const want = new Map<string, number>();
    let allWithheld = 0;
    for (let r = 4; r >= 1; r--) {
      for (let f = 1; f <= 4; f++) {
        const open = [1, 2, 3, 4].filter((m) => rfmCode(r, f, m) === undefined);
        if (open.length === 0) allWithheld += 1;
        else want.set(`${r}/${f}`, open.reduce((a, m) => a + customersOf(r, f, m), 0));
      }
    }
    const drawn = await page.evaluate(() => [...document.querySelectorAll('#result-card svg.chart rect.cell')].map((c) => Number(c.getAttribute('data-value'))));
    expect(drawn).toEqual([...want.values()]);
    expect(await page.locator('#result-card svg.chart rect.slot.suppressed').count()).toBe(allWithheld);
    // The table beside it: all 64 cells.
    expect(await page.locator('#result-table tbody tr').count()).toBe(64);
    await page.screenshot({ path: join(SHOTS, 'marketer-rfm-zh.png'), fullPage: true });
    await page.close();
  });

  it('shows one monetary score\'s cells with each withheld cell\'s own reason, in Chinese and in English', async () => {
    for (const lang of ['zh', 'en'] as const) {
      const page = await shown(lang, 'result', rfmQuery);
      await page.locator('#rfm-monetary').selectOption('2');
      await page.locator('#result-table tbody tr').nth(15).waitFor();
      expect(await page.locator('#result-table tbody tr').count()).toBe(16);
      const withheld = rfmTriples(rfmSpec).filter(([r, f, m]) => m === 2 && rfmCode(r, f, m));
      const slots = await page.evaluate(() => [...document.querySelectorAll('#result-card svg.chart rect.slot.suppressed')].map((s) => s.querySelector('title').textContent));
      expect(slots).toHaveLength(withheld.length);
      const params = { k: K, p: P };
      for (const [r, f, m] of withheld) {
        const why = explainReason(rfmCode(r, f, m)!, params)[lang];
        expect(slots.filter((s: string) => s.endsWith(why)).length, `r${r}f${f}m${m}`).toBeGreaterThan(0);
        const row = page.locator('#result-table tbody tr', { has: page.locator('th', { hasText: `R${r} F${f} M${m}` }) });
        expect(await row.locator('.withheld').textContent()).toBe(`${lang === 'zh' ? '已抑制' : 'suppressed'}: ${withheldLabel(rfmCode(r, f, m)!, params)[lang]}`);
        expect(await row.locator('.withheld').getAttribute('title')).toBe(why);
      }
      // Three different reasons are on the page, each written into its own slot.
      const labels = await page.evaluate((sep) => [...document.querySelectorAll('#result-card svg.chart text.slot-label')].map((t) => [...t.querySelectorAll('tspan')].map((x) => x.textContent).join(sep)), lang === 'en' ? ' ' : '');
      expect(new Set(labels)).toEqual(new Set(withheld.map(([r, f, m]) => withheldLabel(rfmCode(r, f, m)!, params)[lang])));
      expect(new Set(labels).size).toBe(3);
      await page.screenshot({ path: join(SHOTS, `marketer-rfm-m2-${lang}.png`), fullPage: true });
      await page.close();
    }
  });

  it('shows a histogram as bars over the bin ranges, proportional to the counts, withheld bins as slots with their reasons', async () => {
    const page = await shown('zh', 'result', histQuery);
    await page.locator('#result-card svg.chart').waitFor();
    expect(await page.locator('#result-card pre.json').count()).toBe(0);
    await chartsAccessible(page);
    const bars = await page.evaluate(() => [...document.querySelectorAll('#result-card svg.chart rect.bar')].map((b) => [Number(b.getAttribute('data-bin')), Number(b.getAttribute('height'))]));
    const open = counts.map((n, j) => [j, n] as const).filter(([j]) => histCodes[j] === undefined);
    expect(bars.map(([j]) => j)).toEqual(open.map(([j]) => j));
    const perItem = bars[0]![1]! / open[0]![1];
    for (const [i, [, n]] of open.entries()) expect(bars[i]![1]!).toBeCloseTo(n * perItem, 6);
    const yuan = (v: number) => `¥${v.toLocaleString('zh-CN')}`;
    const slots = await page.evaluate(() => [...document.querySelectorAll('#result-card svg.chart rect.slot.suppressed')].map((s) => s.querySelector('title').textContent));
    expect(slots).toEqual([2, 4, 5].map((j) => {
      const b = histQuery.result.bins[j]!;
      return `${yuan(b.from)}–${yuan(b.to)}: ${explainReason(histCodes[j]!, { k: K, p: P }).zh}`;
    }));
    // The table beside it: every bin, withheld ones with their own short reason.
    const rows = await page.locator('#result-table tbody tr').allTextContents();
    expect(rows).toHaveLength(6);
    expect(rows[4]).toContain(withheldLabel('DOMINANCE', { k: K, p: P }).zh);
    expect(rows[2]).toContain(withheldLabel('FEWER_THAN_K_SUBJECTS', { k: K, p: P }).zh);
    expect(rows[1]).toContain('340');
    await page.screenshot({ path: join(SHOTS, 'marketer-histogram-zh.png'), fullPage: true });
    await page.close();
  });

  it('shows k-means centroids in the features\' own units and a bubble chart sized by the clusters\' customers', async () => {
    // Model values as the fit stores them: orders / 10 and mean order value in yuan / 100 (analytics/features.ts).
    const model = { kind: 'kmeans', features: ['orders', 'avg_order_value', 'return_rate'], centroids: [[0.12, 0.85, 0.02], [0.45, 2.4, 0.1], [0.2, 5.1, 0.3]], sizes: [900, 400, 100] };
    const page = await shown('zh', 'kmeans', model);
    await page.locator('#kmeans-model svg.chart').waitFor();
    await chartsAccessible(page);
    expect(await page.locator('#centroid-table thead th').allTextContents()).toEqual(['簇', '客户数', '订单数（单）', '平均订单金额（元）', '退货率（%）']);
    const cells = await page.locator('#centroid-table tbody tr').nth(1).locator('td').allTextContents();
    expect(cells).toEqual(['400', '4.5', '240', '10']);
    const circles = await page.evaluate(() => [...document.querySelectorAll('#kmeans-model svg.chart circle.point')].map((c) => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy')), Number(c.getAttribute('r'))]));
    expect(circles).toHaveLength(3);
    for (const i of [1, 2]) expect(circles[i]![2]! ** 2 / circles[0]![2]! ** 2).toBeCloseTo(model.sizes[i]! / model.sizes[0]!, 3);
    // x by orders (1.2, 4.5, 2 orders), y by mean order value (85, 240, 510 yuan; up is larger).
    expect(circles.map((c) => c[0]!).map((x, i, a) => Math.sign(x - a[0]!))).toEqual([0, 1, 1]);
    expect(circles[1]![0]!).toBeGreaterThan(circles[2]![0]!);
    expect(circles[2]![1]!).toBeLessThan(circles[1]![1]!);
    // Another pair: return rate (2, 10, 30 %) across.
    await page.locator('#centroid-x').selectOption({ label: '退货率（%）' });
    await expect.poll(() => page.locator('#kmeans-model svg.chart title').first().textContent()).toContain('退货率（%） × 平均订单金额（元）');
    const across = await page.evaluate(() => [...document.querySelectorAll('#kmeans-model svg.chart circle.point')].map((c) => Number(c.getAttribute('cx'))));
    expect((across[2]! - across[0]!) / (across[1]! - across[0]!)).toBeCloseTo((30 - 2) / (10 - 2), 1);
    await page.screenshot({ path: join(SHOTS, 'marketer-kmeans-zh.png'), fullPage: true });
    await page.close();
  });

  it('lists a fit of 31 rounds as one row of the query list, its rounds folded inside it', async () => {
    const at = (m: number) => new Date(Date.UTC(2026, 11, 7, 10, m)).toISOString();
    const query = { queryId: 'q-1', kind: 'rfm', purpose: 'marketing-analytics', status: 'released', contributions: 3, targetMerchants: 3, createdAt: at(1), fitId: null, fitRound: null };
    const fit = { fitId: 'fit-1', kind: 'kmeans', purpose: 'marketing-analytics', status: 'done', round: 31, retries: [{ round: 7, attempt: 1, code: 'TOO_FEW_MERCHANTS', contributions: 1, failedAt: at(20) }], createdAt: at(5) };
    const page = await shown('en', 'list', { queries: [query], fits: [fit] });
    await page.locator('#recent-table').waitFor();
    expect(await page.locator('#recent-table tbody > tr').count()).toBe(2);
    const details = page.locator('#recent-table details.fit-rounds');
    expect(await details.locator('summary').textContent()).toBe('31 rounds');
    expect(await details.locator('ol > li').first().isVisible()).toBe(false);
    await details.locator('summary').click();
    expect(await details.locator('ol > li').count()).toBe(31);
    expect(await details.locator('ol > li').nth(6).textContent()).toContain('attempt 1 failed (TOO_FEW_MERCHANTS, 1 merchants had answered)');
    await page.screenshot({ path: join(SHOTS, 'marketer-query-list-en.png'), fullPage: true });
    await page.close();
  });

  it('names each withheld cell\'s own reason in retention and lift tables, not one word for all', async () => {
    const w = (cell: string, reasonCode: SuppressionReasonCode) => ({ cell, reasonCode, reason: explainReason(reasonCode, { k: K, p: P }), params: { k: K, p: P } });
    const month = (k: number, retention: number | null) => ({ monthsSince: k, month: `2025-0${k + 1}`, active: retention === null ? null : Math.round(retention * 100), retention });
    const retention = {
      queryId: 'q-ret', kind: 'cohort-retention', spec: {}, minSubjects: K, minMerchants: 3, status: 'released',
      result: {
        asOf: '2025-12-31T00:00:00Z',
        cohorts: [
          { cohort: '2025-01', suppressed: false, customers: 100, months: [month(0, 1), month(1, null), month(2, 0.4)] },
          { cohort: '2025-02', suppressed: true, customers: null, months: [month(0, null), month(1, null)] },
          { cohort: '2025-03', suppressed: true, customers: null, months: [month(0, null)] },
        ],
        churn: [{ stage: 'loyal', suppressed: true, buyers: null, churned: null, churnRate: null }],
        withheld: [w('cohort.2025-01.m1', 'DOMINANCE'), w('cohort.2025-02', 'FEWER_THAN_K_SUBJECTS'), w('cohort.2025-03', 'SECONDARY'), w('churn.loyal', 'SECONDARY')],
      },
    };
    const page = await shown('en', 'result', retention);
    await page.locator('#result-card table').first().waitFor();
    // In the heat map: hatched, with the cell's own reason (a withheld cohort's months carry the cohort's).
    const hatched = await page.evaluate(() => [...document.querySelectorAll('#result-card svg.chart rect.cell.suppressed')].map((c) => c.querySelector('title').textContent));
    const full = (code: SuppressionReasonCode) => `${withheldLabel(code, { k: K, p: P }).en} — ${explainReason(code, { k: K, p: P }).en}`;
    expect(hatched).toEqual([`2025-01, M1: ${full('DOMINANCE')}`, `2025-02, M0: ${full('FEWER_THAN_K_SUBJECTS')}`, `2025-02, M1: ${full('FEWER_THAN_K_SUBJECTS')}`, `2025-03, M0: ${full('SECONDARY')}`]);
    const texts = await page.locator('#result-card .withheld').allTextContents();
    expect(texts).toEqual([
      `suppressed: ${withheldLabel('DOMINANCE', { k: K, p: P }).en}`,
      `suppressed: ${withheldLabel('FEWER_THAN_K_SUBJECTS', { k: K, p: P }).en}`,
      `suppressed: ${withheldLabel('SECONDARY', { k: K, p: P }).en}`,
      `suppressed: ${withheldLabel('SECONDARY', { k: K, p: P }).en}`,
    ]);
    expect(await page.locator('#withheld-table tbody th').allTextContents()).toEqual(['2025-01 · M1', '2025-02', '2025-03', 'Churn by lifecycle stage · Loyal']);
    await page.close();
  });

  it('shows a PCA result as bars of the variance each component explains, with the components\' table beside them', async () => {
    const eigenvalues = [2.2, 1.1, 0.5, 0.2];
    const features = ['recency_days', 'frequency', 'monetary_yuan', 'tenure_days'];
    const components = [0, 1].map((i) => ({ eigenvalue: eigenvalues[i]!, explained: eigenvalues[i]! / 4, cumulative: 0, loadings: features.map((_, j) => (i + 1) / (j + 2)) }));
    const pca = { queryId: 'q-pca', kind: 'pca', spec: {}, minSubjects: K, minMerchants: 3, status: 'released', result: { status: 'fitted', problem: null, n: 500, features, matrix: 'correlation', means: null, standardDeviations: null, eigenvalues, components } };
    const page = await shown('zh', 'result', pca);
    await page.locator('#result-card svg.chart').waitFor();
    await chartsAccessible(page);
    const heights = await page.evaluate(() => [...document.querySelectorAll('#result-card svg.chart rect.bar')].map((b) => Number(b.getAttribute('height'))));
    // Shares 2.2 : 1.1 : 0.5 : 0.2 of the total 4.
    expect(heights).toHaveLength(4);
    for (const i of [1, 2, 3]) expect(heights[i]! / heights[0]!).toBeCloseTo(eigenvalues[i]! / eigenvalues[0]!, 6);
    expect(await page.locator('#result-table tbody tr').nth(1).locator('td').allTextContents()).toEqual(['1.1000', '27.5%', '82.5%']);
    expect(await page.locator('#pca-loadings thead th').allTextContents()).toEqual(['特征', 'PC1', 'PC2']);
    expect(await page.locator('#pca-loadings tbody th').first().textContent()).toBe('距最近订单（天）');
    await page.screenshot({ path: join(SHOTS, 'marketer-pca-zh.png'), fullPage: true });
    await page.close();
  });
});
