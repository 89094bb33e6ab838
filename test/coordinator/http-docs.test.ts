/**
 * The OpenAPI 3.1 document and the docs page generated from the route
 * table, the console's static files and their headers, and the audit export
 * job rendered to PDF by Debian's Chromium and checked with poppler's
 * pdftoppm (skipped, with the reason in the name, where either is missing).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../coordinator/http-report-pdf.js';
import { startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';
import { pollUntil } from '../helpers/poll.js';

const CHROMIUM = findChromium();
const PDFTOPPM = spawnSync('pdftoppm', ['-v'], { encoding: 'utf8' }).error === undefined;
const OUT = resolve(import.meta.dirname, '../../test-output/reports');

let fx: HttpFixture;

beforeAll(async () => {
  fx = await startHttpFixture({ chromium: CHROMIUM });
});

afterAll(async () => {
  await fx?.close();
});

/** Every `$ref` in `doc` points at an existing component. */
function danglingRefs(doc: any): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') {
          const name = x.replace('#/components/schemas/', '');
          if (!x.startsWith('#/components/schemas/') || !(name in doc.components.schemas)) out.push(x);
        } else walk(x);
      }
    }
  };
  walk(doc);
  return out;
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with an operation per route, path parameters, bodies, problem answers and roles', async () => {
    const res = await fx.call(null, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(danglingRefs(doc)).toEqual([]);
    const ids = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(op.parameters.filter((p: any) => p.in === 'path').map((p: any) => p.name), `${method} ${path}`).toEqual(pathParams);
        expect(Object.keys(op.responses).some((s) => s.startsWith('2')), op.operationId).toBe(true);
        expect(op.responses['500'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
        if (op.security.length > 0) {
          expect(op.responses['401'].description).toContain('UNAUTHENTICATED');
          expect(op.responses['403'].description).toContain('ROLE_FORBIDDEN');
          expect(op.responses['429'].headers['Retry-After']).toBeDefined();
        }
      }
    }
    expect(ids.size).toBeGreaterThan(30);
    const create = doc.paths['/v1/queries'].post;
    expect(create['x-fedmart-roles']).toEqual(['marketer']);
    expect(create['x-fedmart-purpose-scoped']).toBe(true);
    expect(create.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateQuery' });
    expect(doc.components.schemas.CreateQuery).toMatchObject({ type: 'object', required: ['kind', 'spec'], additionalProperties: false });
    expect(create.responses['400'].description).toContain('PURPOSE_UNKNOWN');
    expect(create.responses['403'].description).toContain('PURPOSE_NOT_GRANTED');
    const entries = doc.paths['/v1/audit/entries'].get;
    expect(entries.parameters.map((p: any) => [p.name, p.in, p.required])).toEqual([['from', 'query', true], ['to', 'query', true], ['type', 'query', false], ['actor', 'query', false], ['queryId', 'query', false]]);
    expect(doc.paths['/v1/jobs/{id}/report.pdf'].get.responses['200'].content).toHaveProperty('application/pdf');
    expect(doc.paths['/v1/audit/export-jobs'].post.responses['202'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Job' });
  });

  it('is listed on a self-contained docs page', async () => {
    const res = await fx.call(null, 'GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const html = String(res.body);
    const doc = (await fx.call(null, 'GET', '/openapi.json')).body;
    for (const path of Object.keys(doc.paths)) expect(html).toContain(`<code>${path}</code>`);
    expect(html).toContain('Compliance officer / 合规官');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });
});

describe('console files', () => {
  it('are served with a same-origin Content-Security-Policy and the right types', async () => {
    const index = await fx.call(null, 'GET', '/console/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(String(index.body)).toContain('<html lang="zh-CN">');
    expect((await fx.call(null, 'GET', '/console/app.js')).headers['content-type']).toMatch(/^text\/javascript/);
    expect((await fx.call(null, 'GET', '/console/styles.css')).headers['content-type']).toMatch(/^text\/css/);
    for (const url of ['/console/nope.js', '/console/verify.d.ts', '/console/..%2Fhttp-app.ts']) {
      const res = await fx.call(null, 'GET', url);
      expect([url, res.status]).toEqual([url, 404]);
    }
    const root = await fx.call(null, 'GET', '/');
    expect([root.status, root.headers.location]).toEqual([302, '/console/']);
  });
});

describe.skipIf(!CHROMIUM || !PDFTOPPM)(`PDF audit report${CHROMIUM && PDFTOPPM ? '' : ' (skipped: needs Debian chromium and poppler-utils)'}`, () => {
  it('an export job renders the report to a PDF whose first page pdftoppm turns into a non-trivial PNG', async () => {
    const c = fx.users.compliance.token;
    const started = await fx.call(c, 'POST', '/v1/audit/export-jobs', { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
    expect(started.status).toBe(202);
    expect(started.headers.location).toBe(`/v1/jobs/${started.body.jobId}`);
    expect(started.body).toMatchObject({ kind: 'audit-export', status: 'queued', progress: { done: 0, total: 4 } });
    const steps = new Set<string>();
    const job = await pollUntil(async () => {
      const seen = (await fx.call(c, 'GET', `/v1/jobs/${started.body.jobId}`)).body;
      steps.add(seen.progress.step);
      return seen.status === 'done' || seen.status === 'failed' ? seen : undefined;
    });
    expect(job).toMatchObject({ status: 'done', progress: { done: 4, total: 4 }, result: { verified: true, pdfNote: null } });
    expect(steps.has('done')).toBe(true);
    // Another compliance officer cannot see this job.
    const other = (await fx.call(fx.users.admin.token, 'POST', '/v1/users', { role: 'compliance' })).body.token as string;
    expect((await fx.call(other, 'GET', `/v1/jobs/${job.jobId}`)).body.code).toBe('JOB_NOT_FOUND');

    const pdf = await fx.call(c, 'GET', job.result.links.pdf);
    expect(pdf.status).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.raw.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, 'audit-report.pdf');
    await import('node:fs').then((fs) => fs.writeFileSync(file, pdf.raw));
    const png = spawnSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', '-singlefile', file, join(OUT, 'audit-report-page1')], { encoding: 'utf8' });
    expect(png.status, png.stderr).toBe(0);
    const page1 = join(OUT, 'audit-report-page1.png');
    expect(existsSync(page1)).toBe(true);
    // A blank page compresses to almost nothing; the report's text and tables do not.
    expect(statSync(page1).size).toBeGreaterThan(15_000);
    const info = spawnSync('pdfinfo', [file], { encoding: 'utf8' });
    if (info.status === 0) expect(Number(/Pages:\s+(\d+)/.exec(info.stdout)?.[1])).toBeGreaterThanOrEqual(1);
    // The Chinese text is real text (CJK fonts with a Unicode map), not boxes.
    const text = spawnSync('pdftotext', ['-f', '1', '-l', '1', file, '-'], { encoding: 'utf8' });
    if (text.status === 0) expect(text.stdout).toContain('合规审计报告');

    const html = await fx.call(c, 'GET', job.result.links.html);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    expect(String(html.body)).toContain('合规审计报告');
    const bundle = await fx.call(c, 'GET', job.result.links.bundle);
    expect(bundle.body.format).toBe('fedmart-audit-bundle/2');
    expect(readFileSync(page1).subarray(1, 4).toString('latin1')).toBe('PNG');
    // The signing-key row shows the key that verifies the bundle's signature, not the log origin.
    expect(/<td>签名公钥 signing key[^<]*<\/td><td>(.*?)<\/td>/.exec(String(html.body))?.[1]).toContain(`<span class="hex">${bundle.body.publicKey}</span>`);

    // A4 paper (portrait, and landscape for the wide tables), "page X of Y" on every page.
    const sizes = spawnSync('pdfinfo', ['-f', '1', '-l', '999', file], { encoding: 'utf8' });
    expect(sizes.status, sizes.stderr).toBe(0);
    const pages = Number(/Pages:\s+(\d+)/.exec(sizes.stdout)?.[1]);
    const pageSizes = [...sizes.stdout.matchAll(/Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
    expect(pageSizes).toHaveLength(pages);
    expect(pageSizes[0]).toEqual([595, 842]);
    for (const [w, h] of pageSizes) expect([[595, 842], [842, 595]]).toContainEqual([w, h]);
    for (let n = 1; n <= pages; n++) {
      const pageText = spawnSync('pdftotext', ['-f', String(n), '-l', String(n), file, '-'], { encoding: 'utf8' }).stdout;
      expect(pageText).toContain(`第 ${n} / ${pages} 页`);
      expect(pageText).toContain(`page ${n} of ${pages}`);
    }
    const all = spawnSync('pdftotext', [file, '-'], { encoding: 'utf8' }).stdout;
    expect(all).toContain('北京时间');
    expect(all).toContain(bundle.body.publicKey.slice(0, 16));
    // Contents on the first page with the executive summary's page number; the summary and the signatory block.
    const first = spawnSync('pdftotext', ['-layout', '-f', '1', '-l', '1', file, '-'], { encoding: 'utf8' }).stdout;
    expect(first).toMatch(/执行摘要 Executive summary[ .]*2\s*$/m);
    for (const text of ['subject-rounds', 'DP budget', '签名 signature', '附录 A']) expect(all).toContain(text);

    // Nothing runs past the right margin (12 mm): the checkpoint's signature line and long hex wrap inside their boxes.
    const boxes = spawnSync('pdftotext', ['-bbox', file, '-'], { encoding: 'utf8' }).stdout;
    const overflowing: string[] = [];
    for (const page of boxes.split('<page ').slice(1)) {
      const width = Number(/width="([\d.]+)"/.exec(page)?.[1]);
      for (const w of page.matchAll(/<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<\/word>/g)) {
        if (Number(w[1]) > width - 30) overflowing.push(w[2]!);
      }
    }
    expect(overflowing).toEqual([]);
    // The processing-activities table keeps its header words whole.
    const words = new Set([...boxes.matchAll(/<word [^>]*>([^<]*)<\/word>/g)].map((m) => m[1]));
    for (const word of ['registered', 'description', 'categories', 'sensitive', 'recipients', 'retention', 'queries']) expect(words).toContain(word);
  });

  it('a job without a PDF says so, and its PDF link answers PDF_UNAVAILABLE', async () => {
    const c = fx.users.compliance.token;
    const queued = (await fx.call(c, 'POST', '/v1/audit/export-jobs', { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', pdf: false })).body;
    const job = await pollUntil(async () => {
      const seen = (await fx.call(c, 'GET', `/v1/jobs/${queued.jobId}`)).body;
      return seen.status === 'done' || seen.status === 'failed' ? seen : undefined;
    });
    expect(job.result).toMatchObject({ links: { pdf: null }, pdfNote: 'PDF not requested' });
    const res = await fx.call(c, 'GET', `/v1/jobs/${job.jobId}/report.pdf`);
    expect(res.body).toEqual({ type: 'urn:fedmart:problem:pdf-unavailable', title: 'PDF rendering is not available on this coordinator', status: 503, code: 'PDF_UNAVAILABLE', instance: `/v1/jobs/${job.jobId}/report.pdf` });
  });
});
