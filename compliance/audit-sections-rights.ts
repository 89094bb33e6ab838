/**
 * The rights-request register with each request's status and response time,
 * derived from `rights.request` entries.
 *
 * A shop reports a request when it arrives (status `pending`, `day` the day
 * received) and again once handled (status `handled`, `day` the day handled),
 * both times with the same opaque `requestRef`. The register keeps one row
 * per (shop, reference), in its latest state: a handled report supersedes
 * the pending one, and the response time is the whole days from received to
 * handled. Entries of older nodes carry neither status nor reference: each
 * is a row of its own whose status is unknown (`null`), with `day` the day
 * handled, or received if it was pending when reported.
 *
 * Pure and deterministic; never reads a clock, so a pending request's age is
 * the reader's to work out.
 *
 * @module
 */
import type { AuditEntry } from './audit-events.js';

/** One request in the register. */
export interface RightsRegisterRow {
  /** Seq of the entry of the request's latest report. */
  readonly seq: number;
  readonly shopId: string;
  readonly requestType: string;
  /** The day of the latest report: handled, or received while pending. */
  readonly day: string;
  /** Null for entries of nodes that did not report it. */
  readonly status: 'pending' | 'handled' | null;
  /** Day received; null when not reported. */
  readonly receivedDay: string | null;
  /** Whole days from received to handled; null while pending or when not reported. */
  readonly responseDays: number | null;
  /** Seqs of every report of this request, ascending. */
  readonly reportSeqs: readonly number[];
}

/** The register: requests (not reports) counted, oldest first by their latest report. */
export interface RightsRegister {
  readonly total: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly byStatus: Readonly<Record<'pending' | 'handled' | 'unreported', number>>;
  readonly requests: readonly RightsRegisterRow[];
}

const DAY_MS = 86_400_000;

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00.000Z`) - Date.parse(`${from}T00:00:00.000Z`)) / DAY_MS);
}

/** The register of the `rights.request` entries among `entries` (sorted by seq). */
export function rightsRegister(entries: readonly AuditEntry[]): RightsRegister {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  const rows = new Map<string, RightsRegisterRow>();
  for (const e of entries) {
    if (e.type !== 'rights.request') continue;
    const d = e.details;
    const key = d.requestRef === undefined ? `#${e.seq}` : `${d.shopId}\n${d.requestRef}`;
    const prior = rows.get(key);
    // A late pending report never undoes a handled one.
    if (prior?.status === 'handled' && d.status === 'pending') {
      rows.set(key, { ...prior, reportSeqs: [...prior.reportSeqs, e.seq] });
      continue;
    }
    const status = d.status ?? null;
    const receivedDay = d.receivedDay ?? prior?.receivedDay ?? null;
    rows.set(key, {
      seq: e.seq,
      shopId: d.shopId,
      requestType: d.requestType,
      day: d.day,
      status,
      receivedDay,
      responseDays: status === 'handled' && receivedDay !== null ? daysBetween(receivedDay, d.day) : null,
      reportSeqs: [...(prior?.reportSeqs ?? []), e.seq],
    });
  }
  const requests = [...rows.values()].sort((a, b) => a.seq - b.seq);
  const byType: Record<string, number> = {};
  const byStatus = { pending: 0, handled: 0, unreported: 0 };
  for (const r of requests) {
    byType[r.requestType] = (byType[r.requestType] ?? 0) + 1;
    byStatus[r.status ?? 'unreported']++;
  }
  const sortedByType = Object.fromEntries(Object.entries(byType).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { total: requests.length, byType: sortedByType, byStatus, requests };
}
