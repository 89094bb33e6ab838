// The query form's starting spec for each kind a marketer asks for directly,
// and the model form's for each model kind: a spec the kind's parser
// accepts, with the purpose the marketer picked.
// The values follow the worked examples of `fedmart query kinds KIND`
// (each kind's `guide` in its analytics/ file): measured as of 2026-01-01T00:00:00Z, the end of
// the one-year demo order history, so every kind has data to show.

/** Query kinds people ask for directly (the rest are rounds of model fits). */
export const USER_KINDS = ['segment-stats', 'cohort-retention', 'ab-lift', 'rfm', 'histogram', 'funnel', 'linear-regression', 'pca', 'merchant-benchmark'];

/** The instant the example specs are measured at. */
export const EXAMPLE_AS_OF = '2026-01-01T00:00:00Z';

/** An example campaign id (as exported); the A/B lift form asks for the marketer's own. */
export const EXAMPLE_CAMPAIGN_ID = 'CMP-2025-618';

const TEMPLATES = {
  'segment-stats': () => ({ groupBy: 'lifecycle_stage' }),
  'cohort-retention': () => ({ asOf: EXAMPLE_AS_OF, acquisition: 'first-order', firstCohort: '2025-01', cohorts: 12, maxMonthsSince: 11, churnDays: 90 }),
  'ab-lift': () => ({ campaignId: EXAMPLE_CAMPAIGN_ID, compare: 'variant', treatment: 'B', control: 'A', outcome: 'converted', confidence: 0.95 }),
  rfm: () => ({
    asOf: EXAMPLE_AS_OF,
    windowDays: 365,
    recencyEdgesDays: [30, 90, 180],
    frequencyEdges: [2, 4, 8],
    monetaryEdgesCents: [20000, 50000, 150000],
    core: { minRecencyScore: 3, minFrequencyScore: 3 },
  }),
  histogram: () => ({ variable: 'order_value', edgesCents: [0, 5000, 10000, 20000, 50000, 100000, 100000000], percentiles: [50, 90] }),
  funnel: () => ({ channels: ['app', 'web', 'mini-program', 'store'], campaigns: ['CMP-2025-618', 'CMP-2025-1111'] }),
  'linear-regression': () => ({
    asOf: EXAMPLE_AS_OF,
    features: ['frequency', 'tenure_days', 'lifecycle:loyal'],
    target: 'monetary_yuan',
    bounds: { featureMaxAbs: { monetary_yuan: 1000000 } },
  }),
  pca: () => ({ asOf: EXAMPLE_AS_OF, features: ['recency_days', 'frequency', 'monetary_yuan', 'tenure_days'], components: 2 }),
  'merchant-benchmark': () => ({ indicators: ['positive_rating_rate', 'return_rate', 'complaint_rate'], periods: { from: '2025-01', to: '2025-12' } }),
};

/**
 * The starting spec of `kind` for `purpose` (without `kind`: the request
 * carries it); just the purpose for a kind without a template.
 * @param {string} kind
 * @param {string} purpose
 * @returns {Record<string, unknown>}
 */
export function specTemplate(kind, purpose) {
  const template = Object.hasOwn(TEMPLATES, kind) ? TEMPLATES[kind]() : {};
  return { purpose, ...template };
}

/**
 * The model form's starting specs, by model kind: logistic regression and
 * k-means on named features; gradient-boosted trees as its kind guide's
 * example (customers as of the end of the demo history, order aggregates,
 * built-in categoricals).
 */
const FIT_TEMPLATES = {
  'logistic-regression': () => ({ features: ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'], label: 'churning', holdoutPercent: 20 }),
  kmeans: () => ({ features: ['orders', 'avg_order_value'], k: 4 }),
  'gradient-boosted-trees': () => ({
    data: 'customers',
    asOf: EXAMPLE_AS_OF,
    aggregates: { returned_any: 'max(order.returned)', n_orders: 'count(orders)', avg_spend: 'mean(order.amount)' },
    label: { name: 'returned_any', type: 'binary' },
    variables: [
      { name: 'n_orders', type: 'numeric', edges: [2, 3, 5, 8, 13] },
      { name: 'avg_spend', type: 'numeric', edges: [50, 100, 200, 400, 800] },
      { name: 'tenure_days', type: 'numeric', edges: [90, 180, 365, 730] },
      { name: 'lifecycle_stage', type: 'categorical', levels: ['new', 'active', 'loyal', 'churning'] },
      { name: 'age_band', type: 'categorical', levels: ['<18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'] },
    ],
    trees: 20,
    depth: 3,
    learningRate: 0.1,
  }),
};

/**
 * The starting spec of model kind `kind` for `purpose` (without `kind`);
 * just the purpose for a kind without a template.
 * @param {string} kind
 * @param {string} purpose
 * @returns {Record<string, unknown>}
 */
export function fitTemplate(kind, purpose) {
  const template = Object.hasOwn(FIT_TEMPLATES, kind) ? FIT_TEMPLATES[kind]() : {};
  return { purpose, ...template };
}

/**
 * Why a spec cannot be sent as it is, as an i18n key, or null: an A/B lift
 * needs the id of a campaign the shops exported.
 * @param {string} kind
 * @param {unknown} spec
 * @returns {string | null}
 */
export function specProblem(kind, spec) {
  if (kind !== 'ab-lift') return null;
  const id = spec && typeof spec === 'object' ? spec.campaignId : undefined;
  return typeof id === 'string' && id.trim() !== '' ? null : 'q.campaignRequired';
}
