// Compliance officer pages: the audit-log timeline with in-page checkpoint
// and inclusion-proof verification, search by query id and CSV of the
// entries shown; consent evidence per purpose and month with PIAs (sums over
// rounds labelled as subject-rounds, distinct customers only bounded from
// below); the rights-request register with status and response time; and
// one-click signed report export (JSON, HTML, PDF) verified in the page
// before it is offered.

import { api, download, poll } from './api.js';
import { barChart, stackedBar } from './charts.js';
import { clear, h, saveBlob, svg, table, toCsv } from './dom.js';
import { fmt, t } from './i18n.js';
import { expectedRangeOfDays, fromHex, leafHash, verifyBundle, verifyCheckpoint, verifyInclusion } from './verify.js';

const PIN_KEY = 'fedmart.auditKey';
const PAGE = 200;
/** Entries per request while a filter is set (the server's maximum), so a search walks back through the log faster. */
const FILTERED_PAGE = 1000;
// An audit id (compliance/audit-events.ts AUDIT_ID_RE), written for the v-flag regexps of HTML patterns.
const QUERY_ID_PATTERN = '[A-Za-z0-9][A-Za-z0-9._:\\/\\-]{0,127}';
const EVENT_TYPES = ['merchant.enrolled', 'purpose.registered', 'pia.recorded', 'query.created', 'contribution.accepted', 'contribution.rejected',
  'threshold.suppressed', 'query.failed', 'release.stored', 'export.created', 'rights.request', 'config.changed', 'auth.failed',
  'model.stored', 'round.incomplete', 'round.retried', 'fit.failed', 'retention.deleted', 'merchant.key-rotated', 'merchant.revoked'];

function pinned() {
  return localStorage.getItem(PIN_KEY);
}

function badge(ok, text) {
  return h('span', { class: `badge ${ok ? 'ok' : 'bad'}` }, `${ok ? '✓' : '✗'} ${text}`);
}

/** Checks that passed against a key nobody pinned: anyone could have signed with their own key, so no tick. */
function warnBadge(text, attrs = {}) {
  return h('span', { ...attrs, class: `badge warn${attrs.class ? ` ${attrs.class}` : ''}` }, `⚠ ${text}`);
}

/** The checkpoint card; resolves to the verified checkpoint or null. */
async function checkpointCard(container) {
  const cp = await api('GET', '/v1/audit/checkpoint');
  const v = await verifyCheckpoint(cp.checkpoint, cp.origin, cp.publicKey);
  const pin = pinned();
  const pinInput = h('input', { id: 'pin-key', value: pin ?? '', size: 66, spellcheck: 'false', pattern: '[0-9a-f]{64}', 'aria-describedby': 'pin-help' });
  const pinStatus = pin === null ? warnBadge(t('a.notPinned')) : badge(pin === cp.publicKey, pin === cp.publicKey ? t('a.pinMatch') : t('a.pinMismatch'));
  const cpStatus = !v.ok ? badge(false, `${t('a.cpInvalid')}: ${v.reason}`)
    : pin === null ? warnBadge(t('a.cpValidUnpinned', { size: v.size }))
      : badge(pin === cp.publicKey, pin === cp.publicKey ? t('a.cpValid', { size: v.size }) : t('a.pinMismatch'));
  const savePin = h('button', { type: 'button', onclick: () => {
    if (/^[0-9a-f]{64}$/.test(pinInput.value)) localStorage.setItem(PIN_KEY, pinInput.value);
    else localStorage.removeItem(PIN_KEY);
    location.reload();
  } }, t('a.pin'));
  container.append(h('section', { class: 'card', id: 'checkpoint' },
    h('h2', {}, t('a.checkpoint')),
    h('p', { id: 'checkpoint-status', 'aria-live': 'polite' }, cpStatus),
    table(t('a.checkpoint'), [t('a.item'), t('a.value')], [
      [t('a.origin'), cp.origin],
      [t('a.size'), v.ok ? String(v.size) : '—'],
      [t('a.root'), h('code', {}, v.ok ? Array.from(v.root, (b) => b.toString(16).padStart(2, '0')).join('') : '—')],
      [t('a.key'), h('code', {}, cp.publicKey)],
      [t('a.pinned'), pinStatus],
    ]),
    h('div', { class: 'field' }, h('label', { for: 'pin-key' }, t('a.pinLabel')), pinInput, h('small', { id: 'pin-help' }, t('a.pinHelp')), savePin),
  ));
  return v.ok && (pin === null || pin === cp.publicKey) ? v : null;
}

/** Saves CSV text as `name`. */
function saveCsv(headers, rows, name) {
  saveBlob(new Blob([toCsv(headers, rows)], { type: 'text/csv;charset=utf-8' }), name);
}

function summary(e) {
  return Object.entries(e.details).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ');
}

export async function auditPage(main, ctx) {
  main.append(h('h1', {}, t('a.title')));
  const cp = await checkpointCard(main);
  const type = h('select', { id: 'f-type' }, h('option', { value: '' }, t('a.allTypes')), ...EVENT_TYPES.map((x) => h('option', { value: x }, `${t(`event.${x}`)} (${x})`)));
  const actor = h('input', { id: 'f-actor', type: 'text', spellcheck: 'false' });
  const queryId = h('input', { id: 'f-query', type: 'search', spellcheck: 'false', pattern: QUERY_ID_PATTERN, placeholder: 'q-…' });
  const unpinned = pinned() === null;
  const fromDay = h('input', { id: 'f-from', type: 'date' });
  const toDay = h('input', { id: 'f-to', type: 'date' });
  const list = h('ol', { class: 'timeline', id: 'timeline', reversed: true });
  const status = h('p', { id: 'verify-status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', id: 'older' }, t('a.older'));
  let before = cp ? cp.size : 0;
  let shown = [];

  const rowFor = (row) => {
    const e = JSON.parse(row.entry);
    const mark = h('span', { class: 'mark', 'data-seq': String(row.seq) });
    const btn = h('button', { type: 'button', class: 'small', 'aria-label': t('a.verifyOne', { seq: row.seq }) }, t('a.verify'));
    btn.addEventListener('click', async () => {
      mark.replaceChildren(await checkEntry(row));
    });
    return h('li', { class: `event type-${e.type.replace('.', '-')}` },
      h('div', { class: 'when' }, h('time', { datetime: e.time }, fmt.time(e.time)), ` #${row.seq}`),
      h('div', { class: 'what' }, h('strong', {}, t(`event.${e.type}`)), ' ', h('code', {}, e.type), ' · ', t('a.actor'), ' ', h('code', {}, e.actor)),
      h('div', { class: 'details' }, summary(e)),
      h('div', { class: 'check' }, btn, ' ', mark));
  };

  // A proof against a checkpoint under a key nobody pinned shows only that the log's holder can sign: a warning, no tick.
  async function checkEntry(row) {
    if (!cp) return badge(false, t('a.noCheckpoint'));
    if (row.seq >= cp.size) return h('span', { class: 'badge' }, t('a.afterCheckpoint'));
    const p = await api('GET', `/v1/audit/proofs/inclusion?seq=${row.seq}&size=${cp.size}`);
    const ok = await verifyInclusion(await leafHash(row.entry), row.seq, cp.size, p.proof.map(fromHex), cp.root);
    if (ok && unpinned) return warnBadge(t('a.includedUnpinned'), { 'data-proof': 'ok' });
    const b = badge(ok, ok ? t('a.included') : t('a.notIncluded'));
    if (ok) b.dataset.proof = 'ok';
    return b;
  }

  async function load(reset) {
    if (reset) {
      before = cp ? cp.size : (await api('GET', '/v1/audit/entries?from=0&to=0')).size;
      shown = [];
      clear(list);
    }
    const f = fromDay.value ? `${fromDay.value}T00:00:00.000Z` : null;
    const tt = toDay.value ? `${toDay.value}T23:59:59.999Z` : null;
    let added = 0;
    const q = queryId.validity.valid ? queryId.value.trim() : '';
    const filtered = Boolean(type.value || actor.value.trim() || q);
    // Walk back page by page until something matches or the log starts.
    while (before > 0 && added === 0) {
      const from = Math.max(0, before - (filtered ? FILTERED_PAGE : PAGE));
      const qs = new URLSearchParams({ from: String(from), to: String(before) });
      if (type.value) qs.set('type', type.value);
      if (actor.value.trim()) qs.set('actor', actor.value.trim());
      if (q) qs.set('queryId', q);
      const page = await api('GET', `/v1/audit/entries?${qs}`);
      before = from;
      for (const row of page.entries.slice().reverse()) {
        const time = JSON.parse(row.entry).time;
        if ((f && time < f) || (tt && time > tt)) continue;
        shown.push(row);
        list.append(rowFor(row));
        added++;
      }
    }
    more.hidden = before === 0;
    csvButton.disabled = shown.length === 0;
    status.textContent = t('a.shown', { n: shown.length });
  }

  // The rows shown, as they are shown: filters applied, newest first.
  const csvButton = h('button', { type: 'button', id: 'timeline-csv', disabled: true, onclick: () => {
    const rows = shown.map((row) => {
      const e = JSON.parse(row.entry);
      return [row.seq, e.time, e.type, e.actor, e.details.queryId ?? e.details.failedQueryId ?? '', JSON.stringify(e.details), row.entry];
    });
    saveCsv(['seq', 'time', 'type', 'actor', 'query_id', 'details', 'entry'], rows, `audit-entries${queryId.value.trim() && queryId.validity.valid ? `-${queryId.value.trim().replace(/[^A-Za-z0-9._-]/g, '_')}` : ''}.csv`);
  } }, t('a.downloadCsv'));

  const verifyAll = h('button', { type: 'button', id: 'verify-all', class: 'primary' }, t('a.verifyAll'));
  verifyAll.addEventListener('click', async () => {
    verifyAll.disabled = true;
    let ok = 0;
    for (const row of shown) {
      const result = await checkEntry(row);
      list.querySelector(`.mark[data-seq="${row.seq}"]`)?.replaceChildren(result);
      if (result.dataset.proof === 'ok') ok++;
    }
    const vars = { ok, n: shown.length, size: cp?.size ?? 0 };
    status.replaceChildren(ok === shown.length && unpinned ? warnBadge(t('a.verifiedAllUnpinned', vars)) : badge(ok === shown.length, t('a.verifiedAll', vars)));
    verifyAll.disabled = false;
  });
  const filters = h('form', { class: 'card', id: 'filters' },
    h('h2', {}, t('a.timeline')),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'f-type' }, t('a.type')), type),
      h('div', { class: 'field' }, h('label', { for: 'f-actor' }, t('a.actor')), actor),
      h('div', { class: 'field' }, h('label', { for: 'f-query' }, t('a.queryId')), queryId),
      h('div', { class: 'field' }, h('label', { for: 'f-from' }, t('a.fromDay')), fromDay),
      h('div', { class: 'field' }, h('label', { for: 'f-to' }, t('a.toDay')), toDay)),
    h('button', { type: 'submit' }, t('a.apply')), ' ', verifyAll, ' ', csvButton, status);
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load(true);
  });
  more.addEventListener('click', () => load(false));
  main.append(filters, h('section', { class: 'card' }, list, more));
  await load(true);
}

/** The consent figures of one purpose or month, each labelled with what it counts. */
function figureRows(f) {
  return [
    [t('c.rounds'), fmt.num(f.rounds)],
    [t('c.shops'), fmt.num(f.shops)],
    [t('c.subjectRoundsIncluded', { n: f.rounds }), fmt.num(f.subjectRoundsIncluded)],
    [t('c.subjectRoundsExcluded', { n: f.rounds }), fmt.num(f.subjectRoundsExcluded)],
    [t('c.largestRound'), fmt.num(f.largestRoundIncluded)],
    [t('c.distinctAtLeast'), fmt.num(f.distinctIncludedAtLeast)],
  ];
}

const PERIOD_CSV = ['purpose', 'month', 'rounds', 'contributions', 'shops', 'subject_rounds_included', 'subject_rounds_excluded', 'largest_round_included', 'distinct_included_at_least'];

export async function consentPage(main) {
  const [ev, pias] = await Promise.all([api('GET', '/v1/compliance/consent-evidence'), api('GET', '/v1/pias')]);
  main.append(h('h1', {}, t('c.title')), h('p', { class: 'muted' }, t('c.introRounds', { size: ev.size })));
  const periodRows = [];
  for (const p of ev.purposes) {
    const parts = [{ label: t('c.included'), value: p.subjectRoundsIncluded }, ...Object.entries(p.excludedByReason).map(([k, v]) => ({ label: `${t('c.excluded')}: ${t(`reason.${k}`)}`, value: v }))];
    const months = (p.periods ?? []).slice().reverse();
    for (const m of p.periods ?? []) periodRows.push([p.purpose ?? '', m.period, m.rounds, m.contributions, m.shops, m.subjectRoundsIncluded, m.subjectRoundsExcluded, m.largestRoundIncluded, m.distinctIncludedAtLeast]);
    main.append(h('section', { class: 'card purpose', 'data-purpose': p.purpose ?? '' },
      h('h2', {}, p.purpose ?? t('c.unknownPurpose'), ' ', p.registered ? h('span', { class: 'badge ok' }, t('c.registered')) : h('span', { class: 'badge bad' }, t('c.unregistered'))),
      table(p.purpose ?? '', [t('a.item'), t('a.value')], [
        [t('c.legalBasis'), p.legalBasis ? t(`basis.${p.legalBasis}`) : '—'],
        [t('c.pias'), p.piaIds.join(', ') || '—'],
        [t('c.queries'), String(p.queriesRun)],
        [t('c.contributions'), String(p.contributions)],
        ...figureRows(p),
      ], { class: 'consent-figures' }),
      h('p', { class: 'muted' }, t('c.boundsNote')),
      months.length > 0
        ? table(t('c.byMonth', { purpose: p.purpose ?? '' }), [t('c.month'), t('c.rounds'), t('c.shops'), t('c.subjectRoundsIncludedShort'), t('c.subjectRoundsExcludedShort'), t('c.largestRound'), t('c.distinctAtLeast')],
          months.map((m) => [m.period, fmt.num(m.rounds), fmt.num(m.shops), fmt.num(m.subjectRoundsIncluded), fmt.num(m.subjectRoundsExcluded), fmt.num(m.largestRoundIncluded), fmt.num(m.distinctIncludedAtLeast)]),
          { class: 'consent-months' })
        : null,
      p.subjectRoundsIncluded + p.subjectRoundsExcluded > 0 ? svg(stackedBar({ title: t('c.chartRounds', { purpose: p.purpose ?? '', n: p.rounds }), parts })) : h('p', { class: 'muted' }, t('c.noContributions'))));
  }
  if (periodRows.length > 0) {
    main.append(h('p', {}, h('button', { type: 'button', id: 'consent-csv', onclick: () => saveCsv(PERIOD_CSV, periodRows, 'consent-by-month.csv') }, t('c.downloadCsv'))));
  }
  main.append(h('section', { class: 'card' }, h('h2', {}, t('c.piaTitle')),
    table(t('c.piaTitle'), [t('c.piaId'), t('q.purpose'), t('c.assessed'), t('c.reviewer'), t('c.retainUntil'), t('c.summary')],
      pias.pias.map((p) => [p.id, p.purpose, fmt.day(p.assessedAt), p.reviewer, fmt.day(p.retainUntil), p.summary]))));
}

export async function rightsPage(main) {
  const r = await api('GET', '/v1/compliance/rights-requests');
  const types = Object.keys(r.byType);
  const rows = r.requests.slice().reverse();
  const shopFilter = h('input', { id: 'r-shop', type: 'search', spellcheck: 'false' });
  const typeFilter = h('select', { id: 'r-type' }, h('option', { value: '' }, t('a.allTypes')), ...types.map((x) => h('option', { value: x }, t(`rights.${x}`))));
  const holder = h('div', {});
  let shown = rows;
  const status = (q) => (q.status ? t(`r.status.${q.status}`) : t('r.status.unreported'));
  const response = (q) => (q.responseDays === null || q.responseDays === undefined ? '—' : t('r.days', { n: q.responseDays }));
  const render = () => {
    const shop = shopFilter.value.trim();
    shown = rows.filter((q) => (!shop || q.shopId.includes(shop)) && (!typeFilter.value || q.requestType === typeFilter.value));
    holder.replaceChildren(table(t('r.register'), [t('r.seq'), t('r.shop'), t('r.type'), t('r.status'), t('r.received'), t('r.dayHandled'), t('r.response')],
      shown.map((q) => [String(q.seq), q.shopId, t(`rights.${q.requestType}`), status(q), q.receivedDay ?? '—', q.status === 'pending' ? '—' : q.day, response(q)]), { id: 'rights-table' }),
    h('p', { class: 'muted', id: 'rights-status' }, t('r.byStatus', { handled: r.byStatus?.handled ?? 0, pending: r.byStatus?.pending ?? 0, unreported: r.byStatus?.unreported ?? 0 })),
    h('p', { class: 'muted', id: 'rights-shown' }, t('r.shown', { n: shown.length, total: rows.length })));
  };
  const csv = h('button', { type: 'button', id: 'rights-csv', onclick: () => saveCsv(['seq', 'shop', 'type', 'status', 'received_day', 'handled_day', 'response_days'],
    shown.map((q) => [q.seq, q.shopId, q.requestType, q.status ?? 'unreported', q.receivedDay ?? '', q.status === 'pending' ? '' : q.day, q.responseDays ?? '']), 'rights-requests.csv') }, t('r.downloadCsv'));
  const form = h('form', { class: 'row', id: 'rights-filters' },
    h('div', { class: 'field' }, h('label', { for: 'r-shop' }, t('r.shop')), shopFilter),
    h('div', { class: 'field' }, h('label', { for: 'r-type' }, t('r.type')), typeFilter),
    h('button', { type: 'submit' }, t('a.apply')), ' ', csv);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    render();
  });
  render();
  main.append(h('h1', {}, t('r.title')), h('p', { class: 'muted' }, t('r.introStatus')));
  main.append(h('section', { class: 'card' },
    h('p', {}, t('r.total', { n: r.total })),
    types.length > 0 ? svg(barChart({ title: t('r.byType'), labels: types.map((x) => t(`rights.${x}`)), values: types.map((x) => r.byType[x]) })) : null,
    form, holder, h('p', { class: 'muted' }, t('r.statusNote'))));
}

export async function reportsPage(main, ctx) {
  const today = new Date().toISOString().slice(0, 10);
  const from = h('input', { id: 'r-from', type: 'date', value: '2000-01-01', required: true });
  const to = h('input', { id: 'r-to', type: 'date', value: today, required: true });
  const bar = h('progress', { id: 'export-progress', max: 1, value: 0, hidden: true, 'aria-labelledby': 'export-step' });
  const step = h('p', { id: 'export-step', 'aria-live': 'polite' });
  const outcome = h('section', { id: 'export-outcome' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'export' }, t('x.export'));
  const form = h('form', { class: 'card' }, h('h1', {}, t('x.title')), h('p', { class: 'muted' }, t('x.intro')),
    h('div', { class: 'row' }, h('div', { class: 'field' }, h('label', { for: 'r-from' }, t('x.from')), from), h('div', { class: 'field' }, h('label', { for: 'r-to' }, t('x.to')), to)),
    button, step, bar);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    clear(outcome);
    try {
      // What the bundle must prove complete: the days picked, up to the latest entry while the last day runs.
      const expectRange = expectedRangeOfDays(from.value, to.value, Date.now());
      const job = await api('POST', '/v1/audit/export-jobs', { from: `${from.value}T00:00:00.000Z`, to: `${to.value}T23:59:59.999Z` });
      bar.hidden = false;
      const done = await poll(`/v1/jobs/${job.jobId}`, (j) => j.status === 'done' || j.status === 'failed', (j) => {
        bar.max = j.progress.total;
        bar.value = j.progress.done;
        step.textContent = `${t(`job.${j.status}`)} · ${t(`step.${j.progress.step}`)} (${j.progress.done}/${j.progress.total})`;
      }, 300, ctx.signal);
      if (done.status === 'failed') throw new Error(`${done.error?.code}: ${done.error?.title}`);
      await showExport(outcome, done, expectRange);
    } catch (err) {
      outcome.append(h('p', { role: 'alert', class: 'error' }, `${t('error')}: ${err.message}`));
    } finally {
      button.disabled = false;
    }
  });
  main.append(form, outcome);
}

async function showExport(outcome, job, expectRange) {
  const status = h('p', { id: 'bundle-verify', 'aria-live': 'polite' }, t('x.verifying'));
  const card = h('div', { class: 'card', id: 'export-result' }, h('h2', {}, t('x.result', { id: job.jobId })), status);
  outcome.append(card);
  const bundle = await (await download(job.result.links.bundle)).text().then((s) => JSON.parse(s));
  const v = await verifyBundle(bundle, { pinnedKeyHex: pinned(), expectRange, onProgress: (d, n) => { status.textContent = t('x.verifyingN', { d, n }); } });
  const pin = pinned();
  status.replaceChildren(!v.ok
    ? h('span', { class: 'badge bad big', id: 'verified' }, `✗ ${t('x.broken')}: ${v.firstBroken} — ${v.reason}`)
    : pin === null ? warnBadge(t('x.verifiedUnpinned', { n: v.entries, size: v.size }), { class: 'big', id: 'verified' })
      : h('span', { class: 'badge ok big', id: 'verified' }, `✓ ${t('x.verified', { n: v.entries, size: v.size })}`));
  // Without a pinned key nothing ties the bundle to this coordinator: say so as the first check, as a warning.
  const keyRow = pin === null ? [[t('x.check.publicKey'), warnBadge(t('a.notPinned')), t('x.unpinnedDetail')]] : [];
  card.append(
    table(t('x.checks'), [t('x.check'), t('x.outcome'), t('x.detail')], [...keyRow, ...v.checks.map((c) => [t(`x.check.${c.name}`), badge(c.ok, c.ok ? t('x.pass') : t('x.fail')), c.detail])]),
    h('p', { class: 'muted' }, t('x.sectionsNote')),
    h('p', {}, t('x.server'), ' ', job.result.verification),
  );
  const files = h('div', { class: 'row buttons' });
  files.append(h('button', { type: 'button', id: 'dl-json', onclick: () => saveBlob(new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/json' }), `${job.jobId}.json`) }, t('x.json')));
  const html = await (await download(job.result.links.html)).text();
  files.append(h('button', { type: 'button', id: 'dl-html', onclick: () => saveBlob(new Blob([html], { type: 'text/html' }), `${job.jobId}.html`) }, t('x.html')));
  if (job.result.links.pdf) {
    files.append(h('button', { type: 'button', id: 'dl-pdf', onclick: async () => saveBlob(await download(job.result.links.pdf), `${job.jobId}.pdf`) }, t('x.pdf')));
  } else {
    files.append(h('span', { class: 'muted' }, `${t('x.noPdf')}: ${job.result.pdfNote ?? ''}`));
  }
  card.append(files);
  const frame = h('iframe', { title: t('x.preview'), sandbox: '', class: 'report-preview', id: 'report-preview' });
  frame.srcdoc = html;
  card.append(h('h3', {}, t('x.preview')), frame);
}
