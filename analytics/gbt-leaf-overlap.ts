/**
 * `gbt-leaf-overlap`: the round of a gradient-boosted-trees fit after every
 * tree from the second. Its spec carries the fit's spec and the complete
 * trees (the last one is being checked). Each shop routes its training rows
 * through every tree and sends its rows `n`, the rows of each leaf of the
 * last tree, and per earlier tree the rows each leaf of the last tree shares
 * with each of its leaves. Only the sums over all shops are decrypted, for
 * the fit runner alone (`fit-round`), which prunes the last tree until every
 * intersection holds no row or at least k rows (gbt-prune.ts): then
 * any two leaves of the model differ by no row or at least that many.
 *
 * The rows are exactly those the level rounds read (gradient-boosted-trees.ts's
 * `gbtRows`: the training rows, a row missing a value left out, the same
 * declines), and the forest is checked as a level's is. Release rules mirror
 * `gbt-level`: one cell `all` whose subjects are `n` (k applies); the round
 * adds no parameter (it can only merge leaves the levels made).
 *
 * @module
 */
import type { GbtLeafOverlapResult } from './gbt-round-results.js';
import type { GbtTree } from './gbt-tree.js';
import { gbtLeafOverlapCounts, type GbtLeafOverlapCount } from './gbt-prune.js';
import { GBT_LEAF_OVERLAP_KIND, gbtInputFields, gbtRoundModel, gbtRows, gbtRowScope, parseGbtForestSpec, type GbtForestSpec } from './gradient-boosted-trees.js';
import { equals, firstBroken, totalOf, type RelationCheck } from './input-relations.js';
import type { ModelRules } from './model-rules.js';
import { assertWithinBounds, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals, type SubjectSensitivity } from './query-definition.js';
import type { ShopData } from './shop-data.js';

/** A parsed `gbt-leaf-overlap` spec: the fit's spec, the fit and round, and the complete trees (at least 2). */
export type GbtLeafOverlapSpec = GbtForestSpec<typeof GBT_LEAF_OVERLAP_KIND>;

export type { GbtLeafOverlapResult } from './gbt-round-results.js';

const ROWS_FIELD = 'n';
const ROUND_CELL = 'all';

/** Field of the rows of leaf `j` of the last tree. */
export function gbtLeafRowsField(j: number): string {
  return `leaf.${j}`;
}

/** Field of the rows leaf `j` of the last tree shares with leaf `i` of earlier tree `s` (0-based; the name counts trees from 1). */
export function gbtLeafOverlapField(s: number, i: number, j: number): string {
  return `${s + 1}.${i}.${j}`;
}

const leafIds = (tree: GbtTree): number[] => tree.nodes.filter((n) => n.kind === 'leaf').map((n) => n.id);

/** The trees of the spec: the earlier ones and the last. */
function treesOf(spec: GbtLeafOverlapSpec): { readonly earlier: readonly GbtTree[]; readonly last: GbtTree } {
  const { trees } = gbtRoundModel(spec);
  return { earlier: trees.slice(0, -1), last: trees.at(-1) as GbtTree };
}

/** Parses untrusted JSON as a `gbt-leaf-overlap` spec (complete trees, at least 2). Throws QuerySpecError naming the path. */
export function parseGbtLeafOverlapSpec(json: unknown): GbtLeafOverlapSpec {
  return parseGbtForestSpec(json, GBT_LEAF_OVERLAP_KIND, 'complete');
}

/** `n`, the rows of each leaf of the last tree, then per earlier tree, its leaf and the last tree's leaf the shared rows; every count at most maxRows. */
export function gbtLeafOverlapFields(spec: GbtLeafOverlapSpec): FieldSpec[] {
  const max = BigInt(spec.maxRows);
  const { earlier, last } = treesOf(spec);
  const lastLeaves = leafIds(last);
  const fields: FieldSpec[] = [{ name: ROWS_FIELD, max }, ...lastLeaves.map((j) => ({ name: gbtLeafRowsField(j), max }))];
  earlier.forEach((tree, s) => {
    for (const i of leafIds(tree)) for (const j of lastLeaves) fields.push({ name: gbtLeafOverlapField(s, i, j), max });
  });
  return fields;
}

/** Shop side: the rows the level rounds read, routed through every tree and counted per pair of leaves. */
export function computeGbtLeafOverlapLocal(spec: GbtLeafOverlapSpec, data: ShopData): bigint[] {
  const rows = gbtRows(spec, data, 'train');
  if (rows.length > spec.maxRows) throw new RangeError(`rows: ${rows.length} rows exceed maxRows ${spec.maxRows}`);
  const { variables, trees } = gbtRoundModel(spec);
  const fields = gbtLeafOverlapFields(spec);
  const index = new Map(fields.map((f, i) => [f.name, i]));
  const values = new Array<bigint>(fields.length).fill(0n);
  const set = (name: string, rows: number): void => {
    values[index.get(name) as number] = BigInt(rows);
  };
  const counts = gbtLeafOverlapCounts(variables, trees, rows);
  set(ROWS_FIELD, rows.length);
  for (const [j, n] of counts.leafRows) set(gbtLeafRowsField(j), n);
  for (const o of counts.overlaps) set(gbtLeafOverlapField(o.tree, o.leaf, o.lastLeaf), o.rows);
  assertWithinBounds(fields, values);
  return values;
}

/** Fit-runner side: the released totals as leaf rows and intersections. Throws RangeError when the round was withheld. */
export function finaliseGbtLeafOverlap(spec: GbtLeafOverlapSpec, release: ReleasedTotals): GbtLeafOverlapResult {
  const cell = release.cells[ROUND_CELL];
  if (!cell || cell.suppressed || !cell.totals) throw new RangeError('the leaf overlap was withheld');
  const totals = cell.totals;
  const count = (name: string): number => Number(totals[name] ?? 0n);
  const { earlier, last } = treesOf(spec);
  const lastLeaves = leafIds(last);
  const overlaps: GbtLeafOverlapCount[] = [];
  earlier.forEach((tree, s) => {
    for (const i of leafIds(tree)) for (const j of lastLeaves) overlaps.push({ tree: s, leaf: i, lastLeaf: j, rows: count(gbtLeafOverlapField(s, i, j)) });
  });
  return {
    n: count(ROWS_FIELD),
    minSubjects: release.minSubjects,
    leafRows: Object.fromEntries(lastLeaves.map((j) => [String(j), count(gbtLeafRowsField(j))])),
    overlaps,
  };
}

/**
 * What the key holder checks before the fit runner sees the counts: the
 * rows hold no one or at least k subjects. The round adds no parameter: the
 * fit runner can only merge leaves the levels made.
 */
export function gbtLeafOverlapRules(spec: GbtLeafOverlapSpec): ModelRules {
  return {
    rowsField: ROWS_FIELD,
    parameters: 0,
    groups: [{ label: `the rows of tree ${spec.forest.length}`, variables: [], terms: [{ field: ROWS_FIELD, sign: 1 }] }],
  };
}

/**
 * Relations every honest shop's counts keep (input-relations.ts): the last
 * tree's leaves count the `n` rows, each row once; for every earlier tree,
 * the rows a leaf of the last tree shares with its leaves add up to that
 * leaf's rows (so no count exceeds them).
 */
export function gbtLeafOverlapInputViolation(spec: GbtLeafOverlapSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  const { earlier, last } = treesOf(spec);
  const lastLeaves = leafIds(last);
  let leaves = 0n;
  for (const j of lastLeaves) leaves += totalOf(totals, gbtLeafRowsField(j));
  const checks: RelationCheck[] = [equals('the rows of the leaves of the last tree', leaves, ROWS_FIELD, totalOf(totals, ROWS_FIELD))];
  earlier.forEach((tree, s) => {
    for (const j of lastLeaves) {
      let shared = 0n;
      for (const i of leafIds(tree)) shared += totalOf(totals, gbtLeafOverlapField(s, i, j));
      checks.push(equals(`the rows leaf ${j} shares with the leaves of tree ${s + 1}`, shared, gbtLeafRowsField(j), totalOf(totals, gbtLeafRowsField(j))));
    }
  });
  return firstBroken(checks);
}

/** Per-subject sensitivity: a subject is `n` once, in one leaf of the last tree, and in one intersection per earlier tree. */
export function gbtLeafOverlapSensitivity(spec: GbtLeafOverlapSpec): SubjectSensitivity {
  return { perField: Object.fromEntries(gbtLeafOverlapFields(spec).map((f) => [f.name, 1n])), disjointCells: true };
}

export const gbtLeafOverlapQuery: QueryDefinition<GbtLeafOverlapSpec, GbtLeafOverlapResult, typeof GBT_LEAF_OVERLAP_KIND> = {
  kind: GBT_LEAF_OVERLAP_KIND,
  parseSpec: parseGbtLeafOverlapSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => gbtInputFields(spec),
  fields: gbtLeafOverlapFields,
  cells: (spec): CellSpec[] => [{ name: ROUND_CELL, subjectsField: ROWS_FIELD, fields: gbtLeafOverlapFields(spec).map((f) => f.name) }],
  computeLocal: computeGbtLeafOverlapLocal,
  finalise: finaliseGbtLeafOverlap,
  subjectSensitivity: gbtLeafOverlapSensitivity,
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  rowScope: (spec) => gbtRowScope(spec, 'train'),
  modelRules: gbtLeafOverlapRules,
  inputViolation: gbtLeafOverlapInputViolation,
};
