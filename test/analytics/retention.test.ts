/**
 * `cohort-retention`: hand-computed cohorts (first-order and signup
 * acquisition, month boundaries at the declared UTC offset), repurchase and
 * interval, churn by stage, suppression and bounds; and the federated result
 * over any split into shops equal to a plain pooled computation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson, type Customer, type LifecycleStage, type Order, type ShopData } from '../../analytics/index.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { cohortRetentionQuery as q } from '../../analytics/retention.js';
import { DEFAULT_PURPOSES } from '../../compliance/index.js';
import { pooledRetention } from '../helpers/pooled-analytics.js';
import { federate, named, randomDataset, splitIntoShops } from '../helpers/plain-federation.js';

const DAY = 86_400;
const at = (iso: string): number => Date.parse(iso) / 1000;
const base = { kind: 'cohort-retention', purpose: 'marketing-analytics', asOf: '2025-04-15T00:00:00Z' };
const spec = q.parseSpec({ ...base, firstCohort: '2025-01', cohorts: 3, maxMonthsSince: 2, churnDays: 30, utcOffsetMinutes: 0 });

function customer(customerId: string, lifecycleStage: LifecycleStage, signup: string, consentAnalytics = true): Customer {
  return { customerId, lifecycleStage, consentAnalytics, consentMarketing: false, city: 'other', ageBand: '25-34', signupUnixS: at(signup) };
}
let seq = 0;
function order(customerId: string, iso: string): Order {
  return { orderId: `O-${++seq}`, customerId, orderedUnixS: at(iso), amountCents: 100n, returned: false };
}

const shop: ShopData = {
  shopId: 's',
  customers: [
    customer('A', 'loyal', '2024-12-01T00:00:00Z'),
    customer('B', 'active', '2025-02-15T00:00:00Z'),
    customer('C', 'churning', '2025-01-10T00:00:00Z'),
    customer('D', 'new', '2025-04-01T00:00:00Z'),
    customer('E', 'new', '2025-03-01T00:00:00Z'),
    customer('F', 'active', '2025-01-01T00:00:00Z', false),
    customer('G', 'new', '2025-01-15T00:00:00Z'),
  ],
  orders: [
    order('A', '2025-01-05T10:00:00Z'),
    order('A', '2025-01-20T10:00:00Z'),
    order('A', '2025-03-10T10:00:00Z'),
    order('A', '2025-04-10T10:00:00Z'),
    order('B', '2025-02-28T23:00:00Z'),
    order('B', '2025-03-01T01:00:00Z'),
    order('C', '2024-12-20T00:00:00Z'),
    order('C', '2025-02-10T00:00:00Z'),
    order('D', '2025-04-20T00:00:00Z'), // after asOf
    order('E', '2025-03-03T00:00:00Z'),
    order('F', '2025-01-02T00:00:00Z'), // no consent
  ],
};

describe('cohort-retention computeLocal', () => {
  it('counts cohorts by first order, active months, repurchase, intervals and churn by hand', () => {
    const v = named(q, spec, q.computeLocal(spec, shop));
    expect([v['cohort.2025-01.customers'], v['cohort.2025-01.m0.active'], v['cohort.2025-01.m1.active'], v['cohort.2025-01.m2.active']]).toEqual([1n, 1n, 0n, 1n]);
    expect([v['cohort.2025-02.customers'], v['cohort.2025-02.m0.active'], v['cohort.2025-02.m1.active'], v['cohort.2025-02.m2.active']]).toEqual([1n, 1n, 1n, 0n]);
    expect([v['cohort.2025-03.customers'], v['cohort.2025-03.m0.active'], v['cohort.2025-03.m1.active']]).toEqual([1n, 1n, 0n]);
    expect(v['cohort.2025-03.m2.active']).toBeUndefined(); // 2025-05 is after the as-of month
    expect([v['repurchase.buyers'], v['repurchase.repeat_buyers'], v['repurchase.interval_count'], v['repurchase.interval_sum_s']]).toEqual([
      4n, 3n, 5n, BigInt((15 + 49 + 31 + 52) * DAY + 7200),
    ]);
    const churn = (s: string) => [v[`churn.${s}.buyers`], v[`churn.${s}.churned`]];
    expect([churn('loyal'), churn('active'), churn('churning'), churn('new')]).toEqual([[1n, 0n], [1n, 1n], [1n, 1n], [1n, 1n]]);
  });

  it('counts cohorts by signup month when declared, and reads customer.signup_at only then', () => {
    const s = { ...spec, acquisition: 'signup' as const };
    const v = named(q, s, q.computeLocal(s, shop));
    expect([v['cohort.2025-01.customers'], v['cohort.2025-01.m0.active'], v['cohort.2025-01.m1.active'], v['cohort.2025-01.m2.active']]).toEqual([2n, 0n, 1n, 0n]);
    expect([v['cohort.2025-02.customers'], v['cohort.2025-02.m0.active'], v['cohort.2025-02.m1.active']]).toEqual([1n, 1n, 1n]);
    expect([v['cohort.2025-03.customers'], v['cohort.2025-03.m0.active']]).toEqual([1n, 1n]);
    expect(q.inputFields(s)).toEqual(['customer.lifecycle_stage', 'order.ordered_at', 'customer.signup_at']);
    expect(q.inputFields(spec)).toEqual(['customer.lifecycle_stage', 'order.ordered_at']);
    const allowed = DEFAULT_PURPOSES.find((p) => p.name === 'marketing-analytics')!.allowedFields;
    for (const f of q.inputFields(s)) expect(allowed).toContain(f);
  });

  it('puts month boundaries at the declared UTC offset', () => {
    const beijing = q.parseSpec({ ...base, firstCohort: '2025-01', cohorts: 3, maxMonthsSince: 2, churnDays: 30 });
    expect(beijing.utcOffsetMinutes).toBe(480);
    const v = named(q, beijing, q.computeLocal(beijing, shop));
    // B's first order, 2025-02-28T23:00Z, is 1 March 07:00 in Beijing.
    expect([v['cohort.2025-02.customers'], v['cohort.2025-03.customers'], v['cohort.2025-03.m0.active']]).toEqual([0n, 2n, 2n]);
  });

  it('refuses values beyond the declared bounds with a RangeError naming them', () => {
    expect(() => q.computeLocal({ ...spec, bounds: { ...spec.bounds, horizonSeconds: BigInt(50 * DAY) } }, shop)).toThrow(/field repurchase\.interval_sum_s: a gap of 4492800 s/);
    expect(() => q.computeLocal({ ...spec, bounds: { ...spec.bounds, maxCustomers: 3n } }, shop)).toThrow(/field repurchase\.buyers: value 4 exceeds its bound 3/);
    expect(() => q.computeLocal(spec, { ...shop, orders: [{ ...order('A', '2025-01-01T00:00:00Z'), orderedUnixS: 1.5 }] })).toThrow(TypeError);
  });
});

describe('cohort-retention finalise', () => {
  it('gives retention, repurchase rate, mean interval and churn rates; suppressed cells are null', () => {
    const r = federate(q, spec, [shop]);
    expect(r.cohorts.map((c) => [c.cohort, c.customers, c.months.map((m) => [m.month, m.active, m.retention])])).toEqual([
      ['2025-01', 1, [['2025-01', 1, 1], ['2025-02', 0, 0], ['2025-03', 1, 1]]],
      ['2025-02', 1, [['2025-02', 1, 1], ['2025-03', 1, 1], ['2025-04', 0, 0]]],
      ['2025-03', 1, [['2025-03', 1, 1], ['2025-04', 0, 0]]],
    ]);
    expect(r.repurchase).toEqual({
      suppressed: false, buyers: 4, repeatBuyers: 3, repurchaseRate: 0.75, meanDaysBetweenOrders: ((15 + 49 + 31 + 52) * DAY + 7200) / (5 * DAY),
    });
    expect(r.churn.map((c) => [c.stage, c.churnRate])).toEqual([['new', 1], ['active', 1], ['loyal', 0], ['churning', 1]]);

    const k2 = federate(q, spec, [shop], 2);
    expect(k2.cohorts[0]).toMatchObject({ suppressed: true, customers: null });
    expect(k2.cohorts[0]!.months.every((m) => m.suppressed && m.active === null && m.retention === null)).toBe(true);
    expect(k2.repurchase.buyers).toBe(4);
    expect(k2.churn.every((c) => c.suppressed && c.buyers === null && c.churned === null && c.churnRate === null)).toBe(true);
  });
});

describe('cohort-retention spec', () => {
  const error = (json: unknown): QuerySpecError => {
    try {
      q.parseSpec(json);
    } catch (err) {
      if (err instanceof QuerySpecError) return err;
      throw err;
    }
    throw new Error('expected a QuerySpecError');
  };

  it('fills in defaults (twelve cohorts up to the as-of month, Beijing months) and round-trips', () => {
    const d = q.parseSpec({ ...base, asOf: '2026-01-01T00:00:00Z' });
    expect(d).toMatchObject({ acquisition: 'first-order', firstCohort: '2025-02', cohorts: 12, maxMonthsSince: 11, churnDays: 90, utcOffsetMinutes: 480 });
    expect(q.cells(d)).toHaveLength(12 + 78 + 1 + 4);
    expect(q.cells(d).find((c) => c.name === 'cohort.2025-06.m3')).toEqual({ name: 'cohort.2025-06.m3', subjectsField: 'cohort.2025-06.m3.active', fields: ['cohort.2025-06.m3.active'] });
    expect(q.cells(d).find((c) => c.name === 'churn.loyal')?.subjectsField).toBe('churn.loyal.buyers');
    for (const s of [d, spec, q.parseSpec({ ...base, acquisition: 'signup', bounds: { horizonSeconds: '99999999999' } })]) {
      expect(q.parseSpec(JSON.parse(canonicalSpecJson(s)))).toEqual(s);
    }
  });

  it('names the offending member', () => {
    expect(q.parseSpec({ ...base, firstCohort: '2025-01' })).toMatchObject({ firstCohort: '2025-01', cohorts: 4 });
    expect(q.parseSpec({ ...base, firstCohort: '2020-01' }).cohorts).toBe(36);
    expect(error({ ...base, firstCohort: '2025-05' }).path).toBe('firstCohort');
    expect(error({ ...base, firstCohort: '2025-13' }).path).toBe('firstCohort');
    expect(error({ ...base, firstCohort: '2025-03', cohorts: 3 }).path).toBe('firstCohort');
    expect(error({ ...base, cohorts: 37 }).path).toBe('cohorts');
    expect(error({ ...base, acquisition: 'visit' }).path).toBe('acquisition');
    expect(error({ ...base, utcOffsetMinutes: 900 }).path).toBe('utcOffsetMinutes');
    expect(error({ ...base, churnDays: 0 }).path).toBe('churnDays');
    expect(error({ ...base, asOf: '2025-04-15' }).path).toBe('asOf');
  });
});

describe('cohort-retention federated = pooled', () => {
  it('over any split into shops, the finalised result equals the pooled computation', () => {
    const T = Date.UTC(2026, 0, 1) / 1000;
    const specs = fc.record({
      acquisition: fc.constantFrom('first-order', 'signup'),
      utcOffsetMinutes: fc.constantFrom(0, 480, -300),
      churnDays: fc.constantFrom(30, 90),
      cohorts: fc.constantFrom(3, 12),
      maxMonthsSince: fc.constantFrom(0, 5, 11),
    });
    fc.assert(
      fc.property(specs, randomDataset({ shops: 3, fromS: T - 400 * DAY, toS: T + 20 * DAY, maxCents: 1000 }), (options, data) => {
        const s = q.parseSpec({ ...base, asOf: '2026-01-01T00:00:00Z', ...options });
        const r = federate(q, s, splitIntoShops(data, 3));
        const p = pooledRetention(s, data);
        for (const c of r.cohorts) {
          const size = p.cohortSize.get(c.cohort) ?? 0;
          expect(c.customers, c.cohort).toBe(size);
          for (const m of c.months) {
            const a = p.active.get(`${c.cohort}/${m.monthsSince}`) ?? 0;
            expect(m.active, `${c.cohort} m${m.monthsSince}`).toBe(a);
            expect(m.retention).toBe(size === 0 ? null : a / size);
          }
        }
        const tracked = r.cohorts.reduce((n, c) => n + c.months.reduce((x, m) => x + (m.active ?? 0), 0), 0);
        expect(tracked).toBe([...p.active.values()].reduce((x, y) => x + y, 0));
        expect([r.repurchase.buyers, r.repurchase.repeatBuyers]).toEqual([p.buyers, p.repeat]);
        expect(r.repurchase.repurchaseRate).toBe(p.buyers === 0 ? null : p.repeat / p.buyers);
        expect(r.repurchase.meanDaysBetweenOrders).toBe(p.gaps === 0 ? null : p.gapSeconds / (p.gaps * DAY));
        for (const c of r.churn) {
          const [b, ch] = p.churn.get(c.stage) ?? [0, 0];
          expect([c.buyers, c.churned, c.churnRate]).toEqual([b, ch, b === 0 ? null : ch / b]);
        }
      }),
      { numRuns: 120 },
    );
  });
});
