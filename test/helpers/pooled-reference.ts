/**
 * An independent plaintext answer for the segment query, computed straight
 * from the pooled CSV files with floating-point arithmetic, sharing no code
 * with analytics/ or client-sdk/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function readTable(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.length > 0);
  if (!header) return [];
  const cols = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    if (cells.length !== cols.length) throw new Error(`unexpected quoting in ${path}: ${line}`);
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
  });
}

export interface ReferenceRow {
  customers: number;
  repeatCustomers: number;
  orders: number;
  orderValueMean: number;
  orderValueVariance: number;
  meanDaysBetweenOrders: number;
}

export function pooledReference(pooledDir: string): Record<string, ReferenceRow> {
  const customers = readTable(join(pooledDir, 'customers.csv')).filter((c) => c.consent_analytics === 'true');
  const orders = readTable(join(pooledDir, 'orders.csv'));
  const stageOf = new Map(customers.map((c) => [`${c.shop_id}/${c.customer_id}`, c.lifecycle_stage ?? '']));
  const byCustomer = new Map<string, { t: number; amount: number }[]>();
  for (const o of orders) {
    const key = `${o.shop_id}/${o.customer_id}`;
    if (!stageOf.has(key)) continue;
    const list = byCustomer.get(key) ?? [];
    list.push({ t: Date.parse(o.ordered_at ?? '') / 1000, amount: Number(o.amount) });
    byCustomer.set(key, list);
  }
  const out: Record<string, ReferenceRow> = {};
  for (const stage of ['new', 'active', 'loyal', 'churning']) {
    const keys = [...stageOf].filter(([, s]) => s === stage).map(([k]) => k);
    const amounts: number[] = [];
    let repeat = 0;
    let gaps = 0;
    let gapSeconds = 0;
    for (const k of keys) {
      const list = (byCustomer.get(k) ?? []).sort((a, b) => a.t - b.t);
      if (list.length >= 2) repeat++;
      for (let i = 0; i < list.length; i++) {
        amounts.push(list[i]!.amount);
        if (i > 0) {
          gaps++;
          gapSeconds += list[i]!.t - list[i - 1]!.t;
        }
      }
    }
    const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;
    const variance = amounts.reduce((a, b) => a + (b - mean) ** 2, 0) / (amounts.length - 1);
    out[stage] = {
      customers: keys.length,
      repeatCustomers: repeat,
      orders: amounts.length,
      orderValueMean: mean,
      orderValueVariance: variance,
      meanDaysBetweenOrders: gapSeconds / gaps / 86400,
    };
  }
  return out;
}
