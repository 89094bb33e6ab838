/**
 * DAP's VDAF Prio3 (`@divviup/prio3`, a devDependency) beside BFV, Paillier
 * and plaintext: two aggregators, leader (id 0) and helper (id 1), run in
 * this process. Per report: the client shards; both aggregators run
 * prepareInit; the leader combines the two preparation shares into the
 * preparation message; both run prepareNext; each aggregates its output
 * shares; the collector unshards. The unsharded result must equal the
 * plaintext sum or the bench fails.
 *
 * Prio3SumVec is measured with `bits: 32`. @divviup/prio3 0.8.0 decodes bit
 * 31 with `1 << 31` (negative in JavaScript), so a measurement >= 2^31 comes
 * out wrong after unshard; the values here are drawn from [0, 2^31). The
 * encoding, proof and wire sizes are those of the 32-bit circuit all the same.
 *
 * If the package is not installed the bench says so and goes on without it.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type * as Prio3Package from '@divviup/prio3';
import type { Prio3 } from '@divviup/prio3';
import type { BenchPlan } from './options.js';
import { BenchCheckError, record } from './records.js';
import type { BenchRecord } from './records.js';
import { cpuMsNow, median } from './stats.js';

export type Prio3Module = typeof Prio3Package;
export type Prio3Loader = () => Promise<Prio3Module>;

export const PRIO3_PACKAGE = '@divviup/prio3';
export const loadPrio3: Prio3Loader = () => import('@divviup/prio3');

/** Sizes of the Prio3 part of a run. */
export interface Prio3Plan {
  /** Reports (client measurements) per round. */
  readonly reports: number;
  /** Prio3SumVec vector length (32-bit values per report). */
  readonly sumVecLength: number;
  /** Prio3Count reports per round (Count is cheap). */
  readonly countReports: number;
  /** Prio3Histogram buckets; reports per round as `reports`. */
  readonly histogramLength: number;
  /** Discarded rounds, then recorded rounds (medians over recorded rounds). */
  readonly warmupRounds: number;
  readonly rounds: number;
}

export function prio3PlanFor(plan: BenchPlan): Prio3Plan {
  return plan.mode === 'quick'
    ? { reports: 3, sumVecLength: 8, countReports: 4, histogramLength: 8, warmupRounds: 1, rounds: 1 }
    : { reports: 20, sumVecLength: 64, countReports: 100, histogramLength: 16, warmupRounds: 1, rounds: 3 };
}

/** Costs of one round, summed over its reports. CPU and wall in ms. */
interface PhaseCost {
  cpuMs: number;
  wallMs: number;
}

const PHASES = ['shard', 'leaderInit', 'helperInit', 'combine', 'leaderNext', 'helperNext', 'leaderAggregate', 'helperAggregate', 'unshard'] as const;
type Phase = (typeof PHASES)[number];

export interface Prio3Round<AR> {
  readonly result: AR;
  /** Bytes per report: public share, leader input share, helper input share. */
  readonly publicShareBytes: number;
  readonly leaderInputShareBytes: number;
  readonly helperInputShareBytes: number;
  /** Between the aggregators per report: helper's preparation share + the preparation message. */
  readonly prepareExchangeBytes: number;
  /** Aggregate shares sent to the collector, both aggregators. */
  readonly aggregateShareBytes: number;
  readonly costs: Record<Phase, PhaseCost>;
}

async function timed<T>(costs: Record<Phase, PhaseCost>, phase: Phase, op: () => Promise<T> | T): Promise<T> {
  const c0 = cpuMsNow();
  const t0 = performance.now();
  const out = await op();
  costs[phase].wallMs += performance.now() - t0;
  costs[phase].cpuMs += cpuMsNow() - c0;
  return out;
}

/**
 * One aggregation round of `measurements` through a two-aggregator Prio3,
 * every step awaited in turn so that each phase's CPU is its own.
 */
export async function runPrio3Round<M, AR>(vdaf: Prio3<M, AR>, measurements: readonly M[]): Promise<Prio3Round<AR>> {
  if (vdaf.shares !== 2) throw new RangeError('the bench runs Prio3 with two aggregators');
  if (vdaf.rounds !== 1) throw new RangeError('the bench expects one-round Prio3');
  const costs = Object.fromEntries(PHASES.map((p) => [p, { cpuMs: 0, wallMs: 0 }])) as Record<Phase, PhaseCost>;
  const verifyKey = Buffer.from(randomBytes(vdaf.verifyKeySize));
  let publicShareBytes = 0;
  let leaderInputShareBytes = 0;
  let helperInputShareBytes = 0;
  let prepareExchangeBytes = 0;
  const leaderOut: bigint[][] = [];
  const helperOut: bigint[][] = [];
  for (const measurement of measurements) {
    const nonce = Buffer.from(randomBytes(vdaf.nonceSize));
    const rand = Buffer.from(randomBytes(vdaf.randSize));
    // Client: shard and encode what goes on the wire.
    const { publicShare, inputShares, encoded } = await timed(costs, 'shard', async () => {
      const sharded = await vdaf.shard(measurement, nonce, rand);
      const encoded = [vdaf.encodePublicShare(sharded.publicShare), ...sharded.inputShares.map((s) => vdaf.encodeInputShare(s))];
      return { ...sharded, encoded };
    });
    const [pub, leaderShare, helperShare] = encoded;
    if (pub === undefined || leaderShare === undefined || helperShare === undefined || inputShares.length !== 2) {
      throw new BenchCheckError('Prio3: shard did not give two input shares');
    }
    publicShareBytes += pub.length;
    leaderInputShareBytes += leaderShare.length;
    helperInputShareBytes += helperShare.length;
    const [leaderInput, helperInput] = inputShares as [(typeof inputShares)[0], (typeof inputShares)[0]];

    const leader = await timed(costs, 'leaderInit', () => vdaf.prepareInit(verifyKey, 0, null, nonce, publicShare, leaderInput));
    const helper = await timed(costs, 'helperInit', () => vdaf.prepareInit(verifyKey, 1, null, nonce, publicShare, helperInput));
    // The helper sends its preparation share to the leader, which combines both
    // (this is where the proof is checked) and sends the message back.
    const message = await timed(costs, 'combine', () => vdaf.unshardPreparationShares(null, [leader.preparationShare, helper.preparationShare]));
    prepareExchangeBytes += vdaf.encodePreparationShare(helper.preparationShare).length + vdaf.encodePreparationMessage(message).length;
    const leaderNext = await timed(costs, 'leaderNext', () => vdaf.prepareNext(leader.preparationState, message));
    const helperNext = await timed(costs, 'helperNext', () => vdaf.prepareNext(helper.preparationState, message));
    if (!('outputShare' in leaderNext) || !('outputShare' in helperNext)) throw new BenchCheckError('Prio3: preparation did not finish in one round');
    leaderOut.push(leaderNext.outputShare);
    helperOut.push(helperNext.outputShare);
  }
  const leaderAggregate = await timed(costs, 'leaderAggregate', () => vdaf.aggregate(null, leaderOut));
  const helperAggregate = await timed(costs, 'helperAggregate', () => vdaf.aggregate(null, helperOut));
  const aggregateShareBytes = vdaf.encodeAggregatorShare(leaderAggregate).length + vdaf.encodeAggregatorShare(helperAggregate).length;
  const result = await timed(costs, 'unshard', () => vdaf.unshard(null, [leaderAggregate, helperAggregate], measurements.length));
  return { result, publicShareBytes, leaderInputShareBytes, helperInputShareBytes, prepareExchangeBytes, aggregateShareBytes, costs };
}

/** Random Prio3SumVec measurements: `reports` vectors of `length` values in [0, 2^31). */
export function sumVecMeasurements(reports: number, length: number): number[][] {
  const rows = Array.from({ length: reports }, () => Array.from({ length }, () => randomInt(0, 2 ** 31)));
  // Exercise the largest value the bench can check (see the header).
  if (rows[0] !== undefined && length > 0) rows[0][0] = 2 ** 31 - 1;
  return rows;
}

export function columnSumsOf(rows: readonly (readonly number[])[], length: number): bigint[] {
  const sums = new Array<bigint>(length).fill(0n);
  for (const row of rows) row.forEach((v, i) => (sums[i] = (sums[i] as bigint) + BigInt(v)));
  return sums;
}

function sameSums(got: readonly (number | bigint)[], expected: readonly bigint[]): boolean {
  // The library decodes with Number(): exact while sums stay below 2^53.
  return got.length === expected.length && got.every((g, i) => typeof g === 'number' && Number.isSafeInteger(g) && BigInt(g) === expected[i]);
}

interface Recorded<AR> {
  readonly rounds: Prio3Round<AR>[];
}

async function repeat<AR>(
  p: Prio3Plan,
  makeRound: () => Promise<{ round: Prio3Round<AR>; ok: boolean; detail: string }>,
  label: string,
): Promise<Recorded<AR>> {
  const rounds: Prio3Round<AR>[] = [];
  for (let r = 0; r < p.warmupRounds + p.rounds; r++) {
    const { round, ok, detail } = await makeRound();
    if (!ok) throw new BenchCheckError(`${label}: unsharded result differs from the plaintext sum (${detail})`);
    if (r >= p.warmupRounds) rounds.push(round);
  }
  return { rounds };
}

/** Median over recorded rounds of `f(round)`. */
function med<AR>(rec: Recorded<AR>, f: (r: Prio3Round<AR>) => number): number {
  return median(rec.rounds.map(f));
}

function costRecords<AR>(prefix: string, rec: Recorded<AR>, unitValues: number, unitName: string, unit: string): BenchRecord[] {
  const per = (f: (r: Prio3Round<AR>) => number): number => med(rec, f) / unitValues;
  const first = rec.rounds[0] as Prio3Round<AR>;
  const cpu = (r: Prio3Round<AR>, ...phases: Phase[]): number => phases.reduce((s, ph) => s + r.costs[ph].cpuMs * 1000, 0);
  const wall = (r: Prio3Round<AR>, ...phases: Phase[]): number => phases.reduce((s, ph) => s + r.costs[ph].wallMs * 1000, 0);
  const wire = first.publicShareBytes + first.leaderInputShareBytes + first.helperInputShareBytes;
  return [
    record(
      `${prefix}.bytes_per_${unitName}`,
      wire / unitValues,
      `bytes/${unitName}`,
      `client upload, public share + leader input share + helper input share (${first.leaderInputShareBytes / unitValues}+${first.helperInputShareBytes / unitValues}+${first.publicShareBytes / unitValues})`,
    ),
    record(`${prefix}.prepare_exchange_bytes_per_${unitName}`, first.prepareExchangeBytes / unitValues, `bytes/${unitName}`, 'helper preparation share + preparation message, between the aggregators'),
    record(`${prefix}.client_cpu_us_per_${unitName}`, per((r) => cpu(r, 'shard')), unit, 'process CPU: shard + encode public and input shares'),
    record(`${prefix}.shard_us_per_${unitName}`, per((r) => wall(r, 'shard')), unit, 'wall: shard + encode'),
    record(
      `${prefix}.leader_cpu_us_per_${unitName}`,
      per((r) => cpu(r, 'leaderInit', 'combine', 'leaderNext', 'leaderAggregate')),
      unit,
      'process CPU: prepareInit + combine preparation shares (proof check) + prepareNext + aggregate',
    ),
    record(
      `${prefix}.helper_cpu_us_per_${unitName}`,
      per((r) => cpu(r, 'helperInit', 'helperNext', 'helperAggregate')),
      unit,
      'process CPU: prepareInit + prepareNext + aggregate',
    ),
    record(`${prefix}.prepare_init_us_per_${unitName}`, per((r) => wall(r, 'leaderInit', 'helperInit') / 2), unit, 'wall, one aggregator (mean of leader and helper)'),
    record(`${prefix}.combine_us_per_${unitName}`, per((r) => wall(r, 'combine')), unit, 'wall, leader: unshardPreparationShares'),
    record(`${prefix}.unshard_us_per_${unitName}`, per((r) => wall(r, 'unshard')), unit, 'wall, collector: unshard of the two aggregate shares'),
  ];
}

/**
 * Measures Prio3SumVec (32-bit), Prio3Count and Prio3Histogram.
 * Records are named `vdaf.prio3_<instance>.<figure>` (the first part of a
 * record name is letters only).
 * @returns records, or a single `vdaf.prio3_skipped` record when the package is absent
 */
export async function runPrio3Bench(
  p: Prio3Plan,
  progress: (message: string) => void,
  load: Prio3Loader = loadPrio3,
): Promise<{ records: BenchRecord[]; skipped: string | undefined }> {
  let mod: Prio3Module;
  try {
    mod = await load();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw err;
    const reason = `${PRIO3_PACKAGE} is not installed (npm install --save-dev ${PRIO3_PACKAGE}); Prio3 not measured`;
    progress(`Prio3: skipped, ${reason}`);
    return { records: [record('vdaf.prio3_skipped', 1, 'flag', reason)], skipped: reason };
  }

  const length = p.sumVecLength;
  const chunkLength = Math.max(1, Math.round(Math.sqrt(length * 32)));
  const sumVec = new mod.Prio3SumVec({ shares: 2, length, chunkLength, bits: 32 });
  progress(`Prio3SumVec: ${p.warmupRounds + p.rounds} rounds of ${p.reports} reports x ${length} 32-bit values (chunk ${chunkLength})`);
  const sumVecRec = await repeat(
    p,
    async () => {
      const rows = sumVecMeasurements(p.reports, length);
      const expected = columnSumsOf(rows, length);
      const round = await runPrio3Round(sumVec, rows);
      return { round, ok: sameSums(round.result, expected), detail: `value 0: ${round.result[0]} vs ${expected[0]}` };
    },
    'Prio3SumVec',
  );

  const count = new mod.Prio3Count({ shares: 2 });
  progress(`Prio3Count: ${p.warmupRounds + p.rounds} rounds of ${p.countReports} reports`);
  const countRec = await repeat(
    { ...p },
    async () => {
      const bits = Array.from({ length: p.countReports }, () => randomInt(0, 2) === 1);
      const expected = bits.filter(Boolean).length;
      const round = await runPrio3Round(count, bits);
      return { round, ok: round.result === expected, detail: `${round.result} vs ${expected}` };
    },
    'Prio3Count',
  );

  const buckets = p.histogramLength;
  const histChunk = Math.max(1, Math.round(Math.sqrt(buckets)));
  const histogram = new mod.Prio3Histogram({ shares: 2, length: buckets, chunkLength: histChunk });
  progress(`Prio3Histogram: ${p.warmupRounds + p.rounds} rounds of ${p.reports} reports, ${buckets} buckets`);
  const histRec = await repeat(
    p,
    async () => {
      const picks = Array.from({ length: p.reports }, () => randomInt(0, buckets));
      const expected = new Array<bigint>(buckets).fill(0n);
      for (const b of picks) expected[b] = (expected[b] as bigint) + 1n;
      const round = await runPrio3Round(histogram, picks);
      return { round, ok: sameSums(round.result, expected), detail: `${round.result.join(',')} vs ${expected.join(',')}` };
    },
    'Prio3Histogram',
  );

  const version = await packageVersion();
  return {
    skipped: undefined,
    records: [
      record('vdaf.prio3_sumvec.values_per_report', length, 'values', `${PRIO3_PACKAGE} ${version}, Prio3SumVec bits 32, chunkLength ${chunkLength}, Field128, ${p.reports} reports per round, median of ${p.rounds} rounds`),
      ...costRecords('vdaf.prio3_sumvec', sumVecRec, p.reports * length, 'value', 'µs/value'),
      record('vdaf.prio3_count.reports_per_round', p.countReports, 'reports', `Prio3Count, Field64, median of ${p.rounds} rounds`),
      ...costRecords('vdaf.prio3_count', countRec, p.countReports, 'report', 'µs/report'),
      record('vdaf.prio3_histogram.buckets', buckets, 'buckets', `Prio3Histogram, chunkLength ${histChunk}, Field128, ${p.reports} reports per round`),
      ...costRecords('vdaf.prio3_histogram', histRec, p.reports, 'report', 'µs/report'),
    ],
  };
}

async function packageVersion(): Promise<string> {
  try {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const pkg = require(`${PRIO3_PACKAGE}/package.json`) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '?';
  } catch {
    return '?';
  }
}
