/**
 * The console's view of a gradient-boosted-trees model (coordinator/console/
 * gbt-view.js) in a real headless Chromium (playwright-core, fresh profile):
 * the console's own files are served to the page from disk, and the page
 * renders a model fitted through the kind's own functions on synthetic demo
 * shops (the console's template spec, customers with a hold-out). Checked
 * against the model's JSON: every node of the first trees shown with its
 * split (variable and threshold or level set) or leaf (value and rows), and
 * children under their parent; the importance bars in the order of the total
 * split gain per variable summed here from the trees; the ROC curve of the
 * held-out evaluation; and text from the spec (levels, variable names) shown
 * as text, never as markup. A screenshot lands in test-output/console/.
 *
 * Without Chromium the suite is skipped with the reason in its name.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GbtFitModel } from '../../analytics/gradient-boosted-trees.js';
import { fitTemplate } from '../../coordinator/console/spec-templates.js';
import { makeShops, type SynthShops } from '../../harness/shops.js';
import { consentedViews, fitGbtInProcess } from '../helpers/gbt-in-process.js';

// Code inside page.evaluate runs in the browser; the project's lib has no DOM types.
declare const document: { querySelector(selector: string): any; querySelectorAll(selector: string): Iterable<any>; body: any };
declare const window: Record<string, any>;

const CHROMIUM = process.env.FEDMART_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const CONSOLE = resolve(import.meta.dirname, '../../coordinator/console');
const SHOTS = resolve(import.meta.dirname, '../../test-output/console');
const ORIGIN = 'http://console.test';
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html' };
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="stylesheet" href="styles.css"></head><body><main id="main"></main>
<script type="module">
import { gbtModelView } from './gbt-view.js';
import { setLang } from './i18n.js';
setLang('en');
window.render = (model) => { const main = document.getElementById('main'); main.replaceChildren(gbtModelView(model)); };
window.ready = true;
</script></body></html>`;

type Node = GbtFitModel['trees'][number]['nodes'][number];

/** What the page shows of one node: its class, condition or value, rows, and parent's id. */
interface Shown {
  tree: number;
  id: number;
  kind: string;
  condition: string | null;
  value: string | null;
  rows: string | null;
  parent: number | null;
}

describe.skipIf(!HAVE_CHROMIUM)(`gradient-boosted-trees model view in Chromium${HAVE_CHROMIUM ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let context: BrowserContext;
  let profile: string;
  let shops: SynthShops;
  let model: GbtFitModel;
  const pageErrors: string[] = [];

  async function rendered(m: unknown): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${ORIGIN}/view.html`);
    await page.waitForFunction(() => window.ready === true);
    await page.evaluate((json) => window.render(JSON.parse(json)), JSON.stringify(m));
    await page.locator('#gbt-model').waitFor();
    return page;
  }

  beforeAll(async () => {
    shops = await makeShops(3, 'console-gbt-view', { customersPerShop: { min: 300, max: 300 } });
    const spec = { ...fitTemplate('gradient-boosted-trees', 'marketing-analytics'), trees: 4, depth: 2, learningRate: 0.3 };
    model = fitGbtInProcess(spec, await consentedViews(shops, 'marketing-analytics'), 10).model;
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'fedmart-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
      viewport: { width: 1280, height: 900 },
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
    if (shops) rmSync(shops.dir, { recursive: true, force: true });
  });

  it('shows the first trees node by node: splits with their variable and threshold or levels, leaves with their value and rows', async () => {
    const page = await rendered(model);
    const shown = (await page.evaluate(() => [...document.querySelectorAll('figure.gbt-tree li[data-node]')].map((li) => ({
      tree: Number(li.closest('figure.gbt-tree').dataset.tree),
      id: Number(li.dataset.node),
      kind: String(li.className),
      condition: li.querySelector(':scope > .gbt-condition')?.textContent ?? null,
      value: li.querySelector(':scope > .gbt-value')?.textContent ?? null,
      rows: li.querySelector(':scope > .gbt-rows')?.textContent ?? null,
      parent: li.parentElement.closest('li[data-node]') ? Number(li.parentElement.closest('li[data-node]').dataset.node) : null,
    })))) as Shown[];
    const shownTrees = Math.min(3, model.trees.length);
    expect(await page.locator('figure.gbt-tree').count()).toBe(shownTrees);
    expect(await page.locator('#gbt-trees-shown').textContent()).toBe(`Trees 1–${shownTrees} of ${model.trees.length}`);
    const want = model.trees.slice(0, shownTrees).flatMap((tree, t) => tree.nodes.map((n: Node) => ({
      tree: t,
      id: n.id,
      kind: n.kind === 'split' ? 'gbt-split' : 'gbt-leaf',
      condition: n.kind === 'split' ? (n.split.type === 'numeric' ? `${n.split.variable} < ${n.split.threshold}` : `${n.split.variable} ∈ {${n.split.levels.join(', ')}}`) : null,
      value: n.kind === 'leaf' ? `leaf ${n.value.toFixed(4)}` : null,
      rows: n.kind === 'open' ? null : `${n.subjects.toLocaleString('en-GB')} rows`,
      parent: n.id === 0 ? null : (n.id - 1) >> 1,
    })));
    const key = (s: Shown) => `${s.tree}/${String(s.id).padStart(3, '0')}`;
    expect([...shown].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...want].sort((a, b) => key(a).localeCompare(key(b))));
    expect(want.filter((n) => n.kind === 'gbt-split').length).toBeGreaterThanOrEqual(shownTrees);
    // Left children are the rows meeting the condition.
    expect(await page.locator('figure.gbt-tree li[data-node="1"] > .gbt-branch').first().textContent()).toBe('yes: ');
    expect(await page.locator('figure.gbt-tree li[data-node="2"] > .gbt-branch').first().textContent()).toBe('no: ');
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, '14-gbt-model-view.png'), fullPage: true });
    await page.close();
  });

  it('pages through the trees three at a time: later trees shown node by node, the buttons disabled at either end', async () => {
    expect(model.trees.length).toBeGreaterThan(3);
    const page = await rendered(model);
    expect(await page.locator('#gbt-prev').isDisabled()).toBe(true);
    expect(await page.locator('#gbt-next').isDisabled()).toBe(false);
    await page.locator('#gbt-next').click();
    await page.locator('figure.gbt-tree[data-tree="3"]').waitFor();
    const last = Math.min(6, model.trees.length);
    expect(await page.locator('#gbt-trees-shown').textContent()).toBe(`Trees 4–${last} of ${model.trees.length}`);
    const trees = await page.evaluate(() => [...document.querySelectorAll('figure.gbt-tree')].map((f) => Number(f.dataset.tree)));
    expect(trees).toEqual(Array.from({ length: last - 3 }, (_, i) => 3 + i));
    // Tree 4's nodes, each with its split or leaf value, as in its JSON.
    const nodes = await page.evaluate(() => [...document.querySelectorAll('figure.gbt-tree[data-tree="3"] li[data-node]')].map((li) => [Number(li.dataset.node), li.querySelector(':scope > .gbt-condition')?.textContent ?? li.querySelector(':scope > .gbt-value')?.textContent]));
    expect(nodes.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
      model.trees[3]!.nodes.map((n: Node) => [n.id, n.kind === 'split' ? (n.split.type === 'numeric' ? `${n.split.variable} < ${n.split.threshold}` : `${n.split.variable} ∈ {${n.split.levels.join(', ')}}`) : n.kind === 'leaf' ? `leaf ${n.value.toFixed(4)}` : null]),
    );
    expect(await page.locator('#gbt-next').isDisabled()).toBe(last === model.trees.length);
    await page.locator('#gbt-prev').click();
    await page.locator('figure.gbt-tree[data-tree="0"]').waitFor();
    expect(await page.locator('#gbt-prev').isDisabled()).toBe(true);
    await page.close();
  });

  it('draws the importance bars largest total split gain first, and the ROC of the held-out evaluation', async () => {
    const page = await rendered(model);
    // Total gain per variable summed here from the splits the trees record.
    const gains = new Map<string, number>();
    for (const tree of model.trees) {
      for (const n of tree.nodes) if (n.kind === 'split') gains.set(n.split.variable, (gains.get(n.split.variable) ?? 0) + ((n as { gain?: number }).gain ?? Number.NaN));
    }
    expect([...gains.values()].every((g) => g > 0)).toBe(true);
    const order = [...gains].sort((a, b) => b[1] - a[1]).map(([v]) => v);
    expect(model.importance?.filter((v) => v.gain > 0).map((v) => v.variable)).toEqual(order);
    const bars = await page.locator('#gbt-importance svg.chart rect.bar title').allTextContents();
    expect(bars.map((b) => b.slice(0, b.indexOf(':'))).slice(0, order.length)).toEqual(order);
    expect(await page.locator('#gbt-importance tbody th').allTextContents()).toEqual(bars.map((b) => b.slice(0, b.indexOf(':'))));

    const ev = model.evaluation as { positiveHistogram?: number[]; auc?: number | null } | undefined;
    expect(Array.isArray(ev?.positiveHistogram)).toBe(true);
    expect(await page.locator('#gbt-evaluation svg.chart polyline.roc').count()).toBe(1);
    expect(await page.locator('#gbt-evaluation table').textContent()).toContain(`AUC${ev!.auc!.toFixed(4)}`);
    await page.close();

    // A model without importance or evaluation shows neither.
    const { importance: _i, evaluation: _e, ...bare } = model;
    const plain = await rendered(bare);
    expect(await plain.locator('#gbt-importance').count()).toBe(0);
    expect(await plain.locator('#gbt-evaluation').count()).toBe(0);
    expect(await plain.locator('figure.gbt-tree').count()).toBe(Math.min(3, model.trees.length));
    await plain.close();
  });

  it('shows levels and variable names from the spec as text, never as markup', async () => {
    const hostile = '<img src=x onerror="window.pwned=1">';
    const trees = model.trees.map((tree) => ({ nodes: tree.nodes.map((n) => (n.kind === 'split' ? { ...n, split: n.split.type === 'categorical' ? { ...n.split, levels: [hostile] } : { ...n.split, variable: `<b>${n.split.variable}</b>` } } : n)) }));
    const page = await rendered({ ...model, trees, importance: [{ variable: '<script>window.pwned=2</script>', gain: 1 }] });
    expect(await page.evaluate(() => [...document.querySelectorAll('#gbt-model img, #gbt-model b, #gbt-model script')].length)).toBe(0);
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    const text = (await page.locator('#gbt-model').textContent())!;
    expect(text.includes(hostile) || text.includes('<b>')).toBe(true);
    expect(text).toContain('<script>window.pwned=2</script>');
    await page.close();
    expect(pageErrors).toEqual([]);
  });
});
