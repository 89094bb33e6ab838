/**
 * Secondary suppression of `rfm`: each tier is the sum of its (R, F, M)
 * cells, the two tiers and all cells make the grand total, and each score
 * marginal is published by RFM queries with other core rules. The kind
 * declares those relations and the key holder's engine withholds
 * complements; checked on a hand-made table and, as a property, on random
 * shop data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rfmQuery as q } from '../../analytics/rfm.js';
import { determinedCells } from '../compliance/disclosure/fixtures.js';
import { randomDataset, splitIntoShops, sumLocal } from '../helpers/plain-federation.js';
import { loneWithheldMargins, marginsAreExact, releaseExact, subtractionLeaks, totalsOf, withMediumData, withoutComplement } from './margin-checks.js';

const DAY = 86_400;
const T = Date.UTC(2026, 0, 1) / 1000;
const base = { kind: 'rfm', purpose: 'marketing-analytics', asOf: '2026-01-01T00:00:00Z' };
const customers = (cell: string): string => `${cell}.customers`;

describe('rfm margins', () => {
  const spec = q.parseSpec({ ...base, recencyEdgesDays: [30], frequencyEdges: [2], monetaryEdgesCents: [10_000] });

  it('declares both tiers over their cells, the grand total and every score marginal', () => {
    const m = q.margins!(spec);
    expect(m[0]).toEqual({ parts: ['r2f2m1', 'r2f2m2'], total: 'core' });
    expect(m[1]).toEqual({ parts: ['r1f1m1', 'r1f1m2', 'r1f2m1', 'r1f2m2', 'r2f1m1', 'r2f1m2'], total: 'ordinary' });
    expect(m).toContainEqual({ parts: ['core', 'ordinary'] });
    expect(m).toContainEqual({ parts: ['r1f1m1', 'r1f1m2', 'r1f2m1', 'r1f2m2'] }); // R = 1
    expect(m).toContainEqual({ parts: ['r1f1m1', 'r1f2m1', 'r2f1m1', 'r2f2m1'] }); // M = 1
    expect(m).toHaveLength(2 + 2 + 3 * 2);
    // Every cell core: no ordinary relation (its tier is always empty).
    const all = q.parseSpec({ ...base, recencyEdgesDays: [30], frequencyEdges: [2], monetaryEdgesCents: [10_000], core: { minRecencyScore: 1, minFrequencyScore: 1 } });
    expect(q.margins!(all).some((r) => r.total === 'ordinary')).toBe(false);
  });

  it('withholds a lone small cell with a complement in every margin that holds it; no subtraction gives it back', () => {
    const sizes: Record<string, bigint> = { r1f1m1: 3n, r1f1m2: 40n, r1f2m1: 25n, r1f2m2: 18n, r2f1m1: 50n, r2f1m2: 30n, r2f2m1: 22n, r2f2m2: 35n };
    const values: Record<string, bigint> = {};
    const tiers = { core: 0n, ordinary: 0n };
    for (const [cell, n] of Object.entries(sizes)) {
      Object.assign(values, { [`${cell}.customers`]: n, [`${cell}.orders`]: 2n * n + 1n, [`${cell}.spend_cents`]: 10_000n * n + 7n });
      tiers[cell.startsWith('r2f2') ? 'core' : 'ordinary'] += n;
    }
    for (const [tier, n] of Object.entries(tiers)) {
      const cells = Object.keys(sizes).filter((c) => c.startsWith('r2f2') === (tier === 'core'));
      Object.assign(values, {
        [`${tier}.customers`]: n,
        [`${tier}.orders`]: cells.reduce((s, c) => s + values[`${c}.orders`]!, 0n),
        [`${tier}.spend_cents`]: cells.reduce((s, c) => s + values[`${c}.spend_cents`]!, 0n),
      });
    }
    const totals = totalsOf(q, spec, values);
    for (const field of ['customers', 'orders', 'spend_cents']) expect(marginsAreExact(q.margins!(spec), totals, (c) => `${c}.${field}`)).toEqual([]);
    const out = releaseExact(q, spec, totals, 10);
    expect(out.suppressed.get('r1f1m1')).toBe('FEWER_THAN_K_SUBJECTS');
    expect([...out.suppressed.values()].filter((r) => r === 'FEWER_THAN_K_SUBJECTS')).toHaveLength(1);
    expect([...out.suppressed.values()].filter((r) => r === 'SECONDARY').length).toBeGreaterThanOrEqual(3); // ordinary tier, F = 1, M = 1 at least
    expect(withoutComplement(q, spec, totals, out, 'r1f1m1')).toEqual([]);
    for (const field of ['customers', 'orders', 'spend_cents']) expect(subtractionLeaks(q, spec, totals, out, (c) => `${c}.${field}`)).toEqual([]);
    // The tiers stay released.
    expect([out.cells.core?.suppressed, out.cells.ordinary?.suppressed]).toEqual([false, false]);
    // Without the declared relations the ordinary tier minus its released cells gives the lone cell back.
    const bare = releaseExact({ ...q, margins: undefined }, spec, totals, 10);
    expect(subtractionLeaks(q, spec, totals, bare, customers).map((l) => [l.cell, l.value])).toContainEqual(['r1f1m1', 3n]);
  });

  it('leaves no margin with exactly one withheld cell, for any shops, edges, core rule and k (property)', () => {
    const specs = fc.record({
      recencyEdgesDays: fc.constantFrom([30], [30, 90, 180]),
      frequencyEdges: fc.constantFrom([2], [2, 4]),
      monetaryEdgesCents: fc.constantFrom([10_000], [5_000, 20_000]),
      core: fc.record({ minRecencyScore: fc.constantFrom(1, 2), minFrequencyScore: fc.constantFrom(1, 2), minMonetaryScore: fc.constantFrom(1, 2) }),
    });
    let secondary = 0;
    withMediumData(() => fc.assert(
      fc.property(specs, randomDataset({ shops: 3, fromS: T - 400 * DAY, toS: T, maxCents: 30_000, maxCustomers: 120 }), fc.integer({ min: 1, max: 10 }), (options, data, k) => {
        const s = q.parseSpec({ ...base, ...options });
        const names = q.fields(s).map((f) => f.name);
        const sums = sumLocal(q, s, splitIntoShops(data, 3));
        const totals = new Map(names.map((n, i) => [n, sums[i]!]));
        const margins = q.margins!(s);
        for (const field of ['customers', 'orders', 'spend_cents']) expect(marginsAreExact(margins, totals, (c) => `${c}.${field}`)).toEqual([]);
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
        for (const field of ['customers', 'orders', 'spend_cents']) expect(subtractionLeaks(q, s, totals, out, (c) => `${c}.${field}`)).toEqual([]);
      }),
      { numRuns: 200 },
    ));
    expect(secondary).toBeGreaterThan(5);
  });

  it('the grand total relations are sound: the cells of any two core rules add up to the same total (property)', () => {
    withMediumData(() => fc.assert(
      fc.property(randomDataset({ shops: 2, fromS: T - 400 * DAY, toS: T, maxCents: 30_000 }), (data) => {
        const grand = (core: object): bigint => {
          const s = q.parseSpec({ ...base, core });
          const v = sumLocal(q, s, splitIntoShops(data, 2));
          const at = (n: string): bigint => v[q.fields(s).findIndex((f) => f.name === n)]!;
          return at('core.customers') + at('ordinary.customers');
        };
        expect(grand({ minRecencyScore: 1 })).toBe(grand({ minMonetaryScore: 3 }));
      }),
      { numRuns: 50 },
    ));
  });
});

