/**
 * The statement a merchant signs when it reports handled data-subject
 * requests: its id, each request's type and days (handled, received, whether
 * still pending, and the opaque reference linking a request's two reports),
 * and a fresh nonce. The coordinator records the facts; nothing in it
 * identifies a person. An event without a received day is stated as before
 * (type and day only), so reports of older nodes keep verifying.
 */
import { statementDigest } from '../crypto/index.js';
import type { ReportRightsEventsRequest, RightsEvent } from './gen/fedmart/v1/merchant.js';

export const RIGHTS_REPORT_DOMAIN = 'fedmart/v1/rights-report';

/** An event as signed: the fields newer nodes add may be absent (older nodes, tests of the old form). */
type SignedRightsEvent = Pick<RightsEvent, 'type' | 'handledUnixMs'> & Partial<Pick<RightsEvent, 'receivedUnixMs' | 'pending' | 'requestRef'>>;

export function rightsReportDigest(r: Pick<ReportRightsEventsRequest, 'merchantId' | 'createdUnixMs' | 'nonce'> & { readonly events: readonly SignedRightsEvent[] }): Uint8Array {
  return statementDigest(RIGHTS_REPORT_DOMAIN, [
    r.merchantId,
    r.events.map((e) => (!e.receivedUnixMs ? [e.type, e.handledUnixMs] : [e.type, e.handledUnixMs, e.receivedUnixMs, e.pending ?? false, e.requestRef ?? new Uint8Array(0)])),
    r.createdUnixMs,
    r.nonce,
  ]);
}
