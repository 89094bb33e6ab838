/**
 * Console rendering of a released `segment-stats` table beside the pooled
 * plaintext answer, with bilingual labels, so a demo viewer can see at a
 * glance that the federated result is the pooled one.
 *
 * @module
 */
import type { SegmentGroupRow, SegmentStatsResult, SegmentStatsRow, SegmentStatsTable } from './segment-table.js';
import type { LifecycleStage } from './shop-data.js';

/** zh-CN console labels of the lifecycle stages. */
export const STAGE_LABELS_ZH: Readonly<Record<LifecycleStage, string>> = {
  new: '新客',
  active: '活跃',
  loyal: '忠诚',
  churning: '流失',
};

/** Terminal columns a string occupies: CJK and fullwidth forms take two. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6);
    w += wide ? 2 : 1;
  }
  return w;
}

function padStart(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text))) + text;
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

const COLUMNS = [
  { header: 'stage 阶段', width: 16 },
  { header: 'source', width: 9 },
  { header: 'customers 客户', width: 15 },
  { header: 'repurchase 复购率', width: 18 },
  { header: 'mean order ¥ 客单价', width: 20 },
  { header: 'variance ¥²', width: 16 },
  { header: 'days 购买间隔', width: 14 },
] as const;

function fmt(value: number | null, digits: number): string {
  return value === null ? '—' : value.toFixed(digits);
}

function line(cells: readonly string[]): string {
  return cells
    .map((c, i) => {
      const width = COLUMNS[i]?.width ?? 10;
      return i < 2 ? padEnd(c, width) : padStart(c, width);
    })
    .join(' ')
    .trimEnd();
}

function rowCells(label: string, source: string, r: SegmentStatsRow | SegmentGroupRow | undefined): string[] {
  if (r === undefined || r.suppressed) return [label, source, 'suppressed', '', '', '', ''];
  return [
    label,
    source,
    r.customers === null ? '—' : String(r.customers),
    r.repurchaseRate === null ? '—' : `${(r.repurchaseRate * 100).toFixed(2)}%`,
    fmt(r.orderValueMean, 2),
    fmt(r.orderValueVariance, 2),
    fmt(r.meanDaysBetweenOrders, 2),
  ];
}

const COMPARED = ['customers', 'repurchaseRate', 'orderValueMean', 'orderValueVariance', 'meanDaysBetweenOrders'] as const;

/**
 * Largest relative difference |a − b| / max(|a|, |b|) over all statistics that
 * both tables define (suppressed rows and nulls are skipped), with where it
 * occurred; `null` when nothing is comparable.
 */
export function largestRelativeDifference(
  released: SegmentStatsTable,
  pooled: SegmentStatsTable,
): { readonly value: number; readonly stage: LifecycleStage; readonly statistic: string } | null {
  let best: { value: number; stage: LifecycleStage; statistic: string } | null = null;
  for (const r of released.rows) {
    const p = pooled.rows.find((row) => row.stage === r.stage);
    if (p === undefined || r.suppressed || p.suppressed) continue;
    for (const stat of COMPARED) {
      const a = r[stat];
      const b = p[stat];
      if (a === null || b === null) continue;
      const scale = Math.max(Math.abs(a), Math.abs(b));
      const value = scale === 0 ? 0 : Math.abs(a - b) / scale;
      if (best === null || value > best.value) best = { value, stage: r.stage, statistic: stat };
    }
  }
  return best;
}

/**
 * Fixed-width table: for each stage a `released` line and, when `pooled` is
 * given, a `pooled` line under it and finally the largest relative
 * difference between the two. Without `pooled` (a real deployment has no
 * pooled data) only the released lines are printed. A table grouped by age
 * band or city level prints one released line per group (the pooled check
 * is by stage only).
 */
export function formatSegmentTable(released: SegmentStatsResult, pooled?: SegmentStatsTable): string {
  if (!Array.isArray(released?.rows as unknown)) throw new TypeError('released: expected a SegmentStatsTable');
  if (pooled !== undefined && !Array.isArray(pooled?.rows as unknown)) throw new TypeError('pooled: expected a SegmentStatsTable');
  if ('groupBy' in released) return formatGroupTable(released.groupBy, released.rows);
  const out: string[] = [line(COLUMNS.map((c) => c.header))];
  out.push('-'.repeat(COLUMNS.reduce((w, c) => w + c.width + 1, -1)));
  for (const r of released.rows) {
    const label = `${r.stage} ${STAGE_LABELS_ZH[r.stage]}`;
    out.push(line(rowCells(label, 'released', r)));
    if (pooled !== undefined) out.push(line(rowCells('', 'pooled', pooled.rows.find((p) => p.stage === r.stage))));
  }
  if (pooled === undefined) return out.join('\n');
  const diff = largestRelativeDifference(released, pooled);
  out.push(
    diff === null
      ? 'largest relative difference 最大相对误差: n/a (nothing comparable)'
      : `largest relative difference 最大相对误差: ${diff.value.toExponential(2)} (${diff.stage} ${diff.statistic})`,
  );
  return out.join('\n');
}

const GROUP_HEADERS = { age_band: 'age band 年龄段', city_level: 'city level 城市级别' } as const;

/** The same columns for a table grouped by age band or city level (no pooled comparison). */
function formatGroupTable(groupBy: keyof typeof GROUP_HEADERS, rows: readonly SegmentGroupRow[]): string {
  const out: string[] = [line([GROUP_HEADERS[groupBy], ...COLUMNS.slice(1).map((c) => c.header)])];
  out.push('-'.repeat(COLUMNS.reduce((w, c) => w + c.width + 1, -1)));
  for (const r of rows) out.push(line(rowCells(r.group, 'released', r)));
  return out.join('\n');
}
