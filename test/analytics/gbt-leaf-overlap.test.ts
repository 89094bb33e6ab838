/**
 * The `gbt-leaf-overlap` round of `gradient-boosted-trees`
 * (analytics/gbt-leaf-overlap.ts): after every tree from the second, each
 * shop counts the rows each leaf of that tree shares with each leaf of every
 * earlier tree, and the fit runner prunes the tree (gbt-prune.ts). Without a
 * cluster: the spec (canonical round trip, the forest checks, refusals), each
 * shop's counts against a plain count written here (the forest walked from
 * the round's JSON), the release rules, input relations and sensitivity, the
 * fit runner's refusals, and whole fits through the registered round kinds
 * whose every pair of leaves of different trees differs by 0 or at least
 * k rows (the released k, also when minLeafSubjects is larger), counted
 * from the pooled rows, while the pooled fit without the rule has such pairs
 * on the same data.
 */
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson } from '../../analytics/canonical-json.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { gbtLeafOverlapQuery, type GbtLeafOverlapResult, type GbtLeafOverlapSpec } from '../../analytics/gbt-leaf-overlap.js';
import {
  GBT_LEAF_OVERLAP_KIND,
  GBT_LEVEL_KIND,
  gbtFitDefinition,
  gbtLevelQuery,
  gbtRows,
  gbtSpecOf,
  gbtStateAfterLeafOverlap,
  parseGbtFitSpec,
  type GbtFitModel,
  type GbtFitSpec,
  type GbtFitState,
  type GbtRoundTree,
} from '../../analytics/gradient-boosted-trees.js';
import type { GbtRow, GbtTree } from '../../analytics/gbt-tree.js';
import { getQueryDefinition } from '../../analytics/index.js';
import { checkModelRules } from '../../analytics/model-rules.js';
import type { ReleasedTotals } from '../../analytics/query-definition.js';
import type { ShopData } from '../../analytics/shop-data.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { pooledFit, type PooledNode } from '../helpers/pooled-gbt.js';

const BRANDS = ['A', 'B', 'C', 'D', 'E', 'F'];
const K = 10;

type Row = { price: number | null; promo: number; brand: string; units: number };

/** Store-week-like rows per shop (unequal sizes); a few miss the price. */
function tableRows(sizes: readonly number[], seed: number): Row[][] {
  const rand = mulberry32(seed);
  return sizes.map((size, s) =>
    Array.from({ length: size }, (_, i) => {
      const price = Math.round((2 + 3 * rand() + 0.2 * s) * 100) / 100;
      const promo = rand() < 0.3 + 0.1 * s ? 1 : 0;
      const brand = BRANDS[Math.floor(rand() * BRANDS.length)] as string;
      const units = Math.round(200 - 40 * Math.log(price) + 25 * promo + (brand === 'B' ? 15 : brand === 'E' ? -10 : 0) + 30 * (rand() - 0.5));
      return { price: i % 37 === 5 ? null : price, promo, brand, units };
    }),
  );
}

const shopOf = (rows: readonly Row[], i: number): ShopData => ({ shopId: `s${i}`, customers: [], orders: [], tables: { sales: { rows } } });

const VARIABLES = [
  { name: 'price', type: 'numeric', edges: [2.5, 3, 3.5, 4, 4.5, 5] },
  { name: 'promo', type: 'numeric', edges: [0.5] },
  { name: 'brand', type: 'categorical', levels: BRANDS },
];

function fitSpec(over: Record<string, unknown> = {}): GbtFitSpec {
  return parseGbtFitSpec({ kind: 'gradient-boosted-trees', purpose: 'sales-analytics', data: 'sales', label: { name: 'units', type: 'numeric', maxAbs: 1000 }, variables: VARIABLES, trees: 3, depth: 2, learningRate: 0.5, ...over });
}

function release(fields: readonly string[], summed: readonly bigint[], k: number): ReleasedTotals {
  return { cells: { all: { suppressed: false, totals: Object.fromEntries(fields.map((f, i) => [f, summed[i] as bigint])) } }, minSubjects: k };
}

const sum = (vectors: readonly bigint[][]): bigint[] => (vectors[0] ?? []).map((_, i) => vectors.reduce((a, v) => a + (v[i] as bigint), 0n));

/**
 * Publishes rounds as the fit runner does (through canonical JSON and the
 * registry), lets each shop compute, sums, checks and advances; returns the
 * model, the round kinds, the first leaf-overlap round's spec and the state
 * it was published from.
 */
function federatedFit(spec: GbtFitSpec, shops: readonly ShopData[]): { model: GbtFitModel; kinds: string[]; overlap: { spec: GbtLeafOverlapSpec; state: GbtFitState } | undefined } {
  let state = gbtFitDefinition.initialState(spec);
  const kinds: string[] = [];
  let overlap: { spec: GbtLeafOverlapSpec; state: GbtFitState } | undefined;
  for (let round = 1; round < 200; round++) {
    const q = gbtFitDefinition.roundQuery(spec, state, round, 'fit-overlap');
    const definition = getQueryDefinition(q.kind);
    expect(definition.disclosureRole).toBe('fit-round');
    const parsed = definition.parseSpec(JSON.parse(canonicalSpecJson({ ...q.spec, kind: q.kind })));
    kinds.push(q.kind);
    if (q.kind === GBT_LEAF_OVERLAP_KIND && overlap === undefined) overlap = { spec: parsed as GbtLeafOverlapSpec, state };
    const fields = definition.fields(parsed).map((f) => f.name);
    const summed = sum(shops.map((shop) => definition.computeLocal(parsed, shop)));
    const totals = new Map(fields.map((f, i) => [f, summed[i] as bigint]));
    expect(definition.inputViolation?.(parsed, totals, shops.length)).toBeUndefined();
    expect(checkModelRules(definition.modelRules!(parsed), totals, K, 0.2).refusal).toBeNull();
    const result = definition.finalise(parsed, release(fields, summed, K));
    const next = gbtFitDefinition.advance(spec, JSON.parse(JSON.stringify(state)) as GbtFitState, result, round);
    if (next.done) return { model: JSON.parse(canonicalSpecJson(next.model)) as GbtFitModel, kinds, overlap };
    state = next.state;
  }
  throw new Error('the fit did not end');
}

function specError(f: () => unknown): QuerySpecError {
  try {
    f();
  } catch (err) {
    if (err instanceof QuerySpecError) return err;
    throw err;
  }
  throw new Error('accepted');
}

/** The leaf of a round tree (JSON) a table row reaches, walked here: v < threshold, or a level in the set, goes left. */
function walk(tree: GbtRoundTree, row: Row): number {
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  let id = 0;
  for (let n = byId.get(0); n?.kind === 'split'; n = byId.get(id)) {
    const v = row[n.split.variable as keyof Row];
    const left = n.split.type === 'numeric' ? (v as number) < n.split.threshold : n.split.levels.includes(v as string);
    id = left ? 2 * id + 1 : 2 * id + 2;
  }
  return id;
}

/** The leaves of a tree (stored or pooled) as sets of row indices, by walking the rows through it here. */
function leafSets(nodes: readonly PooledNode[], rows: readonly GbtRow[]): Set<number>[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out = new Map<number, Set<number>>();
  rows.forEach((r, i) => {
    let id = 0;
    for (let n = byId.get(0); n?.kind === 'split'; n = byId.get(id)) {
      const v = r.x[n.variable];
      id = (n.threshold !== undefined ? (v as number) < n.threshold : (n.levels ?? []).includes(v as string)) ? 2 * id + 1 : 2 * id + 2;
    }
    if (!out.has(id)) out.set(id, new Set());
    out.get(id)!.add(i);
  });
  return [...out.values()];
}

/** Pairs of leaves of different trees, and those whose rows differ by 1 … m − 1 one way (A ∖ B or B ∖ A), counted from the rows. */
function closePairs(trees: readonly PooledNode[][], rows: readonly GbtRow[], m: number): { pairs: number; close: number; smallest: number } {
  const sets = trees.map((t) => leafSets(t, rows));
  let pairs = 0;
  let close = 0;
  let smallest = Infinity;
  for (let t = 1; t < sets.length; t++) {
    for (let s = 0; s < t; s++) {
      for (const a of sets[t]!) {
        for (const b of sets[s]!) {
          pairs++;
          let onlyA = 0;
          for (const i of a) if (!b.has(i)) onlyA++;
          const onlyB = b.size - (a.size - onlyA);
          const small = [onlyA, onlyB].filter((d) => d > 0 && d < m);
          if (small.length > 0) {
            close++;
            smallest = Math.min(smallest, ...small);
          }
        }
      }
    }
  }
  return { pairs, close, smallest };
}

/** A stored model's trees in the pooled reference's shape. */
function asPooled(model: GbtFitModel): PooledNode[][] {
  return model.trees.map((t: GbtTree) =>
    t.nodes.map((n): PooledNode => {
      if (n.kind === 'leaf') return { id: n.id, kind: 'leaf', subjects: n.subjects, value: n.value };
      if (n.kind !== 'split') throw new Error('open node in a stored model');
      return n.split.type === 'numeric'
        ? { id: n.id, kind: 'split', subjects: n.subjects, variable: n.split.variable, threshold: n.split.threshold, gain: n.gain ?? 0 }
        : { id: n.id, kind: 'split', subjects: n.subjects, variable: n.split.variable, levels: [...n.split.levels], gain: n.gain ?? 0 };
    }),
  );
}

describe('gbt-leaf-overlap: the round', () => {
  const tables = tableRows([80, 200, 450], 23);
  const shops = tables.map(shopOf);
  const spec = fitSpec();
  const { overlap } = federatedFit(spec, shops);
  const round = overlap!.spec;
  const fields = gbtLeafOverlapQuery.fields(round).map((f) => f.name);

  it('follows the second tree: its spec is the fit\'s, the fit, the round and the complete trees; canonical JSON parses back to it', () => {
    expect(round.forest).toHaveLength(2);
    expect(round.forest.every((t) => t.nodes.every((n) => n.kind !== 'open'))).toBe(true);
    expect(gbtLeafOverlapQuery.parseSpec(JSON.parse(canonicalSpecJson(round)))).toEqual(round);
    expect(gbtLeafOverlapQuery.fitIdOf?.(round)).toBe('fit-overlap');
    expect(gbtLeafOverlapQuery.inputFields(round)).toEqual(gbtFitDefinition.inputFields(spec));
    expect(gbtLeafOverlapQuery.cells(round)).toEqual([{ name: 'all', subjectsField: 'n', fields }]);
    const leaves = (t: GbtRoundTree) => t.nodes.filter((n) => n.kind === 'leaf').map((n) => n.id);
    const [first, last] = round.forest as [GbtRoundTree, GbtRoundTree];
    expect(fields).toEqual(['n', ...leaves(last).map((j) => `leaf.${j}`), ...leaves(first).flatMap((i) => leaves(last).map((j) => `1.${i}.${j}`))]);
  });

  it('refuses a forest with an open node, a single tree, a range and another kind', () => {
    const json = JSON.parse(canonicalSpecJson(round)) as Record<string, unknown> & { forest: GbtRoundTree[] };
    const open = { ...json, forest: [json.forest[0], { nodes: [{ id: 0, kind: 'open' }] }] };
    expect(specError(() => gbtLeafOverlapQuery.parseSpec(open)).message).toMatch(/no node is open/);
    expect(specError(() => gbtLeafOverlapQuery.parseSpec({ ...json, forest: [json.forest[0]] })).path).toBe('forest');
    expect(specError(() => gbtLeafOverlapQuery.parseSpec({ ...json, variables: [{ name: 'price', type: 'numeric', range: [2, 5] }, ...VARIABLES.slice(1)] })).path).toBe('variables.0.range');
    expect(specError(() => gbtLeafOverlapQuery.parseSpec({ ...json, kind: GBT_LEVEL_KIND })).path).toBe('kind');
    expect(() => gbtLevelQuery.parseSpec({ ...json, kind: GBT_LEVEL_KIND })).toThrow(/no open node/);
  });

  it("each shop's counts equal a plain count of its rows walked through the trees, over the rows the levels read", () => {
    const [first, last] = round.forest as [GbtRoundTree, GbtRoundTree];
    tables.forEach((rows, s) => {
      const complete = rows.filter((r) => r.price !== null);
      const want = new Map<string, bigint>(fields.map((f) => [f, 0n]));
      const bump = (f: string) => want.set(f, (want.get(f) as bigint) + 1n);
      for (const r of complete) {
        const j = walk(last, r);
        bump('n');
        bump(`leaf.${j}`);
        bump(`1.${walk(first, r)}.${j}`);
      }
      const got = gbtLeafOverlapQuery.computeLocal(round, shops[s]!);
      expect(new Map(fields.map((f, i) => [f, got[i] as bigint]))).toEqual(want);
      expect(got[0]).toBe(BigInt(gbtRows(spec, shops[s]!, 'train').length));
    });
    const level = gbtLevelQuery.parseSpec({ ...gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'f').spec, kind: GBT_LEVEL_KIND });
    expect(Object.keys(gbtLeafOverlapQuery.rowScope!(round))).toEqual(Object.keys(gbtLevelQuery.rowScope!(level)));
  });

  it('the key holder checks the rows against k and the relations every honest sum keeps; a subject counts once per field', () => {
    const summed = sum(shops.map((shop) => gbtLeafOverlapQuery.computeLocal(round, shop)));
    const honest = new Map(fields.map((f, i) => [f, summed[i] as bigint]));
    const check = (patch: Record<string, bigint>) => gbtLeafOverlapQuery.inputViolation?.(round, new Map([...honest, ...Object.entries(patch)]), 3);
    expect(check({})).toBeUndefined();
    const pair = fields.find((f) => /^1\.\d+\.\d+$/.test(f) && (honest.get(f) as bigint) > 0n)!;
    const j = pair.split('.')[2]!;
    expect(check({ [pair]: (honest.get(pair) as bigint) + 1n })).toMatch(new RegExp(`^the rows leaf ${j} shares with the leaves of tree 1 is \\d+, not leaf\\.${j}`));
    expect(check({ [`leaf.${j}`]: (honest.get(`leaf.${j}`) as bigint) + 1n })).toMatch(/^the rows of the leaves of the last tree is \d+, not n/);
    expect(check({ n: (honest.get('n') as bigint) - 1n })).toMatch(/^the rows of the leaves of the last tree/);
    const rules = gbtLeafOverlapQuery.modelRules!(round);
    expect(rules.parameters).toBe(0);
    expect(checkModelRules(rules, honest, K, 0.2).refusal).toBeNull();
    expect(checkModelRules(rules, new Map([...honest, ['n', 5n]]), K, 0.2).refusal?.code).toBe('LEVEL_TOO_FEW_SUBJECTS');
    const sensitivity = gbtLeafOverlapQuery.subjectSensitivity!(round);
    expect(sensitivity.disjointCells).toBe(true);
    expect(Object.keys(sensitivity.perField)).toEqual(fields);
    expect(Object.values(sensitivity.perField).every((v) => v === 1n)).toBe(true);
  });

  it('refuses rows no level reads, more rows than maxRows, a withheld release, and an overlap the state does not await', () => {
    expect(() => gbtLeafOverlapQuery.computeLocal(round, shopOf([{ price: 3, promo: 1, brand: 'Z', units: 100 }], 0))).toThrow(/brand/);
    const small = gbtLeafOverlapQuery.parseSpec({ ...JSON.parse(canonicalSpecJson(round)), maxRows: 2 });
    expect(() => gbtLeafOverlapQuery.computeLocal(small, shops[0]!)).toThrow(/maxRows 2/);
    expect(() => gbtLeafOverlapQuery.finalise(round, { cells: { all: { suppressed: true } }, minSubjects: K })).toThrow(/withheld/);
    const result: GbtLeafOverlapResult = { n: 0, minSubjects: K, leafRows: {}, overlaps: [] };
    expect(() => gbtStateAfterLeafOverlap(spec, gbtFitDefinition.initialState(spec), result, 2)).toThrow(/no complete tree awaits/);
    // A state that lost the sums of a split the rule must merge cannot prune it.
    const { nodeSums: _sums, ...withoutSums } = overlap!.state;
    const summed = sum(shops.map((shop) => gbtLeafOverlapQuery.computeLocal(round, shop)));
    const released = gbtLeafOverlapQuery.finalise(round, release(fields, summed, K));
    const violating: GbtLeafOverlapResult = { ...released, overlaps: released.overlaps.map((o, i) => (i === 0 ? { ...o, rows: 1 } : o)) };
    expect(() => gbtStateAfterLeafOverlap(spec, withoutSums, violating, 5)).toThrow(/no sums of node/);
  });
});

describe('gbt-leaf-overlap: whole fits', () => {
  for (const label of ['numeric', 'binary'] as const) {
    it(`${label} label: no two leaves of different trees differ by 1 … k − 1 rows; the model equals the pooled fit under the same rule, and the data without it give such pairs`, () => {
      const tables = tableRows([150, 400, 900], label === 'numeric' ? 31 : 37);
      const shops = tables.map(shopOf);
      const spec =
        label === 'numeric'
          ? fitSpec({ trees: 12, depth: 3, learningRate: 0.3 })
          : fitSpec({ trees: 12, depth: 3, learningRate: 0.3, label: { name: 'promo', type: 'binary' }, variables: [VARIABLES[0], VARIABLES[2], { name: 'units', type: 'numeric', edges: [150, 170, 190, 210, 230] }] });
      const { model, kinds } = federatedFit(spec, shops);
      expect(kinds.filter((k) => k === GBT_LEAF_OVERLAP_KIND)).toHaveLength(spec.trees - 1);
      const rows = shops.flatMap((s) => gbtRows(spec, s));
      const gbt = { ...gbtSpecOf(spec), minLeafSubjects: K };
      const stored = closePairs(asPooled(model), rows, K);
      expect(stored.close).toBe(0);
      // The pooled fit with the rule, counted from the rows: the same trees.
      const pooled = pooledFit(gbt, rows);
      expect(model.trees.map((t) => t.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects]))).toEqual(pooled.trees.map((t) => t.map((n) => [n.id, n.kind, n.subjects])));
      model.trees.forEach((t, ti) =>
        t.nodes.forEach((n, i) => {
          const w = pooled.trees[ti]![i]!;
          if (n.kind === 'leaf' && w.kind === 'leaf') expect(Math.abs(n.value - w.value)).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(w.value), 1e-12));
        }),
      );
      // Without the rule the same data give leaves of different trees 1 … k − 1 rows apart.
      const without = pooledFit(gbt, rows, { leafOverlap: false }).trees;
      const unruled = closePairs(without, rows, K);
      expect(unruled.close).toBeGreaterThan(0);
      const leaves = (trees: readonly PooledNode[][]) => trees.flat().filter((n) => n.kind === 'leaf').length;
      console.info(
        `gbt leaf overlap, ${label}: ${rows.length} rows, ${leaves(asPooled(model))} leaves, ${stored.pairs} pairs of leaves of different trees, none 1..${K - 1} apart; ` +
          `without the rule ${leaves(without)} leaves, ${unruled.close} of ${unruled.pairs} pairs 1..${K - 1} apart (smallest ${unruled.smallest})`,
      );
    });
  }

  it('the rule runs at the released k, not at a larger declared minLeafSubjects: every leaf holds 2k, no two leaves of different trees are 1 … k − 1 apart, and more leaves survive than under a rule at 2k', () => {
    const shops = tableRows([150, 400, 900], 31).map(shopOf);
    const spec = fitSpec({ trees: 12, depth: 3, learningRate: 0.3, minLeafSubjects: 2 * K });
    const { model } = federatedFit(spec, shops);
    expect(model.minLeafSubjects).toBe(2 * K);
    const rows = shops.flatMap((s) => gbtRows(spec, s));
    const gbt = gbtSpecOf(spec);
    expect(gbt.minLeafSubjects).toBe(2 * K);
    expect(model.trees.flatMap((t) => t.nodes).every((n) => n.kind !== 'leaf' || n.subjects >= 2 * K)).toBe(true);
    expect(closePairs(asPooled(model), rows, K).close).toBe(0);
    // The pooled fit with the rule at k, counted from the rows: the same trees.
    const atK = pooledFit(gbt, rows, { overlapSubjects: K });
    expect(model.trees.map((t) => t.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects]))).toEqual(atK.trees.map((t) => t.map((n) => [n.id, n.kind, n.subjects])));
    // A rule at minLeafSubjects would keep fewer leaves on the same data.
    const leaves = (trees: readonly PooledNode[][]) => trees.flat().filter((n) => n.kind === 'leaf').length;
    const at2K = pooledFit(gbt, rows, { overlapSubjects: 2 * K });
    expect(leaves(asPooled(model))).toBeGreaterThan(leaves(at2K.trees));
    console.info(`gbt leaf overlap at k = ${K} with minLeafSubjects ${2 * K}: ${leaves(asPooled(model))} leaves; at ${2 * K}: ${leaves(at2K.trees)}`);
  });
});
