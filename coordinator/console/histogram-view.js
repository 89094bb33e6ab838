// A histogram result: bars over the bin ranges (order values in yuan or
// days between orders) and beside them the table of the bins with their
// items and customers; then the total and the percentile estimates.
// Withheld bins are empty hatched slots with their own reason.

import { histogramChart } from './charts.js';
import { h, saveBlob, svg, table, toCsv } from './dom.js';
import { fmt, t } from './i18n.js';
import { reasonsOf, withheldSection } from './withheld.js';

/** Renders a histogram result into `card`. */
export function histogramResult(card, q) {
  const r = q.result;
  const reasons = reasonsOf(q);
  const bins = r.bins;
  const edges = bins.length ? [bins[0].from, ...bins.map((b) => b.to)] : [];
  const unit = r.unit === 'yuan' ? 'yuan' : 'days';
  const edge = (v) => (unit === 'yuan' ? `¥${fmt.num(v)}` : fmt.num(v));
  const range = (b) => `${edge(b.from)}–${edge(b.to)}`;
  const variable = r.variable === 'purchase_interval' ? 'purchase_interval' : 'order_value';
  const title = t(`hist.title.${variable}`);
  const chart = svg(histogramChart({
    title,
    edges,
    values: bins.map((b) => (b.suppressed ? null : b.count)),
    formatEdge: edge,
    format: (v) => fmt.num(v),
    suppressedLabel: t('suppressed'),
    suppressedLabels: bins.map((b, j) => (b.suppressed ? reasons.label(`bin.${j}`) : undefined)),
    suppressedTitles: bins.map((b, j) => (b.suppressed ? reasons.why(`bin.${j}`) : undefined)),
    xLabel: t(`hist.x.${variable}`),
    yLabel: t(`hist.y.${variable}`),
  }));
  chart.classList.add('chart-side');
  const binTable = h('div', { class: 'table-side' }, table(title, [t('hist.bin'), t(`hist.y.${variable}`), t('metric.customers')],
    bins.map((b, j) => [range(b), ...(b.suppressed ? [reasons.node(`bin.${j}`), '—'] : [fmt.num(b.count), fmt.num(b.customers)])]),
    { id: 'result-table' }));
  const total = r.total;
  const totalRows = [[t('hist.total'), ...(total.suppressed ? [reasons.node('all'), '—', '—'] : [fmt.num(total.count), fmt.num(total.customers), total.mean === null ? '—' : edge(Number(total.mean.toFixed(2)))])]];
  const pct = (p) => (p.value === null
    ? [`P${p.percentile}`, t('hist.noPercentile'), '—']
    : [`P${p.percentile}`, edge(Number(p.value.toFixed(2))), `± ${edge(Number(p.errorBound.toFixed(2)))}`]);
  const csv = () => toCsv(['from', 'to', 'unit', 'suppressed', 'count', 'customers'], bins.map((b) => [b.from, b.to, unit, b.suppressed, b.count, b.customers]));
  card.append(
    h('div', { class: 'chart-with-table' }, chart, binTable),
    table(t('hist.totals'), ['', t(`hist.y.${variable}`), t('metric.customers'), t('hist.mean')], totalRows, { id: 'hist-total' }),
    r.percentiles.length ? table(t('hist.percentiles'), [t('hist.percentile'), t('hist.estimate'), t('hist.within')], r.percentiles.map(pct), { id: 'hist-percentiles' }) : null,
    ...[withheldSection(q, (cell) => {
      const j = /^bin\.(\d+)$/.exec(cell);
      return j && bins[Number(j[1])] ? range(bins[Number(j[1])]) : cell === 'all' ? t('hist.total') : cell;
    })].filter(Boolean),
    h('button', { type: 'button', id: 'download-csv', onclick: () => saveBlob(new Blob([csv()], { type: 'text/csv;charset=utf-8' }), `${q.queryId}.csv`) }, t('q.downloadCsv')),
  );
}
