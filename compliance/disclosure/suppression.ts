/**
 * Primary and secondary cell suppression.
 *
 * Primary: a cell is withheld when it has fewer than k subjects, or when one
 * merchant may hold more than p % of its magnitude (dominance).
 *
 * Secondary: withheld cells must not be recoverable from what is released.
 * A query kind declares its margins, the linear relations a reader can use
 * (`CellMargin`: parts that add up to a released total cell, or to figures
 * published elsewhere, such as the attested subject total or another
 * grouping of the same population). Within one relation a reader can derive
 * the sum of the withheld cells, never less. Hence the rule, per relation:
 * either no cell of it is withheld, or at least two non-empty ones are and
 * together they hold at least k subjects, so what the reader can derive is
 * itself a group the k rule would release. Cells without subjects are
 * withheld by the k rule but need no complement: deriving an empty cell
 * reveals nobody.
 *
 * Choice of complements: for a relation broken by a small cell, the
 * smallest non-empty released part (least information lost); for one broken
 * by a dominated cell, the part with the largest magnitude, which dilutes
 * the dominant merchant's share of the derivable sum the most; the total
 * cell last. The derivable sum is not itself held to the dominance rule:
 * with the bins' conservative bounds that would withhold whole tables
 * whenever one merchant dominates the largest group. The residual risk is
 * that the sum of the withheld cells, learnable from another grouping of
 * the same population, is dominated by that merchant.
 *
 * This is exact for relations whose parts are disjoint (one-dimensional
 * tables such as segment rows or histogram bins under their `all` cell).
 * When parts overlap (a customer in two bins) the subject sum overstates the
 * distinct subjects of the withheld union. Where relations cross (RFM tiers
 * and score marginals) a reader may combine several; after the rule holds
 * in every relation, a linear audit (`linear-audit.ts`) looks for withheld
 * non-empty cells the relations determine together, and withholds one more
 * complement for each (smallest released non-empty cell sharing a relation
 * with it) until none is left or nothing more can be withheld. That makes
 * every withheld cell underivable from the declared relations; it does not
 * hold the derivable combinations to k, which the hypercube method would.
 *
 * @module
 */
import { violatesDominance, type DominanceFacts } from './dominance.js';
import { determinedUnknowns } from './linear-audit.js';

/** Why a cell was withheld. */
export const SUPPRESSION_REASONS = ['FEWER_THAN_K_SUBJECTS', 'DOMINANCE', 'SECONDARY', 'LEVELS_COLLIDE'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** What the suppression decision needs about one cell. */
export interface CellFacts {
  readonly name: string;
  /** Subjects behind the cell (noisy under a DP purpose). */
  readonly subjects: bigint;
  /** Present when the cell declares a dominance field. */
  readonly dominance?: DominanceFacts;
  /** A group inside the cell holds 1..k-1 subjects (a model's rule, model-rules.ts): withheld like a small cell. */
  readonly smallGroupInside?: boolean;
  /**
   * The cell's totals are not what it claims (a query kind's `cellIntegrity`,
   * e.g. a category-levels bucket holding two levels): withheld
   * (`LEVELS_COLLIDE`) whatever its subjects, and protected like a small cell.
   */
  readonly failsIntegrity?: boolean;
}

export interface SuppressionRules {
  readonly minSubjects: number;
  readonly dominance: { readonly maxSharePercent: number } | null;
}

/** A relation between cells (see `CellMargin` in analytics). */
export interface MarginRelation {
  readonly parts: readonly string[];
  readonly total?: string;
}

/** Withheld non-empty members of a relation. */
function withheldPeople(relation: MarginRelation, byName: ReadonlyMap<string, CellFacts>, out: ReadonlyMap<string, SuppressionReason>): CellFacts[] {
  const members = [...relation.parts, ...(relation.total === undefined ? [] : [relation.total])];
  return members.filter((n) => out.has(n)).map((n) => byName.get(n) as CellFacts).filter((c) => c.subjects > 0n);
}

/** True when the withheld cells of `relation` cannot be told apart from the rest. */
function relationHolds(relation: MarginRelation, byName: ReadonlyMap<string, CellFacts>, out: ReadonlyMap<string, SuppressionReason>, k: bigint): boolean {
  const withheld = withheldPeople(relation, byName, out);
  if (withheld.length === 0) return true;
  if (withheld.length < 2) return false;
  if (relation.total !== undefined && out.has(relation.total)) return true; // the total is unknown too: only released parts follow
  return withheld.reduce((s, c) => s + c.subjects, 0n) >= k;
}

/**
 * Which cells to withhold and why; cells not in the map are released.
 * Deterministic: ties in size are broken by input order. Relations naming
 * unknown cells throw RangeError naming the cell.
 */
export function decideSuppression(cells: readonly CellFacts[], rules: SuppressionRules, margins: readonly MarginRelation[] = []): Map<string, SuppressionReason> {
  if (!Array.isArray(cells)) throw new TypeError('cells: expected an array of CellFacts');
  if (!Number.isSafeInteger(rules?.minSubjects) || rules.minSubjects < 1) throw new RangeError('rules.minSubjects: expected an integer >= 1');
  if (!Array.isArray(margins)) throw new TypeError('margins: expected an array of relations');
  const byName = new Map(cells.map((c) => [c.name, c]));
  for (const [i, m] of margins.entries()) {
    for (const n of [...m.parts, ...(m.total === undefined ? [] : [m.total])]) {
      if (!byName.has(n)) throw new RangeError(`margins[${i}]: unknown cell ${n}`);
    }
  }
  const k = BigInt(rules.minSubjects);
  const out = new Map<string, SuppressionReason>();
  for (const c of cells) {
    if (c.subjects < k || c.smallGroupInside === true) out.set(c.name, 'FEWER_THAN_K_SUBJECTS');
    else if (c.failsIntegrity === true) out.set(c.name, 'LEVELS_COLLIDE');
    else if (rules.dominance && c.dominance && violatesDominance(c.dominance, rules.dominance.maxSharePercent)) out.set(c.name, 'DOMINANCE');
  }
  const order = new Map(cells.map((c, i) => [c.name, i]));
  const first = (a: CellFacts, b: CellFacts): boolean => (order.get(a.name) as number) < (order.get(b.name) as number);
  const smallest = (a: CellFacts, b: CellFacts): CellFacts => (a.subjects < b.subjects || (a.subjects === b.subjects && first(a, b)) ? a : b);
  const magnitude = (c: CellFacts): bigint => c.dominance?.total ?? 0n;
  const largest = (a: CellFacts, b: CellFacts): CellFacts => (magnitude(a) > magnitude(b) || (magnitude(a) === magnitude(b) && smallest(a, b) === a) ? a : b);
  const eachRelation = (): void => {
    for (let changed = true; changed; ) {
      changed = false;
      for (const relation of margins) {
        if (relationHolds(relation, byName, out, k)) continue;
        const dominated = withheldPeople(relation, byName, out).some((c) => out.get(c.name) === 'DOMINANCE');
        let candidates: CellFacts[] = relation.parts.filter((n: string) => !out.has(n)).map((n: string) => byName.get(n) as CellFacts);
        if (candidates.some((c) => c.subjects > 0n)) candidates = candidates.filter((c) => c.subjects > 0n);
        let next: string | undefined;
        if (candidates.length > 0) next = candidates.reduce(dominated ? largest : smallest).name;
        else if (relation.total !== undefined && !out.has(relation.total)) next = relation.total;
        if (next === undefined) continue; // everything in the relation is already withheld
        out.set(next, 'SECONDARY');
        changed = true;
      }
    }
  };
  eachRelation();
  // Relations combined: withhold one more complement per determined cell until none is left.
  if (margins.length < 2) return out;
  const released = (names: readonly string[]): CellFacts[] => names.filter((n) => !out.has(n)).map((n) => byName.get(n) as CellFacts).filter((c) => c.subjects > 0n);
  /** The complement for a determined cell: the smallest released non-empty part sharing a relation with it, else such a total. */
  const complementOf = (target: CellFacts): CellFacts | undefined => {
    const sharing = margins.filter((m) => m.parts.includes(target.name) || m.total === target.name);
    let candidates = released(sharing.flatMap((m) => m.parts));
    if (candidates.length === 0) candidates = released(sharing.flatMap((m) => (m.total === undefined ? [] : [m.total])));
    return candidates.length === 0 ? undefined : candidates.reduce(out.get(target.name) === 'DOMINANCE' ? largest : smallest);
  };
  for (;;) {
    const unknowns = cells.filter((c) => out.has(c.name)).map((c) => c.name);
    const determined = determinedUnknowns(unknowns, margins).map((n) => byName.get(n) as CellFacts).filter((c) => c.subjects > 0n);
    const next = determined.map(complementOf).find((c) => c !== undefined);
    if (next === undefined) return out; // none determined, or nothing left to withhold next to them
    out.set(next.name, 'SECONDARY');
    eachRelation();
  }
}
