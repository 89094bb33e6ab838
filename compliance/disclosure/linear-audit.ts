/**
 * The linear audit behind secondary suppression: which withheld cells the
 * declared relations determine exactly, when a reader combines several of
 * them (adds one, subtracts another), not only one at a time.
 *
 * Each relation says that, field by field, its parts add up to its total
 * cell, or, without a total, to a figure published elsewhere. Released
 * cells are known; withheld cells are the unknowns. A withheld cell is
 * determined exactly when its unit vector lies in the row space of the
 * relations restricted to the unknowns, i.e. when every solution of the
 * homogeneous system has a zero in its place. That is read off the reduced
 * row echelon form: the cell's column is a pivot whose row is zero in every
 * free column. Arithmetic is exact (bigint rows, fraction-free elimination).
 *
 * @module
 */
import { gcd } from '../../analytics/index.js';

/** A relation between cells, as in `suppression.ts`. */
export interface LinearRelation {
  readonly parts: readonly string[];
  readonly total?: string;
}

/** Divides a row by the gcd of its entries, sign-normalised on its first non-zero entry. */
function normalise(row: bigint[]): bigint[] {
  let g = 0n;
  for (const v of row) g = gcd(g, v);
  if (g === 0n) return row;
  const first = row.find((v) => v !== 0n) as bigint;
  const s = first < 0n ? -g : g;
  return row.map((v) => v / s);
}

/**
 * The members of `unknowns` (withheld cells, in a fixed order) that the
 * relations determine. Throws TypeError naming the argument on malformed input.
 */
export function determinedUnknowns(unknowns: readonly string[], relations: readonly LinearRelation[]): string[] {
  if (!Array.isArray(unknowns)) throw new TypeError('unknowns: expected an array of cell names');
  if (!Array.isArray(relations)) throw new TypeError('relations: expected an array of relations');
  const column = new Map(unknowns.map((u, i) => [u, i]));
  const rows: bigint[][] = [];
  for (const r of relations) {
    // parts − total = known; released members only move the right-hand side.
    const row = unknowns.map(() => 0n);
    for (const p of r.parts) {
      const j = column.get(p);
      if (j !== undefined) row[j] = (row[j] as bigint) + 1n;
    }
    const t = r.total === undefined ? undefined : column.get(r.total);
    if (t !== undefined) row[t] = (row[t] as bigint) - 1n;
    if (row.some((v) => v !== 0n)) rows.push(row);
  }
  // Reduced row echelon form, fraction-free.
  const pivots: number[] = [];
  let rank = 0;
  for (let col = 0; col < unknowns.length && rank < rows.length; col++) {
    const at = rows.findIndex((r, i) => i >= rank && r[col] !== 0n);
    if (at < 0) continue;
    [rows[rank], rows[at]] = [rows[at] as bigint[], rows[rank] as bigint[]];
    const pivotRow = rows[rank] as bigint[];
    const p = pivotRow[col] as bigint;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as bigint[];
      if (i === rank || r[col] === 0n) continue;
      const f = r[col] as bigint;
      rows[i] = normalise(r.map((v, j) => v * p - f * (pivotRow[j] as bigint)));
    }
    rows[rank] = normalise(pivotRow);
    pivots.push(col);
    rank++;
  }
  const pivotSet = new Set(pivots);
  const out: string[] = [];
  pivots.forEach((col, i) => {
    const row = rows[i] as bigint[];
    if (row.every((v, j) => j === col || pivotSet.has(j) || v === 0n)) out.push(unknowns[col] as string);
  });
  return out;
}
