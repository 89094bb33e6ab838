/**
 * The audit report's query and model-fit evidence: a marketer's query as a
 * table of its own; a model fit as one row of the fits table in the body,
 * with its rounds — each a query with its consent, thresholds and release —
 * as one row each in appendix A.
 *
 * @module
 */
import type { QueryEvidence } from './audit-sections.js';
import type { FitEvidence, FitGrouping } from './audit-report-fits.js';
import { cell, escapeHtml, seqRanges, table, time, timeMarkup } from './audit-report-markup.js';
import type { Cell, SectionHead } from './audit-report-markup.js';

const counts = (c: Readonly<Record<string, number>>): string[] => Object.entries(c).map(([k, v]) => `${k}: ${v}`);

const noiseText = (n: { readonly mechanism: string; readonly epsilon: number; readonly delta: number } | null): string | null =>
  n === null ? null : `${n.mechanism} ε=${n.epsilon} δ=${n.delta}`;

/** One query's evidence as an item / value table. */
export function queryEvidence(q: QueryEvidence): string {
  return (
    `<div class="query"><h3>查询 Query <code>${escapeHtml(q.queryId)}</code> — ${escapeHtml(q.status)}</h3>\n` +
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
        ['证据条目 evidence entries (seq)', seqRanges(q.evidenceSeqs)],
      ],
      { widths: [32, 68] },
    ) +
    '</div>'
  );
}

/** The appendix heading of fit number `n` (1-based), and of the rounds of no named fit. */
export function fitAppendixHead(fit: FitEvidence | null, n: number): SectionHead {
  return fit === null
    ? { id: 'appendix-a-unattributed', zh: `A.${n} 未关联训练的轮次`, en: 'Rounds of no named fit' }
    : { id: `appendix-a-${n}`, zh: `A.${n} 训练 ${fit.fitId}`, en: `Fit rounds, ${fit.kind ?? 'kind not logged'}` };
}

function outcome(f: FitEvidence): Cell {
  if (f.outcome === 'model-stored') return { html: `模型已保存 model stored${f.endedAt === null ? '' : `<br>${timeMarkup(f.endedAt)}`}` };
  if (f.outcome === 'failed') return `失败 failed: ${f.failure?.code ?? ''} (round ${f.failure?.round ?? '?'})`;
  return '范围内无结果 no outcome in range';
}

function rounds(f: FitEvidence): Cell {
  const lines = [`本报告内轮次查询 round queries in this report: ${f.rounds.length}`];
  if (f.modelRounds !== null) lines.push(`模型轮数 rounds of the model: ${f.modelRounds}`);
  if (f.retries > 0) lines.push(`重试 retried: ${f.retries}`);
  if (f.incompleteRounds > 0) lines.push(`缺席 incomplete: ${f.incompleteRounds}`);
  return { html: lines.map(escapeHtml).join('<br>') };
}

/** The body's fits table: one row per fit, its rounds referred to appendix A. */
export function fitsTable(grouping: FitGrouping): string {
  const rows = grouping.fits.map((f, i): Cell[] => {
    const findings = new Set(f.rounds.flatMap((r) => r.query.findings));
    const head = fitAppendixHead(f, i + 1);
    return [
      f.fitId,
      f.kind,
      f.purpose,
      rounds(f),
      outcome(f),
      f.merchants.length === 0 ? null : f.merchants,
      f.modelDigest,
      findings.size === 0 ? '无 none' : [...findings].sort(),
      { html: `<a href="#${escapeHtml(head.id)}">附录 A.${i + 1}</a>` },
    ];
  });
  const unattributed = grouping.unattributedRounds.length === 0
    ? ''
    : `<p>另有 ${grouping.unattributedRounds.length} 个训练轮次查询的日志条目未注明所属训练（较早版本记录），见附录 A.${grouping.fits.length + 1} / ${grouping.unattributedRounds.length} round queries whose entries name no fit (logged by an earlier version) are listed in appendix A.${grouping.fits.length + 1}.</p>`;
  return (
    '<p class="note">每次模型训练在此列为一行；各轮次（每轮为一次加密查询，含同意、门限与发布证据）列于附录 A。 / One row per model fit; the evidence of its rounds (each an encrypted query with its own consent, thresholds and release) is in appendix A.</p>' +
    table(
      ['训练 fit', '类型 kind', '用途 purpose', '轮次 rounds', '结果 outcome', '商家 shops', '模型摘要 model digest', '发现 findings', '证据 evidence'],
      rows,
      { className: 'wide', widths: [13, 12, 11, 11, 16, 8, 14, 8, 7] },
    ) +
    unattributed
  );
}

/** A round as two rows kept together: its figures, then its spec and release digests across the table. */
function roundRows(round: number | null, q: QueryEvidence): string {
  const excluded = Object.values(q.excludedByReason).reduce((s, n) => s + n, 0);
  const cells: Cell[] = [
    round,
    q.queryId,
    q.kind,
    q.status === 'failed' ? `failed: ${q.failureReason ?? ''}` : q.status,
    time(q.createdAt),
    q.merchants.length,
    `${q.subjectsIncluded} / ${excluded}`,
    q.thresholds === null ? null : `${q.thresholds.minMerchants} / ${q.thresholds.minSubjects}`,
    q.suppressedCells.length === 0 ? '0' : [...q.suppressedCells, ...q.suppressionReasons],
    noiseText(q.release?.noise ?? null) ?? '无 none',
    q.findings.length === 0 ? '无 none' : q.findings,
    seqRanges(q.evidenceSeqs),
  ];
  const digest = (label: string, hex: string | null): string =>
    `${escapeHtml(label)} <span class="mono hex">${hex === null ? '—' : escapeHtml(hex)}</span>`;
  return `<tbody><tr class="figures">${cells.map(cell).join('')}</tr>\n` +
    `<tr class="digests"><td colspan="${ROUND_HEADERS.length}">${digest('规格摘要 spec digest', q.specDigest)}<br>${digest('发布摘要 release digest', q.release?.releaseDigest ?? null)}</td></tr></tbody>`;
}

const ROUND_HEADERS = ['轮 round', '查询 query', '类型 kind', '状态 status', '创建 created', '商家 shops', '主体 in / out', 'm / k', '抑制 suppressed', '噪声 noise', '发现 findings', '条目 seq'];
const ROUND_WIDTHS = [5, 12, 12, 7, 17, 5, 8, 5, 8, 7, 7, 7];

function roundsTable(rows: readonly string[]): string {
  const cols = ROUND_WIDTHS.map((w) => `<col style="width:${w}%">`).join('');
  const head = ROUND_HEADERS.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<table class="rounds"><colgroup>${cols}</colgroup><thead><tr>${head}</tr></thead>\n${rows.join('\n')}\n</table>`;
}

/** Appendix A: per fit, a table of its rounds (one row per round query); then the rounds of no named fit. */
export function fitAppendix(grouping: FitGrouping): string {
  const parts = grouping.fits.map((f, i) => {
    const head = fitAppendixHead(f, i + 1);
    return (
      `<h3 id="${escapeHtml(head.id)}">${escapeHtml(head.zh)} <span class="en">${escapeHtml(head.en)}</span></h3>\n` +
      `<p class="note">用途 purpose: ${escapeHtml(f.purpose ?? '—')}；训练条目 fit entries (seq): ${escapeHtml(seqRanges(f.seqs) || '—')}. 主体 in / out：该轮纳入 / 排除的主体数 subjects included / excluded in the round; m / k：商家数 / 主体数门限 minimum merchants / subjects.</p>\n` +
      (f.rounds.length === 0 ? '<p class="none">本报告范围内无该训练的轮次查询 / no round query of this fit in the range</p>' : roundsTable(f.rounds.map((r) => roundRows(r.round, r.query))))
    );
  });
  if (grouping.unattributedRounds.length > 0) {
    const head = fitAppendixHead(null, grouping.fits.length + 1);
    parts.push(
      `<h3 id="${escapeHtml(head.id)}">${escapeHtml(head.zh)} <span class="en">${escapeHtml(head.en)}</span></h3>\n` +
      roundsTable(grouping.unattributedRounds.map((q) => roundRows(null, q))),
    );
  }
  return parts.length === 0 ? '<p class="none">无模型训练 / no model fits</p>' : parts.join('\n');
}
