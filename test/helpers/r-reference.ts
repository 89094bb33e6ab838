/**
 * Runs R (Debian's r-base-core, `Rscript`) as the independent reference for
 * model fits: the data go in as a CSV file, R's answer comes back as lines of
 * `key<TAB>value` printed with 17 significant digits. `.ci/run` installs R;
 * without it (a developer machine) the R tests are skipped, in CI they fail.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether Rscript can run here. */
export const HAVE_R: boolean = (() => {
  const r = spawnSync('Rscript', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
})();

if (!HAVE_R && process.env['CI'] === 'true') throw new Error('Rscript is not installed (.ci/run installs r-base-core)');

/** A CSV cell: numbers with 17 significant digits so R reads the same double. */
function cell(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(17);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v === null || v === undefined) return 'NA';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Runs `script` with the data frame `d` read from the rows (first row's keys
 * are the columns); the script prints `key\tvalue` lines, returned as a map
 * of key → values (a key may repeat).
 */
export function runR(rows: readonly Record<string, unknown>[], script: string): Map<string, string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-r-'));
  try {
    const cols = Object.keys(rows[0] ?? {});
    const csv = [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n');
    writeFileSync(join(dir, 'd.csv'), `${csv}\n`);
    const prelude = `d <- read.csv(${JSON.stringify(join(dir, 'd.csv'))}, stringsAsFactors = FALSE)\nout <- function(k, v) cat(paste0(k, "\\t", if (is.numeric(v)) sprintf("%.17g", v) else v), sep = "\\n")\n`;
    writeFileSync(join(dir, 's.R'), prelude + script);
    const text = execFileSync('Rscript', ['--vanilla', join(dir, 's.R')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const out = new Map<string, string[]>();
    for (const line of text.split('\n')) {
      const tab = line.indexOf('\t');
      if (tab < 0) continue;
      const k = line.slice(0, tab);
      out.set(k, [...(out.get(k) ?? []), line.slice(tab + 1)]);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** |a − b| / |b| (b of 0 counts as the smallest positive double). */
export const relativeDifference = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

/**
 * Checks fitted coefficients against R's: the same names in the same order,
 * and each estimate and standard error within `tolerance` relative of R's
 * (`ref` keys `name`, `est`, `se` as the R scripts print them). Returns the
 * largest relative difference, for the test's log line.
 */
export function expectCoefficientsLikeR(
  coefficients: readonly { readonly name: string; readonly estimate: number; readonly standardError: number }[],
  ref: ReadonlyMap<string, readonly string[]>,
  tolerance: number,
  expect: (value: unknown, message?: string) => { toEqual(v: unknown): void; toBeLessThan(v: number): void },
): number {
  expect(coefficients.map((c) => c.name)).toEqual(ref.get('name'));
  let worst = 0;
  coefficients.forEach((c, i) => {
    const e = relativeDifference(c.estimate, Number(ref.get('est')?.[i]));
    const s = relativeDifference(c.standardError, Number(ref.get('se')?.[i]));
    worst = Math.max(worst, e, s);
    expect(e, `${c.name} estimate`).toBeLessThan(tolerance);
    expect(s, `${c.name} standard error`).toBeLessThan(tolerance);
  });
  return worst;
}
