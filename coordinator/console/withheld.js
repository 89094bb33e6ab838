// The withheld cells of a released result (`result.withheld`: cell name,
// reason code and the k and p it was filled with) and their reasons in the
// current language: a short label for charts and table cells, the full
// explanation for tooltips and the table of withheld cells.

import { h, table } from './dom.js';
import { explain, t, withheldLabel } from './i18n.js';

/**
 * The withheld cells a released result lists, by cell name.
 * @param {{result?: any}} q
 * @returns {Map<string, {cell: string, reasonCode: string, params?: {k?: number|null, p?: number|null}}>}
 */
export function withheldByCell(q) {
  const list = Array.isArray(q.result?.withheld) ? q.result.withheld : [];
  return new Map(list.filter((w) => w && typeof w.cell === 'string' && typeof w.reasonCode === 'string').map((w) => [w.cell, w]));
}

/** The values a withheld cell's reason is filled with: those the coordinator used, else the query's thresholds. */
export function withheldVars(w, q) {
  return { k: w?.params?.k ?? q.minSubjects, m: q.minMerchants, p: w?.params?.p ?? null };
}

/**
 * The reasons of one query's withheld cells: `label(cell)` (short, for a
 * chart or table cell) and `why(cell)` (the full explanation); a cell the
 * result does not list (a release made before reasons were recorded) reads
 * as "fewer than k customers", as the coordinator counts such cells.
 * @param {{result?: any, minSubjects?: number, minMerchants?: number}} q
 */
export function reasonsOf(q) {
  const byCell = withheldByCell(q);
  const code = (cell) => byCell.get(cell)?.reasonCode ?? 'FEWER_THAN_K_SUBJECTS';
  return {
    label: (cell) => withheldLabel(code(cell), withheldVars(byCell.get(cell), q)),
    why: (cell) => explain(code(cell), withheldVars(byCell.get(cell), q)),
    /** A table cell for a withheld value: its short reason, the explanation as tooltip. */
    node: (cell) => h('span', { class: 'withheld', title: explain(code(cell), withheldVars(byCell.get(cell), q)) }, `${t('suppressed')}: ${withheldLabel(code(cell), withheldVars(byCell.get(cell), q))}`),
  };
}

/**
 * A table of the withheld cells of a result with why, in the current
 * language; null when none. `folded`: inside a closed <details> naming the
 * count (for results of many cells, whose table already gives each reason).
 */
export function withheldSection(q, cellLabel = (cell) => cell, { folded = false } = {}) {
  const withheld = [...withheldByCell(q).values()];
  if (withheld.length === 0) return null;
  const list = table(t('q.withheld'), [t('q.cell'), t('q.why')],
    withheld.map((w) => [cellLabel(w.cell), h('span', {}, h('strong', {}, withheldLabel(w.reasonCode, withheldVars(w, q))), ' — ', explain(w.reasonCode, withheldVars(w, q)))]),
    { id: 'withheld-table' });
  return h('section', { id: 'withheld' }, folded ? h('details', {}, h('summary', {}, t('q.withheldCount', { n: withheld.length })), list) : list);
}
