import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeGbtLevel, GBT_SCALE_BITS, gbtLevelFields, gbtLevelFloatSums, gbtLevelLocal, gbtTotalsByName } from '../../analytics/gbt-local.js';
import { parseGbtSpec, type GbtSpec, type GbtVariable } from '../../analytics/gbt-spec.js';
import { gbtLeafOverlapCounts, pruneGbtTreeByOverlap, type GbtLeafOverlapCount } from '../../analytics/gbt-prune.js';
import { advanceGbtLevel, gbtLeafValue, gbtOpenNodeSums, type GbtSums } from '../../analytics/gbt-split.js';
import { assertReleasableGbtModel, emptyGbtModel, gbtFrontier, gbtMargin, gbtPredict, startGbtTree, type GbtModel, type GbtRow } from '../../analytics/gbt-tree.js';
import { fixedToReal } from '../../analytics/signed-real.js';
import { pooledFit, type PooledNode } from '../helpers/pooled-gbt.js';
import { mulberry32 } from '../helpers/mulberry32.js';

// ---------------------------------------------------------------------------
// Synthetic shops (seeded)

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const REGIONS = ['north', 'south', 'east', 'west', 'central'];
const CHANNELS = ['web', 'app', 'store'];

const VARIABLES = [
  { name: 'age', type: 'numeric', edges: [25, 30, 35, 40, 45, 50, 55, 60, 65, 70] },
  { name: 'spend', type: 'numeric', edges: [20, 50, 100, 200, 400, 800] },
  { name: 'region', type: 'categorical', levels: REGIONS },
  { name: 'channel', type: 'categorical', levels: CHANNELS },
];

function pick<T>(rand: () => number, items: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rand() * total;
  for (let i = 0; i < items.length; i++) {
    u -= weights[i] as number;
    if (u < 0) return items[i] as T;
  }
  return items.at(-1) as T;
}

/** Shops of unequal size and unequal mix: covariates shift with the shop. */
function makeShops(label: 'binary' | 'numeric', sizes: readonly number[], seed: number): GbtRow[][] {
  const rand = mulberry32(seed);
  return sizes.map((size, s) =>
    Array.from({ length: size }, (): GbtRow => {
      const age = 18 + 60 * rand() + 4 * s;
      const spend = Math.exp(4 + 1.1 * normal(rand) - 0.2 * s);
      const region = pick(rand, REGIONS, [1 + s, 2, 1, 1 + 2 * s, 1]);
      const channel = pick(rand, CHANNELS, [3 - s, 2, 1 + s]);
      const regional = region === 'north' ? 0.9 : region === 'west' ? -0.7 : 0;
      const x = { age, spend, region, channel };
      if (label === 'binary') {
        const t = 0.06 * (age - 45) + regional + 0.4 * Math.log(spend / 60) + (channel === 'app' ? 0.5 : 0);
        return { x, y: rand() < 1 / (1 + Math.exp(-t)) ? 1 : 0 };
      }
      return { x, y: 40 + 0.6 * age + 15 * regional + 5 * Math.log(spend) + (channel === 'store' ? -6 : 0) + 3 * normal(rand) };
    }),
  );
}

// ---------------------------------------------------------------------------
// The federated fit: each shop's encoded level sums, added as integers (the
// plaintext stand-in for the encrypted sum), decoded and split; after every
// tree from the second, each shop's leaf intersections with the earlier
// trees, added up, prune that tree (the gbt-leaf-overlap round).

function federatedFit(spec: GbtSpec, shops: readonly (readonly GbtRow[])[]): { model: GbtModel; rounds: number } {
  let model = startGbtTree(emptyGbtModel(spec));
  let sums = new Map<number, GbtSums>();
  for (let round = 1; ; round++) {
    const frontier = gbtFrontier(model);
    const fields = gbtLevelFields(spec, frontier);
    const vectors = shops.map((rows) => gbtLevelLocal(spec, model, rows));
    const summed = fields.map((_, i) => vectors.reduce((s, v) => s + (v[i] as bigint), 0n));
    const histograms = decodeGbtLevel(spec, frontier, gbtTotalsByName(fields, summed));
    for (const [id, s] of gbtOpenNodeSums(histograms)) sums.set(id, s);
    const before = model.trees.length;
    const next = advanceGbtLevel(spec, model, histograms);
    model = next.model;
    if (!next.done && model.trees.length === before) continue;
    // A tree is complete (advanceGbtLevel started the next one unless done).
    let trees = next.done ? model.trees : model.trees.slice(0, -1);
    if (trees.length >= 2) {
      round++;
      const overlaps = new Map<string, GbtLeafOverlapCount>();
      for (const rows of shops) {
        for (const o of gbtLeafOverlapCounts(spec.variables, trees, rows).overlaps) {
          const key = `${o.tree}.${o.leaf}.${o.lastLeaf}`;
          overlaps.set(key, { ...o, rows: (overlaps.get(key)?.rows ?? 0) + o.rows });
        }
      }
      const taken = sums;
      trees = [...trees.slice(0, -1), pruneGbtTreeByOverlap(trees.at(-1)!, [...overlaps.values()], spec.minLeafSubjects, (id) => gbtLeafValue(taken.get(id)!, spec))];
    }
    sums = new Map();
    model = { ...model, trees };
    if (next.done) return { model, rounds: round };
    model = startGbtTree(model);
  }
}

/** |a − b| relative to the larger magnitude, or to `floor` when both are smaller. */
const relErr = (a: number, b: number, floor = 0): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), floor));

/**
 * Compares the federated fit with the pooled one. `floor` (as a fraction of
 * the largest leaf value η·bound and margin bound) is where relative error
 * stops being meaningful: a leaf value or margin that is mathematically
 * nearly 0 (G summed to ~1e-9 of its terms) differs between any two float
 * summation orders by more than 1e-9 of itself, pooled against pooled as much
 * as pooled against federated. The fixed cases below use no floor.
 */
function compare(spec: GbtSpec, shops: readonly (readonly GbtRow[])[], floor = 0): { maxLeafRel: number; maxPredRel: number; splits: number; rounds: number } {
  const bound = spec.loss === 'logistic' ? 1 : 4 * spec.maxLabelAbs;
  const rows = shops.flat();
  const pooled = pooledFit(spec, rows);
  const { model, rounds } = federatedFit(spec, shops);
  assertReleasableGbtModel(model, spec.minLeafSubjects);
  // One round per level, and one leaf-overlap round per tree from the second.
  expect(rounds).toBeLessThanOrEqual(spec.trees * spec.depth + spec.trees - 1);
  expect(model.trees).toHaveLength(spec.trees);
  let maxLeafRel = 0;
  let splits = 0;
  model.trees.forEach((tree, t) => {
    const expected = pooled.trees[t] as PooledNode[];
    expect(tree.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? undefined : n.subjects])).toEqual(expected.map((n) => [n.id, n.kind, n.subjects]));
    tree.nodes.forEach((node, i) => {
      const want = expected[i] as PooledNode;
      if (node.kind === 'split' && want.kind === 'split') {
        splits++;
        expect(node.split.variable).toBe(want.variable);
        if (node.split.type === 'numeric') expect(node.split.threshold).toBe(want.threshold);
        else expect(node.split.levels).toEqual(want.levels);
      } else if (node.kind === 'leaf' && want.kind === 'leaf') {
        maxLeafRel = Math.max(maxLeafRel, relErr(node.value, want.value, floor * spec.learningRate * bound));
      }
    });
  });
  // The released model is plain JSON: predictions survive a round trip.
  const released = JSON.parse(JSON.stringify(model)) as GbtModel;
  let maxPredRel = 0;
  rows.forEach((row, i) => {
    const margin = pooled.margins[i] as number;
    const want = spec.loss === 'logistic' ? 1 / (1 + Math.exp(-margin)) : margin;
    maxPredRel = Math.max(maxPredRel, relErr(gbtPredict(released, row), want), relErr(gbtMargin(released, row), margin, floor * bound));
  });
  return { maxLeafRel, maxPredRel, splits, rounds };
}

describe('gradient-boosted trees: federated equals pooled', () => {
  const sizes = [40, 150, 500];

  it('logistic loss (binary label): the same splits, leaf values and predictions within 1e-9 relative', () => {
    const spec = parseGbtSpec({ kind: 'gradient-boosted-trees', purpose: 'churn-modelling', label: { name: 'churned', type: 'binary' }, variables: VARIABLES, trees: 12, depth: 3, learningRate: 0.3 }, 10);
    const r = compare(spec, makeShops('binary', sizes, 7));
    expect(r.splits).toBeGreaterThan(spec.trees); // real trees, not stumps of leaves
    expect(r.maxLeafRel).toBeLessThan(1e-9);
    expect(r.maxPredRel).toBeLessThan(1e-9);
    console.info(`gbt logistic: ${r.rounds} rounds, ${r.splits} splits, max leaf rel error ${r.maxLeafRel.toExponential(2)}, max prediction rel error ${r.maxPredRel.toExponential(2)}`);
  });

  it('squared loss (numeric label): the same splits, leaf values and predictions within 1e-9 relative', () => {
    const spec = parseGbtSpec(
      { kind: 'gradient-boosted-trees', purpose: 'marketing-analytics', label: { name: 'basket', type: 'numeric', maxAbs: 1000 }, variables: VARIABLES, trees: 12, depth: 4, l2: 2.5, minLeafSubjects: 15 },
      10,
    );
    const r = compare(spec, makeShops('numeric', sizes, 11));
    expect(r.splits).toBeGreaterThan(spec.trees);
    expect(r.maxLeafRel).toBeLessThan(1e-9);
    expect(r.maxPredRel).toBeLessThan(1e-9);
    console.info(`gbt squared: ${r.rounds} rounds, ${r.splits} splits, max leaf rel error ${r.maxLeafRel.toExponential(2)}, max prediction rel error ${r.maxPredRel.toExponential(2)}`);
  });

  it('agrees on other seeds, sizes and hyperparameters, and every leaf holds at least minLeafSubjects', () => {
    const cases = [
      { label: 'binary' as const, sizes: [25, 90, 310, 60], seed: 3, extra: { trees: 6, depth: 2, l2: 0, minLeafSubjects: 20 } },
      // The leaf-overlap rule prunes tree 5 to its root, whose value −G/(H + λ) over all rows is nearly 0 after four
      // trees at learning rate 1 (3.4e-6 against leaf values near 1e1): its relative error is rounding of G, so a floor.
      { label: 'numeric' as const, sizes: [120, 35], seed: 5, extra: { trees: 5, depth: 5, learningRate: 1, minSplitGain: 50 }, floor: 1e-6 },
      { label: 'binary' as const, sizes: [500, 40, 150], seed: 9, extra: { trees: 4, depth: 6, bins: 12, baseMargin: -0.4 } },
    ];
    for (const c of cases) {
      const spec = parseGbtSpec({ kind: 'gradient-boosted-trees', purpose: 'p', label: { name: 'y', type: c.label }, variables: VARIABLES, ...c.extra }, 10);
      const r = compare(spec, makeShops(c.label, c.sizes, c.seed), c.floor ?? 0);
      expect(r.maxLeafRel).toBeLessThan(1e-9);
      expect(r.maxPredRel).toBeLessThan(1e-9);
    }
  });

  it('agrees on random shop sizes, seeds and hyperparameters (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('binary' as const, 'numeric' as const),
        fc.array(fc.integer({ min: 5, max: 120 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.record({
          trees: fc.integer({ min: 1, max: 4 }),
          bins: fc.integer({ min: 12, max: 20 }),
          minSplitGain: fc.constantFrom(0, 0, 0.5, 5),
          baseMargin: fc.double({ min: -1, max: 1, noNaN: true }),
          depth: fc.integer({ min: 1, max: 4 }),
          learningRate: fc.double({ min: 0.05, max: 1, noNaN: true }),
          l2: fc.double({ min: 0, max: 10, noNaN: true }),
          minLeafSubjects: fc.integer({ min: 5, max: 30 }),
        }),
        (label, sizes, seed, hyper) => {
          fc.pre(sizes.reduce((a, b) => a + b, 0) >= hyper.minLeafSubjects);
          const spec = parseGbtSpec({ kind: 'gradient-boosted-trees', purpose: 'p', label: { name: 'y', type: label }, variables: VARIABLES, ...hyper }, 5);
          const r = compare(spec, makeShops(label, sizes, seed), 1e-3);
          expect(r.maxLeafRel).toBeLessThan(1e-9);
          expect(r.maxPredRel).toBeLessThan(1e-9);
        },
      ),
      { numRuns: 25 },
    );
  });
});

// ---------------------------------------------------------------------------
// Encoding: each shop rounds its float sums once; the integer sum decodes to
// the float sum of the shops' sums within half a unit per shop.

const levelArb = fc.constantFrom(...REGIONS);
const rowArb = (label: 'binary' | 'numeric'): fc.Arbitrary<GbtRow> =>
  fc.record({
    x: fc.record({ age: fc.double({ min: 0, max: 100, noNaN: true }), spend: fc.double({ min: 0, max: 1e4, noNaN: true }), region: levelArb, channel: fc.constantFrom(...CHANNELS) }),
    y: label === 'binary' ? fc.constantFrom(0, 1) : fc.double({ min: -1000, max: 1000, noNaN: true }),
  });

describe('gradient-boosted trees: fixed-point encoding', () => {
  for (const label of ['binary', 'numeric'] as const) {
    it(`${label} label: encode → integer sum → decode equals the float sum of the shops within the fixed-point bound`, () => {
      const spec = parseGbtSpec({ kind: 'gradient-boosted-trees', purpose: 'p', label: { name: 'y', type: label, ...(label === 'numeric' ? { maxAbs: 1000 } : {}) }, variables: VARIABLES }, 5);
      fc.assert(
        fc.property(fc.array(fc.array(rowArb(label), { maxLength: 60 }), { minLength: 1, maxLength: 5 }), fc.double({ min: -3, max: 3, noNaN: true }), (shops, baseMargin) => {
          const model = startGbtTree(emptyGbtModel({ ...spec, baseMargin }));
          const frontier = gbtFrontier(model);
          const fields = gbtLevelFields(spec, frontier);
          const vectors = shops.map((rows) => gbtLevelLocal(spec, model, rows));
          const summed = fields.map((_, i) => vectors.reduce((s, v) => s + (v[i] as bigint), 0n));
          const hist = decodeGbtLevel(spec, frontier, gbtTotalsByName(fields, summed));
          const floats = shops.map((rows) => gbtLevelFloatSums(spec, model, rows).sums);
          const unit = 2 ** -GBT_SCALE_BITS;
          spec.variables.forEach((v: GbtVariable, j) => {
            const bins = hist.nodes[0]!.variables[j]!;
            bins.n.forEach((n, b) => {
              const want = (key: 'g' | 'h' | 'n'): { sum: number; abs: number } => {
                let sum = 0;
                let abs = 0;
                for (const f of floats) {
                  sum += f[key][0]![j]![b]!;
                  abs += Math.abs(f[key][0]![j]![b]!);
                }
                return { sum, abs };
              };
              expect(Number(n)).toBe(want('n').sum);
              for (const key of ['g', 'h'] as const) {
                const { sum, abs } = want(key);
                const got = fixedToReal(bins[key][b] as bigint, GBT_SCALE_BITS);
                // half a unit per shop, plus the doubles' own rounding of the reference and of the decoding
                const bound = shops.length * (unit / 2) + 4 * Number.EPSILON * (abs + Math.abs(got));
                expect(Math.abs(got - sum)).toBeLessThanOrEqual(bound);
              }
            });
          });
        }),
        { numRuns: 60 },
      );
    });
  }

  it('refuses rows beyond the declared bounds or levels, never clamping them', () => {
    const binary = parseGbtSpec({ kind: 'gradient-boosted-trees', purpose: 'p', label: { name: 'y', type: 'binary' }, variables: VARIABLES }, 5);
    const model = startGbtTree(emptyGbtModel(binary));
    const ok: GbtRow = { x: { age: 30, spend: 10, region: 'north', channel: 'web' }, y: 1 };
    expect(() => gbtLevelLocal(binary, model, [ok])).not.toThrow();
    expect(() => gbtLevelLocal(binary, model, [{ ...ok, y: 2 }])).toThrow(RangeError);
    expect(() => gbtLevelLocal(binary, model, [{ ...ok, x: { ...ok.x, region: 'mars' } }])).toThrow(/not among the declared levels/);
    expect(() => gbtLevelLocal(binary, model, [{ ...ok, x: { ...ok.x, age: 'old' } }])).toThrow(TypeError);
    expect(() => gbtLevelLocal({ ...binary, maxRows: 1 }, model, [ok, ok])).toThrow(/maxRows/);
    const numeric = parseGbtSpec({ kind: 'gradient-boosted-trees', purpose: 'p', label: { name: 'y', type: 'numeric', maxAbs: 10 }, variables: VARIABLES }, 5);
    expect(() => gbtLevelLocal(numeric, startGbtTree(emptyGbtModel(numeric)), [{ ...ok, y: 11 }])).toThrow(/maxLabelAbs/);
    expect(() => gbtLevelLocal(numeric, emptyGbtModel(numeric), [ok])).toThrow(/no tree is growing/);
    // A margin so far from the label that |g| passes 4 × maxLabelAbs is refused, not clamped.
    const far: GbtModel = { ...emptyGbtModel(numeric), trees: [{ nodes: [{ id: 0, kind: 'leaf', subjects: 10, value: 45 }] }, { nodes: [{ id: 0, kind: 'open' }] }] };
    expect(() => gbtLevelLocal(numeric, far, [{ ...ok, y: -10 }])).toThrow(/per-row bound/);
    expect(() => gbtLevelLocal(numeric, far, [{ ...ok, y: 10 }])).not.toThrow();
  });

  it('lays out one n, g+, g- (and h for logistic loss) per open node, variable and bin, with distinct names', () => {
    for (const type of ['binary', 'numeric'] as const) {
      const spec = parseGbtSpec({ kind: 'gradient-boosted-trees', purpose: 'p', label: { name: 'y', type }, variables: VARIABLES }, 5);
      const bins = 11 + 7 + 5 + 3;
      const fields = gbtLevelFields(spec, [3, 4, 6]);
      expect(fields).toHaveLength(3 * bins * (type === 'binary' ? 4 : 3));
      expect(new Set(fields.map((f) => f.name)).size).toBe(fields.length);
      expect(fields.slice(0, type === 'binary' ? 4 : 3).map((f) => f.name)).toEqual(['node3.age.0.n', 'node3.age.0.g+', 'node3.age.0.g-', ...(type === 'binary' ? ['node3.age.0.h'] : [])]);
      expect(fields.every((f) => f.max > 0n)).toBe(true);
    }
  });
});
