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
 * either no cell of it is withheld, or at least two are, and the withheld
 * parts together pass the primary rules themselves: at least k subjects and
 * no merchant above p % of their combined magnitude (bounded by the sum of
 * the cells' largest-contribution bounds). Cells without subjects are
 * withheld by the k rule but need no complement: deriving an empty cell
 * reveals nobody. Complementary cells are added
 * smallest first (fewest subjects, so the least information is lost), the
 * total cell last, until every relation holds.
 *
 * This is exact for relations whose parts are disjoint (one-dimensional
 * tables such as segment rows or histogram bins under their `all` cell).
 * When parts overlap (a customer in two bins) the subject sum overstates the
 * distinct subjects of the withheld union. Cross-tabulations with row and
 * column relations are protected relation by relation, which blocks single
 * differences but is not the full hypercube method.
 *
 * @module
 */
import { violatesDominance, type DominanceFacts } from './dominance.js';

/** Why a cell was withheld. */
export const SUPPRESSION_REASONS = ['FEWER_THAN_K_SUBJECTS', 'DOMINANCE', 'SECONDARY'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** What the suppression decision needs about one cell. */
export interface CellFacts {
  readonly name: string;
  /** Subjects behind the cell (noisy under a DP purpose). */
  readonly subjects: bigint;
  /** Present when the cell declares a dominance field. */
  readonly dominance?: DominanceFacts;
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

function partsPass(parts: readonly CellFacts[], rules: SuppressionRules): boolean {
  const subjects = parts.reduce((s, c) => s + c.subjects, 0n);
  if (subjects < BigInt(rules.minSubjects)) return false;
  if (rules.dominance) {
    const withFacts = parts.filter((c) => c.dominance !== undefined).map((c) => c.dominance as DominanceFacts);
    if (withFacts.length > 0) {
      const union: DominanceFacts = {
        total: withFacts.reduce((s, d) => s + d.total, 0n),
        largestUpper: withFacts.reduce((s, d) => s + d.largestUpper, 0n),
      };
      if (violatesDominance(union, rules.dominance.maxSharePercent)) return false;
    }
  }
  return true;
}

/** True when the withheld cells of `relation` cannot be told apart from the rest. */
function relationHolds(relation: MarginRelation, byName: ReadonlyMap<string, CellFacts>, out: ReadonlyMap<string, SuppressionReason>, rules: SuppressionRules): boolean {
  const members = [...relation.parts, ...(relation.total === undefined ? [] : [relation.total])];
  // An empty cell is withheld by the k rule, but deriving it reveals nobody: it needs no complement.
  const withheld = members.filter((n) => out.has(n) && (byName.get(n) as CellFacts).subjects > 0n);
  if (withheld.length === 0) return true;
  if (withheld.length < 2) return false;
  if (relation.total !== undefined && out.has(relation.total)) return true; // the total is unknown too: only released parts follow
  return partsPass(withheld.map((n) => byName.get(n) as CellFacts), rules);
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
    if (c.subjects < k) out.set(c.name, 'FEWER_THAN_K_SUBJECTS');
    else if (rules.dominance && c.dominance && violatesDominance(c.dominance, rules.dominance.maxSharePercent)) out.set(c.name, 'DOMINANCE');
  }
  const order = new Map(cells.map((c, i) => [c.name, i]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const relation of margins) {
      if (relationHolds(relation, byName, out, rules)) continue;
      const parts: CellFacts[] = relation.parts.filter((n: string) => !out.has(n)).map((n: string) => byName.get(n) as CellFacts);
      const smaller = (c: CellFacts, best: CellFacts): boolean =>
        c.subjects < best.subjects || (c.subjects === best.subjects && (order.get(c.name) as number) < (order.get(best.name) as number));
      const next: string | undefined = parts.length > 0
        ? parts.reduce((best: CellFacts, c: CellFacts) => (smaller(c, best) ? c : best)).name
        : relation.total !== undefined && !out.has(relation.total) ? relation.total : undefined;
      if (next === undefined) continue; // everything in the relation is already withheld
      out.set(next, 'SECONDARY');
      changed = true;
    }
  }
  return out;
}
