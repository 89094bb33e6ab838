/**
 * `fedmart query`, `fedmart users` and `fedmart audit export` against a
 * listening coordinator HTTP API, with a token per role: what each role may
 * do, problem codes on refusal (exit 1), JSON output for scripts, the
 * progress line on stderr, and the audit export job writing JSON, HTML and
 * (with Chromium) PDF.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/index.js';
import { findChromium } from '../../coordinator/http-report-pdf.js';
import { BOOTSTRAP_TOKEN, startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
const CHROMIUM = findChromium();

let fx: HttpFixture;
let http: string;

/** Runs the binary without blocking this process, which serves the API it calls. */
function fedmart(token: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--http', http, '--token', token], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, FEDMART_API_TOKEN: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  fx = await startHttpFixture({ chromium: CHROMIUM });
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  http = `http://127.0.0.1:${(fx.app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await fx?.close();
});

describe('fedmart query with a token per role', () => {
  it('tells each token its role and purposes', async () => {
    expect((await fedmart(fx.users.marketer.token, 'query', 'whoami')).stdout.trim()).toBe('mkt-test marketer purposes: marketing-analytics');
    expect(JSON.parse((await fedmart(fx.users.compliance.token, 'query', 'whoami', '--json')).stdout)).toMatchObject({ id: 'dpo-test', role: 'compliance', purposes: [] });
    expect((await fedmart(BOOTSTRAP_TOKEN, 'query', 'whoami')).stdout).toMatch(/^operator admin \(bootstrap administrator\)/);
    const kinds = JSON.parse((await fedmart(fx.users.marketer.token, 'query', 'kinds', '--json')).stdout);
    expect(kinds.queryKinds).toContain('segment-stats');
    expect(kinds.modelKinds).toContain('logistic-regression');
  });

  it('publishes, lists and reads a query as JSON for a marketer, and refuses other purposes and other roles with the problem code', async () => {
    const m = fx.users.marketer.token;
    const created = await fedmart(m, 'query', 'run', '--kind', 'segment-stats', '--spec', '{"purpose":"marketing-analytics","groupBy":"age_band"}', '--target', '3', '--no-wait', '--json');
    expect(created.code, created.stderr).toBe(0);
    const q = JSON.parse(created.stdout) as { queryId: string; status: string; requester: string; minSubjects: number };
    expect(q).toMatchObject({ status: 'open', requester: 'mkt-test', minSubjects: 10 });
    expect(JSON.parse((await fedmart(m, 'query', 'get', q.queryId, '--json')).stdout)).toMatchObject({ queryId: q.queryId, contributions: 0, result: null });
    expect((JSON.parse((await fedmart(m, 'query', 'list', '--json')).stdout) as { queryId: string }[]).map((x) => x.queryId)).toContain(q.queryId);

    const churn = await fedmart(m, 'query', 'segment', '--purpose', 'churn-modelling', '--no-wait');
    expect(churn.code).toBe(1);
    expect(churn.stderr.trim()).toBe('fedmart query: You are not granted the purpose this request is for: you are not granted the purpose churn-modelling [PURPOSE_NOT_GRANTED]');
    const compliance = await fedmart(fx.users.compliance.token, 'query', 'list');
    expect(compliance.code).toBe(1);
    expect(compliance.stderr).toMatch(/\[ROLE_FORBIDDEN\]$/m);
    const bad = await fedmart(m, 'query', 'segment', '--group-by', 'shoe_size');
    expect(bad.code).toBe(2);
  });

  it('shows merchants answered and the thresholds on stderr while it waits', async () => {
    const child = spawn(process.execPath, [BIN, 'query', 'segment', '--target', '3', '--http', http, '--token', fx.users.marketer.token], { env: { ...process.env, FEDMART_API_TOKEN: '' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    // Waits for the progress line or the command's end, however long a busy machine takes to start it.
    await new Promise<void>((resolve) => {
      child.stderr.on('data', () => { if (stderr.includes('merchants answered')) resolve(); });
      child.on('exit', () => resolve());
    });
    child.kill();
    expect(stderr).toContain('[........................] 0/3 merchants answered · m≥3 k≥10 · open');
  });
});

describe('fedmart users', () => {
  it('creates a marketer whose token works at once, and revokes it', async () => {
    const created = await fedmart(BOOTSTRAP_TOKEN, 'users', 'create', '--role', 'marketer', '--purposes', 'marketing-analytics,churn-modelling', '--id', 'mkt-cli', '--json');
    expect(created.code, created.stderr).toBe(0);
    const { token, user } = JSON.parse(created.stdout) as { token: string; user: { purposes: string[] } };
    expect(user.purposes).toEqual(['churn-modelling', 'marketing-analytics']);
    expect((await fedmart(token, 'query', 'whoami')).stdout.trim()).toBe('mkt-cli marketer purposes: churn-modelling, marketing-analytics');
    expect((await fedmart(BOOTSTRAP_TOKEN, 'users', 'list')).stdout).toMatch(/^mkt-cli\tmarketer\tchurn-modelling,marketing-analytics\t-\tactive$/m);
    expect((await fedmart(fx.users.marketer.token, 'users', 'list')).stderr).toMatch(/\[ROLE_FORBIDDEN\]/);
    expect((await fedmart(BOOTSTRAP_TOKEN, 'users', 'revoke', 'mkt-cli')).stdout).toMatch(/^mkt-cli\tmarketer\t.*\trevoked /);
    expect((await fedmart(token, 'query', 'whoami')).stderr).toMatch(/\[UNAUTHENTICATED\]/);
  });
});

describe('fedmart audit export', () => {
  it('runs an export job for a compliance officer and writes the bundle, the HTML report and the PDF', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-cli-export-'));
    const out = join(dir, 'report.json');
    const r = await fedmart(fx.users.compliance.token, 'audit', 'export', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^export job-[0-9a-f]+: done \(\d\/\d\)$/m);
    expect(r.stdout).toMatch(/^intact: /m);
    // Checked against the key the bundle carries: said on stderr, in one line.
    expect(r.stderr.split('\n').filter((l) => /NOT PINNED/.test(l))).toHaveLength(1);
    expect(r.stderr).toMatch(/^fedmart audit export: WARNING: the audit log's signing key is NOT PINNED/m);
    const pinned = await fedmart(fx.users.compliance.token, 'audit', 'export', '--out', join(dir, 'pinned.json'), '--no-pdf', '--key', toHex(fx.audit.publicKey));
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stderr).not.toMatch(/NOT PINNED/);
    expect(JSON.parse(readFileSync(out, 'utf8')).format).toBe('fedmart-audit-bundle/2');
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('合规审计报告');
    if (CHROMIUM) expect(readFileSync(join(dir, 'report.pdf')).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    else expect(existsSync(join(dir, 'report.pdf'))).toBe(false);
    expect((await fedmart(fx.users.marketer.token, 'audit', 'export', '--out', join(dir, 'x.json'))).stderr).toMatch(/\[ROLE_FORBIDDEN\]/);
  });
});
