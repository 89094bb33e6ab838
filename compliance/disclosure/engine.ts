/**
 * The disclosure engine: from decrypted totals to what may be released.
 *
 * One function, {@link applyDisclosure}, applies a purpose's effective
 * policy to one decrypted aggregate: under DP it first adds calibrated
 * exact integer noise to every releasable total (and to the attested subject
 * total, which is released too), then withholds cells under k subjects
 * (judged on the noisy count under DP, which keeps the decision itself
 * differentially private) or dominated by one merchant (judged on exact
 * bins), then adds complementary suppressions so withheld cells cannot be
 * recovered from the margins the query kind declares. It is pure apart
 * from drawing randomness, so tests can run it on fixed totals as often as they like.
 *
 * Budget checks and spending are the caller's (the key holder's) job: the
 * engine only reports what one release costs.
 *
 * @module
 */
import { dominanceBinLayout, explainReason, type CellMargin, type CellSpec, type FieldSpec, type ReleaseCell, type ReleasedNoise, type SubjectSensitivity } from '../../analytics/index.js';
import { largestContributionBound, type DominanceFacts } from './dominance.js';
import { describeNoise, sampleNoise } from './noise.js';
import type { EffectivePolicy } from './policy.js';
import { RandomReader } from './random-source.js';
import { decideSuppression, type CellFacts, type SuppressionReason } from './suppression.js';
import { calibrateField, unitsToRho, zcdpToEpsilon, type FieldNoiseParameter, type NoiseMechanism } from './zcdp.js';

/** One decrypted aggregate and the rules to release it under. */
export interface DisclosureInput {
  readonly cells: readonly CellSpec[];
  /** The full layout (dominance bins included), for bounds. */
  readonly fields: readonly FieldSpec[];
  /** Decrypted total of every layout field. */
  readonly totals: ReadonlyMap<string, bigint>;
  /** Sum of the shops' attested consented subjects. */
  readonly attestedSubjects: number;
  readonly policy: EffectivePolicy;
  /** Declared per-subject sensitivity; without it each field's per-shop bound is used. */
  readonly sensitivity?: SubjectSensitivity | undefined;
  /** Declared relations between cells, protected by secondary suppression. */
  readonly margins?: readonly CellMargin[] | undefined;
  /** Randomness for the noise; the node:crypto CSPRNG when omitted. */
  readonly rng?: RandomReader | undefined;
  /** Cells a model's rules withhold because a group inside them is too small (model-rules.ts). */
  readonly smallGroupCells?: ReadonlySet<string> | undefined;
  /** Cells whose totals fail their kind's `cellIntegrity` (query-definition.ts): withheld as `LEVELS_COLLIDE`. */
  readonly integrityFailedCells?: ReadonlySet<string> | undefined;
}

/** What one release costs and how it was noised (DP purposes only). */
export interface DisclosureDp {
  readonly mechanism: NoiseMechanism;
  readonly rhoUnits: bigint;
  /** ε of this release at the policy's δ. */
  readonly epsilon: number;
  readonly delta: number;
  readonly confidence: number;
  readonly attestedSubjectsNoise: ReleasedNoise;
  /** Noised values each subject touches (the split of ρ). */
  readonly touched: number;
}

export interface DisclosureOutcome {
  readonly cells: Record<string, ReleaseCell>;
  /** Exact, or noisy and clamped at zero under DP. */
  readonly attestedSubjects: number;
  /** Withheld cells and why, in cell order. */
  readonly suppressed: ReadonlyMap<string, SuppressionReason>;
  readonly dp: DisclosureDp | null;
}

/** Why a cell was withheld, in English and Chinese, from the catalogue (analytics/disclosure-reasons.ts). */
function reasonText(reason: SuppressionReason, p: EffectivePolicy): { reason: string; reasonZh: string } {
  const text = explainReason(reason, { k: p.minSubjects, p: p.dominance?.maxSharePercent ?? null });
  return { reason: text.en, reasonZh: text.zh };
}

/** Fields of a cell that are released (its fields plus its subjects field). */
function releasedFieldsOf(cell: CellSpec): string[] {
  return cell.fields.includes(cell.subjectsField) ? [...cell.fields] : [cell.subjectsField, ...cell.fields];
}

function dominanceFactsOf(input: DisclosureInput): Map<string, DominanceFacts> {
  const out = new Map<string, DominanceFacts>();
  for (const b of dominanceBinLayout(input.cells, input.fields)) {
    const counts = b.names.map((n) => input.totals.get(n) ?? 0n);
    const total = input.totals.get(b.field.name) ?? 0n;
    out.set(b.cell.name, { total, largestUpper: largestContributionBound(b.edges, counts, total, b.field.max) });
  }
  return out;
}

/** Per-field noise parameters, or null for an exact policy. */
function calibrate(input: DisclosureInput): { perField: Map<string, FieldNoiseParameter>; subjects: FieldNoiseParameter; touched: number } | null {
  const noise = input.policy.noise;
  if (noise.mode !== 'dp') return null;
  const maxOf = new Map(input.fields.map((f) => [f.name, f.max]));
  const declared = input.sensitivity;
  const sensitivityOf = (field: string): bigint => declared?.perField[field] ?? maxOf.get(field) ?? 0n;
  const moving = input.cells.map((c) => releasedFieldsOf(c).filter((f) => sensitivityOf(f) > 0n).length);
  const disjoint = declared?.disjointCells === true;
  // +1: the attested subject total, which every subject is in.
  const touched = 1 + (disjoint ? Math.max(0, ...moving) : moving.reduce((a, b) => a + b, 0));
  const perField = new Map<string, FieldNoiseParameter>();
  for (const cell of input.cells) {
    for (const f of releasedFieldsOf(cell)) {
      const p = calibrateField(noise.mechanism, sensitivityOf(f), touched, noise.rhoPerQueryUnits);
      if (p) perField.set(f, p);
    }
  }
  const subjects = calibrateField(noise.mechanism, 1n, touched, noise.rhoPerQueryUnits) as FieldNoiseParameter;
  return { perField, subjects, touched };
}

/**
 * Applies `input.policy` to one decrypted aggregate. Throws RangeError or
 * TypeError naming the argument on malformed input; never throws after
 * drawing noise, so a draw is never wasted silently.
 */
export function applyDisclosure(input: DisclosureInput): DisclosureOutcome {
  if (typeof input !== 'object' || input === null) throw new TypeError('input: expected a DisclosureInput');
  if (!Array.isArray(input.cells) || !Array.isArray(input.fields)) throw new TypeError('input.cells, input.fields: expected arrays');
  if (!(input.totals instanceof Map)) throw new TypeError('input.totals: expected a Map of field totals');
  if (!Number.isSafeInteger(input.attestedSubjects) || input.attestedSubjects < 0) throw new RangeError('input.attestedSubjects: expected an integer >= 0');
  const policy = input.policy;
  const dominance = dominanceFactsOf(input);
  const calibration = calibrate(input);
  const rng = calibration ? (input.rng ?? new RandomReader()) : undefined;
  const confidence = policy.noise.mode === 'dp' ? policy.noise.confidence : 0;

  // Noisy (or exact) value of every released field, and its description.
  const values = new Map<string, bigint>();
  const described = new Map<string, ReleasedNoise>();
  for (const cell of input.cells) {
    for (const f of releasedFieldsOf(cell)) {
      const exact = input.totals.get(f) ?? 0n;
      const p = calibration?.perField.get(f);
      if (p && rng) {
        const noisy = exact + sampleNoise(p, rng);
        values.set(f, noisy < 0n ? 0n : noisy);
        described.set(f, describeNoise(p, noisy, confidence));
      } else {
        values.set(f, exact);
      }
    }
  }
  let attestedSubjects = input.attestedSubjects;
  let attestedSubjectsNoise: ReleasedNoise | undefined;
  if (calibration && rng) {
    const noisy = BigInt(input.attestedSubjects) + sampleNoise(calibration.subjects, rng);
    attestedSubjects = Number(noisy < 0n ? 0n : noisy);
    attestedSubjectsNoise = describeNoise(calibration.subjects, noisy, confidence);
  }

  const facts: CellFacts[] = input.cells.map((c) => {
    const d = dominance.get(c.name);
    return { name: c.name, subjects: values.get(c.subjectsField) ?? 0n, ...(d ? { dominance: d } : {}), ...(input.smallGroupCells?.has(c.name) ? { smallGroupInside: true } : {}), ...(input.integrityFailedCells?.has(c.name) ? { failsIntegrity: true } : {}) };
  });
  const suppressed = decideSuppression(facts, { minSubjects: policy.minSubjects, dominance: policy.dominance }, input.margins ?? []);

  const cells: Record<string, ReleaseCell> = {};
  for (const cell of input.cells) {
    const reason = suppressed.get(cell.name);
    if (reason !== undefined) {
      cells[cell.name] = { suppressed: true, ...reasonText(reason, policy), reasonCode: reason };
      continue;
    }
    const totals: Record<string, string> = {};
    for (const f of cell.fields) totals[f] = (values.get(f) ?? 0n).toString();
    const noise: Record<string, ReleasedNoise> = {};
    for (const f of releasedFieldsOf(cell)) {
      const d = described.get(f);
      if (d) noise[f] = d;
    }
    cells[cell.name] = {
      suppressed: false,
      subjects: (values.get(cell.subjectsField) ?? 0n).toString(),
      totals,
      ...(Object.keys(noise).length > 0 ? { noise } : {}),
    };
  }

  let dp: DisclosureDp | null = null;
  if (calibration && policy.noise.mode === 'dp' && attestedSubjectsNoise) {
    dp = {
      mechanism: policy.noise.mechanism,
      rhoUnits: policy.noise.rhoPerQueryUnits,
      epsilon: zcdpToEpsilon(unitsToRho(policy.noise.rhoPerQueryUnits), policy.noise.delta),
      delta: policy.noise.delta,
      confidence,
      attestedSubjectsNoise,
      touched: calibration.touched,
    };
  }
  return { cells, attestedSubjects, suppressed, dp };
}
