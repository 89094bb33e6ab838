// Marketer pages: publish a query for a granted purpose, watch merchants
// answer against the thresholds, and read the released result as a table,
// a chart and CSV, with the reason for every withheld cell; start model fits
// and read their coefficients, centroids or trees and ROC curves. Failures
// are explained by their code in the current language.

import { api, poll } from './api.js';
import { barChart, heatMap, intervalChart } from './charts.js';
import { clear, h, saveBlob, svg, table, toCsv } from './dom.js';
import { explain, failureText, fmt, t, withheldLabel } from './i18n.js';
import { evaluationSection } from './evaluation-view.js';
import { gbtModelView } from './gbt-view.js';
import { histogramResult } from './histogram-view.js';
import { kmeansModelView } from './kmeans-view.js';
import { pcaResult } from './pca-view.js';
import { recentTable } from './query-list.js';
import { rfmResult } from './rfm-view.js';
import { reasonsOf, withheldByCell, withheldSection, withheldVars } from './withheld.js';
import { USER_KINDS, fitTemplate, specProblem, specTemplate } from './spec-templates.js';

const GROUPINGS = ['lifecycle_stage', 'age_band', 'city_level'];
const METRICS = ['customers', 'repurchaseRate', 'orderValueMean', 'meanDaysBetweenOrders', 'orders'];

async function grantedPurposes(me) {
  if (!me.bootstrap) return me.purposes;
  return (await api('GET', '/v1/purposes')).purposes.map((p) => p.name);
}

function field(id, label, control, help) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, help ? h('small', { id: `${id}-help` }, help) : null);
}

function numberInput(id, value, min, max) {
  return h('input', { id, name: id, type: 'number', inputmode: 'numeric', min, max, ...(value === '' ? {} : { value }) });
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, t(`status.${status}`));
}

export async function queriesPage(main, ctx) {
  if (ctx.params[0]) return queryDetail(main, ctx, ctx.params[0]);
  const [purposes, kinds, list, fits] = await Promise.all([grantedPurposes(ctx.me), api('GET', '/v1/kinds'), api('GET', '/v1/queries'), api('GET', '/v1/fits')]);
  const kindOptions = USER_KINDS.filter((k) => kinds.queryKinds.includes(k));

  const purpose = h('select', { id: 'purpose', name: 'purpose', required: true }, ...purposes.map((p) => h('option', { value: p }, p)));
  const kind = h('select', { id: 'kind', name: 'kind' }, ...kindOptions.map((k) => h('option', { value: k }, t(`kind.${k}`))));
  const groupBy = h('select', { id: 'groupBy', name: 'groupBy' }, ...GROUPINGS.map((g) => h('option', { value: g }, t(`group.${g}`))));
  const excludeReturned = h('input', { id: 'excludeReturned', type: 'checkbox' });
  const spec = h('textarea', { id: 'spec', rows: 6, spellcheck: 'false', 'aria-describedby': 'spec-help' });
  const target = numberInput('target', '', 1, 10000);
  const minMerchants = numberInput('minMerchants', 3, 2, 10000);
  const deadline = numberInput('deadline', 120, 1, 2592000);
  const segmentFields = h('div', { class: 'row' },
    field('groupBy', t('q.segments'), groupBy),
    h('div', { class: 'field check' }, excludeReturned, h('label', { for: 'excludeReturned' }, t('q.excludeReturned'))));
  const specField = field('spec', t('q.spec'), spec, t('q.specHelp'));
  const specHelp = specField.querySelector('small');
  const error = h('p', { role: 'alert', class: 'error' });
  const sync = () => {
    const seg = kind.value === 'segment-stats';
    segmentFields.hidden = !seg;
    specField.hidden = seg;
    if (!seg) spec.value = JSON.stringify(specTemplate(kind.value, purpose.value), null, 2);
    specHelp.textContent = kind.value === 'ab-lift' ? `${t('q.specHelp')} ${t('q.campaignHelp')}` : t('q.specHelp');
  };
  kind.addEventListener('change', sync);
  purpose.addEventListener('change', sync);

  const form = h('form', { class: 'card', id: 'new-query' },
    h('h1', {}, t('q.new')),
    purposes.length === 0 ? h('p', { class: 'error', role: 'alert' }, t('q.noPurposes')) : null,
    h('div', { class: 'row' }, field('purpose', t('q.purpose'), purpose), field('kind', t('q.kind'), kind)),
    segmentFields,
    specField,
    h('details', {}, h('summary', {}, t('q.options')),
      h('div', { class: 'row' }, field('target', t('q.target'), target, t('q.targetHelp')), field('minMerchants', t('q.minMerchants'), minMerchants), field('deadline', t('q.deadline'), deadline))),
    h('button', { type: 'submit', class: 'primary', id: 'run-query' }, t('q.run')),
    error,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    let body;
    try {
      const s = kind.value === 'segment-stats'
        ? { purpose: purpose.value, groupBy: groupBy.value, ...(excludeReturned.checked ? { excludeReturned: true } : {}) }
        : JSON.parse(spec.value);
      body = { kind: kind.value, spec: s, minMerchants: Number(minMerchants.value || 3), deadlineSeconds: Number(deadline.value || 120) };
      if (target.value) body.targetMerchants = Number(target.value);
    } catch {
      error.textContent = t('q.specInvalid');
      spec.focus();
      return;
    }
    const problem = specProblem(body.kind, body.spec);
    if (problem) {
      error.textContent = t(problem);
      spec.focus();
      return;
    }
    try {
      const created = await api('POST', '/v1/queries', body);
      ctx.navigate(`#/queries/${encodeURIComponent(created.queryId)}`);
    } catch (err) {
      error.textContent = `${err.code ?? t('error')}: ${err.message}`;
    }
  });
  main.append(form);
  sync();

  // Queries and fits in one list; a fit is one row with its rounds folded inside it.
  main.append(h('section', { class: 'card' }, h('h2', {}, t('q.recent')), recentTable(list.queries, fits.fits)));
}

function progressBlock() {
  const bar = h('progress', { id: 'query-progress', max: 1, value: 0, 'aria-labelledby': 'progress-label' });
  const label = h('p', { id: 'progress-label' });
  const thresholds = h('p', { class: 'muted', id: 'thresholds' });
  const live = h('div', { 'aria-live': 'polite', class: 'progress' }, label, bar, thresholds);
  return {
    el: live,
    update(q) {
      bar.max = Math.max(1, q.targetMerchants);
      bar.value = Math.min(q.contributions, q.targetMerchants);
      label.textContent = t('q.answered', { n: q.contributions, target: q.targetMerchants, status: t(`status.${q.status}`) });
      thresholds.textContent = t('q.thresholds', { m: q.minMerchants, k: q.minSubjects, deadline: fmt.time(q.deadline) });
    },
  };
}

async function queryDetail(main, ctx, id) {
  const heading = h('h1', {}, `${t('q.query')} ${id}`);
  const meta = h('p', { class: 'muted' });
  const progress = progressBlock();
  const result = h('section', { id: 'result' });
  main.append(h('section', { class: 'card' }, h('p', {}, h('a', { href: '#/queries' }, `← ${t('q.back')}`)), heading, meta, progress.el), result);
  const q = await poll(`/v1/queries/${encodeURIComponent(id)}`, (x) => x.status === 'released' || x.status === 'failed', (x) => {
    meta.textContent = `${t(`kind.${x.kind}`)} · ${t('q.purpose')} ${x.purpose} · ${t('q.requester')} ${x.requester}`;
    progress.update(x);
  }, 400, ctx.signal);
  if (q.status === 'failed') {
    result.append(failureCard(t('q.failed'), q, { k: q.minSubjects, m: q.minMerchants }));
    return;
  }
  renderResult(result, q);
}

/** A failure card: the explanation (with the code), and the coordinator's own words folded away. */
function failureCard(title, v, vars) {
  const explained = Boolean(v.statusCode || v.explanation);
  return h('div', { class: 'card', id: 'failure' },
    h('p', { role: 'alert', class: 'error' }, `${title}${v.statusCode ? ` (${v.statusCode})` : ''}: ${failureText(v, vars)}`),
    explained && v.statusReason ? h('details', {}, h('summary', {}, t('q.details')), h('p', { class: 'muted' }, v.statusReason)) : null);
}

/** Renders a released result by its kind, then why any cell was withheld. */
export function renderResult(container, q) {
  clear(container);
  const card = h('div', { class: 'card', id: 'result-card' }, h('h2', {}, t('q.result')));
  container.append(card);
  const r = q.result;
  if (q.kind === 'segment-stats' && Array.isArray(r?.rows)) return segmentResult(card, q);
  // These views list their withheld cells themselves, with the cells' own names.
  if (q.kind === 'rfm' && Array.isArray(r?.cells) && Array.isArray(r?.recency)) return rfmResult(card, q);
  if (q.kind === 'histogram' && Array.isArray(r?.bins)) return histogramResult(card, q);
  if (q.kind === 'pca' && r && Array.isArray(r.eigenvalues)) return pcaResult(card, q);
  if (q.kind === 'cohort-retention' && Array.isArray(r?.cohorts)) retentionResult(card, q);
  else if (q.kind === 'ab-lift' && r && 'absoluteLift' in r) liftResult(card, q);
  else {
    card.append(h('pre', { class: 'json', tabindex: 0 }, JSON.stringify(r, null, 2)));
    card.append(h('button', { type: 'button', onclick: () => saveBlob(new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' }), `${q.queryId}.json`) }, t('q.downloadJson')));
  }
  const section = withheldSection(q, readableCell);
  if (section) card.append(section);
}

/** A withheld cell's name as people read it: `cohort.2025-09.m2` is "2025-09 · M2", `churn.loyal` the stage, an arm its name. */
function readableCell(cell) {
  const month = /^cohort\.(\d{4}-\d{2})\.m(\d+)$/.exec(cell);
  if (month) return `${month[1]} · M${month[2]}`;
  const cohort = /^cohort\.(\d{4}-\d{2})$/.exec(cell);
  if (cohort) return cohort[1];
  const churn = /^churn\.([a-z_-]+)$/.exec(cell);
  if (churn) return `${t('q.churn')} · ${t(`stage.${churn[1]}`)}`;
  if (cell === 'treatment' || cell === 'control') return t(`q.${cell}`);
  return cell;
}

function groupLabel(row) {
  if (row.stage !== undefined) return t(`stage.${row.stage}`);
  return String(row.group);
}

function segmentResult(card, q) {
  const rows = q.result.rows;
  const withheld = withheldByCell(q);
  const withheldOf = (row) => withheld.get(String(row.stage ?? row.group));
  /** Short reason of a withheld row, or "suppressed" when the result names none. */
  const label = (row) => {
    const w = withheldOf(row);
    return w ? withheldLabel(w.reasonCode, withheldVars(w, q)) : t('suppressed');
  };
  const why = (row) => {
    const w = withheldOf(row);
    return w ? explain(w.reasonCode, withheldVars(w, q)) : t('suppressed');
  };
  const metric = h('select', { id: 'metric' }, ...METRICS.map((m) => h('option', { value: m }, t(`metric.${m}`))));
  const chartBox = h('div', { id: 'chart', 'aria-live': 'polite' });
  const draw = () => {
    clear(chartBox);
    const m = metric.value;
    const isRate = m === 'repurchaseRate';
    chartBox.append(svg(barChart({
      title: `${t(`metric.${m}`)} · ${t(`group.${q.spec.groupBy ?? 'lifecycle_stage'}`)}`,
      labels: rows.map(groupLabel),
      values: rows.map((r) => (r.suppressed ? null : r[m])),
      format: isRate ? (v) => `${(v * 100).toFixed(1)}%` : (v) => fmt.num(v),
      suppressedLabel: t('suppressed'),
      suppressedLabels: rows.map((r) => (r.suppressed ? label(r) : undefined)),
      suppressedTitles: rows.map((r) => (r.suppressed ? why(r) : undefined)),
    })));
  };
  metric.addEventListener('change', draw);
  const headers = [t(`group.${q.spec.groupBy ?? 'lifecycle_stage'}`), ...['customers', 'repeatCustomers', 'orders', 'repurchaseRate', 'orderValueMean', 'orderValueVariance', 'meanDaysBetweenOrders'].map((m) => t(`metric.${m}`))];
  const cells = rows.map((r) => [groupLabel(r), ...(r.suppressed
    ? [h('span', { title: why(r) }, `${t('suppressed')}: ${label(r)}`), ...Array(6).fill('—')]
    : [fmt.num(r.customers), fmt.num(r.repeatCustomers), fmt.num(r.orders), fmt.pct(r.repurchaseRate), fmt.num(r.orderValueMean), fmt.num(r.orderValueVariance), fmt.num(r.meanDaysBetweenOrders)])]);
  const csv = () => toCsv(
    ['group', 'suppressed', 'customers', 'repeat_customers', 'orders', 'repurchase_rate', 'order_value_mean', 'order_value_variance', 'mean_days_between_orders'],
    rows.map((r) => [r.stage ?? r.group, r.suppressed, r.customers, r.repeatCustomers, r.orders, r.repurchaseRate, r.orderValueMean, r.orderValueVariance, r.meanDaysBetweenOrders]),
  );
  card.append(
    h('div', { class: 'field inline' }, h('label', { for: 'metric' }, t('q.metric')), metric),
    chartBox,
    table(t('q.resultTable'), headers, cells, { id: 'result-table' }),
    ...[withheldSection(q, (cell) => (rows.some((r) => r.stage === cell) ? t(`stage.${cell}`) : cell))].filter(Boolean),
    h('button', { type: 'button', id: 'download-csv', onclick: () => saveBlob(new Blob([csv()], { type: 'text/csv;charset=utf-8' }), `${q.queryId}.csv`) }, t('q.downloadCsv')),
  );
  draw();
}

function retentionResult(card, q) {
  const cohorts = q.result.cohorts;
  if (cohorts.length > 0 && cohorts.every((c) => c.suppressed)) {
    card.append(h('p', { role: 'note', class: 'error', id: 'retention-withheld' }, t('q.retentionAllWithheld', { k: q.minSubjects, asOf: q.result.asOf ?? q.spec?.asOf ?? '' })));
  }
  const width = Math.max(0, ...cohorts.map((c) => c.months.length));
  const cols = Array.from({ length: width }, (_, k) => `M${k}`);
  // Each withheld cell with its own reason: cohorts are cells `cohort.YYYY-MM`, their months `cohort.YYYY-MM.mK`, churn `churn.STAGE`.
  const reasons = reasonsOf(q);
  const listed = withheldByCell(q);
  const monthWithheld = (c, k) => (listed.has(`cohort.${c.cohort}.m${k}`) ? `cohort.${c.cohort}.m${k}` : c.suppressed && c.months[k] ? `cohort.${c.cohort}` : null);
  card.append(svg(heatMap({
    title: t('q.retentionTitle'),
    rows: cohorts.map((c) => c.cohort),
    cols,
    cells: cohorts.map((c) => cols.map((_, k) => c.months[k]?.retention ?? null)),
    rowLabel: t('q.cohort'),
    colLabel: t('q.monthsSince'),
    withheldTitles: cohorts.map((c) => cols.map((_, k) => {
      const cell = c.months[k]?.retention === null ? monthWithheld(c, k) : null;
      return cell ? `${reasons.label(cell)} — ${reasons.why(cell)}` : undefined;
    })),
  })));
  const monthCell = (c, k) => {
    const m = c.months[k];
    if (!m) return '';
    if (m.retention !== null) return fmt.pct(m.retention);
    return listed.has(`cohort.${c.cohort}.m${k}`) ? reasons.node(`cohort.${c.cohort}.m${k}`) : '—';
  };
  card.append(table(t('q.retentionTitle'), [t('q.cohort'), t('metric.customers'), ...cols],
    cohorts.map((c) => [c.cohort, c.suppressed ? reasons.node(`cohort.${c.cohort}`) : fmt.num(c.customers), ...cols.map((_, k) => monthCell(c, k))])));
  const churn = q.result.churn ?? [];
  if (churn.length > 0) {
    card.append(table(t('q.churn'), [t('group.lifecycle_stage'), t('q.buyers'), t('q.churned'), t('q.churnRate')],
      churn.map((c) => [t(`stage.${c.stage}`), c.suppressed ? reasons.node(`churn.${c.stage}`) : fmt.num(c.buyers), fmt.num(c.churned), fmt.pct(c.churnRate)])));
  }
  const csv = () => toCsv(['cohort', 'customers', 'months_since', 'month', 'active', 'retention'],
    cohorts.flatMap((c) => c.months.map((m) => [c.cohort, c.customers, m.monthsSince, m.month, m.active, m.retention])));
  card.append(h('button', { type: 'button', id: 'download-csv', onclick: () => saveBlob(new Blob([csv()], { type: 'text/csv;charset=utf-8' }), `${q.queryId}.csv`) }, t('q.downloadCsv')));
}

function liftResult(card, q) {
  const r = q.result;
  const items = [];
  if (r.absoluteLift) items.push({ label: t('q.absoluteLift'), ...r.absoluteLift });
  if (r.relativeLift) items.push({ label: t('q.relativeLift'), ...r.relativeLift });
  if (items.length > 0) {
    // One chart per measure: absolute and relative lifts live on different scales.
    for (const item of items) {
      const title = `${item.label} · ${t('q.liftTitle', { c: Math.round(r.confidence * 100) })}`;
      card.append(svg(intervalChart({ title, items: [item], format: (v) => `${(v * 100).toFixed(2)}%` }), title));
    }
  } else {
    const campaign = q.spec?.campaignId;
    card.append(h('p', { class: 'muted', id: 'lift-suppressed' }, t('q.liftSuppressed'), campaign ? ` ${t('q.liftCheckCampaign', { id: campaign })}` : null));
  }
  const reasons = reasonsOf(q);
  card.append(table(t('q.arms'), [t('q.arm'), t('metric.customers'), t('q.successes'), t('q.rate')],
    [['treatment', r.treatment], ['control', r.control]].map(([k, a]) => [`${t(`q.${k}`)} (${a.label})`, a.suppressed ? reasons.node(k) : fmt.num(a.customers), fmt.num(a.successes), fmt.pct(a.rate)])));
  const csv = () => toCsv(['arm', 'label', 'customers', 'successes', 'rate'], [['treatment', r.treatment], ['control', r.control]].map(([k, a]) => [k, a.label, a.customers, a.successes, a.rate]));
  card.append(h('button', { type: 'button', id: 'download-csv', onclick: () => saveBlob(new Blob([csv()], { type: 'text/csv;charset=utf-8' }), `${q.queryId}.csv`) }, t('q.downloadCsv')));
}

export async function modelsPage(main, ctx) {
  if (ctx.params[0]) return fitDetail(main, ctx, ctx.params[0]);
  const [purposes, kinds, list] = await Promise.all([grantedPurposes(ctx.me), api('GET', '/v1/kinds'), api('GET', '/v1/fits')]);
  const purpose = h('select', { id: 'fit-purpose' }, ...purposes.map((p) => h('option', { value: p }, p)));
  const kind = h('select', { id: 'fit-kind' }, ...kinds.modelKinds.map((k) => h('option', { value: k }, t(`kind.${k}`))));
  const spec = h('textarea', { id: 'fit-spec', rows: 6, spellcheck: 'false' });
  const sync = () => { spec.value = JSON.stringify(fitTemplate(kind.value, purpose.value), null, 2); };
  kind.addEventListener('change', sync);
  purpose.addEventListener('change', sync);
  const error = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'card' }, h('h1', {}, t('m.new')),
    h('div', { class: 'row' }, field('fit-purpose', t('q.purpose'), purpose), field('fit-kind', t('m.kind'), kind)),
    field('fit-spec', t('q.spec'), spec),
    h('button', { type: 'submit', class: 'primary' }, t('m.start')), error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const created = await api('POST', '/v1/fits', { kind: kind.value, spec: JSON.parse(spec.value), roundDeadlineSeconds: 60 });
      ctx.navigate(`#/models/${encodeURIComponent(created.fitId)}`);
    } catch (err) {
      error.textContent = `${err.code ?? t('error')}: ${err.message}`;
    }
  });
  main.append(form);
  sync();
  const rows = list.fits.slice().reverse().map((f) => [h('a', { href: `#/models/${encodeURIComponent(f.fitId)}` }, f.fitId), t(`kind.${f.kind}`), f.purpose, statusBadge(f.status), String(f.round), fmt.time(f.createdAt)]);
  main.append(h('section', { class: 'card' }, h('h2', {}, t('m.fits')), rows.length === 0 ? h('p', {}, t('q.none')) : table(t('m.fits'), [t('q.id'), t('m.kind'), t('q.purpose'), t('q.status'), t('m.round'), t('q.created')], rows)));
}

async function fitDetail(main, ctx, id) {
  const status = h('p', { 'aria-live': 'polite', id: 'fit-status' });
  const body = h('section', {});
  main.append(h('section', { class: 'card' }, h('p', {}, h('a', { href: '#/models' }, `← ${t('m.back')}`)), h('h1', {}, `${t('m.fit')} ${id}`), status), body);
  const fit = await poll(`/v1/fits/${encodeURIComponent(id)}`, (f) => f.status === 'done' || f.status === 'failed', (f) => {
    status.textContent = t('m.progress', { round: f.round, status: t(`status.${f.status}`) });
  }, 600, ctx.signal);
  if (fit.status === 'failed') {
    body.append(failureCard(t('m.failed'), fit, { m: fit.minMerchants }));
    return;
  }
  const card = h('div', { class: 'card' }, h('h2', {}, t('m.model')));
  body.append(card);
  const model = fit.model ?? {};
  if (Array.isArray(model.coefficients)) {
    card.append(table(t('m.coefficients'), [t('m.feature'), 'β', t('m.stdError')], model.features.map((f, j) => [f, model.coefficients[j].toFixed(6), model.standardErrors?.[j]?.toFixed(6) ?? ''])));
  }
  if (Array.isArray(model.centroids) && Array.isArray(model.features)) card.append(kmeansModelView(model));
  if (model.kind === 'gradient-boosted-trees') card.append(gbtModelView(model));
  const ev = evaluationSection(fit.evaluation);
  if (ev) card.append(...ev);
}
