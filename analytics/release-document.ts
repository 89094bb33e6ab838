/**
 * The key holder's signed release document: what was decrypted, from which
 * contributions, under which disclosure policy. Totals travel as decimal
 * strings because JSON numbers cannot carry every bigint exactly.
 *
 * The key holder builds it (`buildReleaseDocument`, round/release.ts) and
 * signs it, the coordinator stores it and turns it into
 * {@link ReleasedTotals} for `QueryDefinition.finalise`. The format stays
 * here because analytics and compliance read it and cannot import round/.
 *
 * @module
 */
import { z } from 'zod';
import type { ReleasedTotals, SuppressionReasonCode } from './query-definition.js';

/** Noise added to one released total under a differentially private purpose. */
export interface ReleasedNoise {
  readonly mechanism: 'discrete-gaussian' | 'discrete-laplace';
  /** σ² (discrete Gaussian) or scale τ (discrete Laplace), exact, as `num/den`. */
  readonly parameter: string;
  /** Standard deviation of the noise. */
  readonly sd: number;
  /** Noisy total before clamping at zero (signed decimal). */
  readonly noisy: string;
  /** Interval holding the true total with the release's confidence (decimal strings). */
  readonly ci: readonly [string, string];
}

/** One released cell: either suppressed with a reason, or its totals. */
export type ReleaseCell =
  | {
      readonly suppressed: true;
      /** Why, in English (the catalogue's text in analytics/disclosure-reasons.ts). */
      readonly reason: string;
      /** Why, in Simplified Chinese; absent in releases made before it was added. */
      readonly reasonZh?: string;
      readonly reasonCode?: SuppressionReasonCode;
    }
  | {
      readonly suppressed: false;
      /** Distinct consented subjects behind the cell (decimal string; noisy under DP). */
      readonly subjects: string;
      /** Field name → decrypted total (decimal string; noisy and clamped at zero under DP). */
      readonly totals: Readonly<Record<string, string>>;
      /** Field name → the noise in its total, under a DP purpose (the subjects field included). */
      readonly noise?: Readonly<Record<string, ReleasedNoise>>;
    };

/** Differential-privacy accounting of a release. */
export interface ReleaseDpAccount {
  readonly mechanism: 'discrete-gaussian' | 'discrete-laplace';
  /** Confidence of every `ci` in the release. */
  readonly confidence: number;
  /** δ at which ε values are quoted. */
  readonly delta: number;
  /** zCDP ρ this release spent (decimal). */
  readonly rho: string;
  /** ε of this release at `delta`. */
  readonly epsilon: number;
  /** ρ the purpose has spent, this release included (decimal). */
  readonly rhoSpent: string;
  /** The purpose's total ρ (decimal). */
  readonly rhoTotal: string;
  /** ε of everything released for the purpose so far, at `delta`. */
  readonly epsilonSpent: number;
  /** Noise in `attestedSubjects`, which is noisy under DP. */
  readonly attestedSubjectsNoise: ReleasedNoise;
}

/** The disclosure policy a release was made under. */
export interface ReleaseDisclosure {
  readonly purpose: string;
  readonly mode: 'exact' | 'dp';
  /** The dominance rule applied, if any. */
  readonly dominance: { readonly maxSharePercent: number } | null;
  readonly dp: ReleaseDpAccount | null;
}

/** Canonical content of a release; signed as its JSON text. */
export interface ReleaseDocument {
  readonly version: 1;
  readonly queryId: string;
  readonly kind: string;
  /** Hex BLAKE2b-256 of the canonical spec JSON. */
  readonly specDigest: string;
  readonly paramSet: string;
  /** Hex key id of the public key the contributions were encrypted under. */
  readonly keyId: string;
  /** Contributing merchant ids, sorted. */
  readonly merchants: readonly string[];
  /** Hex digests of each contribution's ciphertexts, in `merchants` order. */
  readonly contributionDigests: readonly string[];
  readonly aggregateDigest: string;
  readonly policy: { readonly minMerchants: number; readonly minSubjects: number };
  /** Subjects the shops' signed consent attestations say they included, summed (noisy under DP). */
  readonly attestedSubjects: number;
  readonly cells: Readonly<Record<string, ReleaseCell>>;
  /** ISO-8601 time of the release. */
  readonly releasedAt: string;
  /** Policy and privacy accounting; absent in releases made before disclosure policies existed. */
  readonly disclosure?: ReleaseDisclosure;
}

const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/, 'expected a non-negative decimal integer string');

const signedDecimal = z.string().regex(/^(0|-?[1-9][0-9]*)$/, 'expected a decimal integer string');
const mechanism = z.enum(['discrete-gaussian', 'discrete-laplace']);
const noiseSchema = z.strictObject({
  mechanism,
  parameter: z.string().regex(/^[1-9][0-9]*\/[1-9][0-9]*$/, 'expected an exact fraction num/den'),
  sd: z.number().nonnegative().finite(),
  noisy: signedDecimal,
  ci: z.tuple([decimal, decimal]),
});

const releaseCellSchema = z.discriminatedUnion('suppressed', [
  z.strictObject({
    suppressed: z.literal(true),
    reason: z.string(),
    reasonZh: z.string().optional(),
    reasonCode: z.enum(['FEWER_THAN_K_SUBJECTS', 'DOMINANCE', 'SECONDARY', 'LEVELS_COLLIDE']).optional(),
  }),
  z.strictObject({
    suppressed: z.literal(false),
    subjects: decimal,
    totals: z.record(z.string(), decimal),
    noise: z.record(z.string(), noiseSchema).optional(),
  }),
]);

const rhoText = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]{1,9})?$/, 'expected a decimal rho');
const disclosureSchema = z.strictObject({
  purpose: z.string().min(1),
  mode: z.enum(['exact', 'dp']),
  dominance: z.strictObject({ maxSharePercent: z.number().gt(0).max(100) }).nullable(),
  dp: z
    .strictObject({
      mechanism,
      confidence: z.number().gt(0).lt(1),
      delta: z.number().gt(0).lt(1),
      rho: rhoText,
      epsilon: z.number().nonnegative().finite(),
      rhoSpent: rhoText,
      rhoTotal: rhoText,
      epsilonSpent: z.number().nonnegative().finite(),
      attestedSubjectsNoise: noiseSchema,
    })
    .nullable(),
});

const releaseDocumentSchema = z.strictObject({
  version: z.literal(1),
  queryId: z.string().min(1),
  kind: z.string().min(1),
  specDigest: z.string().regex(/^[0-9a-f]+$/),
  paramSet: z.string(),
  keyId: z.string().regex(/^[0-9a-f]*$/),
  merchants: z.array(z.string()),
  contributionDigests: z.array(z.string()),
  aggregateDigest: z.string(),
  policy: z.strictObject({ minMerchants: z.number().int().nonnegative(), minSubjects: z.number().int().nonnegative() }),
  attestedSubjects: z.number().int().nonnegative(),
  cells: z.record(z.string(), releaseCellSchema),
  releasedAt: z.string(),
  disclosure: disclosureSchema.optional(),
});

/**
 * Validates an untrusted release document (e.g. read back from storage or
 * received over the wire). Throws TypeError naming the first bad path.
 * Checking the signature is the caller's job and must come first.
 */
export function parseReleaseDocument(json: unknown): ReleaseDocument {
  const result = releaseDocumentSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue === undefined ? '' : issue.path.map((p) => String(p)).join('.');
    throw new TypeError(`release document${path === '' ? '' : ` ${path}`}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** Converts a release's decimal-string totals to the bigints `finalise` takes. */
export function releasedTotalsFromDocument(doc: Pick<ReleaseDocument, 'cells'> & { readonly policy?: ReleaseDocument['policy'] }): ReleasedTotals {
  const cells: Record<string, { suppressed: boolean; totals?: Record<string, bigint>; reasonCode?: SuppressionReasonCode }> = {};
  for (const [name, cell] of Object.entries(doc.cells)) {
    cells[name] = cell.suppressed
      ? { suppressed: true, ...(cell.reasonCode === undefined ? {} : { reasonCode: cell.reasonCode }) }
      : { suppressed: false, totals: Object.fromEntries(Object.entries(cell.totals).map(([f, v]) => [f, BigInt(v)])) };
  }
  return doc.policy === undefined ? { cells } : { cells, minSubjects: doc.policy.minSubjects };
}
