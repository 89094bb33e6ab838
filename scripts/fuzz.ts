/**
 * Property-based fuzzing of every gRPC method, every HTTP route and every
 * parser of untrusted input (targets in harness/fuzz/).
 *
 *   npm run fuzz -- [--runs 10000] [--target NAME] [--seed N] [--json FILE]
 *
 * NAME matches target names by substring (e.g. `parser`, `Release`,
 * `http.routes`). Prints progress on stderr and a summary table on stdout:
 * target, runs, outcomes by error code, milliseconds, heap growth. Exits 1
 * when a property was violated (the counterexample is printed) or the heap
 * grew by more than the bound.
 */
import { writeFileSync } from 'node:fs';
import { ALL_TARGETS, FuzzEnv, runTarget, type TargetReport } from '../harness/fuzz/index.js';

/** Heap growth over one target's run that counts as a leak. */
const HEAP_BOUND_BYTES = 256 * 1024 * 1024;

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\nusage: npm run fuzz -- [--runs N] [--target NAME] [--seed N] [--json FILE]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let runs = 1000;
let filter: string | undefined;
let seed: number | undefined;
let jsonOut: string | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = args[i + 1];
  if (a === '--runs' && v && /^\d+$/.test(v)) runs = Number(v);
  else if (a === '--target' && v) filter = v;
  else if (a === '--seed' && v && /^-?\d+$/.test(v)) seed = Number(v);
  else if (a === '--json' && v) jsonOut = v;
  else if (a === '--help' || a === '-h') usage('fuzz targets');
  else usage(`unknown or incomplete argument ${a}`);
  i++;
}

const targets = ALL_TARGETS.filter((t) => !filter || t.name.includes(filter));
if (targets.length === 0) usage(`no target matches ${filter}; targets: ${ALL_TARGETS.map((t) => t.name).join(', ')}`);
if (!(globalThis as { gc?: unknown }).gc) process.stderr.write('fuzz: run with node --expose-gc for exact heap figures\n');

// A crash inside a server shows up here rather than killing the run silently.
const crashes: string[] = [];
process.on('uncaughtException', (err) => crashes.push(`uncaught: ${err.stack ?? String(err)}`));
process.on('unhandledRejection', (err) => crashes.push(`unhandled rejection: ${err instanceof Error ? err.stack : String(err)}`));

const env = new FuzzEnv();
const reports: TargetReport[] = [];
const started = new Date();
for (const target of targets) {
  process.stderr.write(`${target.name}: preparing\n`);
  let prepared;
  try {
    prepared = await target.prepare(env);
  } catch (err) {
    reports.push({ target: target.name, runs: 0, outcomes: {}, ms: 0, heapGrowth: 0, failure: `could not prepare: ${err instanceof Error ? err.stack : String(err)}` });
    process.stderr.write(`${target.name}: could not prepare: ${err instanceof Error ? err.stack : String(err)}\n`);
    continue;
  }
  const report = await runTarget(target.name, prepared, {
    runs,
    ...(seed !== undefined ? { seed } : {}),
    onProgress: (done) => process.stderr.write(`${target.name}: ${done}/${runs}\n`),
  });
  reports.push(report);
  process.stderr.write(`${target.name}: ${report.runs} runs in ${report.ms} ms${report.failure ? ` FAILED: ${report.failure}` : ''}\n`);
}
await env.close();

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const lines = [
  `fedmart fuzz: ${runs} runs per target, started ${started.toISOString()}, ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s in all, node ${process.version}`,
  '',
  '| target | runs | outcomes | ms | heap growth | result |',
  '|---|---:|---|---:|---:|---|',
];
for (const r of reports) {
  const outcomes = Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  const leak = r.heapGrowth > HEAP_BOUND_BYTES;
  lines.push(`| ${r.target} | ${r.runs} | ${outcomes} | ${r.ms} | ${mib(r.heapGrowth)} | ${r.failure ? `FAILED: ${r.failure.replaceAll('|', '\\|')}` : leak ? 'HEAP GREW' : 'ok'} |`);
}
if (crashes.length > 0) lines.push('', ...crashes.map((c) => `CRASH ${c}`));
process.stdout.write(lines.join('\n') + '\n');
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ runs, started: started.toISOString(), reports, crashes }, null, 2));
const failed = reports.some((r) => r.failure !== null || r.heapGrowth > HEAP_BOUND_BYTES) || crashes.length > 0;
process.exit(failed ? 1 : 0);
