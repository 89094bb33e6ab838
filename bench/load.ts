/**
 * Load benchmark: many simulated merchant nodes against ONE coordinator
 * process, over loopback gRPC, with a real key holder process, real SEAL
 * ciphertexts and one enrolled Ed25519 key and signed envelope per merchant.
 *
 *   npm run bench:load -- [--merchants 10,100,1000] [--concurrency all] [--repeat 1]
 *                         [--db pglite|memory://|postgres://...] [--out bench/load-results.json]
 *                         [--chart bench/load-chart.svg]
 *
 * For each merchant count N (and each repetition) the bench starts a fresh
 * `fedmart coordinator` process on a fresh database, enrols N merchants
 * (each on its own gRPC channel), publishes one segment-statistics query
 * with target N, prepares every contribution (fresh encryption, own
 * attestation, own signature), then sends them all, `--concurrency` at a
 * time, and polls the HTTP API until the release is stored. Every
 * contribution ends accepted or refused with the coordinator's reason code;
 * a refused merchant sends again 500 ms later, as `fedmart merchant` does on
 * its next poll (at most 5 sends; every send is counted).
 * Meanwhile /proc is sampled every 100 ms for the coordinator's RSS and
 * CPU time (and the key holder's). Round latency runs from the first
 * submission to the release being readable over HTTP.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HeContext, cryptoReady, DEFAULT_HE_PARAM_SET } from '../crypto/index.js';
import { MAX_ROUND_CONTRIBUTORS } from '../round/index.js';
import { createScratchDatabase } from './scratch-database.js';
import { percentile } from './stats.js';
import { fitLine, growthExponent, loadChartSvg, type LineFit } from './load-chart.js';
import {
  closeMerchants,
  createMerchants,
  enrolMerchant,
  fetchPublicKey,
  loadShopTemplates,
  openQuery,
  pool,
  prepareContributions,
  submitContribution,
  type ShopTemplate,
  type SubmitOutcome,
} from './load-merchants.js';
import {
  LOAD_API_TOKEN,
  ProcessSampler,
  cpuSecondsOf,
  loadAverage,
  machineCpuTimes,
  cpuShares,
  memoryOf,
  startCoordinatorProcess,
  createIdentities,
  startKeyHolderProcess,
  type Identities,
  type KeyHolderProcess,
} from './load-processes.js';

export const LOAD_HELP = `npm run bench:load — many merchant nodes against one coordinator process

Usage: npm run bench:load -- [options]

  --merchants LIST     merchant counts to run, comma-separated (default 10,100,1000; each 3..10000,
                       a round's most; above 1024 the sums go in stages)
  --concurrency N|all  contributions in flight at once (default all: every merchant at once)
  --repeat R           rounds per merchant count (default 1)
  --db TARGET          pglite (default: a fresh PGlite folder per round), memory://, or a
                       postgres://user@host/db URL the bench may use to create and drop its own databases
  --shops K            distinct synthetic shops the merchants compute on (default 20)
  --out FILE           JSON results (default bench/load-results.json)
  --chart FILE         SVG chart (default bench/load-chart.svg; "none" to skip)
  --from FILE          measure nothing: print the table and redraw the chart from earlier results
  -h, --help           this text

Prints progress on stderr and a table on stdout. Exit code 1 if a round is
not released or a contribution is unaccounted for.`;

const HERE = fileURLToPath(new URL('.', import.meta.url));

export interface LoadOptions {
  readonly merchants: readonly number[];
  /** Contributions in flight; 0 = all of a round's merchants at once. */
  readonly concurrency: number;
  readonly repeat: number;
  readonly db: string;
  readonly shops: number;
  readonly out: string;
  readonly chart: string | null;
  /** Earlier results to print and chart instead of measuring. */
  readonly from?: string;
}

export interface RoundFigure {
  readonly merchants: number;
  readonly repetition: number;
  readonly concurrency: number;
  readonly ciphertextBytesPerContribution: number;
  /** How every merchant's contribution ended: ACCEPTED or the coordinator's reason code. */
  readonly outcomes: Record<string, number>;
  /** Every send, including resends after a refusal, by outcome. */
  readonly attempts: Record<string, number>;
  /** For each refusal code, the gRPC status and details of its first occurrence. */
  readonly refusalExamples: Record<string, string>;
  readonly released: boolean;
  readonly releaseStatus: string;
  /** Contributions the coordinator reports for the query, and merchants named in the signed release. */
  readonly storedContributions: number;
  readonly releasedMerchants: number;
  readonly enrolSeconds: number;
  readonly prepareSeconds: number;
  /** First submission to the last merchant's final answer. */
  readonly intakeSeconds: number;
  readonly contributionsPerSecond: number;
  readonly mibPerSecond: number;
  /** Per merchant, its first send to its final answer (resends included). */
  readonly ackLatencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** First submission to the release readable over HTTP. */
  readonly roundLatencySeconds: number;
  /** Last acknowledgement to the release readable. */
  readonly closeSeconds: number;
  readonly coordinator: {
    /** CPU seconds from the first submission to the release. */
    readonly cpuSecondsRound: number;
    readonly cpuSecondsIntake: number;
    readonly cpuSecondsClose: number;
    readonly cpuMsPerContribution: number;
    readonly rssMiB: { readonly beforeRound: number; readonly medianIntake: number; readonly peakIntake: number; readonly peakClose: number; readonly peakSinceStart: number };
    /** N × ciphertext bytes: what holding every contribution in memory at once would take. */
    readonly allContributionsMiB: number;
  };
  readonly keyholder: { readonly cpuSecondsRound: number; readonly rssMiBPeakRound: number };
  readonly loadGeneratorCpuSeconds: number;
  readonly loadAverage: { readonly before: readonly number[] | null; readonly after: readonly number[] | null };
  /**
   * The whole machine's CPU from the first submission to the release: busy,
   * idle, and stolen by the hypervisor (time other guests of the host took;
   * figures from runs with much steal are slower for reasons outside fedmart).
   */
  readonly machineCpu: { readonly busyPercent: number; readonly idlePercent: number; readonly stealPercent: number } | null;
  /** Transactions the intake stored the round's contributions in (group commit), from the coordinator's metrics. */
  readonly intakeTransactions: number | null;
  /** RSS (MiB) and CPU seconds of the coordinator every 100 ms, from the first submission on. */
  readonly timeline: readonly (readonly [number, number, number])[];
}

export interface LoadFits {
  /** Round latency, seconds, against merchants. */
  readonly roundLatencySeconds: LineFit & { readonly exponent: number };
  /** Coordinator CPU seconds per round, against merchants. */
  readonly coordinatorCpuSeconds: LineFit & { readonly exponent: number };
  readonly keyholderCpuSeconds: LineFit & { readonly exponent: number };
}

const MiB = 1024 * 1024;
/**
 * A refused merchant sends again after its poll interval, as `fedmart
 * merchant` does (it keeps no receipt for a refusal), except when the
 * coordinator says the contribution is already stored; at most this often.
 */
const FINAL_CODES = new Set(['ACCEPTED', 'DUPLICATE_CONTRIBUTION', 'ALREADY_EXISTS']);
const MAX_ATTEMPTS = 5;
/** `fedmart merchant`'s default poll interval. */
const RETRY_AFTER_MS = 500;
const round2 = (v: number) => Math.round(v * 100) / 100;
const round1 = (v: number) => Math.round(v * 10) / 10;

/** A database for one round and how to drop it. */
async function roundDatabase(db: string, dir: string, name: string): Promise<{ target: string; drop: () => Promise<void> }> {
  if (db === 'pglite') return { target: join(dir, `${name}-db`), drop: async () => undefined };
  if (db === 'memory://') return { target: db, drop: async () => undefined };
  if (!/^postgres(ql)?:\/\//.test(db)) throw new Error(`--db: expected pglite, memory:// or a postgres:// URL, got ${db}`);
  const scratch = await createScratchDatabase(db, 'fedmart_load');
  return { target: scratch.url, drop: scratch.drop };
}

/** Transactions that stored contributions so far (`fedmart_contribution_batch_size_count`), or null if unreadable. */
async function transactionsOf(base: string): Promise<number | null> {
  try {
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${LOAD_API_TOKEN}` } });
    const line = (await res.text()).split('\n').find((l) => l.startsWith('fedmart_contribution_batch_size_count'));
    const n = Number(line?.split(' ')[1]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

async function http<T>(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${LOAD_API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

interface QueryState {
  status: string;
  statusReason: string | null;
  contributions: number;
}

/**
 * Polls every 50 ms until the query is released or failed, or until
 * `until.at` (epoch ms, may be moved earlier meanwhile); resolves with its
 * last state and the moment it was seen.
 */
async function waitForFinal(base: string, queryId: string, until: { at: number }): Promise<{ state: QueryState; at: number }> {
  for (;;) {
    const { body } = await http<QueryState>(base, 'GET', `/v1/queries/${queryId}`);
    if (body.status === 'released' || body.status === 'failed' || Date.now() > until.at) return { state: body, at: performance.now() };
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runRound(
  o: LoadOptions,
  ctx: HeContext,
  keyholder: KeyHolderProcess,
  identities: Identities,
  shops: readonly ShopTemplate[],
  n: number,
  repetition: number,
  dir: string,
  progress: (m: string) => void,
): Promise<RoundFigure> {
  const label = `${n} merchants${o.repeat > 1 ? ` (run ${repetition})` : ''}`;
  const name = `n${n}-r${repetition}`;
  const concurrency = o.concurrency > 0 ? Math.min(o.concurrency, n) : n;
  const database = await roundDatabase(o.db, dir, name);
  const coordinator = await startCoordinatorProcess({ dir, name: `coordinator-${name}`, keyholder, identities, db: database.target });
  const pid = coordinator.service.child.pid ?? 0;
  const khPid = keyholder.service.child.pid ?? 0;
  const merchants = createMerchants(`m${name}`, n, coordinator.grpc, shops.length);
  try {
    progress(`${label}: coordinator pid ${pid} up (RSS ${(memoryOf(pid).rssKiB / 1024).toFixed(0)} MiB); enrolling`);
    let t = performance.now();
    await pool(merchants, Math.min(concurrency, 64), (m) => enrolMerchant(m, identities.authoritySeed));
    const enrolSeconds = (performance.now() - t) / 1000;

    const maxContributors = Math.max(...o.merchants);
    const created = await http<{ queryId?: string }>(coordinator.http, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' },
      targetMerchants: n, minMerchants: 3, maxContributors, deadlineSeconds: 3600,
    });
    if (created.status !== 201 || !created.body.queryId) throw new Error(`query not created: ${created.status} ${JSON.stringify(created.body)}`);
    const queryId = created.body.queryId;
    const bundle = await fetchPublicKey(merchants[0]!, ctx, keyholder.signingKeyHex);
    const query = await openQuery(merchants[0]!, queryId);
    progress(`${label}: enrolled in ${enrolSeconds.toFixed(1)} s; preparing ${n} contributions to ${queryId}`);
    t = performance.now();
    const prepared = prepareContributions(ctx, bundle, query, shops, merchants, (done) => {
      if (done % 200 === 0) progress(`${label}: prepared ${done} of ${n}`);
    });
    const prepareSeconds = (performance.now() - t) / 1000;
    const ctBytes = prepared[0]?.body.length ?? 0;

    // Let the coordinator settle after enrolment, then measure the round.
    await new Promise((r) => setTimeout(r, 500));
    const sampler = new ProcessSampler(pid);
    const khSampler = new ProcessSampler(khPid);
    const loadBefore = loadAverage();
    const cpuBefore = machineCpuTimes();
    const before = sampler.sample();
    const khCpu0 = cpuSecondsOf(khPid);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const t0Sampler = sampler.now();
    /** Final outcome per merchant (first send to last answer) and every attempt. */
    const outcomes: SubmitOutcome[] = [];
    const attempts: SubmitOutcome[] = [];
    const waitUntil = { at: Date.now() + 900_000 };
    const final = waitForFinal(coordinator.http, queryId, waitUntil);
    final.catch(() => undefined);
    const ticker = setInterval(() => {
      const s = sampler.samples[sampler.samples.length - 1];
      progress(`${label}: ${outcomes.length}/${n} answered (${outcomes.filter((x) => x.code === 'ACCEPTED').length} accepted), coordinator RSS ${((s?.rssKiB ?? 0) / 1024).toFixed(0)} MiB, CPU ${((s?.cpuS ?? 0) - before.cpuS).toFixed(1)} s`);
    }, 2000);
    try {
      await pool(prepared, concurrency, async (p, i) => {
        // Like `fedmart merchant`, a node refused for a transient reason sends again after its poll interval.
        let firstStartedMs: number | undefined;
        for (let attempt = 1; ; attempt++) {
          const x = await submitContribution(merchants[i]!, p, 180_000);
          attempts.push(x);
          firstStartedMs ??= x.startedMs;
          if (attempt < MAX_ATTEMPTS && !FINAL_CODES.has(x.code)) {
            await new Promise((r) => setTimeout(r, RETRY_AFTER_MS));
            continue;
          }
          outcomes.push({ ...x, startedMs: firstStartedMs });
          break;
        }
      });
    } finally {
      clearInterval(ticker);
    }
    const tAcked = performance.now();
    sampler.sample();
    const tAckedSampler = sampler.now();
    const cpuAcked = cpuSecondsOf(pid);
    const accepted = outcomes.filter((x) => x.code === 'ACCEPTED').length;
    progress(`${label}: all ${n} answered in ${((tAcked - t0) / 1000).toFixed(1)} s (${accepted} accepted); waiting for the release`);
    // A round short of its target stays open until its deadline (an hour): look for 20 s, then report it.
    if (accepted < n) waitUntil.at = Math.min(waitUntil.at, Date.now() + 20_000);
    const { state, at: tReleased } = await final;
    const batches = await transactionsOf(coordinator.http);
    sampler.sample();
    const tReleasedSampler = sampler.now();
    const cpuReleased = cpuSecondsOf(pid);
    const khCpu1 = cpuSecondsOf(khPid);
    const self = process.cpuUsage(self0);
    const loadAfter = loadAverage();
    const machineCpu = cpuShares(cpuBefore, machineCpuTimes());
    sampler.stop();
    khSampler.stop();
    let releasedMerchants = 0;
    if (state.status === 'released') {
      const rel = await http<{ release?: { merchants?: string[] } }>(coordinator.http, 'GET', `/v1/queries/${queryId}/release`);
      releasedMerchants = rel.body.release?.merchants?.length ?? 0;
    }

    const countOf = (xs: readonly SubmitOutcome[]) => {
      const c: Record<string, number> = {};
      for (const x of xs) c[x.code] = (c[x.code] ?? 0) + 1;
      return c;
    };
    const counts = countOf(outcomes);
    const latencies = outcomes.map((x) => x.endedMs - x.startedMs).sort((a, b) => a - b);
    const intakeSeconds = (tAcked - t0) / 1000;
    const cpuRound = cpuReleased - before.cpuS;
    const figure: RoundFigure = {
      merchants: n,
      repetition,
      concurrency,
      ciphertextBytesPerContribution: ctBytes,
      outcomes: counts,
      attempts: countOf(attempts),
      refusalExamples: Object.fromEntries(attempts.filter((x) => x.code !== 'ACCEPTED').reverse().map((x) => [x.code, `${x.grpcStatus}: ${x.details ?? ''}`.slice(0, 300)])),
      released: state.status === 'released',
      releaseStatus: state.status === 'released' ? 'released' : `${state.status}${state.statusReason ? `: ${state.statusReason}` : ` (${state.contributions} of ${n} stored)`}`,
      storedContributions: state.contributions,
      releasedMerchants,
      enrolSeconds: round2(enrolSeconds),
      prepareSeconds: round2(prepareSeconds),
      intakeSeconds: round2(intakeSeconds),
      contributionsPerSecond: round1(accepted / intakeSeconds),
      mibPerSecond: round2((accepted * ctBytes) / MiB / intakeSeconds),
      ackLatencyMs: { p50: Math.round(percentile(latencies, 0.5)), p99: Math.round(percentile(latencies, 0.99)), max: Math.round(latencies[latencies.length - 1] ?? 0) },
      roundLatencySeconds: round2((tReleased - t0) / 1000),
      closeSeconds: round2((tReleased - tAcked) / 1000),
      coordinator: {
        cpuSecondsRound: round2(cpuRound),
        cpuSecondsIntake: round2(cpuAcked - before.cpuS),
        cpuSecondsClose: round2(cpuReleased - cpuAcked),
        cpuMsPerContribution: round2((cpuRound * 1000) / n),
        rssMiB: {
          beforeRound: round1(before.rssKiB / 1024),
          medianIntake: round1(sampler.medianRssKiB(t0Sampler, tAckedSampler) / 1024),
          peakIntake: round1(sampler.peakRssKiB(t0Sampler, tAckedSampler) / 1024),
          peakClose: round1(sampler.peakRssKiB(tAckedSampler, tReleasedSampler) / 1024),
          peakSinceStart: round1(memoryOf(pid).hwmKiB / 1024),
        },
        allContributionsMiB: round1((n * ctBytes) / MiB),
      },
      keyholder: { cpuSecondsRound: round2(khCpu1 - khCpu0), rssMiBPeakRound: round1(khSampler.peakRssKiB(0, Infinity) / 1024) },
      loadGeneratorCpuSeconds: round2((self.user + self.system) / 1e6),
      loadAverage: { before: loadBefore, after: loadAfter },
      machineCpu,
      intakeTransactions: batches,
      timeline: sampler.samples.filter((s) => s.t >= t0Sampler).map((s) => [Math.round(s.t - t0Sampler), round1(s.rssKiB / 1024), round2(s.cpuS - before.cpuS)] as const),
    };
    progress(`${label}: ${figure.releaseStatus} after ${figure.roundLatencySeconds} s; coordinator ${figure.coordinator.cpuMsPerContribution} ms CPU per contribution, peak RSS ${figure.coordinator.rssMiB.peakIntake} MiB intake / ${figure.coordinator.rssMiB.peakClose} MiB close`);
    return figure;
  } finally {
    closeMerchants(merchants);
    await coordinator.service.stop();
    await database.drop();
  }
}

function fitsOf(figures: readonly RoundFigure[]): LoadFits {
  const with_ = (pick: (f: RoundFigure) => number) => {
    const points = figures.filter((f) => f.released).map((f) => [f.merchants, pick(f)] as const);
    return { ...fitLine(points), exponent: growthExponent(points) };
  };
  return {
    roundLatencySeconds: with_((f) => f.roundLatencySeconds),
    coordinatorCpuSeconds: with_((f) => f.coordinator.cpuSecondsRound),
    keyholderCpuSeconds: with_((f) => f.keyholder.cpuSecondsRound),
  };
}

export async function runLoadBench(o: LoadOptions, progress: (m: string) => void): Promise<{ figures: RoundFigure[]; fits: LoadFits }> {
  await cryptoReady();
  const ctx = await HeContext.create(DEFAULT_HE_PARAM_SET);
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-load-bench-'));
  let keyholder: KeyHolderProcess | undefined;
  try {
    const shopCount = Math.min(o.shops, Math.max(...o.merchants));
    progress(`synthesising ${shopCount} shops`);
    const shops = await loadShopTemplates(join(dir, 'shops'), shopCount);
    const identities = createIdentities(dir);
    keyholder = await startKeyHolderProcess(dir, identities);
    progress(`key holder pid ${keyholder.service.child.pid} at ${keyholder.address}`);
    const figures: RoundFigure[] = [];
    for (let r = 1; r <= o.repeat; r++) {
      for (const n of o.merchants) figures.push(await runRound(o, ctx, keyholder, identities, shops, n, r, dir, progress));
    }
    return { figures, fits: fitsOf(figures) };
  } finally {
    await keyholder?.service.stop();
    ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function commitOf(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: HERE, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (working tree with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

export function parseLoadOptions(argv: readonly string[]): LoadOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      merchants: { type: 'string', default: '10,100,1000' },
      concurrency: { type: 'string', default: 'all' },
      repeat: { type: 'string', default: '1' },
      db: { type: 'string', default: 'pglite' },
      shops: { type: 'string', default: '20' },
      out: { type: 'string', default: join(HERE, 'load-results.json') },
      chart: { type: 'string', default: join(HERE, 'load-chart.svg') },
      from: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const int = (name: string, v: string, min: number, max: number) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max) throw new RangeError(`--${name}: expected an integer ${min}..${max}, got ${v}`);
    return x;
  };
  const merchants = values.merchants.split(',').map((v) => int('merchants', v.trim(), 3, MAX_ROUND_CONTRIBUTORS));
  return {
    merchants,
    concurrency: values.concurrency === 'all' ? 0 : int('concurrency', values.concurrency, 1, 100_000),
    repeat: int('repeat', values.repeat, 1, 100),
    db: values.db,
    shops: int('shops', values.shops, 1, 1000),
    out: values.out,
    chart: values.chart === 'none' ? null : values.chart,
    ...(values.from === undefined ? {} : { from: values.from }),
  };
}

function writeChart(file: string, figures: readonly RoundFigure[], db: string, cpuCount: number, measuredAt: string): void {
  const ok = figures.filter((f) => f.released);
  writeFileSync(file, loadChartSvg(
    { title: 'Round latency (first submission → release)', unit: 'seconds', points: ok.map((f) => [f.merchants, f.roundLatencySeconds]) },
    { title: 'Coordinator CPU per contribution', unit: 'ms of CPU (intake + close)', points: ok.map((f) => [f.merchants, f.coordinator.cpuMsPerContribution]) },
    `fedmart bench:load, one coordinator on ${db === 'pglite' ? 'PGlite' : db.startsWith('postgres') ? 'PostgreSQL' : db}, ${cpuCount} cores, ${measuredAt.slice(0, 10)}; dots: runs, line: median`,
  ));
}

function table(figures: readonly RoundFigure[], fits: LoadFits): string {
  const lines = [
    'merchants  run  outcomes                      round s  intake s  contrib/s  MiB/s  ack p50/p99 ms  coord CPU ms/contrib  coord RSS MiB before/median intake/peak intake/peak close  all contributions MiB  keyholder CPU s  intake tx  steal %',
  ];
  for (const f of figures) {
    const sends = Object.values(f.attempts).reduce((a, b) => a + b, 0);
    const refusedSends = Object.entries(f.attempts).filter(([k]) => k !== 'ACCEPTED').map(([k, v]) => `${k} ${v}`).join(', ');
    const outcomes = Object.entries(f.outcomes).map(([k, v]) => `${k} ${v}`).join(', ') + (sends > f.merchants ? ` (${sends} sends; refused: ${refusedSends})` : '');
    const r = f.coordinator.rssMiB;
    lines.push(`${String(f.merchants).padStart(9)}  ${String(f.repetition).padStart(3)}  ${outcomes.padEnd(28)}  ${f.roundLatencySeconds.toFixed(2).padStart(7)}  ${f.intakeSeconds.toFixed(2).padStart(8)}  ${f.contributionsPerSecond.toFixed(1).padStart(9)}  ${f.mibPerSecond.toFixed(2).padStart(5)}  ${`${f.ackLatencyMs.p50}/${f.ackLatencyMs.p99}`.padStart(14)}  ${f.coordinator.cpuMsPerContribution.toFixed(2).padStart(20)}  ${`${r.beforeRound}/${r.medianIntake}/${r.peakIntake}/${r.peakClose}`.padStart(56)}  ${f.coordinator.allContributionsMiB.toFixed(1).padStart(20)}  ${f.keyholder.cpuSecondsRound.toFixed(2).padStart(15)}  ${String(f.intakeTransactions ?? '–').padStart(9)}  ${(f.machineCpu ? f.machineCpu.stealPercent.toFixed(1) : '–').padStart(7)}`);
  }
  const line = (name: string, fit: LineFit & { exponent: number }, unit: string, scale: number, slopeUnit: string) =>
    `${name}: ${(fit.intercept * scale).toFixed(2)} ${unit} fixed + ${(fit.slope * scale).toFixed(3)} ${slopeUnit} per merchant (R² ${fit.r2.toFixed(4)}; log-log exponent ${fit.exponent.toFixed(2)})`;
  lines.push('');
  lines.push(line('round latency', fits.roundLatencySeconds, 's', 1, 's'));
  lines.push(line('coordinator CPU per round', fits.coordinatorCpuSeconds, 's', 1, 's'));
  lines.push(line('key holder CPU per round', fits.keyholderCpuSeconds, 's', 1, 's'));
  return lines.join('\n') + '\n';
}

async function main(): Promise<number> {
  let options: LoadOptions | 'help';
  try {
    options = parseLoadOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench:load: ${err instanceof Error ? err.message : String(err)}\n\n${LOAD_HELP}`);
    return 2;
  }
  if (options === 'help') {
    console.log(LOAD_HELP);
    return 0;
  }
  if (options.from !== undefined) {
    const earlier = JSON.parse(readFileSync(options.from, 'utf8')) as { measuredAt: string; machine: { cpus: number }; options: { db: string }; figures: RoundFigure[] };
    if (options.chart) writeChart(options.chart, earlier.figures, earlier.options.db, earlier.machine.cpus, earlier.measuredAt);
    process.stdout.write(table(earlier.figures, fitsOf(earlier.figures)));
    return 0;
  }
  const start = performance.now();
  const progress = (m: string) => process.stderr.write(`[load ${((performance.now() - start) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
  const { figures, fits } = await runLoadBench(options, progress);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
  writeFileSync(options.out, JSON.stringify({
    measuredAt: new Date().toISOString(),
    commit: commitOf(),
    machine,
    command: `npm run bench:load -- ${process.argv.slice(2).join(' ')}`.trim(),
    options: { ...options, out: undefined, chart: undefined, concurrency: options.concurrency === 0 ? 'all' : options.concurrency },
    fits,
    figures,
  }, null, 1) + '\n');
  if (options.chart) writeChart(options.chart, figures, options.db, machine.cpus, new Date().toISOString());
  process.stdout.write(`${machine.cpus} CPUs (${machine.cpu}), node ${machine.node}; ${figures[0]?.ciphertextBytesPerContribution ?? 0} bytes of ciphertext per contribution\n`);
  process.stdout.write(table(figures, fits));
  const bad = figures.filter((f) => !f.released || Object.values(f.outcomes).reduce((a, b) => a + b, 0) !== f.merchants || f.storedContributions !== (f.outcomes.ACCEPTED ?? 0));
  for (const f of bad) process.stderr.write(`round of ${f.merchants} merchants (run ${f.repetition}): ${f.releaseStatus}; outcomes ${JSON.stringify(f.outcomes)}; stored ${f.storedContributions}\n`);
  return bad.length > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then((code) => {
    process.exitCode = code;
  }, (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
