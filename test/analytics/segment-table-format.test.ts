import { describe, expect, it } from 'vitest';
import { formatSegmentTable, largestRelativeDifference, type SegmentStatsTable } from '../../analytics/index.js';
import { displayWidth } from '../../analytics/segment-table-format.js';
import type { SegmentStatsRow } from '../../analytics/segment-table.js';

const row = (stage: SegmentStatsRow['stage'], mean: number | null, suppressed = false): SegmentStatsRow => ({
  stage,
  suppressed,
  customers: suppressed ? null : 120,
  repeatCustomers: suppressed ? null : 60,
  orders: suppressed ? null : 300,
  repurchaseRate: suppressed ? null : 0.5,
  orderValueMean: suppressed ? null : mean,
  orderValueVariance: suppressed ? null : 4321.5,
  meanDaysBetweenOrders: suppressed ? null : 17.25,
});

const released: SegmentStatsTable = { rows: [row('new', 100, true), row('active', 120), row('loyal', 150), row('churning', null)] };
const pooled: SegmentStatsTable = { rows: [row('new', 99), row('active', 120), row('loyal', 150.0003), row('churning', null)] };

describe('formatSegmentTable', () => {
  it('prints bilingual labels, a released and a pooled line per stage, and the largest difference', () => {
    const text = formatSegmentTable(released, pooled);
    const lines = text.split('\n');
    expect(lines).toHaveLength(2 + 4 * 2 + 1);
    for (const label of ['新客', '活跃', '忠诚', '流失', '复购率', '购买间隔']) expect(text).toContain(label);
    expect(lines[2]).toMatch(/^new 新客\s+released\s+suppressed$/);
    expect(lines[4]).toMatch(/^active 活跃\s+released\s+120\s+50\.00%\s+120\.00\s+4321\.50\s+17\.25$/);
    expect(lines.at(-1)).toMatch(/largest relative difference.*2\.00e-6 \(loyal orderValueMean\)/);
  });

  it('aligns columns by display width, counting CJK as two columns', () => {
    const lines = formatSegmentTable(released, pooled).split('\n').slice(0, -1);
    const widths = new Set(lines.filter((l) => /\d$/.test(l)).map(displayWidth));
    expect(widths.size).toBe(1);
    expect(displayWidth('忠诚 ab')).toBe(7);
  });

  it('prints only released lines without a pooled table', () => {
    const lines = formatSegmentTable(released).split('\n');
    expect(lines).toHaveLength(2 + 4);
    expect(lines.some((l) => l.includes('pooled'))).toBe(false);
  });

  it('compares only what both tables define', () => {
    expect(largestRelativeDifference(released, released)?.value).toBe(0);
    expect(largestRelativeDifference({ rows: [row('new', null, true)] }, pooled)).toBeNull();
    expect(() => formatSegmentTable({} as SegmentStatsTable)).toThrow(/released/);
  });
});
