// The console's calls to the coordinator API, with the token the person
// signed in with (kept in this tab's sessionStorage only). Problem+json
// answers become ApiError with the stable code, worded in the console's
// language (the server's detail, when it sends one, follows as it came).

import { PROBLEM_TITLES, getLang } from './i18n.js';

const KEY = 'fedmart.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

async function send(method, path, body, accept) {
  const headers = { authorization: `Bearer ${token() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (accept) headers.accept = accept;
  const res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!res.ok) {
    let p = {};
    try {
      p = await res.json();
    } catch {
      // not a problem body
    }
    const title = PROBLEM_TITLES[p.code]?.[getLang()] ?? p.title ?? res.statusText;
    const err = new ApiError(res.status, p.code ?? `HTTP_${res.status}`, `${title}${p.detail ? `: ${p.detail}` : ''}`);
    // The token stopped working (revoked, or the user removed): the app signs out (app.js).
    if (res.status === 401) window.dispatchEvent(new CustomEvent('fedmart:unauthenticated', { detail: err.code }));
    throw err;
  }
  return res;
}

/** JSON request. */
export async function api(method, path, body) {
  const res = await send(method, path, body);
  return res.status === 204 ? null : res.json();
}

/** A file (HTML report, PDF) as a Blob. */
export async function download(path) {
  return (await send('GET', path)).blob();
}

/** Polls `path` every `ms` until `done(value)`; calls `onUpdate` with each value. */
export async function poll(path, done, onUpdate, ms = 400, signal) {
  for (;;) {
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const value = await api('GET', path);
    onUpdate(value);
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, ms));
  }
}
