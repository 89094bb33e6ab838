// The marketer's list of recent work: every query and every model fit as
// one row each, newest first. A fit's rounds (encrypted queries the fit
// runner publishes, one per step) sit inside its row, folded away, instead
// of filling the list with one row per round.

import { h, table } from './dom.js';
import { fmt, t } from './i18n.js';

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, t(`status.${status}`));
}

/**
 * The rounds of one fit as list items: the round queries the coordinator
 * listed for it (older coordinators list them with the queries), else one
 * item per round up to the fit's current one; with the failed attempts
 * that were published again.
 * @param {any} fit  the fit's view (GET /v1/fits), or null when only its rounds are known
 * @param {any[]} rounds  queries of the fit
 */
export function fitRounds(fit, rounds) {
  const retries = fit?.retries ?? [];
  const retryItems = (n) => retries.filter((x) => x.round === n).map((x) => h('li', { class: 'muted' }, t('m.retry', { attempt: x.attempt, code: x.code, n: x.contributions })));
  if (rounds.length > 0) {
    return rounds.slice().sort((a, b) => (a.fitRound ?? 0) - (b.fitRound ?? 0) || String(a.createdAt).localeCompare(String(b.createdAt))).map((q) => h('li', {},
      `${t('m.roundN', { n: q.fitRound ?? '?' })} · ${t(`kind.${q.kind}`)} · `, statusBadge(q.status), ` · ${q.contributions} / ${q.targetMerchants}`,
      retryItems(q.fitRound).length ? h('ul', {}, ...retryItems(q.fitRound)) : null));
  }
  const n = fit?.round ?? 0;
  return Array.from({ length: n }, (_, i) => {
    const r = i + 1;
    const status = r < n || fit.status === 'done' ? 'released' : fit.status === 'failed' ? 'failed' : 'open';
    const retried = retryItems(r);
    return h('li', {}, `${t('m.roundN', { n: r })} · `, statusBadge(status), retried.length ? h('ul', {}, ...retried) : null);
  });
}

/**
 * One list of queries and fits, newest first, at most `limit` rows. Queries
 * carrying a fitId are not rows of their own but rounds of that fit.
 * @param {any[]} queries  GET /v1/queries
 * @param {any[]} fits  GET /v1/fits
 * @returns {{kind: 'query'|'fit', createdAt: string, query?: any, fit?: any, rounds?: any[], fitId?: string}[]}
 */
export function recentItems(queries, fits, limit = 50) {
  const roundsOf = new Map();
  const items = [];
  for (const q of queries) {
    if (q.fitId) {
      if (!roundsOf.has(q.fitId)) roundsOf.set(q.fitId, []);
      roundsOf.get(q.fitId).push(q);
    } else items.push({ kind: 'query', createdAt: q.createdAt, query: q });
  }
  for (const f of fits) items.push({ kind: 'fit', createdAt: f.createdAt, fit: f, fitId: f.fitId, rounds: roundsOf.get(f.fitId) ?? [] });
  // Rounds of a fit the fit list does not hold: still one row for the fit.
  const known = new Set(fits.map((f) => f.fitId));
  for (const [fitId, rounds] of roundsOf) {
    if (known.has(fitId)) continue;
    const first = rounds.reduce((a, b) => (String(a.createdAt) <= String(b.createdAt) ? a : b));
    items.push({ kind: 'fit', createdAt: first.createdAt, fit: null, fitId, rounds });
  }
  return items.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))).slice(0, limit);
}

/** The table of recent queries and fits (see {@link recentItems}). */
export function recentTable(queries, fits) {
  const rows = recentItems(queries, fits).map((it) => {
    if (it.kind === 'query') {
      const q = it.query;
      return [h('a', { href: `#/queries/${encodeURIComponent(q.queryId)}` }, q.queryId), t(`kind.${q.kind}`), q.purpose, statusBadge(q.status), `${q.contributions} / ${q.targetMerchants}`, fmt.time(q.createdAt)];
    }
    const f = it.fit;
    const kind = f?.kind ?? it.rounds[0]?.kind;
    const rounds = fitRounds(f, it.rounds);
    const count = f ? Math.max(f.round, it.rounds.length) : it.rounds.length;
    return [
      h('a', { href: `#/models/${encodeURIComponent(it.fitId)}` }, it.fitId),
      f ? `${t('m.fit')} · ${t(`kind.${kind}`)}` : t('m.fit'),
      f?.purpose ?? it.rounds[0]?.purpose ?? '',
      f ? statusBadge(f.status) : '—',
      h('details', { class: 'fit-rounds' }, h('summary', {}, t('m.roundsCount', { n: count })), h('ol', {}, ...rounds)),
      fmt.time(it.createdAt),
    ];
  });
  return rows.length === 0 ? h('p', {}, t('q.none')) : table(t('q.recent'), [t('q.id'), t('q.kind'), t('q.purpose'), t('q.status'), t('q.merchants'), t('q.created')], rows, { id: 'recent-table' });
}
