/**
 * The pooled logistic regression the federated fits are compared with: the
 * shops' consented feature rows pooled as a data scientist would, and an
 * independent Newton–IRLS from β = 0 with Gaussian elimination.
 */
import { featureRows, type CustomerFeature, type FeatureRow } from '../../analytics/index.js';
import { DEFAULT_PURPOSE_REGISTRY, getPurpose } from '../../compliance/index.js';
import { loadShopCompliance, loadShopData, roundView } from '../../client-sdk/index.js';
import type { SynthShops } from '../../harness/shops.js';

/** The design matrix built by pooling the named shops' consented rows for churn-modelling. */
export async function pooledRows(shops: SynthShops, shopIds: readonly string[], features: readonly CustomerFeature[], part: 'train' | 'holdout' | 'all', holdoutPercent = 20): Promise<FeatureRow[]> {
  const purpose = getPurpose(DEFAULT_PURPOSE_REGISTRY, 'churn-modelling');
  const rows: FeatureRow[] = [];
  for (const s of shops.shopDirs.filter((d) => shopIds.includes(d.shopId))) {
    const data = await loadShopData(s.dir, s.shopId);
    const compliance = await loadShopCompliance(s.dir);
    const filter = compliance.ledger.filterForRound({ purpose, cutoff: new Date(), customerIds: data.customers.map((c) => c.customerId) });
    rows.push(...featureRows(roundView(data, filter.includedCustomerIds, purpose, compliance.pseudonymKey), [...features], 'churning', { holdoutPercent, part }));
  }
  return rows;
}

/** Independent pooled IRLS: Newton steps with Gaussian elimination, from β = 0. */
export function pooledLogistic(rows: readonly FeatureRow[], d: number): { beta: number[]; se: number[] } {
  let beta = new Array<number>(d).fill(0);
  let hessian: number[][] = [];
  for (let it = 0; it < 50; it++) {
    const g = new Array<number>(d).fill(0);
    hessian = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (const r of rows) {
      const p = 1 / (1 + Math.exp(-r.x.reduce((s, v, j) => s + v * beta[j]!, 0)));
      for (let j = 0; j < d; j++) {
        g[j]! += r.x[j]! * (r.y - p);
        for (let k = 0; k < d; k++) hessian[j]![k]! += p * (1 - p) * r.x[j]! * r.x[k]!;
      }
    }
    const step = solve(hessian, g);
    beta = beta.map((b, j) => b + step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-12) break;
  }
  const se = Array.from({ length: d }, (_, j) => Math.sqrt(solve(hessian, Array.from({ length: d }, (_, i) => (i === j ? 1 : 0)))[j]!));
  return { beta, se };
}

/** Solves a·x = b by Gauss–Jordan elimination with partial pivoting. */
export function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

export function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}
