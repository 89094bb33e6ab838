/**
 * The catalogue of audit events: every type the audit log accepts, with a
 * strict zod schema for its `details`, and the canonical form of a log entry.
 *
 * Why a closed catalogue: the log is evidence for a regulator (PIPL arts.
 * 51/54, CAC compliance-audit measures), and evidence must be both complete
 * and harmless. Strict schemas keep personal data out — details hold only
 * opaque ids, counts, reason codes, dates and digests, never names, phone
 * numbers, addresses, free text or IP addresses — and make every entry
 * machine-readable, so audit reports can be *derived* from the log instead of
 * asserted beside it.
 *
 * An entry's leaf data in the Merkle tree is the UTF-8 of its canonical JSON
 * (`canonicalSpecJson`: sorted keys, no whitespace). `parseAuditEntry`
 * accepts only that exact form, so one entry has one byte representation and
 * one leaf hash.
 *
 * @module
 */
import { z } from 'zod';
import { canonicalSpecJson } from '../analytics/canonical-json.js';
import { LEGAL_BASES } from './consent-record.js';
import { EXCLUSION_REASONS } from './consent-evaluate.js';
import { RIGHTS_REQUEST_TYPES } from './rights.js';

// ---- field vocabulary -----------------------------------------------------

/** Opaque identifier: letters, digits and `. _ : / -`; no spaces or `@` (so no e-mail addresses). */
export const AUDIT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
/** Machine reason code, e.g. `CONSENT_WITHDRAWN`. */
export const REASON_CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Processing purpose code, as in query specs, e.g. `marketing-analytics`. */
export const PURPOSE_CODE_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** Lower-case slug for kinds, categories, field names and config keys. */
export const SLUG_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const HEX_DIGEST_RE = /^[0-9a-f]{64}$/;
const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
/** Segment cell key: printable ASCII without spaces (cells are labels such as `active|tier-2`, never people). */
const CELL_KEY_RE = /^[\x21-\x7e]{1,256}$/;
const MAX_LIST = 100_000;

const id = z.string().regex(AUDIT_ID_RE, 'expected an opaque id (letters, digits, . _ : / -)');
const reason = z.string().regex(REASON_CODE_RE, 'expected a reason code like CONSENT_WITHDRAWN');
const purpose = z.string().regex(PURPOSE_CODE_RE, 'expected a purpose code like marketing-analytics');
const slug = z.string().regex(SLUG_RE, 'expected a lower-case code');
const digest = z.string().regex(HEX_DIGEST_RE, 'expected 64 lower-case hex digits');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** ISO-8601 UTC instant exactly as `Date.prototype.toISOString` writes it. */
export const isoTime = z
  .string()
  .regex(ISO_TIME_RE, 'expected an ISO-8601 UTC time like 2025-05-01T08:00:00.000Z')
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, 'not a real instant');
/** Calendar date YYYY-MM-DD. */
export const isoDate = z
  .string()
  .regex(ISO_DATE_RE, 'expected a date like 2025-05-01')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00.000Z`)) && new Date(`${s}T00:00:00.000Z`).toISOString().slice(0, 10) === s, 'not a real date');
/**
 * Consent exclusion reason (`consent-evaluate.ts`, e.g. `withdrawn`) → number
 * of subjects. Partial, so entries stay valid if a reason is added later.
 */
const excludedByReason = z.partialRecord(z.enum(EXCLUSION_REASONS), count);

/** Legal bases of PIPL art. 13, shared with consent records (`consent-record.ts`). */
const legalBasis = z.enum(LEGAL_BASES);

/** gRPC status code names (the codes merchants see when a contribution is refused). */
export const GRPC_CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

const thresholds = z.strictObject({ minMerchants: count, minSubjects: count });

const noise = z.strictObject({
  mechanism: z.enum(['laplace', 'gaussian', 'discrete-laplace', 'discrete-gaussian']),
  epsilon: z.number().positive().finite(),
  delta: z.number().min(0).max(1),
});

// ---- the catalogue ----------------------------------------------------------

/** Schemas of `details`, by event type. Every object is strict: unknown keys are rejected. */
export const AUDIT_EVENT_SCHEMAS = {
  /** A shop's node enrolled its signing key. */
  'merchant.enrolled': z.strictObject({
    merchantId: id,
    keyDigest: digest,
    /** Hex of the one-time enrolment token's id (absent for enrolments before tokens). */
    tokenId: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  }),
  /** A merchant replaced its signing key (signed by the previous key); `sequence` counts rotations. */
  'merchant.key-rotated': z.strictObject({ merchantId: id, sequence: count, keyDigest: digest }),
  /** An administrator revoked a merchant: its later contributions are refused. */
  'merchant.revoked': z.strictObject({ merchantId: id, reason }),
  /** A processing purpose was registered (or re-registered with new terms). */
  'purpose.registered': z.strictObject({
    purpose,
    legalBasis,
    allowedFields: z.array(slug).max(1000),
    retentionDays: count,
    /** Recipient descriptions as in the purpose registry (organisations, never people). */
    recipients: z.array(z.string().min(1).max(256).regex(/^[^\u0000-\u001f\u007f]+$/, 'expected a recipient description without control characters')).max(1000),
  }),
  /** A personal-information protection impact assessment (个人信息保护影响评估) was recorded; the report itself stays in the registers. */
  'pia.recorded': z.strictObject({ piaId: id, purpose, assessedAt: isoTime, retainUntil: isoTime, documentDigest: digest }),
  /** A marketer's query was published. */
  'query.created': z.strictObject({
    queryId: id,
    requester: id,
    purpose,
    legalBasis,
    kind: slug,
    specDigest: digest,
    thresholds,
    /** The purpose's disclosure mode and the hex BLAKE2b-256 of the terms sent to the shops (absent in entries made before terms). */
    disclosureMode: z.enum(['exact', 'dp']).optional(),
    termsDigest: digest.optional(),
    /** The model fit this query is a round of, and the round's number (absent for a marketer's own query and in entries made before rounds named their fit). */
    fitId: id.optional(),
    fitRound: count.optional(),
  }),
  /**
   * A contribution passed every check and was durably stored. Counts come
   * from the shop's signed consent attestation (`attestation.ts`), whose
   * digest is kept when there is one.
   */
  'contribution.accepted': z.strictObject({
    merchantId: id,
    queryId: id,
    envelopeDigest: digest,
    attestationDigest: digest.nullable(),
    subjectsIncluded: count,
    excludedByReason,
  }),
  /** A contribution was refused; ids are null when the refusal came before they were known. */
  'contribution.rejected': z.strictObject({
    merchantId: id.nullable(),
    queryId: id.nullable(),
    grpcCode: z.enum(GRPC_CODE_NAMES),
    reason,
  }),
  /** Cells of a result were withheld by disclosure control. */
  'threshold.suppressed': z.strictObject({
    queryId: id,
    cells: z.array(z.string().regex(CELL_KEY_RE, 'expected a cell key')).max(MAX_LIST),
    reason,
  }),
  /** A query ended without a release. */
  'query.failed': z.strictObject({ queryId: id, reason, contributions: count }),
  /** The key holder's signed release was stored. `noise` is null when no noise was added. */
  'release.stored': z.strictObject({
    queryId: id,
    merchants: z.array(id).max(MAX_LIST),
    policy: thresholds,
    noise: noise.nullable(),
    releaseDigest: digest,
  }),
  /** Data left the system: an audit bundle, a result file. */
  'export.created': z.strictObject({
    exportKind: slug,
    queryId: id.nullable(),
    from: isoTime.nullable(),
    to: isoTime.nullable(),
    entryCount: count,
    digest,
  }),
  /**
   * A shop handled a data-subject rights request. Only the shop, the type and
   * the UTC day (as `rightsEventForCoordinator` gives it): never the person,
   * and no exact time that could be matched against their other traces.
   * Newer nodes add the day received, whether it is still pending (`day` is
   * then the day received) and `requestRef`, 32 hex digits the shop derives
   * from its own request id under its pseudonym key, which links a request's
   * pending and handled reports (absent in entries of older nodes).
   */
  'rights.request': z.strictObject({
    shopId: id,
    requestType: z.enum(RIGHTS_REQUEST_TYPES),
    day: isoDate,
    receivedDay: isoDate.optional(),
    status: z.enum(['pending', 'handled']).optional(),
    requestRef: z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 lower-case hex digits').optional(),
  }),
  /** A configuration value changed; only digests, since values may be secrets. */
  'config.changed': z.strictObject({ key: slug, oldDigest: digest.nullable(), newDigest: digest }),
  /** A caller failed authentication. No address or credential is recorded. */
  'auth.failed': z.strictObject({ surface: z.enum(['http', 'grpc', 'cli']), route: z.string().regex(/^[\x21-\x7e]{1,256}$/), reason }),
  /** A model fit finished and its model was stored (version = fit id). */
  'model.stored': z.strictObject({
    fitId: id,
    kind: slug,
    purpose,
    rounds: count,
    merchants: z.array(id).max(MAX_LIST),
    modelDigest: digest,
  }),
  /** A round of an iterative fit closed without merchants that took part before. */
  'round.incomplete': z.strictObject({
    fitId: id,
    queryId: id,
    round: count,
    missing: z.array(id).max(MAX_LIST),
    contributions: count,
  }),
  /**
   * A round of an iterative fit closed with fewer shops than its minimum
   * (`reason`, nothing decrypted) and was published again with the same
   * state as `queryId`, attempt `attempt` of round `round`, waiting
   * `deadlineSeconds`.
   */
  'round.retried': z.strictObject({
    fitId: id,
    round: count,
    failedQueryId: id,
    queryId: id,
    attempt: count,
    reason,
    contributions: count,
    deadlineSeconds: count,
  }),
  /**
   * An iterative fit stopped without a model at round `round`, with the
   * fit's status code (the failed round's code, FIT_CANNOT_CONTINUE or
   * HESSIAN_NOT_POSITIVE_DEFINITE). The reason text stays in the fit record.
   */
  'fit.failed': z.strictObject({ fitId: id, kind: slug, purpose, round: count, code: reason }),
  /** Records past their retention period were deleted. */
  'retention.deleted': z.strictObject({ category: slug, records: count, cutoff: isoTime }),
} as const;

/** Every audit event type. */
export type AuditEventType = keyof typeof AUDIT_EVENT_SCHEMAS;
/** All event types, in catalogue order. */
export const AUDIT_EVENT_TYPES = Object.keys(AUDIT_EVENT_SCHEMAS) as readonly AuditEventType[];

/** The `details` of each event type. */
export type AuditDetails = { [T in AuditEventType]: z.infer<(typeof AUDIT_EVENT_SCHEMAS)[T]> };

/** What a caller appends: the log assigns `seq` and `time`. */
export type AuditEvent = {
  [T in AuditEventType]: { readonly type: T; readonly actor: string; readonly details: AuditDetails[T] };
}[AuditEventType];

/** A stored log entry. `seq` is its 0-based leaf index in the Merkle tree. */
export type AuditEntry = {
  [T in AuditEventType]: {
    readonly seq: number;
    readonly time: string;
    readonly type: T;
    readonly actor: string;
    readonly details: AuditDetails[T];
  };
}[AuditEventType];

/** Narrows an entry to one event type. */
export function isEntryOfType<T extends AuditEventType>(entry: AuditEntry, type: T): entry is Extract<AuditEntry, { type: T }> {
  return entry.type === type;
}

/** Why an entry or event was refused. */
export type AuditEntryErrorCode = 'INVALID_JSON' | 'UNKNOWN_TYPE' | 'INVALID_ENTRY' | 'NOT_CANONICAL';

/** An audit event or entry does not match the catalogue; `path` names the first bad field. */
export class AuditEntryError extends Error {
  override readonly name = 'AuditEntryError';
  readonly code: AuditEntryErrorCode;
  readonly path: string;

  constructor(code: AuditEntryErrorCode, path: string, message: string) {
    super(path === '' ? message : `${path}: ${message}`);
    this.code = code;
    this.path = path;
  }
}

const actor = id;
const envelope = z.strictObject({ type: z.string(), actor, details: z.unknown() });
const entryEnvelope = z.strictObject({ seq: count, time: isoTime, type: z.string(), actor, details: z.unknown() });

function firstIssue(error: z.ZodError, prefix: string): [string, string] {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map((p) => String(p))].filter((p) => p !== '').join('.');
  return [path, issue?.message ?? 'invalid'];
}

function checkDetails(type: string, details: unknown): { type: AuditEventType; details: unknown } {
  if (!Object.hasOwn(AUDIT_EVENT_SCHEMAS, type)) {
    throw new AuditEntryError('UNKNOWN_TYPE', 'type', `unknown audit event type ${JSON.stringify(type)}`);
  }
  const t = type as AuditEventType;
  const result = AUDIT_EVENT_SCHEMAS[t].safeParse(details);
  if (!result.success) throw new AuditEntryError('INVALID_ENTRY', ...firstIssue(result.error, 'details'));
  return { type: t, details: result.data };
}

/**
 * Validates an event against the catalogue (type known, actor an id, details
 * strictly matching the type's schema) and returns a clean copy.
 * Throws AuditEntryError.
 */
export function validateAuditEvent(event: unknown): AuditEvent {
  const result = envelope.safeParse(event);
  if (!result.success) throw new AuditEntryError('INVALID_ENTRY', ...firstIssue(result.error, ''));
  const { type, details } = checkDetails(result.data.type, result.data.details);
  return { type, actor: result.data.actor, details } as AuditEvent;
}

/** Validates a whole entry object (not its text form). Throws AuditEntryError. */
export function validateAuditEntry(entry: unknown): AuditEntry {
  const result = entryEnvelope.safeParse(entry);
  if (!result.success) throw new AuditEntryError('INVALID_ENTRY', ...firstIssue(result.error, ''));
  const { seq, time, actor: who } = result.data;
  const { type, details } = checkDetails(result.data.type, result.data.details);
  return { seq, time, type, actor: who, details } as AuditEntry;
}

/** The canonical JSON text of an entry: the exact bytes (as UTF-8) that are hashed into the Merkle tree. */
export function serializeAuditEntry(entry: AuditEntry): string {
  return canonicalSpecJson(validateAuditEntry(entry));
}

/** UTF-8 of the canonical JSON: the Merkle leaf data of an entry text. */
export function auditLeafData(entryJson: string): Uint8Array {
  if (typeof entryJson !== 'string') throw new TypeError('entryJson must be a string');
  return new TextEncoder().encode(entryJson);
}

/**
 * Parses stored or received entry text: valid JSON, a catalogued event with
 * valid details, and exactly the canonical serialization (so no second
 * spelling of the same entry can exist). Throws AuditEntryError.
 */
export function parseAuditEntry(json: string): AuditEntry {
  if (typeof json !== 'string') throw new TypeError('json must be a string');
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new AuditEntryError('INVALID_JSON', '', 'not valid JSON');
  }
  const entry = validateAuditEntry(raw);
  if (canonicalSpecJson(entry) !== json) {
    throw new AuditEntryError('NOT_CANONICAL', '', 'entry text is not in canonical form (sorted keys, no whitespace)');
  }
  return entry;
}
