/**
 * What a merchant node tells the coordinator about its data-subject rights
 * requests: per request the type, the UTC day received, the UTC day handled
 * (or that it is still pending) and a 16-byte reference derived from the
 * shop's own request id under its pseudonym key. The reference lets the
 * coordinator match a request's pending report with its later handled one
 * (and so show its status and response time) without learning the request
 * id, let alone the person.
 *
 * A request is reported once while pending and once when handled; the keys
 * of what was reported are kept in the node's state folder.
 *
 * @module
 */
import { createHmac } from 'node:crypto';
import type { RightsRequest } from '../compliance/index.js';
import type { RightsEvent } from '../protos/index.js';

/** Domain of the request reference's HMAC, so it never equals a customer pseudonym. */
const REF_DOMAIN = 'fedmart/v1/rights-request-ref\n';

/** The 16-byte reference of a request id under the shop's pseudonym key. */
export function rightsRequestRef(pseudonymKey: Uint8Array, requestId: string): Buffer {
  return createHmac('sha256', pseudonymKey).update(REF_DOMAIN + requestId, 'utf8').digest().subarray(0, 16);
}

/** The key under which a request's report in its current state is remembered. */
export function reportedKey(r: RightsRequest): string {
  return r.handledAt === undefined ? `${r.requestId}#pending` : r.requestId;
}

/** Unix ms of 00:00 UTC of the day of an ISO-8601 time (any offset). */
const dayStart = (iso: string): bigint => BigInt(Date.parse(`${new Date(Date.parse(iso)).toISOString().slice(0, 10)}T00:00:00.000Z`));

/**
 * The events to report for `requests`, skipping those whose current state
 * was reported already (`reported` holds {@link reportedKey}s; a request
 * reported before this format, by its bare id, is not reported again).
 */
export function rightsReportEvents(
  requests: readonly RightsRequest[],
  reported: ReadonlySet<string>,
  pseudonymKey: Uint8Array,
): { events: RightsEvent[]; keys: string[] } {
  const events: RightsEvent[] = [];
  const keys: string[] = [];
  for (const r of requests) {
    const key = reportedKey(r);
    if (reported.has(key) || reported.has(r.requestId)) continue;
    const received = dayStart(r.receivedAt);
    const pending = r.handledAt === undefined;
    events.push({
      type: r.type,
      handledUnixMs: pending ? received : dayStart(r.handledAt),
      receivedUnixMs: received,
      pending,
      requestRef: rightsRequestRef(pseudonymKey, r.requestId),
    });
    keys.push(key);
  }
  return { events, keys };
}
