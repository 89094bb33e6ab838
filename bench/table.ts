/**
 * Plain-text rendering of the records and target outcomes.
 */
import type { BenchRecord } from './records.js';
import type { TargetOutcome } from './targets.js';

const numberFormat = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 });

export function formatValue(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  return numberFormat.format(value);
}

export function renderTable(records: readonly BenchRecord[], outcomes: readonly TargetOutcome[], title: string): string {
  const rows = records.filter((r) => !r.name.startsWith('target.')).map((r) => [r.name, formatValue(r.value), r.unit, r.note ?? '']);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => (row[c] as string).length)));
  const lines: string[] = [title, ''];
  let group = '';
  for (const row of rows) {
    const [name, value, unit, note] = row as [string, string, string, string];
    const g = name.split('.')[0] ?? '';
    if (g !== group && group !== '') lines.push('');
    group = g;
    lines.push(`${name.padEnd(widths[0] as number)}  ${value.padStart(widths[1] as number)}  ${unit.padEnd(widths[2] as number)}  ${note}`.trimEnd());
  }
  lines.push('', 'Targets');
  for (const { target, measured, pass } of outcomes) {
    lines.push(`  ${pass ? 'PASS' : 'MISS'}  ${target.description}: measured ${formatValue(measured)}`);
  }
  return lines.join('\n') + '\n';
}
