/**
 * The web console in a real headless Chromium (Debian `chromium`, driven by
 * playwright-core, fresh profile, no network beyond the coordinator) against
 * a real cluster: key holder, coordinator and three merchant nodes answering
 * encrypted queries. A marketer runs a segment query and sees the chart and
 * the CSV; a compliance officer verifies the audit log and exports a report
 * that the page itself verifies; a marketer is refused the audit log.
 * Screenshots of every page land in test-output/console/.
 *
 * Without Chromium the suite is skipped with the reason in its name.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { TEST_TOKEN, api, startCluster, waitForFinal, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';

// Code inside page.evaluate runs in the browser; the project's lib has no DOM types.
declare const document: { querySelectorAll(selector: string): Iterable<any> };
declare const window: { scrollTo(x: number, y: number): void };

const CHROMIUM = process.env.FEDMART_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = resolve(import.meta.dirname, '../../test-output/console');

let cluster: Cluster;
let merchants: MerchantNode[] = [];
let answering: NodeJS.Timeout | undefined;
let context: BrowserContext;
let profile: string;
let origin: string;
const tokens: Record<'marketer' | 'compliance', { token: string; id: string }> = { marketer: { token: '', id: '' }, compliance: { token: '', id: '' } };
const foreignRequests: string[] = [];

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.getByLabel(/API 令牌|API token/).fill(token);
  await page.getByRole('button', { name: /^(登录|Sign in)$/ }).click();
  await page.locator('#who').filter({ hasText: /\S/ }).waitFor();
}

async function shot(page: Page, name: string, fullPage = true): Promise<string> {
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** Every form control has an accessible name (a label, aria-label or aria-labelledby). */
async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((el) => el.labels?.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby') && !el.closest('[hidden]'))
    .map((el) => String(el.outerHTML).slice(0, 80)));
}

describe.skipIf(!HAVE_CHROMIUM)(`web console in Chromium${HAVE_CHROMIUM ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 });
    origin = cluster.coordinator.httpAddress;
    merchants = await makeMerchants(await makeShops(3, 'console-browser'), cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    for (const m of merchants) await m.reportRightsRequests();
    let busy = false;
    answering = setInterval(() => {
      if (busy) return;
      busy = true;
      Promise.all(merchants.map((m) => m.answerOpenQueries())).catch(() => undefined).finally(() => { busy = false; });
    }, 250);
    for (const [role, body] of [['marketer', { role: 'marketer', userId: 'mkt-li', purposes: ['marketing-analytics'] }], ['compliance', { role: 'compliance', userId: 'dpo-wang' }]] as const) {
      const res = await api<{ token: string; user: { userId: string } }>(cluster, 'POST', '/v1/users', body);
      expect(res.status).toBe(201);
      tokens[role] = { token: res.body.token, id: res.body.user.userId };
    }
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'fedmart-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
      locale: 'zh-CN',
    });
    context.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:') && url !== 'about:blank' && url !== 'about:srcdoc') foreignRequests.push(url);
    });
  }, 180_000);

  afterAll(async () => {
    if (answering) clearInterval(answering);
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it('a marketer runs a segment query, watches the merchants answer and sees the chart, the table and the CSV', async () => {
    const page = await context.newPage();
    await signIn(page, tokens.marketer.token);
    await page.locator('#new-query').waitFor();
    expect(await page.locator('#purpose option').allTextContents()).toEqual(['marketing-analytics']);
    expect(await unlabelledControls(page)).toEqual([]);
    await shot(page, '1-marketer-new-query');
    await page.getByLabel('分群维度').selectOption('lifecycle_stage');
    await page.getByRole('button', { name: '运行查询' }).click();
    await page.waitForURL(/#\/queries\/q-[0-9a-f]+$/);
    await expect.poll(() => page.locator('#progress-label').textContent(), { timeout: 30_000 }).toMatch(/家商家已答复/);
    await page.locator('#result-card svg.chart rect.bar').first().waitFor({ timeout: 90_000 });
    expect(await page.locator('#progress-label').textContent()).toMatch(/3 \/ 3 家商家已答复 · 已发布/);
    expect(await page.locator('#thresholds').textContent()).toMatch(/至少 3 家商家，每个单元至少 10 名/);
    const bars = await page.locator('#result-card svg.chart rect.bar').count();
    expect(bars).toBeGreaterThanOrEqual(3);
    const labels = await page.locator('#result-table tbody th').allTextContents();
    expect(labels).toEqual(['潜在/新客', '活跃', '忠诚', '流失']);
    await page.getByLabel('图表指标').selectOption('repurchaseRate');
    await expect.poll(() => page.locator('#result-card svg.chart title').first().textContent()).toMatch(/复购率/);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: '下载 CSV' }).click();
    const csv = readFileSync(await (await download).path(), 'utf8');
    expect(csv.split('\r\n')[0]).toBe('\ufeffgroup,suppressed,customers,repeat_customers,orders,repurchase_rate,order_value_mean,order_value_variance,mean_days_between_orders');
    expect(csv.split('\r\n').filter((l) => l.length > 0)).toHaveLength(5);
    await shot(page, '2-marketer-result');
    // English labels on request.
    await page.getByRole('button', { name: 'English' }).click();
    await page.locator('#result-card').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('#result-table tbody th').allTextContents()).toEqual(['Prospect / new', 'Active', 'Loyal', 'Churned']);
    await shot(page, '3-marketer-result-en');
    await page.getByRole('button', { name: '中文' }).click();
    await page.close();
  });

  it('a marketer sees retention as a heat map and a campaign lift with confidence intervals', async () => {
    const page = await context.newPage();
    await signIn(page, tokens.marketer.token);
    const run = async (kind: string, spec: Record<string, unknown>) => {
      await page.goto(`${origin}/console/#/queries`);
      await page.getByLabel('查询类型').selectOption(kind);
      await page.getByLabel('查询规格（JSON）').fill(JSON.stringify(spec));
      await page.getByRole('button', { name: '运行查询' }).click();
      await page.waitForURL(/#\/queries\/q-[0-9a-f]+$/);
    };
    await run('cohort-retention', { purpose: 'marketing-analytics', asOf: '2025-12-31T00:00:00Z', cohorts: 6 });
    await page.locator('#result-card svg.chart rect.cell').first().waitFor({ timeout: 90_000 });
    expect(await page.locator('#result-card svg.chart rect.cell').count()).toBeGreaterThan(6);
    await shot(page, '9-marketer-retention-heatmap');
    await run('ab-lift', { purpose: 'marketing-analytics', campaignId: 'CMP-2025-618', compare: 'variant', outcome: 'clicked' });
    await page.locator('#result-card svg.chart circle.estimate').first().waitFor({ timeout: 90_000 });
    expect(await page.locator('#result-card svg.chart line.ci').count()).toBe(2);
    await shot(page, '10-marketer-ab-lift');
    await page.close();
  });

  it('a marketer opens an RFM and a histogram result as charts with their tables beside them, each withheld cell with its own reason', async () => {
    const page = await context.newPage();
    await signIn(page, tokens.marketer.token);
    /** Runs `kind` with the form's own example spec; the released query as the API returns it. */
    const run = async (kind: string): Promise<{ queryId: string; result: any }> => {
      await page.goto(`${origin}/console/#/queries`);
      await page.getByLabel('查询类型').selectOption(kind);
      await page.getByRole('button', { name: '运行查询' }).click();
      await page.waitForURL(/#\/queries\/q-[0-9a-f]+$/);
      await page.locator('#result-card svg.chart').waitFor({ timeout: 90_000 });
      const id = /q-[0-9a-f]+$/.exec(page.url())![0];
      return (await api<{ queryId: string; result: any }>(cluster, 'GET', `/v1/queries/${id}`)).body;
    };
    const rfm = await run('rfm');
    expect(await page.locator('#result-card pre.json').count()).toBe(0);
    expect(await page.locator('#result-card .chart-with-table svg.chart').getAttribute('role')).toBe('img');
    expect(await page.locator('#result-table tbody tr').count()).toBe(rfm.result.cells.length);
    const rfmWithheld = rfm.result.cells.filter((c: { suppressed: boolean }) => c.suppressed).length;
    expect(await page.locator('#result-table .withheld').count()).toBe(rfmWithheld);
    // Every withheld cell of the release is listed with its own reason code's label.
    expect(rfm.result.withheld.filter((w: { cell: string }) => /^r\d+f\d+m\d+$/.test(w.cell))).toHaveLength(rfmWithheld);
    await shot(page, '12-marketer-rfm');
    const hist = await run('histogram');
    expect(await page.locator('#result-card pre.json').count()).toBe(0);
    const bins = hist.result.bins as { suppressed: boolean; count: number | null }[];
    expect(await page.locator('#result-table tbody tr').count()).toBe(bins.length);
    const heights = await page.evaluate(() => [...document.querySelectorAll('#result-card svg.chart rect.bar')].map((b) => [Number(b.getAttribute('data-bin')), Number(b.getAttribute('height'))]));
    const open = bins.map((b, j) => [j, b.count] as const).filter(([j]) => !bins[j]!.suppressed);
    expect(heights.map(([j]) => j)).toEqual(open.map(([j]) => j));
    const [j0, h0] = heights.find(([, hh]) => hh! > 0)!;
    for (const [j, hh] of heights) expect(hh!).toBeCloseTo((bins[j!]!.count! * h0!) / bins[j0!]!.count!, 6);
    expect(await page.locator('#result-card svg.chart rect.slot.suppressed').count()).toBe(bins.length - open.length);
    await shot(page, '13-marketer-histogram');
    await page.close();
  });

  it('a marketer fits a churn-propensity model and sees its ROC curve from the held-out score histograms', async () => {
    const page = await context.newPage();
    await signIn(page, tokens.marketer.token);
    await page.goto(`${origin}/console/#/models`);
    await page.getByLabel('模型类型').selectOption('logistic-regression');
    expect(JSON.parse(await page.getByLabel('查询规格（JSON）').inputValue())).toMatchObject({ purpose: 'marketing-analytics', label: 'churning', holdoutPercent: 20 });
    await page.getByRole('button', { name: '开始训练' }).click();
    await page.waitForURL(/#\/models\/fit-[0-9a-f]+$/);
    const fitId = /fit-[0-9a-f]+$/.exec(page.url())![0];
    try {
      await page.locator('svg.chart polyline.roc').waitFor({ timeout: 150_000 });
    } catch (err) {
      await shot(page, '11-marketer-model-roc-failed');
      throw new Error(`${String(err)}; fit: ${JSON.stringify((await api(cluster, 'GET', `/v1/fits/${fitId}`)).body).slice(0, 600)}`);
    }
    expect(await page.locator('svg.chart').first().getAttribute('aria-labelledby')).toBeTruthy();
    expect(await page.locator('table').filter({ hasText: 'AUC' }).textContent()).toMatch(/AUC0\.\d{4}/);
    await shot(page, '11-marketer-model-roc');
    await page.close();
  }, 180_000);

  it('a marketer is refused the audit log, in the page and by the API, and the refusal is audited', async () => {
    const page = await context.newPage();
    await signIn(page, tokens.marketer.token);
    expect(await page.locator('#nav a').allTextContents()).toEqual(['分群查询', '模型']);
    await page.goto(`${origin}/console/#/audit`);
    await page.getByRole('heading', { name: '无权访问' }).waitFor();
    const answer = await page.evaluate(async (token) => {
      const res = await fetch('/v1/audit/entries?from=0&to=10', { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
    }, tokens.marketer.token);
    expect(answer).toMatchObject({ status: 403, body: { code: 'ROLE_FORBIDDEN' } });
    expect(answer.type).toMatch(/^application\/problem\+json/);
    await shot(page, '4-marketer-refused-audit');
    const log = cluster.coordinator.audit.log;
    const entries = await log.entries(0, await log.size());
    expect(entries.filter((e) => e.type === 'auth.failed' && e.actor === tokens.marketer.id)).toContainEqual(
      expect.objectContaining({ details: { surface: 'http', route: '/v1/audit/entries', reason: 'ROLE_FORBIDDEN' } }));
    await page.close();
  });

  it('a compliance officer verifies the audit log in the page: checkpoint signature and inclusion proofs', async () => {
    const page = await context.newPage();
    await signIn(page, tokens.compliance.token);
    // A valid signature under a key nobody pinned earns a warning, not a tick; pinning the audit key turns it green.
    await page.locator('#checkpoint-status .badge.warn').waitFor();
    expect(await page.locator('#checkpoint-status').textContent()).toContain('审计公钥未固定');
    expect(await page.locator('#checkpoint-status .badge.ok').count()).toBe(0);
    await page.getByLabel('固定审计公钥（十六进制）').fill(Buffer.from(cluster.coordinator.audit.publicKey).toString('hex'));
    await page.getByRole('button', { name: '保存' }).click();
    await page.locator('#checkpoint-status .badge.ok').waitFor();
    await page.locator('#timeline li').first().waitFor();
    await page.getByLabel('事件类型').selectOption('auth.failed');
    await page.getByRole('button', { name: '筛选' }).click();
    await expect.poll(() => page.locator('#timeline li').count()).toBeGreaterThan(0);
    expect(await page.locator('#timeline li .what code').first().textContent()).toBe('auth.failed');
    await page.getByLabel('事件类型').selectOption('');
    await page.getByRole('button', { name: '筛选' }).click();
    await page.getByRole('button', { name: '验证所显示的条目' }).click();
    await page.locator('#verify-status .badge.ok').waitFor({ timeout: 30_000 });
    const n = await page.locator('#timeline li').count();
    expect(await page.locator('#timeline .mark .badge.ok').count()).toBe(n);
    expect(await page.locator('#verify-status').textContent()).toMatch(new RegExp(`${n} / ${n} 条已对日志大小 \\d+ 的签名检查点验证`));
    expect(await unlabelledControls(page)).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, '5-compliance-audit-verified', false);
    await shot(page, '5-compliance-audit-verified-full');
    await page.goto(`${origin}/console/#/consent`);
    await page.locator('section.purpose[data-purpose="marketing-analytics"] svg.chart').waitFor();
    await shot(page, '6-compliance-consent');
    await page.goto(`${origin}/console/#/rights`);
    await page.locator('#rights-table').waitFor();
    await shot(page, '7-compliance-rights');
    await page.close();
  });

  it('a compliance officer exports a report in one click; the page verifies it and offers JSON, HTML and PDF', async () => {
    const page = await context.newPage();
    await signIn(page, tokens.compliance.token);
    await page.goto(`${origin}/console/#/reports`);
    await page.getByRole('button', { name: '导出报告' }).click();
    await page.locator('#verified').waitFor({ timeout: 90_000 });
    expect(await page.locator('#verified').getAttribute('class')).toContain('ok');
    expect(await page.locator('#verified').textContent()).toMatch(/^✓ 已验证：签名检查点、\d+ 条包含证明、范围完整性和报告包签名均有效/);
    // The key pinned on the audit page, checkpoint, inclusion proofs, range completeness, bundle signature.
    expect(await page.locator('#export-result td .badge.ok').count()).toBe(5);
    const pdfDownload = page.waitForEvent('download');
    await page.getByRole('button', { name: '下载 PDF 报告' }).click();
    const pdf = readFileSync(await (await pdfDownload).path());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    await page.locator('#report-preview').scrollIntoViewIfNeeded();
    await shot(page, '8-compliance-report-exported');
    await page.close();
  });

  it('an administrator creates a merchant operator in the console, who then sees their shop and its benchmark', async () => {
    // A benchmark grouped by age band besides the marketer's by lifecycle stage: each table is headed by its own grouping.
    const byAge = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { kind: 'segment-stats', purpose: 'marketing-analytics', groupBy: 'age_band' }, targetMerchants: 3,
    });
    expect(byAge.status, JSON.stringify(byAge.body)).toBe(201);
    expect((await waitForFinal(cluster, byAge.body.queryId)).status).toBe('released');
    const page = await context.newPage();
    await signIn(page, TEST_TOKEN);
    await page.goto(`${origin}/console/#/users`);
    await page.getByLabel('角色').selectOption('merchant');
    await page.getByLabel('店铺编号').fill(merchants[0]!.merchantId);
    await page.getByLabel('用户编号').fill('ops-shop-one');
    await page.getByRole('button', { name: '创建' }).click();
    const token = await page.locator('#u-token').inputValue();
    expect(token).toMatch(/^fm_/);
    expect(await unlabelledControls(page)).toEqual([]);
    await shot(page, '12-admin-users');
    await page.getByRole('button', { name: '退出' }).click();
    await signIn(page, token);
    await page.locator('svg.chart rect.bar').first().waitFor();
    expect(await page.locator('h1').first().textContent()).toBe(`店铺 ${merchants[0]!.merchantId}`);
    // Newest first: the age-band benchmark, then the lifecycle one.
    const firstHeaders = await page.locator('section.card table').evaluateAll((tables) => tables.map((t) => t.querySelector('th')?.textContent ?? ''));
    expect(firstHeaders.slice(1, 3)).toEqual(['年龄段', '客户生命周期']);
    await shot(page, '13-merchant-shop');
    const other = await page.evaluate(async ([t, id]) => (await fetch(`/v1/merchants/${id}`, { headers: { authorization: `Bearer ${t}` } })).status, [token, merchants[1]!.merchantId]);
    expect(other).toBe(403);
    await page.close();
  });

  it('an administrator revokes a user only after confirming, and is not offered their own row', async () => {
    const admin = await api<{ token: string; user: { userId: string } }>(cluster, 'POST', '/v1/users', { role: 'admin', userId: 'adm-zhao' });
    const leaving = await api<{ token: string; user: { userId: string } }>(cluster, 'POST', '/v1/users', { role: 'compliance', userId: 'dpo-leaving' });
    expect([admin.status, leaving.status]).toEqual([201, 201]);
    // The user about to be revoked is signed in in another tab.
    const theirs = await context.newPage();
    await signIn(theirs, leaving.body.token);
    const page = await context.newPage();
    await signIn(page, admin.body.token);
    await page.goto(`${origin}/console/#/users`);
    const row = (id: string) => page.locator('tbody tr', { has: page.locator('th', { hasText: new RegExp(`^${id}$`) }) });
    await row('dpo-leaving').getByRole('button', { name: '撤销' }).waitFor();
    expect(await row('adm-zhao').getByRole('button').count()).toBe(0);
    expect(await row('adm-zhao').textContent()).toContain('不能撤销自己');
    const dialogs: string[] = [];
    let answer = false;
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void (answer ? d.accept() : d.dismiss());
    });
    await row('dpo-leaving').getByRole('button', { name: '撤销' }).click();
    expect((await api(cluster, 'GET', '/v1/users')).body).toMatchObject({ users: expect.arrayContaining([expect.objectContaining({ userId: 'dpo-leaving', revokedAt: null })]) });
    answer = true;
    await row('dpo-leaving').getByRole('button', { name: '撤销' }).click();
    await row('dpo-leaving').getByText('已撤销').waitFor();
    expect(dialogs).toHaveLength(2);
    expect(dialogs[0]).toContain('dpo-leaving');
    await page.close();
    // Their next request is refused, and their page signs them out saying why instead of staying up.
    await theirs.goto(`${origin}/console/#/rights`);
    await theirs.locator('#login-error').filter({ hasText: '已被撤销' }).waitFor();
    expect(await theirs.locator('#who').textContent()).toBe('');
    expect(await theirs.locator('#nav li').count()).toBe(0);
    await theirs.close();
  });

  it('fetched nothing from anywhere but the coordinator', () => {
    expect(foreignRequests).toEqual([]);
  });
});
