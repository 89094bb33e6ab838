/**
 * The linear audit of secondary suppression: withheld cells that several
 * relations determine together (though each relation alone holds two
 * withheld cells) are found by exact elimination, and the suppression
 * decision withholds a complement until none is left; cross-checked against
 * the independent rank test of the fixtures on random relations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideSuppression } from '../../../compliance/disclosure/suppression.js';
import { determinedUnknowns } from '../../../compliance/disclosure/linear-audit.js';
import { determinedCells } from './fixtures.js';

// a + b + d, b + c + e, a + c + f are each known: with a, b, c withheld, every relation
// holds two withheld cells, yet the three relations together give each of a, b, c.
const TRIANGLE = [{ parts: ['a', 'b', 'd'] }, { parts: ['b', 'c', 'e'] }, { parts: ['a', 'c', 'f'] }];

describe('linear audit', () => {
  it('finds cells that relations determine together, and none once a complement is withheld', () => {
    expect(determinedUnknowns(['a', 'b', 'c'], TRIANGLE)).toEqual(['a', 'b', 'c']);
    expect(determinedUnknowns(['a', 'b', 'c', 'd'], TRIANGLE)).toEqual([]);
    // A released total moves to the known side; a withheld one is an unknown.
    expect(determinedUnknowns(['x'], [{ parts: ['x', 'y'], total: 't' }])).toEqual(['x']);
    expect(determinedUnknowns(['x', 't'], [{ parts: ['x', 'y'], total: 't' }])).toEqual([]);
  });

  it('makes the suppression decision withhold one more complement for a determined cell', () => {
    const cells = [['a', 4n], ['b', 4n], ['c', 4n], ['d', 20n], ['e', 30n], ['f', 25n]].map(([name, subjects]) => ({ name: name as string, subjects: subjects as bigint }));
    const out = decideSuppression(cells, { minSubjects: 5, dominance: null }, TRIANGLE);
    expect([...out]).toEqual([['a', 'FEWER_THAN_K_SUBJECTS'], ['b', 'FEWER_THAN_K_SUBJECTS'], ['c', 'FEWER_THAN_K_SUBJECTS'], ['d', 'SECONDARY']]);
    expect(determinedCells(cells.map((c) => c.name), new Set(out.keys()), TRIANGLE)).toEqual([]);
  });

  it('agrees with an independent rank test on random relations (property)', () => {
    const names = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    const relation = fc.record({ parts: fc.subarray(names, { minLength: 1 }), total: fc.option(fc.constantFrom(...names), { nil: undefined }) })
      .filter((r) => r.total === undefined || !r.parts.includes(r.total))
      .map((r) => (r.total === undefined ? { parts: r.parts } : r));
    fc.assert(
      fc.property(fc.array(relation, { maxLength: 6 }), fc.subarray(names), (relations, withheld) => {
        expect(determinedUnknowns(withheld, relations).sort()).toEqual(determinedCells(names, new Set(withheld), relations).sort());
      }),
      { numRuns: 500 },
    );
  });

  it('checks its arguments', () => {
    expect(() => determinedUnknowns(null as unknown as string[], [])).toThrow(/unknowns/);
    expect(() => determinedUnknowns([], null as unknown as [])).toThrow(/relations/);
  });
});
