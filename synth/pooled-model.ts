/**
 * The plaintext pooled fit the demo prints beside the federated one (and
 * the logistic bench checks against): what a data scientist would get by
 * pooling every shop's consented, de-identified rows in one table and
 * running the same Newton–IRLS.
 */
import {
  accumulateMoments,
  featureRows,
  fitLinearModel,
  linearModelLayout,
  momentFields,
  linearModelRows,
  newtonStep,
  parseLinearModelSpec,
  type LinearModelResult,
  type CustomerFeature,
  type CustomerLabel,
  type FeatureRow,
  type LogisticRoundResult,
} from '../analytics/index.js';
import { DEFAULT_PURPOSE_REGISTRY, getPurpose } from '../compliance/index.js';
import { loadShopCompliance, loadShopData, roundView } from '../client-sdk/index.js';

export async function pooledFeatureRows(
  shopDirs: readonly { shopId: string; dir: string; stateDir?: string }[],
  purposeName: string,
  features: readonly CustomerFeature[],
  label: CustomerLabel,
  split: { holdoutPercent: number; part: 'train' | 'holdout' | 'all' },
): Promise<FeatureRow[]> {
  const purpose = getPurpose(DEFAULT_PURPOSE_REGISTRY, purposeName);
  const rows: FeatureRow[] = [];
  for (const s of shopDirs) {
    const data = await loadShopData(s.dir, s.shopId);
    const compliance = await loadShopCompliance(s.dir, { stateDir: s.stateDir });
    const filter = compliance.ledger.filterForRound({ purpose, cutoff: new Date(), customerIds: data.customers.map((c) => c.customerId) });
    rows.push(...featureRows(roundView(data, filter.includedCustomerIds, purpose, compliance.pseudonymKey), features, label, split));
  }
  return rows;
}

/** Gradient and Hessian of the log-likelihood over `rows` at `beta`, in plain floating point. */
export function pooledRound(rows: readonly FeatureRow[], beta: readonly number[]): LogisticRoundResult {
  const d = beta.length;
  const gradient = new Array<number>(d).fill(0);
  const hessian = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  let logLikelihood = 0;
  for (const r of rows) {
    const p = 1 / (1 + Math.exp(-r.x.reduce((s, v, j) => s + v * beta[j]!, 0)));
    logLikelihood += r.y === 1 ? Math.log(p) : Math.log(1 - p);
    for (let j = 0; j < d; j++) {
      gradient[j]! += r.x[j]! * (r.y - p);
      for (let k = 0; k < d; k++) hessian[j]![k]! += p * (1 - p) * r.x[j]! * r.x[k]!;
    }
  }
  return { n: rows.length, logLikelihood, gradient, hessian };
}

/** Pooled Newton–IRLS from β = 0 with the same stopping rule. */
export function pooledLogisticFit(rows: readonly FeatureRow[], d: number, l2: readonly number[], tolerance = 1e-8, maxRounds = 25): { beta: number[]; rounds: number } {
  let beta = new Array<number>(d).fill(0);
  for (let round = 1; round <= maxRounds; round++) {
    const step = newtonStep(beta, pooledRound(rows, beta), l2);
    beta = beta.map((b, j) => b + step[j]!);
    if (Math.max(...step.map(Math.abs)) < tolerance) return { beta, rounds: round };
  }
  return { beta, rounds: maxRounds };
}

/**
 * The formula model on every shop's consented, de-identified rows pooled in
 * one table: the same design rows, their moments summed in one place.
 */
export async function pooledLinearModel(shopDirs: readonly { shopId: string; dir: string; stateDir?: string }[], specJson: Record<string, unknown>): Promise<LinearModelResult> {
  const spec = parseLinearModelSpec({ kind: 'linear-model', ...specJson });
  const purpose = getPurpose(DEFAULT_PURPOSE_REGISTRY, spec.purpose);
  const rows: number[][] = [];
  for (const s of shopDirs) {
    const data = await loadShopData(s.dir, s.shopId);
    const compliance = await loadShopCompliance(s.dir, { stateDir: s.stateDir });
    const filter = compliance.ledger.filterForRound({ purpose, cutoff: new Date(), customerIds: data.customers.map((c) => c.customerId) });
    rows.push(...linearModelRows(spec, roundView(data, filter.includedCustomerIds, purpose, compliance.pseudonymKey)));
  }
  const layout = linearModelLayout(spec);
  const values = accumulateMoments(layout, rows);
  return fitLinearModel(spec, Object.fromEntries(momentFields(layout).map((f, i) => [f.name, values[i] as bigint])));
}
