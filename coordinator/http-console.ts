/**
 * Serves the web console: the static files of `coordinator/console/` (plain
 * HTML, CSS and ES modules, no build step, nothing from other origins),
 * read once at start. The pages call the same API as scripts, with the
 * token the person types in, so the console has no powers of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineRoute, RouteReply, type ApiRoute } from './http-routes.js';
import { HttpProblem } from './problems.js';

const CONSOLE_DIR = new URL('./console/', import.meta.url);

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The console's Content-Security-Policy: scripts, styles and requests only
 * from this origin (inline styles are allowed for the audit report preview,
 * which is shown in a sandboxed frame without scripts).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-src 'self' blob: data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The console files, by name. */
export function loadConsoleFiles(dir: URL = CONSOLE_DIR): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(fileURLToPath(dir))) {
    const type = TYPES[extname(name)];
    if (type && /^[a-z0-9][a-z0-9.-]*$/.test(name)) files.set(name, { body: readFileSync(new URL(name, dir)), type });
  }
  return files;
}

export function consoleRoutes(files = loadConsoleFiles()): ApiRoute[] {
  const serve = (name: string): RouteReply => {
    const f = files.get(name);
    if (!f) throw new HttpProblem('NOT_FOUND');
    return new RouteReply(200, f.body, SECURITY_HEADERS, f.type);
  };
  return [
    defineRoute({
      method: 'GET', url: '/', operationId: 'root', tag: 'console', summary: 'Redirects to the web console',
      roles: 'public', hidden: true,
      responses: { 302: { description: 'To /console/' } },
      handler: async () => new RouteReply(302, '', { location: '/console/' }, 'text/plain'),
    }),
    defineRoute({
      method: 'GET', url: '/console', operationId: 'consoleRedirect', tag: 'console', summary: 'Redirects to /console/',
      roles: 'public', hidden: true,
      responses: { 302: { description: 'To /console/' } },
      handler: async () => new RouteReply(302, '', { location: '/console/' }, 'text/plain'),
    }),
    defineRoute({
      method: 'GET', url: '/console/', operationId: 'consoleIndex', tag: 'console', summary: 'The web console',
      roles: 'public', hidden: true,
      responses: { 200: { description: 'index.html', contentType: 'text/html' } },
      handler: async () => serve('index.html'),
    }),
    defineRoute({
      method: 'GET', url: '/console/:file', operationId: 'consoleFile', tag: 'console', summary: 'A console file',
      roles: 'public', hidden: true,
      params: z.object({ file: z.string().max(64) }).strict(),
      responses: { 200: { description: 'The file', contentType: 'application/octet-stream' } },
      problems: ['NOT_FOUND'],
      handler: async ({ params }) => serve(params.file),
    }),
  ];
}
