// An RFM result: a heat map of customers by recency (rows) and frequency
// (columns) score, for one monetary score or all of them, and beside it the
// table of the cells shown with their orders and spend; then the core and
// ordinary tiers. Withheld cells are hatched with their own reason.

import { countHeatMap } from './charts.js';
import { clear, h, saveBlob, svg, table, toCsv } from './dom.js';
import { fmt, t } from './i18n.js';
import { reasonsOf, withheldSection } from './withheld.js';

/** `[from, to)` of whole numbers as people read it: "2–3", "1", "8+". */
function countRange(b) {
  if (b.to === null) return `${fmt.num(b.from)}+`;
  return b.to - 1 === b.from ? fmt.num(b.from) : `${fmt.num(b.from)}–${fmt.num(b.to - 1)}`;
}

/** Labels of the three dimensions' buckets, by score. */
function bucketLabels(r) {
  const byScore = (list, text) => new Map(list.map((b) => [b.score, text(b)]));
  return {
    recency: byScore(r.recency, (b) => t('rfm.recencyRange', { score: b.score, from: fmt.num(b.from), to: b.to === null ? '∞' : fmt.num(b.to) })),
    frequency: byScore(r.frequency, (b) => t('rfm.frequencyRange', { score: b.score, range: countRange(b) })),
    monetary: byScore(r.monetary, (b) => t('rfm.monetaryRange', { score: b.score, from: fmt.num(b.from), to: b.to === null ? '∞' : fmt.num(b.to) })),
  };
}

/** The release's name of an RFM cell. */
export function rfmCellName(c) {
  return `r${c.recencyScore}f${c.frequencyScore}m${c.monetaryScore}`;
}

/**
 * The heat map's grid for monetary score `m` (a number, or 'all' for the sum
 * over every monetary score): customers per (recency, frequency) cell, with
 * the withheld cells' reasons and, for 'all', sums of partly withheld cells
 * marked as lower bounds ("≥ n").
 * @param {any} r  the RFM result
 * @param {number|'all'} m
 * @param {{label: (cell: string) => string, why: (cell: string) => string}} reasons
 */
export function rfmGrid(r, m, reasons) {
  const rScores = r.recency.map((b) => b.score).sort((a, b) => b - a);
  const fScores = r.frequency.map((b) => b.score).sort((a, b) => a - b);
  const cells = [];
  const cellTexts = [];
  const cellTitles = [];
  const suppressedLabels = [];
  const suppressedTitles = [];
  for (const rs of rScores) {
    const row = [];
    const texts = [];
    const titles = [];
    const labels = [];
    const whys = [];
    for (const fs of fScores) {
      const parts = r.cells.filter((c) => c.recencyScore === rs && c.frequencyScore === fs && (m === 'all' || c.monetaryScore === m));
      const shown = parts.filter((c) => !c.suppressed);
      const hidden = parts.filter((c) => c.suppressed);
      const sum = shown.reduce((a, c) => a + c.customers, 0);
      if (parts.length > 0 && shown.length === 0) {
        row.push(null);
        texts.push(undefined);
        titles.push(undefined);
        labels.push([...new Set(hidden.map((c) => reasons.label(rfmCellName(c))))].join(' / '));
        whys.push(hidden.map((c) => (m === 'all' ? `M${c.monetaryScore}: ${reasons.why(rfmCellName(c))}` : reasons.why(rfmCellName(c)))).join(' '));
      } else {
        row.push(parts.length === 0 ? null : sum);
        texts.push(hidden.length > 0 ? `≥ ${fmt.num(sum)}` : undefined);
        titles.push(hidden.length > 0 ? t('rfm.partial', { sum: fmt.num(sum), n: hidden.length, list: hidden.map((c) => `M${c.monetaryScore} (${reasons.label(rfmCellName(c))})`).join(', ') }) : undefined);
        labels.push(undefined);
        whys.push(undefined);
      }
    }
    cells.push(row);
    cellTexts.push(texts);
    cellTitles.push(titles);
    suppressedLabels.push(labels);
    suppressedTitles.push(whys);
  }
  return { rScores, fScores, cells, cellTexts, cellTitles, suppressedLabels, suppressedTitles };
}

const money = (v) => (v === null || v === undefined ? '—' : `¥${fmt.num(v)}`);

/** Renders an RFM result into `card`. */
export function rfmResult(card, q) {
  const r = q.result;
  const reasons = reasonsOf(q);
  const labels = bucketLabels(r);
  const mScores = r.monetary.map((b) => b.score).sort((a, b) => a - b);
  const select = h('select', { id: 'rfm-monetary' },
    h('option', { value: 'all' }, t('rfm.allMonetary')),
    ...mScores.map((m) => h('option', { value: String(m) }, labels.monetary.get(m))));
  const chartBox = h('div', { id: 'chart', class: 'chart-side', 'aria-live': 'polite' });
  const tableBox = h('div', { class: 'table-side' });
  const draw = () => {
    clear(chartBox);
    clear(tableBox);
    const m = select.value === 'all' ? 'all' : Number(select.value);
    const g = rfmGrid(r, m, reasons);
    const title = `${t('rfm.heatTitle')} · ${m === 'all' ? t('rfm.allMonetary') : labels.monetary.get(m)}`;
    chartBox.append(svg(countHeatMap({
      title,
      rows: g.rScores.map((s) => labels.recency.get(s)),
      cols: g.fScores.map((s) => labels.frequency.get(s)),
      cells: g.cells,
      format: (v) => fmt.num(v),
      cellTexts: g.cellTexts,
      cellTitles: g.cellTitles,
      suppressedLabels: g.suppressedLabels,
      suppressedTitles: g.suppressedTitles,
      rowLabel: t('rfm.recency'),
      colLabel: t('rfm.frequency'),
    })));
    const shown = r.cells.filter((c) => m === 'all' || c.monetaryScore === m)
      .slice().sort((a, b) => b.recencyScore - a.recencyScore || a.frequencyScore - b.frequencyScore || a.monetaryScore - b.monetaryScore);
    // R and F ranges are the chart's axes; the cell's name carries its scores, and the monetary range is written out here.
    tableBox.append(table(title, [t('rfm.cell'), t('rfm.monetary'), t('metric.customers'), t('metric.orders'), t('rfm.spend'), t('rfm.meanSpend')],
      shown.map((c) => [
        `R${c.recencyScore} F${c.frequencyScore} M${c.monetaryScore}`,
        labels.monetary.get(c.monetaryScore),
        ...(c.suppressed ? [reasons.node(rfmCellName(c)), '—', '—', '—'] : [fmt.num(c.customers), fmt.num(c.orders), money(c.spend), money(c.meanSpend)]),
      ]), { id: 'result-table' }));
  };
  select.addEventListener('change', draw);
  const tierLabel = (tier) => t(`rfm.tier.${tier}`);
  const rule = t('rfm.coreRule', { r: r.core.minRecencyScore, f: r.core.minFrequencyScore, m: r.core.minMonetaryScore });
  const csv = () => toCsv(['cell', 'recency_score', 'frequency_score', 'monetary_score', 'suppressed', 'customers', 'orders', 'spend_yuan', 'mean_spend_yuan'],
    [...r.cells.map((c) => [rfmCellName(c), c.recencyScore, c.frequencyScore, c.monetaryScore, c.suppressed, c.customers, c.orders, c.spend, c.meanSpend]),
      ...r.tiers.map((c) => [c.tier, '', '', '', c.suppressed, c.customers, c.orders, c.spend, c.meanSpend])]);
  card.append(
    h('p', { class: 'muted' }, t('rfm.intro', { asOf: fmt.day(r.asOf), days: r.windowDays })),
    h('div', { class: 'field inline' }, h('label', { for: 'rfm-monetary' }, t('rfm.monetaryFilter')), select),
    h('div', { class: 'chart-with-table' }, chartBox, tableBox),
    h('h3', {}, t('rfm.tiers')),
    h('p', { class: 'muted' }, rule),
    table(t('rfm.tiers'), [t('rfm.tier'), t('metric.customers'), t('metric.orders'), t('rfm.spend'), t('rfm.meanSpend')],
      r.tiers.map((c) => [tierLabel(c.tier), ...(c.suppressed ? [reasons.node(c.tier), '—', '—', '—'] : [fmt.num(c.customers), fmt.num(c.orders), money(c.spend), money(c.meanSpend)])]),
      { id: 'rfm-tiers' }),
    ...[withheldSection(q, (cell) => (cell === 'core' || cell === 'ordinary' ? tierLabel(cell) : cell.replace(/^r(\d+)f(\d+)m(\d+)$/, 'R$1 F$2 M$3')), { folded: true })].filter(Boolean),
    h('button', { type: 'button', id: 'download-csv', onclick: () => saveBlob(new Blob([csv()], { type: 'text/csv;charset=utf-8' }), `${q.queryId}.csv`) }, t('q.downloadCsv')),
  );
  draw();
}
