/**
 * The differencing defence on recorded populations: an earlier release of
 * the same purpose whose population differs by 1..k−1 subjects is found,
 * whatever the two kinds (every kind of a purpose counts the same consented
 * subjects); re-deliveries, equal populations and differences of k or more
 * are not; and a change that keeps every count is, as documented, not seen.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDifferencing, populationDifference, type PopulationRecord } from '../../../compliance/index.js';

function record(queryId: string, kind: string, merchants: Record<string, number>): PopulationRecord {
  const attestedSubjects = Object.values(merchants).reduce((a, b) => a + b, 0);
  return { queryId, kind, specDigest: '00', merchants, attestedSubjects, releasedAt: new Date(0).toISOString() };
}

const K = 10;
const before = { a: 120, b: 80, c: 95 };

describe('findDifferencing', () => {
  it('refuses a population one subject apart from an earlier release of another kind', () => {
    const earlier = [record('q-hist', 'histogram', before)];
    const hit = findDifferencing(earlier, { queryId: 'q-seg', kind: 'segment-stats', merchants: { ...before, a: 119 } }, K);
    expect(hit).toEqual({ earlier: earlier[0], difference: 1 });
  });

  it('finds the pair among releases of several kinds, and names the earlier one', () => {
    const earlier = [record('q-rfm', 'rfm', { ...before, b: 60 }), record('q-ret', 'cohort-retention', before), record('q-seg', 'segment-stats', { ...before, c: 97 })];
    const hit = findDifferencing(earlier, { queryId: 'q-new', kind: 'histogram', merchants: { ...before, c: 99 } }, K);
    expect(hit?.earlier.queryId).toBe('q-ret');
    expect(hit?.difference).toBe(4);
  });

  it('lets through the same population, a difference of k or more, and the same query again', () => {
    const earlier = [record('q-hist', 'histogram', before)];
    expect(findDifferencing(earlier, { queryId: 'q-seg', kind: 'segment-stats', merchants: before }, K)).toBeUndefined();
    expect(findDifferencing(earlier, { queryId: 'q-seg', kind: 'segment-stats', merchants: { ...before, a: 130 } }, K)).toBeUndefined();
    expect(findDifferencing(earlier, { queryId: 'q-hist', kind: 'histogram', merchants: { ...before, a: 119 } }, K)).toBeUndefined();
  });

  it('cannot see as many subjects joining as leaving at one shop (the documented limit)', () => {
    // One customer of shop a left and another joined: the counts, all the record holds, are equal.
    const earlier = [record('q-hist', 'histogram', before)];
    expect(populationDifference(before, { ...before })).toBe(0);
    expect(findDifferencing(earlier, { queryId: 'q-seg', kind: 'segment-stats', merchants: { ...before } }, K)).toBeUndefined();
  });

  it('flags exactly the differences 1..k−1, for any kinds and counts (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 50 }), { minKeys: 1 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 50 }), { minKeys: 1 }),
        fc.constantFrom('histogram', 'rfm', 'segment-stats'),
        fc.constantFrom('histogram', 'cohort-retention', 'ab-lift'),
        fc.integer({ min: 1, max: 30 }),
        (x, y, k1, k2, k) => {
          const d = populationDifference(x, y);
          const hit = findDifferencing([record('q1', k1, x)], { queryId: 'q2', kind: k2, merchants: y }, k);
          expect(hit !== undefined).toBe(d > 0 && d < k);
        },
      ),
    );
  });

  it('checks its arguments', () => {
    expect(() => findDifferencing(null as unknown as PopulationRecord[], { queryId: 'q', kind: 'x', merchants: {} }, K)).toThrow(/earlier/);
    expect(() => findDifferencing([], { queryId: 'q', kind: 'x', merchants: {} }, 0)).toThrow(/minSubjects/);
  });
});
