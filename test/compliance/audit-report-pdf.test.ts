/**
 * The audit report as a regulator reads it: contents, executive summary,
 * one entry per model fit with its rounds in appendix A, signatory block;
 * and, where Debian chromium and poppler-utils are installed, the PDF: A4
 * pages numbered "X of Y", the contents' page numbers equal to the pages
 * the headings are on (read back with pdftotext), the fit rounds only after
 * the body, and no table column narrower than a word (pdftotext -bbox).
 *
 * The scenario: a marketer's query, a fit of 70 rounds that stored a model,
 * a fit that failed after 2 rounds (one of them retried), and one round
 * whose entry names no fit (as entries made before rounds named their fit).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady } from '../../crypto/index.js';
import { AuditLog, exportAuditBundle, renderAuditReportHtml, verifyAuditBundle } from '../../compliance/audit.js';
import type { AuditBundle, AuditEvent, AuditRegisters } from '../../compliance/audit.js';
import { InMemoryAuditStore } from '../../compliance/audit-store.js';
import { parseAuditEntry } from '../../compliance/audit-events.js';
import { groupFits } from '../../compliance/audit-report-fits.js';
import { summarizeAuditReport } from '../../compliance/audit-report-summary.js';
import { seqRanges } from '../../compliance/audit-report-markup.js';
import { fillContentsPages, findChromium, renderPdf } from '../../coordinator/http-report-pdf.js';
import { readPdfOutline, undoubledTitle, undoubleOutlineTitles } from '../../coordinator/pdf-outline.js';
import { KEY_NAME, ORIGIN, START, d, logKeyPair, minuteClock } from './audit-fixtures.js';

const CHROMIUM = findChromium();
const POPPLER = spawnSync('pdftotext', ['-v'], { encoding: 'utf8' }).error === undefined && spawnSync('pdfinfo', ['-v'], { encoding: 'utf8' }).error === undefined;
const OUT = resolve(import.meta.dirname, '../../test-output/reports');

const SHOPS = ['shop-001', 'shop-002', 'shop-003'];
const FIT_ROUNDS = 70;
const roundId = (fit: string, round: number): string => `q-${fit}-r${String(round).padStart(2, '0')}`;

/** A query with three accepted contributions and a release; `fit` names the fit it is a round of. */
function query(queryId: string, kind: string, subjects: number, fit?: { fitId: string; round: number }, noise = false): AuditEvent[] {
  return [
    {
      type: 'query.created',
      actor: 'operator',
      details: {
        queryId,
        requester: 'operator',
        purpose: 'churn-modelling',
        legalBasis: 'consent',
        kind,
        specDigest: d(`spec-${queryId}`),
        thresholds: { minMerchants: 3, minSubjects: 10 },
        ...(fit === undefined ? {} : { fitId: fit.fitId, fitRound: fit.round }),
      },
    },
    ...SHOPS.map((merchantId): AuditEvent => ({
      type: 'contribution.accepted',
      actor: `merchant:${merchantId}`,
      details: { merchantId, queryId, envelopeDigest: d(`env-${queryId}-${merchantId}`), attestationDigest: null, subjectsIncluded: subjects, excludedByReason: { withdrawn: 2 } },
    })),
    {
      type: 'release.stored',
      actor: 'coordinator',
      details: {
        queryId,
        merchants: SHOPS,
        policy: { minMerchants: 3, minSubjects: 10 },
        noise: noise ? { mechanism: 'discrete-laplace', epsilon: 0.25, delta: 0 } : null,
        releaseDigest: d(`release-${queryId}`),
      },
    },
  ];
}

function events(): AuditEvent[] {
  const out: AuditEvent[] = [
    { type: 'purpose.registered', actor: 'coordinator', details: { purpose: 'churn-modelling', legalBasis: 'consent', allowedFields: ['order_total', 'lifecycle_stage'], retentionDays: 180, recipients: ['marketing-team'] } },
    { type: 'pia.recorded', actor: 'user:dpo-1', details: { piaId: 'pia-1', purpose: 'churn-modelling', assessedAt: '2025-04-20T00:00:00.000Z', retainUntil: '2028-04-20T00:00:00.000Z', documentDigest: d('pia-1') } },
    ...query('q-own-1', 'segment-stats', 50, undefined, true),
  ];
  for (let r = 1; r <= FIT_ROUNDS; r++) out.push(...query(roundId('a', r), 'logistic-irls-round', 100 + r, { fitId: 'fit-a', round: r }));
  out.push({ type: 'model.stored', actor: 'coordinator', details: { fitId: 'fit-a', kind: 'logistic-regression', purpose: 'churn-modelling', rounds: FIT_ROUNDS, merchants: SHOPS, modelDigest: d('model-a') } });
  out.push(...query(roundId('b', 1), 'logistic-irls-round', 7, { fitId: 'fit-b', round: 1 }));
  // Round 2 of fit b was published again; the retried query's own entry names no fit (an older coordinator), the retry does.
  out.push(...query(roundId('b', 2), 'logistic-irls-round', 8));
  out.push({ type: 'round.retried', actor: 'coordinator', details: { fitId: 'fit-b', round: 2, failedQueryId: roundId('b', 2), queryId: 'q-b-r02-again', attempt: 2, reason: 'TOO_FEW_MERCHANTS', contributions: 2, deadlineSeconds: 240 } });
  out.push({ type: 'fit.failed', actor: 'coordinator', details: { fitId: 'fit-b', kind: 'logistic-regression', purpose: 'churn-modelling', round: 2, code: 'HESSIAN_NOT_POSITIVE_DEFINITE' } });
  out.push(...query('q-orphan', 'logistic-irls-round', 9));
  out.push({ type: 'auth.failed', actor: 'anonymous', details: { surface: 'http', route: '/v1/queries', reason: 'BAD_TOKEN' } });
  return out;
}

const REGISTERS: AuditRegisters = {
  purposes: [{ name: 'churn-modelling', description: 'Churn propensity models over encrypted rounds.', legalBasis: 'consent', allowedFields: ['order_total', 'lifecycle_stage'], retentionDays: 180, recipients: ['marketing-team'] }],
  pias: [{ id: 'pia-1', purpose: 'churn-modelling', assessedAt: '2025-04-20T00:00:00.000Z', summary: 'Encrypted aggregates only.', retainUntil: '2028-04-20T00:00:00.000Z', reviewer: 'dpo-1' }],
  classification: [
    { field: 'order_total', class: 'general', grade: 'general', category: 'transaction' },
    { field: 'lifecycle_stage', class: 'general', grade: 'general', category: 'profile' },
  ],
};

let bundle: AuditBundle;
let html: string;

beforeAll(async () => {
  await cryptoReady();
  const log = new AuditLog({ store: new InMemoryAuditStore(), origin: ORIGIN, keyName: KEY_NAME, keyPair: logKeyPair(), clock: minuteClock() });
  for (const e of events()) await log.append(e);
  bundle = await exportAuditBundle(log, { from: new Date(START).toISOString(), to: new Date(START + 30 * 24 * 3600_000).toISOString(), registers: REGISTERS, keyPair: logKeyPair() });
  html = renderAuditReportHtml(bundle);
});

describe('model fits in the audit report', () => {
  it('groups round queries by the fit their entries name, and keeps rounds of no named fit apart', () => {
    const entries = bundle.entries.map((e) => parseAuditEntry(e.entry));
    const g = groupFits(entries, bundle.sections.queries);
    expect(g.ownQueries.map((q) => q.queryId)).toEqual(['q-own-1']);
    expect(g.fits.map((f) => [f.fitId, f.kind, f.outcome, f.rounds.length, f.modelRounds, f.retries])).toEqual([
      ['fit-a', 'logistic-regression', 'model-stored', FIT_ROUNDS, FIT_ROUNDS, 0],
      ['fit-b', 'logistic-regression', 'failed', 2, null, 1],
    ]);
    expect(g.fits[0]!.rounds.map((r) => r.round)).toEqual(Array.from({ length: FIT_ROUNDS }, (_, i) => i + 1));
    expect(g.fits[1]!.rounds.map((r) => [r.round, r.query.queryId])).toEqual([[1, roundId('b', 1)], [2, roundId('b', 2)]]);
    expect(g.fits[1]!.failure).toEqual({ code: 'HESSIAN_NOT_POSITIVE_DEFINITE', round: 2 });
    expect(g.unattributedRounds.map((q) => q.queryId)).toEqual(['q-orphan']);
  });

  it('sums subjects as subject-rounds, counts distinct merchants and adds up ε per purpose', () => {
    const entries = bundle.entries.map((e) => parseAuditEntry(e.entry));
    const s = summarizeAuditReport(bundle.sections, groupFits(entries, bundle.sections.queries));
    // Independent answer: every query has three contributions of its `subjects`.
    const perQuery = [50, ...Array.from({ length: FIT_ROUNDS }, (_, i) => 101 + i), 7, 8, 9];
    expect(s.subjectRounds).toBe(perQuery.reduce((a, b) => a + 3 * b, 0));
    expect(s.excludedSubjectRounds).toBe(perQuery.length * 3 * 2);
    expect(s.largestQuerySubjects).toBe(3 * (100 + FIT_ROUNDS));
    expect(s.merchants).toEqual(SHOPS);
    expect(s.dp).toEqual([{ purpose: 'churn-modelling', releases: 1, epsilon: 0.25, delta: 0 }]);
    expect(s.releasesWithoutNoise).toBe(perQuery.length - 1);
    expect(s.fits).toEqual({ total: 2, modelStored: 1, failed: 1, noOutcome: 0, roundQueries: FIT_ROUNDS + 2 });
    expect(s.ownQueries).toEqual({ total: 1, released: 1, failed: 0, open: 0 });
    expect(s.security.authFailed).toBe(1);
  });

  it('renders contents, summary, one fits row per fit, signatures, then the rounds in appendix A', () => {
    const at = (text: string): number => {
      const i = html.indexOf(text);
      expect(i, text).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = ['<section id="contents"', '<section id="summary"', '<section id="queries"', '<section id="fits"', '<section id="signatures"', '<section id="appendix-a"', '<section id="appendix-b"'].map(at);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Every round query appears only in appendix A; the body's per-query evidence is the marketer's query.
    const appendix = html.indexOf('<section id="appendix-a"');
    for (let r = 1; r <= FIT_ROUNDS; r++) expect(html.indexOf(roundId('a', r))).toBeGreaterThan(appendix);
    expect(html.slice(0, appendix).match(/<h3>查询 Query/g)).toHaveLength(1);
    expect(html).toContain('主体·轮次 subject-rounds');
    expect(html).toContain('not a count of distinct people');
    expect(html).toContain('Σε = 0.25');
    for (const label of ['姓名 name', '职务 role', '日期 date', '签名 signature']) expect(html.split(label)).toHaveLength(3);
    expect(html).toContain('Representative of the personal-information handler (controller)');
    expect(html).toContain('Compliance officer');
    // Contents: a link and a page slot per section, appendix A's fits indented under it.
    for (const id of ['summary', 'meta', 'ropa', 'queries', 'fits', 'consent', 'rights', 'pias', 'classification', 'security', 'checkpoint', 'signatures', 'appendix-a', 'appendix-a-1', 'appendix-a-2', 'appendix-a-unattributed', 'appendix-b']) {
      expect(html).toContain(`<a href="#${id}">`);
      expect(html).toContain(`id="${id}"`);
    }
    expect(html.match(/<span class="toc-page" data-title="[^"]+"><\/span>/g)).toHaveLength(17);
    expect(seqRanges([9, 3, 4, 5, 7, 8, 1])).toBe('1, 3–5, 7–9');
  });

  it('labels the consent summary as subject-rounds and shows figures a newer bundle adds, only when present', () => {
    expect(html).toContain('<th>纳入主体·轮次 subject-rounds included</th>');
    expect(html).not.toContain('<th>其他 more</th>');
    const rows = bundle.sections.consentSummary.map((r) => ({ ...r, largestRoundIncluded: 310 }));
    const page = renderAuditReportHtml({ ...bundle, sections: { ...bundle.sections, consentSummary: rows } }, { verification: verifyAuditBundle(bundle) });
    expect(page).toContain('<th>其他 more</th>');
    expect(page).toContain('largestRoundIncluded: 310');
  });

  it('fills contents slots by outline title, tolerating a repeated first word', () => {
    const page = '<span class="toc-page" data-title="签署 Signatures"></span><span class="toc-page" data-title="A &#38; B"></span><span class="toc-page" data-title="missing"></span>';
    expect(fillContentsPages('<span class="toc-page" data-title="附录 C 签名检查点 Appendix C"></span>', [{ title: '附录 C 签名检查点 附录 C 签名检查点 Appendix C', page: 20 }])).toBe(
      '<span class="toc-page" data-title="附录 C 签名检查点 Appendix C">20</span>',
    );
    expect(fillContentsPages(page, [{ title: '签署  签署 Signatures', page: 14 }, { title: 'A & B', page: 3 }, { title: 'A & B', page: 9 }])).toBe(
      '<span class="toc-page" data-title="签署 Signatures">14</span><span class="toc-page" data-title="A &#38; B">3</span><span class="toc-page" data-title="missing"></span>',
    );
    expect(readPdfOutline(Buffer.from('%PDF-1.4 not really'))).toEqual([]);
  });

  it("undoes the repeats in Chromium's outline titles, rewriting a PDF's titles in the same bytes", () => {
    expect(undoubledTitle('附录 C 签名检查点 附录 C 签名检查点 Appendix C: signed checkpoint')).toBe('附录 C 签名检查点 Appendix C: signed checkpoint');
    expect(undoubledTitle('查询 Query 查询 Query q-1 — released — released')).toBe('查询 Query q-1 — released');
    expect(undoubledTitle('执行摘要  Executive summary')).toBe('执行摘要 Executive summary');
    const hex = (t: string): string => 'FEFF' + Buffer.from(t, 'utf16le').swap16().toString('hex').toUpperCase();
    const pdf = Buffer.from(`1 0 obj\n<</Title <${hex('签署 签署 Signatures')}>\n/Dest [2 0 R /XYZ 0 0 0]>>\nendobj\n3 0 obj\n<</Title (plain)>>\nendobj\n`, 'latin1');
    const fixed = undoubleOutlineTitles(pdf);
    expect(fixed.length).toBe(pdf.length);
    expect(fixed.toString('latin1')).toContain(`/Title <${hex('签署 Signatures')}   `);
    expect(fixed.toString('latin1')).toContain('/Title (plain)');
    expect(fixed.toString('latin1').indexOf('3 0 obj')).toBe(pdf.toString('latin1').indexOf('3 0 obj'));
  });
});

describe.skipIf(!CHROMIUM || !POPPLER)(`audit report PDF${CHROMIUM && POPPLER ? '' : ' (skipped: needs Debian chromium and poppler-utils)'}`, () => {
  it('is A4 with numbered pages, a contents page whose numbers are right, the summary, and the fit rounds after the body', async () => {
    const pdf = await renderPdf(html, { chromium: CHROMIUM });
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, 'audit-report-fits.pdf');
    writeFileSync(file, pdf);
    const run = (cmd: string, args: string[]): string => {
      const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };

    const info = run('pdfinfo', ['-f', '1', '-l', '9999', file]);
    const pages = Number(/Pages:\s+(\d+)/.exec(info)?.[1]);
    const sizes = [...info.matchAll(/Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
    expect(sizes).toHaveLength(pages);
    expect(sizes[0]).toEqual([595, 842]);
    for (const size of sizes) expect([[595, 842], [842, 595]]).toContainEqual(size);
    // 70 rounds take a few appendix pages, not one page each.
    expect(pages).toBeLessThan(30);

    const pageText = Array.from({ length: pages }, (_, i) => run('pdftotext', ['-layout', '-f', String(i + 1), '-l', String(i + 1), file, '-']));
    pageText.forEach((t, i) => {
      expect(t).toContain(`第 ${i + 1} / ${pages} 页`);
      expect(t).toContain(`page ${i + 1} of ${pages}`);
    });
    const pageOf = (heading: string): number => {
      const i = pageText.findIndex((t, n) => n > 0 && t.split('\n').some((line) => line.trim().startsWith(heading)));
      expect(i, heading).toBeGreaterThan(0);
      return i + 1;
    };

    // Contents on page 1; every line ends in the page its heading is on.
    expect(pageText[0]).toContain('目录 Contents');
    const headings = ['执行摘要 Executive summary', '查询证据 Per-query evidence', '模型训练 Model fits', '安全事件 Security events', '签署 Signatures', '附录 A 模型训练各轮证据', 'A.1 训练 fit-a', 'A.2 训练 fit-b', 'A.3 未关联训练的轮次', '附录 B 审计日志条目'];
    for (const heading of headings) {
      const line = pageText[0]!.split('\n').find((l) => l.trim().startsWith(heading));
      expect(line, heading).toBeDefined();
      expect([heading, Number(/(\d+)\s*$/.exec(line!)?.[1])]).toEqual([heading, pageOf(heading)]);
    }
    // Bookmarks: the headings are the PDF's outline.
    const outline = readPdfOutline(pdf).map((o) => o.title.replace(/\s+/g, ' '));
    expect(outline).toEqual(expect.arrayContaining(['执行摘要 Executive summary', '签署 Signatures', 'A.1 训练 fit-a Fit rounds, logistic-regression']));
    // No heading laid out twice (Chromium repeats a title's words when a kept-together block moves to the next page).
    expect(outline.filter((t) => t.split(' ')[0] === t.split(' ')[1])).toEqual([]);
    // The signatory block: both signers' four lines on the page of its heading.
    const signing = pageText[pageOf('签署 Signatures') - 1]!;
    expect(signing.split('签名 signature')).toHaveLength(3);
    expect(signing).toContain('个人信息处理者代表');

    // The executive summary, on its own page.
    const summary = pageText[pageOf('执行摘要 Executive summary') - 1]!;
    for (const text of ['报告期间 period', 'verified', 'subject-rounds', '2 次 fits (1 model stored, 1 failed', '1 次业务查询', '3 家不同商家', 'Σε = 0.25', '认证失败 auth failures 1', '抑制 suppressions']) expect(summary).toContain(text);

    // Fit rounds only in appendix A, after the signatures; the body has one line per fit.
    const signatures = pageOf('签署 Signatures');
    const appendixA = pageOf('附录 A 模型训练各轮证据');
    expect(appendixA).toBeGreaterThan(signatures);
    const roundPages = pageText.flatMap((t, i) => (/q-a-r\d\d/.test(t) ? [i + 1] : []));
    expect(roundPages.length).toBeGreaterThan(0);
    expect(Math.min(...roundPages)).toBeGreaterThanOrEqual(appendixA);
    for (let r = 1; r <= FIT_ROUNDS; r++) expect(pageText.slice(appendixA - 1).join('\n')).toContain(roundId('a', r));
    expect(pageText[pageOf('模型训练 Model fits') - 1]).toMatch(/fit-a[^]*logistic-regression/);

    // Tables fit the page and no column is narrower than a word: every English word of every table header is whole,
    // and nothing runs past the right margin.
    const boxes = run('pdftotext', ['-bbox', file, '-']);
    const words = new Set([...boxes.matchAll(/<word [^>]*>([^<]*)<\/word>/g)].map((m) => m[1]!));
    const headerWords = new Set([...html.matchAll(/<th>([^<]*)<\/th>/g)].flatMap((m) => m[1]!.match(/[A-Za-z]{3,}/g) ?? []));
    expect(headerWords.size).toBeGreaterThan(30);
    expect([...headerWords].filter((w) => !words.has(w) && ![...words].some((x) => x.includes(w)))).toEqual([]);
    const overflowing: string[] = [];
    for (const page of boxes.split('<page ').slice(1)) {
      const width = Number(/width="([\d.]+)"/.exec(page)?.[1]);
      for (const w of page.matchAll(/<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<\/word>/g)) {
        if (Number(w[1]) > width - 30) overflowing.push(w[2]!);
      }
    }
    expect(overflowing).toEqual([]);
    // Identifiers in the appendix's rounds are whole words too (query ids, kinds).
    expect(words).toContain(roundId('a', 70));
    expect(words).toContain('logistic-irls-round');
    expect(verifyAuditBundle(bundle).ok).toBe(true);
  }, 180_000);
});
