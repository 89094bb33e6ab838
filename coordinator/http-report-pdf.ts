/**
 * Renders the self-contained audit report HTML to PDF with a headless
 * Chromium (Debian `chromium`), when one is installed: the report's zh-CN
 * and English text then uses the system's CJK fonts (Debian
 * `fonts-noto-cjk`). JavaScript is disabled and nothing is fetched: the
 * report has no external resources, a Content-Security-Policy allowing
 * only inline styles is put in front of it, and the browser runs with a
 * fresh profile and without background networking.
 *
 * The browser is found through FEDMART_CHROMIUM, then the usual Debian and
 * Chrome paths; without one, PDF export answers PDF_UNAVAILABLE.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readPdfOutline, undoubledTitle, undoubleOutlineTitles } from './pdf-outline.js';
import type { OutlineItem } from './pdf-outline.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** Path of a headless-capable Chromium, or null. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const configured = env.FEDMART_CHROMIUM;
  for (const path of configured ? [configured] : CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  return null;
}

/** The flags every headless run uses: no sandbox (containers, root), no GPU, no network chatter, a throw-away profile. */
export function headlessFlags(profileDir: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    '--no-first-run',
    '--no-default-browser-check',
    `--user-data-dir=${profileDir}`,
  ];
}

/** The policy put in front of rendered HTML: inline styles and data: images only. */
export const RENDER_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";

function withoutScripts(html: string): string {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${RENDER_CSP}">`;
  const head = /<head[^>]*>/i.exec(html);
  return head ? html.slice(0, head.index + head[0].length) + meta + html.slice(head.index + head[0].length) : meta + html;
}

/** A contents-page slot for a heading's page number (`compliance/audit-report-front.ts`). */
const CONTENTS_SLOT = /<span class="toc-page" data-title="([^"]*)"><\/span>/g;

const unescapeHtml = (text: string): string =>
  text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');

/** Titles compared with whitespace collapsed and Chromium's repeats undone. */
const normalTitle = (text: string): string => undoubledTitle(text);

/**
 * Puts page numbers into the contents slots of `html`: each slot gets the
 * page of the first outline item with its title. Slots whose heading the
 * outline lacks stay empty.
 */
export function fillContentsPages(html: string, outline: readonly OutlineItem[]): string {
  const pages = new Map<string, number>();
  for (const item of outline) if (!pages.has(normalTitle(item.title))) pages.set(normalTitle(item.title), item.page);
  return html.replace(CONTENTS_SLOT, (slot, title: string) => {
    const page = pages.get(normalTitle(unescapeHtml(title)));
    return page === undefined ? slot : `<span class="toc-page" data-title="${title}">${page}</span>`;
  });
}

/** One headless print of `html` to PDF, with the headings as the PDF's bookmarks. */
async function printOnce(chromium: string, html: string, dir: string, name: string, timeoutMs: number): Promise<Buffer> {
  const input = join(dir, `${name}.html`);
  const output = join(dir, `${name}.pdf`);
  writeFileSync(input, withoutScripts(html));
  await new Promise<void>((resolve, reject) => {
    execFile(chromium, [
      ...headlessFlags(join(dir, 'profile')),
      '--no-pdf-header-footer',
      '--generate-pdf-document-outline',
      `--print-to-pdf=${output}`,
      pathToFileURL(input).href,
    ], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve()));
  });
  const pdf = readFileSync(output);
  if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error('Chromium did not write a PDF');
  return pdf;
}

/**
 * Renders `html` to PDF bytes, its headings as bookmarks (their titles with
 * Chromium's repeats undone). When the page has
 * a contents list with page-number slots, it is printed twice: the first
 * print's outline gives each heading's page, the second prints the contents
 * with them (the contents page's length does not change, so neither do the
 * pages). Throws when Chromium is missing, fails or takes longer than
 * `timeoutMs` for a print.
 */
export async function renderPdf(html: string, options: { chromium?: string | null; timeoutMs?: number } = {}): Promise<Buffer> {
  const chromium = options.chromium === undefined ? findChromium() : options.chromium;
  if (!chromium) throw new Error('no Chromium found for PDF rendering');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-pdf-'));
  try {
    const first = await printOnce(chromium, html, dir, 'report', timeoutMs);
    if (!new RegExp(CONTENTS_SLOT.source).test(html)) return undoubleOutlineTitles(first);
    const filled = fillContentsPages(html, readPdfOutline(first));
    return undoubleOutlineTitles(filled === html ? first : await printOnce(chromium, filled, dir, 'report-paged', timeoutMs));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
