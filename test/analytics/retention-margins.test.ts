/**
 * Secondary suppression of `cohort-retention`: the churn rows' buyers add
 * up to the repurchase buyers, the cohorts to figures published elsewhere,
 * and month 0 of a first-order cohort is the cohort. The kind declares those
 * relations and the key holder's engine withholds complements; checked on
 * hand-made tables and, as a property, on random shop data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cohortRetentionQuery as q } from '../../analytics/retention.js';
import { determinedCells } from '../compliance/disclosure/fixtures.js';
import { randomDataset, splitIntoShops, sumLocal } from '../helpers/plain-federation.js';
import { loneWithheldMargins, marginsAreExact, releaseExact, subtractionLeaks, totalsOf, withMediumData, withoutComplement } from './margin-checks.js';

const DAY = 86_400;
const base = { kind: 'cohort-retention', purpose: 'marketing-analytics', asOf: '2025-12-31T15:59:59Z' };
const T = Date.parse(base.asOf) / 1000;
/** The figure each relation adds up: buyers, cohort customers, active customers. */
const additive = (c: string): string => (c === 'repurchase' || c.startsWith('churn.') ? `${c}.buyers` : /\.m\d+$/.test(c) ? `${c}.active` : `${c}.customers`);

describe('cohort-retention margins', () => {
  const spec = q.parseSpec({ ...base, firstCohort: '2025-10', cohorts: 3, maxMonthsSince: 2 });
  const values = (over: Record<string, bigint> = {}): Record<string, bigint> => ({
    'cohort.2025-10.customers': 40n, 'cohort.2025-10.m0.active': 40n, 'cohort.2025-10.m1.active': 12n, 'cohort.2025-10.m2.active': 15n,
    'cohort.2025-11.customers': 30n, 'cohort.2025-11.m0.active': 30n, 'cohort.2025-11.m1.active': 11n,
    'cohort.2025-12.customers': 25n, 'cohort.2025-12.m0.active': 25n,
    'repurchase.buyers': 100n, 'repurchase.repeat_buyers': 50n, 'repurchase.interval_count': 120n, 'repurchase.interval_sum_s': 9_000_000n,
    'churn.new.buyers': 30n, 'churn.new.churned': 2n, 'churn.active.buyers': 45n, 'churn.active.churned': 10n,
    'churn.loyal.buyers': 12n, 'churn.loyal.churned': 1n, 'churn.churning.buyers': 13n, 'churn.churning.churned': 11n,
    ...over,
  });

  it('declares the churn rows under repurchase, the cohorts together, and month 0 under its first-order cohort', () => {
    expect(q.margins!(spec)).toEqual([
      { parts: ['churn.new', 'churn.active', 'churn.loyal', 'churn.churning'], total: 'repurchase' },
      { parts: ['cohort.2025-10', 'cohort.2025-11', 'cohort.2025-12'] },
      { parts: ['cohort.2025-10.m0'], total: 'cohort.2025-10' },
      { parts: ['cohort.2025-11.m0'], total: 'cohort.2025-11' },
      { parts: ['cohort.2025-12.m0'], total: 'cohort.2025-12' },
    ]);
    const signup = q.parseSpec({ ...base, firstCohort: '2025-10', cohorts: 3, acquisition: 'signup' });
    expect(q.margins!(signup)).toHaveLength(2);
  });

  it('withholds a lone small churn row with a complement row; repurchase minus the released rows gives neither', () => {
    const totals = totalsOf(q, spec, values({ 'churn.loyal.buyers': 4n, 'churn.churning.buyers': 21n }));
    expect(marginsAreExact(q.margins!(spec), totals, additive)).toEqual([]);
    const out = releaseExact(q, spec, totals, 10);
    expect([...out.suppressed]).toEqual([['churn.loyal', 'FEWER_THAN_K_SUBJECTS'], ['churn.churning', 'SECONDARY']]);
    expect(out.cells.repurchase?.suppressed).toBe(false);
    expect(withoutComplement(q, spec, totals, out, 'churn.loyal')).toEqual([]);
    expect(subtractionLeaks(q, spec, totals, out, additive)).toEqual([]);
    const bare = releaseExact({ ...q, margins: undefined }, spec, totals, 10);
    expect(subtractionLeaks(q, spec, totals, bare, additive).map((l) => [l.cell, l.value])).toEqual([['churn.loyal', 4n]]);
  });

  it('withholds a small cohort (and its month 0, the same figure) with another cohort and its month 0', () => {
    const totals = totalsOf(q, spec, values({ 'cohort.2025-12.customers': 6n, 'cohort.2025-12.m0.active': 6n }));
    const out = releaseExact(q, spec, totals, 10);
    expect(out.suppressed.get('cohort.2025-12')).toBe('FEWER_THAN_K_SUBJECTS');
    expect(out.suppressed.get('cohort.2025-12.m0')).toBe('FEWER_THAN_K_SUBJECTS');
    expect([...out.suppressed.values()].filter((r) => r === 'FEWER_THAN_K_SUBJECTS')).toHaveLength(2);
    expect(out.suppressed.get('cohort.2025-11')).toBe('SECONDARY');
    expect(out.suppressed.get('cohort.2025-11.m0')).toBe('SECONDARY');
    expect(withoutComplement(q, spec, totals, out, 'cohort.2025-12')).toEqual([]);
    expect(subtractionLeaks(q, spec, totals, out, additive)).toEqual([]);
  });

  it('leaves no margin with exactly one withheld cell, for any shops, cohorts and k (property)', () => {
    const specs = fc.record({
      acquisition: fc.constantFrom('first-order', 'signup'),
      firstCohort: fc.constantFrom('2025-01', '2025-07', '2025-11'),
      maxMonthsSince: fc.constantFrom(0, 2, 11),
      churnDays: fc.constantFrom(30, 90),
    });
    let secondary = 0;
    withMediumData(() => fc.assert(
      fc.property(specs, randomDataset({ shops: 3, fromS: T - 400 * DAY, toS: T, maxCents: 10_000, maxCustomers: 120 }), fc.integer({ min: 1, max: 10 }), (options, data, k) => {
        const s = q.parseSpec({ ...base, ...options });
        const names = q.fields(s).map((f) => f.name);
        const sums = sumLocal(q, s, splitIntoShops(data, 3));
        const totals = new Map(names.map((n, i) => [n, sums[i]!]));
        expect(marginsAreExact(q.margins!(s), totals, additive)).toEqual([]);
        const out = releaseExact(q, s, totals, k);
        if ([...out.suppressed.values()].includes('SECONDARY')) secondary++;
        for (const c of q.cells(s)) if (totals.get(c.subjectsField)! < BigInt(k)) expect(out.suppressed.get(c.name)).toBe('FEWER_THAN_K_SUBJECTS');
        expect(loneWithheldMargins(q, s, totals, out)).toEqual([]);
        // Nor does any combination of the relations give a non-empty withheld cell back (a relation
        // without a total whose parts are all withheld stands for a figure only another release
        // publishes, under its own suppression: the exception of loneWithheldMargins).
        const cells = q.cells(s).map((c) => c.name);
        const nonEmpty = new Set(q.cells(s).filter((c) => totals.get(c.subjectsField)! > 0n).map((c) => c.name));
        const known = q.margins!(s).filter((m) => m.total !== undefined || !m.parts.every((p) => out.suppressed.has(p)));
        expect(determinedCells(cells, new Set(out.suppressed.keys()), known).filter((c) => nonEmpty.has(c))).toEqual([]);
        expect(subtractionLeaks(q, s, totals, out, additive)).toEqual([]);
      }),
      { numRuns: 200 },
    ));
    expect(secondary).toBeGreaterThan(5);
  });
});
