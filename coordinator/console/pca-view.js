// A principal components result: the share of the variance each component
// explains as bars, the components' table beside them, and the loadings of
// every feature; or, when nothing was fitted, why.

import { barChart } from './charts.js';
import { h, svg, table } from './dom.js';
import { fmt, t } from './i18n.js';
import { featureHeading } from './kmeans-view.js';

const num4 = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '—');

/** Renders a PCA result into `card`. */
export function pcaResult(card, q) {
  const r = q.result;
  if (r.status !== 'fitted') {
    card.append(h('p', { role: 'note', class: 'error', id: 'pca-not-fitted' }, t(`pca.${r.status === 'suppressed' ? 'suppressed' : 'degenerate'}`, { k: q.minSubjects }), r.problem ? ` (${r.problem})` : ''));
    return;
  }
  const total = r.eigenvalues.reduce((a, v) => a + Math.max(0, v), 0);
  const shares = r.eigenvalues.map((v) => (total > 0 ? Math.max(0, v) / total : 0));
  const labels = shares.map((_, i) => `PC${i + 1}`);
  const chart = svg(barChart({ title: t('pca.explainedTitle', { n: fmt.num(r.n) }), labels, values: shares, format: (v) => `${(v * 100).toFixed(1)}%` }));
  chart.classList.add('chart-side');
  let cumulative = 0;
  const rows = shares.map((s, i) => {
    cumulative += s;
    return [labels[i], num4(r.eigenvalues[i]), fmt.pct(s), fmt.pct(cumulative)];
  });
  card.append(
    h('p', { class: 'muted' }, t(`pca.matrix.${r.matrix === 'covariance' ? 'covariance' : 'correlation'}`, { n: fmt.num(r.n) })),
    h('div', { class: 'chart-with-table' }, chart, h('div', { class: 'table-side' }, table(t('pca.explained'), [t('pca.component'), t('pca.eigenvalue'), t('pca.share'), t('pca.cumulative')], rows, { id: 'result-table' }))),
    table(t('pca.loadings'), [t('m.feature'), ...r.components.map((_, i) => `PC${i + 1}`)],
      r.features.map((f, j) => [featureHeading(f), ...r.components.map((c) => num4(c.loadings[j]))]), { id: 'pca-loadings' }),
  );
}
