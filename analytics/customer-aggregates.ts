/**
 * Per-customer aggregates of order rows, as model variables for models whose
 * unit of analysis is the customer: `count(orders)`, `sum(order.amount)`,
 * `mean(order.units)`, `min(…)`, `max(…)`, `last(…)` (the value on the
 * latest order) and `days_since(order.ordered_at)` (days from the latest
 * order to asOf). Only orders placed before asOf exist. `order.amount` is in
 * yuan; other order columns are the shop's declared extra columns.
 *
 * An aggregate over no orders is missing (the customer is left out of the
 * model, as R's na.omit does), except `count` and `sum`, which are 0.
 *
 * @module
 */
import { DAY_SECONDS as DAY_S } from './calendar.js';
import { QuerySpecError } from './errors.js';
import type { ColumnValue, Order } from './shop-data.js';

export const AGGREGATE_FUNCTIONS = ['count', 'sum', 'mean', 'min', 'max', 'last', 'days_since'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** A parsed aggregate definition. */
export interface Aggregate {
  readonly fn: AggregateFunction;
  /** Order column (`amount`, `ordered_at` or an extra column); undefined for count(orders). */
  readonly column: string | undefined;
}

const DEFINITION = /^(count|sum|mean|min|max|last|days_since)\((orders|order\.[a-z][a-z0-9_]*)\)$/;

/** Parses `sum(order.units)`; throws QuerySpecError at `path`. */
export function parseAggregate(text: string, path: string): Aggregate {
  const m = typeof text === 'string' ? DEFINITION.exec(text.replace(/\s+/g, '')) : null;
  if (m === null) throw new QuerySpecError(path, `expected one of ${AGGREGATE_FUNCTIONS.map((f) => `${f}(order.<column>)`).join(', ')} or count(orders)`);
  const fn = m[1] as AggregateFunction;
  const column = m[2] === 'orders' ? undefined : (m[2] as string).slice('order.'.length);
  if ((fn === 'count') !== (column === undefined)) throw new QuerySpecError(path, fn === 'count' ? 'count takes orders: count(orders)' : `${fn} takes an order column, e.g. ${fn}(order.amount)`);
  if (fn === 'days_since' && column !== 'ordered_at') throw new QuerySpecError(path, 'days_since takes order.ordered_at');
  return { fn, column };
}

/** The shop fields an aggregate reads. */
export function aggregateInputFields(a: Aggregate): string[] {
  return [...new Set(['order.ordered_at', ...(a.column === undefined ? [] : [`order.${a.column}`])])].sort();
}

function orderValue(o: Order, column: string): ColumnValue | undefined {
  if (column === 'amount') return Number(o.amountCents) / 100;
  if (column === 'ordered_at') return o.orderedUnixS;
  if (column === 'returned') return o.returned;
  return o.extra?.[column];
}

/**
 * The aggregate over one customer's orders placed before asOf (`orders`
 * already holds only those); undefined when missing. Throws RangeError
 * naming the column when it is not numeric.
 */
export function aggregateValue(a: Aggregate, orders: readonly Order[], asOfUnixS: number): number | undefined {
  if (a.fn === 'count') return orders.length;
  if (a.fn === 'days_since') {
    if (orders.length === 0) return undefined;
    return (asOfUnixS - Math.max(...orders.map((o) => o.orderedUnixS))) / DAY_S;
  }
  const column = a.column as string;
  const values: number[] = [];
  let latest: Order | undefined;
  for (const o of orders) {
    const v = orderValue(o, column);
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') throw new RangeError(`order.${column} is categorical; ${a.fn} needs a numeric column`);
    values.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
    if (latest === undefined || o.orderedUnixS > latest.orderedUnixS) latest = o;
  }
  switch (a.fn) {
    case 'sum':
      return values.reduce((s, x) => s + x, 0);
    case 'mean':
      return values.length === 0 ? undefined : values.reduce((s, x) => s + x, 0) / values.length;
    case 'min':
      return values.length === 0 ? undefined : Math.min(...values);
    case 'max':
      return values.length === 0 ? undefined : Math.max(...values);
    case 'last': {
      if (latest === undefined) return undefined;
      const v = orderValue(latest, column);
      return typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
    }
  }
}
