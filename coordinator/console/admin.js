// Administrator pages: users (create with role and granted purposes, revoke),
// the purpose and PIA registry, and merchants (status, revocation, the command that makes an enrolment token).

import { api } from './api.js';
import { clear, h, table } from './dom.js';
import { fmt, t } from './i18n.js';

const ROLES = ['marketer', 'compliance', 'admin', 'merchant'];

export async function usersPage(main) {
  const [users, purposes, me] = await Promise.all([api('GET', '/v1/users'), api('GET', '/v1/purposes'), api('GET', '/v1/me')]);
  const role = h('select', { id: 'u-role' }, ...ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const userId = h('input', { id: 'u-id', type: 'text', pattern: '[a-z0-9][a-z0-9._-]{2,62}', spellcheck: 'false', 'aria-describedby': 'u-id-help' });
  const label = h('input', { id: 'u-label', type: 'text' });
  const merchant = h('input', { id: 'u-merchant', type: 'text', spellcheck: 'false' });
  const boxes = purposes.purposes.map((p) => h('input', { type: 'checkbox', id: `u-p-${p.name}`, value: p.name }));
  const purposeSet = h('fieldset', { id: 'u-purposes' }, h('legend', {}, t('u.purposes')),
    ...purposes.purposes.map((p, i) => h('div', { class: 'check' }, boxes[i], h('label', { for: `u-p-${p.name}` }, p.name))));
  const merchantField = h('div', { class: 'field' }, h('label', { for: 'u-merchant' }, t('u.merchant')), merchant);
  const sync = () => {
    purposeSet.hidden = role.value !== 'marketer';
    merchantField.hidden = role.value !== 'merchant';
  };
  role.addEventListener('change', sync);
  const out = h('div', { 'aria-live': 'polite', id: 'u-out' });
  const form = h('form', { class: 'card' }, h('h1', {}, t('u.title')),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'u-role' }, t('u.role')), role),
      h('div', { class: 'field' }, h('label', { for: 'u-id' }, t('u.id')), userId, h('small', { id: 'u-id-help' }, t('u.idHelp'))),
      h('div', { class: 'field' }, h('label', { for: 'u-label' }, t('u.label')), label)),
    purposeSet, merchantField,
    h('button', { type: 'submit', class: 'primary' }, t('u.create')), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    const body = { role: role.value };
    if (userId.value) body.userId = userId.value;
    if (label.value) body.label = label.value;
    if (role.value === 'marketer') body.purposes = boxes.filter((b) => b.checked).map((b) => b.value);
    if (role.value === 'merchant') body.merchantId = merchant.value;
    try {
      const created = await api('POST', '/v1/users', body);
      out.append(h('div', { class: 'notice', role: 'status' }, h('p', {}, t('u.created', { id: created.user.userId })),
        h('label', { for: 'u-token' }, t('u.token')), h('input', { id: 'u-token', readonly: true, value: created.token, size: 60 }),
        h('p', { class: 'muted' }, t('u.tokenOnce'))));
      renderList(list, (await api('GET', '/v1/users')).users, me.id);
    } catch (err) {
      out.append(h('p', { role: 'alert', class: 'error' }, `${err.code ?? t('error')}: ${err.message}`));
    }
  });
  const list = h('section', { class: 'card' });
  main.append(form, list);
  sync();
  renderList(list, users.users, me.id);
}

/** The users table; `selfId` is the signed-in user, whose own row offers no revoke (the API refuses it too). */
function renderList(list, users, selfId) {
  clear(list);
  const state = (u) => {
    if (u.revokedAt) return `${t('u.revoked')} ${fmt.time(u.revokedAt)}`;
    if (u.userId === selfId) return t('u.self');
    return h('button', { type: 'button', class: 'small', onclick: async () => {
      // Revoking takes effect at once and cannot be undone: ask first.
      if (!window.confirm(t('u.confirmRevoke', { id: u.userId }))) return;
      await api('POST', `/v1/users/${encodeURIComponent(u.userId)}/revoke`);
      renderList(list, (await api('GET', '/v1/users')).users, selfId);
    } }, t('u.revoke'));
  };
  list.append(h('h2', {}, t('u.list')), table(t('u.list'), [t('u.id'), t('u.role'), t('u.purposes'), t('u.merchant'), t('u.label'), t('q.created'), t('u.state')],
    users.map((u) => [u.userId, t(`role.${u.role}`), u.purposes.join(', '), u.merchantId ?? '', u.label ?? '', fmt.time(u.createdAt), state(u)])));
}

export async function registryPage(main) {
  const [purposes, pias] = await Promise.all([api('GET', '/v1/purposes'), api('GET', '/v1/pias')]);
  main.append(h('h1', {}, t('g.title')), h('p', { class: 'muted' }, t('g.intro')));
  main.append(h('section', { class: 'card' }, h('h2', {}, t('g.purposes')),
    table(t('g.purposes'), [t('q.purpose'), t('c.legalBasis'), t('g.fields'), t('g.retention'), t('g.recipients')],
      purposes.purposes.map((p) => [p.name, t(`basis.${p.legalBasis}`), String(p.allowedFields.length), String(p.retentionDays), p.recipients.join('; ')]))));
  main.append(h('section', { class: 'card' }, h('h2', {}, t('c.piaTitle')),
    table(t('c.piaTitle'), [t('c.piaId'), t('q.purpose'), t('c.assessed'), t('c.retainUntil')], pias.pias.map((p) => [p.id, p.purpose, fmt.day(p.assessedAt), fmt.day(p.retainUntil)]))));
}

/**
 * Enrolled merchants with their status (a revoked shop is marked so and
 * offers no revoke), revocation after a confirmation naming the shop, and
 * the command that makes a one-time enrolment token offline (tokenCard).
 */
export async function merchantsPage(main) {
  const list = h('section', { class: 'card', id: 'm-list' });
  let known = [];
  const refresh = async () => {
    known = (await api('GET', '/v1/merchants')).merchants;
    renderMerchants(list, known, refresh);
  };
  main.append(h('h1', {}, t('nav.merchants')), list, tokenCard(() => known));
  await refresh();
}

/** The merchants table; `refresh` reloads it after a revocation. */
function renderMerchants(list, merchants, refresh) {
  clear(list);
  const out = h('div', { 'aria-live': 'polite', id: 'm-out' });
  const status = (m) => (m.revokedAt
    ? h('span', { class: 'badge bad' }, `${t('mc.revoked')} ${fmt.time(m.revokedAt)}`)
    : h('span', { class: 'badge ok' }, t('mc.active')));
  const action = (m) => {
    if (m.revokedAt) return '';
    return h('button', { type: 'button', class: 'small', 'aria-label': t('mc.revokeNamed', { id: m.merchantId }), onclick: async () => {
      // Revocation refuses the shop's later contributions at once and cannot be undone: ask first, naming the shop.
      if (!window.confirm(t('mc.confirmRevoke', { id: m.merchantId }))) return;
      clear(out);
      try {
        await api('POST', `/v1/merchants/${encodeURIComponent(m.merchantId)}/revoke`, {});
        await refresh();
      } catch (err) {
        out.append(h('p', { role: 'alert', class: 'error' }, `${err.code ?? t('error')}: ${err.message}`));
      }
    } }, t('mc.revoke'));
  };
  list.append(table(t('nav.merchants'), [t('s.merchant'), t('mc.status'), t('s.enrolled'), t('s.contributions'), t('s.last'), t('s.key'), t('mc.action')],
    merchants.map((m) => [m.merchantId, status(m), fmt.time(m.enrolledAt), String(m.contributions), m.lastContributionAt ? fmt.time(m.lastContributionAt) : '—',
      h('code', {}, m.keyDigest.slice(0, 16)), action(m)]), { id: 'm-table' }), out);
  if (merchants.length === 0) list.append(h('p', { class: 'muted' }, t('mc.none')));
}

/**
 * Enrolment tokens are made offline with `fedmart enrol-token`, on the
 * administrator's machine: the card builds that command for a shop. The
 * console never asks for the enrolment authority's seed, because a page the
 * coordinator serves must not hold it: a compromised coordinator could serve
 * a page that keeps the seed and then enrol shops of its own making, which
 * the key holder's check of every merchant key against the authority exists
 * to prevent (docs/merchant-identity.md). `known()` is the merchants listed,
 * whose ids a token would not enrol.
 */
function tokenCard(known) {
  const merchantId = h('input', { id: 'et-merchant', type: 'text', spellcheck: 'false', autocomplete: 'off', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._-]{0,127}' });
  const days = h('input', { id: 'et-days', type: 'number', min: '1', max: '3650', value: '7', required: true });
  const out = h('div', { 'aria-live': 'polite', id: 'et-out' });
  const form = h('form', { class: 'card', id: 'et-form' }, h('h2', {}, t('mc.tokenTitle')), h('p', { class: 'muted' }, t('mc.tokenOffline')),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'et-merchant' }, t('s.merchant')), merchantId),
      h('div', { class: 'field' }, h('label', { for: 'et-days' }, t('mc.days')), days)),
    h('button', { type: 'submit', class: 'primary' }, t('mc.showCommand')), out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear(out);
    const id = merchantId.value.trim();
    if (known().some((m) => m.merchantId === id)) {
      out.append(h('p', { role: 'alert', class: 'error' }, `MERCHANT_ENROLLED: ${t('mc.alreadyEnrolled', { id })}`));
      return;
    }
    const n = Math.max(1, Math.min(3650, Math.floor(Number(days.value) || 7)));
    out.append(h('div', { class: 'notice', role: 'status' },
      h('p', {}, t('mc.runOffline')),
      h('pre', { id: 'et-command' }, `fedmart enrol-token --deployment DIR --merchant ${id} --expires-days ${n}`),
      h('p', { class: 'muted' }, t('mc.tokenOnce'))));
  });
  return form;
}
