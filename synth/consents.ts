/**
 * Synthetic consent ledgers: one consent record per customer (or none), and a
 * handful of rights requests, drawn from their own forked stream so that the
 * customer, order and campaign data of a seed stay exactly as before.
 *
 * The ledger agrees with the `consent_analytics` column by construction: for
 * `marketing-analytics` at any cutoff from the end of the history until at
 * least three years later, a customer is included iff `consent_analytics` is
 * `true`. Customers with `false` are spread over realistic causes: consent
 * withdrawn (in the record, or by a withdrawal request), expired (an
 * `expiresAt` or an `expired` event), personalised marketing refused (flag
 * in the record, or by request), no record at all, a record for churn
 * modelling only, or erased on request. Some valid consents were withdrawn
 * and given again; consents given after the notice update, and some older
 * ones re-confirmed, carry the second notice version.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { DEFAULT_PURPOSES, pseudonymise, type ConsentChannel, type ConsentEvent, type ConsentPurpose, type ConsentRecord, type RightsRequest } from '../compliance/consent.js';
import { isoSeconds } from './csv-format.js';
import type { Prng } from './prng.js';
import { DAY_SECONDS } from '../analytics/index.js';

const DAY = DAY_SECONDS;

/** A consent record with the shop's customer id it belongs to. */
export interface SynthConsent {
  readonly customerId: string;
  readonly record: ConsentRecord;
}

/** A shop's consent ledger as exported. */
export interface SynthShopConsents {
  /** The shop's 32-byte pseudonym key (written to the state folder's `pseudonym.key`, mode 0600). */
  readonly pseudonymKey: Uint8Array;
  /** Records in customer order; customers without a record are absent. */
  readonly consents: readonly SynthConsent[];
  /** Sorted by receipt time; ids follow that order. */
  readonly rightsRequests: readonly RightsRequest[];
}

/** The customer fields consent generation looks at. */
export interface ConsentSubject {
  readonly customerId: string;
  readonly signupUnixS: number;
  readonly consentAnalytics: boolean;
}

/** Why a customer without analytics consent is left out. */
const CAUSES = ['withdrawn', 'withdrawn-by-request', 'expires-at', 'expired-event', 'opted-out', 'opted-out-by-request', 'no-record', 'other-purpose', 'erased'] as const;
type Cause = (typeof CAUSES)[number];
const CAUSE_WEIGHTS: Readonly<Record<Cause, number>> = {
  withdrawn: 0.27,
  'withdrawn-by-request': 0.03,
  'expires-at': 0.1,
  'expired-event': 0.08,
  'opted-out': 0.17,
  'opted-out-by-request': 0.03,
  'no-record': 0.12,
  'other-purpose': 0.16,
  erased: 0.04,
};

const CHANNELS: readonly ConsentChannel[] = ['app', 'web', 'store', 'call-centre'];
const CHANNEL_WEIGHTS = [0.5, 0.25, 0.15, 0.1];

const DATA_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  'marketing-analytics': ['purchase-history', 'account-profile'],
  'churn-modelling': ['purchase-history', 'account-profile', 'campaign-response'],
};

function purposeEntry(name: string): ConsentPurpose {
  const def = DEFAULT_PURPOSES.find((p) => p.name === name);
  if (def === undefined) throw new RangeError(`name: '${name}' is not a default purpose`);
  return {
    purpose: def.name,
    legalBasis: def.legalBasis,
    dataCategories: DATA_CATEGORIES[name] ?? [],
    sensitive: false,
    recipients: def.recipients,
    retentionDays: def.retentionDays,
  };
}

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A time strictly between `lo` and `hi` (seconds), or `lo + 1` if there is no room. */
const between = (rng: Prng, lo: number, hi: number): number => (hi - lo >= 2 ? rng.int(lo + 1, hi - 1) : lo + 1);

/**
 * Generates the consent ledger of one shop. `t1` is the exclusive end of the
 * history: every event and request is at or before it, and every valid consent
 * outlives it by more than three years.
 */
export function generateShopConsents(rng: Prng, shop: { readonly index: number; readonly shopId: string }, customers: readonly ConsentSubject[], t1: number): SynthShopConsents {
  const nn = String(shop.index).padStart(2, '0');
  const pseudonymKey = new Uint8Array(32);
  const view = new DataView(pseudonymKey.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(4 * i, rng.nextUint32());

  const controller = `Synthetic Merchant ${nn} Trading Co., Ltd.`;
  const noticeId = `PN-${shop.shopId}`;
  const v2At = t1 - 200 * DAY;
  const notices = {
    v1: { id: noticeId, version: '2024.1', hash: sha256Hex(`${controller} personal information protection notice 2024.1`) },
    v2: { id: noticeId, version: '2025.2', hash: sha256Hex(`${controller} personal information protection notice 2025.2`) },
  };
  const causeWeights = CAUSES.map((c) => CAUSE_WEIGHTS[c]);
  const usedRecordIds = new Set<string>();
  const recordId = (): string => {
    for (;;) {
      const id = `CR-${nn}-${rng.nextUint32().toString(16).padStart(8, '0')}${rng.int(0, 0xffff).toString(16).padStart(4, '0')}`;
      if (!usedRecordIds.has(id)) {
        usedRecordIds.add(id);
        return id;
      }
    }
  };

  const consents: SynthConsent[] = [];
  const pending: Array<{ customerId: string; type: RightsRequest['type']; at: number }> = [];
  for (const c of customers) {
    const given = Math.min(c.signupUnixS, t1 - DAY);
    const cause: Cause | undefined = c.consentAnalytics ? undefined : CAUSES[rng.weighted(causeWeights)];
    if (cause === 'no-record') continue;
    const at = (t: number): string => isoSeconds(t);
    const events: ConsentEvent[] = [{ type: 'given', at: at(given), actor: 'subject' }];
    const names = cause === 'other-purpose' ? ['churn-modelling'] : rng.chance(0.7) ? ['marketing-analytics', 'churn-modelling'] : ['marketing-analytics'];
    let optOut = false;
    let expiresAt: number | undefined;
    let notice = given >= v2At ? notices.v2 : notices.v1;
    if (notice === notices.v1 && rng.chance(0.4)) {
      // Re-confirmed the updated notice.
      events.push({ type: 'modified', at: at(between(rng, Math.max(given, v2At), t1)), actor: 'subject', purposes: names });
      notice = notices.v2;
    }
    const last = (): number => Date.parse((events[events.length - 1] as ConsentEvent).at) / 1000;
    switch (cause) {
      case undefined:
        if (rng.chance(0.03)) {
          const w = between(rng, last(), t1);
          events.push({ type: 'withdrawn', at: at(w), actor: 'subject' });
          events.push({ type: 'given', at: at(between(rng, w, t1)), actor: 'subject' });
        }
        if (rng.chance(0.25)) expiresAt = t1 + rng.int(1100, 1800) * DAY;
        break;
      case 'withdrawn':
        events.push({ type: 'withdrawn', at: at(between(rng, last(), t1)), actor: 'subject' });
        break;
      case 'expires-at':
        expiresAt = between(rng, last(), t1);
        break;
      case 'expired-event':
        events.push({ type: 'expired', at: at(between(rng, last(), t1)), actor: 'system' });
        break;
      case 'opted-out':
        optOut = true;
        events.push({ type: 'modified', at: at(between(rng, last(), t1)), actor: 'subject' });
        break;
      case 'withdrawn-by-request':
        pending.push({ customerId: c.customerId, type: 'withdrawal', at: between(rng, last(), t1) });
        break;
      case 'opted-out-by-request':
        pending.push({ customerId: c.customerId, type: 'marketing-opt-out', at: between(rng, last(), t1) });
        break;
      case 'erased':
        pending.push({ customerId: c.customerId, type: 'deletion', at: between(rng, last(), t1) });
        break;
      case 'other-purpose':
        break;
    }
    const record: ConsentRecord = {
      recordId: recordId(),
      subjectPseudonym: pseudonymise(c.customerId, pseudonymKey),
      controller,
      notice,
      purposes: names.map(purposeEntry),
      channel: CHANNELS[rng.weighted(CHANNEL_WEIGHTS)] as ConsentChannel,
      explicit: true,
      separateConsent: rng.chance(0.8),
      personalisedMarketingOptOut: optOut,
      events,
      ...(expiresAt === undefined ? {} : { expiresAt: isoSeconds(expiresAt) }),
    };
    consents.push({ customerId: c.customerId, record });
  }
  // A few requests that change no consent: access (art. 45) and correction (art. 46).
  const extras = Math.max(1, Math.round(customers.length * 0.001));
  for (let i = 0; i < 2 * extras && customers.length > 0; i++) {
    const c = rng.pick(customers);
    pending.push({ customerId: c.customerId, type: i % 2 === 0 ? 'access' : 'correction', at: between(rng, Math.min(c.signupUnixS, t1 - DAY), t1) });
  }
  pending.sort((a, b) => a.at - b.at || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
  const rightsRequests = pending.map(
    (p, i): RightsRequest => ({
      requestId: `RR-${nn}-${String(i + 1).padStart(5, '0')}`,
      customerId: p.customerId,
      type: p.type,
      receivedAt: isoSeconds(p.at),
      handledAt: isoSeconds(p.at + rng.int(DAY / 4, 10 * DAY)),
    }),
  );
  return { pseudonymKey, consents, rightsRequests };
}
