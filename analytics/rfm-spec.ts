/**
 * The `rfm` spec's type and its cell geometry (score triples, cell names,
 * the core rule), apart from the query so that `rfm-disclosure.ts` can
 * build its margins without importing the query that uses them.
 *
 * @module
 */

/** Query kind string, also the `kind` member of the spec JSON. */
export const RFM_KIND = 'rfm';

/** Inclusive per-shop bounds that every field's `max` derives from. */
export interface RfmBounds {
  /** Consented customers of one shop in one cell. */
  readonly maxCustomers: bigint;
  /** Orders of one shop in one cell. */
  readonly maxOrders: bigint;
  /** Value of a single order, cents; a larger order is refused, not clamped. */
  readonly maxOrderCents: bigint;
}

/** The declared core-tier rule: minimum scores (1 = no condition). */
export interface RfmCoreRule {
  readonly minRecencyScore: number;
  readonly minFrequencyScore: number;
  readonly minMonetaryScore: number;
}

/** Parsed, normalised `rfm` spec. */
export interface RfmSpec {
  readonly kind: typeof RFM_KIND;
  readonly purpose: string;
  /** The instant the table is computed at (`YYYY-MM-DDTHH:MM:SSZ`); later orders do not exist for it. */
  readonly asOf: string;
  /** Orders in (asOf − windowDays, asOf] count. */
  readonly windowDays: number;
  /** Recency edges in days, increasing, each below windowDays. */
  readonly recencyEdgesDays: readonly number[];
  /** Frequency edges in orders, increasing, from 2 (everyone in the table has one order). */
  readonly frequencyEdges: readonly number[];
  /** Spend edges in cents, increasing. */
  readonly monetaryEdgesCents: readonly number[];
  readonly core: RfmCoreRule;
  /** Returned orders count neither as orders nor as spend nor as the last order. */
  readonly excludeReturned: boolean;
  readonly bounds: RfmBounds;
}

/** Number of R, F and M scores (buckets) of a spec. */
export function rfmScoreCounts(spec: RfmSpec): { readonly r: number; readonly f: number; readonly m: number } {
  return { r: spec.recencyEdgesDays.length + 1, f: spec.frequencyEdges.length + 1, m: spec.monetaryEdgesCents.length + 1 };
}

/** Cell name of a score triple, e.g. `r4f1m2`. */
export function rfmCellName(r: number, f: number, m: number): string {
  return `r${r}f${f}m${m}`;
}

/** Every (R, F, M) triple in layout order: R, then F, then M, each ascending. */
export function rfmTriples(spec: RfmSpec): [number, number, number][] {
  const n = rfmScoreCounts(spec);
  const out: [number, number, number][] = [];
  for (let r = 1; r <= n.r; r++) for (let f = 1; f <= n.f; f++) for (let m = 1; m <= n.m; m++) out.push([r, f, m]);
  return out;
}

/** True when the scores meet the spec's core rule. */
export function isCore(spec: RfmSpec, r: number, f: number, m: number): boolean {
  return r >= spec.core.minRecencyScore && f >= spec.core.minFrequencyScore && m >= spec.core.minMonetaryScore;
}
