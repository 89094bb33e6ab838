/**
 * Shared fixtures of the disclosure tests: decrypted totals of a segment
 * query over synthetic shops (summed exactly as the key holder would after
 * decryption), a release document around an engine outcome, and a checker
 * that a withheld value is not a linear combination of what is known.
 */
import { loadShopData } from '../../../client-sdk/index.js';
import {
  getQueryDefinition,
  type AnyQueryDefinition,
  type ReleaseDocument,
  type SegmentStatsSpec,
  type ShopData,
} from '../../../analytics/index.js';
import { formatRho, zcdpToEpsilon, unitsToRho, type DisclosureOutcome, type EffectivePolicy } from '../../../compliance/index.js';
import { makeShops, type SynthShops } from '../../../harness/shops.js';

export const segmentQuery: AnyQueryDefinition = getQueryDefinition('segment-stats');

/** Bounds that hold for the synthetic shops (at most 50 orders per customer, under 5000 yuan, gaps under a year). */
export const DP_SEGMENT_SPEC = {
  kind: 'segment-stats',
  purpose: 'marketing-analytics',
  groupBy: 'lifecycle_stage',
  bounds: { maxOrdersPerCustomer: 60, maxOrderCents: 500_000, horizonSeconds: 400 * 86_400 },
} as const;

export interface ShopTotals {
  readonly shops: SynthShops;
  readonly data: ShopData[];
  readonly spec: SegmentStatsSpec;
  /** Per shop, field name → its value (the plaintext a shop would encrypt). */
  readonly perShop: Map<string, bigint>[];
  /** Field name → the sum over shops (what the key holder decrypts). */
  readonly totals: Map<string, bigint>;
}

/** Synthetic shops, their local vectors (dominance bins included) and the decrypted totals. */
export async function segmentTotals(seed: string, specJson: unknown = DP_SEGMENT_SPEC, shopCount = 3): Promise<ShopTotals> {
  const shops = await makeShops(shopCount, seed);
  const data = await Promise.all(shops.shopDirs.map((s) => loadShopData(s.dir, s.shopId)));
  const spec = segmentQuery.parseSpec(specJson) as SegmentStatsSpec;
  const names = segmentQuery.fields(spec).map((f) => f.name);
  const perShop = data.map((d) => {
    const values = segmentQuery.computeLocal(spec, d);
    return new Map(names.map((n, i) => [n, values[i] as bigint]));
  });
  const totals = new Map(names.map((n) => [n, perShop.reduce((s, m) => s + (m.get(n) as bigint), 0n)]));
  return { shops, data, spec, perShop, totals };
}

/** The release document the key holder would sign around an engine outcome. */
export function documentOf(outcome: DisclosureOutcome, policy: EffectivePolicy, spentUnits = outcome.dp?.rhoUnits ?? 0n): ReleaseDocument {
  const dp = outcome.dp;
  return {
    version: 1,
    queryId: 'q-test',
    kind: 'segment-stats',
    specDigest: '00',
    paramSet: 'test',
    keyId: '00',
    merchants: ['a', 'b', 'c'],
    contributionDigests: [],
    aggregateDigest: '00',
    policy: { minMerchants: policy.minMerchants, minSubjects: policy.minSubjects },
    attestedSubjects: outcome.attestedSubjects,
    cells: outcome.cells,
    releasedAt: new Date(0).toISOString(),
    disclosure: {
      purpose: policy.purpose,
      mode: policy.noise.mode,
      dominance: policy.dominance,
      dp: dp && policy.noise.mode === 'dp'
        ? {
            mechanism: dp.mechanism,
            confidence: dp.confidence,
            delta: dp.delta,
            rho: formatRho(dp.rhoUnits),
            epsilon: dp.epsilon,
            rhoSpent: formatRho(spentUnits),
            rhoTotal: formatRho(policy.noise.totalRhoUnits),
            epsilonSpent: zcdpToEpsilon(unitsToRho(spentUnits), dp.delta),
            attestedSubjectsNoise: dp.attestedSubjectsNoise,
          }
        : null,
    },
  };
}

/**
 * Unknowns the reader can determine. Unknowns are (withheld cell, field)
 * pairs; each relation says that, for every field, the values of its cells
 * add up to a known figure (a released total cell, or a total published
 * elsewhere: the attested subject count, another grouping). An unknown is
 * determined exactly when its unit vector lies in the row space of the
 * relations restricted to the unknowns (ranks compared by exact elimination).
 */
export function determinedCells(cellNames: readonly string[], withheld: ReadonlySet<string>, relations: readonly { parts: readonly string[]; total?: string }[]): string[] {
  const unknowns = cellNames.filter((c) => withheld.has(c));
  const rows: bigint[][] = [];
  for (const r of relations) {
    // parts − total = 0; released members move to the right-hand side.
    const row = unknowns.map((u) => (r.parts.includes(u) ? 1n : 0n) - (r.total === u ? 1n : 0n));
    if (row.some((v) => v !== 0n)) rows.push(row);
  }
  // Exact rank: integer elimination (a_i ← a_i·p − f·a_pivot), rows divided by their gcd to stay small.
  const gcd = (x: bigint, y: bigint): bigint => (y === 0n ? (x < 0n ? -x : x) : gcd(y, x % y));
  const rank = (m: bigint[][]): number => {
    const a = m.map((r) => [...r]);
    let rnk = 0;
    for (let col = 0; col < unknowns.length && rnk < a.length; col++) {
      const pivot = a.findIndex((r, i) => i >= rnk && r[col] !== 0n);
      if (pivot < 0) continue;
      [a[rnk], a[pivot]] = [a[pivot]!, a[rnk]!];
      for (let i = rnk + 1; i < a.length; i++) {
        if (a[i]![col] === 0n) continue;
        const p = a[rnk]![col]!;
        const f = a[i]![col]!;
        const next = a[i]!.map((v, j) => v * p - f * a[rnk]![j]!);
        const g = next.reduce(gcd, 0n);
        a[i] = g > 1n ? next.map((v) => v / g) : next;
      }
      rnk++;
    }
    return rnk;
  };
  const base = rank(rows);
  return unknowns.filter((_, j) => rank([...rows, unknowns.map((__, i) => (i === j ? 1n : 0n))]) === base);
}
