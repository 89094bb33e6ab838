/**
 * A shop exports what it has: customers with only an id, orders with id,
 * customer, time, amount and returned. The loader derives lifecycle stages
 * from the orders by the documented rule (checked against a plain
 * computation on generated histories) and lists the fields that are missing,
 * which a merchant node declines to read.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadShopData } from '../../client-sdk/load-shop-data.js';

const DAY = 86_400;

function minimalSchema(): unknown {
  return {
    version: 1,
    tables: {
      customers: { file: 'customers.csv', fields: { customerId: { column: 'id', type: 'string' } } },
      orders: {
        file: 'orders.csv',
        fields: {
          orderId: { column: 'order', type: 'string' },
          customerId: { column: 'id', type: 'string' },
          orderedAt: { column: 'at', type: 'timestamp', format: 'unix-seconds' },
          amount: { column: 'amount', type: 'decimal', scale: 2 },
          returned: { column: 'returned', type: 'boolean' },
        },
      },
    },
  };
}

/** The rule as the documentation states it, written out independently. */
function expectedStage(orderTimes: readonly number[], shopLatest: number | undefined): string {
  if (orderTimes.length === 0 || shopLatest === undefined) return 'new';
  const last = Math.max(...orderTimes);
  if (shopLatest - last > 180 * DAY) return 'churning';
  if (orderTimes.length >= 4) return 'loyal';
  if (orderTimes.length === 1) return 'new';
  return 'active';
}

describe('a minimal export', () => {
  it('derives lifecycle stages from the orders and names the missing fields', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 0, max: 800 }), { maxLength: 6 }), { minLength: 1, maxLength: 12 }), async (histories) => {
        const dir = mkdtempSync(join(tmpdir(), 'fedmart-minimal-'));
        writeFileSync(join(dir, 'schema.json'), JSON.stringify(minimalSchema()));
        writeFileSync(join(dir, 'customers.csv'), `id\n${histories.map((_, i) => `C${i}`).join('\n')}\n`);
        let n = 0;
        const orders = histories.flatMap((days, i) => days.map((d) => `O${n++},C${i},${1_700_000_000 + d * DAY},1.00,false`));
        writeFileSync(join(dir, 'orders.csv'), `order,id,at,amount,returned\n${orders.join('\n')}${orders.length > 0 ? '\n' : ''}`);
        const data = await loadShopData(dir, 'shop-m');
        const all = histories.flat();
        const latest = all.length === 0 ? undefined : 1_700_000_000 + Math.max(...all) * DAY;
        expect(data.customers.map((c) => c.lifecycleStage)).toEqual(histories.map((days) => expectedStage(days.map((d) => 1_700_000_000 + d * DAY), latest)));
        expect(data.missingFields).toEqual(['customer.age', 'customer.age_band', 'customer.city', 'customer.city_level', 'customer.signup_at']);
        expect(data.customers.every((c) => c.consentAnalytics && !c.consentMarketing && c.city === '' && c.ageBand === '')).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('keeps an exported stage column as it is and lists nothing missing for the standard export', async () => {
    const { standardShopSchema } = await import('../../client-sdk/schema.js');
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-standard-'));
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(standardShopSchema()));
    writeFileSync(join(dir, 'customers.csv'), 'customer_id,name,phone,city,age,signup_at,lifecycle_stage,consent_analytics,consent_marketing\nC-1,x,y,上海,31,2025-01-02T03:04:05Z,loyal,true,false\n');
    writeFileSync(join(dir, 'orders.csv'), 'order_id,customer_id,ordered_at,amount,returned\n');
    const data = await loadShopData(dir, 'shop-s');
    expect(data.customers[0]?.lifecycleStage).toBe('loyal');
    expect(data.missingFields).toBeUndefined();
  });
});
