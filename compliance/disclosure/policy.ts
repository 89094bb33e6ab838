/**
 * Disclosure policy per purpose: what the key holder applies to every
 * release made for that purpose.
 *
 * A purpose in the registry may carry a `disclosure` block. Without one it is
 * `exact`: results are exact integers protected by thresholds and
 * suppression only. With `mode: 'dp'` every released total also gets exact
 * integer noise and every release spends privacy-loss budget (ρ, zCDP) from
 * the purpose's total; when the total is spent the purpose gets no more
 * answers. The key holder's own thresholds are floors: a purpose may ask for
 * more merchants, more subjects or a stricter dominance rule, never less.
 *
 * @module
 */
import { z } from 'zod';
import { DisclosureError } from './errors.js';
import { NOISE_MECHANISMS, RHO_UNITS_PER_ONE, rhoToUnits, type NoiseMechanism } from './zcdp.js';

/** (1, p) dominance: no single merchant may hold more than `maxSharePercent` % of a cell's magnitude. */
export interface DominanceRule {
  readonly maxSharePercent: number;
}

interface DisclosureThresholds {
  /** Fewest distinct merchants; raises the key holder's floor. */
  readonly minMerchants?: number;
  /** Fewest subjects per released cell (k); raises the key holder's floor. */
  readonly minSubjects?: number;
  /** Dominance rule; the stricter of this and the key holder's applies. */
  readonly dominance?: DominanceRule;
  /**
   * Saturation limit of models: parameters / subjects must stay below it
   * (DataSHIELD's nfilter.glm); the lower of this and the key holder's applies.
   */
  readonly maxSaturation?: number;
}

/** Thresholds and suppression only; released totals are exact. */
export interface ExactDisclosure extends DisclosureThresholds {
  readonly mode: 'exact';
}

/** Thresholds and suppression plus exact integer noise under a zCDP budget. */
export interface DpDisclosure extends DisclosureThresholds {
  readonly mode: 'dp';
  readonly mechanism: NoiseMechanism;
  /** ρ one release spends (zCDP), at most nine decimals. */
  readonly rhoPerQuery: number;
  /** ρ the purpose may spend over its lifetime. */
  readonly totalRho: number;
  /** δ at which ε is quoted (default 1e-6); accounting is in ρ and does not depend on it. */
  readonly delta?: number;
  /** Confidence of the released intervals (default 0.95). */
  readonly confidence?: number;
}

/** A purpose's `disclosure` block. */
export type PurposeDisclosure = ExactDisclosure | DpDisclosure;

/** What a purpose without a `disclosure` block gets. */
export const EXACT_DISCLOSURE: ExactDisclosure = Object.freeze({ mode: 'exact' });
export const DEFAULT_DP_DELTA = 1e-6;
export const DEFAULT_CONFIDENCE = 0.95;

/**
 * The largest k any party applies: shops size their row-set sketches for the
 * query's k (2(k − 1) + 4 sums per sequence, see compliance/row-set.ts), so k
 * is bounded to keep sketches and their comparison small.
 */
export const MAX_MIN_SUBJECTS = 1000;

const dominanceSchema = z.strictObject({ maxSharePercent: z.number().gt(0).max(100) });
const thresholdShape = {
  minMerchants: z.number().int().min(2).max(1_000_000).optional(),
  minSubjects: z.number().int().min(1).max(MAX_MIN_SUBJECTS).optional(),
  dominance: dominanceSchema.optional(),
  maxSaturation: z.number().gt(0).max(1).optional(),
};
const rho = z.number().positive().finite().refine((v) => {
  try {
    rhoToUnits(v);
    return true;
  } catch {
    return false;
  }
}, 'expected a positive number with at most nine decimals');

/** zod schema of a `disclosure` block (used by the purpose registry). */
export const purposeDisclosureSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('exact'), ...thresholdShape }),
  z
    .strictObject({
      mode: z.literal('dp'),
      mechanism: z.enum(NOISE_MECHANISMS),
      rhoPerQuery: rho,
      totalRho: rho,
      delta: z.number().gt(0).lt(1).optional(),
      confidence: z.number().min(0.5).lt(1).optional(),
      ...thresholdShape,
    })
    .refine((d) => d.rhoPerQuery <= d.totalRho, { message: 'rhoPerQuery must not exceed totalRho', path: ['rhoPerQuery'] }),
]);

/** The key holder's own thresholds, applied to every purpose as floors. */
export interface DisclosureFloors {
  readonly minMerchants: number;
  readonly minSubjects: number;
  readonly dominance: DominanceRule | null;
  /** Model saturation limit (default {@link DEFAULT_MAX_SATURATION}); a purpose may only lower it. */
  readonly maxSaturation?: number;
}

/** Default saturation limit of models: parameters below a fifth of the subjects. */
export const DEFAULT_MAX_SATURATION = 0.2;

/** Noise part of an effective policy, with ρ in exact units. */
export type EffectiveNoise =
  | { readonly mode: 'exact' }
  | {
      readonly mode: 'dp';
      readonly mechanism: NoiseMechanism;
      readonly rhoPerQueryUnits: bigint;
      readonly totalRhoUnits: bigint;
      readonly delta: number;
      readonly confidence: number;
    };

/** The policy the key holder applies to a release of `purpose`. */
export interface EffectivePolicy {
  readonly purpose: string;
  readonly minMerchants: number;
  readonly minSubjects: number;
  readonly dominance: DominanceRule | null;
  /** Models must keep parameters / subjects below this. */
  readonly maxSaturation: number;
  readonly noise: EffectiveNoise;
}

function stricterDominance(a: DominanceRule | null | undefined, b: DominanceRule | null | undefined): DominanceRule | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return a.maxSharePercent <= b.maxSharePercent ? a : b;
}

/**
 * Combines the key holder's floors with a purpose's disclosure block.
 * Throws DisclosureError `DISCLOSURE_POLICY_INVALID` naming the purpose and
 * path when the block does not parse.
 */
export function effectivePolicy(purpose: string, disclosure: unknown, floors: DisclosureFloors): EffectivePolicy {
  if (typeof purpose !== 'string' || purpose === '') throw new TypeError('purpose: expected a purpose name');
  if (typeof floors !== 'object' || floors === null) throw new TypeError('floors: expected { minMerchants, minSubjects, dominance }');
  const parsed = purposeDisclosureSchema.safeParse(disclosure ?? EXACT_DISCLOSURE);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DisclosureError('DISCLOSURE_POLICY_INVALID', `purpose '${purpose}' disclosure${issue ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`, purpose);
  }
  const d = parsed.data;
  // A purpose may only lower the key holder's limit; without one of its own it gets the key holder's.
  const saturation = floors.maxSaturation ?? DEFAULT_MAX_SATURATION;
  const noise: EffectiveNoise =
    d.mode === 'exact'
      ? { mode: 'exact' }
      : {
          mode: 'dp',
          mechanism: d.mechanism,
          rhoPerQueryUnits: rhoToUnits(d.rhoPerQuery, 'rhoPerQuery'),
          totalRhoUnits: rhoToUnits(d.totalRho, 'totalRho'),
          delta: d.delta ?? DEFAULT_DP_DELTA,
          confidence: d.confidence ?? DEFAULT_CONFIDENCE,
        };
  return {
    purpose,
    minMerchants: Math.max(floors.minMerchants, d.minMerchants ?? 0),
    minSubjects: Math.max(floors.minSubjects, d.minSubjects ?? 0),
    dominance: stricterDominance(floors.dominance, d.dominance),
    maxSaturation: Math.min(saturation, d.maxSaturation ?? saturation),
    noise,
  };
}

/** JSON form of an effective policy (ρ units as decimal strings), as the key holder stores it. */
export function policyToJson(p: EffectivePolicy): unknown {
  return {
    purpose: p.purpose,
    minMerchants: p.minMerchants,
    minSubjects: p.minSubjects,
    dominance: p.dominance,
    maxSaturation: p.maxSaturation,
    noise: p.noise.mode === 'exact'
      ? { mode: 'exact' }
      : { ...p.noise, rhoPerQueryUnits: p.noise.rhoPerQueryUnits.toString(), totalRhoUnits: p.noise.totalRhoUnits.toString() },
  };
}

const units = z.string().regex(/^[1-9][0-9]*$/).transform((s) => BigInt(s));
const storedPolicySchema = z.strictObject({
  purpose: z.string().min(1),
  minMerchants: z.number().int().min(2),
  minSubjects: z.number().int().min(1),
  dominance: dominanceSchema.nullable(),
  // Policies stored before saturation limits existed get the default.
  maxSaturation: z.number().gt(0).max(1).default(DEFAULT_MAX_SATURATION),
  noise: z.discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('exact') }),
    z.strictObject({
      mode: z.literal('dp'),
      mechanism: z.enum(NOISE_MECHANISMS),
      rhoPerQueryUnits: units,
      totalRhoUnits: units,
      delta: z.number().gt(0).lt(1),
      confidence: z.number().min(0.5).lt(1),
    }),
  ]),
});

/** Parses a stored policy; DisclosureError `DISCLOSURE_STATE_CORRUPT` naming `where` otherwise. */
export function policyFromJson(json: unknown, where: string): EffectivePolicy {
  const r = storedPolicySchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new DisclosureError('DISCLOSURE_STATE_CORRUPT', `${where}${issue ? ` ${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid stored policy'}`);
  }
  return r.data;
}

/**
 * What in `next` is weaker than `previous`, or undefined when `next` is at
 * least as strict everywhere. Loosening after releases were made would let a
 * later release undo what an earlier policy protected (a smaller k exposes
 * cells that were suppressed; a bigger ρ budget buys more answers).
 */
export function loosening(previous: EffectivePolicy, next: EffectivePolicy): string | undefined {
  if (next.minMerchants < previous.minMerchants) return `minMerchants ${previous.minMerchants} -> ${next.minMerchants}`;
  if (next.minSubjects < previous.minSubjects) return `minSubjects ${previous.minSubjects} -> ${next.minSubjects}`;
  const pd = previous.dominance?.maxSharePercent ?? Infinity;
  const nd = next.dominance?.maxSharePercent ?? Infinity;
  if (nd > pd) return `dominance maxSharePercent ${pd} -> ${Number.isFinite(nd) ? nd : 'none'}`;
  if (next.maxSaturation > previous.maxSaturation) return `maxSaturation ${previous.maxSaturation} -> ${next.maxSaturation}`;
  const pn = previous.noise;
  const nn = next.noise;
  if (pn.mode === 'dp') {
    if (nn.mode !== 'dp') return 'mode dp -> exact';
    if (nn.rhoPerQueryUnits > pn.rhoPerQueryUnits) return `rhoPerQuery ${formatRho(pn.rhoPerQueryUnits)} -> ${formatRho(nn.rhoPerQueryUnits)}`;
    if (nn.totalRhoUnits > pn.totalRhoUnits) return `totalRho ${formatRho(pn.totalRhoUnits)} -> ${formatRho(nn.totalRhoUnits)}`;
  }
  return undefined;
}

/** ρ units as a short decimal, e.g. `0.05`. */
export function formatRho(unitsValue: bigint): string {
  const whole = unitsValue / RHO_UNITS_PER_ONE;
  const frac = (unitsValue % RHO_UNITS_PER_ONE).toString().padStart(9, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}
