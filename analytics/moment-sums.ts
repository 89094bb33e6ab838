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
import {
  SUBJECTS_FIELD,
  assertRowsPerSubject,
  pairSupportField,
  subjectGroupCounts,
  subjectGroupFields,
  subjectGroupRules,
  supportCounts,
  supportField,
  supportFields,
  supportGroups,
  supportRowGroups,
  type ModelRules,
  type RowGroup,
} from './model-rules.js';
import { absAtMost, atLeast, atMost, firstBroken, signedTotalOf, squareAtMost, totalOf, type RelationCheck } from './input-relations.js';
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
  /**
   * Set when rows are not subjects but rows of customers (each order): the
   * most rows one customer may have. The release rules then count
   * customers (model-rules.ts `subjectGroupRules`), the cell's subjects are
   * the distinct customers, and one customer moves each sum by this many
   * rows' worth.
   */
  readonly perSubject?: bigint;
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
  if (layout.perSubject !== undefined && (typeof layout.perSubject !== 'bigint' || layout.perSubject < 1n)) throw new RangeError('layout.perSubject: expected a positive bigint');
}

const indicatorOf = (layout: MomentLayout) => {
  const indicator = new Map(layout.variables.map((v, i) => [v, layout.indicators?.[i] === true]));
  return (v: string): boolean => indicator.get(v) === true;
};

/** The groups of a layout whose rows belong to customers, as row tests. */
function rowGroups(layout: MomentLayout): RowGroup[] {
  return supportRowGroups(layout.variables, indicatorOf(layout));
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
  out.push(...(layout.perSubject === undefined ? supportFields(vars, layout.maxRows) : subjectGroupFields(rowGroups(layout), layout.maxRows)));
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
  if (layout.perSubject !== undefined) return subjectGroupRules(rowGroups(layout), parameters);
  return { rowsField: 'n', parameters, groups: supportGroups(layout.variables, indicatorOf(layout)) };
}

/** One cell holding every field; subjects are the rows, or the customers when rows belong to customers. */
export function momentCells(layout: MomentLayout): CellSpec[] {
  return [{ name: MOMENTS_CELL, subjectsField: layout.perSubject === undefined ? 'n' : SUBJECTS_FIELD, fields: momentFields(layout).map((f) => f.name) }];
}

/**
 * Per-subject sensitivity (for differentially private purposes): a customer
 * is one row (or at most `perSubject` rows), so adding or removing one
 * changes n by that many, Σx_v by as many times the quantised bound of v and
 * Σx_a·x_b by as many times the product of the two bounds; each count of
 * customers by 1.
 */
export function momentSensitivity(layout: MomentLayout): SubjectSensitivity {
  checkLayout(layout);
  const r = layout.perSubject ?? 1n;
  const q = layout.maxAbs.map((m) => r * quantumBound(m, layout.scaleBits));
  const vars = layout.variables;
  const perField: Record<string, bigint> = { n: r };
  const both = (name: string, v: bigint): void => {
    perField[`${name}+`] = v;
    perField[`${name}-`] = v;
  };
  vars.forEach((v, i) => both(sumName(v), q[i] as bigint));
  for (let a = 0; a < vars.length; a++) for (let b = a; b < vars.length; b++) both(crossName(vars[a] as string, vars[b] as string), ((q[a] as bigint) * (q[b] as bigint)) / r);
  const counts = layout.perSubject === undefined ? supportFields(vars, 1n) : subjectGroupFields(rowGroups(layout), 1n);
  for (const f of counts) perField[f.name] = 1n;
  return { perField, disjointCells: true };
}

/**
 * Shop side: exact moment sums of `rows` (each a value per variable);
 * `subjects[i]` is the customer of row i when the layout's rows belong to
 * customers. Throws RangeError naming the variable when |value| exceeds its
 * bound, naming the `n` field when there are more rows than `maxRows`, and
 * naming `perSubject` when a customer has more rows than it allows.
 */
export function accumulateMoments(layout: MomentLayout, rows: readonly (readonly number[])[], subjects?: readonly string[]): bigint[] {
  checkLayout(layout);
  const d = layout.variables.length;
  if (BigInt(rows.length) > layout.maxRows) throw new RangeError(`field n: ${rows.length} rows exceed bounds.maxRows ${layout.maxRows}`);
  if ((layout.perSubject === undefined) !== (subjects === undefined)) throw new TypeError('subjects: expected one customer per row exactly when the layout has perSubject');
  if (subjects !== undefined && subjects.length !== rows.length) throw new RangeError(`subjects: expected ${rows.length} entries, got ${subjects.length}`);
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
  const nonzero = rows.map((row) => row.map((x) => realToFixed(x, layout.scaleBits) !== 0n));
  if (subjects === undefined) {
    out.push(...supportCounts(layout.variables, nonzero.map((row) => row.map((b) => (b ? 1 : 0)))));
    return out;
  }
  assertRowsPerSubject(subjects, layout.perSubject as bigint);
  out.push(...subjectGroupCounts(rowGroups(layout), nonzero.map((nz, i) => ({ subject: subjects[i] as string, nonzero: nz, positive: false }))));
  return out;
}

/**
 * Relations every honest shop's moment sums satisfy, checked by the key
 * holder on the pooled sums (input-relations.ts). The sums are exact
 * integers of quantised values |Q_v| ≤ round(maxAbs_v · 2^s), and a row adds
 * to a variable's sums only where its Q is nonzero, so over any honest rows:
 * supports are row counts (nz(v) ≤ n, nz(a,b) ≤ nz(a), nz(b));
 * |Σ Q_v| ≤ max|Q_v| · nz(v); 0 ≤ Σ Q_v² ≤ max|Q_v|² · nz(v);
 * (Σ Q_v)² ≤ nz(v) · Σ Q_v² and (Σ Q_a Q_b)² ≤ Σ Q_a² · Σ Q_b²
 * (Cauchy–Schwarz, which survives adding shops). No slack: nothing is
 * rounded after quantisation.
 */
export function momentInputViolation(layout: MomentLayout, totals: ReadonlyMap<string, bigint>): string | undefined {
  checkLayout(layout);
  const vars = layout.variables;
  const n = totalOf(totals, 'n');
  const q = layout.maxAbs.map((m) => realToFixed(m, layout.scaleBits));
  const supportOf = (v: string): bigint => totals.get(supportField(v)) ?? n;
  const counts: RelationCheck[] = [];
  for (const v of vars) if (totals.has(supportField(v))) counts.push(atMost(supportField(v), supportOf(v), 'n', n));
  for (let a = 0; a < vars.length; a++) {
    for (let b = a + 1; b < vars.length; b++) {
      const pair = pairSupportField(vars[a] as string, vars[b] as string);
      const both = totals.get(pair);
      if (both === undefined) continue;
      counts.push(atMost(pair, both, supportField(vars[a] as string), supportOf(vars[a] as string)), atMost(pair, both, supportField(vars[b] as string), supportOf(vars[b] as string)));
    }
  }
  const broken = firstBroken(counts);
  if (broken !== undefined) return broken;
  const square = (i: number): bigint => signedTotalOf(totals, crossName(vars[i] as string, vars[i] as string));
  for (let i = 0; i < vars.length; i++) {
    const v = vars[i] as string;
    const nz = supportOf(v);
    const qv = q[i] as bigint;
    const sum = signedTotalOf(totals, sumName(v));
    const broken = firstBroken([
      atLeast(crossName(v, v), square(i), '0', 0n),
      atMost(crossName(v, v), square(i), `max|Q(${v})|^2 x the rows where ${v} is nonzero`, qv * qv * nz),
      absAtMost(sumName(v), sum, `max|Q(${v})| x the rows where ${v} is nonzero`, qv * nz),
      squareAtMost(sumName(v), sum, `the rows where ${v} is nonzero x ${crossName(v, v)}`, nz, square(i)),
    ]);
    if (broken !== undefined) return broken;
  }
  for (let a = 0; a < vars.length; a++) {
    for (let b = a + 1; b < vars.length; b++) {
      const name = crossName(vars[a] as string, vars[b] as string);
      const broken = squareAtMost(name, signedTotalOf(totals, name), `${crossName(vars[a] as string, vars[a] as string)} x ${crossName(vars[b] as string, vars[b] as string)}`, square(a), square(b));
      if (broken !== undefined) return broken;
    }
  }
  return undefined;
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
