/**
 * The compliance officer's pages in a real headless Chromium (Debian
 * `chromium` through playwright-core) against a coordinator app on PGlite
 * whose audit log the test fills: consent figures labelled as subject-rounds
 * with the lower bound of distinct customers, per month, and their CSV; the
 * audit timeline searched by query id, its CSV holding exactly the rows
 * shown, and inclusion proofs under an unpinned key shown as warnings until
 * the key is pinned; the rights register with status and response time,
 * filtered and downloaded. Screenshots land in test-output/browser/.
 *
 * Without Chromium the suite is skipped with the reason in its name.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';

const CHROMIUM = process.env.FEDMART_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = resolve(import.meta.dirname, '../../test-output/browser');

const d = (label: string): string => createHash('sha256').update(label).digest('hex');

let fx: HttpFixture;
let context: BrowserContext;
let profile: string;
let origin: string;

/** Included customers per shop per round: the same customers recur in every round, as in a model fit. */
const ROUNDS: { queryId: string; included: Record<string, number> }[] = [
  { queryId: 'q-fit-1', included: { 'shop-01': 120, 'shop-02': 80 } },
  { queryId: 'q-fit-2', included: { 'shop-01': 120, 'shop-02': 80 } },
  { queryId: 'q-fit-3', included: { 'shop-01': 118, 'shop-02': 81 } },
];

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.getByLabel(/API 令牌|API token/).fill(token);
  await page.getByRole('button', { name: /^(登录|Sign in)$/ }).click();
  await page.locator('#who').filter({ hasText: /\S/ }).waitFor();
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<string[][]> {
  const download = page.waitForEvent('download');
  await click();
  const text = readFileSync(await (await download).path(), 'utf8').replace(/^\ufeff/, '');
  return text.split('\r\n').filter((l) => l.length > 0).map((l) => l.split(','));
}

describe.skipIf(!HAVE_CHROMIUM)(`compliance officer pages in Chromium${HAVE_CHROMIUM ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    fx = await startHttpFixture();
    for (const r of ROUNDS) {
      await fx.audit.record({
        type: 'query.created', actor: 'mkt-test',
        details: { queryId: r.queryId, requester: 'mkt-test', purpose: 'marketing-analytics', legalBasis: 'consent', kind: 'logistic-regression', specDigest: d(r.queryId), thresholds: { minMerchants: 2, minSubjects: 10 } },
      });
      for (const [shop, n] of Object.entries(r.included)) {
        await fx.audit.record({
          type: 'contribution.accepted', actor: shop,
          details: { merchantId: shop, queryId: r.queryId, envelopeDigest: d(`${r.queryId}${shop}`), attestationDigest: null, subjectsIncluded: n, excludedByReason: { withdrawn: 2 } },
        });
      }
    }
    const rights = [
      { shopId: 'shop-01', requestType: 'access', day: '2025-05-02' },
      { shopId: 'shop-01', requestType: 'deletion', day: '2025-05-03', receivedDay: '2025-05-03', status: 'pending', requestRef: 'a'.repeat(32) },
      { shopId: 'shop-02', requestType: 'withdrawal', day: '2025-05-05', receivedDay: '2025-05-05', status: 'pending', requestRef: 'b'.repeat(32) },
      { shopId: 'shop-01', requestType: 'deletion', day: '2025-05-10', receivedDay: '2025-05-03', status: 'handled', requestRef: 'a'.repeat(32) },
    ] as const;
    for (const details of rights) await fx.audit.record({ type: 'rights.request', actor: details.shopId, details });
    await fx.app.listen({ host: '127.0.0.1', port: 0 });
    origin = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
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
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await fx?.close();
  });

  it('shows consent sums as subject-rounds beside a lower bound of distinct customers, per month, and downloads them', async () => {
    const page = await context.newPage();
    await signIn(page, fx.users.compliance.token);
    await page.goto(`${origin}/console/#/consent`);
    const card = page.locator('section.purpose[data-purpose="marketing-analytics"]');
    await card.locator('table.consent-figures').waitFor();
    const rows = Object.fromEntries((await card.locator('table.consent-figures tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[1]!.textContent]))) as [string, string][]);
    const sum = ROUNDS.reduce((s, r) => s + Object.values(r.included).reduce((a, b) => a + b, 0), 0);
    expect(sum).toBe(599);
    expect(rows['计入（已同意）：主体轮次，3 轮相加，不是人数']).toBe('599');
    expect(rows['单轮最多计入']).toBe('200');
    // Each shop's largest round: 120 + 81.
    expect(rows['不重复的已同意客户：至少（各店铺单轮最大值之和）']).toBe('201');
    expect(await card.locator('table.consent-months tbody tr').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'compliance-consent.png'), fullPage: true });
    const csv = await downloaded(page, () => page.locator('#consent-csv').click());
    expect(csv[0]).toEqual(['purpose', 'month', 'rounds', 'contributions', 'shops', 'subject_rounds_included', 'subject_rounds_excluded', 'largest_round_included', 'distinct_included_at_least']);
    expect(csv.slice(1).map((r) => [r[0], r[2], r[5], r[7], r[8]])).toEqual([['marketing-analytics', '3', '599', '200', '201']]);
    await page.getByRole('button', { name: 'English' }).click();
    await expect.poll(() => card.locator('table.consent-figures').textContent()).toContain('subject-rounds summed over 3 rounds, not people');
    await page.getByRole('button', { name: '中文' }).click();
    await page.close();
  });

  it('searches the audit log by query id, downloads the rows shown, and warns until the audit key is pinned', async () => {
    const page = await context.newPage();
    await signIn(page, fx.users.compliance.token);
    await page.goto(`${origin}/console/#/audit`);
    await page.locator('#timeline li').first().waitFor();
    await page.getByLabel('查询编号').fill('q-fit-2');
    await page.getByRole('button', { name: '筛选' }).click();
    await expect.poll(() => page.locator('#timeline li').count()).toBe(3);
    expect(await page.locator('#timeline li .what code:first-of-type').allTextContents()).toEqual(['contribution.accepted', 'contribution.accepted', 'query.created']);
    await page.getByRole('button', { name: '验证所显示的条目' }).click();
    await page.locator('#verify-status .badge.warn').waitFor({ timeout: 30_000 });
    expect(await page.locator('#timeline .mark .badge.warn').count()).toBe(3);
    expect(await page.locator('#timeline .mark .badge.ok').count()).toBe(0);
    expect(await page.locator('#verify-status').textContent()).toContain('未固定');
    const csv = await downloaded(page, () => page.getByRole('button', { name: '下载所显示条目的 CSV' }).click());
    expect(csv[0]!.slice(0, 5)).toEqual(['seq', 'time', 'type', 'actor', 'query_id']);
    expect(csv.slice(1).map((r) => [r[2], r[4]])).toEqual([['contribution.accepted', 'q-fit-2'], ['contribution.accepted', 'q-fit-2'], ['query.created', 'q-fit-2']]);
    // Pinned, the same proofs earn ticks.
    await page.getByLabel('固定审计公钥（十六进制）').fill(Buffer.from(fx.audit.publicKey).toString('hex'));
    await page.getByRole('button', { name: '保存' }).click();
    await page.locator('#checkpoint-status .badge.ok').waitFor();
    await page.getByLabel('查询编号').fill('q-fit-2');
    await page.getByRole('button', { name: '筛选' }).click();
    await expect.poll(() => page.locator('#timeline li').count()).toBe(3);
    await page.getByRole('button', { name: '验证所显示的条目' }).click();
    await page.locator('#verify-status .badge.ok').waitFor({ timeout: 30_000 });
    expect(await page.locator('#timeline .mark .badge.ok').count()).toBe(3);
    await page.screenshot({ path: join(SHOTS, 'compliance-audit-search.png'), fullPage: true });
    await page.close();
  });

  it('lists rights requests with status and response time, filters them and downloads the rows shown', async () => {
    const page = await context.newPage();
    await signIn(page, fx.users.compliance.token);
    await page.goto(`${origin}/console/#/rights`);
    await page.locator('#rights-table').waitFor();
    const cells = async () => page.locator('#rights-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    // Newest first: the handled deletion (received 05-03, handled 05-10), the pending withdrawal, the older node's access request.
    expect((await cells()).map((r) => r.slice(1))).toEqual([
      ['shop-01', '删除', '已处理', '2025-05-03', '2025-05-10', '7 天'],
      ['shop-02', '撤回同意', '待处理', '2025-05-05', '—', '—'],
      ['shop-01', '查阅复制', '店铺未报告', '—', '2025-05-02', '—'],
    ]);
    await page.getByLabel('店铺').fill('shop-02');
    await page.getByRole('button', { name: '筛选' }).click();
    await expect.poll(async () => (await cells()).length).toBe(1);
    const csv = await downloaded(page, () => page.getByRole('button', { name: '下载所显示请求的 CSV' }).click());
    expect(csv).toEqual([
      ['seq', 'shop', 'type', 'status', 'received_day', 'handled_day', 'response_days'],
      [expect.any(String), 'shop-02', 'withdrawal', 'pending', '2025-05-05', '', ''],
    ]);
    await page.screenshot({ path: join(SHOTS, 'compliance-rights.png'), fullPage: true });
    await page.close();
  });
});
