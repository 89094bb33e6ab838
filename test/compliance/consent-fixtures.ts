/** Builders of consent records and purposes for the consent tests. */
import type { ConsentEvent, ConsentRecord, PurposeDefinition } from '../../compliance/consent.js';
import { DEFAULT_PURPOSES } from '../../compliance/consent.js';

export const MARKETING: PurposeDefinition = DEFAULT_PURPOSES.find((p) => p.name === 'marketing-analytics')!;
export const CHURN: PurposeDefinition = DEFAULT_PURPOSES.find((p) => p.name === 'churn-modelling')!;

/** A purpose that does not drive personalised marketing. */
export const REPORTING: PurposeDefinition = {
  ...MARKETING,
  name: 'operations-reporting',
  personalisedMarketing: false,
};

/** A purpose that reads sensitive PI. */
export const HEALTH: PurposeDefinition = {
  ...MARKETING,
  name: 'health-products-analytics',
  legalBasis: 'separate-consent',
  sensitiveAllowed: true,
  allowedFields: [...MARKETING.allowedFields, 'customer.health_condition'],
  personalisedMarketing: false,
};

export const hex = (n: number, bytes = 32): string => n.toString(16).padStart(2 * bytes, '0').slice(-2 * bytes);

export function ev(type: ConsentEvent['type'], at: string, extra: Partial<ConsentEvent> = {}): ConsentEvent {
  return { type, at, actor: type === 'expired' ? 'system' : 'subject', ...extra };
}

/** A valid record for marketing-analytics and churn-modelling, given 2025-01-10. */
export function record(n: number, patch: Partial<ConsentRecord> = {}): ConsentRecord {
  return {
    recordId: `CR-${String(n).padStart(6, '0')}`,
    subjectPseudonym: hex(n + 1),
    controller: 'Test Shop Ltd',
    notice: { id: 'NOTICE-test', version: '1', hash: hex(0xabc) },
    purposes: [
      { purpose: 'marketing-analytics', legalBasis: 'consent', dataCategories: ['purchase-history'], sensitive: false, recipients: ['fedmart'], retentionDays: 365 },
      { purpose: 'churn-modelling', legalBasis: 'consent', dataCategories: ['purchase-history'], sensitive: false, recipients: ['fedmart'], retentionDays: 365 },
    ],
    channel: 'app',
    explicit: true,
    separateConsent: true,
    personalisedMarketingOptOut: false,
    events: [ev('given', '2025-01-10T00:00:00Z')],
    ...patch,
  };
}

export const CUTOFF = new Date('2025-12-31T00:00:00Z');
