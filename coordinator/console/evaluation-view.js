// A fitted model's held-out evaluation: the ROC curve from its score
// histograms (binary label) and the metrics beside it, or the error
// metrics of a numeric label. Used for logistic regression (the fit's
// evaluation) and gradient-boosted trees (the model's own).

import { rocChart, rocFromHistograms } from './charts.js';
import { h, svg, table } from './dom.js';
import { fmt, t } from './i18n.js';

const num4 = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '—');

/**
 * The evaluation's heading, chart and table, or null when there is nothing
 * to show (no evaluation, or one of neither shape).
 * @param {unknown} ev
 * @returns {HTMLElement[] | null}
 */
export function evaluationSection(ev) {
  if (!ev || typeof ev !== 'object') return null;
  if (Array.isArray(ev.positiveHistogram) && Array.isArray(ev.negativeHistogram)) {
    const roc = rocFromHistograms(ev.positiveHistogram, ev.negativeHistogram);
    return [
      h('h3', {}, t('m.evaluation')),
      svg(rocChart({ title: t('m.roc'), points: roc.points, auc: typeof ev.auc === 'number' ? ev.auc : roc.auc, fprLabel: t('m.fpr'), tprLabel: t('m.tpr') })),
      table(t('m.metrics'), [t('m.metric'), t('m.value')], [
        ['AUC', num4(ev.auc)],
        [t('m.accuracy'), num4(ev.accuracy)],
        [t('m.logLoss'), num4(ev.logLoss)],
        [t('m.rows'), fmt.num(ev.n)],
      ]),
    ];
  }
  if ('rmse' in ev || 'mae' in ev) {
    return [
      h('h3', {}, t('m.evaluation')),
      table(t('m.metrics'), [t('m.metric'), t('m.value')], [
        ['RMSE', num4(ev.rmse)],
        ['MAE', num4(ev.mae)],
        [t('m.rows'), fmt.num(ev.n)],
      ]),
    ];
  }
  return null;
}
