/**
 * The consent record: what one data subject agreed to, under which notice,
 * through which channel, and everything that happened to that consent since.
 *
 * Shaped after ISO/IEC TS 27560 / GB/T 42574 consent receipts: a record names
 * the controller, the notice the subject saw (id, version and a hash of its
 * text, so a later edit of the notice cannot be passed off as what was shown;
 * PIPL art. 17), the purposes with their legal basis, data categories,
 * recipients and retention, and an append-only list of events. The record
 * carries only the subject's keyed pseudonym; the shop's own customer id stays
 * in the ledger's key (see `consent-ledger.ts`), so records, and hashes over
 * them, can be shown to an auditor without revealing who the subject is.
 *
 * Legal bases are those of PIPL art. 13 and nothing else: PIPL deliberately
 * has no "legitimate interest" basis (unlike GDPR art. 6(1)(f)), so there is
 * no such value to choose and a record claiming one does not parse.
 *
 * @module
 */
import { z } from 'zod';
import { canonicalEncode, type CanonicalValue } from '../crypto/index.js';

/**
 * PIPL art. 13 legal bases. `consent` is 13(1); `separate-consent` is consent
 * given on its own for one purpose (单独同意; required for sensitive PI, art.
 * 29, and for providing PI to other processors, art. 23); `contract` is 13(2)
 * (including HR management); `legal-obligation` 13(3); `public-health-emergency`
 * 13(4); `public-interest-reporting` 13(5); `publicly-disclosed` 13(6);
 * `other-law` 13(7). There is intentionally no legitimate-interest basis.
 */
export const LEGAL_BASES = [
  'consent',
  'separate-consent',
  'contract',
  'legal-obligation',
  'public-health-emergency',
  'public-interest-reporting',
  'publicly-disclosed',
  'other-law',
] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

/** Bases that rest on the subject's consent, and so can be withdrawn (art. 15). */
export const CONSENT_LEGAL_BASES = ['consent', 'separate-consent'] as const satisfies readonly LegalBasis[];
export type ConsentLegalBasis = (typeof CONSENT_LEGAL_BASES)[number];

/** Where the subject gave consent. */
export const CONSENT_CHANNELS = ['app', 'web', 'store', 'call-centre'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

/** What can happen to a consent. */
export const CONSENT_EVENT_TYPES = ['given', 'withdrawn', 'expired', 'modified'] as const;
export type ConsentEventType = (typeof CONSENT_EVENT_TYPES)[number];

/** Who caused an event: the subject, the shop (controller) or an automatic process. */
export const CONSENT_ACTORS = ['subject', 'controller', 'system'] as const;
export type ConsentActor = (typeof CONSENT_ACTORS)[number];

/** Purpose codes: lower-case words joined by hyphens, e.g. `marketing-analytics`. */
export const PURPOSE_NAME_RE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** One purpose the subject was told about, as it stands in the record. */
export interface ConsentPurpose {
  /** Purpose code, matching a `PurposeDefinition.name`. */
  readonly purpose: string;
  readonly legalBasis: LegalBasis;
  /** Categories of PI processed for this purpose, e.g. `purchase-history`. */
  readonly dataCategories: readonly string[];
  /** True when the categories include sensitive PI (PIPL art. 28). */
  readonly sensitive: boolean;
  /** Who receives the results (art. 23 requires naming them). */
  readonly recipients: readonly string[];
  /** Retention the notice promised, in days (art. 17(1)(3)); drives deletion schedules. */
  readonly retentionDays: number;
}

/** One entry of a record's append-only history. */
export interface ConsentEvent {
  readonly type: ConsentEventType;
  /** UTC ISO-8601 time, e.g. `2025-03-04T05:06:07Z`. */
  readonly at: string;
  readonly actor: ConsentActor;
  /** Purposes the event concerns; absent means every purpose of the record. */
  readonly purposes?: readonly string[] | undefined;
}

/** The notice (privacy policy) shown when consent was given. */
export interface ConsentNotice {
  readonly id: string;
  readonly version: string;
  /** Hex hash of the notice text as shown. */
  readonly hash: string;
}

/** A consent record (ISO/IEC TS 27560 style), identified only by pseudonym. */
export interface ConsentRecord {
  /** Unique within the shop; stable across modifications of the record. */
  readonly recordId: string;
  /** Hex keyed pseudonym of the subject (see `pseudonymise`). */
  readonly subjectPseudonym: string;
  /** The personal-information processor (the shop's legal entity). */
  readonly controller: string;
  readonly notice: ConsentNotice;
  readonly purposes: readonly ConsentPurpose[];
  readonly channel: ConsentChannel;
  /** Consent was an explicit act (art. 14), not a pre-ticked box or silence. */
  readonly explicit: boolean;
  /** Consent was given separately (单独同意), not bundled with other terms. */
  readonly separateConsent: boolean;
  /** The subject refused personalised marketing (art. 24 ¶2). */
  readonly personalisedMarketingOptOut: boolean;
  /** History in non-decreasing time order. */
  readonly events: readonly ConsentEvent[];
  /** UTC ISO-8601 time after which the consent no longer holds. */
  readonly expiresAt?: string | undefined;
}

/** Machine-readable cause of a {@link ConsentRecordError}. */
export type ConsentRecordErrorCode = 'CONSENT_RECORD_INVALID';

/** A consent record failed validation; `path` points into the JSON. */
export class ConsentRecordError extends Error {
  override readonly name = 'ConsentRecordError';
  readonly code: ConsentRecordErrorCode = 'CONSENT_RECORD_INVALID';
  /** Dotted path of the offending value, `''` for the record itself. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(path === '' ? message : `${path}: ${message}`);
    this.path = path;
  }
}

/** Identifiers (record ids, notice ids, versions): printable, no spaces or `@`. */
const idString = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x3f\x41-\x7e]+$/, 'expected printable ASCII without spaces or @');
const label = z.string().min(1).max(256);
const hexDigest = z.string().regex(/^(?:[0-9a-f]{2}){16,64}$/, 'expected 32–128 lower-case hex digits');
/** UTC timestamps only: an offset would make equal instants encode differently. */
export const isoTimestamp = z.iso.datetime({ message: 'expected a UTC ISO-8601 time like 2025-03-04T05:06:07Z' });
const purposeName = z.string().max(64).regex(PURPOSE_NAME_RE, 'expected a purpose code like marketing-analytics');

const purposeSchema = z.strictObject({
  purpose: purposeName,
  legalBasis: z.enum(LEGAL_BASES),
  dataCategories: z.array(label).max(64),
  sensitive: z.boolean(),
  recipients: z.array(label).max(64),
  retentionDays: z.number().int().min(1).max(36_600),
});

const eventSchema = z.strictObject({
  type: z.enum(CONSENT_EVENT_TYPES),
  at: isoTimestamp,
  actor: z.enum(CONSENT_ACTORS),
  purposes: z.array(purposeName).min(1).max(64).optional(),
});

/** zod schema of one record (strict: unknown keys are errors). */
export const consentRecordSchema: z.ZodType<ConsentRecord> = z
  .strictObject({
    recordId: idString,
    subjectPseudonym: hexDigest,
    controller: label,
    notice: z.strictObject({ id: idString, version: idString, hash: hexDigest }),
    purposes: z.array(purposeSchema).min(1).max(64),
    channel: z.enum(CONSENT_CHANNELS),
    explicit: z.boolean(),
    separateConsent: z.boolean(),
    personalisedMarketingOptOut: z.boolean(),
    events: z.array(eventSchema).max(10_000),
    expiresAt: isoTimestamp.optional(),
  })
  .superRefine((r, ctx) => {
    const names = new Set<string>();
    r.purposes.forEach((p, i) => {
      if (names.has(p.purpose)) ctx.addIssue({ code: 'custom', path: ['purposes', i, 'purpose'], message: `purpose '${p.purpose}' is listed twice` });
      names.add(p.purpose);
    });
    let last = Number.NEGATIVE_INFINITY;
    r.events.forEach((e, i) => {
      const t = Date.parse(e.at);
      if (t < last) ctx.addIssue({ code: 'custom', path: ['events', i, 'at'], message: 'events must be in non-decreasing time order' });
      last = Math.max(last, t);
      e.purposes?.forEach((p, j) => {
        if (!names.has(p)) ctx.addIssue({ code: 'custom', path: ['events', i, 'purposes', j], message: `purpose '${p}' is not one of the record's purposes` });
      });
    });
  });

/**
 * Validates untrusted record JSON. Throws {@link ConsentRecordError} naming
 * the first offending path.
 */
export function parseConsentRecord(json: unknown): ConsentRecord {
  const r = consentRecordSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue === undefined ? '' : issue.path.map(String).join('.');
  throw new ConsentRecordError(path, issue?.message ?? 'invalid consent record');
}

/** Domain of {@link encodeConsentRecord}. */
export const CONSENT_RECORD_DOMAIN = 'fedmart/v1/consent-record';

/** An optional value as a 0- or 1-element list, so "absent" never collides with a value. */
const opt = (v: CanonicalValue | undefined): CanonicalValue => (v === undefined ? [] : [v]);

/**
 * Canonical bytes of a record (FMC1, domain {@link CONSENT_RECORD_DOMAIN}):
 * every field in a fixed order, optional fields as 0/1-element lists. These
 * bytes are the Merkle leaves of a round's consent root, so two records
 * encode equally iff they are equal field for field.
 */
export function encodeConsentRecord(record: ConsentRecord): Uint8Array {
  if (typeof record !== 'object' || record === null) throw new TypeError('record: expected a ConsentRecord');
  return canonicalEncode(CONSENT_RECORD_DOMAIN, [
    record.recordId,
    record.subjectPseudonym,
    record.controller,
    [record.notice.id, record.notice.version, record.notice.hash],
    record.purposes.map((p): CanonicalValue => [p.purpose, p.legalBasis, [...p.dataCategories], p.sensitive, [...p.recipients], p.retentionDays]),
    record.channel,
    record.explicit,
    record.separateConsent,
    record.personalisedMarketingOptOut,
    record.events.map((e): CanonicalValue => [e.type, e.at, e.actor, opt(e.purposes === undefined ? undefined : [...e.purposes])]),
    opt(record.expiresAt),
  ]);
}

/** `id@version` of a record's notice, the form attestations list. */
export function noticeVersionOf(record: ConsentRecord): string {
  return `${record.notice.id}@${record.notice.version}`;
}
