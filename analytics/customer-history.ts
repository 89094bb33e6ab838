/**
 * The shop-side starting point of the per-customer queries (RFM, retention,
 * histograms): each consented customer with their own orders in time order.
 *
 * Orders of customers without analytics consent, or of customers the shop
 * does not list, are left out: consent cannot be shown for them. Malformed
 * input throws TypeError naming the argument, so a broken export fails
 * loudly instead of giving a quietly different statistic.
 *
 * @module
 */
import type { ReleasedTotals } from './query-definition.js';
import type { Customer, Order, ShopData } from './shop-data.js';

/** One consented customer and their orders, sorted by time (ties by order id). */
export interface CustomerHistory {
  readonly customer: Customer;
  readonly orders: readonly Order[];
}

/**
 * Histories of the consented customers, in the shop's customer order. With
 * `excludeReturned`, returned orders are left out as if never placed.
 * Throws TypeError naming `data` on malformed rows and RangeError on a
 * duplicate customer id or a negative amount.
 */
export function consentedHistories(data: ShopData, options: { readonly excludeReturned: boolean }): CustomerHistory[] {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.customers as unknown) || !Array.isArray(data.orders as unknown)) {
    throw new TypeError('data: expected ShopData with customers and orders arrays');
  }
  const ordersOf = new Map<string, Order[]>();
  const seen = new Set<string>();
  for (const c of data.customers) {
    if (typeof c !== 'object' || c === null || typeof c.customerId !== 'string') throw new TypeError('data.customers: expected customers with a customerId');
    if (seen.has(c.customerId)) throw new RangeError(`data.customers: duplicate customerId ${c.customerId}`);
    seen.add(c.customerId);
    if (c.consentAnalytics === true) ordersOf.set(c.customerId, []);
  }
  for (const o of data.orders) {
    const list = ordersOf.get(o.customerId);
    if (list === undefined || (options.excludeReturned && o.returned)) continue;
    if (typeof (o.amountCents as unknown) !== 'bigint') throw new TypeError(`data.orders: order ${o.orderId} amountCents is not a bigint`);
    if (o.amountCents < 0n) throw new RangeError(`data.orders: order ${o.orderId} has negative amount ${o.amountCents}`);
    if (!Number.isSafeInteger(o.orderedUnixS as unknown)) throw new TypeError(`data.orders: order ${o.orderId} orderedUnixS is not an integer`);
    list.push(o);
  }
  const out: CustomerHistory[] = [];
  for (const c of data.customers) {
    const orders = ordersOf.get(c.customerId);
    if (orders === undefined) continue;
    orders.sort((a, b) => a.orderedUnixS - b.orderedUnixS || (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
    out.push({ customer: c, orders });
  }
  return out;
}

/**
 * The totals of one released cell, or `null` when the key holder suppressed
 * it. A missing cell or field is a malformed release: TypeError naming the
 * path (finalise never guesses a total).
 */
export function releasedCell(release: ReleasedTotals, cell: string, fields: readonly string[]): Record<string, bigint> | null {
  if (typeof release !== 'object' || release === null || typeof release.cells !== 'object' || release.cells === null) {
    throw new TypeError('release: expected { cells }');
  }
  const c = Object.hasOwn(release.cells, cell) ? release.cells[cell] : undefined;
  if (c === undefined) throw new TypeError(`release.cells.${cell}: missing`);
  if (c.suppressed) return null;
  const out: Record<string, bigint> = {};
  for (const f of fields) {
    const v = c.totals?.[f];
    if (typeof v !== 'bigint') throw new TypeError(`release.cells.${cell}.totals.${f}: missing or not a bigint`);
    if (v < 0n) throw new RangeError(`release.cells.${cell}.totals.${f}: negative total ${v}`);
    out[f] = v;
  }
  return out;
}
