// Merchant operator page: the shop's enrolment status and the released
// cross-shop benchmarks it took part in (aggregates of enough shops, never
// another shop's own figures), to set beside the shop's own numbers.

import { api } from './api.js';
import { barChart } from './charts.js';
import { h, svg, table } from './dom.js';
import { fmt, t } from './i18n.js';

export async function shopPage(main, ctx) {
  const id = ctx.me.merchantId ?? ctx.params[0];
  if (!id) {
    main.append(h('p', { class: 'muted' }, t('s.noShop')));
    return;
  }
  const [m, bench] = await Promise.all([api('GET', `/v1/merchants/${encodeURIComponent(id)}`), api('GET', `/v1/merchants/${encodeURIComponent(id)}/benchmark`)]);
  main.append(h('h1', {}, t('s.title', { id })), h('section', { class: 'card' },
    table(t('s.status'), [t('a.item'), t('a.value')], [
      // A revoked shop must not look active: its later contributions are refused.
      [t('mc.status'), m.revokedAt ? h('span', { class: 'badge bad' }, `${t('mc.revoked')} ${fmt.time(m.revokedAt)}`) : h('span', { class: 'badge ok' }, t('mc.active'))],
      [t('s.enrolled'), fmt.time(m.enrolledAt)],
      [t('s.contributions'), String(m.contributions)],
      [t('s.last'), m.lastContributionAt ? fmt.time(m.lastContributionAt) : '—'],
      [t('s.key'), h('code', {}, m.keyDigest)],
    ])));
  const section = h('section', { class: 'card' }, h('h2', {}, t('s.benchmarks')), h('p', { class: 'muted' }, t('s.benchIntro')));
  main.append(section);
  if (bench.benchmarks.length === 0) section.append(h('p', {}, t('s.noBench')));
  for (const b of bench.benchmarks.slice(0, 3)) {
    const rows = b.result?.rows ?? [];
    const label = (r) => (r.stage !== undefined ? t(`stage.${r.stage}`) : String(r.group));
    section.append(h('h3', {}, `${b.queryId} · ${fmt.time(b.releasedAt)} · ${t('s.shops', { n: b.merchants })}`),
      svg(barChart({ title: t('metric.repurchaseRate'), labels: rows.map(label), values: rows.map((r) => (r.suppressed ? null : r.repurchaseRate)), format: (v) => `${(v * 100).toFixed(1)}%`, suppressedLabel: t('suppressed') })),
      // The column is the query's grouping (age band, city level, ...); lifecycle-stage results carry none.
      table(t('s.benchmarks'), [t(`group.${b.result?.groupBy ?? 'lifecycle_stage'}`), t('metric.customers'), t('metric.repurchaseRate'), t('metric.orderValueMean'), t('metric.meanDaysBetweenOrders')],
        rows.map((r) => [label(r), r.suppressed ? t('suppressed') : fmt.num(r.customers), fmt.pct(r.repurchaseRate), fmt.num(r.orderValueMean), fmt.num(r.meanDaysBetweenOrders)])));
  }
}
