/**
 * The disclosure terms of a query: what its purpose declares (mode, k, m,
 * dominance, saturation, ρ) and the k the coordinator states for it. They
 * are published with the query, checked by every shop against its own
 * purpose registry, carried in each shop's signed consent attestation, and
 * compared by the key holder with its own registry before anything is
 * decrypted: a key holder started without a purpose's DP block, or with
 * other thresholds than the shops and the coordinator run under, refuses
 * with `POLICY_MISMATCH` instead of releasing exact figures for a purpose
 * declared DP.
 *
 * @module
 */
import { z } from 'zod';
import { DisclosureError } from './errors.js';
import { EXACT_DISCLOSURE, MAX_MIN_SUBJECTS, purposeDisclosureSchema, type PurposeDisclosure } from './policy.js';
import { NOISE_MECHANISMS } from './zcdp.js';

/** A purpose's declared disclosure block with every absent member made explicit. */
export interface DeclaredDisclosure {
  readonly mode: 'exact' | 'dp';
  readonly minSubjects: number | null;
  readonly minMerchants: number | null;
  readonly dominance: { readonly maxSharePercent: number } | null;
  readonly maxSaturation: number | null;
  readonly dp: {
    readonly mechanism: (typeof NOISE_MECHANISMS)[number];
    readonly rhoPerQuery: number;
    readonly totalRho: number;
    readonly delta: number | null;
    readonly confidence: number | null;
  } | null;
}

/** The terms a query is published under. */
export interface DisclosureTerms {
  readonly purpose: string;
  readonly declared: DeclaredDisclosure;
  /**
   * The k the coordinator states for the query (its floor, or the purpose's
   * when stricter). Shops size their row-set sketches for it; the key
   * holder refuses when it applies a larger k.
   */
  readonly minSubjects: number;
}

/**
 * The declared block of `purpose` (`undefined`: none, i.e. exact under the
 * key holder's floors) in explicit form. Throws DisclosureError
 * `DISCLOSURE_POLICY_INVALID` naming the purpose when it does not parse.
 */
export function declaredDisclosure(purpose: string, block: PurposeDisclosure | undefined): DeclaredDisclosure {
  const parsed = purposeDisclosureSchema.safeParse(block ?? EXACT_DISCLOSURE);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DisclosureError('DISCLOSURE_POLICY_INVALID', `purpose '${purpose}' disclosure${issue ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`, purpose);
  }
  const d = parsed.data;
  return {
    mode: d.mode,
    minSubjects: d.minSubjects ?? null,
    minMerchants: d.minMerchants ?? null,
    dominance: d.dominance ? { maxSharePercent: d.dominance.maxSharePercent } : null,
    maxSaturation: d.maxSaturation ?? null,
    dp: d.mode === 'dp'
      ? { mechanism: d.mechanism, rhoPerQuery: d.rhoPerQuery, totalRho: d.totalRho, delta: d.delta ?? null, confidence: d.confidence ?? null }
      : null,
  };
}

/** The terms of a query of `purpose` under a coordinator whose k floor is `minSubjectsFloor`. */
export function disclosureTerms(purpose: { readonly name: string; readonly disclosure?: PurposeDisclosure | undefined }, minSubjectsFloor: number): DisclosureTerms {
  if (typeof purpose !== 'object' || purpose === null || typeof purpose.name !== 'string') throw new TypeError('purpose: expected { name, disclosure? }');
  if (!Number.isSafeInteger(minSubjectsFloor) || minSubjectsFloor < 1) throw new RangeError('minSubjectsFloor: expected an integer >= 1');
  const declared = declaredDisclosure(purpose.name, purpose.disclosure);
  return { purpose: purpose.name, declared, minSubjects: Math.max(minSubjectsFloor, declared.minSubjects ?? 0) };
}

const termsSchema = z.strictObject({
  purpose: z.string().min(1).max(128),
  declared: z.strictObject({
    mode: z.enum(['exact', 'dp']),
    minSubjects: z.number().int().min(1).max(MAX_MIN_SUBJECTS).nullable(),
    minMerchants: z.number().int().min(2).max(1_000_000).nullable(),
    dominance: z.strictObject({ maxSharePercent: z.number().gt(0).max(100) }).nullable(),
    maxSaturation: z.number().gt(0).max(1).nullable(),
    dp: z.strictObject({
      mechanism: z.enum(NOISE_MECHANISMS),
      rhoPerQuery: z.number().positive().finite(),
      totalRho: z.number().positive().finite(),
      delta: z.number().gt(0).lt(1).nullable(),
      confidence: z.number().min(0.5).lt(1).nullable(),
    }).refine((d) => d.rhoPerQuery <= d.totalRho, { message: 'rhoPerQuery must not exceed totalRho' }).nullable(),
  }),
  minSubjects: z.number().int().min(1).max(MAX_MIN_SUBJECTS),
}).refine((t) => (t.declared.mode === 'dp') === (t.declared.dp !== null), { message: 'dp terms are present exactly when the mode is dp', path: ['declared', 'dp'] });

/** Validates untrusted terms JSON; throws DisclosureError `DISCLOSURE_TERMS_INVALID` naming the path. */
export function parseDisclosureTerms(json: unknown): DisclosureTerms {
  const r = termsSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new DisclosureError('DISCLOSURE_TERMS_INVALID', `disclosure terms${issue && issue.path.length > 0 ? ` ${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
}

/** The first member in which two declared blocks differ (`declared.dp.totalRho`, ...), or undefined. */
export function declaredDifference(a: DeclaredDisclosure, b: DeclaredDisclosure): string | undefined {
  const flat = (d: DeclaredDisclosure): [string, unknown][] => [
    ['mode', d.mode],
    ['minSubjects', d.minSubjects],
    ['minMerchants', d.minMerchants],
    ['dominance.maxSharePercent', d.dominance?.maxSharePercent ?? null],
    ['maxSaturation', d.maxSaturation],
    ['dp.mechanism', d.dp?.mechanism ?? null],
    ['dp.rhoPerQuery', d.dp?.rhoPerQuery ?? null],
    ['dp.totalRho', d.dp?.totalRho ?? null],
    ['dp.delta', d.dp?.delta ?? null],
    ['dp.confidence', d.dp?.confidence ?? null],
  ];
  const fb = new Map(flat(b));
  for (const [k, v] of flat(a)) if (fb.get(k) !== v) return `${k}: ${JSON.stringify(v)} vs ${JSON.stringify(fb.get(k))}`;
  return undefined;
}
