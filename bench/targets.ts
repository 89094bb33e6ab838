/**
 * The project's targets, judged on this run's records. Reported, never
 * asserted in tests: timings depend on the machine.
 */
import { record, valueOf } from './records.js';
import type { BenchRecord } from './records.js';

export interface Target {
  readonly name: string;
  readonly description: string;
  readonly metric: string;
  readonly comparison: '<=' | '>=';
  readonly threshold: number;
}

export const TARGETS: readonly Target[] = Object.freeze([
  {
    name: 'target.he_bytes_per_value',
    description: 'HE bytes on the wire per 64-bit value <= 32 (Paillier 512)',
    metric: 'he.bytes_per_value',
    comparison: '<=',
    threshold: 32,
  },
  {
    name: 'target.merchant_cpu_vs_paillier',
    description: 'merchant CPU per value >= 1000x less than Paillier',
    metric: 'ratio.paillier_over_he.merchant_cpu_per_value',
    comparison: '>=',
    threshold: 1000,
  },
  {
    name: 'target.coordinator_cpu_vs_paillier',
    description: 'coordinator CPU per value >= 1000x less than Paillier',
    metric: 'ratio.paillier_over_he.coordinator_cpu_per_value',
    comparison: '>=',
    threshold: 1000,
  },
  {
    name: 'target.pool_encrypt_values_per_core',
    description: 'send-time encryption from the Enc(0) pool >= 1,000,000 64-bit values/s per core',
    metric: 'he.pool_encrypt_values_per_s_per_core',
    comparison: '>=',
    threshold: 1_000_000,
  },
  {
    name: 'target.logistic_encryption_overhead',
    description: 'federated logistic fit with encryption <= 1.5x the plaintext federated fit (largest shops measured)',
    metric: 'logistic.encryption_overhead_largest',
    comparison: '<=',
    threshold: 1.5,
  },
  {
    name: 'target.gbt_encryption_overhead',
    description: 'federated gradient-boosted-trees fit with encryption from an Enc(0) pool, as merchant nodes encrypt by default, <= 1.5x the plaintext federated fit (largest shops measured)',
    metric: 'gbt.encryption_overhead_largest',
    comparison: '<=',
    threshold: 1.5,
  },
]);

export interface TargetOutcome {
  readonly target: Target;
  readonly measured: number;
  readonly pass: boolean;
}

/**
 * Judges every target against the records; with `measuredHere`, only the
 * targets whose metric it accepts (a run of one part judges that part's).
 */
export function judgeTargets(records: readonly BenchRecord[], measuredHere: (metric: string) => boolean = () => true): TargetOutcome[] {
  return TARGETS.filter((target) => measuredHere(target.metric)).map((target) => {
    const measured = valueOf(records, target.metric);
    const pass = target.comparison === '<=' ? measured <= target.threshold : measured >= target.threshold;
    return { target, measured, pass };
  });
}

/** One record per target: 1 = PASS, 0 = MISS. */
export function targetRecords(outcomes: readonly TargetOutcome[]): BenchRecord[] {
  return outcomes.map(({ target, measured, pass }) =>
    record(target.name, pass ? 1 : 0, 'pass', `${pass ? 'PASS' : 'MISS'}: ${target.metric} = ${measured} ${target.comparison} ${target.threshold}?`),
  );
}
