/**
 * One check of the ids a request names, for every route, before its own
 * schema and handler see them. Route schemas differ in what an id may look
 * like, and some accept any text; none of them may let through what no id
 * ever holds and what PostgreSQL refuses with an internal error (U+0000 in
 * `POST /v1/users/%00/revoke` was a 500): so every path parameter and every
 * body field named `id` or `…Id` must be
 *
 * - at most `HTTP_ID_MAX_LENGTH` (128) characters,
 * - free of control characters (U+0000 to U+001F, U+007F to U+009F),
 * - well-formed UTF-8: no lone surrogate (from a JSON `\ud800` escape) and no
 *   U+FFFD, which is what invalid UTF-8 bytes in a body decode to.
 *
 * Any string anywhere in the path, query or body holding U+0000 or a lone
 * surrogate is refused too: no field can store either. A refusal is 400
 * VALIDATION_FAILED naming the field, never quoting its value.
 */
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from './problems.js';

/** Longest id any route accepts (documented in the OpenAPI description of VALIDATION_FAILED). */
export const HTTP_ID_MAX_LENGTH = 128;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const NOT_UTF8 = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\ufffd/;
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ID_FIELD = /^id$|Id$/;

/** Nesting looked into in a body; deeper values are left to the route's schema. */
const MAX_DEPTH = 16;

/** Why `value` is not an acceptable id, or undefined if it is. */
export function idProblem(value: string): string | undefined {
  if (value.length > HTTP_ID_MAX_LENGTH) return `longer than ${HTTP_ID_MAX_LENGTH} characters`;
  if (CONTROL.test(value)) return 'holds a control character';
  if (NOT_UTF8.test(value)) return 'is not valid UTF-8';
  return undefined;
}

function refuse(path: string, why: string): never {
  throw new HttpProblem('VALIDATION_FAILED', `${path}: ${why}`);
}

/** Walks `value`, checking id fields as ids and every string as storable. */
function walk(value: unknown, path: string, isId: boolean, depth: number): void {
  if (typeof value === 'string') {
    const why = isId ? idProblem(value) : UNSTORABLE.test(value) ? 'holds U+0000 or is not valid UTF-8' : undefined;
    if (why) refuse(path, why);
    return;
  }
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}.${i}`, isId, depth + 1));
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    // Keys are text from the peer too.
    if (UNSTORABLE.test(key)) refuse(path, 'a key holds U+0000 or is not valid UTF-8');
    walk(v, `${path}.${key.slice(0, 64).replace(/[^\w.-]/g, '?')}`, ID_FIELD.test(key), depth + 1);
  }
}

/** Throws VALIDATION_FAILED for an unacceptable id or unstorable text in `request`'s params, query or body. */
export function checkRequestIds(request: Pick<FastifyRequest, 'params' | 'query' | 'body'>): void {
  const params = (request.params ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(params)) walk(value, `params.${name}`, true, 1);
  walk(request.query, 'query', false, 0);
  walk(request.body, 'body', false, 0);
}
