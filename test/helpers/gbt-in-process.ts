/**
 * A gradient-boosted-trees fit run in process through the kind's own
 * functions (gbtFitDefinition and the definitions of whatever rounds it
 * publishes): every round's spec travels through canonical JSON as the fit
 * runner publishes it, each shop computes its vector, the vectors are summed
 * as integers (the plaintext stand-in for the encrypted sum) and every cell
 * is released whole under k. Gives the model as the coordinator stores it
 * (its canonical JSON parsed back), for tests that need a real model without
 * a cluster.
 */
import { canonicalSpecJson } from '../../analytics/canonical-json.js';
import { gbtFitDefinition, parseGbtFitSpec, type GbtFitModel, type GbtFitSpec } from '../../analytics/gradient-boosted-trees.js';
import type { ReleasedTotals } from '../../analytics/query-definition.js';
import { getQueryDefinition } from '../../analytics/registry.js';
import type { ShopData } from '../../analytics/shop-data.js';
import { loadShopCompliance, loadShopData, roundView } from '../../client-sdk/index.js';
import { getPurpose } from '../../compliance/index.js';
import type { SynthShops } from '../../harness/shops.js';

export interface InProcessFit {
  readonly spec: GbtFitSpec;
  readonly model: GbtFitModel;
  readonly rounds: number;
}

/** Fits `specJson` (without `kind`) on `shops` (each already the view a round sees) under k. Throws when a round cannot be released. */
export function fitGbtInProcess(specJson: Record<string, unknown>, shops: readonly ShopData[], k: number): InProcessFit {
  const spec = parseGbtFitSpec(JSON.parse(canonicalSpecJson({ ...specJson, kind: 'gradient-boosted-trees' })));
  let state = gbtFitDefinition.initialState(spec);
  for (let round = 1; round < 1000; round++) {
    const q = gbtFitDefinition.roundQuery(spec, state, round, 'fit-in-process');
    const def = getQueryDefinition(q.kind);
    const roundSpec = def.parseSpec(JSON.parse(canonicalSpecJson({ ...q.spec, kind: q.kind })));
    const fields = def.fields(roundSpec).map((f) => f.name);
    const vectors = shops.map((shop) => def.computeLocal(roundSpec, shop));
    const totals = Object.fromEntries(fields.map((f, i) => [f, vectors.reduce((a, v) => a + (v[i] as bigint), 0n)]));
    const release: ReleasedTotals = {
      cells: Object.fromEntries(def.cells(roundSpec).map((c) => [c.name, { suppressed: false, totals: Object.fromEntries(c.fields.map((f) => [f, totals[f] as bigint])) }])),
      minSubjects: k,
    };
    const result = def.finalise(roundSpec, release);
    const next = gbtFitDefinition.advance(spec, JSON.parse(JSON.stringify(state)) as typeof state, result, round);
    if (next.done) return { spec, model: JSON.parse(canonicalSpecJson(next.model)) as GbtFitModel, rounds: round };
    state = next.state;
  }
  throw new Error('the fit did not end within 1000 rounds');
}

/** Each shop's data as a round of `purpose` sees it now: consented customers, pseudonymised, fields outside the purpose blanked. */
export async function consentedViews(shops: SynthShops, purpose: string): Promise<ShopData[]> {
  return Promise.all(
    shops.shopDirs.map(async (s) => {
      const data = await loadShopData(s.dir, s.shopId);
      const compliance = await loadShopCompliance(s.dir);
      const p = getPurpose(compliance.registry, purpose);
      const filter = compliance.ledger.filterForRound({ purpose: p, cutoff: new Date(), customerIds: data.customers.map((c) => c.customerId) });
      return roundView(data, filter.includedCustomerIds, p, compliance.pseudonymKey);
    }),
  );
}
