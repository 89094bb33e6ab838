/**
 * Shared checks of the margin tests (histogram, rfm, cohort-retention):
 * release decrypted totals through the key holder's engine with the margins
 * the kind declares, then judge the outcome from the reader's side only.
 *
 * - {@link marginsAreExact}: every declared relation is an identity of the
 *   totals (parts add up to the total, field by field, on the additive field
 *   named for each cell), so declaring it is not a guess.
 * - {@link loneWithheldMargins}: margins with exactly one withheld non-empty
 *   member, i.e. the property "no margin has exactly one suppressed cell".
 *   The one exception is a relation without a total whose every part is
 *   already withheld: nothing is left to withhold in this release, and the
 *   sum it stands for is published only by another release, under that
 *   release's own suppression.
 * - {@link subtractionLeaks}: by brute force over the released numbers, every
 *   withheld non-empty cell that subtracting released cells from a known
 *   total (a released total cell, or for a relation without a total the sum
 *   published elsewhere) gives back exactly.
 */
import fc from 'fast-check';
import {
  applyDisclosure,
  effectivePolicy,
  type DisclosureOutcome,
} from '../../compliance/index.js';
import type { AnyQueryDefinition, CellMargin } from '../../analytics/index.js';

/** Field name → decrypted total; fields not listed are 0. */
export function totalsOf(def: AnyQueryDefinition, spec: unknown, values: Readonly<Record<string, bigint>>): Map<string, bigint> {
  const names = def.fields(spec).map((f) => f.name);
  for (const n of Object.keys(values)) if (!names.includes(n)) throw new RangeError(`values: ${n} is not a field of this spec`);
  return new Map(names.map((n) => [n, values[n] ?? 0n]));
}

/** The key holder's exact release of `totals` with threshold k and the kind's declared margins. */
export function releaseExact(def: AnyQueryDefinition, spec: unknown, totals: ReadonlyMap<string, bigint>, k: number): DisclosureOutcome {
  return applyDisclosure({
    cells: def.cells(spec),
    fields: def.fields(spec),
    totals,
    attestedSubjects: 1_000_000,
    policy: effectivePolicy('marketing-analytics', undefined, { minMerchants: 3, minSubjects: k, dominance: null }),
    margins: def.margins?.(spec),
  });
}

/** The value a relation adds up, per cell (e.g. a histogram bin's items). */
export type AdditiveField = (cell: string) => string;

function subjectsOf(def: AnyQueryDefinition, spec: unknown, totals: ReadonlyMap<string, bigint>): Map<string, bigint> {
  return new Map(def.cells(spec).map((c) => [c.name, totals.get(c.subjectsField) ?? 0n]));
}

/** Relations whose parts do not add up to their total on the additive field (should be none). */
export function marginsAreExact(margins: readonly CellMargin[], totals: ReadonlyMap<string, bigint>, additive: AdditiveField): CellMargin[] {
  return margins.filter((m) => {
    if (m.total === undefined) return false;
    const sum = m.parts.reduce((s, p) => s + (totals.get(additive(p)) ?? 0n), 0n);
    return sum !== (totals.get(additive(m.total)) ?? 0n);
  });
}

/** Margins left with exactly one withheld non-empty member (see module doc for the one exception). */
export function loneWithheldMargins(def: AnyQueryDefinition, spec: unknown, totals: ReadonlyMap<string, bigint>, outcome: DisclosureOutcome): CellMargin[] {
  const subjects = subjectsOf(def, spec, totals);
  return (def.margins?.(spec) ?? []).filter((m) => {
    const members = [...m.parts, ...(m.total === undefined ? [] : [m.total])];
    const people = members.filter((c) => outcome.suppressed.has(c) && (subjects.get(c) ?? 0n) > 0n);
    if (people.length !== 1) return false;
    return !(m.total === undefined && members.every((c) => outcome.suppressed.has(c)));
  });
}

/** A withheld cell that one subtraction over released numbers gives back, and the value it gives. */
export interface Leak {
  readonly cell: string;
  readonly margin: CellMargin;
  readonly value: bigint;
}

/**
 * Attacks every margin with the released numbers: the known total minus the
 * released parts is the sum of the withheld parts; a released total minus
 * nothing, or the released parts plus the withheld ones, is a withheld
 * total. A withheld non-empty member is given back when every other withheld
 * member of the relation is empty (the reader is assumed to know which are).
 * For a relation without a total the known figure is the true sum of its
 * parts, published elsewhere, unless every part is withheld (see
 * {@link loneWithheldMargins}). Each leak's value is the number
 * the subtraction yields; it is checked to equal the cell's true value, so a
 * relation that is not exact shows up as a thrown error.
 */
export function subtractionLeaks(def: AnyQueryDefinition, spec: unknown, totals: ReadonlyMap<string, bigint>, outcome: DisclosureOutcome, additive: AdditiveField): Leak[] {
  const subjects = subjectsOf(def, spec, totals);
  const subjectsField = new Map(def.cells(spec).map((c) => [c.name, c.subjectsField]));
  const released = (c: string): bigint | undefined => {
    const cell = outcome.cells[c];
    if (cell === undefined || cell.suppressed) return undefined;
    const f = additive(c);
    const v = cell.totals[f] ?? (f === subjectsField.get(c) ? cell.subjects : undefined);
    if (v === undefined) throw new RangeError(`additive field ${f} of ${c} is not released`);
    return BigInt(v);
  };
  const value = (c: string): bigint => totals.get(additive(c)) ?? 0n;
  const withheld = (c: string): boolean => outcome.suppressed.has(c);
  const people = (c: string): boolean => (subjects.get(c) ?? 0n) > 0n;
  const leaks: Leak[] = [];
  for (const m of def.margins?.(spec) ?? []) {
    const releasedSum = m.parts.filter((p) => !withheld(p)).reduce((s, p) => s + (released(p) as bigint), 0n);
    let known: bigint | undefined;
    if (m.total !== undefined) known = withheld(m.total) ? undefined : released(m.total);
    else known = m.parts.every(withheld) ? undefined : m.parts.reduce((s, p) => s + value(p), 0n);
    const members = [...m.parts, ...(m.total === undefined ? [] : [m.total])];
    const unknown = members.filter((c) => withheld(c) && people(c));
    if (unknown.length !== 1) continue;
    const cell = unknown[0] as string;
    let derived: bigint | undefined;
    if (cell === m.total) derived = releasedSum; // the other withheld parts are empty
    else if (known !== undefined) derived = known - releasedSum;
    if (derived === undefined) continue;
    if (derived !== value(cell)) throw new RangeError(`margin over ${m.parts.join(', ')}: subtraction gives ${derived} for ${cell}, not ${value(cell)}; the relation is not exact`);
    leaks.push({ cell, margin: m, value: derived });
  }
  return leaks;
}

/** Margins containing `cell` in which no other non-empty member is withheld (should be none for a withheld cell). */
export function withoutComplement(def: AnyQueryDefinition, spec: unknown, totals: ReadonlyMap<string, bigint>, outcome: DisclosureOutcome, cell: string): CellMargin[] {
  const subjects = subjectsOf(def, spec, totals);
  return (def.margins?.(spec) ?? []).filter((m) => {
    const members = [...m.parts, ...(m.total === undefined ? [] : [m.total])];
    return members.includes(cell) && !members.some((c) => c !== cell && outcome.suppressed.has(c) && (subjects.get(c) ?? 0n) > 0n);
  });
}

/** Runs `fn` with fast-check's default size raised (random shop data big enough to need complements), then restores it. */
export function withMediumData(fn: () => void): void {
  const previous = fc.readConfigureGlobal();
  fc.configureGlobal({ ...previous, baseSize: 'medium' });
  try {
    fn();
  } finally {
    fc.configureGlobal(previous);
  }
}
