/**
 * Histogram bins that let the key holder apply the dominance rule without
 * ever seeing one shop's value.
 *
 * The rule: no single merchant may hold more than p % of a cell's magnitude
 * (e.g. its order-value sum), or readers learn roughly that merchant's figure
 * from the cell. The key holder decrypts only sums, and a shop cannot judge
 * its own share since it does not know the others'. So each shop also sends,
 * for every cell that declares a `dominanceField`, a one-hot vector over
 * geometric bins of its own cell total v: bit i is 1 when v lies in
 * [edge_i, edge_{i+1}). Summed, the bits count shops per bin; the highest
 * non-empty bin bounds the largest single contribution from above by its
 * upper edge, to within a factor 2^(1/4) (19 %). The key holder compares that
 * bound with the exact decrypted total; the rule is therefore applied
 * conservatively (it may suppress a cell whose top shop holds slightly less
 * than p %, never release one above p %).
 *
 * The bins are never released: no cell lists them, so they stay inside the
 * key holder. What the key holder learns from them is the multiset of shops'
 * cell totals to within 19 %, unattributed.
 *
 * @module
 */
import { isqrt } from './integer-math.js';
import { assertWithinBounds, type AnyQueryDefinition, type CellSpec, type FieldSpec } from './query-definition.js';

/** Bins per doubling of the value (edges are ⌊2^(j/4)⌋). */
export const DOMINANCE_BINS_PER_DOUBLING = 4;

const edgeCache = new Map<bigint, readonly bigint[]>();

/**
 * Ascending lower edges of the bins for values in [1, max]: the distinct
 * values ⌊2^(j/4)⌋ <= max (exact integer fourth roots, so every node computes
 * the same edges). Zero falls in no bin.
 */
export function dominanceBinEdges(max: bigint): readonly bigint[] {
  if (typeof max !== 'bigint' || max < 0n) throw new RangeError(`max: expected a bigint >= 0, got ${String(max)}`);
  const cached = edgeCache.get(max);
  if (cached) return cached;
  const edges: bigint[] = [];
  for (let j = 0n; ; j++) {
    const e = isqrt(isqrt(1n << j));
    if (e > max) break;
    if (edges[edges.length - 1] !== e) edges.push(e);
  }
  const frozen = Object.freeze(edges);
  edgeCache.set(max, frozen);
  return frozen;
}

/** Index of the bin holding `value`, or -1 for zero. */
export function dominanceBinOf(edges: readonly bigint[], value: bigint): number {
  if (value < 0n) throw new RangeError(`value: expected a bigint >= 0, got ${value}`);
  if (value === 0n) return -1;
  let lo = 0;
  let hi = edges.length - 1;
  if (hi < 0 || value < (edges[0] as bigint)) throw new RangeError(`value ${value} is below the first bin edge`);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((edges[mid] as bigint) <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Layout name of bin `index` of `cell`. */
export function dominanceBinField(cell: string, index: number): string {
  return `${cell}.dominance_bin_${index}`;
}

/** The bins of every cell that declares a dominance field, in cell order. */
export function dominanceBinLayout(cells: readonly CellSpec[], fields: readonly FieldSpec[]): { cell: CellSpec; field: FieldSpec; edges: readonly bigint[]; names: string[] }[] {
  const byName = new Map(fields.map((f) => [f.name, f]));
  const out: { cell: CellSpec; field: FieldSpec; edges: readonly bigint[]; names: string[] }[] = [];
  for (const cell of cells) {
    if (cell.dominanceField === undefined) continue;
    const field = byName.get(cell.dominanceField);
    if (field === undefined) throw new RangeError(`cell ${cell.name}: dominanceField ${cell.dominanceField} is not a field of the query`);
    const edges = dominanceBinEdges(field.max);
    out.push({ cell, field, edges, names: edges.map((_, i) => dominanceBinField(cell.name, i)) });
  }
  return out;
}

const wrapped = new WeakMap<AnyQueryDefinition, AnyQueryDefinition>();

/**
 * The definition with dominance bins appended to its layout (after its own
 * fields, one field of bound 1 per bin) and to the shop-side vector. Kinds
 * whose cells declare no dominance field are returned unchanged, so their
 * layouts stay as they were.
 */
export function withDominanceBins(definition: AnyQueryDefinition): AnyQueryDefinition {
  if (typeof definition !== 'object' || definition === null) throw new TypeError('definition: expected a QueryDefinition');
  const existing = wrapped.get(definition);
  if (existing) return existing;
  const fields = (spec: unknown): readonly FieldSpec[] => {
    const own = definition.fields(spec);
    const bins = dominanceBinLayout(definition.cells(spec), own);
    return bins.length === 0 ? own : [...own, ...bins.flatMap((b) => b.names.map((name) => ({ name, max: 1n })))];
  };
  const sensitivity = definition.subjectSensitivity;
  const margins = definition.margins;
  const result: AnyQueryDefinition = Object.freeze({
    ...definition,
    kind: definition.kind,
    parseSpec: (json: unknown) => definition.parseSpec(json),
    purposeOf: (spec: unknown) => definition.purposeOf(spec),
    inputFields: (spec: unknown) => definition.inputFields(spec),
    cells: (spec: unknown) => definition.cells(spec),
    finalise: (spec: unknown, release: Parameters<AnyQueryDefinition['finalise']>[1]) => definition.finalise(spec, release),
    fields,
    computeLocal: (spec: unknown, data: Parameters<AnyQueryDefinition['computeLocal']>[1]): bigint[] => {
      const values = definition.computeLocal(spec, data);
      const own = definition.fields(spec);
      const bins = dominanceBinLayout(definition.cells(spec), own);
      if (bins.length === 0) return values;
      const index = new Map(own.map((f, i) => [f.name, i]));
      const extra = bins.flatMap((b) => {
        const bits = b.edges.map(() => 0n);
        const bin = dominanceBinOf(b.edges, values[index.get(b.field.name) as number] ?? 0n);
        if (bin >= 0) bits[bin] = 1n;
        return bits;
      });
      const all = [...values, ...extra];
      assertWithinBounds(fields(spec), all);
      return all;
    },
    ...(sensitivity ? { subjectSensitivity: (spec: unknown) => sensitivity.call(definition, spec) } : {}),
    ...(margins ? { margins: (spec: unknown) => margins.call(definition, spec) } : {}),
  });
  wrapped.set(definition, result);
  return result;
}
