/**
 * Does one subject's consent cover one purpose at one cutoff?
 *
 * A round fixes a cutoff time; every shop replays each record's history up to
 * it, so the answer does not depend on when a shop happens to run the round,
 * and a subject who withdraws consent (PIPL art. 15) drops out of every round
 * whose cutoff is after the withdrawal. Events *at* the cutoff count; events
 * after it are ignored. Withdrawal does not undo processing before it (art.
 * 15 ¶2), which is exactly what the replay gives.
 *
 * Replay rules for the evaluated purpose P (an event without `purposes`
 * concerns every purpose of the record):
 *
 * - `given` grants P, also after a withdrawal or expiry (re-consent);
 * - `withdrawn` / `expired` end the grant (reason `withdrawn` / `expired`);
 * - `modified` by the subject grants P (they agreed to the new terms); by the
 *   controller or system it ends the grant, because changed purposes or
 *   methods need fresh consent (art. 14 ¶2); without `purposes` it changes
 *   terms that do not affect the grant (notice wording, opt-out flag).
 *
 * When several reasons apply the first in {@link EXCLUSION_REASONS} order wins,
 * most fundamental first, so counts per reason are stable.
 *
 * @module
 */
import { CONSENT_LEGAL_BASES, type ConsentRecord } from './consent-record.js';
import type { PurposeDefinition } from './purposes.js';

/**
 * Why a subject is left out of a round, in precedence order:
 *
 * - `rights-request`: the subject asked for deletion (art. 47); set by the ledger;
 * - `no-record`: no valid consent on record at the cutoff: no record, no event
 *   up to the cutoff, or consent that was not explicit (art. 14);
 * - `withdrawn`, `expired`: the last grant of the purpose was withdrawn or
 *   expired (an `expired` event, or `expiresAt` at or before the cutoff);
 * - `not-for-purpose`: the record never covered the purpose, covers it on a
 *   basis other than consent, or the controller changed it without re-consent;
 * - `sensitive-without-separate-consent`: the purpose or the record involves
 *   sensitive PI but there is no separate consent (art. 29);
 * - `opted-out-personalised-marketing`: the purpose drives personalised
 *   marketing and the subject refused it (art. 24).
 */
export const EXCLUSION_REASONS = [
  'rights-request',
  'no-record',
  'withdrawn',
  'expired',
  'not-for-purpose',
  'sensitive-without-separate-consent',
  'opted-out-personalised-marketing',
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

/** The outcome for one subject. */
export type ConsentDecision =
  | { readonly included: true; readonly record: ConsentRecord }
  | { readonly included: false; readonly reason: ExclusionReason };

/** A record of zero for every reason, in {@link EXCLUSION_REASONS} order. */
export function zeroReasonCounts(): Record<ExclusionReason, number> {
  return Object.fromEntries(EXCLUSION_REASONS.map((r) => [r, 0])) as Record<ExclusionReason, number>;
}

type Status = 'none' | 'granted' | 'withdrawn' | 'expired' | 'lapsed';

const exclude = (reason: ExclusionReason): ConsentDecision => ({ included: false, reason });
const CONSENT_BASES: ReadonlySet<string> = new Set(CONSENT_LEGAL_BASES);

/** Checks that `cutoff` is a valid Date and returns its time in ms. */
export function cutoffMs(cutoff: Date, name = 'cutoff'): number {
  if (!(cutoff instanceof Date)) throw new TypeError(`${name}: expected a Date`);
  const t = cutoff.getTime();
  if (Number.isNaN(t)) throw new RangeError(`${name}: expected a valid Date`);
  return t;
}

/**
 * Evaluates `record` (undefined when the shop has none for the subject)
 * against `purpose` at `cutoff`. Pure: no clock, no I/O.
 */
export function evaluateConsent(record: ConsentRecord | undefined, purpose: PurposeDefinition, cutoff: Date): ConsentDecision {
  if (typeof purpose !== 'object' || purpose === null || typeof purpose.name !== 'string') throw new TypeError('purpose: expected a PurposeDefinition');
  const cut = cutoffMs(cutoff);
  if (record === undefined) return exclude('no-record');
  if (typeof record !== 'object' || record === null || !Array.isArray(record.events)) throw new TypeError('record: expected a ConsentRecord or undefined');

  let status: Status = 'none';
  let anyEvent = false;
  for (const e of record.events) {
    if (Date.parse(e.at) > cut) continue; // parsed records are in time order; `continue` keeps an unparsed one safe too
    anyEvent = true;
    const concernsP = e.purposes === undefined || e.purposes.includes(purpose.name);
    if (!concernsP) continue;
    switch (e.type) {
      case 'given':
        status = 'granted';
        break;
      case 'withdrawn':
        status = 'withdrawn';
        break;
      case 'expired':
        status = 'expired';
        break;
      case 'modified':
        if (e.purposes !== undefined) status = e.actor === 'subject' ? 'granted' : 'lapsed';
        break;
    }
  }
  if (!anyEvent || !record.explicit) return exclude('no-record');
  const entry = record.purposes.find((p) => p.purpose === purpose.name);
  if (status === 'withdrawn') return exclude('withdrawn');
  if (status === 'expired') return exclude('expired');
  if (status === 'granted' && record.expiresAt !== undefined && Date.parse(record.expiresAt) <= cut) return exclude('expired');
  if (status !== 'granted' || entry === undefined || !CONSENT_BASES.has(entry.legalBasis)) return exclude('not-for-purpose');
  const needsSeparate = purpose.sensitiveAllowed || purpose.legalBasis === 'separate-consent' || entry.sensitive;
  if (needsSeparate && !(record.separateConsent && entry.legalBasis === 'separate-consent')) return exclude('sensitive-without-separate-consent');
  if (purpose.personalisedMarketing && record.personalisedMarketingOptOut) return exclude('opted-out-personalised-marketing');
  return { included: true, record };
}
