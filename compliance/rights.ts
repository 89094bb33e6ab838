/**
 * Data-subject rights requests (PIPL arts. 44–50) as they reach a shop, what
 * each does to the consent ledger, and the access report (art. 45).
 *
 * - `withdrawal` (art. 15): a `withdrawn` event at the time received;
 * - `marketing-opt-out` (art. 24 ¶2): sets `personalisedMarketingOptOut` and
 *   logs a `modified` event; the flag has no time, so it applies to every
 *   later evaluation whatever its cutoff (one cannot un-refuse);
 * - `deletion` (art. 47): the record is erased and the subject is excluded
 *   from every later round with reason `rights-request`, whatever the cutoff;
 * - `access` (art. 45): no change; the shop answers with {@link AccessReport};
 * - `correction` (art. 46): no change to consent (corrections apply to the
 *   shop's own customer data); logged so the access report lists it.
 *
 * The coordinator only ever learns that a request of some type was handled
 * on some day ({@link rightsEventForCoordinator}), never who made it.
 *
 * @module
 */
import { z } from 'zod';
import type { ConsentRecord } from './consent-record.js';
import { isoTimestamp } from './consent-record.js';
import type { ConsentDecision } from './consent-evaluate.js';

/** Request types. */
export const RIGHTS_REQUEST_TYPES = ['access', 'correction', 'deletion', 'withdrawal', 'marketing-opt-out'] as const;
export type RightsRequestType = (typeof RIGHTS_REQUEST_TYPES)[number];

/** A request as the shop received it. */
export interface RightsRequest {
  readonly requestId: string;
  /** The shop's own customer id: never leaves the shop. */
  readonly customerId: string;
  readonly type: RightsRequestType;
  /** UTC ISO-8601. */
  readonly receivedAt: string;
  /** UTC ISO-8601; absent while pending. */
  readonly handledAt?: string | undefined;
}

/** Machine-readable cause of a {@link RightsRequestError}. */
export type RightsRequestErrorCode = 'RIGHTS_REQUEST_INVALID' | 'RIGHTS_REQUEST_CONFLICT';

/** A malformed request, or one whose id was already used for a different request. */
export class RightsRequestError extends Error {
  override readonly name = 'RightsRequestError';
  readonly code: RightsRequestErrorCode;

  constructor(code: RightsRequestErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** zod schema of one request (strict). */
export const rightsRequestSchema: z.ZodType<RightsRequest> = z
  .strictObject({
    requestId: z.string().min(1).max(128),
    customerId: z.string().min(1).max(256),
    type: z.enum(RIGHTS_REQUEST_TYPES),
    receivedAt: isoTimestamp,
    handledAt: isoTimestamp.optional(),
  })
  .refine((r) => r.handledAt === undefined || Date.parse(r.handledAt) >= Date.parse(r.receivedAt), {
    message: 'handledAt must not be before receivedAt',
    path: ['handledAt'],
  });

/** Validates untrusted request JSON; throws RightsRequestError naming the path. */
export function parseRightsRequest(json: unknown): RightsRequest {
  const r = rightsRequestSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue === undefined ? '' : issue.path.map(String).join('.');
  throw new RightsRequestError('RIGHTS_REQUEST_INVALID', `${path === '' ? '' : `${path}: `}${issue?.message ?? 'invalid rights request'}`);
}

/** What the coordinator may learn of a handled request. */
export interface CoordinatorRightsEvent {
  readonly type: RightsRequestType;
  /** UTC day the request was handled (or received, if pending), `YYYY-MM-DD`. */
  readonly at: string;
}

/**
 * The identity-free form of a request for the coordinator's statistics on
 * rights handling. Only the type and the UTC *day*: an exact timestamp could
 * be matched against a subject's other traces, a day among many requests
 * cannot.
 */
export function rightsEventForCoordinator(req: RightsRequest): CoordinatorRightsEvent {
  if (typeof req !== 'object' || req === null) throw new TypeError('req: expected a RightsRequest');
  if (!(RIGHTS_REQUEST_TYPES as readonly string[]).includes(req.type)) throw new RangeError(`req.type: unknown request type '${String(req.type)}'`);
  const t = Date.parse(req.handledAt ?? req.receivedAt);
  if (Number.isNaN(t)) throw new RangeError('req.receivedAt: expected an ISO-8601 time');
  return { type: req.type, at: new Date(t).toISOString().slice(0, 10) };
}

/**
 * What the merchant node keeps about one round it contributed to. The record
 * ids are the consent records behind its contribution (`recordsUsed` of the
 * round's filter); they stay in the shop.
 */
export interface RoundReceipt {
  readonly queryId: string;
  readonly purpose: string;
  /** UTC ISO-8601 cutoff of the round. */
  readonly cutoff: string;
  /** When the contribution was acknowledged, if known. */
  readonly submittedAt?: string | undefined;
  readonly recordIds: readonly string[];
}

/** A round the subject's data contributed to, only ever in aggregate. */
export interface AccessReportRound {
  readonly queryId: string;
  readonly purpose: string;
  readonly cutoff: string;
  readonly submittedAt?: string | undefined;
}

/** Answer to an access request (art. 45): what the shop holds about the subject's consent and how it was used. */
export interface AccessReport {
  readonly customerId: string;
  /** UTC ISO-8601. */
  readonly generatedAt: string;
  /** The consent record as held, or undefined (none, or erased). */
  readonly record: ConsentRecord | undefined;
  /** Set when the subject's data was erased on request. */
  readonly erased: { readonly requestId: string; readonly at: string } | undefined;
  /** Standing of each registered purpose at `generatedAt`. */
  readonly purposes: ReadonlyArray<{ readonly purpose: string; readonly decision: 'included' | ConsentDecisionReason }>;
  /** Rounds whose contributions included the subject (in aggregate only). */
  readonly rounds: readonly AccessReportRound[];
  /** The subject's rights requests, in the order received. */
  readonly requests: readonly RightsRequest[];
  /** Plain-language statement for the subject. */
  readonly note: string;
}

/** An exclusion reason as reported. */
export type ConsentDecisionReason = Extract<ConsentDecision, { included: false }>['reason'];

/** Inputs to {@link buildAccessReport}, gathered by the ledger. */
export interface AccessReportInput {
  readonly customerId: string;
  readonly generatedAt: Date;
  readonly record: ConsentRecord | undefined;
  readonly erased: { readonly requestId: string; readonly at: string } | undefined;
  readonly purposes: ReadonlyArray<{ readonly purpose: string; readonly decision: ConsentDecision }>;
  /** The record id behind the subject's contributions, kept after erasure so past rounds can still be reported. */
  readonly recordId: string | undefined;
  readonly receipts: readonly RoundReceipt[];
  readonly requests: readonly RightsRequest[];
}

/**
 * Assembles the access report. A round is listed when its receipt names the
 * subject's record id (kept after erasure, so rounds before it are still
 * reported).
 */
export function buildAccessReport(input: AccessReportInput): AccessReport {
  if (!Array.isArray(input.receipts)) throw new TypeError('receipts: expected an array of RoundReceipt');
  const recordId = input.record?.recordId ?? input.recordId;
  const rounds = recordId === undefined ? [] : input.receipts.filter((r) => r.recordIds.includes(recordId));
  return {
    customerId: input.customerId,
    generatedAt: input.generatedAt.toISOString(),
    record: input.record,
    erased: input.erased,
    purposes: input.purposes.map((p) => ({ purpose: p.purpose, decision: p.decision.included ? 'included' : p.decision.reason })),
    rounds: rounds.map((r) => ({ queryId: r.queryId, purpose: r.purpose, cutoff: r.cutoff, ...(r.submittedAt === undefined ? {} : { submittedAt: r.submittedAt }) })),
    requests: [...input.requests],
    note:
      'Your data never left the shop. For each listed round the shop sent only an encrypted sum over many customers; ' +
      'results were released only for groups above the minimum size, so no result describes you individually.',
  };
}
