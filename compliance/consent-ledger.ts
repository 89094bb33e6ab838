/**
 * A shop's consent ledger: every consent record keyed by the shop's own
 * customer id, the rights requests applied to it, and the per-round filter
 * that decides which customers a contribution may count.
 *
 * The customer id is the key a shop joins its orders on; it never leaves the
 * shop. What does leave is the round's evidence in aggregate: counts per
 * exclusion reason, the notice versions behind the consents used and an RFC
 * 6962 Merkle root over the canonical encodings of the records used. Records
 * carry only keyed pseudonyms, so an auditor who is later shown the records
 * can check them against the root without the root (or the records) telling
 * anyone who the subjects are.
 *
 * Records are immutable values: applying a request replaces the record with
 * an updated copy, so records handed out earlier (e.g. `recordsUsed` of a
 * past round) keep describing what was used.
 *
 * @module
 */
import { encodeConsentRecord, noticeVersionOf, parseConsentRecord, type ConsentEvent, type ConsentRecord } from './consent-record.js';
import { cutoffMs, evaluateConsent, zeroReasonCounts, type ConsentDecision, type ExclusionReason } from './consent-evaluate.js';
import { leafHash, rootFromLeafHashes } from './merkle.js';
import type { PurposeDefinition } from './purposes.js';
import { RightsRequestError, buildAccessReport, type AccessReport, type RightsRequest, type RoundReceipt } from './rights.js';

/** Machine-readable cause of a {@link ConsentLedgerError}. */
export type ConsentLedgerErrorCode = 'DUPLICATE_CUSTOMER' | 'DUPLICATE_RECORD' | 'DUPLICATE_PSEUDONYM' | 'CUSTOMER_ERASED';

/** A record cannot be added without making the ledger ambiguous. */
export class ConsentLedgerError extends Error {
  override readonly name = 'ConsentLedgerError';
  readonly code: ConsentLedgerErrorCode;

  constructor(code: ConsentLedgerErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Arguments of {@link ConsentLedger.filterForRound}. */
export interface RoundFilterRequest {
  readonly purpose: PurposeDefinition;
  readonly cutoff: Date;
  /** The shop's customers the round's statistic would cover; each at most once. */
  readonly customerIds: Iterable<string>;
}

/** The consent side of one round's contribution. */
export interface RoundConsentFilter {
  /** Customers the statistic may count. */
  readonly includedCustomerIds: Set<string>;
  /** Customers left out, per reason; every reason present. */
  readonly excludedByReason: Record<ExclusionReason, number>;
  /** Records of the included customers, sorted by recordId (code-unit order). */
  readonly recordsUsed: ConsentRecord[];
  /** `id@version` of the notices of the records used, sorted, unique. */
  readonly noticeVersions: string[];
  /** RFC 6962 root over `encodeConsentRecord` of `recordsUsed` in that order. */
  readonly consentRoot: Uint8Array;
}

/** What applying a rights request did. */
export interface RightsOutcome {
  readonly requestId: string;
  readonly effect: 'withdrawn' | 'opted-out' | 'erased' | 'logged' | 'no-record' | 'duplicate';
}

interface Erasure {
  readonly requestId: string;
  readonly at: string;
  readonly recordId: string | undefined;
}

/** Freezes a validated record and everything in it, so a record handed out once never changes. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The RFC 6962 root over records (already sorted by recordId). */
export function consentRootOf(sortedRecords: readonly ConsentRecord[]): Uint8Array {
  return rootFromLeafHashes(sortedRecords.map((r) => leafHash(encodeConsentRecord(r))));
}

/** Inserts `event` after every event at or before its time (histories stay in order). */
function withEvent(record: ConsentRecord, event: ConsentEvent, patch: Partial<Pick<ConsentRecord, 'personalisedMarketingOptOut'>> = {}): ConsentRecord {
  const t = Date.parse(event.at);
  let i = record.events.length;
  while (i > 0 && Date.parse((record.events[i - 1] as ConsentEvent).at) > t) i--;
  return deepFreeze({ ...record, ...patch, events: [...record.events.slice(0, i), event, ...record.events.slice(i)] });
}

const sameRequest = (a: RightsRequest, b: RightsRequest): boolean =>
  a.requestId === b.requestId && a.customerId === b.customerId && a.type === b.type && a.receivedAt === b.receivedAt;

/** A shop's consent records, keyed by its own customer ids. */
export class ConsentLedger {
  readonly #records = new Map<string, ConsentRecord>();
  readonly #recordIds = new Map<string, string>();
  readonly #pseudonyms = new Map<string, string>();
  readonly #erased = new Map<string, Erasure>();
  readonly #requests = new Map<string, RightsRequest>();
  readonly #requestsByCustomer = new Map<string, RightsRequest[]>();

  /** A ledger holding `entries` (customer id, record); see {@link add}. */
  constructor(entries: Iterable<readonly [string, ConsentRecord]> = []) {
    for (const [customerId, record] of entries) this.add(customerId, record);
  }

  /** Number of records held (erased subjects are not counted). */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Adds the record of `customerId`. The record is validated (ConsentRecordError
   * otherwise: evaluation relies on events being in time order) and a frozen
   * copy is stored. Refuses (ConsentLedgerError) a second record for a
   * customer, a recordId or pseudonym already used by another customer, and a
   * customer whose data was erased.
   */
  add(customerId: string, input: ConsentRecord): void {
    if (typeof customerId !== 'string' || customerId === '') throw new TypeError('customerId: expected a non-empty string');
    if (typeof input !== 'object' || input === null) throw new TypeError('record: expected a ConsentRecord');
    const record = deepFreeze(parseConsentRecord(input));
    if (this.#erased.has(customerId)) throw new ConsentLedgerError('CUSTOMER_ERASED', `customer '${customerId}' was erased on request and cannot be re-added`);
    if (this.#records.has(customerId)) throw new ConsentLedgerError('DUPLICATE_CUSTOMER', `customer '${customerId}' already has a consent record`);
    const other = this.#recordIds.get(record.recordId);
    if (other !== undefined) throw new ConsentLedgerError('DUPLICATE_RECORD', `record '${record.recordId}' is already held for another customer`);
    if (this.#pseudonyms.has(record.subjectPseudonym)) {
      throw new ConsentLedgerError('DUPLICATE_PSEUDONYM', `record '${record.recordId}' repeats the pseudonym of another customer's record`);
    }
    this.#records.set(customerId, record);
    this.#recordIds.set(record.recordId, customerId);
    this.#pseudonyms.set(record.subjectPseudonym, customerId);
  }

  /** The current record of `customerId`, if any. */
  get(customerId: string): ConsentRecord | undefined {
    return this.#records.get(customerId);
  }

  /** Customer ids with a record, sorted. */
  customerIds(): string[] {
    return [...this.#records.keys()].sort(compareCodeUnits);
  }

  /** True when the customer's data was erased on request. */
  isErased(customerId: string): boolean {
    return this.#erased.has(customerId);
  }

  /** The customer's rights requests in the order applied. */
  requestsOf(customerId: string): readonly RightsRequest[] {
    return [...(this.#requestsByCustomer.get(customerId) ?? [])];
  }

  /** Every request applied, in order. */
  requests(): readonly RightsRequest[] {
    return [...this.#requests.values()];
  }

  /** Evaluates one customer, taking erasure into account. */
  evaluate(customerId: string, purpose: PurposeDefinition, cutoff: Date): ConsentDecision {
    if (typeof customerId !== 'string') throw new TypeError('customerId: expected a string');
    if (this.#erased.has(customerId)) {
      cutoffMs(cutoff);
      return { included: false, reason: 'rights-request' };
    }
    return evaluateConsent(this.#records.get(customerId), purpose, cutoff);
  }

  /**
   * Applies a rights request (see `rights.ts` for what each type does).
   * `handledAt` defaults to the request's own `handledAt`, else the current
   * time. The same request twice is a no-op (`duplicate`); a different
   * request under a used id is a RightsRequestError (`RIGHTS_REQUEST_CONFLICT`).
   */
  applyRightsRequest(req: RightsRequest, options: { readonly handledAt?: Date } = {}): RightsOutcome {
    if (typeof req !== 'object' || req === null || typeof req.requestId !== 'string' || typeof req.customerId !== 'string') {
      throw new TypeError('req: expected a RightsRequest');
    }
    if (Number.isNaN(Date.parse(req.receivedAt))) throw new RangeError('req.receivedAt: expected an ISO-8601 time');
    const previous = this.#requests.get(req.requestId);
    if (previous !== undefined) {
      if (sameRequest(previous, req)) return { requestId: req.requestId, effect: 'duplicate' };
      throw new RightsRequestError('RIGHTS_REQUEST_CONFLICT', `request id '${req.requestId}' was already used for a different request`);
    }
    const handledAt = req.handledAt ?? (options.handledAt ?? new Date()).toISOString();
    const stored: RightsRequest = { ...req, handledAt };
    this.#requests.set(req.requestId, stored);
    const list = this.#requestsByCustomer.get(req.customerId) ?? [];
    list.push(stored);
    this.#requestsByCustomer.set(req.customerId, list);

    const record = this.#records.get(req.customerId);
    const effect = ((): RightsOutcome['effect'] => {
      switch (req.type) {
        case 'access':
        case 'correction':
          return 'logged';
        case 'deletion':
          if (!this.#erased.has(req.customerId)) {
            this.#erased.set(req.customerId, { requestId: req.requestId, at: handledAt, recordId: record?.recordId });
          }
          if (record !== undefined) {
            this.#records.delete(req.customerId);
            this.#recordIds.delete(record.recordId);
            this.#pseudonyms.delete(record.subjectPseudonym);
          }
          return 'erased';
        case 'withdrawal':
          if (record === undefined) return 'no-record';
          this.#records.set(req.customerId, withEvent(record, { type: 'withdrawn', at: req.receivedAt, actor: 'subject' }));
          return 'withdrawn';
        case 'marketing-opt-out':
          if (record === undefined) return 'no-record';
          this.#records.set(req.customerId, withEvent(record, { type: 'modified', at: req.receivedAt, actor: 'subject' }, { personalisedMarketingOptOut: true }));
          return 'opted-out';
      }
    })();
    return { requestId: req.requestId, effect };
  }

  /**
   * Decides, for each of `customerIds`, whether the round may count them.
   * `included + Σ excluded` equals the number of customers asked; a customer
   * listed twice is a RangeError (it would be counted twice).
   */
  filterForRound(request: RoundFilterRequest): RoundConsentFilter {
    if (typeof request !== 'object' || request === null) throw new TypeError('request: expected { purpose, cutoff, customerIds }');
    const { purpose, cutoff, customerIds } = request;
    cutoffMs(cutoff, 'request.cutoff');
    if (customerIds === null || typeof customerIds !== 'object' || !(Symbol.iterator in customerIds)) {
      throw new TypeError('request.customerIds: expected an iterable of customer ids');
    }
    const includedCustomerIds = new Set<string>();
    const seen = new Set<string>();
    const excludedByReason = zeroReasonCounts();
    const recordsUsed: ConsentRecord[] = [];
    for (const id of customerIds) {
      if (typeof id !== 'string') throw new TypeError('request.customerIds: expected strings');
      if (seen.has(id)) throw new RangeError(`request.customerIds: customer '${id}' is listed twice`);
      seen.add(id);
      const d = this.evaluate(id, purpose, cutoff);
      if (d.included) {
        includedCustomerIds.add(id);
        recordsUsed.push(d.record);
      } else {
        excludedByReason[d.reason] += 1;
      }
    }
    recordsUsed.sort((a, b) => compareCodeUnits(a.recordId, b.recordId));
    const noticeVersions = [...new Set(recordsUsed.map(noticeVersionOf))].sort(compareCodeUnits);
    return { includedCustomerIds, excludedByReason, recordsUsed, noticeVersions, consentRoot: consentRootOf(recordsUsed) };
  }

  /**
   * The access report for `customerId` (art. 45): the record held, erasure if
   * any, the standing of each of `options.purposes` at `options.at` (default
   * now), the rounds among `receipts` that used the subject's record, and the
   * subject's requests.
   */
  accessReport(
    customerId: string,
    receipts: readonly RoundReceipt[],
    options: { readonly purposes: readonly PurposeDefinition[]; readonly at?: Date },
  ): AccessReport {
    if (typeof customerId !== 'string' || customerId === '') throw new TypeError('customerId: expected a non-empty string');
    if (typeof options !== 'object' || options === null || !Array.isArray(options.purposes)) throw new TypeError('options.purposes: expected an array of PurposeDefinition');
    const at = options.at ?? new Date();
    cutoffMs(at, 'options.at');
    const erasure = this.#erased.get(customerId);
    const record = this.#records.get(customerId);
    return buildAccessReport({
      customerId,
      generatedAt: at,
      record,
      erased: erasure === undefined ? undefined : { requestId: erasure.requestId, at: erasure.at },
      recordId: record?.recordId ?? erasure?.recordId,
      purposes: options.purposes.map((p) => ({ purpose: p.name, decision: this.evaluate(customerId, p, at) })),
      receipts,
      requests: this.requestsOf(customerId),
    });
  }
}
