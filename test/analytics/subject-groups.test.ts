/**
 * Release rules of models whose rows are not their subjects (each order of a
 * customer): every group is counted in customers. Checked against a plain
 * count written here, against the row-counted rules where each customer has
 * one row (the two must agree), and on the attack they exist for: a term
 * that is zero on the many orders of one customer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkModelRules,
  groupSize,
  subjectGroupCounts,
  subjectGroupFields,
  subjectGroupRules,
  supportCounts,
  supportFields,
  supportGroups,
  supportRowGroups,
} from '../../analytics/model-rules.js';
import { accumulateMoments, momentFields, momentModelRules, momentSensitivity, type MomentLayout } from '../../analytics/moment-sums.js';
import { parseLinearModelSpec } from '../../analytics/linear-model.js';
import { modelInputFields, modelSubjectRows } from '../../analytics/model-data.js';
import { QuerySpecError } from '../../analytics/errors.js';
import type { ShopData } from '../../analytics/shop-data.js';

const VARS = ['a', 'b', 'c'];
const rowArb = fc.record({
  subject: fc.constantFrom('s1', 's2', 's3', 's4', 's5', 's6'),
  nonzero: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  positive: fc.boolean(),
});

/** Plainly: the customers having some row where `test` holds. */
function customersWith(rows: readonly { subject: string; nonzero: boolean[] }[], test: (nz: boolean[]) => boolean): number {
  return new Set(rows.filter((r) => test(r.nonzero)).map((r) => r.subject)).size;
}

describe('subject-counted groups', () => {
  it('count the customers with a row in each group, as a plain count does', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 40 }), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), (rows, ind) => {
        const indicator = (v: string) => ind[VARS.indexOf(v)] === true;
        const groups = supportRowGroups(VARS, indicator);
        const counts = subjectGroupCounts(groups, rows);
        expect(counts[0]).toBe(BigInt(new Set(rows.map((r) => r.subject)).size));
        const byLabel = new Map(groups.map((g, i) => [g.label, Number(counts[i + 1])]));
        VARS.forEach((v, i) => {
          expect(byLabel.get(indicator(v) ? `the level ${v}` : `the rows where ${v} is nonzero`)).toBe(customersWith(rows, (nz) => nz[i]!));
          if (indicator(v)) expect(byLabel.get(`the rows outside ${v}`)).toBe(customersWith(rows, (nz) => !nz[i]));
        });
        for (const [i, j] of [[0, 1], [0, 2], [1, 2]] as const) {
          const [a, b] = [VARS[i]!, VARS[j]!];
          if (indicator(a) && indicator(b)) {
            expect(byLabel.get(`the intersection ${a} ∧ ${b}`)).toBe(customersWith(rows, (nz) => nz[i]! && nz[j]!));
            expect(byLabel.get(`not ${a} ∧ not ${b}`)).toBe(customersWith(rows, (nz) => !nz[i] && !nz[j]));
          } else {
            expect(byLabel.get(`the rows where ${a} and ${b} are both nonzero`)).toBe(customersWith(rows, (nz) => nz[i]! && nz[j]!));
          }
        }
      }),
    );
  });

  it('equal the row-counted groups, label for label, when every customer has one row', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), { maxLength: 30 }), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), (flags, ind) => {
        const indicator = (v: string) => ind[VARS.indexOf(v)] === true;
        const rowGroups = supportGroups(VARS, indicator);
        const subjectGroups = supportRowGroups(VARS, indicator);
        expect(subjectGroups.map((g) => g.label)).toEqual(rowGroups.map((g) => g.label));
        const rowTotals = new Map<string, bigint>(supportFields(VARS, 1n).map((f, i) => [f.name, supportCounts(VARS, flags.map((r) => r.map(Number)))[i]!]));
        const counts = subjectGroupCounts(subjectGroups, flags.map((nonzero, i) => ({ subject: `s${i}`, nonzero, positive: false })));
        rowGroups.forEach((g, i) => expect(counts[i + 1], g.label).toBe(groupSize(g, BigInt(flags.length), rowTotals)));
      }),
    );
  });

  it('refuse a term that is zero on the twelve orders of one customer, which row counts would let through', () => {
    // x is zero on all twelve orders of customer T and nonzero on every order of 30 others.
    const rows = [...Array.from({ length: 12 }, () => [0, 4]), ...Array.from({ length: 30 }, (_, i) => [1 + i, 2 + (i % 5)])];
    const subjects = [...Array.from({ length: 12 }, () => 'T'), ...Array.from({ length: 30 }, (_, i) => `c${i}`)];
    const rowLayout: MomentLayout = { variables: ['x', 'y'], maxAbs: [100, 100], maxRows: 1000n, scaleBits: 8, indicators: [true, true] };
    const perCustomer: MomentLayout = { ...rowLayout, perSubject: 100n };
    const totals = (layout: MomentLayout, values: bigint[]) => new Map(momentFields(layout).map((f, i) => [f.name, values[i]!]));
    const byRows = checkModelRules(momentModelRules(rowLayout, 2), totals(rowLayout, accumulateMoments(rowLayout, rows)), 10, 0.5);
    expect(byRows.refusal).toBeNull();
    const byCustomers = checkModelRules(momentModelRules(perCustomer, 2), totals(perCustomer, accumulateMoments(perCustomer, rows, subjects)), 10, 0.5);
    expect(byCustomers.refusal?.code).toBe('LEVEL_TOO_FEW_SUBJECTS');
    expect(byCustomers.refusal?.variables).toEqual(['x']);
  });

  it('keep the moments of the rows and count the customers; one customer moves the sums by its rows', () => {
    const layout: MomentLayout = { variables: ['x'], maxAbs: [10], maxRows: 100n, scaleBits: 0, perSubject: 3n };
    const rows = [[1], [2], [3], [4]];
    const values = accumulateMoments(layout, rows, ['p', 'p', 'q', 'r']);
    const named = new Map(momentFields(layout).map((f, i) => [f.name, values[i]]));
    expect(named.get('n')).toBe(4n);
    expect(named.get('sum(x)+')).toBe(10n);
    expect(named.get('subjects')).toBe(3n);
    expect(() => accumulateMoments(layout, [[1], [1], [1], [1]], ['p', 'p', 'p', 'p'])).toThrow(/maxRowsPerCustomer/);
    expect(() => accumulateMoments(layout, rows)).toThrow(TypeError);
    const s = momentSensitivity(layout);
    expect(s.perField['n']).toBe(3n);
    expect(s.perField['sum(x)+']).toBe(3n * 11n);
    expect(s.perField['cross(x,x)+']).toBe(3n * 11n * 11n);
    expect(s.perField['subjects']).toBe(1n);
    expect(subjectGroupFields(supportRowGroups(['x'], () => false), 5n).map((f) => f.name)).toEqual(['subjects', 'subjects:0']);
    expect(subjectGroupRules(supportRowGroups(['x'], () => false), 2).rowsField).toBe('subjects');
  });
});

const SHOP: ShopData = {
  shopId: 'shop-a',
  customers: [
    { customerId: 'c1', lifecycleStage: 'active', ageBand: '25-34', city: 'tier-1', signupUnixS: 0, consentAnalytics: true, consentMarketing: true, extra: { income: 5000 } },
    { customerId: 'c2', lifecycleStage: 'loyal', ageBand: '35-44', city: 'tier-2', signupUnixS: 0, consentAnalytics: true, consentMarketing: true, extra: { income: 7000 } },
  ],
  orders: [
    { orderId: 'o1', customerId: 'c1', orderedUnixS: 100, amountCents: 1250n, returned: false, extra: { channel: 'web' } },
    { orderId: 'o2', customerId: 'c1', orderedUnixS: 200, amountCents: 990n, returned: true, extra: { channel: 'app' } },
    { orderId: 'o3', customerId: 'c2', orderedUnixS: 300, amountCents: 4000n, returned: false, extra: { channel: 'web' } },
    { orderId: 'o4', customerId: 'c2', orderedUnixS: 5_000_000_000, amountCents: 100n, returned: false, extra: { channel: 'web' } },
  ],
} as unknown as ShopData;

describe('order models (data: orders)', () => {
  const spec = parseLinearModelSpec({
    kind: 'linear-model',
    purpose: 'marketing-analytics',
    data: 'orders',
    asOf: '2026-01-01T00:00:00Z',
    formula: 'amount ~ returned + C(channel) + customer.income + C(customer.lifecycle_stage)',
    levels: { channel: ['app', 'web'] },
  });

  it('read each order before asOf with its own columns and its customer columns, naming the fields', () => {
    expect(modelInputFields(spec)).toEqual(['customer.income', 'customer.lifecycle_stage', 'order.amount', 'order.channel', 'order.ordered_at', 'order.returned']);
    const { rows, subjects } = modelSubjectRows(spec, SHOP);
    expect(subjects).toEqual(['c1', 'c1', 'c2']);
    // Columns: returned, C(channel)web, customer.income, then lifecycle dummies; the response last.
    expect(rows.map((r) => [r[0], r[1], r[2], r[r.length - 1]])).toEqual([
      [0, 1, 5000, 12.5],
      [1, 0, 5000, 9.9],
      [0, 1, 7000, 40],
    ]);
    expect(spec.bounds.maxRowsPerCustomer).toBe(1000n);
  });

  it('refuse what an order model cannot mean, naming the path', () => {
    const base = { kind: 'linear-model', purpose: 'marketing-analytics', data: 'orders', formula: 'amount ~ returned' };
    expect(() => parseLinearModelSpec(base)).toThrow(QuerySpecError);
    expect(() => parseLinearModelSpec(base)).toThrow(/asOf/);
    expect(() => parseLinearModelSpec({ ...base, asOf: '2026-01-01T00:00:00Z', aggregates: { spend: 'sum(order.amount)' } })).toThrow(/aggregates/);
    expect(() =>
      parseLinearModelSpec({ kind: 'linear-model', purpose: 'p', data: 'customers', asOf: '2026-01-01T00:00:00Z', formula: 'frequency ~ customer.income', levels: { 'customer.region': ['a', 'b'] } }),
    ).toThrow(/levels\.customer\.region/);
    expect(() =>
      parseLinearModelSpec({ kind: 'linear-model', purpose: 'p', data: 'customers', asOf: '2026-01-01T00:00:00Z', formula: 'frequency ~ recency_days', bounds: { maxRowsPerCustomer: '5' } }),
    ).toThrow(/maxRowsPerCustomer/);
  });
});
