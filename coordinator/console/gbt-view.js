// A gradient-boosted-trees model in the console: what it was fitted on, the
// trees as nested lists of their splits and leaves, a few at a time with
// buttons to page through the rest, the variables'
// importance by split gain, and its held-out evaluation. Plain DOM from h():
// every text (variable names and levels come from the fit's spec) becomes a
// text node, never HTML, and the chart's labels are escaped by charts.js.

import { barChart } from './charts.js';
import { h, svg, table } from './dom.js';
import { evaluationSection } from './evaluation-view.js';
import { fmt, t } from './i18n.js';

/** Trees drawn at a time; the buttons page through the rest. */
export const TREES_SHOWN = 3;

const num = (v, digits) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—');

/** A split's condition; rows meeting it go left ("yes"). */
function condition(split) {
  if (split.type === 'numeric') return `${split.variable} < ${split.threshold}`;
  return `${split.variable} ∈ {${(split.levels ?? []).join(', ')}}`;
}

/** Node `id` of a tree and everything below it, as a list item headed by `branch` (yes / no, or nothing at the root). */
function nodeItem(byId, id, branch) {
  const node = byId.get(id);
  const head = branch ? h('span', { class: 'gbt-branch' }, `${branch} `) : null;
  if (node === undefined) return h('li', { class: 'gbt-missing' }, head, '—');
  const rows = h('span', { class: 'gbt-rows muted' }, t('m.gbtRows', { n: fmt.num(node.subjects) }));
  if (node.kind === 'leaf') {
    return h('li', { class: 'gbt-leaf', 'data-node': id }, head, h('span', { class: 'gbt-value' }, t('m.gbtLeaf', { value: num(node.value, 4) })), ' · ', rows);
  }
  if (node.kind !== 'split') return h('li', { class: 'gbt-open', 'data-node': id }, head, t('m.gbtOpen'));
  return h('li', { class: 'gbt-split', 'data-node': id }, head, h('span', { class: 'gbt-condition' }, condition(node.split)), ' · ', rows,
    h('ul', {}, nodeItem(byId, 2 * id + 1, t('m.gbtYes')), nodeItem(byId, 2 * id + 2, t('m.gbtNo'))));
}

function treeView(tree, index, count) {
  const byId = new Map((tree.nodes ?? []).map((n) => [n.id, n]));
  const heading = t('m.gbtTree', { i: index + 1, n: count });
  return h('figure', { class: 'gbt-tree', 'data-tree': index },
    h('figcaption', {}, heading),
    h('ul', { 'aria-label': heading }, nodeItem(byId, 0, null)));
}

/**
 * The trees, TREES_SHOWN at a time from the first, with "earlier" and
 * "later" buttons (disabled at either end) and which trees are shown.
 */
function treesSection(trees) {
  const pages = Math.max(1, Math.ceil(trees.length / TREES_SHOWN));
  const status = h('p', { class: 'muted', id: 'gbt-trees-shown', 'aria-live': 'polite' });
  const figures = h('div', { class: 'gbt-tree-page' });
  const prev = h('button', { type: 'button', id: 'gbt-prev' }, t('m.gbtPrev'));
  const next = h('button', { type: 'button', id: 'gbt-next' }, t('m.gbtNext'));
  let page = 0;
  const show = () => {
    const from = page * TREES_SHOWN;
    const shown = trees.slice(from, from + TREES_SHOWN);
    figures.replaceChildren(...shown.map((tree, i) => treeView(tree, from + i, trees.length)));
    status.textContent = shown.length === 0 ? '' : t('m.gbtTreesRange', { from: from + 1, to: from + shown.length, n: trees.length });
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };
  prev.addEventListener('click', () => { if (page > 0) { page--; show(); } });
  next.addEventListener('click', () => { if (page < pages - 1) { page++; show(); } });
  show();
  return h('div', { id: 'gbt-trees' }, h('h3', {}, t('m.gbtTreesHeading')), status,
    pages > 1 ? h('div', { class: 'gbt-pager' }, prev, ' ', next) : null,
    h('p', { class: 'muted' }, t('m.gbtHowToRead')),
    figures);
}

/** Total split gain per variable, largest first; null when the model carries none. */
function importanceOf(model) {
  if (!Array.isArray(model.importance) || model.importance.length === 0) return null;
  return model.importance
    .filter((v) => v && typeof v.variable === 'string' && typeof v.gain === 'number' && Number.isFinite(v.gain))
    .slice()
    .sort((a, b) => b.gain - a.gain);
}

/**
 * The view of a stored `gradient-boosted-trees` model.
 * @param {Record<string, any>} model
 * @returns {HTMLElement}
 */
export function gbtModelView(model) {
  const trees = Array.isArray(model.trees) ? model.trees : [];
  const label = model.label ?? {};
  const out = h('section', { class: 'gbt-model', id: 'gbt-model' });
  out.append(table(t('m.gbtSummary'), [t('m.metric'), t('m.value')], [
    [t('m.gbtLabel'), `${label.name ?? '—'} (${t(label.type === 'numeric' ? 'm.gbtNumeric' : 'm.gbtBinary')})`],
    [t('m.gbtTrees'), fmt.num(trees.length)],
    [t('m.gbtDepth'), fmt.num(model.depth)],
    [t('m.gbtLearningRate'), String(model.learningRate ?? '—')],
    [t('m.gbtMinLeaf'), fmt.num(model.minLeafSubjects)],
    [t('m.gbtTrainingRows'), fmt.num(model.trainingRows)],
  ]));

  out.append(treesSection(trees));

  const importance = importanceOf(model);
  if (importance && importance.length > 0) {
    const title = t('m.gbtImportance');
    out.append(h('div', { id: 'gbt-importance' }, h('h3', {}, title),
      svg(barChart({ title, labels: importance.map((v) => v.variable), values: importance.map((v) => v.gain), format: (v) => (v === 0 ? '0' : v.toPrecision(3)) })),
      table(title, [t('m.gbtVariable'), t('m.gbtGain')], importance.map((v) => [v.variable, v.gain.toPrecision(4)]))));
  }

  const ev = evaluationSection(model.evaluation);
  if (ev) out.append(h('div', { id: 'gbt-evaluation' }, ...ev));
  return out;
}
