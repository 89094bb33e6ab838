/**
 * First and second moment sums of a list of real variables, exact in binary
 * fixed point: the shop-side statistic of every model fitted in one round from
 * n, Σx and ΣxxT (linear/ridge regression, PCA).
 *
 * Each value x is quantised once to Q = round(x · 2^s) (`realToFixed`, exact
 * from the float's bits), then the shop sums Q and the products Q_a·Q_b in
 * BigInt: no rounding after quantisation, so the released totals are exactly
 * the sums over the pooled rows whatever way the rows are split over shops.
 * Integer-valued variables (counts, one-hots, days) are not rounded at all;
 * others carry at most 2^-(s+1) absolute error per value.
 *
 * Layout: `n`, then `sum(v)±` per variable, then `cross(a,b)±` for the upper
 * triangle a ≤ b in variable order; every signed total travels as its
 * positive and negative part (signed-real.ts); then the support counts of
 * the variables and of every pair (model-rules.ts), which the key holder
 * checks before anything of the moments is used. All fields form one cell
 * whose subjects are the rows `n`; the cell goes to the model's finalisation
 * only, never to a person (the kinds are `model` kinds).
 *
 * @module
 */
import { supportCounts, supportFields, supportGroups, type ModelRules } from './model-rules.js';
import type { CellSpec, FieldSpec, ReleasedTotals, SubjectSensitivity } from './query-definition.js';
import { ratioToNumber } from './rational.js';
import { joinSigned, realToFixed, signedFieldSpecs, splitSigned } from './signed-real.js';

/** What a moment layout depends on. */
export interface MomentLayout {
  /** Variable names in order (features, then e.g. the regression target). */
  readonly variables: readonly string[];
  /** Per variable, the bound on |value|. */
  readonly maxAbs: readonly number[];
  /** Rows one shop may contribute. */
  readonly maxRows: bigint;
  /** Binary fixed-point scale s. */
  readonly scaleBits: number;
  /** Per variable, whether it is a 0/1 indicator (both its levels are groups); default none. */
  readonly indicators?: readonly boolean[];
}

/** Name of the released cell. */
export const MOMENTS_CELL = 'moments';

const sumName = (v: string): string => `sum(${v})`;
const crossName = (a: string, b: string): string => `cross(${a},${b})`;

/** Largest |Q| a variable bounded by `maxAbs` can quantise to. */
function quantumBound(maxAbs: number, scaleBits: number): bigint {
  return realToFixed(maxAbs, scaleBits) + 1n;
}

function checkLayout(layout: MomentLayout): void {
  if (typeof layout !== 'object' || layout === null) throw new TypeError('layout: expected a MomentLayout');
  if (!Array.isArray(layout.variables) || layout.variables.length === 0) throw new RangeError('layout.variables: expected at least one variable');
  if (!Array.isArray(layout.maxAbs) || layout.maxAbs.length !== layout.variables.length) throw new RangeError('layout.maxAbs: expected one bound per variable');
  if (typeof layout.maxRows !== 'bigint' || layout.maxRows < 1n) throw new RangeError('layout.maxRows: expected a positive bigint');
  if (!Number.isInteger(layout.scaleBits) || layout.scaleBits < 0 || layout.scaleBits > 60) throw new RangeError('layout.scaleBits: expected an integer in [0, 60]');
  layout.maxAbs.forEach((m, i) => {
    if (!(typeof m === 'number' && Number.isFinite(m) && m > 0)) throw new RangeError(`layout.maxAbs[${i}]: expected a positive finite number`);
  });
}

/** The fields, in the order {@link accumulateMoments} returns values. */
export function momentFields(layout: MomentLayout): FieldSpec[] {
  checkLayout(layout);
  const q = layout.maxAbs.map((m) => quantumBound(m, layout.scaleBits));
  const vars = layout.variables;
  const out: FieldSpec[] = [{ name: 'n', max: layout.maxRows }];
  vars.forEach((v, i) => out.push(...signedFieldSpecs(sumName(v), layout.maxRows * (q[i] as bigint))));
  for (let a = 0; a < vars.length; a++) {
    for (let b = a; b < vars.length; b++) {
      out.push(...signedFieldSpecs(crossName(vars[a] as string, vars[b] as string), layout.maxRows * (q[a] as bigint) * (q[b] as bigint)));
    }
  }
  out.push(...supportFields(vars, layout.maxRows));
  return out;
}

/**
 * What the key holder checks before the moments go to the model: every
 * variable's support and every pair's joint support (both levels and all
 * four cells for indicators) hold 0 or at least k rows, and `parameters`
 * stay below the saturation ratio of the rows.
 */
export function momentModelRules(layout: MomentLayout, parameters: number): ModelRules {
  checkLayout(layout);
  const indicator = new Map(layout.variables.map((v, i) => [v, layout.indicators?.[i] === true]));
  return { rowsField: 'n', parameters, groups: supportGroups(layout.variables, (v) => indicator.get(v) === true) };
}

/** One cell holding every field; subjects are the rows. */
export function momentCells(layout: MomentLayout): CellSpec[] {
  return [{ name: MOMENTS_CELL, subjectsField: 'n', fields: momentFields(layout).map((f) => f.name) }];
}

/**
 * Per-subject sensitivity (for differentially private purposes): a customer
 * is one row, so adding or removing one changes n by 1, Σx_v by at most the
 * quantised bound of v and Σx_a·x_b by the product of the two bounds.
 */
export function momentSensitivity(layout: MomentLayout): SubjectSensitivity {
  checkLayout(layout);
  const q = layout.maxAbs.map((m) => quantumBound(m, layout.scaleBits));
  const vars = layout.variables;
  const perField: Record<string, bigint> = { n: 1n };
  const both = (name: string, v: bigint): void => {
    perField[`${name}+`] = v;
    perField[`${name}-`] = v;
  };
  vars.forEach((v, i) => both(sumName(v), q[i] as bigint));
  for (let a = 0; a < vars.length; a++) for (let b = a; b < vars.length; b++) both(crossName(vars[a] as string, vars[b] as string), (q[a] as bigint) * (q[b] as bigint));
  for (const f of supportFields(vars, 1n)) perField[f.name] = 1n;
  return { perField, disjointCells: true };
}

/**
 * Shop side: exact moment sums of `rows` (each a value per variable). Throws
 * RangeError naming the variable when |value| exceeds its bound, and naming
 * the `n` field when there are more rows than `maxRows`.
 */
export function accumulateMoments(layout: MomentLayout, rows: readonly (readonly number[])[]): bigint[] {
  checkLayout(layout);
  const d = layout.variables.length;
  if (BigInt(rows.length) > layout.maxRows) throw new RangeError(`field n: ${rows.length} rows exceed bounds.maxRows ${layout.maxRows}`);
  const sums = new Array<bigint>(d).fill(0n);
  const cross = new Array<bigint>((d * (d + 1)) / 2).fill(0n);
  const q = new Array<bigint>(d);
  for (const row of rows) {
    if (row.length !== d) throw new RangeError(`rows: expected ${d} values per row, got ${row.length}`);
    for (let i = 0; i < d; i++) {
      const x = row[i] as number;
      const max = layout.maxAbs[i] as number;
      if (!(Math.abs(x) <= max)) {
        throw new RangeError(`field ${sumName(layout.variables[i] as string)}: feature ${layout.variables[i]} value ${x} exceeds its bound ${max} (bounds.featureMaxAbs)`);
      }
      q[i] = realToFixed(x, layout.scaleBits);
      sums[i] = (sums[i] as bigint) + (q[i] as bigint);
    }
    let k = 0;
    for (let a = 0; a < d; a++) {
      const qa = q[a] as bigint;
      if (qa === 0n) {
        k += d - a;
        continue;
      }
      for (let b = a; b < d; b++, k++) cross[k] = (cross[k] as bigint) + qa * (q[b] as bigint);
    }
  }
  const out: bigint[] = [BigInt(rows.length)];
  for (const s of sums) out.push(...splitSigned(s));
  for (const c of cross) out.push(...splitSigned(c));
  // Supports of the quantised values: a value that quantises to 0 adds nothing to the sums, so it is not in the group they describe.
  out.push(...supportCounts(layout.variables, rows.map((row) => row.map((x) => (realToFixed(x, layout.scaleBits) === 0n ? 0 : 1)))));
  return out;
}

/** Exact released moments: Σx at scale 2^s, ΣxxT at scale 2^2s. */
export interface MomentTotals {
  readonly n: bigint;
  readonly sums: readonly bigint[];
  /** Full symmetric matrix. */
  readonly cross: readonly (readonly bigint[])[];
  readonly scaleBits: number;
}

/** Reads the released totals of the moments cell back into exact sums. Throws TypeError naming a missing field. */
export function momentTotals(layout: MomentLayout, totals: Readonly<Record<string, bigint>>): MomentTotals {
  checkLayout(layout);
  const vars = layout.variables;
  const get = (name: string): bigint => {
    try {
      return joinSigned(totals, name);
    } catch {
      throw new TypeError(`release.cells.${MOMENTS_CELL}.totals: ${name}+ or ${name}- missing`);
    }
  };
  const n = totals.n;
  if (typeof n !== 'bigint' || n < 0n) throw new TypeError(`release.cells.${MOMENTS_CELL}.totals.n: missing or negative`);
  const sums = vars.map((v) => get(sumName(v)));
  const cross = vars.map(() => new Array<bigint>(vars.length).fill(0n));
  for (let a = 0; a < vars.length; a++) {
    for (let b = a; b < vars.length; b++) {
      const v = get(crossName(vars[a] as string, vars[b] as string));
      (cross[a] as bigint[])[b] = v;
      (cross[b] as bigint[])[a] = v;
    }
  }
  return { n, sums, cross, scaleBits: layout.scaleBits };
}

/** Mean of each variable, correctly rounded from the exact sums. */
export function momentMeans(m: MomentTotals): number[] {
  if (m.n <= 0n) throw new RangeError('m.n: no rows');
  return m.sums.map((s) => ratioToNumber(s, m.n << BigInt(m.scaleBits)));
}

/**
 * Centred scatter Σ(x_a − x̄_a)(x_b − x̄_b) = (n·Σx_a x_b − Σx_a Σx_b) / n,
 * formed exactly in BigInt and rounded once per entry (no cancellation).
 */
export function centredScatter(m: MomentTotals): number[][] {
  if (m.n <= 0n) throw new RangeError('m.n: no rows');
  const den = m.n << BigInt(2 * m.scaleBits);
  return m.cross.map((row, a) => row.map((t, b) => ratioToNumber(m.n * t - (m.sums[a] as bigint) * (m.sums[b] as bigint), den)));
}

/** Uncentred Σx_a x_b, each entry correctly rounded. */
export function rawCross(m: MomentTotals): number[][] {
  const den = 1n << BigInt(2 * m.scaleBits);
  return m.cross.map((row) => row.map((t) => ratioToNumber(t, den)));
}

/**
 * The released totals of the moments cell, or null when the key holder
 * suppressed it. Throws TypeError naming what is missing from a malformed
 * release. Shared by every query finalised from moment sums.
 */
export function releasedMomentCell(release: ReleasedTotals): Readonly<Record<string, bigint>> | null {
  if (typeof release !== 'object' || release === null || typeof release.cells !== 'object' || release.cells === null) {
    throw new TypeError('release: expected { cells }');
  }
  const cell = release.cells[MOMENTS_CELL];
  if (cell === undefined) throw new TypeError(`release.cells.${MOMENTS_CELL}: missing`);
  if (cell.suppressed) return null;
  if (cell.totals === undefined) throw new TypeError(`release.cells.${MOMENTS_CELL}.totals: missing`);
  return cell.totals;
}
