/**
 * Customer features computed in plain code straight from pooled rows, for
 * checking model queries against an independent computation (nothing here
 * comes from analytics/features.ts). Rows with any undefined feature are
 * dropped, as the feature definitions say.
 */
import type { ShopData } from '../../analytics/index.js';

const DAY = 86_400;

/** Rows of the named features (supported: those used by the model tests). */
export function plainFeatureRows(data: ShopData, names: readonly string[], asOfS: number): number[][] {
  const rows: number[][] = [];
  for (const c of data.customers) {
    const orders = data.orders.filter((o) => o.customerId === c.customerId && o.orderedUnixS < asOfS);
    const sessions = (data.sessions ?? []).filter((s) => s.customerId === c.customerId);
    const row: Array<number | undefined> = names.map((n) => {
      switch (n) {
        case 'frequency':
          return orders.length;
        case 'monetary_yuan':
          return orders.reduce((s, o) => s + Number(o.amountCents), 0) / 100;
        case 'recency_days':
          return orders.length === 0 ? undefined : (asOfS - Math.max(...orders.map((o) => o.orderedUnixS))) / DAY;
        case 'tenure_days':
          return c.signupUnixS > asOfS ? undefined : (asOfS - c.signupUnixS) / DAY;
        case 'viewed_sessions':
          return sessions.filter((s) => s.viewed).length;
        case 'carted_sessions':
          return sessions.filter((s) => s.carted).length;
        default:
          if (n.startsWith('sessions:')) return sessions.filter((s) => s.channel === n.slice(9)).length;
          if (n.startsWith('lifecycle:')) return c.lifecycleStage === n.slice(10) ? 1 : 0;
          if (n.startsWith('age_band:')) return c.ageBand === n.slice(9) ? 1 : 0;
          throw new Error(`plainFeatureRows: ${n} is not supported`);
      }
    });
    if (row.every((v) => v !== undefined)) rows.push(row as number[]);
  }
  return rows;
}

/** Solves A x = b by Gaussian elimination with partial pivoting; returns null when a pivot is below `tiny`. */
export function gaussSolve(a: readonly (readonly number[])[], b: readonly number[], tiny = 1e-12): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[piv]![col]!)) piv = r;
    if (Math.abs(m[piv]![col]!) < tiny) return null;
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    for (let r = col + 1; r < n; r++) {
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let c = r + 1; c < n; c++) s -= m[r]![c]! * x[c]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}
