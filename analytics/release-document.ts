/**
 * The key holder's signed release document: what was decrypted, from which
 * contributions, under which disclosure policy. Totals travel as decimal
 * strings because JSON numbers cannot carry every bigint exactly.
 *
 * The key holder builds it, the coordinator stores it and turns it into
 * {@link ReleasedTotals} for `QueryDefinition.finalise`.
 *
 * @module
 */
import { z } from 'zod';
import type { ReleasedTotals } from './query-definition.js';

/** One released cell: either suppressed with a reason, or its totals. */
export type ReleaseCell =
  | { readonly suppressed: true; readonly reason: string }
  | {
      readonly suppressed: false;
      /** Distinct consented subjects behind the cell (decimal string). */
      readonly subjects: string;
      /** Field name → decrypted total (decimal string). */
      readonly totals: Readonly<Record<string, string>>;
    };

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
  /** Subjects the shops' signed consent attestations say they included, summed. */
  readonly attestedSubjects: number;
  readonly cells: Readonly<Record<string, ReleaseCell>>;
  /** ISO-8601 time of the release. */
  readonly releasedAt: string;
}

const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/, 'expected a non-negative decimal integer string');

const releaseCellSchema = z.discriminatedUnion('suppressed', [
  z.strictObject({ suppressed: z.literal(true), reason: z.string() }),
  z.strictObject({ suppressed: z.literal(false), subjects: decimal, totals: z.record(z.string(), decimal) }),
]);

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
  return result.data as ReleaseDocument;
}

/** Converts a release's decimal-string totals to the bigints `finalise` takes. */
export function releasedTotalsFromDocument(doc: Pick<ReleaseDocument, 'cells'>): ReleasedTotals {
  const cells: Record<string, { suppressed: boolean; totals?: Record<string, bigint> }> = {};
  for (const [name, cell] of Object.entries(doc.cells)) {
    cells[name] = cell.suppressed
      ? { suppressed: true }
      : { suppressed: false, totals: Object.fromEntries(Object.entries(cell.totals).map(([f, v]) => [f, BigInt(v)])) };
  }
  return { cells };
}
