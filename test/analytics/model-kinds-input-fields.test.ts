/**
 * "inputFields exactly what computeLocal reads", checked on random shops for
 * every kind of the precision-marketing set: the statistic computed from a
 * round view that blanks every field outside the kind's inputFields equals
 * the one computed from a view that keeps all fields.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getQueryDefinition } from '../../analytics/index.js';
import { roundView } from '../../client-sdk/index.js';
import { DEFAULT_FIELD_CLASSIFICATION, DEFAULT_PURPOSES, type PurposeDefinition } from '../../compliance/index.js';
import { AS_OF, datasetArb, splitShops } from '../helpers/random-shop-data.js';

const KEY = new Uint8Array(32).fill(3);
const EVERYTHING: PurposeDefinition = { ...DEFAULT_PURPOSES[0]!, allowedFields: DEFAULT_FIELD_CLASSIFICATION.fields.map((f) => f.field) };

const SPECS: Array<[string, Record<string, unknown>]> = [
  ['funnel', { channels: ['app', 'kiosk'], campaigns: ['C1', 'C2'] }],
  ['funnel', { channels: [], campaigns: ['C3'] }],
  ['ab-lift', { campaignId: 'C1', compare: 'variant', population: 'exposed', outcome: 'opened' }],
  ['ab-lift', { campaignId: 'C2', compare: 'exposure' }],
  ['ab-lift', { campaignId: 'C2', compare: 'exposure', variants: ['B'], outcome: 'clicked' }],
  ['merchant-benchmark', { indicators: ['return_rate'], minVolume: { orders: 1 } }],
  ['merchant-benchmark', { indicators: ['positive_rating_rate', 'response_minutes'], periods: { from: '2025-02', to: '2025-09' }, minVolume: { ratings: 1, inquiries: 1 } }],
  ['linear-regression', { asOf: AS_OF, features: ['frequency', 'sessions:app', 'age_band:25-34'], target: 'monetary_yuan' }],
  ['linear-regression', { asOf: AS_OF, features: ['recency_days', 'campaign_clicks', 'carted_sessions'], target: 'return_count' }],
  ['pca', { asOf: AS_OF, features: ['tenure_days', 'avg_order_yuan', 'campaign_conversions', 'lifecycle:loyal'] }],
];

describe('inputFields of the marketing and model kinds', () => {
  it.each(SPECS)('%s %j reads nothing outside its inputFields (property)', (kind, patch) => {
    const q = getQueryDefinition(kind);
    const spec = q.parseSpec({ kind, purpose: 'marketing-analytics', ...patch });
    const only: PurposeDefinition = { ...EVERYTHING, allowedFields: [...q.inputFields(spec)] };
    fc.assert(
      fc.property(datasetArb(1, 0, 25), (d) => {
        const [shop] = splitShops(d);
        const ids = new Set(shop!.customers.map((c) => c.customerId));
        expect(q.computeLocal(spec, roundView(shop!, ids, only, KEY))).toEqual(q.computeLocal(spec, roundView(shop!, ids, EVERYTHING, KEY)));
      }),
      { numRuns: 40 },
    );
  });
});
