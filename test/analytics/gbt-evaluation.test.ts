/**
 * The hold-out and the `gbt-evaluation` round of a gradient-boosted-trees
 * fit (analytics/gbt-evaluation.ts), and importance by gain, without a
 * cluster: customers of three unequal shops, split by pseudonym; each shop's
 * evaluation fields against a plain computation from its held-out rows; the
 * shops' fields summed as integers (the plaintext stand-in for the encrypted
 * sum) and finalised against the pooled held-out predictions (merged bins,
 * AUC from the same fine bins, withholding at small k); and whole fits driven
 * through the kind's own functions, whose stored evaluation and importance
 * equal the pooled ones computed here (test/helpers/pooled-gbt*.ts).
 */
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson } from '../../analytics/canonical-json.js';
import { isHoldout } from '../../analytics/customer-features.js';
import { AGE_BANDS } from '../../analytics/customer-groups.js';
import { GBT_EVALUATION_BINS, gbtEvaluationQuery, type GbtEvaluationSpec, type GbtRegressionEvaluation } from '../../analytics/gbt-evaluation.js';
import { gbtMargin, gbtPredict, type GbtRow } from '../../analytics/gbt-tree.js';
import {
  GBT_EVALUATION_KIND,
  GBT_LEAF_OVERLAP_KIND,
  GBT_LEVEL_KIND,
  gbtFitDefinition,
  gbtLevelQuery,
  gbtRows,
  gbtSpecOf,
  parseGbtFitSpec,
  type GbtFitModel,
  type GbtFitSpec,
  type GbtFitState,
} from '../../analytics/gradient-boosted-trees.js';
import type { ModelEvaluation } from '../../analytics/model-evaluation.js';
import { checkModelRules } from '../../analytics/model-rules.js';
import type { ReleasedTotals } from '../../analytics/query-definition.js';
import { getQueryDefinition } from '../../analytics/registry.js';
import { rowContents } from '../../analytics/row-scope.js';
import { LIFECYCLE_STAGES, type Customer, type Order, type ShopData } from '../../analytics/shop-data.js';
import { fixedToReal } from '../../analytics/signed-real.js';
import { pooledFit } from '../helpers/pooled-gbt.js';
import { pooledBinaryEvaluation, pooledGains, pooledMargin, pooledRegressionEvaluation } from '../helpers/pooled-gbt-evaluation.js';
import { mulberry32 } from '../helpers/mulberry32.js';

const AS_OF = '2026-01-01T00:00:00Z';
const AS_OF_S = Date.parse(AS_OF) / 1000;
const K = 10;

/** Customers with orders before asOf; returns depend on age band and spend, so the trees have something to find. */
function customerShops(sizes: readonly number[], seed: number): ShopData[] {
  const rand = mulberry32(seed);
  return sizes.map((size, s) => {
    const customers: Customer[] = [];
    const orders: Order[] = [];
    for (let i = 0; i < size; i++) {
      const customerId = `C-${s}-${String(i).padStart(5, '0')}`;
      const band = Math.floor(rand() * AGE_BANDS.length);
      customers.push({
        customerId,
        lifecycleStage: LIFECYCLE_STAGES[Math.floor(rand() * LIFECYCLE_STAGES.length)]!,
        consentAnalytics: true,
        consentMarketing: true,
        city: 'tier-1',
        ageBand: AGE_BANDS[band]!,
        signupUnixS: AS_OF_S - 86_400 * (30 + Math.floor(rand() * 900)),
      });
      const n = 1 + Math.floor(rand() * 8);
      for (let j = 0; j < n; j++) {
        const amountCents = BigInt(1000 + Math.floor(rand() * 40_000));
        const returned = rand() < 0.08 + 0.06 * band + (amountCents > 25_000n ? 0.15 : 0);
        orders.push({ orderId: `O-${customerId}-${j}`, customerId, orderedUnixS: AS_OF_S - 3600 * (1 + Math.floor(rand() * 5000)), amountCents, returned });
      }
    }
    return { shopId: `s${s}`, customers, orders };
  });
}

const VARIABLES = [
  { name: 'n_orders', type: 'numeric', edges: [2, 3, 5, 7] },
  { name: 'avg_spend', type: 'numeric', edges: [100, 150, 200, 250, 300] },
  { name: 'age_band', type: 'categorical', levels: [...AGE_BANDS] },
  { name: 'lifecycle_stage', type: 'categorical', levels: [...LIFECYCLE_STAGES] },
];

function binarySpec(over: Record<string, unknown> = {}): GbtFitSpec {
  return parseGbtFitSpec({
    kind: 'gradient-boosted-trees',
    purpose: 'marketing-analytics',
    data: 'customers',
    asOf: AS_OF,
    aggregates: { returned_any: 'max(order.returned)', n_orders: 'count(orders)', avg_spend: 'mean(order.amount)' },
    label: { name: 'returned_any', type: 'binary' },
    variables: VARIABLES,
    trees: 3,
    depth: 2,
    learningRate: 0.5,
    holdoutPercent: 25,
    ...over,
  });
}

function numericSpec(over: Record<string, unknown> = {}): GbtFitSpec {
  return parseGbtFitSpec({
    kind: 'gradient-boosted-trees',
    purpose: 'marketing-analytics',
    data: 'customers',
    asOf: AS_OF,
    aggregates: { spend: 'sum(order.amount)', n_orders: 'count(orders)' },
    label: { name: 'spend', type: 'numeric', maxAbs: 5000 },
    variables: VARIABLES.slice(0, 1).concat(VARIABLES.slice(2)),
    trees: 3,
    depth: 2,
    learningRate: 0.5,
    holdoutPercent: 25,
    ...over,
  });
}

/** A shop with only its held-out customers (or only its training ones): the split applied here, not by the code under test. */
function part(shop: ShopData, holdoutPercent: number, held: boolean): ShopData {
  const keep = new Set(shop.customers.filter((c) => isHoldout(c.customerId, holdoutPercent) === held).map((c) => c.customerId));
  return { ...shop, customers: shop.customers.filter((c) => keep.has(c.customerId)), orders: shop.orders.filter((o) => keep.has(o.customerId)) };
}

function release(fields: readonly string[], summed: readonly bigint[], k: number): ReleasedTotals {
  return { cells: { all: { suppressed: false, totals: Object.fromEntries(fields.map((f, i) => [f, summed[i] as bigint])) } }, minSubjects: k };
}

const sum = (vectors: readonly bigint[][]): bigint[] => (vectors[0] ?? []).map((_, i) => vectors.reduce((a, v) => a + (v[i] as bigint), 0n));

/** Publishes rounds as the fit runner does (through canonical JSON), lets each shop compute, checks, sums and advances, up to the stored model. */
function federatedFit(spec: GbtFitSpec, shops: readonly ShopData[], k: number): { model: GbtFitModel; kinds: string[]; evaluation: GbtEvaluationSpec | undefined } {
  let state = gbtFitDefinition.initialState(spec);
  const kinds: string[] = [];
  let evaluation: GbtEvaluationSpec | undefined;
  for (let round = 1; round < 100; round++) {
    const q = gbtFitDefinition.roundQuery(spec, state, round, 'fit-eval');
    kinds.push(q.kind);
    const json = JSON.parse(canonicalSpecJson({ ...q.spec, kind: q.kind })) as unknown;
    const definition = getQueryDefinition(q.kind);
    const roundSpec = definition.parseSpec(json);
    if (q.kind === GBT_EVALUATION_KIND) evaluation = roundSpec as GbtEvaluationSpec;
    const fields = definition.fields(roundSpec).map((f) => f.name);
    const summed = sum(shops.map((shop) => definition.computeLocal(roundSpec, shop)));
    const totals = new Map(fields.map((f, i) => [f, summed[i] as bigint]));
    expect(definition.inputViolation?.(roundSpec, totals, shops.length)).toBeUndefined();
    expect(checkModelRules(definition.modelRules!(roundSpec), totals, k, 0.2).refusal).toBeNull();
    const result = definition.finalise(roundSpec, release(fields, summed, k));
    const next = gbtFitDefinition.advance(spec, JSON.parse(JSON.stringify(state)) as GbtFitState, result, round);
    if (next.done) return { model: JSON.parse(canonicalSpecJson(next.model)) as GbtFitModel, kinds, evaluation };
    state = next.state;
  }
  throw new Error('the fit did not end');
}

/** The evaluation round of a finished model, as the fit would publish it. */
function evaluationSpecOf(spec: GbtFitSpec, shops: readonly ShopData[]): { evaluation: GbtEvaluationSpec; model: GbtFitModel } {
  const { model, evaluation } = federatedFit(spec, shops, K);
  return { evaluation: evaluation as GbtEvaluationSpec, model };
}

describe('gbt-evaluation: the hold-out', () => {
  const shops = customerShops([120, 300, 700], 41);
  const spec = binarySpec();

  it('levels read only the training customers and the evaluation only the held-out ones, and their row scopes say exactly that', () => {
    const { evaluation } = evaluationSpecOf(spec, shops);
    const level = gbtLevelQuery.parseSpec({ ...gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'f').spec, kind: GBT_LEVEL_KIND });
    for (const shop of shops) {
      const held = part(shop, 25, true);
      const train = part(shop, 25, false);
      expect(held.customers.length).toBeGreaterThan(0.15 * shop.customers.length);
      expect(gbtRows(level, shop, 'train')).toEqual(gbtRows(level, train));
      expect(gbtRows(evaluation, shop, 'holdout')).toEqual(gbtRows(evaluation, held));
      // The level's sums are those of the training customers alone; the evaluation's those of the held-out ones.
      expect(gbtLevelQuery.computeLocal(level, shop)).toEqual(gbtLevelQuery.computeLocal(level, train));
      expect(gbtEvaluationQuery.computeLocal(evaluation, shop)).toEqual(gbtEvaluationQuery.computeLocal(evaluation, held));
      const scoped = (scope: ReturnType<NonNullable<typeof gbtLevelQuery.rowScope>>) => [...rowContents(shop, gbtLevelQuery.inputFields(level), scope).customers.keys()].sort();
      expect(scoped(gbtLevelQuery.rowScope!(level))).toEqual(train.customers.map((c) => c.customerId).sort());
      expect(scoped(gbtEvaluationQuery.rowScope!(evaluation))).toEqual(held.customers.map((c) => c.customerId).sort());
    }
  });

  it('an evaluation round carries the finished model: a forest with an open node, or short of the fit\'s trees, is refused', () => {
    const { evaluation } = evaluationSpecOf(spec, shops);
    const json = JSON.parse(canonicalSpecJson(evaluation)) as Record<string, unknown>;
    expect(gbtEvaluationQuery.parseSpec(json)).toEqual(evaluation);
    expect(gbtEvaluationQuery.disclosureRole).toBe('fit-round');
    expect(gbtEvaluationQuery.fitIdOf?.(evaluation)).toBe('fit-eval');
    expect(() => gbtEvaluationQuery.parseSpec({ ...json, forest: [{ nodes: [{ id: 0, kind: 'open' }] }, { nodes: [{ id: 0, kind: 'leaf', value: 0 }] }, { nodes: [{ id: 0, kind: 'leaf', value: 0 }] }] })).toThrow(/no node is open/);
    expect(() => gbtEvaluationQuery.parseSpec({ ...json, forest: [{ nodes: [{ id: 0, kind: 'leaf', value: 0 }] }] })).toThrow(/finished model has 3/);
    expect(() => gbtLevelQuery.parseSpec({ ...json, kind: GBT_LEVEL_KIND })).toThrow(/no open node/);
  });
});

describe('gbt-evaluation: a binary label', () => {
  const shops = customerShops([120, 300, 700], 43);
  const spec = binarySpec();
  const { evaluation, model } = evaluationSpecOf(spec, shops);
  const fields = gbtEvaluationQuery.fields(evaluation).map((f) => f.name);

  it("each shop's fields are the score histograms, confusion counts and log-loss of its held-out rows, computed plainly", () => {
    for (const shop of shops) {
      const local = gbtEvaluationQuery.computeLocal(evaluation, shop);
      const values = new Map(fields.map((f, i) => [f, local[i] as bigint]));
      const rows = gbtRows(spec, part(shop, 25, true));
      const pos = new Array<number>(GBT_EVALUATION_BINS).fill(0);
      const neg = new Array<number>(GBT_EVALUATION_BINS).fill(0);
      let tp = 0, fp = 0, tn = 0, fn = 0, loss = 0;
      for (const row of rows) {
        const p = gbtPredict(model, row);
        (row.y === 1 ? pos : neg)[Math.min(999, Math.floor(p * 1000))]!++;
        if (row.y === 1) p >= 0.5 ? tp++ : fn++;
        else p >= 0.5 ? fp++ : tn++;
        loss -= row.y === 1 ? Math.log(p) : Math.log(1 - p);
      }
      expect(Number(values.get('n'))).toBe(rows.length);
      expect([tp, fp, tn, fn]).toEqual(['tp', 'fp', 'tn', 'fn'].map((f) => Number(values.get(f))));
      expect(pos).toEqual(pos.map((_, i) => Number(values.get(`pos.${i}`))));
      expect(neg).toEqual(neg.map((_, i) => Number(values.get(`neg.${i}`))));
      expect(Math.abs(fixedToReal(values.get('logloss') as bigint) - loss)).toBeLessThan(1e-9 * loss);
    }
  });

  it('the summed fields finalise to the pooled held-out evaluation: merged bins, AUC over the same fine bins, confusion and log-loss', () => {
    const summed = sum(shops.map((s) => gbtEvaluationQuery.computeLocal(evaluation, s)));
    const got = gbtEvaluationQuery.finalise(evaluation, release(fields, summed, K)).evaluation as ModelEvaluation;
    const held = shops.flatMap((s) => gbtRows(spec, part(s, 25, true)));
    const pooled = pooledBinaryEvaluation(held.map((r) => ({ margin: gbtMargin(model, r), y: r.y })), K);
    expect([got.n, got.positives, got.negatives]).toEqual([pooled.n, pooled.positives, pooled.negatives]);
    expect(got.positiveHistogram).toEqual(pooled.merged.pos);
    expect(got.negativeHistogram).toEqual(pooled.merged.neg);
    expect(got.binEdges).toEqual([...pooled.merged.starts.map((i) => i / 1000), 1]);
    expect(got.positiveHistogram.every((c, i) => c >= K && got.negativeHistogram[i]! >= K)).toBe(true);
    expect(Math.abs(got.auc! - pooled.auc!)).toBeLessThan(1e-12);
    expect(Math.abs(got.auc! - pooled.exactAuc!)).toBeLessThan(0.01);
    expect(Math.abs(got.logLoss! - pooled.logLoss!)).toBeLessThan(1e-9);
    expect(got.withheld).toEqual([]);
    const { tp, fp, tn, fn } = pooled.confusion;
    expect(got.accuracy).toBeCloseTo((tp + tn) / pooled.n, 12);
    expect(got.recall).toBeCloseTo(tp / (tp + fn), 12);
    expect(got.precision).toBeCloseTo(tp / (tp + fp), 12);
    console.info(`gbt-evaluation binary: n ${got.n}, AUC ${got.auc!.toFixed(4)} (exact ${pooled.exactAuc!.toFixed(4)}), ${got.positiveHistogram.length} merged bins, log-loss ${got.logLoss!.toFixed(4)}`);
  });

  it('withholds at small k: confusion rates on a count of 1..k-1, histograms and AUC when a label holds fewer than k, and the key holder withholds the cell for such a label', () => {
    const summed = sum(shops.map((s) => gbtEvaluationQuery.computeLocal(evaluation, s)));
    const totals = new Map(fields.map((f, i) => [f, summed[i] as bigint]));
    const held = shops.flatMap((s) => gbtRows(spec, part(s, 25, true)));
    const scored = held.map((r) => ({ margin: gbtMargin(model, r), y: r.y }));
    const counts = pooledBinaryEvaluation(scored, 1);
    const smallest = Math.min(...Object.values(counts.confusion).filter((c) => c > 0));
    const labels = Math.min(counts.positives, counts.negatives);
    // A k above the smallest confusion count withholds the rates; one above a label's rows withholds histograms and AUC.
    for (const k of [smallest + 1, labels + 1]) {
      const pooled = pooledBinaryEvaluation(scored, k);
      const got = gbtEvaluationQuery.finalise(evaluation, release(fields, summed, k)).evaluation as ModelEvaluation;
      expect(got.accuracy === null).toBe(pooled.confusionWithheld);
      expect(pooled.confusionWithheld).toBe(true);
      expect(got.auc === null).toBe(pooled.auc === null);
      expect(got.positiveHistogram).toEqual(pooled.merged.pos);
      if (pooled.auc !== null) expect(Math.abs(got.auc! - pooled.auc)).toBeLessThan(1e-12);
    }
    expect((gbtEvaluationQuery.finalise(evaluation, release(fields, summed, labels + 1)).evaluation as ModelEvaluation).auc).toBeNull();
    // The key holder withholds the whole cell when a label holds 1..k-1 held-out rows (the fit then stores its model without an evaluation).
    const ruled = checkModelRules(gbtEvaluationQuery.modelRules!(evaluation), totals, labels + 1, 0.2);
    expect([ruled.refusal, [...ruled.withheld]]).toEqual([null, ['all']]);
    expect([...checkModelRules(gbtEvaluationQuery.modelRules!(evaluation), totals, labels, 0.2).withheld]).toEqual([]);
    // Relations: an honest sum passes; a count placed outside the bins does not.
    expect(gbtEvaluationQuery.inputViolation?.(evaluation, totals, 3)).toBeUndefined();
    expect(gbtEvaluationQuery.inputViolation?.(evaluation, new Map([...totals, ['tp', (totals.get('tp') as bigint) + 1n]]), 3)).toBeDefined();
    // A withheld cell gives no evaluation, and the model is stored without one.
    const none = gbtEvaluationQuery.finalise(evaluation, { cells: { all: { suppressed: true } }, minSubjects: K });
    expect(none).toEqual({ evaluation: null });
    const { evaluation: _stored, ...unevaluated } = model;
    const state: GbtFitState = { trees: model.trees, model: unevaluated };
    const done = gbtFitDefinition.advance(spec, state, none, 9);
    expect(done.done && done.model.evaluation).toBeUndefined();
  });
});

describe('gbt-evaluation: a numeric label', () => {
  const shops = customerShops([120, 300, 700], 47);
  const spec = numericSpec();
  const { evaluation, model } = evaluationSpecOf(spec, shops);
  const fields = gbtEvaluationQuery.fields(evaluation).map((f) => f.name);

  it("each shop's fields are n, the summed squared and absolute residuals of its held-out rows", () => {
    expect(fields).toEqual(['n', 'se', 'ae']);
    for (const shop of shops) {
      const [n, se, ae] = gbtEvaluationQuery.computeLocal(evaluation, shop);
      const rows = gbtRows(spec, part(shop, 25, true));
      const r = rows.map((row) => row.y - gbtPredict(model, row));
      expect(Number(n)).toBe(rows.length);
      const plainSe = r.reduce((a, v) => a + v * v, 0);
      const plainAe = r.reduce((a, v) => a + Math.abs(v), 0);
      expect(Math.abs(fixedToReal(se as bigint) - plainSe)).toBeLessThan(1e-9 * plainSe);
      expect(Math.abs(fixedToReal(ae as bigint) - plainAe)).toBeLessThan(1e-9 * plainAe);
    }
  });

  it('finalises to RMSE and MAE when n ≥ k, withholds them below, and the key holder checks the residual bounds', () => {
    const summed = sum(shops.map((s) => gbtEvaluationQuery.computeLocal(evaluation, s)));
    const held = shops.flatMap((s) => gbtRows(spec, part(s, 25, true)));
    const pooled = pooledRegressionEvaluation(held.map((r) => ({ prediction: gbtPredict(model, r), y: r.y })));
    const got = gbtEvaluationQuery.finalise(evaluation, release(fields, summed, K)).evaluation as GbtRegressionEvaluation;
    expect(got.n).toBe(pooled.n);
    expect(Math.abs(got.rmse! - pooled.rmse)).toBeLessThan(1e-9 * pooled.rmse);
    expect(Math.abs(got.mae! - pooled.mae)).toBeLessThan(1e-9 * pooled.mae);
    const small = gbtEvaluationQuery.finalise(evaluation, release(fields, summed, pooled.n + 1)).evaluation as GbtRegressionEvaluation;
    expect([small.rmse, small.mae, small.withheld.length]).toEqual([null, null, 1]);
    const totals = new Map(fields.map((f, i) => [f, summed[i] as bigint]));
    expect(gbtEvaluationQuery.inputViolation?.(evaluation, totals, 3)).toBeUndefined();
    expect(gbtEvaluationQuery.inputViolation?.(evaluation, new Map([...totals, ['ae', (totals.get('n') as bigint) * 20_001n << 40n]]), 3)).toMatch(/^ae is/);
    expect([...checkModelRules(gbtEvaluationQuery.modelRules!(evaluation), new Map([...totals, ['n', 3n]]), K, 0.2).withheld]).toEqual(['all']);
    expect([...checkModelRules(gbtEvaluationQuery.modelRules!(evaluation), totals, K, 0.2).withheld]).toEqual([]);
  });
});

describe('gbt-evaluation: whole fits through the kind', () => {
  for (const label of ['binary', 'numeric'] as const) {
    it(`${label} label: the stored model's evaluation and importance equal the pooled ones, computed from the pooled fit on the training rows`, () => {
      const shops = customerShops([150, 400, 900], label === 'binary' ? 53 : 59);
      const spec = label === 'binary' ? binarySpec() : numericSpec();
      const { model, kinds } = federatedFit(spec, shops, K);
      // Levels, one leaf-overlap round after each tree from the second (the last one just before the evaluation), then the evaluation.
      expect(kinds.at(-1)).toBe(GBT_EVALUATION_KIND);
      expect(kinds.at(-2)).toBe(GBT_LEAF_OVERLAP_KIND);
      expect(kinds.slice(0, -1).every((k) => k === GBT_LEVEL_KIND || k === GBT_LEAF_OVERLAP_KIND)).toBe(true);
      expect(kinds.filter((k) => k === GBT_LEAF_OVERLAP_KIND)).toHaveLength(spec.trees - 1);
      expect(model.rounds).toBe(kinds.length);
      expect(model.holdoutPercent).toBe(25);
      const gbt = { ...gbtSpecOf(spec), minLeafSubjects: K };
      const train = shops.flatMap((s) => gbtRows(spec, part(s, 25, false)));
      const held = shops.flatMap((s) => gbtRows(spec, part(s, 25, true)));
      expect(model.trainingRows).toBe(train.length);
      const pooled = pooledFit(gbt, train);
      expect(model.trees.map((t) => t.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects]))).toEqual(pooled.trees.map((t) => t.map((n) => [n.id, n.kind, n.subjects])));
      const margins = held.map((r: GbtRow) => pooledMargin(pooled.trees, gbt.baseMargin, r));
      if (label === 'binary') {
        const want = pooledBinaryEvaluation(margins.map((margin, i) => ({ margin, y: held[i]!.y })), K);
        const got = model.evaluation as ModelEvaluation;
        expect([got.n, got.positives, got.negatives]).toEqual([want.n, want.positives, want.negatives]);
        expect(got.positiveHistogram).toEqual(want.merged.pos);
        expect(got.negativeHistogram).toEqual(want.merged.neg);
        expect(Math.abs(got.auc! - want.auc!)).toBeLessThan(1e-12);
        expect(Math.abs(got.logLoss! - want.logLoss!)).toBeLessThan(1e-9);
        console.info(`gbt fit, binary: ${train.length} training and ${held.length} held-out customers, AUC ${got.auc!.toFixed(4)}, log-loss ${got.logLoss!.toFixed(4)}`);
      } else {
        const want = pooledRegressionEvaluation(margins.map((prediction, i) => ({ prediction, y: held[i]!.y })));
        const got = model.evaluation as GbtRegressionEvaluation;
        expect(got.n).toBe(want.n);
        expect(Math.abs(got.rmse! - want.rmse)).toBeLessThan(1e-9 * want.rmse);
        expect(Math.abs(got.mae! - want.mae)).toBeLessThan(1e-9 * want.mae);
        console.info(`gbt fit, numeric: ${train.length} training and ${held.length} held-out customers, RMSE ${got.rmse!.toFixed(3)}, MAE ${got.mae!.toFixed(3)}`);
      }
      // Importance: total gain per variable, largest first, equal to the pooled gains within 1e-9 relative.
      const gains = pooledGains(pooled.trees, gbt.variables.map((v) => v.name));
      expect(model.importance!.map((i) => i.variable).sort()).toEqual([...gains.keys()].sort());
      for (const { variable, gain } of model.importance!) expect(Math.abs(gain - gains.get(variable)!)).toBeLessThanOrEqual(1e-9 * Math.max(gains.get(variable)!, 1e-300));
      expect(model.importance!.map((i) => i.gain)).toEqual([...model.importance!.map((i) => i.gain)].sort((a, b) => b - a));
      expect(model.importance![0]!.gain).toBeGreaterThan(0);
    });
  }

  it('without a hold-out every row trains, no evaluation round runs, and importance is still stored', () => {
    const shops = customerShops([150, 400], 61);
    const spec = binarySpec({ holdoutPercent: 0 });
    const { model, kinds } = federatedFit(spec, shops, K);
    expect(kinds.every((k) => k === GBT_LEVEL_KIND || k === GBT_LEAF_OVERLAP_KIND)).toBe(true);
    expect(kinds.filter((k) => k === GBT_LEAF_OVERLAP_KIND)).toHaveLength(spec.trees - 1);
    expect(model.evaluation).toBeUndefined();
    expect(model.holdoutPercent).toBe(0);
    expect(model.trainingRows).toBe(shops.flatMap((s) => gbtRows(spec, s)).length);
    expect(model.importance).toHaveLength(VARIABLES.length);
  });
});
