/**
 * One self-contained, printable HTML page of an audit bundle (合规审计报告 /
 * compliance audit report) for a regulator or a compliance officer: no
 * scripts, no external resources, inline CSS; labels in Chinese with English.
 *
 * Every piece of text from the bundle is HTML-escaped — register text comes
 * from configuration and entry fields from the log, and neither may inject
 * markup into the reviewer's browser. The page states the verification
 * result it was rendered with, so a printed copy says whether the evidence
 * checked out.
 *
 * Printed (and rendered to PDF) on A4 with "page X of Y" in the footer, the
 * wide tables on landscape A4 pages; times in Beijing time (UTC+8) with the
 * logged UTC instant beside them; long hex and base64 wrap inside their boxes.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { AuditBundle } from './audit-bundle.js';
import { verifyAuditBundle } from './audit-bundle-verify.js';
import type { AuditBundleVerification } from './audit-bundle-verify.js';
import { parseAuditEntry } from './audit-events.js';
import type { AuditEntry } from './audit-events.js';
import { groupFits } from './audit-report-fits.js';
import { contents, executiveSummary, signatories } from './audit-report-front.js';
import type { ContentsLine } from './audit-report-front.js';
import { escapeHtml, inlineList, section, table, time, timeMarkup, timeOneLine } from './audit-report-markup.js';
import type { Cell, SectionHead } from './audit-report-markup.js';
import { fitAppendix, fitAppendixHead, fitsTable, queryEvidence } from './audit-report-queries-html.js';
import { summarizeAuditReport } from './audit-report-summary.js';

export { beijingTime, escapeHtml } from './audit-report-markup.js';

/** SHA-256 of the raw public key, in groups of four hex digits; null when the key is not 64 hex digits. */
export function keyFingerprint(publicKeyHex: string): string | null {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex)) return null;
  const digest = createHash('sha256').update(Buffer.from(publicKeyHex, 'hex')).digest('hex');
  return digest.match(/.{4}/g)!.join(' ');
}

const counts = (c: Readonly<Record<string, number>>): string[] => Object.entries(c).map(([k, v]) => `${k}: ${v}`);

const STYLE = `
@page{size:A4;margin:14mm 12mm 16mm;@bottom-center{content:"第 " counter(page) " / " counter(pages) " 页 · page " counter(page) " of " counter(pages);font-family:"Noto Sans CJK SC",system-ui,sans-serif;font-size:8pt;color:#555}}
@page wide{size:A4 landscape}
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",system-ui,sans-serif;margin:2rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:2px solid #444;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1rem;margin:1.2rem 0 .3rem}
.en{color:#555;font-weight:normal;font-size:.9em}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top;word-break:normal;overflow-wrap:break-word}
table.wide,table.rounds{table-layout:fixed}
table.wide{font-size:.72rem}table.wide .utc{font-size:.62rem}table.wide th,table.wide td{padding:.2rem .25rem}
table.entries{table-layout:fixed;font-size:.7rem;line-height:1.25}table.entries th,table.entries td{padding:.1rem .3rem}table.entries .utc{font-size:.64rem}
table.rounds{font-size:.62rem;line-height:1.3}table.rounds th,table.rounds td{padding:.15rem .2rem}table.rounds .utc{font-size:.55rem}table.rounds .hex{font-size:.58rem}
table.rounds tbody{break-inside:avoid}table.rounds tr.figures td{border-bottom:0}table.rounds tr.digests td{border-top:0;color:#444;padding-top:0}
td.hex,.hex{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.78rem;overflow-wrap:anywhere;word-break:break-all}
.note{color:#555;font-size:.75rem}.utc{color:#666;font-size:.72rem;font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
th{background:#eee}td.none,.none{color:#888}
.status{padding:.6rem 1rem;border-radius:4px;font-weight:bold;margin:1rem 0}
.ok{background:#e3f4e3;border:1px solid #3a8a3a}.bad{background:#fbe3e3;border:1px solid #b33}.fail{color:#b33}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem;overflow-wrap:anywhere;word-break:break-all}
pre{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-all;max-width:100%;font-size:.8rem;background:#f6f6f6;padding:.5rem}
ol.toc{list-style:none;padding:0;margin:.5rem 0}ol.toc li{margin:.3rem 0}ol.toc a{display:flex;align-items:baseline;color:inherit;text-decoration:none}
.toc-title{flex:none;max-width:85%}.toc-dots{flex:1;border-bottom:1px dotted #888;margin:0 .4rem}.toc-page{flex:none;min-width:2em;text-align:right}
li.toc-2{padding-left:1.5rem;font-size:.9em}
.signers{display:flex;gap:2.5rem;margin-top:1rem;break-inside:avoid}.signer{flex:1}.signer-role{font-weight:bold;min-height:3.2em}
.sign-line{display:flex;align-items:flex-end;margin:1.6rem 0 0}.sign-line .blank{flex:1;border-bottom:1px solid #333;margin-left:.5rem;height:1em}
@media print{body{margin:0}h2,h3{break-after:avoid}pre,table.entries tr{break-inside:avoid}section.wide{page:wide}section.new-page{break-before:page}}
`;

/** Headings of the report's sections, in order: what the contents page lists and the PDF outline shows. */
const HEADS = {
  contents: { id: 'contents', zh: '目录', en: 'Contents' },
  summary: { id: 'summary', zh: '执行摘要', en: 'Executive summary' },
  meta: { id: 'meta', zh: '报告信息', en: 'Report' },
  ropa: { id: 'ropa', zh: '个人信息处理活动记录', en: 'Record of processing activities' },
  queries: { id: 'queries', zh: '查询证据', en: 'Per-query evidence' },
  fits: { id: 'fits', zh: '模型训练', en: 'Model fits' },
  consent: { id: 'consent', zh: '同意情况汇总', en: 'Consent summary' },
  rights: { id: 'rights', zh: '个人权利请求', en: 'Data-subject rights requests' },
  pias: { id: 'pias', zh: '个人信息保护影响评估', en: 'Personal-information protection impact assessments (PIAs)' },
  classification: { id: 'classification', zh: '数据分类分级', en: 'Data classification and grading' },
  security: { id: 'security', zh: '安全事件', en: 'Security events' },
  signatures: { id: 'signatures', zh: '签署', en: 'Signatures' },
  appendixFits: { id: 'appendix-a', zh: '附录 A 模型训练各轮证据', en: 'Appendix A: evidence of each fit round' },
  appendixEntries: { id: 'appendix-b', zh: '附录 B 审计日志条目', en: 'Appendix B: audit log entries' },
  checkpoint: { id: 'checkpoint', zh: '附录 C 签名检查点', en: 'Appendix C: signed checkpoint' },
} as const satisfies Record<string, SectionHead>;

/**
 * Renders the bundle as one HTML page. `verification` is the result to
 * display; by default the bundle is verified here (requires `await
 * cryptoReady()`). The page renders whatever the bundle contains, so a
 * failed verification is shown prominently at the top.
 *
 * Order: title and verification result, contents, executive summary, the
 * sections, the signatory block, then appendix A (each model fit's rounds),
 * appendix B (the log entries) and appendix C (the signed checkpoint).
 */
export function renderAuditReportHtml(bundle: AuditBundle, options: { readonly verification?: AuditBundleVerification } = {}): string {
  if (typeof bundle !== 'object' || bundle === null) throw new TypeError('bundle must be an AuditBundle');
  const v = options.verification ?? verifyAuditBundle(bundle);
  const s = bundle.sections;
  const status = v.ok
    ? `<div class="status ok">验证通过 / Verified: checkpoint signature, ${v.summary.entries} inclusion proofs, the neighbouring entries that show no entry of the range is missing, recomputed sections and bundle signature all check out (log size ${v.summary.size}, root <span class="mono">${escapeHtml(v.summary.root)}</span>).</div>`
    : `<div class="status bad">验证失败 / Verification FAILED at <code>${escapeHtml(v.firstBroken)}</code>: ${escapeHtml(v.reason)}. 本报告内容不可信 / Do not rely on this report.</div>`;

  const parsed: (AuditEntry | null)[] = bundle.entries.map((item) => {
    try {
      return parseAuditEntry(item.entry);
    } catch {
      return null;
    }
  });
  const grouping = groupFits(parsed.filter((e): e is AuditEntry => e !== null), s.queries);
  const summary = summarizeAuditReport(s, grouping);

  const signingKey: Cell = {
    html:
      `<span class="hex">${escapeHtml(bundle.publicKey)}</span><br>` +
      (v.ok
        ? '<span class="note">本报告签名及检查点签名均由此公钥验证通过；请与协调方公布的审计公钥核对 / The key this report\'s signature and the checkpoint\'s verified under; compare it with the coordinator\'s published audit key.</span>'
        : '<span class="note">本报告声明的签名公钥，验证未通过 / The key this report claims to be signed with; verification FAILED.</span>'),
  };
  const fingerprint = keyFingerprint(bundle.publicKey);
  const meta = table(
    ['项目 item', '值 value'],
    [
      ['日志来源 log origin', bundle.origin],
      ['签名公钥 signing key (Ed25519, hex)', signingKey],
      ['密钥指纹 key fingerprint (SHA-256 of the public key)', fingerprint === null ? null : { html: `<span class="mono">${escapeHtml(fingerprint)}</span>` }],
      ['密钥名称 key name (in the signed checkpoint)', bundle.keyName],
      ['时间范围 time range', { html: `${timeMarkup(bundle.range.from)}<br>— ${timeMarkup(bundle.range.to)}` }],
      ['日志序号 sequence numbers', bundle.range.firstSeq === null ? '—' : `${bundle.range.firstSeq} — ${bundle.range.lastSeq ?? ''}`],
      ['生成时间 generated at', time(bundle.generatedAt)],
      ['条目数 entries', bundle.entries.length],
    ],
  );

  const ropa = table(
    ['用途 purpose', '已登记 registered', '说明 description', '法律依据 legal basis', '字段 fields', '个人信息类别 categories', '敏感字段 sensitive', '接收方 recipients', '保存期限(天) retention (days)', '查询次数 queries run', '影响评估 PIAs'],
    s.processingRegister.map((r) => [r.purpose, r.registered, r.description, r.legalBasis, inlineList(r.fields), inlineList(r.dataCategories), inlineList(r.sensitiveFields), r.recipients, r.retentionDays, r.queriesRun, r.piaIds]),
    { className: 'wide', widths: [9, 7, 14, 8, 19, 10, 6, 9, 7, 5, 6] },
  );

  const queries = grouping.ownQueries.length === 0
    ? '<p class="none">无业务查询 / no queries besides the model fits\' rounds</p>'
    : `<p class="note">业务方发起的查询；模型训练的各轮查询见“模型训练”一节与附录 A / Queries a marketer asked; the rounds of model fits are under "Model fits" and in appendix A.</p>\n${grouping.ownQueries.map(queryEvidence).join('\n')}`;

  // Rows may carry figures added after this renderer: any further numeric field is shown as it is named.
  const knownConsent = new Set(['purpose', 'contributions', 'subjectsIncluded', 'subjectsExcluded', 'excludedByReason']);
  const moreConsent = (r: object): string[] =>
    Object.entries(r).flatMap(([k, v]) => (knownConsent.has(k) || typeof v !== 'number' ? [] : [`${k}: ${v}`]));
  const consentHasMore = s.consentSummary.some((r) => moreConsent(r).length > 0);
  const consent =
    '<p class="note">纳入 / 排除数为各轮次之和（主体·轮次），同一人每轮计一次，并非不同人数 / Included and excluded are summed over rounds (subject-rounds): a person counts once per round, so these are not counts of distinct people.</p>' +
    table(
      ['用途 purpose', '贡献数 contributions', '纳入主体·轮次 subject-rounds included', '排除主体·轮次 subject-rounds excluded', '排除原因 by reason', ...(consentHasMore ? ['其他 more'] : [])],
      s.consentSummary.map((r) => [
        r.purpose ?? '(范围外创建 created before range)', r.contributions, r.subjectsIncluded, r.subjectsExcluded, counts(r.excludedByReason),
        ...(consentHasMore ? [moreConsent(r)] : []),
      ]),
    );

  const rights =
    `<p>合计 total: ${escapeHtml(s.rightsRequests.total)}；按类型 by type: ${escapeHtml(counts(s.rightsRequests.byType).join(', ') || '—')}</p>\n` +
    table(['序号 seq', '商家 shop', '请求类型 request type', '日期 day'], s.rightsRequests.requests.map((r) => [r.seq, r.shopId, r.requestType, r.day]));

  const pias = table(
    ['编号 id', '用途 purpose', '评估时间 assessed at', '审核人 reviewer', '摘要 summary', '保存至 retained until', '已登记 registered', '日志序号 logged seq', '文档摘要 document digest'],
    s.pias.map((p) => [p.id, p.purpose, time(p.assessedAt), p.reviewer, p.summary, time(p.retainUntil), p.registered, p.loggedSeq, p.documentDigest]),
    { className: 'wide', widths: [8, 10, 18, 10, 13, 18, 7, 6, 10] },
  );

  const classification = table(
    ['字段 field', '分类 class', '分级 grade', '类别 category'],
    bundle.registers.classification.map((c) => [c.field, c.class, c.grade, c.category]),
  );

  const sec = s.securityEvents;
  const security =
    table(
      ['事件 event', '合计 total', '按原因 by reason', '按渠道/代码 by surface / code'],
      [
        ['认证失败 auth.failed', sec.authFailed.total, counts(sec.authFailed.byReason), counts(sec.authFailed.bySurface)],
        ['拒收贡献 contribution.rejected', sec.contributionsRejected.total, counts(sec.contributionsRejected.byReason), counts(sec.contributionsRejected.byGrpcCode)],
      ],
    ) +
    '<h3>配置变更 Configuration changes</h3>' +
    table(['序号 seq', '配置项 key', '操作者 actor'], sec.configChanges.map((c) => [c.seq, c.key, c.actor])) +
    '<h3>到期删除 Retention deletions</h3>' +
    table(['序号 seq', '类别 category', '记录数 records', '截止 cutoff'], sec.retentionDeletions.map((r) => [r.seq, r.category, r.records, time(r.cutoff)])) +
    '<h3>数据导出 Exports</h3>' +
    table(['序号 seq', '类型 kind', '查询 query', '摘要 digest'], sec.exports.map((x) => [x.seq, x.exportKind, x.queryId, x.digest]));

  const entries = table(
    ['序号 seq', '时间 time', '事件 type', '操作者 actor'],
    bundle.entries.map((item, i) => {
      const e = parsed[i];
      return e === null || e === undefined ? [item.seq, null, '(无效条目 invalid entry)', null] : [item.seq, timeOneLine(e.time), e.type, e.actor];
    }),
    { className: 'entries', widths: [8, 58, 22, 12] },
  );

  const fitHeads = grouping.fits.map((f, i) => fitAppendixHead(f, i + 1));
  if (grouping.unattributedRounds.length > 0) fitHeads.push(fitAppendixHead(null, grouping.fits.length + 1));
  const toc: ContentsLine[] = [
    ...[HEADS.summary, HEADS.meta, HEADS.ropa, HEADS.queries, HEADS.fits, HEADS.consent, HEADS.rights, HEADS.pias, HEADS.classification, HEADS.security, HEADS.signatures, HEADS.appendixFits]
      .map((head): ContentsLine => ({ head, level: 1 })),
    ...fitHeads.map((head): ContentsLine => ({ head, level: 2 })),
    { head: HEADS.appendixEntries, level: 1 },
    { head: HEADS.checkpoint, level: 1 },
  ];

  return `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>合规审计报告 Compliance audit report — ${escapeHtml(bundle.origin)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>合规审计报告 <span class="en">Compliance audit report</span></h1>
<p class="en">依据《个人信息保护法》第五十一条、第五十四条及《个人信息保护合规审计管理办法》 / Under PIPL arts. 51 and 54 and the CAC Personal Information Protection Compliance Audit Measures.</p>
${status}
${section(HEADS.contents, contents(toc))}
${section(HEADS.summary, executiveSummary(summary, bundle.range, v), { newPage: true })}
${section(HEADS.meta, meta, { newPage: true })}
${section(HEADS.ropa, ropa, { wide: true })}
${section(HEADS.queries, queries, { newPage: true })}
${section(HEADS.fits, fitsTable(grouping), { wide: true })}
${section(HEADS.consent, consent)}
${section(HEADS.rights, rights)}
${section(HEADS.pias, pias, { wide: true })}
${section(HEADS.classification, classification)}
${section(HEADS.security, security)}
${section(HEADS.signatures, signatories(), { newPage: true })}
<section id="${HEADS.appendixFits.id}" class="wide new-page appendix"><h2>${escapeHtml(HEADS.appendixFits.zh)} <span class="en">${escapeHtml(HEADS.appendixFits.en)}</span></h2>
${fitAppendix(grouping)}
</section>
<section id="${HEADS.appendixEntries.id}" class="new-page appendix"><h2>${escapeHtml(HEADS.appendixEntries.zh)} <span class="en">${escapeHtml(HEADS.appendixEntries.en)}</span></h2>
${entries}
</section>
${section(HEADS.checkpoint, `<p class="note">本报告所列条目均由此检查点（日志大小与根哈希）及其签名证明 / The log size and root hash every entry's inclusion proof leads to, signed by the audit key.</p><pre>${escapeHtml(bundle.checkpoint)}</pre>`)}
</body>
</html>
`;
}
