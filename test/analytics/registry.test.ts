import { describe, expect, it } from 'vitest';
import { canonicalSpecJson, getQueryDefinition, listQueryKinds, type AnyQueryDefinition } from '../../analytics/index.js';
import { QuerySpecError, UnknownQueryKindError } from '../../analytics/errors.js';
import { registerQueryDefinition } from '../../analytics/registry.js';
import { segmentStatsQuery } from '../../analytics/segment-stats.js';
import { withDominanceBins } from '../../analytics/dominance-bins.js';

const base = { kind: 'segment-stats', purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

function specError(json: unknown): QuerySpecError {
  try {
    segmentStatsQuery.parseSpec(json);
  } catch (err) {
    if (err instanceof QuerySpecError) return err;
    throw err;
  }
  throw new Error('expected a QuerySpecError');
}

describe('query registry', () => {
  it('finds segment-stats and refuses unknown kinds with a typed error', () => {
    // The registry hands out the definition with its dominance bins (dominance-bins.ts).
    expect(getQueryDefinition('segment-stats')).toBe(withDominanceBins(segmentStatsQuery as AnyQueryDefinition));
    expect(listQueryKinds()).toContain('segment-stats');
    let caught: unknown;
    try {
      getQueryDefinition('rfm-table');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnknownQueryKindError);
    expect(caught).toMatchObject({ code: 'QUERY_KIND_UNKNOWN', kind: 'rfm-table' });
  });

  it('registers new kinds but never replaces one', () => {
    registerQueryDefinition({ ...segmentStatsQuery, kind: 'test-kind' });
    expect(getQueryDefinition('test-kind').kind).toBe('test-kind');
    expect(() => registerQueryDefinition(segmentStatsQuery)).toThrow(RangeError);
    expect(() => registerQueryDefinition({ ...segmentStatsQuery, kind: '' })).toThrow(TypeError);
  });
});

describe('segment-stats spec', () => {
  it('fills in defaults', () => {
    expect(segmentStatsQuery.parseSpec(base)).toEqual({
      ...base,
      excludeReturned: false,
      bounds: { maxCustomers: 1_000_000n, maxOrders: 10_000_000n, maxOrderCents: 100_000_000n, horizonSeconds: 315_360_000n },
    });
  });

  it('takes bounds as numbers or decimal strings and round-trips through canonical JSON', () => {
    const spec = segmentStatsQuery.parseSpec({ ...base, excludeReturned: true, bounds: { maxOrders: 5000, maxOrderCents: '900719925474099300' } });
    expect(spec.bounds.maxOrders).toBe(5000n);
    expect(spec.bounds.maxOrderCents).toBe(900719925474099300n);
    const text = canonicalSpecJson(spec);
    expect(segmentStatsQuery.parseSpec(JSON.parse(text))).toEqual(spec);
    expect(canonicalSpecJson(segmentStatsQuery.parseSpec(JSON.parse(text)))).toBe(text);
  });

  it.each([
    [{ ...base, kind: 'other' }, 'kind'],
    [{ ...base, groupBy: 'city' }, 'groupBy'],
    [{ ...base, purpose: '' }, 'purpose'],
    [{ ...base, bounds: { maxOrders: -1 } }, 'bounds.maxOrders'],
    [{ ...base, bounds: { maxOrders: 1.5 } }, 'bounds.maxOrders'],
    [{ ...base, bounds: { maxOrders: '01' } }, 'bounds.maxOrders'],
    [{ ...base, bounds: { maxOrderz: 1 } }, 'bounds'],
    [{ ...base, extra: 1 }, ''],
    [null, ''],
  ])('refuses %j naming %s', (json, path) => {
    const err = specError(json);
    expect(err.code).toBe('QUERY_SPEC_INVALID');
    expect(err.path).toBe(path);
    if (path !== '') expect(err.message.startsWith(`${path}: `)).toBe(true);
  });

  it('lays out 28 fields stage-major with bounds derived from the spec', () => {
    const spec = segmentStatsQuery.parseSpec({ ...base, bounds: { maxCustomers: 10, maxOrders: 100, maxOrderCents: 1000, horizonSeconds: 50 } });
    const fields = segmentStatsQuery.fields(spec);
    expect(fields).toHaveLength(28);
    expect(fields.slice(0, 7)).toEqual([
      { name: 'new.customers', max: 10n },
      { name: 'new.repeat_customers', max: 10n },
      { name: 'new.orders', max: 100n },
      { name: 'new.order_value_sum_cents', max: 100_000n },
      { name: 'new.order_value_sumsq_cents2', max: 100_000_000n },
      { name: 'new.interval_count', max: 100n },
      { name: 'new.interval_sum_s', max: 5000n },
    ]);
    expect(fields.map((f) => f.name.split('.')[0])).toEqual(['new', 'active', 'loyal', 'churning'].flatMap((s) => Array(7).fill(s)));
    const cells = segmentStatsQuery.cells(spec);
    expect(cells.map((c) => [c.name, c.subjectsField])).toEqual([
      ['new', 'new.customers'],
      ['active', 'active.customers'],
      ['loyal', 'loyal.customers'],
      ['churning', 'churning.customers'],
    ]);
    expect(cells.flatMap((c) => c.fields)).toEqual(fields.map((f) => f.name));
  });
});
