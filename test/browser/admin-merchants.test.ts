/**
 * The administrator's merchants page in a real headless Chromium (Debian
 * `chromium` through playwright-core) against a coordinator app on PGlite:
 * each shop's status, revocation only after a confirmation naming the shop
 * (a revoked shop shows as revoked, to its operator too, and offers no
 * revoke), in Chinese and English, and the enrolment-token card, which never
 * asks for the authority's seed (a page the coordinator serves must not hold
 * it) and shows the offline fedmart enrol-token command instead, sending
 * nothing. Screenshots land in test-output/browser/.
 *
 * Without Chromium the suite is skipped with the reason in its name.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';

// Code inside page.evaluate runs in the browser; the project's lib has no DOM types.
declare const document: { querySelectorAll(selector: string): Iterable<any> };

const CHROMIUM = process.env.FEDMART_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = resolve(import.meta.dirname, '../../test-output/browser');

let fx: HttpFixture;
let context: BrowserContext;
let profile: string;
let origin: string;
/** Every request the browser made, with its body. */
const sent: { url: string; body: string }[] = [];

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.getByLabel(/API 令牌|API token/).fill(token);
  await page.getByRole('button', { name: /^(登录|Sign in)$/ }).click();
  await page.locator('#who').filter({ hasText: /\S/ }).waitFor();
}

const revokedAt = async (id: string): Promise<string | null> => {
  const res = await fx.call(fx.users.admin.token, 'GET', `/v1/merchants/${id}`);
  expect(res.status).toBe(200);
  return res.body.revokedAt as string | null;
};

describe.skipIf(!HAVE_CHROMIUM)(`merchants page in Chromium${HAVE_CHROMIUM ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    fx = await startHttpFixture();
    await fx.app.listen({ host: '127.0.0.1', port: 0 });
    origin = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'fedmart-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
      viewport: { width: 1280, height: 900 },
      locale: 'zh-CN',
    });
    context.on('request', (req) => {
      sent.push({ url: req.url(), body: req.postData() ?? '' });
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await fx?.close();
  });

  it('shows each shop active, revokes one only after a confirmation naming it, then shows it revoked without a revoke button', async () => {
    const page = await context.newPage();
    await signIn(page, fx.users.admin.token);
    await page.goto(`${origin}/console/#/merchants`);
    const row = (id: string) => page.locator('#m-table tbody tr', { has: page.locator('th', { hasText: new RegExp(`^${id}$`) }) });
    await row('shop-02').getByRole('button', { name: '撤销商家 shop-02' }).waitFor();
    expect(await row('shop-01').locator('td').nth(0).textContent()).toBe('正常');
    expect(await row('shop-02').locator('td').nth(0).textContent()).toBe('正常');
    const dialogs: string[] = [];
    let answer = false;
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void (answer ? d.accept() : d.dismiss());
    });
    // Dismissed: nothing happens.
    await row('shop-02').getByRole('button', { name: '撤销商家 shop-02' }).click();
    await expect.poll(() => dialogs.length).toBe(1);
    expect(await revokedAt('shop-02')).toBeNull();
    expect(await row('shop-02').locator('td').nth(0).textContent()).toBe('正常');
    // Accepted: revoked, marked so, no button left.
    answer = true;
    await row('shop-02').getByRole('button', { name: '撤销商家 shop-02' }).click();
    await row('shop-02').getByText(/^已撤销 /).waitFor();
    expect(dialogs).toHaveLength(2);
    expect(dialogs[1]).toContain('撤销商家 shop-02？');
    expect(await revokedAt('shop-02')).toMatch(/^\d{4}-/);
    expect(await row('shop-02').getByRole('button').count()).toBe(0);
    expect(await row('shop-02').locator('.badge.ok').count()).toBe(0);
    expect(await row('shop-01').locator('td').nth(0).textContent()).toBe('正常');
    expect(await revokedAt('shop-01')).toBeNull();
    expect(await fx.lastEntry()).toMatchObject({ type: 'merchant.revoked', actor: fx.users.admin.id, details: { merchantId: 'shop-02' } });
    await page.screenshot({ path: join(SHOTS, 'admin-merchants-revoked.png'), fullPage: true });
    // In English too.
    await page.getByRole('button', { name: 'English' }).click();
    await row('shop-02').getByText(/^revoked /).waitFor();
    expect(await row('shop-01').locator('td').nth(0).textContent()).toBe('active');
    await page.getByRole('button', { name: '中文' }).click();
    await row('shop-01').getByText('正常').waitFor();
    await page.close();
  });

  it("shows a shop's operator their shop as revoked", async () => {
    const operator = await fx.call(fx.users.admin.token, 'POST', '/v1/users', { role: 'merchant', userId: 'ops-shop-02', merchantId: 'shop-02' });
    expect(operator.status).toBe(201);
    const page = await context.newPage();
    await signIn(page, operator.body.token as string);
    await page.getByText(/^已撤销 /).waitFor();
    expect(await page.locator('.badge.ok').count()).toBe(0);
    await page.close();
    const other = await context.newPage();
    await signIn(other, fx.users.merchant.token);
    await other.locator('.badge.ok').filter({ hasText: '正常' }).waitFor();
    await other.close();
  });

  it('never asks for the enrolment authority\'s seed: it shows the offline fedmart enrol-token command for a new shop, none for a listed one, and sends nothing', async () => {
    const page = await context.newPage();
    await signIn(page, fx.users.admin.token);
    await page.goto(`${origin}/console/#/merchants`);
    await page.locator('#m-table').waitFor();
    // Every control has an accessible name, and none takes a file (a seed).
    expect(await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => el.labels?.length === 0 && !el.getAttribute('aria-label') && !String(el.textContent).trim())
      .map((el) => String(el.outerHTML).slice(0, 80)))).toEqual([]);
    expect(await page.locator('input[type=file]').count()).toBe(0);
    const before = sent.length;
    // A listed (here revoked) shop gets no command: a token could never enrol it.
    await page.getByLabel('店铺', { exact: true }).fill('shop-02');
    await page.getByRole('button', { name: '生成命令' }).click();
    await page.locator('#et-out [role=alert]').filter({ hasText: 'MERCHANT_ENROLLED' }).waitFor();
    expect(await page.locator('#et-command').count()).toBe(0);
    // A new shop gets the command to run where the seed is kept.
    await page.getByLabel('店铺', { exact: true }).fill('shop-03');
    await page.getByLabel('有效天数').fill('5');
    await page.getByRole('button', { name: '生成命令' }).click();
    expect(await page.locator('#et-command').textContent()).toBe('fedmart enrol-token --deployment DIR --merchant shop-03 --expires-days 5');
    expect(await page.locator('#et-form').textContent()).toContain('控制台从不索取该种子');
    expect(sent.slice(before)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'admin-merchants-token.png'), fullPage: true });
    await page.close();
  });
});
