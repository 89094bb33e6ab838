/**
 * Per-customer features and labels for propensity models, computed at the
 * shop from the round view (consented customers under pseudonyms). Each
 * feature has a fixed definition and scale so every shop builds the same
 * design matrix; the coordinator only ever sees sums over many rows.
 *
 * The features are named aggregates of the one vocabulary,
 * analytics/features.ts, which defines their values and scales (of order 1 so
 * Newton steps stay well conditioned; a model stores the scale), so a formula
 * model reading `orders` reads the same number as these kinds. These kinds
 * have no asOf: every order counts, so they measure at
 * {@link AFTER_EVERY_ORDER_UNIX_S} and read each feature's
 * `uncutInputFields`. `intercept`, the constant term, is theirs alone.
 *
 * @module
 */
import { AFTER_EVERY_ORDER_UNIX_S, customerFacts, featureDefinition, type CustomerFacts } from './features.js';
import type { ShopData } from './shop-data.js';

const NAMES = ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'] as const;

export type CustomerFeature = (typeof NAMES)[number];

/** What these kinds read of one feature and how its value follows from a customer's facts. */
export interface CustomerFeatureDefinition {
  /** Shop fields read with every order counted. */
  readonly fields: readonly string[];
  readonly describe: string;
  readonly value: (facts: CustomerFacts) => number;
}

/**
 * A named feature of analytics/features.ts measured after every order. These
 * features are never undefined (0 without orders), so an undefined value is
 * a broken definition, thrown rather than deleting the row silently.
 */
function named(name: Exclude<CustomerFeature, 'intercept'>): CustomerFeatureDefinition {
  const d = featureDefinition(name);
  if (d === undefined) throw new RangeError(`name: '${name}' is not a feature of analytics/features.ts`);
  return {
    fields: d.uncutInputFields ?? d.inputFields,
    describe: d.description,
    value: (facts) => {
      const v = d.value(facts, AFTER_EVERY_ORDER_UNIX_S);
      if (v === undefined) throw new RangeError(`features: ${name} is undefined for a customer`);
      return v;
    },
  };
}

/** Feature names a model may use, with what each reads. */
export const CUSTOMER_FEATURES: Readonly<Record<CustomerFeature, CustomerFeatureDefinition>> = {
  intercept: { fields: [], describe: 'constant 1', value: () => 1 },
  orders: named('orders'),
  avg_order_value: named('avg_order_value'),
  return_rate: named('return_rate'),
  tenure_years: named('tenure_years'),
  mean_gap_days: named('mean_gap_days'),
};

export const CUSTOMER_FEATURE_NAMES: CustomerFeature[] = [...NAMES];

/** Binary labels a propensity model may learn. */
export const CUSTOMER_LABELS = {
  churning: { fields: ['customer.lifecycle_stage'], describe: 'lifecycle stage is churning (流失)' },
  repeat: { fields: ['order.ordered_at'], describe: 'two or more orders (复购)' },
  loyal: { fields: ['customer.lifecycle_stage'], describe: 'lifecycle stage is loyal (忠诚)' },
} as const;

export type CustomerLabel = keyof typeof CUSTOMER_LABELS;
export const CUSTOMER_LABEL_NAMES = Object.keys(CUSTOMER_LABELS) as CustomerLabel[];

/** Shop fields a feature set and label read (for the purpose allow-list). */
export function featureInputFields(features: readonly CustomerFeature[], label?: CustomerLabel): string[] {
  const out = new Set<string>();
  for (const f of features) for (const field of CUSTOMER_FEATURES[f].fields) out.add(field);
  if (label) for (const field of CUSTOMER_LABELS[label].fields) out.add(field);
  return [...out].sort();
}

/** One row of the design matrix. */
export interface FeatureRow {
  readonly customerId: string;
  readonly x: number[];
  readonly y: 0 | 1;
}

function labelValue(name: CustomerLabel, f: CustomerFacts): 0 | 1 {
  switch (name) {
    case 'churning':
      return f.customer.lifecycleStage === 'churning' ? 1 : 0;
    case 'loyal':
      return f.customer.lifecycleStage === 'loyal' ? 1 : 0;
    case 'repeat':
      return f.orders >= 2 ? 1 : 0;
  }
}

/**
 * Which rows belong to the held-out evaluation split: a deterministic
 * function of the (pseudonymous) customer id, so training and evaluation
 * rounds agree at every shop without sharing anything.
 */
export function isHoldout(customerId: string, holdoutPercent: number): boolean {
  if (holdoutPercent <= 0) return false;
  let h = 0x811c9dc5;
  for (let i = 0; i < customerId.length; i++) {
    h ^= customerId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 100 < holdoutPercent;
}

/**
 * Design-matrix rows for `data`, in customer order; `split` picks training or
 * held-out rows. Values come from analytics/features.ts over every order of
 * the customer, reading only the fields the features and label declare.
 */
export function featureRows(
  data: ShopData,
  features: readonly CustomerFeature[],
  label: CustomerLabel,
  split: { readonly holdoutPercent: number; readonly part: 'train' | 'holdout' | 'all' },
): FeatureRow[] {
  const defs = features.map((f) => CUSTOMER_FEATURES[f]);
  const rows: FeatureRow[] = [];
  for (const f of customerFacts(data, AFTER_EVERY_ORDER_UNIX_S, new Set(featureInputFields(features, label)))) {
    const id = f.customer.customerId;
    if (split.part !== 'all' && isHoldout(id, split.holdoutPercent) !== (split.part === 'holdout')) continue;
    rows.push({ customerId: id, x: defs.map((d) => d.value(f)), y: labelValue(label, f) });
  }
  return rows;
}
