// The console shell: sign-in with an API token, navigation by role, a hash
// router, and the language switch (zh-CN by default, English on request).

import { api, ApiError, setToken, token } from './api.js';
import { getLang, setLang, t } from './i18n.js';
import { h, clear } from './dom.js';

const PAGES = {
  queries: { roles: ['marketer'], load: () => import('./marketer.js').then((m) => m.queriesPage) },
  models: { roles: ['marketer'], load: () => import('./marketer.js').then((m) => m.modelsPage) },
  audit: { roles: ['compliance'], load: () => import('./compliance.js').then((m) => m.auditPage) },
  consent: { roles: ['compliance'], load: () => import('./compliance.js').then((m) => m.consentPage) },
  rights: { roles: ['compliance'], load: () => import('./compliance.js').then((m) => m.rightsPage) },
  reports: { roles: ['compliance'], load: () => import('./compliance.js').then((m) => m.reportsPage) },
  users: { roles: ['admin'], load: () => import('./admin.js').then((m) => m.usersPage) },
  registry: { roles: ['admin'], load: () => import('./admin.js').then((m) => m.registryPage) },
  merchants: { roles: ['admin'], load: () => import('./admin.js').then((m) => m.merchantsPage) },
  shop: { roles: ['merchant'], load: () => import('./merchant.js').then((m) => m.shopPage) },
};

const HOME = { marketer: 'queries', compliance: 'audit', admin: 'users', merchant: 'shop' };

let me = null;
let cleanup = null;

function allowed(page) {
  return me && (me.bootstrap || PAGES[page].roles.includes(me.role));
}

function translateStatic() {
  document.documentElement.lang = getLang() === 'en' ? 'en' : 'zh-CN';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  const lang = document.getElementById('lang');
  lang.textContent = getLang() === 'en' ? '中文' : 'English';
  lang.lang = getLang() === 'en' ? 'zh-CN' : 'en';
  lang.setAttribute('aria-label', getLang() === 'en' ? '切换到中文' : 'Switch to English');
}

function renderNav(current) {
  const nav = document.getElementById('nav');
  clear(nav);
  if (!me) return;
  const list = h('ul', {});
  for (const page of Object.keys(PAGES)) {
    if (!allowed(page)) continue;
    list.append(h('li', {}, h('a', { href: `#/${page}`, ...(page === current ? { 'aria-current': 'page' } : {}) }, t(`nav.${page}`))));
  }
  nav.append(list);
  document.getElementById('who').textContent = `${me.id} · ${t(`role.${me.role}`)}${me.bootstrap ? ` (${t('role.bootstrap')})` : ''}`;
  document.getElementById('logout').hidden = false;
}

function loginPage(main, message) {
  document.getElementById('who').textContent = '';
  document.getElementById('logout').hidden = true;
  clear(document.getElementById('nav'));
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'token-help' });
  const status = h('p', { role: 'alert', class: 'error', id: 'login-error' }, message ?? '');
  const form = h('form', { class: 'card narrow', id: 'login' },
    h('h1', {}, t('login.title')),
    h('p', { id: 'token-help' }, t('login.help')),
    h('label', { for: 'token' }, t('login.token')),
    input,
    h('button', { type: 'submit', class: 'primary' }, t('login.submit')),
    status,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    try {
      me = await api('GET', '/v1/me');
      const target = `#/${HOME[me.role] ?? 'queries'}`;
      if (location.hash === target) route();
      else location.hash = target;
    } catch (err) {
      setToken(null);
      status.textContent = err instanceof ApiError && err.status === 401 ? t('login.bad') : `${t('error')}: ${err.message}`;
      input.focus();
    }
  });
  main.append(form);
  input.focus();
}

let generation = 0;

export async function route() {
  cleanup?.();
  cleanup = null;
  const gen = ++generation;
  translateStatic();
  const root = document.getElementById('main');
  clear(root);
  // Each route renders into its own view; a view left behind by a newer
  // route is detached, so late answers of the old one land nowhere.
  const main = h('div', { class: 'view' });
  root.append(main);
  if (!token()) return loginPage(main);
  if (!me) {
    try {
      me = await api('GET', '/v1/me');
    } catch (err) {
      setToken(null);
      return loginPage(main, err instanceof ApiError && err.status === 401 ? t('login.bad') : err.message);
    }
    if (gen !== generation) return;
  }
  const [, page = '', ...rest] = location.hash.replace(/^#/, '').split('/');
  const name = PAGES[page] ? page : HOME[me.role];
  renderNav(name);
  if (!allowed(name)) {
    main.append(h('div', { class: 'card' }, h('h1', {}, t('forbidden.title')), h('p', { role: 'alert', class: 'error' }, t('forbidden.body'))));
    return;
  }
  const render = await PAGES[name].load();
  if (gen !== generation) return;
  const controller = new AbortController();
  cleanup = () => controller.abort();
  try {
    await render(main, { me, params: rest.map(decodeURIComponent), signal: controller.signal, navigate: (hash) => { location.hash = hash; } });
  } catch (err) {
    if (err?.name === 'AbortError') return;
    main.append(h('p', { role: 'alert', class: 'error' }, `${t('error')}: ${err instanceof ApiError ? `${err.code} — ${err.message}` : err.message}`));
  }
  if (gen === generation) root.focus({ preventScroll: true });
}

function start() {
  document.getElementById('lang').addEventListener('click', () => {
    setLang(getLang() === 'en' ? 'zh' : 'en');
    route();
  });
  document.getElementById('logout').addEventListener('click', () => {
    setToken(null);
    me = null;
    location.hash = '#/';
    route();
  });
  window.addEventListener('hashchange', () => route());
  // A signed-in page whose token was revoked meanwhile does not stay up: back to sign-in, saying why.
  window.addEventListener('fedmart:unauthenticated', () => {
    if (!me) return; // signing in: the form reports it
    setToken(null);
    me = null;
    cleanup?.();
    cleanup = null;
    ++generation;
    document.getElementById('who').textContent = '';
    document.getElementById('logout').hidden = true;
    const root = document.getElementById('main');
    clear(root);
    const main = h('div', { class: 'view' });
    root.append(main);
    renderNav(null);
    loginPage(main, t('login.revoked'));
  });
  route();
}

start();
