/**
 * Guide pieces shared by the model kinds (linear-regression, pca,
 * linear-model, logistic-regression, kmeans, logistic-model): the named
 * features, the moment-sum members, the R formula members and sections.
 * Allowed values come from the constants the parsers use.
 *
 * @module
 */
import { CUSTOMER_FEATURES } from './customer-features.js';
import { AGGREGATE_FUNCTIONS } from './customer-aggregates.js';
import { AGE_BANDS, CITY_LEVELS } from './customer-groups.js';
import { FEATURE_FAMILIES, PLAIN_FEATURE_NAMES, featureDefinition } from './features.js';
import { AS_OF, boundMember, list, type GuideMember, type GuideRole, type KindGuide } from './kind-guide-types.js';
import { DEFAULT_MAX_ROWS, DEFAULT_MODEL_SCALE_BITS, MAX_MODEL_VARIABLES } from './model-spec.js';
import { LIFECYCLE_STAGES } from './shop-data.js';

const FEATURE_MORE = `or ${FEATURE_FAMILIES.map((f) => f.pattern).join(', ')}`;
export const FEATURE_TEXT = `Named customer features measured at asOf: ${PLAIN_FEATURE_NAMES.map((n) => `${n} (${featureDefinition(n)?.description ?? ''})`).join('; ')}; and ${FEATURE_FAMILIES.map((f) => `${f.pattern} (${f.description})`).join('; ')}. A customer for whom one of them is undefined contributes no row.`;

export const momentModelMembers = (min: number): GuideMember[] => [
  {
    name: 'features',
    type: 'string[]',
    required: true,
    description: `${min} to ${MAX_MODEL_VARIABLES - 1} distinct feature names (see Features below).`,
    values: PLAIN_FEATURE_NAMES,
    moreValues: FEATURE_MORE,
  },
];

export const momentModelTail: GuideMember[] = [
  {
    name: 'scaleBits',
    type: 'integer',
    required: false,
    default: String(DEFAULT_MODEL_SCALE_BITS),
    description: 'Binary fixed-point scale of the moment sums, 0 to 52: integers are exact, other values to 2^-scaleBits.',
    sample: 24,
  },
  boundMember('maxRows', DEFAULT_MAX_ROWS, 'rows (consented customers) of one shop'),
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
export const CUSTOMER_FEATURE_TEXT = (names: readonly string[]): string =>
  `${names.map((n) => `${n} (${CUSTOMER_FEATURES[n as keyof typeof CUSTOMER_FEATURES].describe})`).join('; ')}, over every order ` +
  '(all but intercept are also named features of formulas, linear-regression and pca, measured at asOf there)';

export const FORMULA_SECTIONS: KindGuide['sections'] = [
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

export const formulaMembers = (role: GuideRole, maxAbsSample: Readonly<Record<string, number>>): GuideMember[] => [
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
  boundMember('maxRows', DEFAULT_MAX_ROWS, role === 'query' ? 'rows of one shop' : 'rows of one shop, at most 2^31'),
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
