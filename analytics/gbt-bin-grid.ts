/**
 * `gbt-bin-grid`: the first round of a gradient-boosted-trees fit some of
 * whose numeric variables give `range: [lo, hi]` instead of edges. Each shop
 * sends, for every such variable, the count of its rows in each of the
 * GBT_GRID_CELLS equal-width cells over [lo, hi] (values below lo in the
 * first cell, at or above hi in the last), and its row count `n`. Only the
 * sums over all shops are decrypted, for the fit runner alone (`fit-round`),
 * which picks each variable's edges at cell boundaries from them
 * (gbt-bin-edges.ts); every later round carries those edges.
 *
 * The rows are exactly those the level rounds read (gradient-boosted-trees.ts's
 * `gbtRows`: the training rows, a row missing any value left out, the same
 * declines), so the bins the edges make hold the rows the trees are grown on.
 * Release rules mirror `gbt-level`: one cell `all` whose subjects are `n`
 * (k applies), the edges the round can lead to counted against the
 * saturation ratio, and the relation every honest sum keeps (each variable's
 * cells add up to `n`).
 *
 * @module
 */
import { QuerySpecError } from './errors.js';
import type { GbtBinGridResult } from './gbt-round-results.js';
import { GBT_GRID_CELLS, gbtGridCell } from './gbt-bin-edges.js';
import { isGbtRangeVariable, type GbtRangeVariable } from './gbt-spec.js';
import {
  GBT_BIN_GRID_KIND,
  gbtInputFields,
  gbtRowScope,
  gbtRows,
  gbtWrittenSpecOf,
  parseGbtFitRoundSpec,
  type GbtFitRoundSpec,
} from './gradient-boosted-trees.js';
import { equals, firstBroken, totalOf } from './input-relations.js';
import type { ModelRules } from './model-rules.js';
import { assertWithinBounds, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals, type SubjectSensitivity } from './query-definition.js';
import type { ShopData } from './shop-data.js';

/** A parsed `gbt-bin-grid` spec: the fit's spec as written (with its ranges), the fit and the round. */
export type GbtBinGridSpec = GbtFitRoundSpec<typeof GBT_BIN_GRID_KIND>;

export type { GbtBinGridResult } from './gbt-round-results.js';

const ROWS_FIELD = 'n';
const ROUND_CELL = 'all';

/** Field of a variable's grid cell. */
export function gbtGridField(variable: string, cell: number): string {
  return `${variable}.${cell}`;
}

/** The variables whose edges the round finds, in declared order. */
function gridVariables(spec: GbtBinGridSpec): GbtRangeVariable[] {
  return gbtWrittenSpecOf(spec).variables.filter(isGbtRangeVariable);
}

/** Parses untrusted JSON as a `gbt-bin-grid` spec. Throws QuerySpecError naming the path, also when no variable gives a range. */
export function parseGbtBinGridSpec(json: unknown): GbtBinGridSpec {
  const spec = parseGbtFitRoundSpec(json, GBT_BIN_GRID_KIND);
  if (gridVariables(spec).length === 0) throw new QuerySpecError('variables', 'no numeric variable gives a range: there are no edges to find');
  return spec;
}

/** `n`, then per variable with a range its cells in order; every count at most maxRows. */
export function gbtBinGridFields(spec: GbtBinGridSpec): FieldSpec[] {
  const max = BigInt(spec.maxRows);
  return [{ name: ROWS_FIELD, max }, ...gridVariables(spec).flatMap((v) => Array.from({ length: GBT_GRID_CELLS }, (_, j) => ({ name: gbtGridField(v.name, j), max })))];
}

/** Shop side: the rows the level rounds read, counted on every range variable's grid. */
export function computeGbtBinGridLocal(spec: GbtBinGridSpec, data: ShopData): bigint[] {
  const rows = gbtRows(spec, data, 'train');
  if (rows.length > spec.maxRows) throw new RangeError(`rows: ${rows.length} rows exceed maxRows ${spec.maxRows}`);
  const values: bigint[] = [BigInt(rows.length)];
  for (const v of gridVariables(spec)) {
    const counts = new Array<bigint>(GBT_GRID_CELLS).fill(0n);
    for (const row of rows) counts[gbtGridCell(v.range, row.x[v.name] as number)]! += 1n;
    values.push(...counts);
  }
  assertWithinBounds(gbtBinGridFields(spec), values);
  return values;
}

/** Fit-runner side: the released totals as cell counts. Throws RangeError when the round was withheld. */
export function finaliseGbtBinGrid(spec: GbtBinGridSpec, release: ReleasedTotals): GbtBinGridResult {
  const cell = release.cells[ROUND_CELL];
  if (!cell || cell.suppressed || !cell.totals) throw new RangeError('the bin grid was withheld');
  const totals = cell.totals;
  const count = (name: string): number => Number(totals[name] ?? 0n);
  return {
    n: count(ROWS_FIELD),
    minSubjects: release.minSubjects,
    cells: Object.fromEntries(gridVariables(spec).map((v) => [v.name, Array.from({ length: GBT_GRID_CELLS }, (_, j) => count(gbtGridField(v.name, j)))])),
  };
}

/**
 * What the key holder checks before the fit runner sees the grid: its rows
 * hold no one or at least k subjects, and the edges it can lead to (bins − 1
 * per range variable) stay below the saturation ratio of its rows.
 */
export function gbtBinGridRules(spec: GbtBinGridSpec): ModelRules {
  const variables = gridVariables(spec).map((v) => v.name);
  return {
    rowsField: ROWS_FIELD,
    parameters: variables.length * (spec.bins - 1),
    groups: [{ label: 'the rows of the bin grid', variables, terms: [{ field: ROWS_FIELD, sign: 1 }] }],
  };
}

/** Relations every honest shop's grid keeps (input-relations.ts): each variable's cells count the `n` rows, each row once. */
export function gbtBinGridInputViolation(spec: GbtBinGridSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  const n = totalOf(totals, ROWS_FIELD);
  return firstBroken(
    gridVariables(spec).map((v) => {
      let rows = 0n;
      for (let j = 0; j < GBT_GRID_CELLS; j++) rows += totalOf(totals, gbtGridField(v.name, j));
      return equals(`the rows counted over the cells of ${v.name}`, rows, ROWS_FIELD, n);
    }),
  );
}

/** Per-subject sensitivity: a subject is `n` once and one count in one cell of every variable. */
export function gbtBinGridSensitivity(spec: GbtBinGridSpec): SubjectSensitivity {
  return { perField: Object.fromEntries(gbtBinGridFields(spec).map((f) => [f.name, 1n])), disjointCells: true };
}

export const gbtBinGridQuery: QueryDefinition<GbtBinGridSpec, GbtBinGridResult, typeof GBT_BIN_GRID_KIND> = {
  kind: GBT_BIN_GRID_KIND,
  parseSpec: parseGbtBinGridSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => gbtInputFields(spec),
  fields: gbtBinGridFields,
  cells: (spec): CellSpec[] => [{ name: ROUND_CELL, subjectsField: ROWS_FIELD, fields: gbtBinGridFields(spec).map((f) => f.name) }],
  computeLocal: computeGbtBinGridLocal,
  finalise: finaliseGbtBinGrid,
  subjectSensitivity: gbtBinGridSensitivity,
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  rowScope: (spec) => gbtRowScope(spec, 'train'),
  modelRules: gbtBinGridRules,
  inputViolation: gbtBinGridInputViolation,
};
