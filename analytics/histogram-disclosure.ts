/**
 * What the key holder needs to know about `histogram` for secondary
 * suppression: the relation between its cells.
 *
 * Every item (an order, or the gap before one) lies in exactly one bin, so
 * the bins' item counts add up to `all.items`, which the same release
 * publishes. With one bin withheld and the rest released, `all` minus the
 * released bins gives it back; hence one relation, the bins under `all`.
 *
 * Subjects do not add up the same way: a customer with items in two bins is
 * a subject of both, so `all.customers` is at most the bins' sum. The
 * relation is declared per cell, which protects the customer counts too;
 * the suppression engine's k test on a sum of bins overstates the distinct
 * customers behind it (see `compliance/disclosure/suppression.ts`).
 *
 * Not covered here: a second histogram of the same variable with other
 * edges. Nested bins (0–20 in one, 0–10 and 10–20 in another) give a
 * withheld bin back by subtraction across the two releases; the engine
 * protects each release's own relations only (docs/disclosure-control.md).
 *
 * @module
 */
import type { HistogramSpec } from './histogram-spec.js';
import type { CellMargin } from './query-definition.js';

/** The bins under their `all` cell. */
export function histogramMargins(spec: HistogramSpec): readonly CellMargin[] {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('spec: expected a parsed histogram spec');
  const bins = (spec.variable === 'order_value' ? spec.edgesCents : spec.edgesDays).length - 1;
  if (!Number.isSafeInteger(bins) || bins < 1) throw new RangeError('spec: expected a parsed histogram spec with at least one bin');
  return [{ parts: Array.from({ length: bins }, (_, j) => `bin.${j}`), total: 'all' }];
}
