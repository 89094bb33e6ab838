/**
 * The statement a merchant signs when it reports handled data-subject
 * requests: its id, each request's type and time, and a fresh nonce. The
 * coordinator records the facts; nothing in it identifies a person.
 */
import { statementDigest } from '../crypto/index.js';
import type { ReportRightsEventsRequest } from './gen/fedmart/v1/merchant.js';

export const RIGHTS_REPORT_DOMAIN = 'fedmart/v1/rights-report';

export function rightsReportDigest(r: Pick<ReportRightsEventsRequest, 'merchantId' | 'events' | 'createdUnixMs' | 'nonce'>): Uint8Array {
  return statementDigest(RIGHTS_REPORT_DOMAIN, [
    r.merchantId,
    r.events.map((e) => [e.type, e.handledUnixMs]),
    r.createdUnixMs,
    r.nonce,
  ]);
}
