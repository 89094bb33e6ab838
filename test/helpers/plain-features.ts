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
  const group = <T extends { readonly customerId: string }>(list: readonly T[]): Map<string, T[]> => {
    const m = new Map<string, T[]>();
    for (const x of list) {
      const l = m.get(x.customerId);
      if (l === undefined) m.set(x.customerId, [x]);
      else l.push(x);
    }
    return m;
  };
  const ordersOf = group(data.orders.filter((o) => o.orderedUnixS < asOfS));
  const sessionsOf = group(data.sessions ?? []);
  const rows: number[][] = [];
  for (const c of data.customers) {
    const orders = ordersOf.get(c.customerId) ?? [];
    const sessions = sessionsOf.get(c.customerId) ?? [];
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
    if (row.every((v) => v !== undefined)) rows.push(row);
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

/**
 * Independent pooled least-squares fit of rows [features…, target]: two-pass
 * centred (or raw, without intercept) normal equations with λ·D² added
 * (D = population sd with `standardise`, else I), solved by Gaussian
 * elimination. Null when the system is near-singular.
 */
export function plainLinearFit(rows: readonly (readonly number[])[], p: number, intercept: boolean, lambda: number, standardise: boolean): { beta: number[]; b0: number | null } | null {
  const n = rows.length;
  const mean = Array.from({ length: p + 1 }, (_, j) => (intercept ? rows.reduce((s, r) => s + r[j]!, 0) / n : 0));
  const c = (a: number, b: number) => rows.reduce((s, r) => s + (r[a]! - mean[a]!) * (r[b]! - mean[b]!), 0);
  const k = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => c(a, b)));
  const d2 = k.map((row, j) => (standardise ? row[j]! / n : 1));
  const a = k.map((row, i) => row.map((v, j) => (i === j ? v + lambda * d2[i]! : v)));
  const diag = Math.max(...a.map((row, i) => Math.abs(row[i]!)));
  const beta = gaussSolve(a, Array.from({ length: p }, (_, j) => c(j, p)), 1e-7 * diag);
  if (beta === null) return null;
  return { beta, b0: intercept ? mean[p]! - beta.reduce((s, x, j) => s + x * mean[j]!, 0) : null };
}

/** Sample covariance (n − 1), or the correlation matrix, of rows, two-pass. */
export function plainCovariance(rows: readonly (readonly number[])[], correlation: boolean): number[][] {
  const n = rows.length;
  const p = rows[0]?.length ?? 0;
  const mean = Array.from({ length: p }, (_, j) => rows.reduce((s, r) => s + r[j]!, 0) / n);
  const cov = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => rows.reduce((s, r) => s + (r[a]! - mean[a]!) * (r[b]! - mean[b]!), 0) / (n - 1)));
  return correlation ? cov.map((row, a) => row.map((v, b) => v / Math.sqrt(cov[a]![a]! * cov[b]![b]!))) : cov;
}

/** Eigenvalues of a symmetric positive semi-definite matrix by power iteration with Hotelling deflation, decreasing. */
export function powerEigenvalues(m: readonly (readonly number[])[]): number[] {
  const n = m.length;
  const a = m.map((r) => [...r]);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    let v = Array.from({ length: n }, (_, i) => 1 + i / 7);
    let lambda = 0;
    for (let it = 0; it < 50_000; it++) {
      const w = a.map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      const next = w.map((x) => x / norm);
      const rq = next.reduce((s, x, i) => s + x * a[i]!.reduce((t, y, j) => t + y * next[j]!, 0), 0);
      v = next;
      const done = Math.abs(rq - lambda) <= 1e-16 * Math.abs(rq) && it > 10;
      lambda = rq;
      if (done) break;
    }
    out.push(lambda);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i]![j]! -= lambda * v[i]! * v[j]!;
  }
  return out.sort((x, y) => y - x);
}
