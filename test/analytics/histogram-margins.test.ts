/**
 * Secondary suppression of `histogram`: the bins add up to `all`, so a bin
 * withheld alone would come back as `all` minus the released bins. The kind
 * declares that relation and the key holder's engine withholds a complement;
 * checked on a hand-made table and, as a property, on random shop data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { histogramQuery as q } from '../../analytics/histogram.js';
import { determinedCells } from '../compliance/disclosure/fixtures.js';
import { randomDataset, splitIntoShops, sumLocal } from '../helpers/plain-federation.js';
import { loneWithheldMargins, marginsAreExact, releaseExact, subtractionLeaks, totalsOf, withMediumData, withoutComplement } from './margin-checks.js';

const DAY = 86_400;
const T = Date.UTC(2026, 0, 1) / 1000;
const items = (cell: string): string => `${cell}.items`;

describe('histogram margins', () => {
  it('declares the bins under all', () => {
    const spec = q.parseSpec({ kind: 'histogram', purpose: 'marketing-analytics', variable: 'purchase_interval', edgesDays: [0, 7, 30, 365] });
    expect(q.margins?.(spec)).toEqual([{ parts: ['bin.0', 'bin.1', 'bin.2'], total: 'all' }]);
  });

  it('withholds a lone small bin together with a complement; neither follows from all minus the released bins', () => {
    const spec = q.parseSpec({ kind: 'histogram', purpose: 'marketing-analytics', variable: 'order_value', edgesCents: [0, 2_000, 5_000, 10_000, 20_000] });
    const customers = [30n, 25n, 4n, 40n];
    const counts = [50n, 30n, 6n, 70n];
    const values: Record<string, bigint> = { 'all.items': 156n, 'all.customers': 90n, 'all.value_sum': 1_234_567n };
    customers.forEach((c, j) => Object.assign(values, { [`bin.${j}.customers`]: c, [`bin.${j}.items`]: counts[j]! }));
    const totals = totalsOf(q, spec, values);
    const out = releaseExact(q, spec, totals, 10);
    expect([...out.suppressed]).toEqual([['bin.2', 'FEWER_THAN_K_SUBJECTS'], ['bin.1', 'SECONDARY']]);
    expect(out.cells.all?.suppressed).toBe(false);
    expect(withoutComplement(q, spec, totals, out, 'bin.2')).toEqual([]);
    expect(subtractionLeaks(q, spec, totals, out, items)).toEqual([]);
    // all.items minus the released bins is 36: the two withheld bins together, not bin 2's 6.
    const released = out.cells;
    const residual = BigInt(released.all!.suppressed ? 0 : released.all!.totals['all.items']!) - [0, 3].reduce((s, j) => {
      const c = released[`bin.${j}`]!;
      return s + (c.suppressed ? 0n : BigInt(c.totals[`bin.${j}.items`]!));
    }, 0n);
    expect(residual).toBe(36n);
    // Without the declared relation the lone bin would be given back.
    const bare = releaseExact({ ...q, margins: undefined }, spec, totals, 10);
    expect([...bare.suppressed.keys()]).toEqual(['bin.2']);
    expect(subtractionLeaks(q, spec, totals, bare, items).map((l) => [l.cell, l.value])).toEqual([['bin.2', 6n]]);
  });

  it('leaves no margin with exactly one withheld cell, for any shops and k (property)', () => {
    const variables = fc.oneof(
      fc.record({ variable: fc.constant('order_value'), edgesCents: fc.constantFrom([0, 100_000], [0, 2_000, 20_000, 100_000], [0, 1_000, 5_000, 10_000, 30_000, 60_000, 100_000]) }),
      fc.record({ variable: fc.constant('purchase_interval'), edgesDays: fc.constantFrom([0, 500], [0, 7, 30, 90, 500], [0, 1, 3, 7, 14, 30, 60, 180, 500]) }),
    );
    let secondary = 0;
    withMediumData(() => fc.assert(
      fc.property(variables, randomDataset({ shops: 3, fromS: T - 400 * DAY, toS: T, maxCents: 100_000, maxCustomers: 80 }), fc.integer({ min: 1, max: 10 }), (v, data, k) => {
        const spec = q.parseSpec({ kind: 'histogram', purpose: 'marketing-analytics', ...v });
        const names = q.fields(spec).map((f) => f.name);
        const sums = sumLocal(q, spec, splitIntoShops(data, 3));
        const totals = new Map(names.map((n, i) => [n, sums[i]!]));
        const margins = q.margins!(spec);
        expect(marginsAreExact(margins, totals, items)).toEqual([]);
        const out = releaseExact(q, spec, totals, k);
        if ([...out.suppressed.values()].includes("SECONDARY")) secondary++;
        for (const c of q.cells(spec)) if (totals.get(c.subjectsField)! < BigInt(k)) expect(out.suppressed.get(c.name)).toBe('FEWER_THAN_K_SUBJECTS');
        expect(loneWithheldMargins(q, spec, totals, out)).toEqual([]);
        expect(subtractionLeaks(q, spec, totals, out, items)).toEqual([]);
        // No linear combination of the relation gives a non-empty withheld cell back either.
        const cells = q.cells(spec).map((c) => c.name);
        const nonEmpty = new Set(q.cells(spec).filter((c) => totals.get(c.subjectsField)! > 0n).map((c) => c.name));
        if (out.suppressed.size < cells.length) expect(determinedCells(cells, new Set(out.suppressed.keys()), margins).filter((c) => nonEmpty.has(c))).toEqual([]);
      }),
      { numRuns: 300 },
    ));
    // Not vacuous: about one run in eight needs a complement.
    expect(secondary).toBeGreaterThan(5);
  });
});
