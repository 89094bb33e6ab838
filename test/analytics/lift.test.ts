/**
 * `ab-lift`: arm rates and lifts with their intervals on hand-made counts,
 * and the federated answer against a plain pooled computation for random
 * datasets split over shops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson, type CampaignExposure, type ShopData } from '../../analytics/index.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { abLiftQuery as q, type AbLiftResult, type AbLiftSpec } from '../../analytics/lift.js';
import { datasetArb, federate, pooledShop, splitShops, type RandomDataset } from '../helpers/random-shop-data.js';

const Z95 = 1.959963984540054;

function rows(variant: 'A' | 'B' | 'control', n: number, converted: number, exposed = true, offset = 0): CampaignExposure[] {
  return Array.from({ length: n }, (_, i) => ({
    customerId: `${variant}-${offset + i}`,
    campaignId: 'CMP',
    variant,
    exposed: variant === 'control' ? false : exposed,
    opened: false,
    clicked: false,
    converted: i < converted,
  }));
}

function shop(campaigns: CampaignExposure[]): ShopData {
  return { shopId: 's', customers: [], orders: [], campaigns };
}

describe('ab-lift on hand-made counts', () => {
  // B: 30 of 200 convert (15%), A: 25 of 250 (10%).
  const data = [shop([...rows('B', 120, 20), ...rows('A', 100, 10)]), shop([...rows('B', 80, 10, true, 120), ...rows('A', 150, 15, true, 100), ...rows('control', 40, 1)])];

  it('gives rates, the Wald interval of the difference and the delta-method interval of the ratio', () => {
    const spec = q.parseSpec({ kind: 'ab-lift', purpose: 'marketing-analytics', campaignId: 'CMP', compare: 'variant' });
    const r = federate(q, spec, data);
    expect(r.treatment).toEqual({ label: 'B', suppressed: false, customers: 200, successes: 30, rate: 0.15 });
    expect(r.control).toEqual({ label: 'A', suppressed: false, customers: 250, successes: 25, rate: 0.1 });
    // SE(d)² = .15·.85/200 + .1·.9/250 = .0006375 + .00036 = .0009975
    expect(r.absoluteLift?.estimate).toBeCloseTo(0.05, 15);
    expect(r.absoluteLift?.standardError).toBeCloseTo(Math.sqrt(0.0009975), 15);
    expect(r.absoluteLift?.lower).toBeCloseTo(0.05 - Z95 * 0.03158322339, 9);
    expect(r.absoluteLift?.upper).toBeCloseTo(0.111902, 6);
    // SE(r)² = .15·.85/(200·.01) + .0225·.9/(250·.001) = .06375 + .081 = .14475
    expect(r.relativeLift?.estimate).toBeCloseTo(0.5, 14);
    expect(r.relativeLift?.standardError).toBeCloseTo(Math.sqrt(0.14475), 14);
    expect(r.relativeLift?.lower).toBeCloseTo(0.5 - Z95 * 0.38046024761, 9);
    expect(r.methods).toEqual({ absolute: 'wald-unpooled', relative: 'delta-method-ratio' });
    // The delta-method variance is (p₁/p₀)²·(Var p₁/p₁² + Var p₀/p₀²) when p₁ > 0.
    expect(1.5 ** 2 * (0.15 * 0.85 / 200 / 0.0225 + 0.1 * 0.9 / 250 / 0.01)).toBeCloseTo(0.14475, 15);
  });

  it('compares the hold-out arm, exposure, other outcomes and confidence levels', () => {
    const holdout = federate(q, q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'CMP', compare: 'variant', treatment: 'A', control: 'control', confidence: 0.99 }), data);
    expect(holdout.control).toMatchObject({ label: 'control', customers: 40, successes: 1, rate: 0.025 });
    expect(holdout.confidence).toBe(0.99);
    const half = (holdout.absoluteLift!.upper - holdout.absoluteLift!.lower) / 2;
    expect(half / holdout.absoluteLift!.standardError).toBeCloseTo(2.5758293035489004, 12);
    const exposure = federate(q, q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'CMP', compare: 'exposure' }), data);
    expect(exposure.treatment).toMatchObject({ label: 'exposed', customers: 450, successes: 55 });
    expect(exposure.control).toMatchObject({ label: 'unexposed', customers: 40, successes: 1 });
    const clicks = federate(q, q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'CMP', compare: 'variant', outcome: 'clicked' }), data);
    expect(clicks.treatment.successes).toBe(0);
    expect(clicks.relativeLift).toBeNull(); // p₀ = 0
    expect(clicks.absoluteLift?.estimate).toBe(0);
  });

  it('leaves the lifts out when an arm is suppressed', () => {
    const spec = q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'CMP', compare: 'variant', treatment: 'B', control: 'control' });
    const r = federate(q, spec, data, 50);
    expect(r.treatment.suppressed).toBe(false);
    expect(r.control).toEqual({ label: 'control', suppressed: true, customers: null, successes: null, rate: null });
    expect(r.absoluteLift).toBeNull();
    expect(r.relativeLift).toBeNull();
  });

  it('declares its arms as one margin and a sensitivity of one row per customer', () => {
    const spec = q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'CMP', compare: 'exposure' });
    expect(q.margins?.(spec)).toEqual([{ parts: ['treatment', 'control'] }]);
    expect(q.subjectSensitivity?.(spec)).toEqual({ perField: { 'treatment.customers': 1n, 'treatment.successes': 1n, 'control.customers': 1n, 'control.successes': 1n }, disjointCells: true });
  });

  it('refuses a customer twice in the campaign', () => {
    const spec = q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'CMP', compare: 'variant' });
    expect(() => q.computeLocal(spec, shop([...rows('A', 2, 0), ...rows('A', 1, 0)]))).toThrow(/data\.campaigns: customer A-0 has two rows/);
  });
});

describe('ab-lift spec', () => {
  it('fills in defaults and round-trips through canonical JSON', () => {
    const spec = q.parseSpec({ kind: 'ab-lift', purpose: 'marketing-analytics', campaignId: 'CMP-2025-618', compare: 'variant' });
    expect(spec).toEqual({
      kind: 'ab-lift',
      purpose: 'marketing-analytics',
      campaignId: 'CMP-2025-618',
      outcome: 'converted',
      confidence: 0.95,
      bounds: { maxCustomers: 10_000_000n },
      compare: 'variant',
      treatment: 'B',
      control: 'A',
      population: 'assigned',
    });
    expect(q.parseSpec(JSON.parse(canonicalSpecJson(spec)))).toEqual(spec);
    const exposure = q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'X', compare: 'exposure', variants: ['B', 'A'] });
    expect(exposure).toMatchObject({ compare: 'exposure', variants: ['A', 'B'] });
    expect(q.parseSpec(JSON.parse(canonicalSpecJson(exposure)))).toEqual(exposure);
    expect(q.cells(spec).map((c) => [c.name, c.subjectsField])).toEqual([
      ['treatment', 'treatment.customers'],
      ['control', 'control.customers'],
    ]);
  });

  it('reads only the campaign fields the comparison needs', () => {
    const base = { kind: 'ab-lift', purpose: 'p', campaignId: 'X' };
    expect(q.inputFields(q.parseSpec({ ...base, compare: 'variant' }))).toEqual(['campaign.campaign_id', 'campaign.converted', 'campaign.variant']);
    expect(q.inputFields(q.parseSpec({ ...base, compare: 'variant', population: 'exposed', outcome: 'opened' }))).toEqual(['campaign.campaign_id', 'campaign.exposed', 'campaign.opened', 'campaign.variant']);
    expect(q.inputFields(q.parseSpec({ ...base, compare: 'exposure' }))).toEqual(['campaign.campaign_id', 'campaign.converted', 'campaign.exposed']);
    expect(q.inputFields(q.parseSpec({ ...base, compare: 'exposure', variants: ['A'] }))).toEqual(['campaign.campaign_id', 'campaign.converted', 'campaign.exposed', 'campaign.variant']);
  });

  it.each([
    [{ compare: 'variant', treatment: 'A', control: 'A' }, 'control'],
    [{ compare: 'variant', control: 'control', population: 'exposed' }, 'population'],
    [{ compare: 'variant', confidence: 0.8 }, 'confidence'],
    [{ compare: 'exposure', treatment: 'B' }, ''],
    [{ compare: 'exposure', variants: ['A', 'A'] }, 'variants'],
    [{ compare: 'both' }, 'compare'],
    [{ compare: 'variant', campaignId: '' }, 'campaignId'],
    [{ compare: 'variant', bounds: { maxCustomers: -5 } }, 'bounds.maxCustomers'],
  ])('refuses %j naming %s', (patch, path) => {
    let err: unknown;
    try {
      q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'X', ...patch });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(QuerySpecError);
    expect((err as QuerySpecError).path).toBe(path);
  });

  it('refuses counts beyond the declared bound, naming the field', () => {
    const spec = q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'CMP', compare: 'variant', bounds: { maxCustomers: 10 } });
    expect(() => q.computeLocal(spec, shop(rows('B', 11, 0)))).toThrow(/field treatment\.customers/);
  });
});

/** Arm counts and lifts from the pooled rows, in plain code. */
function pooledLift(d: RandomDataset, spec: AbLiftSpec): AbLiftResult {
  const es = (pooledShop(d).campaigns ?? []).filter((x) => x.campaignId === spec.campaignId);
  const inArm = (x: CampaignExposure, treatment: boolean): boolean => {
    if (spec.compare === 'exposure') return spec.variants.includes(x.variant as 'A') && x.exposed === treatment;
    if (spec.population === 'exposed' && !x.exposed) return false;
    return x.variant === (treatment ? spec.treatment : spec.control);
  };
  const arm = (treatment: boolean) => {
    const members = es.filter((x) => inArm(x, treatment));
    const successes = members.filter((x) => x[spec.outcome]).length;
    const label = spec.compare === 'exposure' ? (treatment ? 'exposed' : 'unexposed') : treatment ? spec.treatment : spec.control;
    return { label, suppressed: false, customers: members.length, successes, rate: members.length > 0 ? successes / members.length : null };
  };
  const t = arm(true);
  const c = arm(false);
  const z = Z95;
  let absoluteLift = null;
  let relativeLift = null;
  if (t.rate !== null && c.rate !== null) {
    const se = Math.sqrt((t.rate * (1 - t.rate)) / t.customers + (c.rate * (1 - c.rate)) / c.customers);
    absoluteLift = { estimate: t.rate - c.rate, standardError: se, lower: t.rate - c.rate - z * se, upper: t.rate - c.rate + z * se };
    if (c.rate > 0) {
      const ratio = t.rate / c.rate;
      const ser = Math.sqrt((t.rate * (1 - t.rate)) / t.customers / c.rate ** 2 + (ratio ** 2 * (1 - c.rate)) / (c.customers * c.rate));
      relativeLift = { estimate: ratio - 1, standardError: ser, lower: ratio - 1 - z * ser, upper: ratio - 1 + z * ser };
    }
  }
  return { campaignId: spec.campaignId, outcome: spec.outcome, confidence: 0.95, treatment: t, control: c, absoluteLift, relativeLift, methods: { absolute: 'wald-unpooled', relative: 'delta-method-ratio' } };
}

function expectClose(a: AbLiftResult, b: AbLiftResult): void {
  expect({ ...a, absoluteLift: null, relativeLift: null }).toEqual({ ...b, absoluteLift: null, relativeLift: null });
  for (const k of ['absoluteLift', 'relativeLift'] as const) {
    const x = a[k];
    const y = b[k];
    if (x === null || y === null) {
      expect(x).toBe(y);
      continue;
    }
    for (const f of ['estimate', 'standardError', 'lower', 'upper'] as const) {
      expect(Math.abs(x[f] - y[f]), `${k}.${f}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(y[f])));
    }
  }
}

describe('ab-lift over shops', () => {
  it('equals the pooled plain computation however the customers are split (property)', () => {
    const specs = [
      q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'C1', compare: 'variant' }),
      q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'C2', compare: 'variant', treatment: 'A', control: 'control', outcome: 'clicked' }),
      q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'C1', compare: 'variant', population: 'exposed', outcome: 'opened' }),
      q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'C3', compare: 'exposure' }),
      q.parseSpec({ kind: 'ab-lift', purpose: 'p', campaignId: 'C1', compare: 'exposure', variants: ['A', 'control'] }),
    ];
    fc.assert(
      fc.property(datasetArb(4, 0, 60), fc.constantFrom(...specs), (d, spec) => {
        expectClose(federate(q, spec, splitShops(d)), pooledLift(d, spec));
      }),
      { numRuns: 200 },
    );
  });
});
