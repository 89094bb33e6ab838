/**
 * What each query kind and model kind asks for, in words: a summary line, a
 * paragraph, the spec members (type, required or default, meaning, allowed
 * values) and one worked example spec that the kind's own parser accepts.
 * `fedmart query kinds KIND` prints it; test/analytics/kind-guide.test.ts
 * checks every registered kind has an entry, every example parses, and
 * every member listed is one the kind's schema takes.
 *
 * Allowed values and defaults come from the constants the parsers use, so
 * they cannot drift from them.
 *
 * @module
 */
import { CUSTOMER_FEATURES, CUSTOMER_FEATURE_NAMES, CUSTOMER_LABELS, CUSTOMER_LABEL_NAMES } from './customer-features.js';
import { AGGREGATE_FUNCTIONS } from './customer-aggregates.js';
import { DEFAULT_LEVEL_BUCKETS, MAX_LEVEL_BUCKETS, MAX_LEVEL_BYTES } from './category-levels.js';
import { AGE_BANDS, CITY_LEVELS, SEGMENT_GROUPINGS } from './customer-groups.js';
import { FEATURE_FAMILIES, PLAIN_FEATURE_NAMES, featureDefinition } from './features.js';
import { DEFAULT_FUNNEL_BOUNDS, DEFAULT_FUNNEL_CHANNELS } from './funnel.js';
import { DEFAULT_HISTOGRAM_BOUNDS, DEFAULT_INTERVAL_EDGES_DAYS, DEFAULT_ORDER_VALUE_EDGES_CENTS, DEFAULT_PERCENTILES, HISTOGRAM_VARIABLES } from './histogram.js';
import { DEFAULT_LIFT_MAX_CUSTOMERS, LIFT_OUTCOMES } from './lift.js';
import { BENCHMARK_INDICATORS, BENCHMARK_INDICATOR_NAMES, DEFAULT_MIN_VOLUME } from './merchant-benchmark.js';
import { DEFAULT_MAX_ROWS, DEFAULT_MODEL_SCALE_BITS, MAX_MODEL_VARIABLES } from './model-spec.js';
import { DEFAULT_CHURN_DAYS, DEFAULT_COHORTS, DEFAULT_COHORT_RETENTION_BOUNDS } from './retention.js';
import { ACQUISITION_RULES } from './retention-spec.js';
import { DEFAULT_FREQUENCY_EDGES, DEFAULT_MONETARY_EDGES_CENTS, DEFAULT_RECENCY_EDGES_DAYS, DEFAULT_RFM_BOUNDS, DEFAULT_RFM_WINDOW_DAYS } from './rfm.js';
import { DEFAULT_SEGMENT_STATS_BOUNDS } from './segment-stats-spec.js';
import { CAMPAIGN_VARIANTS, LIFECYCLE_STAGES } from './shop-data.js';

/** A query kind (`fedmart query run`, POST /v1/queries) or a model kind (`fedmart query fit`, POST /v1/fits). */
export type GuideRole = 'query' | 'model';

/** One member of a spec. */
export interface GuideMember {
  /** JSON path: `purpose`, or `bounds.maxRows` for a member of an object. */
  readonly name: string;
  /** JSON type as written: `string`, `integer`, `number`, `boolean`, `string[]`, `object`, ... */
  readonly type: string;
  readonly required: boolean;
  /** Required only in this case (then `required` is false). */
  readonly requiredWhen?: string;
  /** What applies when the member is left out. */
  readonly default?: string;
  readonly description: string;
  /** The allowed values, when the member (or each element of a list) is one of a fixed set. */
  readonly values?: readonly (string | number)[];
  /** Further allowed values in words (`or sessions:<channel>, ...`). */
  readonly moreValues?: string;
  /** A value the parser accepts, for a member the example leaves out. */
  readonly sample?: unknown;
  /** Members that must change beside `sample` (undefined: leave the member out). */
  readonly sampleWith?: Readonly<Record<string, unknown>>;
}

/** What a kind asks for. */
export interface KindGuide {
  readonly kind: string;
  readonly role: GuideRole;
  /** One line. */
  readonly summary: string;
  /** One paragraph. */
  readonly description: string;
  readonly members: readonly GuideMember[];
  /** Further sections (title and text), e.g. the formula syntax. */
  readonly sections: readonly { readonly title: string; readonly text: string }[];
  /** A spec the kind's parser accepts, without `kind` (the request carries it). */
  readonly example: Readonly<Record<string, unknown>>;
}

const int = (n: bigint | number): string => n.toString();
const list = (xs: readonly (string | number)[]): string => xs.join(', ');
const json = (v: unknown): string => JSON.stringify(v);

const AS_OF = '2026-01-01T00:00:00Z';
const BOUND_TYPE = 'integer or decimal string';

const purpose = (example: string): GuideMember => ({
  name: 'purpose',
  type: 'string',
  required: true,
  description: `Processing purpose the shops' consent and purpose register must cover, e.g. ${example}; lower case letters, digits, '.', '_' and '-'.`,
});

const asOf = (what: string): GuideMember => ({
  name: 'asOf',
  type: 'string',
  required: true,
  description: `UTC instant the ${what} is measured at, like ${AS_OF}; orders at or after it do not exist for the query.`,
});

const bound = (name: string, dflt: bigint | number, what: string): GuideMember => ({
  name: `bounds.${name}`,
  type: BOUND_TYPE,
  required: false,
  default: int(dflt),
  description: `Per-shop bound: ${what}. Bounds are declared before any shop answers; a shop above one refuses rather than clamping.`,
  sample: int(dflt),
});

const FEATURE_MORE = `or ${FEATURE_FAMILIES.map((f) => f.pattern).join(', ')}`;
const FEATURE_TEXT = `Named customer features measured at asOf: ${PLAIN_FEATURE_NAMES.map((n) => `${n} (${featureDefinition(n)?.description ?? ''})`).join('; ')}; and ${FEATURE_FAMILIES.map((f) => `${f.pattern} (${f.description})`).join('; ')}. A customer for whom one of them is undefined contributes no row.`;

const momentModelMembers = (min: number): GuideMember[] => [
  {
    name: 'features',
    type: 'string[]',
    required: true,
    description: `${min} to ${MAX_MODEL_VARIABLES - 1} distinct feature names (see Features below).`,
    values: PLAIN_FEATURE_NAMES,
    moreValues: FEATURE_MORE,
  },
];

const momentModelTail: GuideMember[] = [
  {
    name: 'scaleBits',
    type: 'integer',
    required: false,
    default: String(DEFAULT_MODEL_SCALE_BITS),
    description: 'Binary fixed-point scale of the moment sums, 0 to 52: integers are exact, other values to 2^-scaleBits.',
    sample: 24,
  },
  bound('maxRows', DEFAULT_MAX_ROWS, 'rows (consented customers) of one shop'),
  {
    name: 'bounds.featureMaxAbs',
    type: 'object',
    required: false,
    default: "each feature's own bound",
    description: 'Bound on |value| per variable of the model, e.g. {"monetary_yuan": 1000000}; keys must be variables of this model.',
    sample: { frequency: 1000 },
  },
];

/** The older kinds' features; all but intercept are named features, so formulas take them too (measured at asOf there). */
const CUSTOMER_FEATURE_TEXT = (names: readonly string[]): string =>
  `${names.map((n) => `${n} (${CUSTOMER_FEATURES[n as keyof typeof CUSTOMER_FEATURES].describe})`).join('; ')}, over every order ` +
  '(all but intercept are also named features of formulas, linear-regression and pca, measured at asOf there)';

const FORMULA_SECTIONS: KindGuide['sections'] = [
  {
    title: 'Formula',
    text:
      'R syntax, as lm and glm take it: `response ~ terms`. Terms are joined by `+`; `a:b` is an interaction, `a*b` is `a + b + a:b`; ' +
      '`- term` drops a term, `-1` (or `+ 0`) drops the intercept. Numeric transforms: log, log2, log10, log1p, exp, sqrt, abs and ' +
      '`I(x / 2)` for arithmetic (+ - * / ^). Categorical variables: `C(x)` or `factor(x)` (treatment contrasts, the first level is the ' +
      'reference), `relevel(x, ref = "B")` to take another reference, or `x` bare when its levels are declared. Names are R names or ' +
      '`back-quoted`. Coefficients are named as R names them (`(Intercept)`, `log(price)`, `C(brand)B`). Rows with a missing value are ' +
      'left out, as R\'s na.omit does.',
  },
  {
    title: 'Variables',
    text:
      '`data: "customers"` makes the customer the row (asOf required). A variable is, in this order of lookup: an aggregate the spec ' +
      `declares under \`aggregates\`; a built-in categorical column (lifecycle_stage: ${list(LIFECYCLE_STAGES)}; age_band: ${list(AGE_BANDS)}; ` +
      `city_level: ${list(CITY_LEVELS)}); a named feature (${list(PLAIN_FEATURE_NAMES)}, ${FEATURE_FAMILIES.map((f) => f.pattern).join(', ')}; ` +
      'a name with a colon goes in back-quotes: `sessions:app`); ' +
      'or an extra column the shop declares under tables.customers.columns in its schema.json. ' +
      '`data: "<table>"` makes each row of a table the shop declares under extraTables in schema.json the row (no asOf, no aggregates); ' +
      'the variables are that table\'s columns. `fedmart query kinds KIND --shop DIR` lists what a shop export offers.',
  },
  {
    title: 'Aggregates',
    text:
      `Per-customer aggregates of the customer's orders before asOf, by variable name: ${AGGREGATE_FUNCTIONS.map((f) => (f === 'count' ? 'count(orders)' : f === 'days_since' ? 'days_since(order.ordered_at)' : `${f}(order.<column>)`)).join(', ')}. ` +
      '`order.amount` is in yuan; other order columns are the ones the shop declares under tables.orders.columns. An aggregate over no ' +
      'orders is missing (the customer is left out), except count and sum, which are 0. Example: {"spend": "sum(order.amount)", "n_orders": "count(orders)"}.',
  },
];

/** The members a sample over customers' rows changes: their own formula, no aggregates, levels or bounds of the example. */
const customerRowsSample = (role: GuideRole, data: string): Readonly<Record<string, unknown>> => ({
  data,
  customerRows: true,
  asOf: undefined,
  aggregates: undefined,
  levels: undefined,
  bounds: undefined,
  formula: role === 'query' ? 'quantity ~ customer.income' : 'quantity > 2 ~ customer.income',
});

const formulaMembers = (role: GuideRole, maxAbsSample: Readonly<Record<string, number>>): GuideMember[] => [
  {
    name: 'formula',
    type: 'string',
    required: true,
    description:
      role === 'query'
        ? 'R model formula with a numeric response, e.g. "units ~ log(price) + promo + C(brand) + promo:display" (see Formula below).'
        : 'R model formula whose response is a label expression: comparisons (== != < <= > >=) joined by & and |, ! for not, e.g. "units > 120 ~ log(price) + C(brand)" or "churned == TRUE ~ income + C(region)".',
  },
  {
    name: 'data',
    type: 'string',
    required: true,
    description:
      'Unit of analysis: "customers" (one row per customer), "orders" (one row per order: its columns by name, its customer\'s as customer.<name>), ' +
      'or the name of a table shops declare under extraTables in their schema.json (e.g. "store_week").',
  },
  {
    name: 'customerRows',
    type: 'boolean',
    required: false,
    default: 'false',
    description:
      "The table's rows are customers' rows (its schema declares customerId, e.g. order lines): customer columns read as customer.<name>, and the release rules count customers, not rows. A shop whose table says otherwise declines.",
    sample: true,
    sampleWith: customerRowsSample(role, 'order_lines'),
  },
  {
    name: 'asOf',
    type: 'string',
    required: false,
    requiredWhen: 'data is "customers" or "orders"',
    description: `UTC instant like ${AS_OF}: orders before it count. Required for data "customers" and "orders"; leave it out for a table.`,
  },
  {
    name: 'levels',
    type: 'object',
    required: false,
    default: "{} (built-in categoricals keep their fixed order)",
    description:
      'Levels of categorical variables, reference level first, at least 2 each: {"brand": ["A", "B", "C"]}. A shop holding a level not listed declines the query.',
  },
  {
    name: 'aggregates',
    type: 'object',
    required: false,
    default: '{}',
    description: 'Customer models only: variable name -> per-customer order aggregate, e.g. {"spend": "sum(order.amount)"} (see Aggregates below).',
  },
  bound('maxRows', DEFAULT_MAX_ROWS, role === 'query' ? 'rows of one shop' : 'rows of one shop, at most 2^31'),
  {
    name: 'bounds.maxRowsPerCustomer',
    type: 'string',
    required: false,
    default: '1000 (orders and customers\' rows only)',
    description: 'Most rows one customer may have in a model over orders or customers\' rows (a shop with more declines): how far one customer can move each sum.',
    sample: '200',
    sampleWith: { ...customerRowsSample(role, 'orders'), customerRows: undefined, asOf: AS_OF },
  },
  {
    name: 'bounds.maxAbs',
    type: 'object',
    required: false,
    default: "1000000 per variable (a named feature: its own bound)",
    description:
      'Bound on |value| per variable or term as written in the formula ("price", "log(price)", the response), e.g. {"log(price)": 5}.' +
      (role === 'model' ? ' Every design column must stay within 1000000.' : ''),
    sample: maxAbsSample,
  },
];

const GUIDES: readonly KindGuide[] = [
  {
    kind: 'segment-stats',
    role: 'query',
    summary: 'Customers, repurchase, order value and purchase interval per stage, age band or city level.',
    description:
      'For each group of consented customers (lifecycle stage by default, or age band, or city level): customers, repeat customers, ' +
      'orders, the sum and sum of squares of order value and the gaps between consecutive orders, so the coordinator can release ' +
      'repurchase rate, mean and variance of order value and mean days between orders. Each group is one released cell: a group with ' +
      'fewer customers than the threshold k is withheld as a whole.',
    members: [
      purpose('marketing-analytics'),
      { name: 'groupBy', type: 'string', required: false, default: 'lifecycle_stage', description: 'Customer attribute the rows are grouped by.', values: SEGMENT_GROUPINGS },
      { name: 'excludeReturned', type: 'boolean', required: false, default: 'false', description: 'Leave returned orders out of every order statistic.', sample: true },
      bound('maxCustomers', DEFAULT_SEGMENT_STATS_BOUNDS.maxCustomers, 'consented customers in one group'),
      bound('maxOrders', DEFAULT_SEGMENT_STATS_BOUNDS.maxOrders, 'orders in one group'),
      bound('maxOrderCents', DEFAULT_SEGMENT_STATS_BOUNDS.maxOrderCents, 'value of one order, cents'),
      bound('horizonSeconds', DEFAULT_SEGMENT_STATS_BOUNDS.horizonSeconds, 'longest gap between two orders of a customer, seconds'),
      { ...bound('maxOrdersPerCustomer', 500, 'orders of one customer (calibrates differentially private noise)'), default: 'none (one customer may hold all maxOrders)' },
    ],
    sections: [],
    example: { purpose: 'marketing-analytics', groupBy: 'age_band', excludeReturned: true },
  },
  {
    kind: 'rfm',
    role: 'query',
    summary: 'RFM table (recency, frequency, monetary) with core and ordinary customer tiers, as of asOf.',
    description:
      'Per consented customer, over the orders in (asOf - windowDays, asOf]: recency (days since the last order), frequency (orders) ' +
      'and monetary (spend in cents), each bucketed at declared edges and scored 1..n, higher is better. Cells: one per (R, F, M) score ' +
      'triple with its customers, orders and spend, and the two tiers: core (every score at least the declared minimum) and ordinary. ' +
      'Customers without an order in the window are not in the table.',
    members: [
      purpose('marketing-analytics'),
      asOf('table'),
      { name: 'windowDays', type: 'integer', required: false, default: String(DEFAULT_RFM_WINDOW_DAYS), description: 'Orders in the last windowDays days before asOf count (1 to 3650).' },
      { name: 'recencyEdgesDays', type: 'integer[]', required: false, default: json(DEFAULT_RECENCY_EDGES_DAYS), description: 'Recency bucket edges in days, strictly increasing, 1 to 9 of them, each below windowDays.' },
      { name: 'frequencyEdges', type: 'integer[]', required: false, default: json(DEFAULT_FREQUENCY_EDGES), description: 'Frequency bucket edges in orders, strictly increasing, from 2 (everyone in the table has an order), 1 to 9 of them.' },
      { name: 'monetaryEdgesCents', type: 'integer[]', required: false, default: json(DEFAULT_MONETARY_EDGES_CENTS), description: 'Spend bucket edges in cents, strictly increasing, 1 to 9 of them.' },
      { name: 'core.minRecencyScore', type: 'integer', required: false, default: 'the top R score', description: 'Core tier: least R score (1 = no condition).' },
      { name: 'core.minFrequencyScore', type: 'integer', required: false, default: 'the top F score', description: 'Core tier: least F score.' },
      { name: 'core.minMonetaryScore', type: 'integer', required: false, default: '1 (no condition)', description: 'Core tier: least M score.', sample: 2 },
      { name: 'excludeReturned', type: 'boolean', required: false, default: 'false', description: 'Returned orders count neither as orders nor as spend nor as the last order.', sample: true },
      bound('maxCustomers', DEFAULT_RFM_BOUNDS.maxCustomers, 'consented customers in one cell'),
      bound('maxOrders', DEFAULT_RFM_BOUNDS.maxOrders, 'orders in one cell'),
      bound('maxOrderCents', DEFAULT_RFM_BOUNDS.maxOrderCents, 'value of one order, cents'),
    ],
    sections: [],
    example: {
      purpose: 'marketing-analytics',
      asOf: AS_OF,
      windowDays: 365,
      recencyEdgesDays: [30, 90, 180],
      frequencyEdges: [2, 4, 8],
      monetaryEdgesCents: [20_000, 50_000, 150_000],
      core: { minRecencyScore: 3, minFrequencyScore: 3 },
    },
  },
  {
    kind: 'cohort-retention',
    role: 'query',
    summary: 'Cohort retention by months since acquisition, repurchase, purchase interval, churn by stage.',
    description:
      "A customer's cohort is the calendar month of their first order (or signup); cell cohort.YYYY-MM.m{k} counts the cohort's " +
      'customers who ordered k months later. Beside the cohorts: buyers, repeat buyers and the gaps between consecutive orders ' +
      '(repurchase rate, mean purchase interval), and per lifecycle stage the buyers with no order in the last churnDays days (churn). ' +
      'Everything is as of asOf, over consented customers.',
    members: [
      purpose('marketing-analytics'),
      asOf('retention'),
      { name: 'acquisition', type: 'string', required: false, default: 'first-order', description: "What makes a customer's cohort month: the first order or the signup.", values: ACQUISITION_RULES },
      { name: 'firstCohort', type: 'string', required: false, default: 'cohorts - 1 months before the as-of month', description: 'First cohort month, like 2025-01.' },
      { name: 'cohorts', type: 'integer', required: false, default: `${DEFAULT_COHORTS}, or up to the as-of month when firstCohort is given`, description: 'Number of consecutive monthly cohorts, 1 to 36; the last may not be after the as-of month.' },
      { name: 'maxMonthsSince', type: 'integer', required: false, default: String(DEFAULT_COHORTS - 1), description: 'Largest k (months since acquisition) tracked per cohort, 0 to 35.' },
      { name: 'churnDays', type: 'integer', required: false, default: String(DEFAULT_CHURN_DAYS), description: 'No order in this many days before asOf means churned (1 to 3650).' },
      { name: 'utcOffsetMinutes', type: 'integer', required: false, default: '480 (Beijing time)', description: 'Offset of the calendar months from UTC, minutes (-720 to 840).', sample: 0 },
      bound('maxCustomers', DEFAULT_COHORT_RETENTION_BOUNDS.maxCustomers, 'consented customers'),
      bound('maxOrders', DEFAULT_COHORT_RETENTION_BOUNDS.maxOrders, 'orders'),
      bound('horizonSeconds', DEFAULT_COHORT_RETENTION_BOUNDS.horizonSeconds, 'longest gap between two orders of a customer, seconds'),
    ],
    sections: [],
    example: { purpose: 'marketing-analytics', asOf: AS_OF, acquisition: 'first-order', firstCohort: '2025-01', cohorts: 12, maxMonthsSince: 11, churnDays: 90 },
  },
  {
    kind: 'histogram',
    role: 'query',
    summary: 'Order value or purchase interval in declared bins, with percentiles.',
    description:
      'A fixed-bin histogram of order value (cents) or of the days between consecutive orders of a customer, over consented customers: ' +
      'per bin the items and the distinct customers with an item there (the subjects), and overall the items, customers and exact sum. ' +
      'Percentiles are interpolated within their bin, so the exact value lies within that bin\'s width. The edges are the bounds: a value ' +
      'outside them is refused, never clamped.',
    members: [
      purpose('marketing-analytics'),
      { name: 'variable', type: 'string', required: true, description: 'What is binned.', values: HISTOGRAM_VARIABLES },
      {
        name: 'edgesCents',
        type: 'integer[]',
        required: false,
        default: json(DEFAULT_ORDER_VALUE_EDGES_CENTS),
        description: 'With variable order_value: bin edges in cents, strictly increasing, 2 to 65 of them; bin j holds e_j <= v < e_j+1.',
      },
      {
        name: 'edgesDays',
        type: 'integer[]',
        required: false,
        default: json(DEFAULT_INTERVAL_EDGES_DAYS),
        description: 'With variable purchase_interval: bin edges in days (0 to 36500), strictly increasing, 2 to 65 of them.',
        sample: [0, 7, 30, 90, 365, 3650],
        sampleWith: { variable: 'purchase_interval', edgesCents: undefined },
      },
      { name: 'percentiles', type: 'integer[]', required: false, default: json(DEFAULT_PERCENTILES), description: 'Percentiles to estimate, strictly increasing, 1 to 99, at most 9.' },
      { name: 'excludeReturned', type: 'boolean', required: false, default: 'false', description: 'Leave returned orders out (of values, and of the order sequence intervals are taken from).', sample: true },
      bound('maxCustomers', DEFAULT_HISTOGRAM_BOUNDS.maxCustomers, 'consented customers'),
      bound('maxOrders', DEFAULT_HISTOGRAM_BOUNDS.maxOrders, 'orders (and so intervals)'),
    ],
    sections: [],
    example: { purpose: 'marketing-analytics', variable: 'order_value', edgesCents: [0, 5_000, 10_000, 20_000, 50_000, 100_000, 100_000_000], percentiles: [50, 90] },
  },
  {
    kind: 'funnel',
    role: 'query',
    summary: 'Purchase funnel per channel (view, cart, order, repeat) and response per campaign.',
    description:
      'Per channel (one cell, subjects = customers with a session there): sessions, sessions that viewed, carted and ordered, customers, ' +
      'buyers and repeat buyers, with the step rates. Per campaign (one cell, subjects = customers assigned to it): exposed, opened, ' +
      'clicked and converted, with open rate, click-through rate and conversion rate. Channels and campaigns not listed are not counted.',
    members: [
      purpose('marketing-analytics'),
      { name: 'channels', type: 'string[]', required: false, default: json(DEFAULT_FUNNEL_CHANNELS), description: 'Channel names as shops declare them (lower case, digits, -), distinct, at most 16.' },
      { name: 'campaigns', type: 'string[]', required: false, default: '[] (none)', description: 'Campaign ids as exported (e.g. CMP-2025-618), distinct, at most 64. Name at least one channel or campaign.' },
      bound('maxCustomers', DEFAULT_FUNNEL_BOUNDS.maxCustomers, 'customers (and campaign rows)'),
      bound('maxSessions', DEFAULT_FUNNEL_BOUNDS.maxSessions, 'sessions in one channel'),
    ],
    sections: [],
    example: { purpose: 'marketing-analytics', channels: ['app', 'web', 'mini-program', 'store'], campaigns: ['CMP-2025-618', 'CMP-2025-1111'] },
  },
  {
    kind: 'ab-lift',
    role: 'query',
    summary: 'Campaign lift on conversion (or click, open) between two arms, with confidence intervals.',
    description:
      'For one campaign, the customers n and successes of two arms, summed over shops: the treatment variant against the control variant ' +
      '(compare "variant"), or customers the campaign reached against those it did not (compare "exposure"). Released: both rates, the ' +
      'absolute lift with a Wald interval and the relative lift with a delta-method interval. A suppressed arm leaves both lifts null.',
    members: [
      purpose('marketing-analytics'),
      { name: 'campaignId', type: 'string', required: true, description: 'The campaign, as exported (e.g. CMP-2025-618).' },
      { name: 'compare', type: 'string', required: true, description: 'variant: treatment against control variant; exposure: reached against not reached.', values: ['variant', 'exposure'] },
      { name: 'treatment', type: 'string', required: false, default: 'B', description: 'With compare variant: the treatment arm.', values: CAMPAIGN_VARIANTS },
      { name: 'control', type: 'string', required: false, default: 'A', description: 'With compare variant: the control arm (differs from treatment).', values: CAMPAIGN_VARIANTS },
      {
        name: 'population',
        type: 'string',
        required: false,
        default: 'assigned',
        description: 'With compare variant: every assigned customer (intention to treat) or only those the campaign reached (not with the hold-out variant control).',
        values: ['assigned', 'exposed'],
        sample: 'exposed',
      },
      {
        name: 'variants',
        type: 'string[]',
        required: false,
        default: json(CAMPAIGN_VARIANTS),
        description: 'With compare exposure: only customers of these variants.',
        values: CAMPAIGN_VARIANTS,
        sample: ['A', 'B'],
        sampleWith: { compare: 'exposure', treatment: undefined, control: undefined, population: undefined },
      },
      { name: 'outcome', type: 'string', required: false, default: 'converted', description: 'The binary outcome.', values: LIFT_OUTCOMES },
      { name: 'confidence', type: 'number', required: false, default: '0.95', description: 'Confidence level of the intervals.', values: [0.9, 0.95, 0.99] },
      bound('maxCustomers', DEFAULT_LIFT_MAX_CUSTOMERS, 'customers in one arm'),
    ],
    sections: [],
    example: { purpose: 'marketing-analytics', campaignId: 'CMP-2025-618', compare: 'variant', treatment: 'B', control: 'A', outcome: 'converted', confidence: 0.95 },
  },
  {
    kind: 'merchant-benchmark',
    role: 'query',
    summary: "Distribution of shops' rating, return and complaint rates and response time.",
    description:
      'Each shop computes its trust indicators from its monthly service figures and sends a one-hot vector over the declared bins; the ' +
      'sum is a histogram of shops per indicator. A shop places itself in that distribution locally. Every bin is a cell whose subjects ' +
      'are shops, so a bin shows only once at least k shops share it; a shop with less than minVolume behind an indicator does not report it.',
    members: [
      purpose('marketing-analytics'),
      {
        name: 'indicators',
        type: 'string[]',
        required: false,
        default: 'all',
        description: `Indicators to benchmark: ${BENCHMARK_INDICATOR_NAMES.map((n) => `${n} (${BENCHMARK_INDICATORS[n].label}, ${BENCHMARK_INDICATORS[n].better} is better)`).join('; ')}.`,
        values: BENCHMARK_INDICATOR_NAMES,
      },
      {
        name: 'edges',
        type: 'object',
        required: false,
        default: BENCHMARK_INDICATOR_NAMES.map((n) => `${n} ${json(BENCHMARK_INDICATORS[n].defaultEdges)}`).join(', '),
        description: 'Bin edges per selected indicator, strictly increasing, 1 to 20: rates lie in (0, 1), response_minutes above 0.',
        sample: { return_rate: [0.02, 0.05, 0.1] },
      },
      { name: 'minVolume.orders', type: 'integer', required: false, default: String(DEFAULT_MIN_VOLUME.orders), description: 'Least orders behind return_rate and complaint_rate.', sample: 200 },
      { name: 'minVolume.ratings', type: 'integer', required: false, default: String(DEFAULT_MIN_VOLUME.ratings), description: 'Least ratings behind positive_rating_rate.', sample: 80 },
      { name: 'minVolume.inquiries', type: 'integer', required: false, default: String(DEFAULT_MIN_VOLUME.inquiries), description: 'Least inquiries behind response_minutes.', sample: 30 },
      { name: 'periods', type: 'object', required: false, default: 'all months', description: 'Months counted, inclusive: {"from": "2025-01", "to": "2025-12"}.' },
    ],
    sections: [],
    example: { purpose: 'marketing-analytics', indicators: ['positive_rating_rate', 'return_rate', 'complaint_rate'], periods: { from: '2025-01', to: '2025-12' } },
  },
  {
    kind: 'linear-regression',
    role: 'query',
    summary: 'Least squares or ridge regression on named customer features, in one round.',
    description:
      'Each shop sends the exact fixed-point moments (n, sums, cross-products) of [features, target] over its consented customers; the ' +
      'coordinator solves the normal equations from the released totals only. Released: coefficients with standard errors, intercept, ' +
      'R², residual variance and degrees of freedom. With lambda > 0 it is ridge regression (intercept unpenalised). For formulas, ' +
      'categorical variables, aggregates or shop-declared columns use linear-model.',
    members: [
      purpose('marketing-analytics'),
      asOf('features'),
      ...momentModelMembers(1),
      { name: 'target', type: 'string', required: true, description: 'The response: one feature name (as under features), not one of the features.' },
      { name: 'intercept', type: 'boolean', required: false, default: 'true', description: 'Fit an intercept.', sample: false },
      { name: 'standardise', type: 'boolean', required: false, default: 'false', description: "Penalise the standardised coefficients (ridge); also reports each coefficient times its feature's standard deviation.", sample: true },
      { name: 'lambda', type: 'number', required: false, default: '0 (ordinary least squares)', description: 'Ridge penalty, 0 to 1e12.', sample: 10 },
      ...momentModelTail,
    ],
    sections: [{ title: 'Features', text: FEATURE_TEXT }],
    example: {
      purpose: 'marketing-analytics',
      asOf: AS_OF,
      features: ['frequency', 'tenure_days', 'lifecycle:loyal'],
      target: 'monetary_yuan',
      bounds: { featureMaxAbs: { monetary_yuan: 1_000_000 } },
    },
  },
  {
    kind: 'category-levels',
    role: 'query',
    summary: 'Levels of a categorical column declared without levels; a level is shown only with k subjects.',
    description:
      'Finds the levels of a column shops declare as { "type": "categorical" } without listing them, so they can be pasted into a ' +
      'formula model\'s levels. Each shop puts every level in a bucket chosen by a salted SHA-256 of its text (all shops agree without ' +
      'sharing anything) and sends, per bucket, its subjects and the level\'s bytes times them, encrypted. A bucket holding one level ' +
      'decodes exactly after the sum; a bucket of fewer than k subjects (customers, or rows of a table) is withheld, and so is one holding ' +
      'two or more levels (LEVELS_COLLIDE: run again with another salt). Levels are at most ' + String(MAX_LEVEL_BYTES) + ' bytes of UTF-8.',
    members: [
      purpose('marketing-analytics'),
      { name: 'data', type: 'string', required: true, description: 'Whose column: "customers" (customer.<name>), "orders" (order.<name>), or a table shops declare under extraTables (<table>.<name>).' },
      { name: 'customerRows', type: 'boolean', required: false, default: 'false', description: "The table holds customers' rows (its schema declares customerId): a level's subjects are its distinct customers.", sample: true, sampleWith: { data: 'order_lines', asOf: undefined } },
      { name: 'variable', type: 'string', required: true, description: 'The column whose levels are listed, as the schema names it, e.g. brand.' },
      {
        name: 'asOf',
        type: 'string',
        required: false,
        requiredWhen: 'data is "customers" or "orders"',
        description: `UTC instant like ${AS_OF}: orders before it are read (customers: the customers of a model at that instant). Leave it out for a table.`,
      },
      { name: 'buckets', type: 'integer', required: false, default: String(DEFAULT_LEVEL_BUCKETS), description: `Buckets the levels are spread over, 2 to ${MAX_LEVEL_BUCKETS}; more buckets, fewer collisions, larger ciphertexts (256 fit one).`, sample: 512 },
      { name: 'salt', type: 'integer', required: false, default: '0', description: 'Changes every level\'s bucket, 0 to 2^32 - 1: run again with another salt when buckets collided.', sample: 1 },
    ],
    sections: [],
    example: { purpose: 'marketing-analytics', data: 'customers', variable: 'brand', asOf: AS_OF },
  },
  {
    kind: 'linear-model',
    role: 'query',
    summary: 'Linear or ridge regression as an R formula over customers or a shop-declared table.',
    description:
      'The formula is expanded into design columns as R\'s model.matrix does; each shop sends the exact moments of its rows (customers ' +
      'with their order aggregates, or the rows of a table it declares) and the coordinator solves the normal equations from the released ' +
      'totals only, giving what lm prints: coefficients, standard errors, R², residual variance. Every design column and the response ' +
      'are treated as groups: a dummy, 0/1 column or interaction cell of fewer than k rows is refused, naming it.',
    members: [
      purpose('marketing-analytics'),
      ...formulaMembers('query', { n_orders: 10_000 }),
      { name: 'lambda', type: 'number', required: false, default: '0 (ordinary least squares)', description: 'Ridge penalty on the coefficients other than the intercept, 0 to 1e12.', sample: 25 },
      { name: 'scaleBits', type: 'integer', required: false, default: String(DEFAULT_MODEL_SCALE_BITS), description: 'Binary fixed-point scale of the moment sums, 0 to 52.', sample: 24 },
    ],
    sections: FORMULA_SECTIONS,
    example: {
      purpose: 'marketing-analytics',
      data: 'customers',
      asOf: AS_OF,
      formula: 'log1p(spend) ~ n_orders + tenure_days + C(city_level) + relevel(lifecycle_stage, ref = "active")',
      levels: { city_level: [...CITY_LEVELS].reverse(), lifecycle_stage: [...LIFECYCLE_STAGES] },
      aggregates: { spend: 'sum(order.amount)', n_orders: 'count(orders)' },
      bounds: { maxAbs: { 'log1p(spend)': 25, n_orders: 10_000 } },
    },
  },
  {
    kind: 'pca',
    role: 'query',
    summary: "Principal components of named customer features or of a one-sided formula's columns, in one round.",
    description:
      'Each shop sends the exact fixed-point moments of the variables over its rows; the coordinator forms the correlation matrix ' +
      '(or, without standardise, the sample covariance) from the released totals and decomposes it, as R\'s prcomp does. The variables ' +
      'are named features of consented customers (features), or the design columns of a one-sided R formula over customers or a ' +
      'shop-declared table (formula, with data, levels, aggregates as in linear-model). Released: all eigenvalues, and for the first ' +
      '`components` components the explained share of variance and the loadings.',
    members: [
      purpose('marketing-analytics'),
      {
        name: 'asOf',
        type: 'string',
        required: false,
        requiredWhen: 'features are given, or data is "customers"',
        description: `UTC instant like ${AS_OF}: features and order aggregates see only orders before it. Leave it out for a table.`,
      },
      { ...momentModelMembers(2)[0]!, required: false, requiredWhen: 'no formula is given', description: `Either features or formula: 2 to ${MAX_MODEL_VARIABLES - 1} distinct feature names (see Features below).` },
      {
        name: 'formula',
        type: 'string',
        required: false,
        default: 'none (features are decomposed)',
        description: 'Instead of features: a one-sided R formula whose design columns are decomposed, e.g. "~ income + log1p(spend) + C(region)"; at least two columns. Needs data.',
        sample: `~ frequency + tenure_days + C(city_level)`,
        sampleWith: { features: undefined, data: 'customers' },
      },
      {
        name: 'data',
        type: 'string',
        required: false,
        requiredWhen: 'formula is given',
        description: 'With formula: "customers", or the name of a table shops declare under extraTables in their schema.json.',
        sample: 'customers',
        sampleWith: { features: undefined, formula: '~ frequency + tenure_days' },
      },
      {
        name: 'levels',
        type: 'object',
        required: false,
        default: '{}',
        description: 'With formula: levels of categorical variables, reference level first, e.g. {"region": ["north", "south"]}.',
        sample: { city_level: [...CITY_LEVELS] },
        sampleWith: { features: undefined, data: 'customers', formula: '~ frequency + C(city_level)' },
      },
      {
        name: 'aggregates',
        type: 'object',
        required: false,
        default: '{}',
        description: 'With formula and data "customers": variable name -> per-customer order aggregate, e.g. {"spend": "sum(order.amount)"}.',
        sample: { spend: 'sum(order.amount)' },
        sampleWith: { features: undefined, data: 'customers', formula: '~ frequency + log1p(spend)' },
      },
      {
        name: 'bounds.maxAbs',
        type: 'object',
        required: false,
        default: '1000000 per variable (a named feature: its own bound)',
        description: 'With formula: bound on |value| per variable or term as written in the formula, e.g. {"log1p(spend)": 25}.',
        sample: { frequency: 1000 },
        sampleWith: { features: undefined, data: 'customers', formula: '~ frequency + tenure_days' },
      },
      { name: 'standardise', type: 'boolean', required: false, default: 'true', description: 'Decompose the correlation matrix (true) or the covariance matrix (false).', sample: false },
      { name: 'components', type: 'integer', required: false, default: 'one per variable', description: 'Components to report, at most one per variable.' },
      ...momentModelTail.map((m) => (m.name === 'bounds.featureMaxAbs' ? { ...m, description: `With features: ${m.description}` } : m)),
    ],
    sections: [
      { title: 'Features', text: FEATURE_TEXT },
      {
        title: 'Formula',
        text: 'One-sided: `~ terms`, no response. The syntax, variables, levels and aggregates are those of linear-model (fedmart query kinds linear-model); the loadings are named as R\'s model.matrix names the columns.',
      },
    ],
    example: { purpose: 'marketing-analytics', asOf: AS_OF, features: ['recency_days', 'frequency', 'monetary_yuan', 'tenure_days'], components: 2 },
  },
  {
    kind: 'logistic-regression',
    role: 'model',
    summary: 'Purchase, repurchase or churn propensity on fixed customer features, with hold-out evaluation.',
    description:
      'A fit of several encrypted rounds: each round every shop sends its gradient, Hessian and log-likelihood at the current ' +
      'coefficients over its training customers, only the sums are decrypted, and the coordinator takes the Newton step until the ' +
      'largest step is below tolerance. Standard errors come from the final Hessian; the held-out customers give AUC, log-loss and ' +
      'accuracy from encrypted score histograms. Shops can then score their own customers locally (fedmart merchant score).',
    members: [
      purpose('churn-modelling'),
      {
        name: 'features',
        type: 'string[]',
        required: true,
        description: `1 to 16 distinct customer features, each scaled to be of order 1: ${CUSTOMER_FEATURE_TEXT(CUSTOMER_FEATURE_NAMES)}. List intercept for a constant term.`,
        values: CUSTOMER_FEATURE_NAMES,
      },
      {
        name: 'label',
        type: 'string',
        required: true,
        description: `What is predicted: ${CUSTOMER_LABEL_NAMES.map((n) => `${n} (${CUSTOMER_LABELS[n].describe})`).join('; ')}.`,
        values: CUSTOMER_LABEL_NAMES,
      },
      { name: 'holdoutPercent', type: 'integer', required: false, default: '20', description: 'Share of customers (by pseudonym) held out for evaluation, 0 to 50.' },
      { name: 'l2', type: 'number', required: false, default: '0', description: 'L2 penalty on the coefficients other than intercept, 0 to 1e6.' },
      { name: 'maxFeatureAbs', type: 'number', required: false, default: '1000', description: 'Largest |feature| a row may have (a row beyond it is refused, not clamped), at most 1e6.', sample: 100 },
      { name: 'maxRows', type: 'integer', required: false, default: String(2 ** 24), description: 'Most training rows one shop may have, at most 2^31.', sample: 1_000_000 },
      { name: 'maxRounds', type: 'integer', required: false, default: '25', description: 'Most Newton rounds, 1 to 100.', sample: 10 },
      { name: 'tolerance', type: 'number', required: false, default: '1e-8', description: 'Stop when the largest Newton step is below it (at most 1).', sample: 1e-6 },
    ],
    sections: [],
    example: { purpose: 'churn-modelling', features: ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years'], label: 'churning', holdoutPercent: 20, l2: 0.1 },
  },
  {
    kind: 'kmeans',
    role: 'model',
    summary: 'k-means customer segments by federated Lloyd rounds from a seeded start.',
    description:
      'Round 1 gathers feature means and standard deviations, from which k initial centroids follow deterministically from the seed; ' +
      'each later round sends the centroids, every shop assigns its customers to the nearest and returns encrypted per-cluster counts ' +
      'and coordinate sums, and the centroids move to the cluster means until no centroid moves. A cluster that falls below k customers ' +
      'in a round is withheld and its centroid dropped (the model says how many).',
    members: [
      purpose('marketing-analytics'),
      {
        name: 'features',
        type: 'string[]',
        required: false,
        requiredWhen: 'without model',
        description: `1 to 16 distinct customer features: ${CUSTOMER_FEATURE_TEXT(CUSTOMER_FEATURE_NAMES.filter((f) => f !== 'intercept'))}. Give features or model, not both.`,
        values: CUSTOMER_FEATURE_NAMES.filter((f) => f !== 'intercept'),
      },
      {
        name: 'model',
        type: 'object',
        required: false,
        requiredWhen: 'without features',
        description:
          'The variables as a one-sided R formula over the columns shops declare: { formula: "~ I(income/1000) + log1p(spend)", data: "customers" or a table, asOf (customers), levels, aggregates, bounds } as for linear-model; the clustered variables are its design columns, at most 16.',
        sample: { data: 'customers', asOf: '2026-01-01T00:00:00Z', formula: '~ log1p(spend) + n_orders', aggregates: { spend: 'sum(order.amount)', n_orders: 'count(orders)' } },
        sampleWith: { features: undefined },
      },
      { name: 'k', type: 'integer', required: true, description: 'Number of clusters, 2 to 20.' },
      { name: 'seed', type: 'integer', required: false, default: '1', description: 'Seed of the initial centroids, 0 to 2^32 - 1.' },
      { name: 'maxRounds', type: 'integer', required: false, default: '50', description: 'Most rounds, 2 to 200.', sample: 20 },
      { name: 'maxFeatureAbs', type: 'number', required: false, default: '1000', description: 'Largest |feature| a row may have, at most 1e6.', sample: 100 },
      { name: 'maxRows', type: 'integer', required: false, default: String(2 ** 24), description: 'Most rows one shop may have, at most 2^31.', sample: 1_000_000 },
    ],
    sections: [],
    example: { purpose: 'marketing-analytics', features: ['orders', 'avg_order_value', 'mean_gap_days'], k: 4, seed: 1 },
  },
  {
    kind: 'logistic-model',
    role: 'model',
    summary: 'Logistic regression as an R formula with a label expression as response (glm binomial).',
    description:
      'Like glm(..., family = binomial): the response is a label expression on the row (units > 120, churned == TRUE), the terms are an ' +
      'R formula over customers or a shop-declared table, and coefficients carry R\'s names. Each round every shop sends its encrypted ' +
      'gradient, Hessian and log-likelihood at the current coefficients; only sums over all shops are decrypted. Both label levels, every ' +
      'design column and every pair must hold 0 or at least k rows. Every row trains (no hold-out).',
    members: [
      purpose('churn-modelling'),
      ...formulaMembers('model', { 'log1p(n_orders)': 10 }),
      { name: 'l2', type: 'number', required: false, default: '0', description: 'L2 penalty on the coefficients other than the intercept, 0 to 1e6.' },
      { name: 'maxRounds', type: 'integer', required: false, default: '25', description: 'Most Newton rounds, 1 to 100.' },
      { name: 'tolerance', type: 'number', required: false, default: '1e-10', description: 'Stop when the largest Newton step is below it (at most 1).', sample: 1e-8 },
    ],
    sections: FORMULA_SECTIONS,
    example: {
      purpose: 'churn-modelling',
      data: 'customers',
      asOf: AS_OF,
      formula: 'days_idle > 90 ~ log1p(n_orders) + tenure_days + C(city_level)',
      levels: { city_level: [...CITY_LEVELS] },
      aggregates: { days_idle: 'days_since(order.ordered_at)', n_orders: 'count(orders)' },
      l2: 0.1,
      maxRounds: 25,
    },
  },
];

const BY_KIND = new Map(GUIDES.map((g) => [g.kind, g]));

/** The guide of `kind`, or undefined for a kind without one. */
export function kindGuide(kind: string): KindGuide | undefined {
  return BY_KIND.get(kind);
}

/** Every guide, queries first, each group sorted by kind. */
export function kindGuides(): readonly KindGuide[] {
  return [...GUIDES].sort((a, b) => (a.role === b.role ? a.kind.localeCompare(b.kind) : a.role === 'query' ? -1 : 1));
}
