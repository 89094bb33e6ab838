/**
 * The coordinator's part of the HE bench: summing M packed contributions with
 * `CiphertextAccumulator` (validate and add in one TypeScript pass, one
 * reduction mod q per round), and, for comparison, the same sum through SEAL
 * (`ctx.add`: structural validation, load and `evaluator.add`). The two sums
 * must be byte-identical or the bench fails.
 */
import { CiphertextAccumulator, unpackCiphertext, validatePackedCiphertext } from '../crypto/index.js';
import type { HeContext } from '../crypto/index.js';
import type { BenchPlan } from './options.js';
import { BenchCheckError, record } from './records.js';
import type { BenchRecord } from './records.js';
import type { Timing } from './stats.js';
import { sample } from './stats.js';

export interface CoordinatorResult {
  readonly records: BenchRecord[];
  /** The round's sum as a packed ciphertext (for the key holder). */
  readonly sumPacked: Uint8Array;
  /** Process CPU of one whole round (M additions and the reduction), ms. */
  readonly roundCpuMs: number;
}

function accumulate(ctx: HeContext, shares: readonly Uint8Array[]): CiphertextAccumulator {
  const acc = new CiphertextAccumulator(ctx);
  for (const s of shares) acc.add(s);
  return acc;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * @param shares the M packed contributions of one round
 * @param valuesPerCiphertext 64-bit values per ciphertext, for per-value figures
 */
export function runHeCoordinatorBench(
  ctx: HeContext,
  shares: readonly Uint8Array[],
  valuesPerCiphertext: number,
  plan: BenchPlan,
  progress: (message: string) => void,
): CoordinatorResult {
  const m = shares.length;
  const v = valuesPerCiphertext;
  const perValueUs = (ms: number): number => (ms * 1000) / v;

  progress(`HE: coordinator accumulating ${m} packed contributions ${plan.heCoordinatorSamples}x (validate + add in one pass)`);
  const validate = sample((i) => validatePackedCiphertext(ctx, shares[i % m] as Uint8Array), {
    warmup: plan.warmup,
    samples: plan.heValidateSamples,
  });
  const adds = sample(() => accumulate(ctx, shares), { warmup: plan.warmup, samples: plan.heCoordinatorSamples });
  const full = accumulate(ctx, shares);
  const reduce = sample(() => full.sumPacked(), { warmup: plan.warmup, samples: plan.heCoordinatorSamples });
  const round = sample(() => accumulate(ctx, shares).sumPacked(), { warmup: plan.warmup, samples: plan.heCoordinatorSamples });
  const accumulateMs = adds.wallMs / m;

  progress(`HE: the same round through SEAL (ctx.add of ${m} unpacked contributions) ${plan.heCoordinatorSamples}x`);
  const sealShares = shares.map((s) => unpackCiphertext(ctx, s));
  const sealValidate = sample((i) => ctx.validateCiphertext(sealShares[i % m] as Uint8Array), {
    warmup: plan.warmup,
    samples: plan.heValidateSamples,
  });
  const sealOne = sample((i) => ctx.add([sealShares[i % m] as Uint8Array]), { warmup: plan.warmup, samples: plan.heCoordinatorSamples });
  const sealAll: Timing = sample(() => ctx.add(sealShares), { warmup: 1, samples: plan.heCoordinatorSamples });
  // ctx.add(list of M) - ctx.add(list of 1) = (M-1) x (validate + load + add).
  const sealAddMs = Math.max(0, (sealAll.wallMs - sealOne.wallMs) / (m - 1) - sealValidate.wallMs);

  const sumPacked = full.sumPacked();
  const bad = firstDifference(unpackCiphertext(ctx, sumPacked), ctx.add(sealShares));
  if (bad !== -1) {
    throw new BenchCheckError(`HE: the accumulator's sum differs from SEAL's ctx.add at byte ${bad}`);
  }

  return {
    sumPacked,
    roundCpuMs: round.cpuMs,
    records: [
      record('he.validate_ms_per_ciphertext', validate.wallMs, 'ms/ciphertext', 'validatePackedCiphertext alone: length, prefix, every coefficient < q'),
      record('he.validate_us_per_value', perValueUs(validate.wallMs), 'µs/value'),
      record('he.accumulate_ms_per_ciphertext', accumulateMs, 'ms/ciphertext', `CiphertextAccumulator.add: validate + add in one pass; ${m} adds / ${m}`),
      record('he.accumulate_us_per_value', perValueUs(accumulateMs), 'µs/value'),
      record('he.reduce_ms_per_round', reduce.wallMs, 'ms', 'sumPacked once per round: reduce mod q + pack'),
      record('he.sum_ms_per_round', round.wallMs, 'ms', `${m} accumulator adds + one reduction`),
      record('he.seal_validate_ms_per_ciphertext', sealValidate.wallMs, 'ms/ciphertext', 'ctx.validateCiphertext of SEAL bytes'),
      record('he.seal_add_ms_per_ciphertext', sealAddMs, 'ms/ciphertext', `derived: (ctx.add of ${m} - of 1) / ${m - 1} - validate; SEAL load + evaluator add`),
      record('he.seal_sum_ms_per_round', sealAll.wallMs, 'ms', `ctx.add of ${m} SEAL ciphertexts (${m} validations, loads and ${m - 1} adds)`),
      record('he.seal_coordinator_cpu_us_per_value', (sealAll.cpuMs * 1000) / (m * v), 'µs/value', `process CPU of ctx.add of ${m} / (${m} x ${v} values)`),
    ],
  };
}
