/**
 * CSV views of an audit bundle's sections, for compliance officers who work
 * in spreadsheets: one file per table, RFC 4180 (CRLF, every field quoted),
 * with a UTF-8 byte-order mark so that spreadsheet software shows the
 * Chinese headers correctly.
 *
 * Times are given twice: the logged UTC instant, and Beijing time (UTC+8)
 * beside it for the reader. Per-round subject counts summed over rounds are
 * labelled subject-rounds: a customer in ten rounds counts ten times.
 *
 * Cells that a spreadsheet would run as a formula (starting with = + - @ or
 * a tab/CR) get a leading apostrophe (OWASP "CSV injection"): register text
 * comes from configuration and must not execute on a reviewer's machine.
 *
 * @module
 */
import type { AuditBundle } from './audit-bundle.js';
import { beijingTime } from './audit-report-markup.js';

/** The files `renderAuditCsv` produces. */
export interface AuditCsvFiles {
  readonly 'queries.csv': string;
  readonly 'processing-register.csv': string;
  readonly 'consent-summary.csv': string;
  readonly 'security-events.csv': string;
}

type Cell = string | number | boolean | null | readonly string[] | readonly number[];

function cellText(value: Cell): string {
  if (value === null) return '';
  if (Array.isArray(value)) return value.join(' ');
  return String(value);
}

function quote(value: Cell): string {
  let s = cellText(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

function csv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return `\uFEFF${[header, ...rows].map((r) => r.map(quote).join(',')).join('\r\n')}\r\n`;
}

const counts = (c: Readonly<Record<string, number>>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/** Renders the bundle's sections as four CSV files. Does not verify the bundle. */
export function renderAuditCsv(bundle: AuditBundle): AuditCsvFiles {
  if (typeof bundle !== 'object' || bundle === null) throw new TypeError('bundle must be an AuditBundle');
  const s = bundle.sections;
  const queries = csv(
    [
      '查询 query', '用途 purpose', '请求方 requester', '法律依据 legal basis', '类型 kind', '创建时间(UTC) created at (UTC)', '创建时间(北京时间) created at (Beijing, UTC+8)', '规格摘要 spec digest',
      '最少商家 min merchants', '最少主体 min subjects', '商家 merchants', '纳入主体 subjects included', '排除 excluded by reason',
      '拒收贡献 contributions rejected', '抑制单元格 suppressed cells', '抑制原因 suppression reasons', '状态 status', '失败原因 failure reason',
      '噪声机制 noise mechanism', 'epsilon', 'delta', '发布摘要 release digest', '发现 findings', '证据序号 evidence seqs',
    ],
    s.queries.map((q) => [
      q.queryId, q.purpose, q.requester, q.legalBasis, q.kind, q.createdAt, q.createdAt === null ? null : (beijingTime(q.createdAt)?.replace(' (北京时间)', '') ?? null), q.specDigest,
      q.thresholds?.minMerchants ?? null, q.thresholds?.minSubjects ?? null, q.merchants, q.subjectsIncluded, counts(q.excludedByReason),
      q.contributionsRejected, q.suppressedCells, q.suppressionReasons, q.status, q.failureReason,
      q.release?.noise?.mechanism ?? null, q.release?.noise?.epsilon ?? null, q.release?.noise?.delta ?? null, q.release?.releaseDigest ?? null,
      q.findings, q.evidenceSeqs,
    ]),
  );
  const register = csv(
    ['用途 purpose', '已登记 registered', '说明 description', '法律依据 legal basis', '字段 fields', '个人信息类别 data categories', '敏感字段 sensitive fields', '接收方 recipients', '保存期限(天) retention days', '查询次数 queries run', '影响评估 PIAs'],
    s.processingRegister.map((r) => [
      r.purpose, r.registered, r.description, r.legalBasis, r.fields, r.dataCategories, r.sensitiveFields, r.recipients.join('; '), r.retentionDays, r.queriesRun, r.piaIds,
    ]),
  );
  const consent = csv(
    ['用途 purpose', '贡献数 contributions', '纳入主体轮次(按轮相加，非人数) subject-rounds included (summed over rounds, not people)', '排除主体轮次 subject-rounds excluded', '排除原因 excluded by reason'],
    s.consentSummary.map((r) => [r.purpose, r.contributions, r.subjectsIncluded, r.subjectsExcluded, counts(r.excludedByReason)]),
  );
  const sec = s.securityEvents;
  const security = csv(
    ['类别 category', '键 key', '数量 count'],
    [
      ...Object.entries(sec.authFailed.byReason).map(([k, v]): Cell[] => ['auth.failed reason', k, v]),
      ...Object.entries(sec.authFailed.bySurface).map(([k, v]): Cell[] => ['auth.failed surface', k, v]),
      ...Object.entries(sec.contributionsRejected.byReason).map(([k, v]): Cell[] => ['contribution.rejected reason', k, v]),
      ...Object.entries(sec.contributionsRejected.byGrpcCode).map(([k, v]): Cell[] => ['contribution.rejected grpc code', k, v]),
      ...sec.configChanges.map((c): Cell[] => ['config.changed', `${c.key} (seq ${c.seq}, ${c.actor})`, 1]),
      ...sec.retentionDeletions.map((r): Cell[] => ['retention.deleted', `${r.category} before ${r.cutoff} (seq ${r.seq})`, r.records]),
      ...sec.exports.map((x): Cell[] => ['export.created', `${x.exportKind}${x.queryId === null ? '' : ` ${x.queryId}`} (seq ${x.seq})`, 1]),
    ],
  );
  return { 'queries.csv': queries, 'processing-register.csv': register, 'consent-summary.csv': consent, 'security-events.csv': security };
}
