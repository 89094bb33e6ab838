/**
 * The consent attestation: a merchant's statement, bound into its signed
 * contribution envelope (which carries {@link attestationDigest}), of the
 * consent evidence behind one contribution: which purpose and cutoff it
 * applied, how many subjects it counted, how many it left out and why, which
 * notice versions those consents were given under, and the Merkle root over
 * the consent records used.
 *
 * The coordinator and key holder check that the attestation is for the round
 * they are running ({@link checkAttestation}); the counts let them check the k
 * threshold against consented subjects only; the root lets a compliance
 * officer later verify the shop's records (which carry pseudonyms only)
 * without the attestation identifying anyone.
 *
 * Version 2 adds what the shop answered under and what it read: the query's
 * disclosure terms as the shop checked them against its own purpose
 * registry (the key holder refuses when its own registry disagrees), and
 * the row-set sketch of the rows the statistic read (`row-set.ts`; null
 * under a DP purpose), from which the key holder counts the customers by
 * which two releases differ.
 *
 * @module
 */
import { z } from 'zod';
import { canonicalEncode, fromHex, statementDigest, toHex, type CanonicalValue } from '../crypto/index.js';
import { canonicalSpecJson } from '../analytics/index.js';
import { EXCLUSION_REASONS, cutoffMs, type ExclusionReason } from './consent-evaluate.js';
import type { RoundConsentFilter } from './consent-ledger.js';
import { DisclosureError } from './disclosure/errors.js';
import { parseDisclosureTerms, type DisclosureTerms } from './disclosure/terms.js';
import { parseRowSetSketch, type RowSetSketch } from './row-set.js';

/** Domain of the attestation's canonical encoding and digest. */
export const CONSENT_ATTESTATION_DOMAIN = 'fedmart/v1/consent-attestation';

/** One contribution's consent evidence. */
export interface ConsentAttestation {
  readonly version: 2;
  readonly queryId: string;
  readonly merchantId: string;
  readonly purpose: string;
  /** Round cutoff in the exact form `Date.prototype.toISOString` gives. */
  readonly cutoff: string;
  /** `id@version`, sorted, unique. */
  readonly noticeVersions: readonly string[];
  readonly subjectsIncluded: number;
  /** Every reason, zero-filled. */
  readonly excludedByReason: Readonly<Record<ExclusionReason, number>>;
  /** Number of consent records under `consentRoot` (one per included subject). */
  readonly recordsUsed: number;
  /** 64 lower-case hex digits: RFC 6962 root over the records used. */
  readonly consentRoot: string;
  /** The query's disclosure terms, as the shop checked them against its own registry. */
  readonly terms: DisclosureTerms;
  /** Sketch of the rows the statistic read; null under a DP purpose. */
  readonly rowSet: RowSetSketch | null;
}

/** Machine-readable cause of an {@link AttestationError}. */
export type AttestationErrorCode = 'ATTESTATION_INVALID' | 'ATTESTATION_MISMATCH';

/** An attestation is malformed, or is not for the round it was sent to. */
export class AttestationError extends Error {
  override readonly name = 'AttestationError';
  readonly code: AttestationErrorCode;
  /** The offending field (`queryId`, `excludedByReason.withdrawn`, ...), `''` for the whole. */
  readonly field: string;

  constructor(code: AttestationErrorCode, field: string, message: string) {
    super(field === '' ? message : `${field}: ${message}`);
    this.code = code;
    this.field = field;
  }
}

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ident = z.string().min(1).max(256);
const canonicalIso = z.string().refine((s) => {
  const t = Date.parse(s);
  return !Number.isNaN(t) && new Date(t).toISOString() === s;
}, 'expected a UTC time exactly as Date.toISOString() writes it (2026-01-01T00:00:00.000Z)');
const noticeVersion = z.string().max(257).regex(/^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+$/, 'expected id@version');

/** Parses with a library parser and reports its error as a zod issue. */
function viaParser<T>(parse: (json: unknown) => T) {
  return z.unknown().transform((v, ctx): T => {
    try {
      return parse(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof DisclosureError ? err.message : 'invalid' });
      return z.NEVER;
    }
  });
}

const attestationSchema = z
  .strictObject({
    version: z.literal(2),
    queryId: ident,
    merchantId: ident,
    purpose: ident,
    cutoff: canonicalIso,
    noticeVersions: z.array(noticeVersion).max(10_000),
    subjectsIncluded: count,
    excludedByReason: z.strictObject(Object.fromEntries(EXCLUSION_REASONS.map((r) => [r, count])) as Record<ExclusionReason, typeof count>),
    recordsUsed: count,
    consentRoot: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits'),
    terms: viaParser(parseDisclosureTerms),
    rowSet: viaParser((v) => (v === null ? null : parseRowSetSketch(v, 'rowSet'))),
  })
  .superRefine((a, ctx) => {
    for (let i = 1; i < a.noticeVersions.length; i++) {
      if (!((a.noticeVersions[i - 1] as string) < (a.noticeVersions[i] as string))) {
        ctx.addIssue({ code: 'custom', path: ['noticeVersions', i], message: 'notice versions must be sorted and unique' });
      }
    }
    if (a.recordsUsed !== a.subjectsIncluded) {
      ctx.addIssue({ code: 'custom', path: ['recordsUsed'], message: 'must equal subjectsIncluded (one record per included subject)' });
    }
    if (a.subjectsIncluded > 0 && a.noticeVersions.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['noticeVersions'], message: 'included subjects need at least one notice version' });
    }
    const total = EXCLUSION_REASONS.reduce((s, r) => s + a.excludedByReason[r], a.subjectsIncluded);
    if (!Number.isSafeInteger(total)) ctx.addIssue({ code: 'custom', path: ['excludedByReason'], message: 'counts add up beyond a safe integer' });
    if (a.terms.purpose !== a.purpose) ctx.addIssue({ code: 'custom', path: ['terms', 'purpose'], message: 'must be the attestation\'s purpose' });
  });

/**
 * Validates untrusted attestation JSON strictly: no unknown keys, every
 * exclusion reason present, counts non-negative safe integers, sorted unique
 * notice versions, canonical cutoff and root. Throws AttestationError
 * (`ATTESTATION_INVALID`) naming the field.
 */
export function parseAttestation(json: unknown): ConsentAttestation {
  const r = attestationSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue === undefined ? '' : issue.path.map(String).join('.');
  throw new AttestationError('ATTESTATION_INVALID', field, issue?.message ?? 'invalid consent attestation');
}

/** Inputs of {@link buildAttestation}. */
export interface AttestationInput {
  readonly queryId: string;
  readonly merchantId: string;
  readonly purpose: string;
  readonly cutoff: Date;
  readonly filter: Pick<RoundConsentFilter, 'includedCustomerIds' | 'excludedByReason' | 'recordsUsed' | 'noticeVersions' | 'consentRoot'>;
  readonly terms: DisclosureTerms;
  readonly rowSet: RowSetSketch | null;
}

/** The attestation of a round's consent filter. Validated before it is returned. */
export function buildAttestation(input: AttestationInput): ConsentAttestation {
  if (typeof input !== 'object' || input === null) throw new TypeError('input: expected { queryId, merchantId, purpose, cutoff, filter }');
  cutoffMs(input.cutoff, 'input.cutoff');
  const f = input.filter;
  if (typeof f !== 'object' || f === null) throw new TypeError('input.filter: expected a RoundConsentFilter');
  const att = {
    version: 2 as const,
    queryId: input.queryId,
    merchantId: input.merchantId,
    purpose: input.purpose,
    cutoff: input.cutoff.toISOString(),
    noticeVersions: [...f.noticeVersions],
    subjectsIncluded: f.includedCustomerIds.size,
    excludedByReason: Object.fromEntries(EXCLUSION_REASONS.map((r) => [r, f.excludedByReason[r] ?? 0])) as Record<ExclusionReason, number>,
    recordsUsed: f.recordsUsed.length,
    consentRoot: toHex(f.consentRoot),
    terms: input.terms,
    rowSet: input.rowSet,
  };
  try {
    return parseAttestation(att);
  } catch (err) {
    if (err instanceof AttestationError) throw new RangeError(`input: would give an invalid attestation (${err.message})`);
    throw err;
  }
}

function values(att: ConsentAttestation): CanonicalValue[] {
  return [
    att.version,
    att.queryId,
    att.merchantId,
    att.purpose,
    att.cutoff,
    [...att.noticeVersions],
    att.subjectsIncluded,
    EXCLUSION_REASONS.map((r): CanonicalValue => [r, att.excludedByReason[r]]),
    att.recordsUsed,
    fromHex(att.consentRoot),
    canonicalSpecJson(att.terms),
    att.rowSet === null ? '' : canonicalSpecJson(att.rowSet),
  ];
}

/**
 * Canonical bytes (FMC1, domain {@link CONSENT_ATTESTATION_DOMAIN}); reasons
 * are encoded as (name, count) pairs in `EXCLUSION_REASONS` order, so JSON
 * key order never matters. The argument is validated first.
 */
export function encodeAttestation(att: ConsentAttestation): Uint8Array {
  return canonicalEncode(CONSENT_ATTESTATION_DOMAIN, values(parseAttestation(att)));
}

/**
 * BLAKE2b-256 of {@link encodeAttestation}: the value the merchant's signed
 * envelope carries. Requires `await cryptoReady()`.
 */
export function attestationDigest(att: ConsentAttestation): Uint8Array {
  return statementDigest(CONSENT_ATTESTATION_DOMAIN, values(parseAttestation(att)));
}

/** What the receiver of a contribution expects the attestation to be about. */
export interface AttestationExpectation {
  readonly queryId: string;
  readonly merchantId: string;
  readonly purpose: string;
  readonly cutoff: Date | string;
}

/**
 * Throws AttestationError `ATTESTATION_MISMATCH` naming the first field that
 * differs from the round (`ATTESTATION_INVALID` if `att` is malformed).
 * Cutoffs compare as instants.
 */
export function checkAttestation(att: ConsentAttestation, expected: AttestationExpectation): void {
  const a = parseAttestation(att);
  if (typeof expected !== 'object' || expected === null) throw new TypeError('expected: expected { queryId, merchantId, purpose, cutoff }');
  for (const field of ['queryId', 'merchantId', 'purpose'] as const) {
    if (typeof expected[field] !== 'string') throw new TypeError(`expected.${field}: expected a string`);
    if (a[field] !== expected[field]) throw new AttestationError('ATTESTATION_MISMATCH', field, `attestation is for '${a[field]}', the round is '${expected[field]}'`);
  }
  const want = expected.cutoff instanceof Date ? expected.cutoff.getTime() : typeof expected.cutoff === 'string' ? Date.parse(expected.cutoff) : Number.NaN;
  if (Number.isNaN(want)) throw new TypeError('expected.cutoff: expected a valid Date or ISO-8601 time');
  if (Date.parse(a.cutoff) !== want) {
    throw new AttestationError('ATTESTATION_MISMATCH', 'cutoff', `attestation is for cutoff ${a.cutoff}, the round's is ${new Date(want).toISOString()}`);
  }
}
