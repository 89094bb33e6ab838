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

/** Renders `html` to PDF bytes. Throws when Chromium is missing, fails or takes longer than `timeoutMs`. */
export async function renderPdf(html: string, options: { chromium?: string | null; timeoutMs?: number } = {}): Promise<Buffer> {
  const chromium = options.chromium === undefined ? findChromium() : options.chromium;
  if (!chromium) throw new Error('no Chromium found for PDF rendering');
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-pdf-'));
  try {
    const input = join(dir, 'report.html');
    const output = join(dir, 'report.pdf');
    writeFileSync(input, withoutScripts(html));
    await new Promise<void>((resolve, reject) => {
      execFile(chromium, [
        ...headlessFlags(join(dir, 'profile')),
        '--no-pdf-header-footer',
        `--print-to-pdf=${output}`,
        pathToFileURL(input).href,
      ], { timeout: options.timeoutMs ?? 60_000, maxBuffer: 4 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve()));
    });
    const pdf = readFileSync(output);
    if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error('Chromium did not write a PDF');
    return pdf;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
