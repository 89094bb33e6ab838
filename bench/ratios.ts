/**
 * Ratios between the three systems, computed from records of the same run.
 */
import { record, valueOf } from './records.js';
import type { BenchRecord } from './records.js';

const METRICS = [
  ['merchant_cpu_per_value', 'merchant_cpu_us_per_value'],
  ['coordinator_cpu_per_value', 'coordinator_cpu_us_per_value'],
  ['bytes_per_value', 'bytes_per_value'],
] as const;

function ratio(records: readonly BenchRecord[], numerator: string, denominator: string, metric: readonly [string, string]): BenchRecord {
  const [label, field] = metric;
  const top = valueOf(records, `${numerator}.${field}`);
  const bottom = valueOf(records, `${denominator}.${field}`);
  if (bottom <= 0) throw new RangeError(`${denominator}.${field} must be positive to form a ratio, got ${bottom}`);
  return record(`ratio.${numerator}_over_${denominator}.${label}`, top / bottom, 'x', `${numerator}.${field} / ${denominator}.${field}`);
}

export function computeRatios(records: readonly BenchRecord[]): BenchRecord[] {
  const out: BenchRecord[] = [];
  for (const metric of METRICS) out.push(ratio(records, 'paillier', 'he', metric));
  out.push(ratio(records, 'paillier', 'he', ['coordinator_cpu_with_signatures_per_value', 'coordinator_cpu_with_signatures_us_per_value']));
  out.push(
    record(
      'ratio.paillier_over_he.decrypt_per_value',
      valueOf(records, 'paillier.decrypt_us_per_value') / valueOf(records, 'he.decrypt_us_per_value'),
      'x',
      'paillier.decrypt_us_per_value / he.decrypt_us_per_value',
    ),
  );
  for (const metric of METRICS) out.push(ratio(records, 'he', 'plain', metric));
  out.push(
    record(
      'ratio.seal_over_accumulator.coordinator_cpu_per_value',
      valueOf(records, 'he.seal_coordinator_cpu_us_per_value') / valueOf(records, 'he.coordinator_cpu_us_per_value'),
      'x',
      'a round through SEAL ctx.add / the same round through CiphertextAccumulator (incl. its reduction)',
    ),
    record(
      'ratio.seal_over_accumulator.ms_per_ciphertext',
      (valueOf(records, 'he.seal_validate_ms_per_ciphertext') + valueOf(records, 'he.seal_add_ms_per_ciphertext')) /
        valueOf(records, 'he.accumulate_ms_per_ciphertext'),
      'x',
      '(SEAL validate + load + add) / accumulator add (validate + add), wall',
    ),
  );
  return out;
}

/**
 * Prio3SumVec (32-bit values) against the 64-bit figures of HE, Paillier and
 * plaintext from the same run: upload bytes, client CPU against merchant CPU,
 * and each aggregator's CPU against the coordinator's.
 */
export function computePrio3Ratios(records: readonly BenchRecord[]): BenchRecord[] {
  const out: BenchRecord[] = [];
  const pairs = [
    ['bytes_per_value', 'vdaf.prio3_sumvec.bytes_per_value', 'bytes_per_value'],
    ['client_cpu_per_value', 'vdaf.prio3_sumvec.client_cpu_us_per_value', 'merchant_cpu_us_per_value'],
    ['leader_cpu_per_value', 'vdaf.prio3_sumvec.leader_cpu_us_per_value', 'coordinator_cpu_us_per_value'],
    ['helper_cpu_per_value', 'vdaf.prio3_sumvec.helper_cpu_us_per_value', 'coordinator_cpu_us_per_value'],
  ] as const;
  for (const other of ['he', 'paillier', 'plain'] as const) {
    for (const [label, top, field] of pairs) {
      const bottom = valueOf(records, `${other}.${field}`);
      if (bottom <= 0) throw new RangeError(`${other}.${field} must be positive to form a ratio, got ${bottom}`);
      out.push(record(`ratio.prio3_sumvec_over_${other}.${label}`, valueOf(records, top) / bottom, 'x', `${top} (32-bit values) / ${other}.${field} (64-bit values)`));
    }
  }
  return out;
}
