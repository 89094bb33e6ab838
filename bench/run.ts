/**
 * `fedmart bench`: HE (BFV) against 2048-bit Paillier and plaintext, per
 * 64-bit value, all measured in one run. Writes JSON records and prints a
 * table with the targets judged PASS or MISS.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cryptoReady } from '../crypto/index.js';
import { runGbtFitBench } from './gbt-fit.js';
import { runHeBench } from './he.js';
import { runLogisticFitBench } from './logistic-fit.js';
import { BENCH_HELP, BENCH_PARTS, parseBenchArgs } from './options.js';
import type { BenchPart, BenchPlan } from './options.js';
import { runPaillierBench } from './paillier.js';
import { runPlainBench } from './plain.js';
import { prio3PlanFor, runPrio3Bench } from './prio3.js';
import { processIo, progressReporter } from './progress.js';
import type { BenchIo } from './progress.js';
import { computePrio3Ratios, computeRatios } from './ratios.js';
import { assertUniqueNames, BenchCheckError, record } from './records.js';
import type { BenchRecord } from './records.js';
import { renderTable } from './table.js';
import { judgeTargets, targetRecords } from './targets.js';

export type { BenchRecord } from './records.js';

/** The measured records of the HE, Paillier and plaintext per-value part and its ratios. */
async function runPerValueBench(plan: BenchPlan, progress: (message: string) => void): Promise<{ measured: BenchRecord[]; ratios: BenchRecord[] }> {
  const he = await runHeBench(plan, progress);
  const plain = runPlainBench(plan, he.valuesPerCiphertext, progress);
  const paillier = await runPaillierBench(plan, he.valuesPerCiphertext, progress);
  const measured = [...he.records, ...paillier, ...plain];
  return { measured, ratios: computeRatios(measured) };
}

/**
 * Runs the parts of the bench in `parts` (all of them by default) and
 * returns their records (targets included) and the rendered table. A target
 * whose metric no part measured is left out, so `--only` judges only its own.
 */
export async function runBench(
  plan: BenchPlan,
  progress: (message: string) => void,
  parts: readonly BenchPart[] = BENCH_PARTS,
): Promise<{ records: BenchRecord[]; table: string }> {
  const started = performance.now();
  await cryptoReady();
  const perValue = parts.includes('he') ? await runPerValueBench(plan, progress) : { measured: [], ratios: [] };
  const logistic = !parts.includes('logistic')
    ? []
    : await runLogisticFitBench(
        plan.mode === 'quick'
          ? [{ name: 'shops_3', shops: 3, customersPerShop: { min: 200, max: 400 } }]
          : [
              { name: 'shops_5', shops: 5, customersPerShop: { min: 300, max: 3000 } },
              { name: 'shops_50', shops: 50, customersPerShop: { min: 300, max: 3000 } },
              { name: 'shops_5_large', shops: 5, customersPerShop: { min: 20_000, max: 30_000 } },
            ],
        progress,
      );
  const gbt = !parts.includes('gbt')
    ? []
    : await runGbtFitBench(
        plan.mode === 'quick'
          ? [{ name: 'shops_3', shops: 3, rowsPerShop: { min: 200, max: 400 }, trees: 1, depth: 3 }]
          : [
              { name: 'shops_5', shops: 5, rowsPerShop: { min: 300, max: 3000 }, trees: 5, depth: 3, repeats: 5 },
              { name: 'shops_50', shops: 50, rowsPerShop: { min: 300, max: 3000 }, trees: 5, depth: 3, repeats: 3 },
            ],
        progress,
      );
  const prio3 = parts.includes('prio3') ? await runPrio3Bench(prio3PlanFor(plan), progress) : { records: [], skipped: undefined };
  const measured = [...perValue.measured, ...logistic, ...gbt, ...prio3.records];
  // Prio3's ratios divide by the per-value figures, so they need both parts.
  const prio3Ratios = parts.includes('he') && parts.includes('prio3') && prio3.skipped === undefined ? computePrio3Ratios(measured) : [];
  const ratios = [...perValue.ratios, ...prio3Ratios];
  const all = [...measured, ...ratios];
  const everyPart = parts.length === BENCH_PARTS.length;
  // A full run judges every target (a missing metric is an error); a run of some parts, those it measured.
  const outcomes = everyPart ? judgeTargets(all) : judgeTargets(all, (metric) => all.some((r) => r.name === metric));
  const only = everyPart ? '' : `, only ${parts.join(', ')}`;
  const meta = [
    record('bench.quick', plan.mode === 'quick' ? 1 : 0, 'flag', plan.mode === 'quick' ? 'quick run: few iterations, rough figures' : 'full run'),
    record('bench.contributors', plan.contributors, 'contributions', 'M contributions summed by each coordinator'),
    record('bench.wall_s', (performance.now() - started) / 1000, 's', `node ${process.version}, ${process.platform}/${process.arch}${only}`),
  ];
  const records = [...meta, ...measured, ...ratios, ...targetRecords(outcomes)];
  assertUniqueNames(records);
  const title = `fedmart bench (${plan.mode}${only}): medians; per value = per 64-bit value (Prio3SumVec: per 32-bit value)`;
  const table = renderTable(records, outcomes, prio3.skipped === undefined ? title : `${title}\nPrio3: SKIPPED, ${prio3.skipped}`);
  return { records, table };
}

/** Rounds to 6 significant digits for a readable JSON file. */
function rounded(records: readonly BenchRecord[]): BenchRecord[] {
  return records.map((r) => ({ ...r, value: Number(r.value.toPrecision(6)) }));
}

async function writeJsonAtomically(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(data, null, 2) + '\n');
  await rename(tmp, path);
}

/**
 * Entry point of `fedmart bench [--quick] [--only PART] [--out FILE]`.
 * @returns exit code: 0 ok, 1 failed (including a correctness check), 2 usage error
 */
export async function benchCommand(argv: readonly string[], io: BenchIo = processIo): Promise<number> {
  const parsed = parseBenchArgs(argv);
  if (parsed.kind === 'help') {
    io.out(BENCH_HELP + '\n');
    return 0;
  }
  if (parsed.kind === 'usage-error') {
    io.err(`fedmart bench: ${parsed.message} (see fedmart bench --help)\n`);
    return 2;
  }
  const progress = progressReporter(io);
  try {
    const { records, table } = await runBench(parsed.plan, progress, parsed.parts);
    await writeJsonAtomically(parsed.outPath, rounded(records));
    io.out(table);
    progress(`wrote ${records.length} records to ${parsed.outPath}`);
    return 0;
  } catch (err) {
    const what = err instanceof BenchCheckError ? 'correctness check failed' : 'failed';
    io.err(`fedmart bench: ${what}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
