/**
 * Relations between a query's fields that every honest shop's sums satisfy
 * and that survive adding shops together: a count of repeat customers never
 * exceeds the count of customers, the items of a histogram's bins add up to
 * its total, a Hessian's diagonal is never negative. The key holder checks
 * them on the decrypted sums before anything is released
 * (`QueryDefinition.inputViolation`, `INPUT_OUT_OF_BOUNDS`).
 *
 * Why only relations of this kind: the key holder sees the sum over shops,
 * never one shop's values. A relation it checks must hold for any sum of
 * honest contributions, or it would refuse honest rounds. Linear
 * inequalities between fields (a ≤ b, Σ parts = whole) are closed under
 * addition, and so are the Cauchy–Schwarz relations used for second moments
 * ((Σ s_i)² ≤ (Σ n_i)(Σ q_i) whenever s_i² ≤ n_i q_i for every shop i).
 *
 * What they buy: a shop that skips its own checks can still move every
 * field within contributors × its declared bound (fixed-point.ts
 * `boundsViolation`), but no longer independently of the others. To raise a
 * histogram bin it must raise the total by as much; to make a Hessian
 * indefinite along a diagonal it must break a relation no honest sum breaks.
 * See docs/input-validity.md for what each kind still allows.
 *
 * @module
 */

/** The exact decrypted total of every field, by name. */
export type FieldTotals = ReadonlyMap<string, bigint>;

/**
 * The total of `name`. Throws RangeError naming the field when the layout
 * has no such field (a relation written against the wrong layout).
 */
export function totalOf(totals: FieldTotals, name: string): bigint {
  const v = totals.get(name);
  if (v === undefined) throw new RangeError(`totals: no field "${name}"`);
  return v;
}

/** A signed total from its `name+` and `name-` parts (signed-real.ts). */
export function signedTotalOf(totals: FieldTotals, name: string): bigint {
  return totalOf(totals, `${name}+`) - totalOf(totals, `${name}-`);
}

/** One broken relation, or undefined. `what`/`limitText` name the two sides for the refusal message. */
export type RelationCheck = string | undefined;

/** `value ≤ limit`, else a description naming both sides. */
export function atMost(what: string, value: bigint, limitText: string, limit: bigint): RelationCheck {
  return value > limit ? `${what} is ${value}, above ${limitText} (${limit})` : undefined;
}

/** `value ≥ limit`, else a description naming both sides. */
export function atLeast(what: string, value: bigint, limitText: string, limit: bigint): RelationCheck {
  return value < limit ? `${what} is ${value}, below ${limitText} (${limit})` : undefined;
}

/** `value = expected`, else a description naming both sides. */
export function equals(what: string, value: bigint, expectedText: string, expected: bigint): RelationCheck {
  return value !== expected ? `${what} is ${value}, not ${expectedText} (${expected})` : undefined;
}

/** `|value| ≤ limit`. */
export function absAtMost(what: string, value: bigint, limitText: string, limit: bigint): RelationCheck {
  return atMost(`|${what}|`, value < 0n ? -value : value, limitText, limit);
}

/**
 * `a² ≤ b · c` (Cauchy–Schwarz), for b, c ≥ 0: a sum of first moments
 * against the count and the sum of squares, or a cross moment against two
 * squared moments.
 */
export function squareAtMost(what: string, a: bigint, productText: string, b: bigint, c: bigint): RelationCheck {
  return a * a > b * c ? `${what} squared is ${a * a}, above ${productText} (${b * c})` : undefined;
}

/**
 * An upper bound `limit` on a sum each shop computed in doubles and rounded
 * once to fixed point, with the slack of that rounding: 2^-20 relative (far
 * above the doubles' accumulated error for 2^31 rows) plus one unit per shop.
 */
export function withRoundingSlack(limit: bigint, contributors: number): bigint {
  return limit + (limit >> 20n) + BigInt(contributors);
}

/** The first broken relation of `checks`, evaluated lazily in order. */
export function firstBroken(checks: Iterable<RelationCheck>): RelationCheck {
  for (const c of checks) if (c !== undefined) return c;
  return undefined;
}
