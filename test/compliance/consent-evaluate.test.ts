import { describe, expect, it } from 'vitest';
import { parseConsentRecord, type ConsentRecord, type PurposeDefinition } from '../../compliance/consent.js';
import { EXCLUSION_REASONS, evaluateConsent, type ExclusionReason } from '../../compliance/consent-evaluate.js';
import { CHURN, CUTOFF, HEALTH, MARKETING, REPORTING, ev, record } from './consent-fixtures.js';

const base = record(1);
const mkt = base.purposes[0]!;

const cases: Array<[string, ConsentRecord | undefined, PurposeDefinition, ExclusionReason | 'included']> = [
  ['valid consent', base, MARKETING, 'included'],
  ['no record at all', undefined, MARKETING, 'no-record'],
  ['record with no events', record(1, { events: [] }), MARKETING, 'no-record'],
  ['consent not explicit (art. 14)', record(1, { explicit: false }), MARKETING, 'no-record'],
  ['withdrawn', record(1, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2025-06-01T00:00:00Z')] }), MARKETING, 'withdrawn'],
  ['expired event', record(1, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('expired', '2025-06-01T00:00:00Z')] }), MARKETING, 'expired'],
  ['expiresAt before the cutoff', record(1, { expiresAt: '2025-12-01T00:00:00Z' }), MARKETING, 'expired'],
  ['expiresAt exactly at the cutoff', record(1, { expiresAt: CUTOFF.toISOString() }), MARKETING, 'expired'],
  ['expiresAt after the cutoff', record(1, { expiresAt: '2026-12-01T00:00:00Z' }), MARKETING, 'included'],
  ['purpose not in record', record(1, { purposes: [base.purposes[1]!] }), MARKETING, 'not-for-purpose'],
  ['purpose unknown to the record', base, REPORTING, 'not-for-purpose'],
  ['purpose on a contract basis', record(1, { purposes: [{ ...mkt, legalBasis: 'contract' }] }), MARKETING, 'not-for-purpose'],
  ['given for another purpose only', record(1, { events: [ev('given', '2025-01-10T00:00:00Z', { purposes: ['churn-modelling'] })] }), MARKETING, 'not-for-purpose'],
  ['controller modified the purpose without re-consent', record(1, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('modified', '2025-03-01T00:00:00Z', { actor: 'controller', purposes: ['marketing-analytics'] })] }), MARKETING, 'not-for-purpose'],
  ['subject agreed to modified terms', record(1, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('modified', '2025-03-01T00:00:00Z', { actor: 'controller', purposes: ['marketing-analytics'] }), ev('modified', '2025-03-02T00:00:00Z', { actor: 'subject', purposes: ['marketing-analytics'] })] }), MARKETING, 'included'],
  ['opted out of personalised marketing', record(1, { personalisedMarketingOptOut: true }), MARKETING, 'opted-out-personalised-marketing'],
  ['opted out, purpose not personalised', record(1, { personalisedMarketingOptOut: true, purposes: [{ ...mkt, purpose: 'operations-reporting' }] }), REPORTING, 'included'],
  ['sensitive purpose without separate consent', record(1, { separateConsent: false, purposes: [{ ...mkt, purpose: HEALTH.name, legalBasis: 'consent', sensitive: true }] }), HEALTH, 'sensitive-without-separate-consent'],
  ['sensitive purpose, separate flag but basis only consent', record(1, { purposes: [{ ...mkt, purpose: HEALTH.name, legalBasis: 'consent', sensitive: true }] }), HEALTH, 'sensitive-without-separate-consent'],
  ['sensitive purpose with separate consent', record(1, { purposes: [{ ...mkt, purpose: HEALTH.name, legalBasis: 'separate-consent', sensitive: true }] }), HEALTH, 'included'],
  ['sensitive categories in the record without separate consent', record(1, { separateConsent: false, purposes: [{ ...mkt, sensitive: true }] }), MARKETING, 'sensitive-without-separate-consent'],
  ['withdrawn wins over opt-out', record(1, { personalisedMarketingOptOut: true, events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2025-02-01T00:00:00Z')] }), MARKETING, 'withdrawn'],
  ['withdrawn only for churn-modelling', record(1, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2025-02-01T00:00:00Z', { purposes: ['churn-modelling'] })] }), MARKETING, 'included'],
  ['withdrawn only for churn-modelling (churn)', record(1, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2025-02-01T00:00:00Z', { purposes: ['churn-modelling'] })] }), CHURN, 'withdrawn'],
];

describe('evaluateConsent', () => {
  it.each(cases)('%s', (_name, rec, purpose, expected) => {
    if (rec !== undefined) parseConsentRecord(rec); // every fixture is a valid record
    const d = evaluateConsent(rec, purpose, CUTOFF);
    if (expected === 'included') {
      expect(d).toEqual({ included: true, record: rec });
    } else {
      expect(d).toEqual({ included: false, reason: expected });
    }
  });

  it('covers every exclusion reason except rights-request (set by the ledger)', () => {
    const seen = new Set(cases.map((c) => c[3]));
    for (const r of EXCLUSION_REASONS) if (r !== 'rights-request') expect(seen.has(r), r).toBe(true);
  });

  describe('cutoff semantics', () => {
    const history = record(2, {
      events: [
        ev('given', '2025-01-10T00:00:00Z'),
        ev('withdrawn', '2025-04-01T00:00:00Z'),
        ev('given', '2025-07-01T00:00:00Z'),
        ev('expired', '2025-10-01T00:00:00Z'),
      ],
    });
    const at = (iso: string): ReturnType<typeof evaluateConsent> => evaluateConsent(history, MARKETING, new Date(iso));
    const reason = (d: ReturnType<typeof evaluateConsent>): string => (d.included ? 'included' : d.reason);

    it.each([
      ['2025-01-09T23:59:59Z', 'no-record'],
      ['2025-01-10T00:00:00Z', 'included'],
      ['2025-03-31T23:59:59Z', 'included'],
      ['2025-04-01T00:00:00Z', 'withdrawn'],
      ['2025-06-30T23:59:59.999Z', 'withdrawn'],
      ['2025-07-01T00:00:00Z', 'included'],
      ['2025-09-30T00:00:00Z', 'included'],
      ['2025-10-01T00:00:00Z', 'expired'],
      ['2030-01-01T00:00:00Z', 'expired'],
    ])('at %s → %s', (iso, expected) => {
      expect(reason(at(iso))).toBe(expected);
    });

    it('ignores events after the cutoff, whatever they are', () => {
      const later = record(3, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2026-02-01T00:00:00Z')] });
      expect(evaluateConsent(later, MARKETING, CUTOFF).included).toBe(true);
      expect(evaluateConsent(later, MARKETING, new Date('2026-02-01T00:00:00Z')).included).toBe(false);
    });
  });

  it('rejects bad arguments naming them', () => {
    expect(() => evaluateConsent(record(1), MARKETING, new Date(Number.NaN))).toThrow(/cutoff/);
    expect(() => evaluateConsent(record(1), MARKETING, '2025-01-01' as unknown as Date)).toThrow(TypeError);
    expect(() => evaluateConsent(record(1), null as unknown as PurposeDefinition, CUTOFF)).toThrow(/purpose/);
  });
});
