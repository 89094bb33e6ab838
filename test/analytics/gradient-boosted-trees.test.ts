/**
 * The `gradient-boosted-trees` model kind and its `gbt-level` rounds
 * (analytics/gradient-boosted-trees.ts), without a cluster: specs and their
 * canonical round trip, the fields and cells of a level, rows read from a
 * declared table and from customers, a whole fit driven through the kind's
 * own functions (each shop's vector summed as integers, the plaintext stand-in
 * for the encrypted sum) against the pooled fit, the relations and release
 * rules the key holder checks, and the refusals of the fit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson } from '../../analytics/canonical-json.js';
import { QuerySpecError } from '../../analytics/errors.js';
import {
  GBT_LEAF_OVERLAP_KIND,
  GBT_LEVEL_KIND,
  advanceGbtFit,
  gbtFitDefinition,
  gbtLevelQuery,
  gbtRows,
  gbtSpecOf,
  parseGbtFitSpec,
  type GbtFitModel,
  type GbtFitSpec,
  type GbtFitState,
  type GbtLevelResult,
  type GbtLevelSpec,
} from '../../analytics/gradient-boosted-trees.js';
import { gbtPredict } from '../../analytics/gbt-tree.js';
import { checkModelRules } from '../../analytics/model-rules.js';
import type { ReleasedTotals } from '../../analytics/query-definition.js';
import { getQueryDefinition } from '../../analytics/registry.js';
import type { ShopData } from '../../analytics/shop-data.js';
import { roundView } from '../../client-sdk/index.js';
import { DEFAULT_FIELD_CLASSIFICATION, DEFAULT_PURPOSES, type PurposeDefinition } from '../../compliance/index.js';
import { pooledFit } from '../helpers/pooled-gbt.js';
import { datasetArb, splitShops } from '../helpers/random-shop-data.js';
import { mulberry32 } from '../helpers/mulberry32.js';

const BRANDS = ['A', 'B', 'C', 'D', 'E'];

type Row = { price: number; promo: number; brand: string; units: number };

/** Store-week-like rows of a business table, per shop (unequal sizes). */
function tableRows(sizes: readonly number[], seed: number): Row[][] {
  const rand = mulberry32(seed);
  return sizes.map((size, s) =>
    Array.from({ length: size }, () => {
      const price = Math.round((1.5 + 4.5 * rand()) * 100) / 100;
      const promo = rand() < 0.3 + 0.1 * s ? 1 : 0;
      const brand = BRANDS[Math.floor(rand() * BRANDS.length)] as string;
      const units = Math.round(200 - 40 * Math.log(price) + 25 * promo + (brand === 'B' ? 15 : brand === 'E' ? -10 : 0) + 20 * (rand() - 0.5));
      return { price, promo, brand, units };
    }),
  );
}

const shopOf = (rows: readonly Row[], i: number): ShopData => ({ shopId: `s${i}`, customers: [], orders: [], tables: { sales: { rows } } });

const VARIABLES = [
  { name: 'price', type: 'numeric', edges: [2, 2.5, 3, 3.5, 4, 4.5, 5] },
  { name: 'promo', type: 'numeric', edges: [0.5] },
  { name: 'brand', type: 'categorical', levels: BRANDS },
];

function fitSpec(over: Record<string, unknown> = {}): GbtFitSpec {
  return parseGbtFitSpec({ kind: 'gradient-boosted-trees', purpose: 'sales-analytics', data: 'sales', label: { name: 'units', type: 'numeric', maxAbs: 1000 }, variables: VARIABLES, trees: 3, depth: 2, ...over });
}

/** A release of the whole level, as the key holder makes it under k. */
function release(fields: readonly string[], summed: readonly bigint[], k: number): ReleasedTotals {
  return { cells: { all: { suppressed: false, totals: Object.fromEntries(fields.map((f, i) => [f, summed[i] as bigint])) } }, minSubjects: k };
}

/** Publishes rounds as the fit runner does (through canonical JSON), lets each shop compute, sums, checks and advances. */
function federatedFit(spec: GbtFitSpec, shops: readonly ShopData[], k: (round: number) => number): { model: GbtFitModel; rounds: number; levels: GbtLevelSpec[]; kinds: string[] } {
  let state = gbtFitDefinition.initialState(spec);
  const levels: GbtLevelSpec[] = [];
  const kinds: string[] = [];
  for (let round = 1; round < 100; round++) {
    const q = gbtFitDefinition.roundQuery(spec, state, round, 'fit-test');
    // Levels, and after every tree from the second its leaf-overlap round.
    expect([GBT_LEVEL_KIND, GBT_LEAF_OVERLAP_KIND]).toContain(q.kind);
    kinds.push(q.kind);
    const def = getQueryDefinition(q.kind);
    const roundSpec = def.parseSpec(JSON.parse(canonicalSpecJson({ ...q.spec, kind: q.kind })));
    if (q.kind === GBT_LEVEL_KIND) levels.push(roundSpec as GbtLevelSpec);
    const fields = def.fields(roundSpec).map((f) => f.name);
    const vectors = shops.map((shop) => def.computeLocal(roundSpec, shop));
    const summed = fields.map((_, i) => vectors.reduce((a, v) => a + (v[i] as bigint), 0n));
    const totals = new Map(fields.map((f, i) => [f, summed[i] as bigint]));
    expect(def.inputViolation?.(roundSpec, totals, shops.length)).toBeUndefined();
    expect(checkModelRules(def.modelRules!(roundSpec), totals, k(round), 0.2).refusal).toBeNull();
    const result = def.finalise(roundSpec, release(fields, summed, k(round)));
    const next = gbtFitDefinition.advance(spec, JSON.parse(JSON.stringify(state)) as GbtFitState, result, round);
    if (next.done) return { model: JSON.parse(canonicalSpecJson(next.model)) as GbtFitModel, rounds: round, levels, kinds };
    state = next.state;
  }
  throw new Error('the fit did not end');
}

describe('gradient-boosted-trees: specs', () => {
  it('parses a fit spec into its written form with defaults, and its canonical JSON parses back to it', () => {
    const spec = parseGbtFitSpec({ kind: 'gradient-boosted-trees', purpose: 'sales-analytics', data: 'sales', label: { name: 'units', type: 'numeric' }, variables: VARIABLES });
    expect(spec).toEqual({
      kind: 'gradient-boosted-trees',
      purpose: 'sales-analytics',
      data: 'sales',
      holdoutPercent: 0,
      label: { name: 'units', type: 'numeric', maxAbs: 1e6 },
      variables: VARIABLES,
      trees: 20,
      depth: 3,
      learningRate: 0.1,
      l2: 1,
      bins: 16,
      minSplitGain: 0,
      baseMargin: 0,
      maxRows: 2 ** 24,
    });
    expect(parseGbtFitSpec(JSON.parse(canonicalSpecJson(spec)))).toEqual(spec);
    expect(gbtFitDefinition.inputFields(spec)).toEqual(['sales.brand', 'sales.price', 'sales.promo', 'sales.units']);
    expect(fitSpec({ minLeafSubjects: 40 }).minLeafSubjects).toBe(40);
  });

  it('reads customer models through model-data: aggregates, built-in categoricals and named features, with their input fields', () => {
    const spec = parseGbtFitSpec(gbtFitDefinition.guide.example && { ...gbtFitDefinition.guide.example, kind: 'gradient-boosted-trees' });
    expect(gbtFitDefinition.inputFields(spec)).toEqual(['customer.age_band', 'customer.lifecycle_stage', 'customer.signup_at', 'order.amount', 'order.ordered_at', 'order.returned']);
    // Customers are held out by pseudonym, 20 % unless the spec says otherwise.
    expect(spec.holdoutPercent).toBe(20);
    expect(parseGbtFitSpec(JSON.parse(canonicalSpecJson(spec)))).toEqual(spec);
  });

  it('refuses orders as rows, a built-in categorical declared numeric, a categorical label, too large a forest, and aggregates of nothing', () => {
    const refuse = (over: Record<string, unknown>, path: string) => {
      try {
        fitSpec(over);
      } catch (err) {
        expect(err).toBeInstanceOf(QuerySpecError);
        expect((err as QuerySpecError).path).toBe(path);
        return;
      }
      throw new Error(`accepted ${JSON.stringify(over)}`);
    };
    const customers = { data: 'customers', asOf: '2026-01-01T00:00:00Z', aggregates: { units: 'count(orders)' } };
    refuse({ data: 'orders', asOf: '2026-01-01T00:00:00Z' }, 'data');
    refuse({ ...customers, variables: [{ name: 'city_level', type: 'numeric', edges: [1] }] }, 'variables.0.type');
    refuse({ ...customers, label: { name: 'age_band', type: 'numeric' }, aggregates: {} }, 'label.name');
    refuse({ trees: 500, depth: 6 }, 'trees');
    refuse({ ...customers, aggregates: { spend: 'sum(order.amount)' } }, 'aggregates.spend');
    refuse({ ...customers, aggregates: { brand: 'count(orders)', units: 'count(orders)' } }, 'variables.2.type');
    refuse({ data: 'customers' }, 'asOf');
    // Table rows have no stable key to split by: no hold-out (the default there is 0).
    refuse({ holdoutPercent: 10 }, 'holdoutPercent');
    refuse({ ...customers, holdoutPercent: 51 }, 'holdoutPercent');
    expect(fitSpec({ holdoutPercent: 0 }).holdoutPercent).toBe(0);
    refuse({ customerRows: true }, '');
  });

  it('a round carries the spec and the model so far, and refuses a forest that is not a fit of its spec', () => {
    const spec = fitSpec();
    const q = gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'fit-1');
    const json = { ...q.spec, kind: q.kind };
    const level = gbtLevelQuery.parseSpec(json);
    expect(level.forest).toEqual([{ nodes: [{ id: 0, kind: 'open' }] }]);
    expect(gbtLevelQuery.parseSpec(JSON.parse(canonicalSpecJson(level)))).toEqual(level);
    expect(gbtLevelQuery.fitIdOf?.(level)).toBe('fit-1');
    expect(gbtLevelQuery.disclosureRole).toBe('fit-round');
    const fields = gbtLevelQuery.fields(level).map((f) => f.name);
    expect(fields[0]).toBe('n');
    expect(fields).toHaveLength(1 + (8 + 2 + 5) * 3);
    expect(gbtLevelQuery.cells(level)).toEqual([{ name: 'all', subjectsField: 'n', fields }]);
    const bad = (forest: unknown, path: RegExp) => expect(() => gbtLevelQuery.parseSpec({ ...json, forest })).toThrow(path);
    bad([{ nodes: [{ id: 0, kind: 'leaf', value: 1 }] }], /forest\.0: the last tree has no open node/);
    bad([{ nodes: [{ id: 0, kind: 'open' }] }, { nodes: [{ id: 0, kind: 'open' }] }], /only the last tree may be growing/);
    bad([{ nodes: [{ id: 0, kind: 'split', split: { type: 'numeric', variable: 'price', bin: 1, threshold: 2.4 } }, { id: 1, kind: 'open' }, { id: 2, kind: 'open' }] }], /threshold: not the edge 1 of price/);
    bad([{ nodes: [{ id: 0, kind: 'split', split: { type: 'categorical', variable: 'brand', levels: ['Z'] } }, { id: 1, kind: 'open' }, { id: 2, kind: 'open' }] }], /levels/);
    bad([{ nodes: [{ id: 0, kind: 'split', split: { type: 'numeric', variable: 'price', bin: 0, threshold: 2 } }, { id: 1, kind: 'open' }] }], /lacks a child/);
    bad([{ nodes: [{ id: 0, kind: 'open' }, { id: 1, kind: 'open' }] }], /not the child of a split/);
    bad([{ nodes: [{ id: 0, kind: 'open', subjects: 4 }] }], /forest\.0\.nodes\.0/);
    expect(() => gbtLevelQuery.parseSpec({ ...json, units: 1 })).toThrow(QuerySpecError);
  });

  it('the largest forest a fit may grow travels in a round spec of under 2 MiB', () => {
    const spec = fitSpec({ trees: 128, depth: 6, variables: [...VARIABLES, { name: 'units_lag', type: 'categorical', levels: ['low', 'mid', 'high'] }] });
    const full = {
      nodes: Array.from({ length: 127 }, (_, id) =>
        id < 63
          ? { id, kind: 'split' as const, split: id % 2 === 0 ? { type: 'numeric' as const, variable: 'price', bin: 6, threshold: 5 } : { type: 'categorical' as const, variable: 'units_lag', levels: ['low', 'mid'] } }
          : { id, kind: 'leaf' as const, subjects: 10, value: -0.12345678901234567 * id },
      ),
    };
    const trees = [...Array.from({ length: 127 }, () => ({ nodes: full.nodes.map((n) => (n.kind === 'split' ? { ...n, subjects: 20 } : n)) })), { nodes: [{ id: 0, kind: 'open' as const }] }];
    const q = gbtFitDefinition.roundQuery(spec, { trees }, 64, 'fit-big');
    const text = canonicalSpecJson({ ...q.spec, kind: q.kind });
    expect(text.length).toBeLessThan(2 * 1024 * 1024);
    console.info(`largest forest: ${(text.length / 1024 / 1024).toFixed(2)} MiB`);
    expect(gbtLevelQuery.parseSpec(JSON.parse(text)).forest).toHaveLength(128);
  });
});

describe('gradient-boosted-trees: customers', () => {
  const KEY = new Uint8Array(32).fill(5);
  const EVERYTHING: PurposeDefinition = { ...DEFAULT_PURPOSES[0]!, allowedFields: DEFAULT_FIELD_CLASSIFICATION.fields.map((f) => f.field) };

  it("a level of the guide's customer model reads nothing outside its inputFields, and every row it reads has a 0/1 label (property)", () => {
    const spec = parseGbtFitSpec({ ...gbtFitDefinition.guide.example, kind: 'gradient-boosted-trees' });
    const q = gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'fit-fields');
    const level = gbtLevelQuery.parseSpec({ ...q.spec, kind: q.kind });
    const only: PurposeDefinition = { ...EVERYTHING, allowedFields: [...gbtLevelQuery.inputFields(level)] };
    let read = 0;
    fc.assert(
      fc.property(datasetArb(1, 0, 25), (d) => {
        const [shop] = splitShops(d);
        const ids = new Set(shop!.customers.map((c) => c.customerId));
        const view = roundView(shop!, ids, only, KEY);
        const values = gbtLevelQuery.computeLocal(level, view);
        expect(values).toEqual(gbtLevelQuery.computeLocal(level, roundView(shop!, ids, EVERYTHING, KEY)));
        // The level counts the training split only; with the held-out customers it makes up every row.
        const rows = gbtRows(level, view, 'train');
        expect(values[0]).toBe(BigInt(rows.length));
        expect(rows.length + gbtRows(level, view, 'holdout').length).toBe(gbtRows(level, view).length);
        expect(rows.every((r) => r.y === 0 || r.y === 1)).toBe(true);
        read += rows.length;
      }),
      { numRuns: 40 },
    );
    expect(read).toBeGreaterThan(0);
  });
});

describe('gradient-boosted-trees: a fit through the kind', () => {
  const shops = tableRows([60, 150, 400], 17).map(shopOf);

  it('reads the rows of a declared table, leaving out rows with a missing value and refusing wrong values by name', () => {
    const spec = fitSpec();
    const rows = gbtRows(spec, shopOf([{ price: 2.2, promo: 1, brand: 'C', units: 180 }, { price: 3, promo: null, brand: 'A', units: 170 } as unknown as Row], 0));
    expect(rows).toEqual([{ x: { price: 2.2, promo: 1, brand: 'C' }, y: 180 }]);
    expect(() => gbtRows(spec, shopOf([{ price: 2.2, promo: 1, brand: 'Z', units: 180 }], 0))).toThrow(/brand/);
    expect(() => gbtRows(spec, shopOf([{ price: 2.2, promo: 1, brand: 'A', units: 5000 }], 0))).toThrow(/label units: some row lies beyond maxAbs 1000$/);
    const binary = fitSpec({ label: { name: 'promo', type: 'binary' }, variables: [VARIABLES[0], VARIABLES[2], { name: 'units', type: 'numeric', edges: [150, 200] }] });
    expect(() => gbtRows(binary, shopOf([{ price: 2.2, promo: 2, brand: 'A', units: 50 }], 0))).toThrow(/a binary label is 0, 1, TRUE or FALSE/);
  });

  for (const label of ['numeric', 'binary'] as const) {
    it(`${label} label: the federated model equals the pooled fit, with minLeafSubjects from the release's k`, () => {
      const spec =
        label === 'numeric'
          ? fitSpec({ learningRate: 0.5 })
          : fitSpec({ label: { name: 'promo', type: 'binary' }, variables: [VARIABLES[0], VARIABLES[2], { name: 'units', type: 'numeric', edges: [150, 175, 200, 225] }], learningRate: 0.5 });
      const { model, rounds, levels, kinds } = federatedFit(spec, shops, () => 10);
      // One overlap round after each tree from the second, right after its last level.
      expect(rounds).toBe(levels.length + spec.trees - 1);
      expect(kinds.filter((kind) => kind === GBT_LEAF_OVERLAP_KIND)).toHaveLength(spec.trees - 1);
      expect(kinds.at(-1)).toBe(GBT_LEAF_OVERLAP_KIND);
      expect(model.minLeafSubjects).toBe(10);
      expect(model.trainingRows).toBe(610);
      const rows = shops.flatMap((s) => gbtRows(spec, s));
      const pooled = pooledFit({ ...gbtSpecOf(spec), minLeafSubjects: 10 }, rows);
      expect(model.trees).toHaveLength(3);
      let splits = 0;
      model.trees.forEach((tree, t) => {
        const want = pooled.trees[t]!;
        expect(tree.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects])).toEqual(want.map((n) => [n.id, n.kind, n.subjects]));
        tree.nodes.forEach((n, i) => {
          const w = want[i]!;
          if (n.kind === 'split' && w.kind === 'split') {
            splits++;
            expect(n.split.variable).toBe(w.variable);
            if (n.split.type === 'numeric') expect(n.split.threshold).toBe(w.threshold);
            else expect(n.split.levels).toEqual(w.levels);
          }
          if (n.kind === 'leaf' && w.kind === 'leaf') expect(Math.abs(n.value - w.value)).toBeLessThanOrEqual(1e-9 * Math.abs(w.value));
        });
      });
      expect(splits).toBeGreaterThan(3);
      rows.forEach((row, i) => {
        const m = pooled.margins[i]!;
        const want = label === 'binary' ? 1 / (1 + Math.exp(-m)) : m;
        expect(Math.abs(gbtPredict(model, row) - want)).toBeLessThanOrEqual(1e-9 * Math.abs(want));
      });
    });
  }

  it('the key holder refuses level sums no honest shops send: counts that disagree across variables or with n, |G| beyond the bound, H beyond n/4', () => {
    const spec = fitSpec({ label: { name: 'promo', type: 'binary' }, variables: [VARIABLES[0], VARIABLES[2]] });
    const level = gbtLevelQuery.parseSpec({ ...gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'f').spec, kind: GBT_LEVEL_KIND });
    const fields = gbtLevelQuery.fields(level).map((f) => f.name);
    const vectors = shops.map((shop) => gbtLevelQuery.computeLocal(level, shop));
    const honest = new Map(fields.map((f, i) => [f, vectors.reduce((a, v) => a + (v[i] as bigint), 0n)]));
    const check = (patch: Record<string, bigint>) => gbtLevelQuery.inputViolation?.(level, new Map([...honest, ...Object.entries(patch)]), 3);
    expect(check({})).toBeUndefined();
    const at = (name: string) => honest.get(name) as bigint;
    expect(check({ 'node0.brand.1.n': at('node0.brand.1.n') + 1n })).toMatch(/rows of node 0 counted over the bins of brand/);
    expect(check({ n: at('n') + 1n })).toMatch(/^n is/);
    expect(check({ 'node0.price.3.g+': at('node0.price.3.n') << 49n })).toMatch(/\|node0\.price\.3\.g\|/);
    expect(check({ 'node0.price.3.h': at('node0.price.3.n') << 47n })).toMatch(/node0\.price\.3\.h is/);
    // A node holding fewer than k rows (a shop gone since the previous level) is refused by the release rules.
    const rules = gbtLevelQuery.modelRules!(level);
    expect(checkModelRules(rules, new Map([...honest, ['n', 5n], ...fields.filter((f) => f.startsWith('node0.price.') && f.endsWith('.n')).map((f, i): [string, bigint] => [f, i === 0 ? 5n : 0n])]), 10, 0.2).refusal?.code).toBe(
      'LEVEL_TOO_FEW_SUBJECTS',
    );
  });

  it("stops the fit when the declared minLeafSubjects is below the release's k, and stores no model whose leaves fall below k", () => {
    const declared = fitSpec({ minLeafSubjects: 5 });
    expect(() => federatedFit(declared, shops, () => 10)).toThrow(/minLeafSubjects 5 is below the purpose's k = 10/);
    // k raised between rounds (the key holder restarted with a larger k): the trees grown before hold leaves below it.
    // The leaf-overlap round after tree 2 (under k = 300) prunes tree 2 to its root, which still shares fewer than 300
    // rows with a leaf of tree 1: the fit stops there, and no model is stored.
    const spec = fitSpec({ trees: 2, depth: 1 });
    expect(() => federatedFit(spec, shops, (round) => (round === 1 ? 10 : 300))).toThrow(/root shares \d+ rows with leaf \d+ of tree 1, fewer than k = 300/);
    // And a withheld level is not advanced on.
    const level = gbtLevelQuery.parseSpec({ ...gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'f').spec, kind: GBT_LEVEL_KIND });
    expect(() => gbtLevelQuery.finalise(level, { cells: { all: { suppressed: true } }, minSubjects: 10 })).toThrow(/withheld/);
    const noK: GbtLevelResult = { n: 0, minSubjects: undefined, histograms: { nodes: [] } };
    expect(() => advanceGbtFit(spec, gbtFitDefinition.initialState(spec), noK, 1)).toThrow(/states no k/);
  });
});
