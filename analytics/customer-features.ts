/**
 * Per-customer features and labels for propensity models, computed at the
 * shop from the round view (consented customers under pseudonyms). Each
 * feature has a fixed definition and scale so every shop builds the same
 * design matrix; the coordinator only ever sees sums over many rows.
 *
 * Features are scaled to be of order 1 so Newton steps stay well
 * conditioned; the scale is part of the definition (a model stores it).
 *
 * @module
 */
import type { Customer, Order, ShopData } from './shop-data.js';

/** Feature names a model may use, with what each reads. */
export const CUSTOMER_FEATURES = {
  intercept: { fields: [] as string[], describe: 'constant 1' },
  orders: { fields: ['order.ordered_at'], describe: 'number of orders / 10' },
  avg_order_value: { fields: ['order.amount'], describe: 'mean order value in yuan / 100 (0 without orders)' },
  return_rate: { fields: ['order.returned'], describe: 'share of orders returned (0 without orders)' },
  tenure_years: { fields: ['customer.signup_at', 'order.ordered_at'], describe: 'years from signup to the last order or signup' },
  mean_gap_days: { fields: ['order.ordered_at'], describe: 'mean days between consecutive orders / 30 (0 with fewer than 2 orders)' },
} as const;

export type CustomerFeature = keyof typeof CUSTOMER_FEATURES;
export const CUSTOMER_FEATURE_NAMES = Object.keys(CUSTOMER_FEATURES) as CustomerFeature[];

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

function featureValue(name: CustomerFeature, c: Customer, orders: readonly Order[]): number {
  switch (name) {
    case 'intercept':
      return 1;
    case 'orders':
      return orders.length / 10;
    case 'avg_order_value':
      return orders.length === 0 ? 0 : orders.reduce((s, o) => s + Number(o.amountCents), 0) / orders.length / 10_000;
    case 'return_rate':
      return orders.length === 0 ? 0 : orders.filter((o) => o.returned).length / orders.length;
    case 'tenure_years': {
      const last = orders.reduce((m, o) => Math.max(m, o.orderedUnixS), c.signupUnixS);
      return Math.max(0, last - c.signupUnixS) / (365 * 86_400);
    }
    case 'mean_gap_days': {
      if (orders.length < 2) return 0;
      const first = orders[0]!.orderedUnixS;
      const last = orders[orders.length - 1]!.orderedUnixS;
      return (last - first) / (orders.length - 1) / 86_400 / 30;
    }
  }
}

function labelValue(name: CustomerLabel, c: Customer, orders: readonly Order[]): 0 | 1 {
  switch (name) {
    case 'churning':
      return c.lifecycleStage === 'churning' ? 1 : 0;
    case 'loyal':
      return c.lifecycleStage === 'loyal' ? 1 : 0;
    case 'repeat':
      return orders.length >= 2 ? 1 : 0;
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

/** Design-matrix rows for `data`, in customer order; `split` picks training or held-out rows. */
export function featureRows(
  data: ShopData,
  features: readonly CustomerFeature[],
  label: CustomerLabel,
  split: { readonly holdoutPercent: number; readonly part: 'train' | 'holdout' | 'all' },
): FeatureRow[] {
  const ordersOf = new Map<string, Order[]>();
  for (const o of data.orders) {
    const list = ordersOf.get(o.customerId);
    if (list) list.push(o);
    else ordersOf.set(o.customerId, [o]);
  }
  const rows: FeatureRow[] = [];
  for (const c of data.customers) {
    if (split.part !== 'all' && isHoldout(c.customerId, split.holdoutPercent) !== (split.part === 'holdout')) continue;
    const orders = (ordersOf.get(c.customerId) ?? []).sort((a, b) => a.orderedUnixS - b.orderedUnixS);
    rows.push({ customerId: c.customerId, x: features.map((f) => featureValue(f, c, orders)), y: labelValue(label, c, orders) });
  }
  return rows;
}
