/**
 * Columns a shop exports on its orders beside the standard ones (the sales
 * channel and the discount granted), added to `fedmart synth` shops next to
 * the demographic customer columns: a deterministic function of the order
 * id, so each shop's file and the pooled file agree. The shop declares them
 * under `tables.orders.columns` and allows them to marketing-analytics.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PurposeRegistry } from '../../compliance/index.js';
import { demographicRegistry } from './demographics.js';

export const ORDER_CHANNELS = ['app', 'web', 'store'] as const;
export const ORDER_COLUMN_FIELDS = ['order.channel', 'order.discount'];
export const LINE_CATEGORIES = ['food', 'toys', 'home'] as const;
export const ORDER_LINE_FIELDS = ['order_lines.category', 'order_lines.quantity', 'order_lines.unit_price'];

function hash(text: string): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The extra column values of one order. */
export function orderColumns(orderId: string): { channel: string; discount: string } {
  const h = hash(orderId);
  return { channel: ORDER_CHANNELS[h % 3]!, discount: ((1 + ((h >>> 8) % 3000)) / 100).toFixed(2) };
}

/** Marketing-analytics with the demographic and order columns allowed. */
export function orderColumnRegistry(): PurposeRegistry {
  const base = demographicRegistry();
  return { ...base, purposes: base.purposes.map((p) => (p.name === 'marketing-analytics' ? { ...p, allowedFields: [...p.allowedFields, ...ORDER_COLUMN_FIELDS, ...ORDER_LINE_FIELDS] } : p)) };
}

/** Appends the columns to `dir/orders.csv` and declares them in `dir/schema.json`; writes purposes.json unless `pooled`. */
export function addOrderColumns(dir: string, pooled: boolean): void {
  const path = join(dir, 'orders.csv');
  const [header, ...lines] = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const idAt = header!.split(',').indexOf('order_id');
  const out = [`${header},channel,discount`, ...lines.map((l) => {
    const c = orderColumns(l.split(',')[idAt]!);
    return `${l},${c.channel},${c.discount}`;
  })];
  writeFileSync(path, `${out.join('\n')}\n`);
  const schema = JSON.parse(readFileSync(join(dir, 'schema.json'), 'utf8')) as { tables: { orders: Record<string, unknown> } };
  schema.tables.orders['columns'] = {
    channel: { column: 'channel', type: 'categorical', levels: [...ORDER_CHANNELS] },
    discount: { column: 'discount', type: 'numeric', scale: 2, min: 0 },
  };
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema, null, 2));
  if (!pooled) writeFileSync(join(dir, 'purposes.json'), JSON.stringify(orderColumnRegistry(), null, 2));
}

/** The lines of one order: 1 to 3, each a category, a quantity and a unit price. */
export function orderLines(orderId: string): { category: string; quantity: number; unitPrice: string }[] {
  const h = hash(`lines:${orderId}`);
  return Array.from({ length: 1 + (h % 3) }, (_, i) => {
    const g = hash(`${orderId}#${i}`);
    return { category: LINE_CATEGORIES[g % 3]!, quantity: 1 + ((g >>> 4) % 5), unitPrice: ((100 + ((g >>> 8) % 20_000)) / 100).toFixed(2) };
  });
}

/**
 * Writes `dir/order_lines.csv` (the lines of every order in `dir/orders.csv`,
 * each with its customer) and declares it as a further table of customers'
 * rows (`customerId`) in `dir/schema.json`.
 */
export function addOrderLines(dir: string, pooled: boolean): void {
  const [header, ...lines] = readFileSync(join(dir, 'orders.csv'), 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = header!.split(',');
  const at = (name: string) => cols.indexOf(name);
  const out = [`${pooled ? 'shop_id,' : ''}customer_id,category,quantity,unit_price`];
  for (const l of lines) {
    const v = l.split(',');
    for (const line of orderLines(v[at('order_id')]!)) out.push(`${pooled ? `${v[at('shop_id')]},` : ''}${v[at('customer_id')]},${line.category},${line.quantity},${line.unitPrice}`);
  }
  writeFileSync(join(dir, 'order_lines.csv'), `${out.join('\n')}\n`);
  const schema = JSON.parse(readFileSync(join(dir, 'schema.json'), 'utf8')) as Record<string, unknown>;
  schema['extraTables'] = {
    order_lines: {
      file: 'order_lines.csv',
      customerId: { column: 'customer_id', type: 'string' },
      ...(pooled ? { shopId: { column: 'shop_id', type: 'string' } } : {}),
      columns: {
        category: { column: 'category', type: 'categorical', levels: [...LINE_CATEGORIES] },
        quantity: { column: 'quantity', type: 'integer', min: 1 },
        unit_price: { column: 'unit_price', type: 'numeric', scale: 2, min: 0 },
      },
    },
  };
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema, null, 2));
}
