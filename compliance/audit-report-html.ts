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

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markup built here from escaped parts, put into a cell as is. */
interface Markup {
  readonly html: string;
}

type Cell = string | number | boolean | null | undefined | Markup | readonly (string | number)[];

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const BEIJING_OFFSET_MS = 8 * 3600_000;

/**
 * An ISO-8601 instant as Beijing time (UTC+8, no daylight saving), e.g.
 * `2026-12-07 18:30:05 (北京时间)`; null for anything that is not a full
 * instant (a bare date such as a rights request's day stays as logged).
 */
export function beijingTime(iso: string): string | null {
  if (!ISO_INSTANT.test(iso)) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const local = new Date(ms + BEIJING_OFFSET_MS).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)} (北京时间)`;
}

/** Beijing time for the reader, the logged UTC instant for machines (attribute) and for exact comparison (small second line). */
function timeMarkup(iso: string): string {
  const local = beijingTime(iso);
  if (local === null) return escapeHtml(iso);
  const utc = escapeHtml(iso);
  return `<time datetime="${utc}" title="${utc}">${escapeHtml(local)}</time><br><span class="utc">UTC ${utc}</span>`;
}

const time = (iso: string | null | undefined): Cell => (iso === null || iso === undefined ? null : { html: timeMarkup(iso) });

/** Long hex (digests, keys) and base64 tokens wrap inside their cell instead of widening it. */
const LONG_TOKEN = /^[0-9A-Za-z+/=]{32,}$/;

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_./:-]*$/;

/** Break opportunities after the separators inside identifiers (`order_total`, `fedmart.test/audit`), so cells wrap between word parts, never inside them. */
function breakable(value: string | number): string {
  const text = String(value);
  if (!IDENTIFIER.test(text)) return escapeHtml(text);
  return text.split(/(?<=[_./:])/).map(escapeHtml).join('<wbr>');
}

function cell(value: Cell): string {
  if (value === null || value === undefined) return '<td class="none">—</td>';
  if (Array.isArray(value)) return `<td>${value.length === 0 ? '—' : value.map(breakable).join('<br>')}</td>`;
  if (typeof value === 'boolean') return `<td>${value ? '是 yes' : '否 no'}</td>`;
  if (typeof value === 'object') return `<td>${(value as Markup).html}</td>`;
  if (typeof value === 'string' && LONG_TOKEN.test(value)) return `<td class="mono hex">${escapeHtml(value)}</td>`;
  return `<td>${breakable(value)}</td>`;
}

function table(headers: readonly string[], rows: readonly (readonly Cell[])[], options: { readonly widths?: readonly number[]; readonly className?: string } = {}): string {
  if (rows.length === 0) return '<p class="none">无记录 / none</p>';
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n');
  const cols = options.widths ? `<colgroup>${options.widths.map((w) => `<col style="width:${w}%">`).join('')}</colgroup>` : '';
  const cls = options.className ? ` class="${escapeHtml(options.className)}"` : '';
  return `<table${cls}>${cols}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** SHA-256 of the raw public key, in groups of four hex digits; null when the key is not 64 hex digits. */
export function keyFingerprint(publicKeyHex: string): string | null {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex)) return null;
  const digest = createHash('sha256').update(Buffer.from(publicKeyHex, 'hex')).digest('hex');
  return digest.match(/.{4}/g)!.join(' ');
}

/** A section whose table needs a wide page is printed on a landscape A4 page. */
function section(id: string, zh: string, en: string, body: string, options: { readonly wide?: boolean } = {}): string {
  return `<section id="${escapeHtml(id)}"${options.wide ? ' class="wide"' : ''}><h2>${escapeHtml(zh)} <span class="en">${escapeHtml(en)}</span></h2>\n${body}\n</section>`;
}

const noiseText = (n: { readonly mechanism: string; readonly epsilon: number; readonly delta: number } | null): string | null =>
  n === null ? null : `${n.mechanism} ε=${n.epsilon} δ=${n.delta}`;

const counts = (c: Readonly<Record<string, number>>): string[] => Object.entries(c).map(([k, v]) => `${k}: ${v}`);

const STYLE = `
@page{size:A4;margin:14mm 12mm 16mm;@bottom-center{content:"第 " counter(page) " / " counter(pages) " 页 · page " counter(page) " of " counter(pages);font-family:"Noto Sans CJK SC",system-ui,sans-serif;font-size:8pt;color:#555}}
@page wide{size:A4 landscape}
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",system-ui,sans-serif;margin:2rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:2px solid #444;padding-bottom:.2rem;margin-top:2rem}
.en{color:#555;font-weight:normal;font-size:.9em}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top;word-break:normal;overflow-wrap:break-word}
table.wide{table-layout:fixed;font-size:.72rem}table.wide .utc{font-size:.62rem}table.wide th,table.wide td{padding:.2rem .25rem}
td.hex,.hex{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.78rem;overflow-wrap:anywhere;word-break:break-all}
.note{color:#555;font-size:.75rem}.utc{color:#666;font-size:.72rem;font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
th{background:#eee}td.none,.none{color:#888}
.status{padding:.6rem 1rem;border-radius:4px;font-weight:bold;margin:1rem 0}
.ok{background:#e3f4e3;border:1px solid #3a8a3a}.bad{background:#fbe3e3;border:1px solid #b33}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem;overflow-wrap:anywhere;word-break:break-all}
pre{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-all;max-width:100%;font-size:.8rem;background:#f6f6f6;padding:.5rem}
@media print{body{margin:0}section{break-inside:avoid-page}section.wide{page:wide}}
`;

/**
 * Renders the bundle as one HTML page. `verification` is the result to
 * display; by default the bundle is verified here (requires `await
 * cryptoReady()`). The page renders whatever the bundle contains, so a
 * failed verification is shown prominently at the top.
 */
export function renderAuditReportHtml(bundle: AuditBundle, options: { readonly verification?: AuditBundleVerification } = {}): string {
  if (typeof bundle !== 'object' || bundle === null) throw new TypeError('bundle must be an AuditBundle');
  const v = options.verification ?? verifyAuditBundle(bundle);
  const s = bundle.sections;
  const status = v.ok
    ? `<div class="status ok">验证通过 / Verified: checkpoint signature, ${v.summary.entries} inclusion proofs, the neighbouring entries that show no entry of the range is missing, recomputed sections and bundle signature all check out (log size ${v.summary.size}, root <span class="mono">${escapeHtml(v.summary.root)}</span>).</div>`
    : `<div class="status bad">验证失败 / Verification FAILED at <code>${escapeHtml(v.firstBroken)}</code>: ${escapeHtml(v.reason)}. 本报告内容不可信 / Do not rely on this report.</div>`;

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
    s.processingRegister.map((r) => [r.purpose, r.registered, r.description, r.legalBasis, r.fields, r.dataCategories, r.sensitiveFields, r.recipients, r.retentionDays, r.queriesRun, r.piaIds]),
    { className: 'wide', widths: [11, 7, 15, 9, 11, 10, 8, 9, 7, 6, 7] },
  );

  const queries = s.queries
    .map((q) =>
      `<h3>查询 Query <code>${escapeHtml(q.queryId)}</code> — ${escapeHtml(q.status)}</h3>\n` +
      table(
        ['项目 item', '值 value'],
        [
          ['用途 purpose', q.purpose],
          ['请求方 requester', q.requester],
          ['法律依据 legal basis', q.legalBasis],
          ['类型 kind', q.kind],
          ['创建时间 created at', time(q.createdAt)],
          ['规格摘要 spec digest', q.specDigest],
          ['门限 thresholds (m merchants / k subjects)', q.thresholds === null ? null : `${q.thresholds.minMerchants} / ${q.thresholds.minSubjects}`],
          ['贡献商家 contributing merchants', q.merchants],
          ['纳入主体(已同意) consented subjects included', q.subjectsIncluded],
          ['排除主体 subjects excluded by reason', counts(q.excludedByReason)],
          ['拒收贡献 contributions rejected', q.contributionsRejected],
          ['抑制单元格 suppressed cells', q.suppressedCells],
          ['抑制原因 suppression reasons', q.suppressionReasons],
          ['失败原因 failure reason', q.failureReason],
          ['发布策略 release policy', q.release === null ? null : `${q.release.policy.minMerchants} / ${q.release.policy.minSubjects}`],
          ['隐私噪声 noise spent', noiseText(q.release?.noise ?? null)],
          ['发布摘要 release digest', q.release?.releaseDigest ?? null],
          ['发现 findings', q.findings],
          ['证据条目 evidence entries (seq)', q.evidenceSeqs],
        ],
      ),
    )
    .join('\n');

  const consent = table(
    ['用途 purpose', '贡献数 contributions', '纳入主体 included', '排除主体 excluded', '排除原因 by reason'],
    s.consentSummary.map((r) => [r.purpose ?? '(范围外创建 created before range)', r.contributions, r.subjectsIncluded, r.subjectsExcluded, counts(r.excludedByReason)]),
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
    bundle.entries.map((item) => {
      try {
        const e = parseAuditEntry(item.entry);
        return [item.seq, time(e.time), e.type, e.actor];
      } catch {
        return [item.seq, null, '(无效条目 invalid entry)', null];
      }
    }),
  );

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
${section('meta', '报告信息', 'Report', meta)}
${section('ropa', '个人信息处理活动记录', 'Record of processing activities', ropa, { wide: true })}
${section('queries', '查询证据', 'Per-query evidence', queries || '<p class="none">无记录 / none</p>')}
${section('consent', '同意情况汇总', 'Consent summary', consent)}
${section('rights', '个人权利请求', 'Data-subject rights requests', rights)}
${section('pias', '个人信息保护影响评估', 'Personal-information protection impact assessments (PIAs)', pias, { wide: true })}
${section('classification', '数据分类分级', 'Data classification and grading', classification)}
${section('security', '安全事件', 'Security events', security)}
${section('entries', '审计日志条目', 'Audit log entries', entries)}
${section('checkpoint', '签名检查点', 'Signed checkpoint', `<pre>${escapeHtml(bundle.checkpoint)}</pre>`)}
</body>
</html>
`;
}
