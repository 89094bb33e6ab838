/**
 * What the key holder needs to know about `rfm` for secondary suppression:
 * the relations between its cells.
 *
 * Every customer in the table (one with an order in the window) is in
 * exactly one (R, F, M) cell and in exactly one tier, and the cell's
 * customers, orders and spend are theirs. So, field by field:
 *
 * - `core` is the sum of the cells meeting the core rule, `ordinary` the sum
 *   of the others: two relations with a total in the same release;
 * - core + ordinary, and the sum of all cells, is the table's grand total,
 *   which every RFM query over the same window publishes (as its two tiers),
 *   whatever its core rule or edges: two relations whose total is published
 *   elsewhere;
 * - the score marginals (all cells with R = r, with F = f, with M = m) are
 *   tiers or complements of tiers of RFM queries with other core rules (the
 *   top and bottom score directly, the others as the difference of two),
 *   so each is a relation whose total is published elsewhere.
 *
 * The relations are protected one by one, which blocks every single
 * subtraction but is not a full three-dimensional audit. Nor can it stop a
 * reader who asks the same table under several core rules: the tiers of
 * eight rules around a cell give that cell by inclusion–exclusion. Only a
 * DP purpose bounds that (docs/disclosure-control.md).
 *
 * @module
 */
import type { CellMargin } from './query-definition.js';
import { isCore, rfmCellName, rfmTriples, type RfmSpec } from './rfm-spec.js';

/** Tiers over their cells, the grand total, and the score marginals. */
export function rfmMargins(spec: RfmSpec): readonly CellMargin[] {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('spec: expected a parsed rfm spec');
  const triples = rfmTriples(spec);
  const names = (keep: (t: readonly [number, number, number]) => boolean): string[] => triples.filter(keep).map(([r, f, m]) => rfmCellName(r, f, m));
  const core = names(([r, f, m]) => isCore(spec, r, f, m));
  const ordinary = names(([r, f, m]) => !isCore(spec, r, f, m));
  const out: CellMargin[] = [{ parts: core, total: 'core' }];
  // With every score at its minimum, every cell is core and `ordinary` is always empty.
  if (ordinary.length > 0) out.push({ parts: ordinary, total: 'ordinary' });
  out.push({ parts: ['core', 'ordinary'] }, { parts: names(() => true) });
  for (let d = 0; d < 3; d++) {
    const scores = new Set(triples.map((t) => t[d] as number));
    for (const s of scores) out.push({ parts: names((t) => t[d] === s) });
  }
  return out;
}
