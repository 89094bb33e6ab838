#!/usr/bin/env node
/**
 * `npm run audit:deps`: fails when npm's advisory service reports a high or
 * critical advisory in a production dependency (dev dependencies are not
 * shipped). Runs in `.ci/run` before the tests.
 *
 * When the advisory service cannot be reached (a registry mirror that only
 * serves GET, no network), the check cannot be made: it says so on one line
 * and exits 0, or exits 3 when FEDMART_REQUIRE_AUDIT=1 asks for a hard gate.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const HELP = `npm run audit:deps — production dependencies with high or critical advisories

Exit codes: 0 none found (or the advisory service is unreachable and
FEDMART_REQUIRE_AUDIT is not 1), 1 advisories found, 3 service unreachable
with FEDMART_REQUIRE_AUDIT=1.`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 });
let report;
try {
  report = JSON.parse(run.stdout || '{}');
} catch {
  report = {};
}

const counts = report.metadata?.vulnerabilities;
if (!counts) {
  const why = report.message ?? report.error?.summary ?? (run.error ? String(run.error.message) : 'no report');
  const strict = process.env.FEDMART_REQUIRE_AUDIT === '1';
  console.error(`audit:deps: the npm advisory service could not be queried (${why.split('\n')[0]}); production dependencies NOT checked`);
  // What can still be seen without it: which production dependencies lag
  // behind the registry's latest release (fixes usually ship there).
  const production = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).dependencies ?? {};
  const outdated = spawnSync('npm', ['outdated', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 });
  try {
    const behind = Object.entries(JSON.parse(outdated.stdout || '{}'))
      .filter(([name, v]) => name in production && v.current && v.latest && v.current !== v.latest)
      .map(([name, v]) => `${name} ${v.current} (latest ${v.latest})`);
    console.error(`audit:deps: production dependencies behind the registry's latest release: ${behind.length === 0 ? 'none' : behind.join(', ')}`);
  } catch {
    console.error('audit:deps: the registry could not be asked for latest versions either');
  }
  process.exit(strict ? 3 : 0);
}

const high = (counts.high ?? 0) + (counts.critical ?? 0);
const names = Object.values(report.vulnerabilities ?? {})
  .filter((v) => v.severity === 'high' || v.severity === 'critical')
  .map((v) => `${v.name} (${v.severity})`);
if (high > 0) {
  console.error(`audit:deps: ${high} high/critical advisories in production dependencies: ${names.join(', ')}`);
  process.exit(1);
}
const total = Object.values(counts).reduce((a, b) => a + b, 0);
console.log(`audit:deps: no high or critical advisories in production dependencies (${total} lower: ${JSON.stringify(counts)})`);
