/**
 * Command-line options and the iteration counts of a full and a quick run.
 */
import { parseArgs } from 'node:util';
import { parseArgsMessage } from './parse-args-message.js';
import { fileURLToPath } from 'node:url';

export const BENCH_HELP = `fedmart bench — measure HE, Paillier and plaintext costs per 64-bit value

Usage: fedmart bench [--quick] [--only PART] [--out FILE]

  --quick      few iterations (a smoke test, figures are rough)
  --only PART  measure one part alone and judge only its targets: he (HE, Paillier
               and plaintext per value, and their ratios), logistic (the federated
               logistic fit), gbt (the federated gradient-boosted-trees fit) or
               prio3 (Prio3 alone, without its ratios to the others)
  --out FILE   where to write the JSON records (default bench/results.json)
  -h, --help   this text

Also measures DAP's Prio3 (Prio3SumVec of 32-bit values, Prio3Count,
Prio3Histogram; two aggregators in this process) when the devDependency
@divviup/prio3 is installed, and prints a SKIPPED line when it is not.

Prints a table on stdout, progress on stderr. Exit code 1 if a correctness
check fails (decrypted sums must equal the plaintext sums).`;

/** How many times each part is measured. */
export interface BenchPlan {
  readonly mode: 'full' | 'quick';
  /** Contributions M summed by the coordinator (HE, Paillier and plaintext alike). */
  readonly contributors: number;
  /** SlotLayout maxContributors: bounds the limb width so that sums never wrap t. */
  readonly layoutMaxContributors: number;
  /** Warm-up repetitions before any recorded sample. */
  readonly warmup: number;
  /** Merchant pipelines (encode, encrypt, sign one ciphertext) recorded. */
  readonly heMerchantSamples: number;
  readonly heValidateSamples: number;
  /** Coordinator sums of M (and of 1) contributions recorded. */
  readonly heCoordinatorSamples: number;
  readonly heDecryptSamples: number;
  /** Paillier encryptions recorded (~40-50 ms each); a round of M reuses them cyclically. */
  readonly paillierEncryptSamples: number;
  /** Paillier sums of M ciphertexts recorded. */
  readonly paillierAddSamples: number;
  readonly paillierDecryptSamples: number;
  readonly plainSamples: number;
}

export const FULL_PLAN: BenchPlan = Object.freeze({
  mode: 'full',
  contributors: 100,
  layoutMaxContributors: 100,
  warmup: 3,
  heMerchantSamples: 100,
  heValidateSamples: 1000,
  heCoordinatorSamples: 50,
  heDecryptSamples: 50,
  paillierEncryptSamples: 40,
  paillierAddSamples: 100,
  paillierDecryptSamples: 20,
  plainSamples: 50,
});

export const QUICK_PLAN: BenchPlan = Object.freeze({
  mode: 'quick',
  contributors: 4,
  layoutMaxContributors: 100,
  warmup: 1,
  heMerchantSamples: 4,
  heValidateSamples: 10,
  heCoordinatorSamples: 3,
  heDecryptSamples: 3,
  paillierEncryptSamples: 5,
  paillierAddSamples: 10,
  paillierDecryptSamples: 3,
  plainSamples: 5,
});

/** The parts `--only` can pick, in the order a full run measures them. */
export const BENCH_PARTS = ['he', 'logistic', 'gbt', 'prio3'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

function isBenchPart(name: string): name is BenchPart {
  return (BENCH_PARTS as readonly string[]).includes(name);
}

export const DEFAULT_RESULTS_PATH = fileURLToPath(new URL('./results.json', import.meta.url));

export type ParsedOptions =
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string }
  /** `parts`: what to measure; every part unless `--only` named one. */
  | { readonly kind: 'run'; readonly plan: BenchPlan; readonly outPath: string; readonly parts: readonly BenchPart[] };

export function parseBenchArgs(argv: readonly string[]): ParsedOptions {
  let values: { quick?: boolean | undefined; only?: string | undefined; out?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    return { kind: 'usage-error', message: parseArgsMessage(err) };
  }
  if (values.help === true) return { kind: 'help' };
  if (values.out !== undefined && values.out.length === 0) return { kind: 'usage-error', message: '--out must not be empty' };
  if (values.only !== undefined && !isBenchPart(values.only)) {
    return { kind: 'usage-error', message: `--only must be one of ${BENCH_PARTS.join(', ')} (got ${JSON.stringify(values.only)})` };
  }
  return {
    kind: 'run',
    plan: values.quick === true ? QUICK_PLAN : FULL_PLAN,
    outPath: values.out ?? DEFAULT_RESULTS_PATH,
    parts: values.only === undefined ? BENCH_PARTS : [values.only],
  };
}
