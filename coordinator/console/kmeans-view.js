// A k-means model: the centroids in the features' own units (the model
// clusters scaled features: orders / 10, yuan / 100, ...), each cluster's
// customers, and a bubble chart of the centroids on two features (the first
// two, or a pair the marketer picks) with areas proportional to the
// clusters' sizes, its table beside it.

import { scatterChart } from './charts.js';
import { clear, h, svg, table } from './dom.js';
import { fmt, t } from './i18n.js';

/**
 * The named customer features of k-means and logistic regression
 * (analytics/features.ts): how the model scales each (value in the unit =
 * model value × scale) and the unit's label key.
 */
export const FEATURE_UNITS = {
  orders: { scale: 10, unit: 'unit.orders' },
  avg_order_value: { scale: 100, unit: 'unit.yuan' },
  return_rate: { scale: 100, unit: 'unit.percent' },
  tenure_years: { scale: 1, unit: 'unit.years' },
  mean_gap_days: { scale: 30, unit: 'unit.days' },
  recency_days: { scale: 1, unit: 'unit.days' },
  frequency: { scale: 1, unit: 'unit.orders' },
  monetary_yuan: { scale: 1, unit: 'unit.yuan' },
  avg_order_yuan: { scale: 1, unit: 'unit.yuan' },
  tenure_days: { scale: 1, unit: 'unit.days' },
};

/** A feature's name and unit for headings: "订单数（单）"; a formula column keeps its own name. */
export function featureHeading(name) {
  const u = Object.hasOwn(FEATURE_UNITS, name) ? FEATURE_UNITS[name] : null;
  return u ? t('feat.withUnit', { name: t(`feat.${name}`), unit: t(u.unit) }) : name;
}

/** A model value of `name` in the feature's own unit. */
export function inUnits(name, v) {
  const u = Object.hasOwn(FEATURE_UNITS, name) ? FEATURE_UNITS[name] : null;
  return u ? v * u.scale : v;
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(4)).toLocaleString() : '—');

/**
 * The centroid table and, with two features or more, the scatter of the
 * centroids on two of them (the first two until the marketer picks others).
 * @param {{features: string[], centroids: number[][], sizes?: number[], droppedClusters?: number}} model
 * @returns {HTMLElement}
 */
export function kmeansModelView(model) {
  const features = model.features;
  const scaled = features.some((f) => Object.hasOwn(FEATURE_UNITS, f) && FEATURE_UNITS[f].scale !== 1);
  const centroidTable = h('div', { class: 'table-side' }, table(t('m.centroids'), [t('m.cluster'), t('m.clusterCustomers'), ...features.map(featureHeading)],
    model.centroids.map((c, i) => [String(i + 1), fmt.num(model.sizes?.[i]), ...c.map((x, j) => h('span', { title: `${features[j]} = ${x}` }, num(inUnits(features[j], x))))]),
    { id: 'centroid-table' }));
  const parts = [];
  if (features.length >= 2) {
    const box = h('div', { class: 'chart-side', 'aria-live': 'polite' });
    const pick = (id, selected) => h('select', { id }, ...features.map((f, j) => h('option', { value: String(j), ...(j === selected ? { selected: true } : {}) }, featureHeading(f))));
    const xs = pick('centroid-x', 0);
    const ys = pick('centroid-y', 1);
    const draw = () => {
      clear(box);
      const a = Number(xs.value);
      const b = Number(ys.value);
      const title = t('m.centroidChart', { x: featureHeading(features[a]), y: featureHeading(features[b]) });
      box.append(svg(scatterChart({
        title,
        points: model.centroids.map((c, i) => ({ x: inUnits(features[a], c[a]), y: inUnits(features[b], c[b]), size: model.sizes?.[i] ?? 0, label: String(i + 1) })),
        xLabel: featureHeading(features[a]),
        yLabel: featureHeading(features[b]),
      }), title));
    };
    xs.addEventListener('change', draw);
    ys.addEventListener('change', draw);
    // With two features the axes are fixed; with more, the marketer picks the pair.
    if (features.length > 2) {
      parts.push(h('div', { class: 'row' },
        h('div', { class: 'field inline' }, h('label', { for: 'centroid-x' }, t('m.xAxis')), xs),
        h('div', { class: 'field inline' }, h('label', { for: 'centroid-y' }, t('m.yAxis')), ys)));
    }
    parts.push(h('div', { class: 'chart-with-table' }, box, centroidTable));
    draw();
  } else parts.push(centroidTable);
  if (scaled) parts.push(h('p', { class: 'muted' }, t('m.centroidUnits')));
  if (model.droppedClusters) parts.push(h('p', { class: 'muted' }, t('m.droppedClusters', { n: model.droppedClusters })));
  return h('section', { id: 'kmeans-model' }, ...parts);
}
