/**
 * `fedmart query` says why something is missing: after a released table one
 * stderr line per withheld cell with its code in English and Chinese; for a
 * failed query or fit its code and both explanations; exit codes as before
 * and nothing extra with --json (whose output carries the same).
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainReason, getQueryDefinition, releasedTotalsFromDocument, type ReleaseDocument } from '../../analytics/index.js';
import { resultWithDisclosure } from '../../coordinator/release-disclosure.js';
import { failureLines, QUERY_HELP, withheldLines } from '../../cli/query-command.js';
import { startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';
import { pollUntil } from '../helpers/poll.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
const SEGMENT = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

let fx: HttpFixture;
let http: string;

function fedmart(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--http', http, '--token', fx.users.marketer.token], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, FEDMART_API_TOKEN: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** A release of a segment table whose four stages are all withheld, for each of the three reasons. */
function release(queryId: string): ReleaseDocument {
  return {
    version: 1, queryId, kind: 'segment-stats', specDigest: 'ab', paramSet: 'bfv-8192', keyId: 'cd', merchants: ['shop-01', 'shop-02', 'shop-03'],
    contributionDigests: ['00', '11', '22'], aggregateDigest: 'ff', policy: { minMerchants: 3, minSubjects: 10 }, attestedSubjects: 90,
    cells: {
      new: { suppressed: true, reason: 'x', reasonCode: 'FEWER_THAN_K_SUBJECTS' },
      active: { suppressed: true, reason: 'x', reasonCode: 'DOMINANCE' },
      loyal: { suppressed: true, reason: 'x', reasonCode: 'SECONDARY' },
      churning: { suppressed: true, reason: 'x', reasonCode: 'FEWER_THAN_K_SUBJECTS' },
    },
    releasedAt: '2026-01-01T00:00:00.000Z',
    disclosure: { purpose: 'marketing-analytics', mode: 'exact', dominance: { maxSharePercent: 60 }, dp: null },
  };
}

async function publish(): Promise<string> {
  const res = await fx.call(fx.users.marketer.token, 'POST', '/v1/queries', { kind: 'segment-stats', spec: SEGMENT, targetMerchants: 3 });
  expect(res.status).toBe(201);
  return res.body.queryId as string;
}

async function releaseIt(queryId: string): Promise<void> {
  const doc = release(queryId);
  const definition = getQueryDefinition('segment-stats');
  const spec = definition.parseSpec({ kind: 'segment-stats', ...SEGMENT });
  const result = resultWithDisclosure('segment-stats', spec, definition.finalise(spec, releasedTotalsFromDocument(doc)), doc);
  expect(await fx.store.transition(queryId, 'open', 'closing')).toBe(true);
  expect(await fx.store.saveRelease({ queryId, releaseJson: JSON.stringify(doc), keyholderSigningKey: Buffer.alloc(32), signature: Buffer.alloc(64), resultJson: JSON.stringify(result) })).toBe(true);
}

const DIFFERENCING_REASON = "key holder refused: purpose 'marketing-analytics': the rows differ from those of released query q-1 by 1 customer(s)";

beforeAll(async () => {
  fx = await startHttpFixture();
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  http = `http://127.0.0.1:${(fx.app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await fx?.close();
});

describe('the lines fedmart query prints', () => {
  it('name each withheld cell with its code and both languages, and a failure with its code and both explanations', () => {
    const reason = { en: 'Fewer than 10 customers', zh: '客户少于 10 人' };
    expect(withheldLines({ rows: [], withheld: [{ cell: 'new', reasonCode: 'FEWER_THAN_K_SUBJECTS', reason }] })).toEqual(['withheld new [FEWER_THAN_K_SUBJECTS]: Fewer than 10 customers / 客户少于 10 人']);
    // A model evaluation lists what it held back without words: the catalogue explains the code.
    const k = explainReason('FEWER_THAN_K_SUBJECTS');
    expect(withheldLines({ withheld: [{ what: 'score histograms and AUC', reasonCode: 'FEWER_THAN_K_SUBJECTS' }] })).toEqual([`withheld score histograms and AUC [FEWER_THAN_K_SUBJECTS]: ${k.en} / ${k.zh}`]);
    expect(withheldLines({ rows: [] })).toEqual([]);
    expect(withheldLines(null)).toEqual([]);
    expect(withheldLines({ withheld: [{ cell: 1 }, null] })).toEqual([]);

    const explanation = explainReason('BUDGET_EXHAUSTED');
    expect(failureLines({ status: 'failed', statusCode: 'BUDGET_EXHAUSTED', explanation })).toEqual(['failed [BUDGET_EXHAUSTED]', `  en: ${explanation.en}`, `  zh: ${explanation.zh}`]);
    // From a coordinator that sends the code without an explanation, the catalogue's.
    expect(failureLines({ status: 'failed', statusCode: 'TOO_FEW_MERCHANTS' })[1]).toBe(`  en: ${explainReason('TOO_FEW_MERCHANTS').en}`);
    expect(failureLines({ status: 'failed', statusCode: null })).toEqual([]);
    expect(failureLines({ status: 'released', statusCode: null, explanation: null })).toEqual([]);
    expect(QUERY_HELP).toContain('FEWER_THAN_K_SUBJECTS');
    expect(QUERY_HELP).toContain('DIFFERENCING');
  });
});

describe('fedmart query against a coordinator', () => {
  it('prints the released table, then one line per withheld cell with its code in English and Chinese on stderr', async () => {
    const id = await publish();
    await releaseIt(id);
    const r = await fedmart('query', 'get', id);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('churning');
    const params = { k: 10, p: 60 };
    expect(r.stderr.trim().split('\n')).toEqual([
      ['new', 'FEWER_THAN_K_SUBJECTS'], ['active', 'DOMINANCE'], ['loyal', 'SECONDARY'], ['churning', 'FEWER_THAN_K_SUBJECTS'],
    ].map(([cell, code]) => {
      const text = explainReason(code!, params);
      return `withheld ${cell} [${code}]: ${text.en} / ${text.zh}`;
    }));
    expect(r.stderr).toContain('more than 60%');
    expect(r.stderr).toContain('客户少于 10 人');

    const json = await fedmart('query', 'get', id, '--json');
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).result.withheld).toHaveLength(4);
  });

  it('prints a failed query\'s code with both explanations on stderr, keeping the exit codes', async () => {
    const id = await publish();
    await fx.store.transition(id, 'open', 'closing');
    await fx.store.transition(id, 'closing', 'failed', DIFFERENCING_REASON, undefined, 'DIFFERENCING');
    const text = explainReason('DIFFERENCING', { k: 10, m: 3 });
    const r = await fedmart('query', 'get', id);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${id} segment-stats failed (${DIFFERENCING_REASON})`);
    expect(r.stderr.trim().split('\n')).toEqual(['failed [DIFFERENCING]', `  en: ${text.en}`, `  zh: ${text.zh}`]);
    const json = await fedmart('query', 'get', id, '--json');
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toMatchObject({ statusCode: 'DIFFERENCING', explanation: text });

    // Waiting for a query that then fails: exit 1 as before, with the explanation after the summary.
    const before = new Set((await fx.store.listQueries()).map((q) => q.queryId));
    const child = spawn(process.execPath, [BIN, 'query', 'segment', '--target', '3', '--http', http, '--token', fx.users.marketer.token], { env: { ...process.env, FEDMART_API_TOKEN: '' } });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waiting = await pollUntil(async () => (await fx.store.listQueries()).find((q) => !before.has(q.queryId))?.queryId);
    await fx.store.transition(waiting, 'open', 'closing');
    await fx.store.transition(waiting, 'closing', 'failed', 'only 1 of the required 3 merchants answered; nothing was decrypted', undefined, 'TOO_FEW_MERCHANTS');
    expect(await exited).toBe(1);
    expect(stdout).toContain(`${waiting} segment-stats failed`);
    const tooFew = explainReason('TOO_FEW_MERCHANTS', { k: 10, m: 3 });
    expect(stderr).toContain(`failed [TOO_FEW_MERCHANTS]\n  en: ${tooFew.en}\n  zh: ${tooFew.zh}\n`);
  });

  it('prints a failed fit\'s code with both explanations on stderr', async () => {
    const created = await fx.call(fx.users.marketer.token, 'POST', '/v1/fits', {
      kind: 'logistic-regression', spec: { purpose: 'marketing-analytics', features: ['intercept', 'orders'], label: 'churning' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const fitId = created.body.fitId as string;
    await fx.db.query(`UPDATE fits SET status = 'failed', status_code = 'SATURATION', status_reason = 'round 1 failed: SATURATION' WHERE fit_id = $1`, [fitId]);
    const r = await fedmart('query', 'get', fitId);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ fitId, status: 'failed', statusCode: 'SATURATION', explanation: explainReason('SATURATION', { k: 10, m: 3 }) });
    const text = explainReason('SATURATION');
    expect(r.stderr.trim().split('\n')).toEqual(['failed [SATURATION]', `  en: ${text.en}`, `  zh: ${text.zh}`]);
  });
});
