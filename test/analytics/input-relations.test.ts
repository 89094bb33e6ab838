/**
 * The relations the key holder checks between a query's decrypted fields
 * (`QueryDefinition.inputViolation`, analytics/input-relations.ts) must
 * never refuse honest shops, and each must catch the values it is there
 * for. Honest side: every kind that declares relations, on five synthetic
 * shops summed with plain BigInt (what BFV addition computes), and property
 * tests over random rows for the logistic and moment sums, where rounding,
 * saturated probabilities and collinear columns could break a relation that
 * holds on paper. Broken side: each relation, from honest totals moved the
 * way a malicious shop would move them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShopData } from '../../analytics/index.js';
import { kindGuides } from '../../analytics/kind-guide.js';
import { logisticRoundFields, logisticRoundInputViolation, logisticRoundSums, type LogisticRoundShape } from '../../analytics/logistic-regression.js';
import { accumulateMoments, momentFields, momentInputViolation, type MomentLayout } from '../../analytics/moment-sums.js';
import { getModelDefinition, getQueryDefinition } from '../../analytics/registry.js';
import type { AnyQueryDefinition, FieldSpec } from '../../analytics/query-definition.js';
import { loadShopData } from '../../client-sdk/load-shop-data.js';
import { writeSynth } from '../../synth/index.js';

/** Field totals by name from per-shop value vectors. */
function pooled(fields: readonly FieldSpec[], perShop: readonly (readonly bigint[])[]): Map<string, bigint> {
  const sum = fields.map(() => 0n);
  for (const values of perShop) values.forEach((v, i) => (sum[i] = (sum[i] as bigint) + v));
  return new Map(fields.map((f, i) => [f.name, sum[i] as bigint]));
}

/** A copy of `totals` with `changes` added to the named fields. */
function moved(totals: ReadonlyMap<string, bigint>, changes: Record<string, bigint>): Map<string, bigint> {
  const out = new Map(totals);
  for (const [name, by] of Object.entries(changes)) {
    expect(out.has(name), name).toBe(true);
    out.set(name, (out.get(name) as bigint) + by);
  }
  return out;
}

/**
 * A guide example the synthetic shops can answer: their customers' cities
 * are not declared city levels, so the formula examples lose their
 * `C(city_level)` term (and that level list).
 */
function answerable(example: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (typeof example.formula !== 'string') return { ...example };
  const { city_level: _, ...levels } = (example.levels ?? {}) as Record<string, unknown>;
  return { ...example, formula: example.formula.replace(' + C(city_level)', ''), levels };
}

/** Every (kind, parsed spec) the guides give, round kinds from their fits' first rounds. */
function guideSpecs(): { kind: string; definition: AnyQueryDefinition; spec: unknown }[] {
  return kindGuides().map((g) => {
    if (g.role === 'query') {
      const definition = getQueryDefinition(g.kind);
      return { kind: g.kind, definition, spec: definition.parseSpec({ ...answerable(g.example), kind: g.kind }) };
    }
    const model = getModelDefinition(g.kind);
    const fit = model.parseFitSpec({ ...answerable(g.example), kind: g.kind });
    const round = model.roundQuery(fit, model.initialState(fit), 1, 'fit-relations');
    const definition = getQueryDefinition(round.kind);
    return { kind: `${g.kind} (${round.kind})`, definition, spec: definition.parseSpec({ ...round.spec, kind: round.kind }) };
  });
}

describe('input relations on honest shops', () => {
  let shops: ShopData[];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-relations-'));
    const manifest = await writeSynth(dir, { shops: 5, seed: 4711 });
    // category-levels' guide example reads a categorical customer column `brand` the synthetic shops do not
    // declare: give their customers one (a few levels, and missing values).
    const brands = ['Acme', 'Blue Lake', '青山', 'Cedar', ''];
    shops = (await Promise.all(manifest.shops.map((s) => loadShopData(join(dir, s.dir))))).map((shop, s) => ({
      ...shop,
      customers: shop.customers.map((c, i) => ({ ...c, extra: { ...c.extra, brand: brands[(i + s) % brands.length] as string } })),
    }));
  }, 120_000);

  it('hold for the guide example of every kind that declares them, on five synthetic shops', () => {
    const checked: string[] = [];
    for (const { kind, definition, spec } of guideSpecs()) {
      if (definition.inputViolation === undefined) continue;
      const perShop = shops.map((shop) => definition.computeLocal(spec, shop));
      const totals = pooled(definition.fields(spec), perShop);
      expect(definition.inputViolation(spec, totals, shops.length), kind).toBeUndefined();
      // Any subset of shops is also a sum of honest shops.
      expect(definition.inputViolation(spec, pooled(definition.fields(spec), perShop.slice(0, 2)), 2), kind).toBeUndefined();
      checked.push(kind);
    }
    expect(checked).toEqual(expect.arrayContaining([
      'segment-stats', 'cohort-retention', 'histogram', 'ab-lift', 'merchant-benchmark', 'rfm', 'funnel',
      'linear-regression', 'pca', 'linear-model', 'logistic-regression (logistic-irls-round)', 'logistic-model (logistic-model-round)', 'kmeans (feature-moments)',
      'gradient-boosted-trees (gbt-level)', 'category-levels',
    ]));
  });

  it('hold for segment statistics by age band and without returns, histograms of both variables and retention by signup and by first order', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['segment-stats', { purpose: 'marketing-analytics', groupBy: 'age_band' }],
      ['segment-stats', { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage', excludeReturned: true }],
      ['histogram', { purpose: 'marketing-analytics', variable: 'purchase_interval' }],
      ['histogram', { purpose: 'marketing-analytics', variable: 'order_value' }],
      ['cohort-retention', { purpose: 'marketing-analytics', acquisition: 'signup', firstCohort: '2024-01', asOf: '2025-12-31T00:00:00Z' }],
      ['cohort-retention', { purpose: 'marketing-analytics', firstCohort: '2024-01', asOf: '2025-12-31T00:00:00Z' }],
    ];
    for (const [kind, json] of cases) {
      const definition = getQueryDefinition(kind);
      const spec = definition.parseSpec({ ...json, kind });
      const totals = pooled(definition.fields(spec), shops.map((shop) => definition.computeLocal(spec, shop)));
      expect([...totals.values()].some((v) => v > 0n), `${kind} ${JSON.stringify(json)} counts something`).toBe(true);
      expect(definition.inputViolation?.(spec, totals, shops.length), `${kind} ${JSON.stringify(json)}`).toBeUndefined();
    }
  });

  it('hold for a k-means fit\'s moments and Lloyd rounds and a logistic fit\'s score histogram, and catch what breaks them', () => {
    const kmeans = getModelDefinition('kmeans');
    const guide = kindGuides().find((g) => g.kind === 'kmeans')!;
    const fit = kmeans.parseFitSpec({ ...answerable(guide.example), kind: 'kmeans' });
    const round = (state: unknown, r: number) => {
      const q = kmeans.roundQuery(fit, state, r, 'fit-kmeans');
      const definition = getQueryDefinition(q.kind);
      const spec = definition.parseSpec({ ...q.spec, kind: q.kind });
      return { definition, spec, totals: pooled(definition.fields(spec), shops.map((shop) => definition.computeLocal(spec, shop))) };
    };
    const moments = round(kmeans.initialState(fit), 1);
    expect(moments.definition.kind).toBe('feature-moments');
    expect(moments.definition.inputViolation?.(moments.spec, moments.totals, shops.length)).toBeUndefined();
    expect(moments.definition.inputViolation?.(moments.spec, moved(moments.totals, { 'q.0': -(moments.totals.get('q.0') as bigint) + 1n }), shops.length)).toMatch(/^s\.0 \(less one unit per shop\) squared is \d+, above the rows where/);
    const advanced = kmeans.advance(fit, kmeans.initialState(fit), moments.definition.finalise(moments.spec, { cells: { all: { suppressed: false, totals: Object.fromEntries(moments.totals) } } }), 1);
    expect(advanced.done).toBe(false);
    const lloyd = round((advanced as { state: unknown }).state, 2);
    expect(lloyd.definition.kind).toBe('kmeans-round');
    expect(lloyd.definition.inputViolation?.(lloyd.spec, lloyd.totals, shops.length)).toBeUndefined();
    expect(lloyd.definition.inputViolation?.(lloyd.spec, moved(lloyd.totals, { 'n.0': 25n }), shops.length)).toMatch(/^the rows of all clusters is \d+, not n/);
    expect(lloyd.definition.inputViolation?.(lloyd.spec, moved(lloyd.totals, { 'nz.1.0': (lloyd.totals.get('n.1') as bigint) + 1n - (lloyd.totals.get('nz.1.0') as bigint) }), shops.length)).toMatch(/^nz\.1\.0 is \d+, above n\.1/);

    const scores = getQueryDefinition('score-histogram');
    const spec = scores.parseSpec({ kind: 'score-histogram', purpose: 'churn-modelling', features: ['intercept', 'orders'], label: 'churning', coefficients: [-0.5, 0.1], bins: 20 });
    const totals = pooled(scores.fields(spec), shops.map((shop) => scores.computeLocal(spec, shop)));
    expect(totals.get('n')).toBeGreaterThan(0n);
    expect(scores.inputViolation?.(spec, totals, shops.length)).toBeUndefined();
    expect(scores.inputViolation?.(spec, moved(totals, { 'pos.19': 30n, tp: 30n, n: 30n }), shops.length)).toBeUndefined();
    expect(scores.inputViolation?.(spec, moved(totals, { 'pos.19': 30n }), shops.length)).toMatch(/^the positives in the bins is \d+, not tp \+ fn/);
    expect(scores.inputViolation?.(spec, moved(totals, { tp: 30n }), shops.length)).toMatch(/^tp \+ fp \+ tn \+ fn is \d+, not n/);
  });

  it("hold for a gradient-boosted-trees fit's bin grid over customers (the guide's model with ranges), and catch a cell counted twice", () => {
    const gbt = getModelDefinition('gradient-boosted-trees');
    const guide = kindGuides().find((g) => g.kind === 'gradient-boosted-trees')!;
    const example = answerable(guide.example) as { variables: { name: string; type: string }[] };
    const ranges: Record<string, [number, number]> = { n_orders: [0, 20], avg_spend: [0, 1000] };
    const variables = example.variables.map((v) => (ranges[v.name] === undefined ? v : { name: v.name, type: v.type, range: ranges[v.name] }));
    const fit = gbt.parseFitSpec({ ...example, variables, kind: 'gradient-boosted-trees' });
    const q = gbt.roundQuery(fit, gbt.initialState(fit), 1, 'fit-grid');
    const definition = getQueryDefinition(q.kind);
    expect(definition.kind).toBe('gbt-bin-grid');
    const spec = definition.parseSpec({ ...q.spec, kind: q.kind });
    const perShop = shops.map((shop) => definition.computeLocal(spec, shop));
    const totals = pooled(definition.fields(spec), perShop);
    expect(totals.get('n')).toBeGreaterThan(0n);
    expect(definition.inputViolation?.(spec, totals, shops.length)).toBeUndefined();
    expect(definition.inputViolation?.(spec, pooled(definition.fields(spec), perShop.slice(0, 2)), 2)).toBeUndefined();
    expect(definition.inputViolation?.(spec, moved(totals, { 'avg_spend.3': 1n }), shops.length)).toMatch(/^the rows counted over the cells of avg_spend is \d+, not n/);
  });
});

/** Rows of a logistic round: features within ±maxAbs (some exactly 0 or at the bound), labels 0/1. */
const logisticRows = (d: number, maxAbs: number) =>
  fc.array(
    fc.record({
      x: fc.array(fc.oneof(fc.constant(0), fc.constant(maxAbs), fc.constant(-maxAbs), fc.double({ min: -maxAbs, max: maxAbs, noNaN: true })), { minLength: d, maxLength: d }),
      y: fc.constantFrom(0 as const, 1 as const),
    }),
    { minLength: 0, maxLength: 40 },
  );

describe('logistic round relations', () => {
  const shape: LogisticRoundShape = { features: ['intercept', 'a', 'b'], maxRows: 1000, maxFeatureAbs: 50 };
  const fields = logisticRoundFields(shape);
  const withIntercept = (rows: { x: number[]; y: 0 | 1 }[]) => rows.map((r) => ({ x: [1, ...r.x.slice(1)], y: r.y }));

  it('hold for any honest shops: random rows and β (saturated p included), rows split over shops', () => {
    fc.assert(
      fc.property(
        fc.array(logisticRows(3, 50), { minLength: 1, maxLength: 4 }),
        fc.array(fc.oneof(fc.double({ min: -5, max: 5, noNaN: true }), fc.constantFrom(-1e3, 1e3, 0)), { minLength: 3, maxLength: 3 }),
        (shopRows, beta) => {
          const perShop = shopRows.map((rows) => logisticRoundSums(shape, beta, withIntercept(rows)));
          expect(logisticRoundInputViolation(shape, pooled(fields, perShop), perShop.length)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hold for collinear columns (b = a and b = -2a) and for tiny values next to large ones', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -25, max: 25, noNaN: true }), { minLength: 1, maxLength: 30 }), fc.double({ min: -2, max: 2, noNaN: true }), fc.constantFrom(1, -2, 1e-9), (as, beta, factor) => {
        const rows = as.map((a, i) => ({ x: [1, a, a * factor], y: (i % 2) as 0 | 1 }));
        const perShop = [logisticRoundSums(shape, [0.1, beta, -beta], rows), logisticRoundSums(shape, [0.1, beta, -beta], rows.slice(0, 1))];
        expect(logisticRoundInputViolation(shape, pooled(fields, perShop), 2)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  describe('catch a shop that', () => {
    const rows = Array.from({ length: 30 }, (_, i): { x: number[]; y: 0 | 1 } => ({ x: [1, (i % 7) - 3, i % 3 === 0 ? 0 : (i % 5) + 0.5], y: i % 3 === 1 ? 1 : 0 }));
    const beta = [0.2, -0.3, 0.1];
    const honest = pooled(fields, [logisticRoundSums(shape, beta, rows), logisticRoundSums(shape, beta, rows.slice(5))]);
    const big = 1n << 60n;
    it.each<[string, Record<string, bigint>, RegExp]>([
      ['claims more positives than rows', { pos: 100n }, /^pos is \d+, above n/],
      ['claims more rows with a feature than rows', { 'nz(a)': 100n }, /^nz\(a\) is \d+, above n/],
      ['claims more positives with a feature than rows with it', { 'nzpos(b)': 30n }, /^nzpos\(b\) is \d+, above/],
      ['sends a positive log-likelihood', { 'll+': big * 1000n }, /^ll is \d+, above 0/],
      ['makes a Hessian diagonal negative', { 'h.1.1-': big * 1000n }, /^h\.1\.1 is -\d+, below 0/],
      ['inflates a Hessian diagonal beyond its rows', { 'h.2.2+': big * 100_000n }, /^h\.2\.2 is \d+, above maxFeatureAbs\^2\/4/],
      ['inflates a gradient beyond its rows', { 'g.1-': big * 100_000n }, /^\|g\.1\| is \d+, above maxFeatureAbs x/],
      // 2^50 at scale 2^40 is 1024: above √(h00·h11) of these rows, below maxFeatureAbs²/4 × n.
      ['breaks a 2 x 2 minor of the Hessian', { 'h.0.1+': 1n << 50n }, /^h\.0\.1 \(less one unit per shop\) squared is \d+, above h\.0\.0 x h\.1\.1/],
    ])('%s', (_, change, message) => {
      expect(logisticRoundInputViolation(shape, honest, 2)).toBeUndefined();
      expect(logisticRoundInputViolation(shape, moved(honest, change), 2)).toMatch(message);
    });
  });
});

describe('moment relations', () => {
  const layout: MomentLayout = { variables: ['x', 'y', 'z'], maxAbs: [10, 100, 1], maxRows: 1000n, scaleBits: 16 };
  const fields = momentFields(layout);

  it('hold for any honest shops, exactly (no slack)', () => {
    const row = fc.tuple(fc.oneof(fc.constant(0), fc.double({ min: -10, max: 10, noNaN: true })), fc.oneof(fc.constant(100), fc.double({ min: -100, max: 100, noNaN: true })), fc.double({ min: -1, max: 1, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.array(row, { maxLength: 25 }), { minLength: 1, maxLength: 4 }), (shopRows) => {
        const perShop = shopRows.map((rows) => accumulateMoments(layout, rows));
        expect(momentInputViolation(layout, pooled(fields, perShop))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  describe('catch a shop that', () => {
    const rows = Array.from({ length: 20 }, (_, i) => [i % 4 === 0 ? 0 : i - 10, (i * 7) % 100, ((i % 5) - 2) / 2]);
    const honest = pooled(fields, [accumulateMoments(layout, rows), accumulateMoments(layout, rows.slice(3))]);
    const q = 1n << 32n;
    it.each<[string, Record<string, bigint>, RegExp]>([
      ['claims more rows with a value than rows', { 'nz(x)': 100n }, /^nz\(x\) is \d+, above n/],
      ['claims a pair support above a support', { 'nz(x,y)': 30n }, /^nz\(x,y\) is \d+, above nz\(/],
      ['makes a sum of squares negative', { 'cross(y,y)-': q * q * 1000n }, /^cross\(y,y\) is -\d+, below 0/],
      ['sends a sum no nonzero rows can reach', { 'sum(z)+': q * 1000n }, /^\|sum\(z\)\| is \d+, above max\|Q\(z\)\| x/],
      ['sends a cross moment its squares cannot carry', { 'cross(x,z)+': 1n << 40n }, /^cross\(x,z\) squared is \d+, above cross\(x,x\) x cross\(z,z\)/],
    ])('%s', (_, change, message) => {
      expect(momentInputViolation(layout, honest)).toBeUndefined();
      expect(momentInputViolation(layout, moved(honest, change))).toMatch(message);
    });

    it('sends a sum its squares cannot carry', () => {
      // Just above √(nz · ΣQ²), and still within max|Q| × nz.
      const nz = honest.get('nz(x)') as bigint;
      const squares = (honest.get('cross(x,x)+') as bigint) - (honest.get('cross(x,x)-') as bigint);
      let root = 0n;
      for (let bit = 1n << 64n; bit > 0n; bit >>= 1n) if ((root + bit) * (root + bit) <= nz * squares) root += bit;
      const sum = (honest.get('sum(x)+') as bigint) - (honest.get('sum(x)-') as bigint);
      const poisoned = moved(honest, { 'sum(x)+': root + 1n - sum });
      expect(momentInputViolation(layout, poisoned)).toMatch(/^sum\(x\) squared is \d+, above the rows where x is nonzero x cross\(x,x\)/);
    });
  });
});

describe('table kinds catch a shop that', () => {
  let shops: ShopData[];
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-relations-tables-'));
    const manifest = await writeSynth(dir, { shops: 3, seed: 99 });
    // category-levels' guide example reads a categorical customer column `brand` the synthetic shops do not
    // declare: give their customers one (a few levels, and missing values).
    const brands = ['Acme', 'Blue Lake', '青山', 'Cedar', ''];
    shops = (await Promise.all(manifest.shops.map((s) => loadShopData(join(dir, s.dir))))).map((shop, s) => ({
      ...shop,
      customers: shop.customers.map((c, i) => ({ ...c, extra: { ...c.extra, brand: brands[(i + s) % brands.length] as string } })),
    }));
  }, 120_000);

  const honestTotals = (kind: string, json: Record<string, unknown>) => {
    const definition = getQueryDefinition(kind);
    const spec = definition.parseSpec({ ...json, kind });
    return { definition, spec, totals: pooled(definition.fields(spec), shops.map((s) => definition.computeLocal(spec, s))) };
  };

  it.each<[string, string, Record<string, unknown>, (t: ReadonlyMap<string, bigint>) => Record<string, bigint>, RegExp]>([
    ['segment-stats', 'counts more repeat customers than customers', { purpose: 'marketing-analytics' }, (t) => ({ 'loyal.repeat_customers': (t.get('loyal.customers') as bigint) + 1n }), /^loyal\.repeat_customers is \d+, above loyal\.customers/],
    ['segment-stats', 'adds revenue without orders', { purpose: 'marketing-analytics' }, (t) => ({ 'new.order_value_sum_cents': (t.get('new.orders') as bigint) * 100_000_000_000n }), /^new\.order_value_sum_cents is \d+, above new\.orders x maxOrderCents/],
    ['segment-stats', 'makes a variance negative', { purpose: 'marketing-analytics' }, (t) => ({ 'active.order_value_sumsq_cents2': -(t.get('active.order_value_sumsq_cents2') as bigint) / 2n }), /^active\.order_value_sum_cents squared is \d+, above active\.orders x active\.order_value_sumsq_cents2/],
    ['histogram', 'adds items to one bin only', { purpose: 'marketing-analytics', variable: 'order_value' }, () => ({ 'bin.0.items': 50n, 'bin.0.customers': 5n }), /^the sum of the bins' items is \d+, not all\.items/],
    ['histogram', 'moves the mean outside the bins', { purpose: 'marketing-analytics', variable: 'order_value' }, (t) => ({ 'all.value_sum': t.get('all.value_sum') as bigint }), /^all\.value_sum is \d+, above the bins' items times their upper edges/],
    ['cohort-retention', 'counts more churned than buyers', { purpose: 'marketing-analytics', firstCohort: '2024-01', asOf: '2025-12-31T00:00:00Z' }, (t) => ({ 'churn.loyal.churned': (t.get('churn.loyal.buyers') as bigint) + 1n }), /^churn\.loyal\.churned is \d+, above churn\.loyal\.buyers/],
    ['cohort-retention', 'adds buyers to one table only', { purpose: 'marketing-analytics', firstCohort: '2024-01', asOf: '2025-12-31T00:00:00Z' }, () => ({ 'churn.new.buyers': 40n }), /^the churn table's buyers is \d+, not repurchase\.buyers/],
  ])('%s: %s', (kind, _, json, change, message) => {
    const { definition, spec, totals } = honestTotals(kind, json);
    expect(definition.inputViolation?.(spec, totals, shops.length)).toBeUndefined();
    expect(definition.inputViolation?.(spec, moved(totals, change(totals)), shops.length)).toMatch(message);
  });

  it('rfm: counts a customer in a tier but in no cell, and fewer orders than customers in a cell', () => {
    const definition = getQueryDefinition('rfm');
    const spec = definition.parseSpec({ ...kindGuides().find((g) => g.kind === 'rfm')!.example, kind: 'rfm' });
    const totals = pooled(definition.fields(spec), shops.map((s) => definition.computeLocal(spec, s)));
    expect(totals.get('core.customers')! + totals.get('ordinary.customers')!).toBeGreaterThan(0n);
    expect(definition.inputViolation?.(spec, totals, shops.length)).toBeUndefined();
    expect(definition.inputViolation?.(spec, moved(totals, { 'core.customers': 1n }), shops.length)).toMatch(/^core\.customers is \d+, not the sum of its cells' customers/);
    const cell = [...totals.keys()].find((k) => /^r\d+f1m\d+\.customers$/.test(k) && totals.get(k)! > 0n)!.replace(/\.customers$/, '');
    expect(definition.inputViolation?.(spec, moved(totals, { [`${cell}.customers`]: totals.get(`${cell}.orders`)! + 1n }), shops.length)).toMatch(new RegExp(`^${cell}\\.orders is \\d+, below ${cell}\\.customers x 1`));
  });

  it('funnel: claims more buyers than a channel\'s customers, and conversions without exposure', () => {
    const definition = getQueryDefinition('funnel');
    const spec = definition.parseSpec({ ...kindGuides().find((g) => g.kind === 'funnel')!.example, kind: 'funnel' });
    const totals = pooled(definition.fields(spec), shops.map((s) => definition.computeLocal(spec, s)));
    expect(definition.inputViolation?.(spec, totals, shops.length)).toBeUndefined();
    const channel = spec.channels[0]!;
    expect(definition.inputViolation?.(spec, moved(totals, { [`channel.${channel}.buyers`]: totals.get(`channel.${channel}.customers`)! + 1n - totals.get(`channel.${channel}.buyers`)! }), shops.length)).toMatch(/buyers is \d+, above channel\..*\.customers|buyers \+ .*repeat_buyers is \d+, above/);
    if (spec.campaigns.length > 0) {
      const campaign = spec.campaigns[0]!;
      expect(definition.inputViolation?.(spec, moved(totals, { [`campaign.${campaign}.converted`]: totals.get(`campaign.${campaign}.exposed`)! + 1n - totals.get(`campaign.${campaign}.converted`)! }), shops.length)).toMatch(/converted is \d+, above campaign\..*\.exposed/);
    }
  });

  it('merchant-benchmark: puts itself into two bins of one indicator', () => {
    const definition = getQueryDefinition('merchant-benchmark');
    const spec = definition.parseSpec({ kind: 'merchant-benchmark', purpose: 'merchant-benchmarking', indicators: ['return_rate'] });
    const one = definition.fields(spec).map((_, i) => (i === 0 ? 1n : 0n));
    const two = definition.fields(spec).map((_, i) => (i < 2 ? 1n : 0n));
    expect(definition.inputViolation?.(spec, pooled(definition.fields(spec), [one, one, one]), 3)).toBeUndefined();
    expect(definition.inputViolation?.(spec, pooled(definition.fields(spec), [one, one, two]), 3)).toMatch(/^the shops in the bins of return_rate is 4, above the contributing shops \(3\)/);
  });

  it('ab-lift: counts more successes than customers in an arm', () => {
    const definition = getQueryDefinition('ab-lift');
    const example = kindGuides().find((g) => g.kind === 'ab-lift')!.example;
    const spec = definition.parseSpec({ ...example, kind: 'ab-lift' });
    const totals = new Map(definition.fields(spec).map((f) => [f.name, f.name.endsWith('customers') ? 50n : 10n]));
    expect(definition.inputViolation?.(spec, totals, 3)).toBeUndefined();
    expect(definition.inputViolation?.(spec, moved(totals, { 'control.successes': 41n }), 3)).toMatch(/^control\.successes is 51, above control\.customers \(50\)/);
  });
});
