/**
 * A shop's side of one gradient-boosted-trees round (one level of the tree
 * being grown): for every open node of the frontier, every variable and
 * every bin, the number of the shop's rows there and the sums of their
 * gradients g and Hessians h at the margin of the complete trees:
 *
 * - logistic loss (y ∈ {0, 1}): p = σ(margin), g = p − y, h = p(1 − p);
 * - squared loss: g = margin − y, h = 1 (so H is the row count and is not sent).
 *
 * Sums are fixed point as in the logistic rounds (signed-real.ts): each
 * shop rounds its float sum once to 2^-GBT_SCALE_BITS, a signed sum travels
 * as its positive and negative parts (`g+`, `g-`). The fit runner adds
 * integers only (bins into children), so the federated sums differ from the
 * pooled float sums by at most one half unit per shop and bin summed, plus
 * the shops' own float rounding.
 *
 * @module
 */
import type { FieldSpec } from './query-definition.js';
import { assertWithinBounds } from './query-definition.js';
import { gbtBinCount, type GbtSpec } from './gbt-spec.js';
import { gbtBin, gbtFrontier, gbtMargin, gbtRoute, gbtTreesOf, gbtValue, sigmoid, type GbtModel, type GbtRow } from './gbt-tree.js';
import { joinSigned, realToFixed, signedFieldSpecs, splitSigned } from './signed-real.js';

/**
 * Binary scale of the gradient and Hessian sums: 2^-48 ≈ 3.6e-15, so a
 * sum of a few hundred bins over a few shops stays within 1e-12 of the
 * pooled float sum, far below the 1e-9 relative the fit promises.
 */
export const GBT_SCALE_BITS = 48;

/** Largest |g| of one row: 1 for logistic loss; 4 × maxLabelAbs for squared loss (a row beyond it is refused). */
export function gbtGradientBound(spec: Pick<GbtSpec, 'loss' | 'maxLabelAbs'>): number {
  return spec.loss === 'logistic' ? 1 : 4 * spec.maxLabelAbs;
}

const bitsFor = (x: number): bigint => BigInt(Math.ceil(Math.log2(x + 1)));

/** Field name prefix of an open node's variable bin. */
export function gbtBinPrefix(node: number, variable: string, bin: number): string {
  return `node${node}.${variable}.${bin}`;
}

/**
 * The fields of a level whose open nodes are `frontier`: per node, variable
 * and bin, `n` (rows), `g+`/`g-` (gradient sum) and, for logistic loss, `h`
 * (Hessian sum), with their per-shop bounds.
 */
export function gbtLevelFields(spec: Pick<GbtSpec, 'loss' | 'maxLabelAbs' | 'variables' | 'maxRows'>, frontier: readonly number[]): FieldSpec[] {
  const rows = BigInt(spec.maxRows);
  const scale = BigInt(GBT_SCALE_BITS);
  // One spare bit over the row bound: rounding and float summation may pass it by a few units.
  const gMax = rows << (bitsFor(gbtGradientBound(spec)) + 1n + scale);
  const hMax = rows << scale; // h = p(1 − p) ≤ 1/4: four times the room
  const out: FieldSpec[] = [];
  for (const node of frontier) {
    for (const variable of spec.variables) {
      for (let b = 0; b < gbtBinCount(variable); b++) {
        const prefix = gbtBinPrefix(node, variable.name, b);
        out.push({ name: `${prefix}.n`, max: rows }, ...signedFieldSpecs(`${prefix}.g`, gMax));
        if (spec.loss === 'logistic') out.push({ name: `${prefix}.h`, max: hMax });
      }
    }
  }
  return out;
}

/** Gradient and Hessian of one row at margin m. */
export function gbtGradient(loss: GbtSpec['loss'], m: number, y: number): { readonly g: number; readonly h: number } {
  if (loss === 'logistic') {
    const p = sigmoid(m);
    return { g: p - y, h: p * (1 - p) };
  }
  return { g: m - y, h: 1 };
}

function checkLabel(spec: Pick<GbtSpec, 'loss' | 'maxLabelAbs'>, y: number): void {
  if (spec.loss === 'logistic') {
    if (y !== 0 && y !== 1) throw new RangeError(`row: a binary label must be 0 or 1, got ${String(y)}`);
  } else if (typeof y !== 'number' || !Number.isFinite(y) || Math.abs(y) > spec.maxLabelAbs) {
    throw new RangeError(`row: label ${String(y)} is not a finite number of magnitude at most maxLabelAbs ${spec.maxLabelAbs}`);
  }
}

/** Float sums of one level over rows, indexed [frontier position][variable][bin]. */
export interface GbtLevelFloatSums {
  readonly n: number[][][];
  readonly g: number[][][];
  readonly h: number[][][];
}

/**
 * The level's float sums over `rows` at `model` (the complete trees give the
 * margin, the growing tree places the row on its frontier; rows reaching a
 * leaf of the growing tree count nowhere). Throws RangeError when no tree is
 * growing, on a row beyond the bounds, or with more rows than maxRows.
 */
export function gbtLevelFloatSums(spec: GbtSpec, model: GbtModel, rows: readonly GbtRow[]): { readonly frontier: number[]; readonly sums: GbtLevelFloatSums } {
  const { growing } = gbtTreesOf(model);
  if (growing === undefined) throw new RangeError('model: no tree is growing, so there is no level to compute');
  if (rows.length > spec.maxRows) throw new RangeError(`rows: ${rows.length} rows exceed maxRows ${spec.maxRows}`);
  const frontier = gbtFrontier(model);
  const position = new Map(frontier.map((id, i) => [id, i]));
  const zeros = (): number[][][] => frontier.map(() => spec.variables.map((v) => new Array<number>(gbtBinCount(v)).fill(0)));
  const sums = { n: zeros(), g: zeros(), h: zeros() };
  const bound = gbtGradientBound(spec);
  for (const row of rows) {
    checkLabel(spec, row.y);
    const bins = spec.variables.map((v) => gbtBin(v, gbtValue(row, v)));
    const node = gbtRoute(growing, spec.variables, row);
    const at = position.get(node.id);
    if (at === undefined) continue;
    const { g, h } = gbtGradient(spec.loss, gbtMargin(model, row), row.y);
    if (!(Math.abs(g) <= bound)) throw new RangeError(`row: gradient ${g} exceeds the per-row bound ${bound}`);
    spec.variables.forEach((_, j) => {
      const b = bins[j] as number;
      sums.n[at]![j]![b]! += 1;
      sums.g[at]![j]![b]! += g;
      sums.h[at]![j]![b]! += h;
    });
  }
  return { frontier, sums };
}

/** Shop side: one non-negative bigint per field of {@link gbtLevelFields}, in its order. */
export function gbtLevelLocal(spec: GbtSpec, model: GbtModel, rows: readonly GbtRow[]): bigint[] {
  const { frontier, sums } = gbtLevelFloatSums(spec, model, rows);
  const values: bigint[] = [];
  frontier.forEach((_, i) => {
    spec.variables.forEach((variable, j) => {
      for (let b = 0; b < gbtBinCount(variable); b++) {
        values.push(BigInt(sums.n[i]![j]![b]!), ...splitSigned(realToFixed(sums.g[i]![j]![b]!, GBT_SCALE_BITS)));
        if (spec.loss === 'logistic') values.push(realToFixed(sums.h[i]![j]![b]!, GBT_SCALE_BITS));
      }
    });
  });
  assertWithinBounds(gbtLevelFields(spec, frontier), values);
  return values;
}

/** One variable's bins at one node: counts, and g and h sums in units of 2^-GBT_SCALE_BITS. */
export interface GbtBinSums {
  readonly n: readonly bigint[];
  readonly g: readonly bigint[];
  readonly h: readonly bigint[];
}

/** A level's summed histograms, per open node (in frontier order) and variable (in spec order). */
export interface GbtLevelHistograms {
  readonly nodes: readonly { readonly id: number; readonly variables: readonly GbtBinSums[] }[];
}

/**
 * Fit-runner side: the level's released totals (field name → sum over the
 * shops) as histograms. For squared loss h = 1 per row, so H is the count at
 * scale. Throws RangeError naming a missing field.
 */
export function decodeGbtLevel(spec: Pick<GbtSpec, 'loss' | 'variables'>, frontier: readonly number[], totals: Readonly<Record<string, bigint>>): GbtLevelHistograms {
  const get = (name: string): bigint => {
    const v = totals[name];
    if (v === undefined) throw new RangeError(`totals lack ${name}`);
    return v;
  };
  const scale = BigInt(GBT_SCALE_BITS);
  return {
    nodes: frontier.map((id) => ({
      id,
      variables: spec.variables.map((variable) => {
        const n: bigint[] = [];
        const g: bigint[] = [];
        const h: bigint[] = [];
        for (let b = 0; b < gbtBinCount(variable); b++) {
          const prefix = gbtBinPrefix(id, variable.name, b);
          const count = get(`${prefix}.n`);
          n.push(count);
          g.push(joinSigned(totals, `${prefix}.g`));
          h.push(spec.loss === 'logistic' ? get(`${prefix}.h`) : count << scale);
        }
        return { n, g, h };
      }),
    })),
  };
}

/** Field name → value, from a layout and a vector in its order (a shop's vector, or the sum of several). */
export function gbtTotalsByName(fields: readonly FieldSpec[], values: readonly bigint[]): Record<string, bigint> {
  if (values.length !== fields.length) throw new RangeError(`values: expected ${fields.length} values (one per field), got ${values.length}`);
  return Object.fromEntries(fields.map((f, i) => [f.name, values[i] as bigint]));
}
