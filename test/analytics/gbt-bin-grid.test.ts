/**
 * Federated bin edges of `gradient-boosted-trees`: a numeric variable that
 * gives `range: [lo, hi]` is binned at edges the fit finds in a first
 * `gbt-bin-grid` round (analytics/gbt-bin-grid.ts, gbt-bin-edges.ts). Without
 * a cluster: the specs (ranges parsed and refused, canonical round trip, a
 * level never carrying a range), each shop's grid against a plain count of
 * its table's rows, the release rules and input relations the key holder
 * checks, the refusals, and whole fits driven through the registered round
 * kinds (each shop's vector summed as integers, the plaintext stand-in for
 * the encrypted sum) against the pooled fit on edges computed from the
 * pooled rows by the documented rule (test/helpers/reference-bin-edges.ts).
 */
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson } from '../../analytics/canonical-json.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { parseGbtSpec } from '../../analytics/gbt-spec.js';
import { gbtBinGridQuery, type GbtBinGridSpec } from '../../analytics/gbt-bin-grid.js';
import { GBT_BIN_GRID_KIND, GBT_LEAF_OVERLAP_KIND, GBT_LEVEL_KIND, gbtFitDefinition, gbtLevelQuery, gbtRows, gbtSpecOf, gbtStateWithEdges, parseGbtFitSpec, type GbtFitModel, type GbtFitSpec, type GbtFitState } from '../../analytics/gradient-boosted-trees.js';
import { gbtPredict } from '../../analytics/gbt-tree.js';
import { getQueryDefinition } from '../../analytics/index.js';
import { checkModelRules } from '../../analytics/model-rules.js';
import type { ReleasedTotals } from '../../analytics/query-definition.js';
import type { ShopData } from '../../analytics/shop-data.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { pooledFit } from '../helpers/pooled-gbt.js';
import { GRID_CELLS, gridCounts, referenceEdges } from '../helpers/reference-bin-edges.js';

const BRANDS = ['A', 'B', 'C', 'D', 'E'];
const K = 10;
const CELLS = GRID_CELLS;

type Row = { price: number | null; promo: number; brand: string; units: number | null };

/** Store-week-like rows per shop (unequal sizes); a few miss the price or the label, a few prices lie outside [2, 5.5]. */
function tableRows(sizes: readonly number[], seed: number): Row[][] {
  const rand = mulberry32(seed);
  return sizes.map((size, s) =>
    Array.from({ length: size }, (_, i) => {
      const price = Math.round((1.5 + 4.5 * rand()) * 100) / 100;
      const promo = rand() < 0.3 + 0.1 * s ? 1 : 0;
      const brand = BRANDS[Math.floor(rand() * BRANDS.length)] as string;
      const units = Math.round(200 - 40 * Math.log(price) + 25 * promo + (brand === 'B' ? 15 : brand === 'E' ? -10 : 0) + 20 * (rand() - 0.5));
      return { price: i % 37 === 5 ? null : price, promo, brand, units: i % 41 === 7 ? null : units };
    }),
  );
}

const shopOf = (rows: readonly Row[], i: number): ShopData => ({ shopId: `s${i}`, customers: [], orders: [], tables: { sales: { rows } } });

const PRICE_RANGE: [number, number] = [2, 5.5];
const UNITS_RANGE: [number, number] = [100, 300];
const FITS = {
  numeric: {
    label: { name: 'units', type: 'numeric', maxAbs: 1000 },
    variables: [
      { name: 'price', type: 'numeric', range: PRICE_RANGE },
      { name: 'promo', type: 'numeric', edges: [0.5] },
      { name: 'brand', type: 'categorical', levels: BRANDS },
    ],
  },
  binary: {
    label: { name: 'promo', type: 'binary' },
    variables: [
      { name: 'price', type: 'numeric', range: PRICE_RANGE },
      { name: 'brand', type: 'categorical', levels: BRANDS },
      { name: 'units', type: 'numeric', range: UNITS_RANGE },
    ],
  },
} as const;

function fitSpec(over: Record<string, unknown> = {}): GbtFitSpec {
  return parseGbtFitSpec({ kind: 'gradient-boosted-trees', purpose: 'sales-analytics', data: 'sales', ...FITS.numeric, trees: 3, depth: 2, bins: 8, learningRate: 0.5, ...over });
}

/** A plain count of a shop's table rows on the grid of `variable`: rows missing the label or any variable left out. */
function plainGrid(rows: readonly Row[], spec: { readonly label: { readonly name: string }; readonly variables: readonly { readonly name: string }[] }, variable: string, range: readonly [number, number]): { n: number; cells: number[] } {
  const complete = rows.filter((r) => [spec.label.name, ...spec.variables.map((v) => v.name)].every((name) => r[name as keyof Row] !== null && r[name as keyof Row] !== undefined));
  return { n: complete.length, cells: gridCounts(complete.map((r) => r[variable as keyof Row] as number), range) };
}

/** A release of the whole round, as the key holder makes it under k. */
function release(fields: readonly string[], summed: readonly bigint[], k: number): ReleasedTotals {
  return { cells: { all: { suppressed: false, totals: Object.fromEntries(fields.map((f, i) => [f, summed[i] as bigint])) } }, minSubjects: k };
}

const sum = (vectors: readonly bigint[][]): bigint[] => (vectors[0] ?? []).map((_, i) => vectors.reduce((a, v) => a + (v[i] as bigint), 0n));

/** Publishes rounds as the fit runner does (through canonical JSON and the registry), lets each shop compute, sums, checks and advances. */
function federatedFit(spec: GbtFitSpec, shops: readonly ShopData[]): { model: GbtFitModel; kinds: string[]; specs: Record<string, unknown>[] } {
  let state = gbtFitDefinition.initialState(spec);
  const kinds: string[] = [];
  const specs: Record<string, unknown>[] = [];
  for (let round = 1; round < 100; round++) {
    const q = gbtFitDefinition.roundQuery(spec, state, round, 'fit-grid');
    const definition = getQueryDefinition(q.kind);
    expect(definition.disclosureRole).toBe('fit-round');
    const parsed = definition.parseSpec(JSON.parse(canonicalSpecJson({ ...q.spec, kind: q.kind })));
    kinds.push(q.kind);
    specs.push(q.spec);
    const fields = definition.fields(parsed).map((f) => f.name);
    const summed = sum(shops.map((shop) => definition.computeLocal(parsed, shop)));
    const totals = new Map(fields.map((f, i) => [f, summed[i] as bigint]));
    expect(definition.inputViolation?.(parsed, totals, shops.length)).toBeUndefined();
    expect(checkModelRules(definition.modelRules!(parsed), totals, K, 0.2).refusal).toBeNull();
    const result = definition.finalise(parsed, release(fields, summed, K));
    const next = gbtFitDefinition.advance(spec, JSON.parse(JSON.stringify(state)) as GbtFitState, result, round);
    if (next.done) return { model: JSON.parse(canonicalSpecJson(next.model)) as GbtFitModel, kinds, specs };
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

describe('gbt-bin-grid: specs', () => {
  it('a numeric variable gives edges or a range; the fit spec keeps the range and its canonical JSON parses back to it', () => {
    const spec = fitSpec();
    expect(spec.variables[0]).toEqual({ name: 'price', type: 'numeric', range: PRICE_RANGE });
    expect(parseGbtFitSpec(JSON.parse(canonicalSpecJson(spec)))).toEqual(spec);
    const q = gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'fit-1');
    expect(q.kind).toBe(GBT_BIN_GRID_KIND);
    const grid = gbtBinGridQuery.parseSpec({ ...q.spec, kind: q.kind });
    expect(gbtBinGridQuery.parseSpec(JSON.parse(canonicalSpecJson(grid)))).toEqual(grid);
    expect(grid).toMatchObject({ kind: GBT_BIN_GRID_KIND, fitId: 'fit-1', round: 1, variables: spec.variables });
    expect(gbtBinGridQuery.fitIdOf?.(grid)).toBe('fit-1');
    expect(gbtBinGridQuery.inputFields(grid)).toEqual(gbtFitDefinition.inputFields(spec));
    const fields = gbtBinGridQuery.fields(grid).map((f) => f.name);
    expect(fields).toEqual(['n', ...Array.from({ length: CELLS }, (_, j) => `price.${j}`)]);
    expect(gbtBinGridQuery.cells(grid)).toEqual([{ name: 'all', subjectsField: 'n', fields }]);
    // Without ranges the fit starts with its levels, as before.
    const declared = fitSpec({ variables: [{ name: 'price', type: 'numeric', edges: [3, 4] }, FITS.numeric.variables[2]] });
    expect(gbtFitDefinition.roundQuery(declared, gbtFitDefinition.initialState(declared), 1, 'f').kind).toBe(GBT_LEVEL_KIND);
  });

  it('refuses bad ranges, both or neither of edges and range, and a level or a gbt-spec.ts spec that carries a range, naming the path', () => {
    const price = (v: Record<string, unknown>) => ({ variables: [{ name: 'price', type: 'numeric', ...v }, FITS.numeric.variables[2]] });
    expect(specError(() => fitSpec(price({ range: [3, 3] }))).path).toBe('variables.0.range');
    expect(specError(() => fitSpec(price({ range: [3, 2] }))).path).toBe('variables.0.range');
    expect(specError(() => fitSpec(price({ range: [1, 1 + 1e-14] }))).message).toMatch(/too narrow/);
    expect(specError(() => fitSpec(price({ range: [1] }))).path).toMatch(/^variables\.0\.range/);
    expect(specError(() => fitSpec(price({ range: [0, Infinity] }))).path).toMatch(/^variables\.0\.range/);
    expect(specError(() => fitSpec(price({ range: [2, 5], edges: [3] }))).path).toBe('variables.0');
    expect(specError(() => fitSpec(price({}))).path).toBe('variables.0');
    const spec = fitSpec();
    const level = { ...gbtFitDefinition.roundQuery(spec, { trees: [{ nodes: [{ id: 0, kind: 'open' }] }], edges: { price: [3, 4] } }, 2, 'f').spec, kind: GBT_LEVEL_KIND };
    expect(gbtLevelQuery.parseSpec(level).variables[0]).toEqual({ name: 'price', type: 'numeric', edges: [3, 4] });
    const err = specError(() => gbtLevelQuery.parseSpec({ ...level, variables: spec.variables }));
    expect([err.path, err.message]).toEqual(['variables.0.range', 'variables.0.range: a gbt-level round bins with edges; price gives none']);
    const { kind: _kind, ...body } = spec;
    const gridJson = { ...body, kind: GBT_BIN_GRID_KIND, fitId: 'f', round: 1 };
    expect(gbtBinGridQuery.parseSpec(gridJson).variables).toEqual(spec.variables);
    expect(specError(() => gbtBinGridQuery.parseSpec({ ...gridJson, variables: [{ name: 'price', type: 'numeric', edges: [3] }, FITS.numeric.variables[2]] })).path).toBe('variables');
    expect(specError(() => gbtBinGridQuery.parseSpec({ ...gridJson, forest: [] })).path).toBe('');
    expect(specError(() => gbtBinGridQuery.parseSpec({ ...gridJson, round: 0 })).path).toBe('round');
    expect(specError(() => parseGbtSpec({ kind: 'gradient-boosted-trees', purpose: 'p', label: { name: 'y', type: 'binary' }, variables: [{ name: 'x', type: 'numeric', range: [0, 1] }] }, 5)).path).toBe('variables.0.range');
  });
});

describe('gbt-bin-grid: the round', () => {
  const tables = tableRows([60, 150, 400], 23);
  const shops = tables.map(shopOf);
  const spec = fitSpec();
  const grid = gbtBinGridQuery.parseSpec({ ...gbtFitDefinition.roundQuery(spec, gbtFitDefinition.initialState(spec), 1, 'f').spec, kind: GBT_BIN_GRID_KIND });
  const fields = gbtBinGridQuery.fields(grid).map((f) => f.name);

  it("each shop's vector is a plain count of its rows on the grid, reading the rows the levels read", () => {
    tables.forEach((rows, s) => {
      const want = plainGrid(rows, FITS.numeric, 'price', PRICE_RANGE);
      const got = gbtBinGridQuery.computeLocal(grid, shops[s]!);
      expect(got).toEqual([BigInt(want.n), ...want.cells.map(BigInt)]);
      expect(Number(got[0])).toBe(gbtRows(spec, shops[s]!).length);
      expect(want.n).toBeLessThan(rows.length); // some rows miss a value
      expect(want.cells[0]! > 0 && want.cells[CELLS - 1]! > 0).toBe(true); // values below lo and at or above hi land at the ends
    });
    // The same rows, so the same row scope, as a level of the same fit.
    const level = gbtLevelQuery.parseSpec({ ...gbtFitDefinition.roundQuery(spec, { trees: [{ nodes: [{ id: 0, kind: 'open' }] }], edges: { price: [3] } }, 2, 'f').spec, kind: GBT_LEVEL_KIND });
    expect(gbtLevelQuery.computeLocal(level, shops[0]!)[0]).toBe(gbtBinGridQuery.computeLocal(grid, shops[0]!)[0]);
    expect(Object.keys(gbtBinGridQuery.rowScope!(grid))).toEqual(Object.keys(gbtLevelQuery.rowScope!(level)));
  });

  it('the key holder checks k on the rows, the saturation of the edges, and that every variable\'s cells count n', () => {
    const honest = new Map(fields.map((f, i) => [f, sum(shops.map((shop) => gbtBinGridQuery.computeLocal(grid, shop)))[i] as bigint]));
    const rules = gbtBinGridQuery.modelRules!(grid);
    expect(rules.parameters).toBe(7);
    expect(checkModelRules(rules, honest, K, 0.2).refusal).toBeNull();
    const few = new Map([...honest, ['n', 5n]]);
    expect(checkModelRules(rules, few, K, 0.2).refusal?.code).toBe('LEVEL_TOO_FEW_SUBJECTS');
    expect(checkModelRules(rules, new Map([...honest, ['n', 30n]]), K, 0.2).refusal?.code).toBe('SATURATION');
    expect(gbtBinGridQuery.inputViolation?.(grid, honest, 3)).toBeUndefined();
    expect(gbtBinGridQuery.inputViolation?.(grid, new Map([...honest, ['price.17', (honest.get('price.17') as bigint) + 1n]]), 3)).toMatch(/^the rows counted over the cells of price is \d+, /);
    expect(gbtBinGridQuery.inputViolation?.(grid, new Map([...honest, ['n', (honest.get('n') as bigint) - 1n]]), 3)).toMatch(/cells of price/);
    // A subject is n once and one count in one cell of every variable.
    const sensitivity = gbtBinGridQuery.subjectSensitivity!(grid);
    expect(Object.keys(sensitivity.perField)).toEqual(fields);
    expect(new Set(Object.values(sensitivity.perField))).toEqual(new Set([1n]));
  });

  it('refuses wrong values by name, a withheld grid, and a variable no edge can split', () => {
    expect(() => gbtBinGridQuery.computeLocal(grid, shopOf([{ price: 'cheap' as unknown as number, promo: 1, brand: 'A', units: 100 }], 0))).toThrow(/variable price is not numeric/);
    expect(() => gbtBinGridQuery.computeLocal(grid, shopOf([{ price: 3, promo: 1, brand: 'Z', units: 100 }], 0))).toThrow(/brand/);
    expect(() => gbtBinGridQuery.computeLocal(fitGrid({ maxRows: 2 }), shopOf(tables[0]!, 0))).toThrow(/maxRows 2/);
    expect(() => gbtBinGridQuery.finalise(grid, { cells: { all: { suppressed: true } }, minSubjects: K })).toThrow(/withheld/);
    // Every price in one cell of a too wide range: no edge leaves k rows on both sides.
    const wide = fitSpec({ variables: [{ name: 'price', type: 'numeric', range: [0, 10000] }, FITS.numeric.variables[2]] });
    const wideGrid = fitGrid({ variables: wide.variables });
    const summed = sum(shops.map((shop) => gbtBinGridQuery.computeLocal(wideGrid, shop)));
    const result = gbtBinGridQuery.finalise(wideGrid, release(gbtBinGridQuery.fields(wideGrid).map((f) => f.name), summed, K));
    expect(() => gbtFitDefinition.advance(wide, gbtFitDefinition.initialState(wide), result, 1)).toThrow(/price: no edge in \[0, 10000\] leaves at least 10 of the \d+ rows on both sides/);
    // minLeafSubjects below the released k stops the fit at the grid already.
    const declared = fitSpec({ minLeafSubjects: 5 });
    expect(() => gbtStateWithEdges(declared, gbtFitDefinition.initialState(declared), { ...result, minSubjects: K })).toThrow(/minLeafSubjects 5 is below the purpose's k = 10/);
  });

  function fitGrid(over: Record<string, unknown>): GbtBinGridSpec {
    const s = fitSpec(over);
    return gbtBinGridQuery.parseSpec({ ...gbtFitDefinition.roundQuery(s, gbtFitDefinition.initialState(s), 1, 'f').spec, kind: GBT_BIN_GRID_KIND });
  }
});

describe('gbt-bin-grid: a fit with ranges equals the pooled fit on the edges computed from the pooled rows', () => {
  const tables = tableRows([60, 150, 400], 17);
  const shops = tables.map(shopOf);
  const pooledTable = tables.flat();

  for (const label of ['numeric', 'binary'] as const) {
    it(`${label} label`, () => {
      const spec = fitSpec({ ...FITS[label] });
      const { model, kinds, specs } = federatedFit(spec, shops);
      expect(kinds[0]).toBe(GBT_BIN_GRID_KIND);
      // Then levels, and a leaf-overlap round after each tree from the second.
      expect(kinds.slice(1).every((k) => k === GBT_LEVEL_KIND || k === GBT_LEAF_OVERLAP_KIND)).toBe(true);
      expect(kinds.filter((k) => k === GBT_LEAF_OVERLAP_KIND)).toHaveLength(spec.trees - 1);
      expect(model.rounds).toBe(kinds.length);
      // The edges, computed here from the pooled rows' grid.
      const edges = Object.fromEntries(
        FITS[label].variables.flatMap((v) => ('range' in v ? [[v.name, referenceEdges(plainGrid(pooledTable, FITS[label], v.name, v.range).cells, v.range, 8, K)]] : [])),
      ) as Record<string, number[]>;
      for (const [name, e] of Object.entries(edges)) {
        expect(e.length, name).toBeGreaterThan(2);
        expect(model.variables.find((v) => v.name === name)).toEqual({ name, type: 'numeric', edges: e });
        // Every later round carries them.
        for (const s of specs.slice(1)) expect((s['variables'] as { name: string; edges?: number[] }[]).find((v) => v.name === name)?.edges).toEqual(e);
      }
      const declared = fitSpec({ ...FITS[label], variables: FITS[label].variables.map((v) => ('range' in v ? { name: v.name, type: 'numeric', edges: edges[v.name] } : v)) });
      const rows = shops.flatMap((s) => gbtRows(declared, s));
      const pooled = pooledFit({ ...gbtSpecOf(declared), minLeafSubjects: K }, rows);
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
      expect(model.trees.some((t) => t.nodes.some((n) => n.kind === 'split' && n.split.variable === 'price'))).toBe(true);
      rows.forEach((row, i) => {
        const m = pooled.margins[i]!;
        const want = label === 'binary' ? 1 / (1 + Math.exp(-m)) : m;
        expect(Math.abs(gbtPredict(model, row) - want)).toBeLessThanOrEqual(1e-9 * Math.abs(want));
      });
    });
  }
});
