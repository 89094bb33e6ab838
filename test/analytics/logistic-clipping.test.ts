/**
 * Declared clipping of a logistic round (analytics/logistic-clipping.ts):
 * specs without it parse, lay out and compute exactly as before; with
 * `featureClip: 'clip'` a shop with features beyond ±maxFeatureAbs answers
 * with the sums of its clipped rows; with `gradientClip` G each row's
 * gradient is scaled to norm G, the gradient fields are bounded by
 * min(F, G) per row, and the key holder's relations hold for any honest
 * shops and refuse a pooled gradient beyond G per row. Expected values are
 * computed here from the rule (test/helpers/pooled-logistic-clipped.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kindGuides } from '../../analytics/kind-guide.js';
import { LOGISTIC_MODEL_KIND, LOGISTIC_MODEL_ROUND_KIND, logisticModelFitDefinition, logisticModelRoundQuery, logisticModelRows, type LogisticModelRoundSpec } from '../../analytics/logistic-model.js';
import { loadShopData } from '../../client-sdk/load-shop-data.js';
import { writeSynth } from '../../synth/index.js';
import {
  LOGISTIC_FIT_KIND,
  LOGISTIC_ROUND_KIND,
  logisticFitDefinition,
  logisticRoundFields,
  logisticRoundInputViolation,
  logisticRoundQuery,
  logisticRoundSensitivity,
  logisticRoundSums,
  logisticModelFeatures,
  type LogisticRoundShape,
} from '../../analytics/logistic-regression.js';
import { SCORE_HISTOGRAM_KIND, scoreHistogramQuery, scoreHistogramSums } from '../../analytics/model-evaluation.js';
import { featureRows } from '../../analytics/customer-features.js';
import type { FieldSpec } from '../../analytics/query-definition.js';
import { clipRow, rowGradient } from '../helpers/pooled-logistic-clipped.js';

type Row = { x: number[]; y: 0 | 1 };

function pooled(fields: readonly FieldSpec[], perShop: readonly (readonly bigint[])[]): Map<string, bigint> {
  const sum = fields.map(() => 0n);
  for (const values of perShop) values.forEach((v, i) => (sum[i] = sum[i]! + v));
  return new Map(fields.map((f, i) => [f.name, sum[i]!]));
}

/** A field's signed value as a real (scale 2^40). */
function real(fields: readonly FieldSpec[], values: readonly bigint[], name: string): number {
  const at = (n: string) => values[fields.findIndex((f) => f.name === n)]!;
  return Number(at(`${name}+`) - at(`${name}-`)) / 2 ** 40;
}

const base = { features: ['intercept', 'a', 'b'], maxRows: 1000, maxFeatureAbs: 2 };
const rows: Row[] = Array.from({ length: 40 }, (_, i) => ({ x: [1, ((i % 9) - 4) * 0.45, i % 4 === 0 ? 0 : ((i * 37) % 11) * 0.35 - 1.75], y: (i % 3 === 1 ? 1 : 0) }));
const beta = [0.3, -0.4, 0.25];

describe('spec members', () => {
  const spec = { kind: LOGISTIC_FIT_KIND, purpose: 'churn-modelling', features: ['intercept', 'orders'], label: 'churning' };

  it('are absent from a spec that does not declare them, and from its rounds (canonical JSON unchanged)', () => {
    const parsed = logisticFitDefinition.parseFitSpec(spec);
    expect(Object.keys(parsed).sort()).toEqual(['features', 'holdoutPercent', 'kind', 'l2', 'label', 'maxFeatureAbs', 'maxRounds', 'maxRows', 'purpose', 'tolerance']);
    const round = logisticFitDefinition.roundQuery(parsed, logisticFitDefinition.initialState(parsed), 1, 'f').spec;
    expect('featureClip' in round || 'gradientClip' in round).toBe(false);
    expect(logisticRoundQuery.parseSpec({ kind: LOGISTIC_ROUND_KIND, ...round })).toEqual({ kind: LOGISTIC_ROUND_KIND, ...round });
  });

  it('are parsed, checked and handed to every round when declared', () => {
    const parsed = logisticFitDefinition.parseFitSpec({ ...spec, featureClip: 'clip', gradientClip: 0.5 });
    expect([parsed.featureClip, parsed.gradientClip]).toEqual(['clip', 0.5]);
    const round = logisticFitDefinition.roundQuery(parsed, logisticFitDefinition.initialState(parsed), 1, 'f').spec;
    expect([round.featureClip, round.gradientClip]).toEqual(['clip', 0.5]);
    expect(logisticRoundQuery.parseSpec({ kind: LOGISTIC_ROUND_KIND, ...round })).toEqual({ kind: LOGISTIC_ROUND_KIND, ...round });
    for (const bad of [{ featureClip: 'clamp' }, { gradientClip: 0 }, { gradientClip: -1 }, { gradientClip: 2e6 }]) {
      expect(() => logisticFitDefinition.parseFitSpec({ ...spec, ...bad }), JSON.stringify(bad)).toThrow();
    }
  });

  it('leave the layout unchanged unless a gradient clip below maxFeatureAbs narrows the gradient fields', () => {
    expect(logisticRoundFields({ ...base, featureClip: 'clip' })).toEqual(logisticRoundFields(base));
    const clipped = logisticRoundFields({ ...base, gradientClip: 0.5 });
    const plain = logisticRoundFields(base);
    expect(clipped.map((f) => f.name)).toEqual(plain.map((f) => f.name));
    for (const [i, f] of clipped.entries()) {
      if (f.name.startsWith('g.')) expect(f.max).toBe(BigInt(base.maxRows) << 41n); // ⌈log2(0.5 + 1)⌉ = 1 bit
      else expect(f.max).toBe(plain[i]!.max);
    }
    const sensitivity = logisticRoundSensitivity({ ...base, gradientClip: 0.5 }).perField;
    expect(sensitivity['g.0+']).toBe(BigInt(2 ** 39) + 2n);
    expect(logisticRoundSensitivity(base).perField['g.0+']).toBe(BigInt(2 * 2 ** 40) + 2n);
  });
});

describe('feature clipping at the shop', () => {
  const outliers: Row[] = [...rows, { x: [1, 7.5, -0.5], y: 1 }, { x: [1, -3, -9], y: 0 }];

  it('without it, a row beyond maxFeatureAbs refuses the round (as before)', () => {
    expect(() => logisticRoundSums(base, beta, outliers)).toThrow(/feature a: \|7\.5\| exceeds maxFeatureAbs 2/);
    expect(() => logisticRoundSums({ ...base, featureClip: 'decline' }, beta, outliers)).toThrow(RangeError);
  });

  it('with it, the shop answers with exactly the sums of its rows clipped to ±maxFeatureAbs', () => {
    const clippedByHand = outliers.map((r) => ({ x: clipRow(r.x, { maxFeatureAbs: 2, clipFeatures: true }), y: r.y }));
    expect(clippedByHand[40]!.x).toEqual([1, 2, -0.5]);
    expect(logisticRoundSums({ ...base, featureClip: 'clip' }, beta, outliers)).toEqual(logisticRoundSums(base, beta, clippedByHand));
  });
});

describe('gradient clipping at the shop', () => {
  const spec: LogisticRoundShape = { ...base, featureClip: 'clip', gradientClip: 0.6 };
  const fields = logisticRoundFields(spec);

  it('scales each row\'s gradient to norm G and leaves the Hessian, log-likelihood and counts as they were', () => {
    const values = logisticRoundSums(spec, beta, rows);
    const expected = [0, 0, 0];
    let clipped = 0;
    for (const r of rows) {
      const g = rowGradient(r.x, r.y, beta, { maxFeatureAbs: 2, clipFeatures: true, gradientClip: 0.6 });
      if (g.clipped) clipped++;
      g.g.forEach((v, j) => (expected[j]! += v));
    }
    expect(clipped).toBeGreaterThan(5);
    expect(clipped).toBeLessThan(rows.length - 5);
    for (let j = 0; j < 3; j++) expect(Math.abs(real(fields, values, `g.${j}`) - expected[j]!)).toBeLessThan(1e-9);
    const unclipped = logisticRoundSums(base, beta, rows);
    const plainFields = logisticRoundFields(base);
    for (const [i, f] of fields.entries()) {
      if (!f.name.startsWith('g.')) expect([f.name, values[i]]).toEqual([f.name, unclipped[plainFields.findIndex((p) => p.name === f.name)]]);
    }
  });

  const row = fc.record({
    x: fc.array(fc.oneof(fc.constant(0), fc.constant(2), fc.constant(-50), fc.double({ min: -6, max: 6, noNaN: true })), { minLength: 2, maxLength: 2 }),
    y: fc.constantFrom(0 as const, 1 as const),
  });

  it('keeps the key holder\'s relations for any honest shops: rows beyond F, saturated p, G above and below F', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(row, { maxLength: 30 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.oneof(fc.double({ min: -5, max: 5, noNaN: true }), fc.constantFrom(-1e3, 1e3, 0)), { minLength: 3, maxLength: 3 }),
        fc.constantFrom(1e-3, 0.6, 1.5, 10),
        (shopRows, b, g) => {
          const shape: LogisticRoundShape = { ...base, featureClip: 'clip', gradientClip: g };
          const layout = logisticRoundFields(shape);
          const perShop = shopRows.map((rs) => logisticRoundSums(shape, b, rs.map((r) => ({ x: [1, ...r.x], y: r.y }))));
          expect(logisticRoundInputViolation(shape, pooled(layout, perShop), perShop.length)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  describe('refuses a pooled gradient beyond the declared clip', () => {
    const perShop = [logisticRoundSums(spec, beta, rows), logisticRoundSums(spec, beta, rows.slice(10))];
    const honest = pooled(fields, perShop);
    const n = Number(honest.get('n'));
    const unit = (x: number) => BigInt(Math.round(x * 2 ** 40));
    const withGradient = (g: number[]) => {
      const out = new Map(honest);
      g.forEach((v, j) => {
        out.set(`g.${j}+`, v > 0 ? unit(v) : 0n);
        out.set(`g.${j}-`, v < 0 ? unit(-v) : 0n);
      });
      return out;
    };

    it('one component beyond G x its support', () => {
      expect(logisticRoundInputViolation(spec, honest, 2)).toBeUndefined();
      const nzA = Number(honest.get('nz(a)'));
      // Below what maxFeatureAbs alone would allow (2 per row), above 0.6 per row.
      expect(logisticRoundInputViolation({ ...spec, gradientClip: undefined }, withGradient([0, 0.61 * nzA, 0]), 2)).toBeUndefined();
      expect(logisticRoundInputViolation(spec, withGradient([0, 0.61 * nzA, 0]), 2)).toMatch(/^\|g\.1\| is \d+, above gradientClip x the rows where a is nonzero/);
    });

    it('the whole vector beyond G x n though every component is within it', () => {
      const each = (0.6 * n) / Math.sqrt(2) * 1.01;
      expect(logisticRoundInputViolation(spec, withGradient([each, -each, 0]), 2)).toMatch(/^\|g\|\^2 .* is \d+, above gradientClip\^2 x n\^2/);
      const inside = (0.6 * n) / Math.sqrt(2) * 0.999;
      expect(logisticRoundInputViolation(spec, withGradient([inside, -inside, 0]), 2)).toBeUndefined();
    });
  });
});

describe('logistic-model with a gradient clip', () => {
  /** The guide's example without its declared city levels (the synthetic shops' cities are not declared levels). */
  const example = (() => {
    const g = kindGuides().find((k) => k.kind === LOGISTIC_MODEL_KIND)!;
    const { levels: _, ...rest } = g.example as Record<string, unknown>;
    return { ...rest, kind: LOGISTIC_MODEL_KIND, formula: String(g.example.formula).replace(' + C(city_level)', '') };
  })();
  const roundOf = (json: Record<string, unknown>): LogisticModelRoundSpec => {
    const fit = logisticModelFitDefinition.parseFitSpec(json);
    const round = logisticModelFitDefinition.roundQuery(fit, logisticModelFitDefinition.initialState(fit), 1, 'f');
    expect(round.kind).toBe(LOGISTIC_MODEL_ROUND_KIND);
    return logisticModelRoundQuery.parseSpec({ ...round.spec, kind: round.kind });
  };

  it('is absent unless declared, and then clips each row\'s gradient and bounds the pooled one', async () => {
    expect('gradientClip' in roundOf(example)).toBe(false);
    const spec = roundOf({ ...example, gradientClip: 0.5 });
    expect(spec.gradientClip).toBe(0.5);
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-logistic-clip-'));
    const manifest = await writeSynth(dir, { shops: 3, seed: 'logistic-model-clip' });
    const shops = await Promise.all(manifest.shops.map((s) => loadShopData(join(dir, s.dir))));
    const fields = logisticModelRoundQuery.fields(spec);
    const perShop = shops.map((shop) => logisticModelRoundQuery.computeLocal(spec, shop));
    const d = spec.beta.length;
    const expected = new Array<number>(d).fill(0);
    let clipped = 0;
    for (const shop of shops) {
      for (const r of logisticModelRows(spec, shop)) {
        const g = rowGradient(r.x, r.y, spec.beta, { maxFeatureAbs: Infinity, clipFeatures: false, gradientClip: 0.5 });
        if (g.clipped) clipped++;
        g.g.forEach((v, j) => (expected[j]! += v));
      }
    }
    expect(clipped).toBeGreaterThan(0);
    const totals = pooled(fields, perShop);
    for (let j = 0; j < d; j++) expect(Math.abs(Number(totals.get(`g.${j}+`)! - totals.get(`g.${j}-`)!) / 2 ** 40 - expected[j]!)).toBeLessThan(1e-6);
    expect(logisticModelRoundQuery.inputViolation!(spec, totals, shops.length)).toBeUndefined();
    const n = Number(totals.get('n'));
    const beyond = new Map(totals);
    beyond.set('g.0+', BigInt(Math.round(0.51 * n * 2 ** 40)));
    beyond.set('g.0-', 0n);
    expect(logisticModelRoundQuery.inputViolation!(spec, beyond, shops.length)).toMatch(/above gradientClip x/);
  }, 120_000);
});

describe('scoring a model fitted on clipped features', () => {
  it('clips held-out rows and customers to the bound the fit clipped to, and leaves the rows of other models as they are', async () => {
    expect(logisticModelFeatures({ featureClip: 'clip', maxFeatureAbs: 3 }, [1, -7, 3.5, -2])).toEqual([1, -3, 3, -2]);
    expect(logisticModelFeatures({ featureClip: 'decline', maxFeatureAbs: 3 }, [1, -7])).toEqual([1, -7]);
    expect(logisticModelFeatures({}, [1, -7])).toEqual([1, -7]);
    // The model records the bound only when it clipped.
    const fitJson = { kind: LOGISTIC_FIT_KIND, purpose: 'churn-modelling', features: ['intercept', 'orders', 'avg_order_value'], label: 'churning', maxFeatureAbs: 3 };
    const finish = (json: Record<string, unknown>) => {
      const spec = logisticFitDefinition.parseFitSpec(json);
      const state = logisticFitDefinition.initialState(spec);
      const next = logisticFitDefinition.advance(spec, { ...state, beta: [0.1, 0.2, -0.1] }, { n: 100, logLikelihood: -50, gradient: [0, 0, 0], hessian: [[25, 1, 0], [1, 25, 0], [0, 0, 25]] }, 3);
      return next.done ? next.model : undefined;
    };
    expect(finish({ ...fitJson, featureClip: 'clip' })).toMatchObject({ featureClip: 'clip', maxFeatureAbs: 3 });
    expect(finish(fitJson)).not.toHaveProperty('maxFeatureAbs');
    // A score-histogram round with clipFeaturesAt: the sums of the held-out rows clipped, computed here.
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-logistic-clip-eval-'));
    const manifest = await writeSynth(dir, { shops: 1, seed: 'logistic-clip-eval' });
    const shop = await loadShopData(join(dir, manifest.shops[0]!.dir));
    const base = { kind: SCORE_HISTOGRAM_KIND, purpose: 'churn-modelling', features: fitJson.features, label: 'churning', coefficients: [-1, 0.4, 0.3], holdoutPercent: 20 };
    const clipped = scoreHistogramQuery.parseSpec({ ...base, clipFeaturesAt: 3 });
    const rows = featureRows(shop, clipped.features, clipped.label, { holdoutPercent: 20, part: 'holdout' });
    expect(rows.some((r) => r.x.some((v) => Math.abs(v) > 3))).toBe(true);
    const link = (x: readonly number[]) => x.reduce((a, v, j) => a + v * clipped.coefficients[j]!, 0);
    const clip = (x: readonly number[]) => x.map((v) => Math.min(3, Math.max(-3, v)));
    expect(scoreHistogramQuery.computeLocal(clipped, shop)).toEqual(scoreHistogramSums(clipped, rows.map((r) => ({ link: link(clip(r.x)), y: r.y }))));
    const plain = scoreHistogramQuery.parseSpec(base);
    expect(scoreHistogramQuery.computeLocal(plain, shop)).toEqual(scoreHistogramSums(plain, rows.map((r) => ({ link: link(r.x), y: r.y }))));
    expect(scoreHistogramQuery.computeLocal(plain, shop)).not.toEqual(scoreHistogramQuery.computeLocal(clipped, shop));
  }, 120_000);
});
