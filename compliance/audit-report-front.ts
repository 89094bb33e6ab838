/**
 * The audit report's front and back matter: the contents page, the
 * executive summary and the signatory block.
 *
 * The contents list gives each heading a page-number slot
 * (`<span class="toc-dots"></span><span class="toc-page" data-title="…">`) that the PDF renderer fills in
 * from a first rendering's document outline (`coordinator/http-report-pdf.ts`);
 * in the HTML page the slots stay empty and the entries are links.
 *
 * @module
 */
import type { AuditBundleVerification } from './audit-bundle-verify.js';
import type { AuditReportSummary } from './audit-report-summary.js';
import { escapeHtml, headText, table, timeMarkup } from './audit-report-markup.js';
import type { Cell, SectionHead } from './audit-report-markup.js';

/** One line of the contents: a section, or (indented) a part of one. */
export interface ContentsLine {
  readonly head: SectionHead;
  readonly level: 1 | 2;
}

/** The contents list: heading, dotted leader, page-number slot. */
export function contents(lines: readonly ContentsLine[]): string {
  const items = lines
    .map(({ head, level }) =>
      `<li class="toc-${level}"><a href="#${escapeHtml(head.id)}"><span class="toc-title">${escapeHtml(head.zh)} <span class="en">${escapeHtml(head.en)}</span></span>` +
      `<span class="toc-dots"></span><span class="toc-page" data-title="${escapeHtml(headText(head))}"></span></a></li>`)
    .join('\n');
  return `<ol class="toc">\n${items}\n</ol>\n<p class="note">各条目链接至相应章节；PDF 版本附页码及书签 / Each entry links to its section; the PDF gives page numbers and bookmarks.</p>`;
}

const n = (x: number): string => x.toLocaleString('en-US');

const round6 = (x: number): string => String(Number(x.toPrecision(6)));

/** The executive summary: the period and the report's figures, each labelled with what it counts. */
export function executiveSummary(s: AuditReportSummary, range: { readonly from: string; readonly to: string }, v: AuditBundleVerification): string {
  const verified: Cell = v.ok
    ? { html: `<strong>验证通过 verified</strong>: ${escapeHtml(n(v.summary.entries))} 条日志条目 log entries, checkpoint and bundle signatures, completeness of the range` }
    : { html: `<strong class="fail">验证失败 FAILED</strong> at <code>${escapeHtml(v.firstBroken)}</code>: ${escapeHtml(v.reason)}` };
  const dp: Cell = s.dp.length === 0
    ? `未添加隐私噪声 no privacy noise added (${n(s.releasesWithoutNoise)} releases exact)`
    : { html: s.dp.map((d) => `${escapeHtml(d.purpose || '(范围外创建 created before range)')}: Σε = ${escapeHtml(round6(d.epsilon))}, Σδ = ${escapeHtml(round6(d.delta))} (${escapeHtml(n(d.releases))} releases)`).join('<br>') +
      (s.releasesWithoutNoise > 0 ? `<br>${escapeHtml(n(s.releasesWithoutNoise))} releases without noise` : '') +
      '<br><span class="note">按顺序组合累加 / summed by sequential composition</span>' };
  const sec = s.security;
  const rows: Cell[][] = [
    ['报告期间 period', { html: `${timeMarkup(range.from)}<br>— ${timeMarkup(range.to)}` }],
    ['验证结果 verification', verified],
    ['处理目的 purposes', `${n(s.purposesRegistered)} 已登记 registered; 使用 used: ${s.purposesUsed.join(', ') || '—'}`],
    ['查询 queries', `${n(s.ownQueries.total)} 次业务查询 queries (${n(s.ownQueries.released)} released, ${n(s.ownQueries.failed)} failed, ${n(s.ownQueries.open)} open)`],
    ['模型训练 model fits', `${n(s.fits.total)} 次 fits (${n(s.fits.modelStored)} model stored, ${n(s.fits.failed)} failed, ${n(s.fits.noOutcome)} no outcome in range), ${n(s.fits.roundQueries)} 轮查询 round queries` +
      (s.unattributedRounds > 0 ? `; ${n(s.unattributedRounds)} round queries of no named fit` : '')],
    ['商家 merchants', `${n(s.merchants.length)} 家不同商家 distinct merchants contributed; ${n(s.contributionsAccepted)} 份贡献 contributions accepted`],
    ['主体 subjects', { html: `${escapeHtml(n(s.subjectRounds))} 主体·轮次 subject-rounds included, ${escapeHtml(n(s.excludedSubjectRounds))} excluded<br>` +
      `<span class="note">各查询及训练轮次纳入人数之和：同一人每轮计一次，并非不同人数 / the sum over queries and fit rounds: a person counts once per round that included them, so this is not a count of distinct people. 单次查询最多纳入 largest single query: ${escapeHtml(n(s.largestQuerySubjects))}</span>` }],
    ['抑制 suppressions', `${n(s.suppressedCells)} 个单元格 cells withheld in ${n(s.queriesWithSuppression)} queries`],
    ['差分隐私预算 DP budget spent', dp],
    ['安全事件 security events', `认证失败 auth failures ${n(sec.authFailed)}; 拒收贡献 rejected contributions ${n(sec.contributionsRejected)}; 配置变更 config changes ${n(sec.configChanges)}; 到期删除 retention deletions ${n(sec.retentionDeletions)}; 导出 exports ${n(sec.exports)}`],
    ['个人权利请求 rights requests', n(s.rightsRequests)],
    ['影响评估 PIAs', n(s.pias)],
    ['发现 findings', s.findings.queries === 0 ? '无 none' : `${n(s.findings.queries)} queries: ${s.findings.codes.join(', ')}`],
  ];
  return table(['项目 item', '摘要 summary'], rows, { widths: [26, 74] });
}

/** Name, role, date and signature lines for the controller's representative and the compliance officer. */
export function signatories(): string {
  const block = (zh: string, en: string): string =>
    `<div class="signer"><p class="signer-role">${escapeHtml(zh)}<br><span class="en">${escapeHtml(en)}</span></p>` +
    ['姓名 name', '职务 role', '日期 date', '签名 signature'].map((l) => `<p class="sign-line"><span>${escapeHtml(l)}</span><span class="blank"></span></p>`).join('') +
    '</div>';
  return (
    '<p>签署人确认已审阅本报告及其验证结果。 / The signatories confirm that they have reviewed this report and its verification result.</p>' +
    `<div class="signers">${block('个人信息处理者代表', "Representative of the personal-information handler (controller)")}${block('个人信息保护负责人 / 合规负责人', 'Compliance officer (person in charge of personal-information protection)')}</div>`
  );
}
