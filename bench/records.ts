/**
 * The record format of `bench/results.json` and helpers to build and read it.
 */

/** One measured or derived figure. */
export interface BenchRecord {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}

/** Builds a record, refusing non-finite values so results.json never holds NaN or Infinity. */
export function record(name: string, value: number, unit: string, note?: string): BenchRecord {
  if (!Number.isFinite(value)) {
    throw new RangeError(`bench record ${name} must be a finite number, got ${value}`);
  }
  return note === undefined ? { name, value, unit } : { name, value, unit, note };
}

/** Looks up a record's value by name. @throws Error if absent */
export function valueOf(records: readonly BenchRecord[], name: string): number {
  const r = records.find((x) => x.name === name);
  if (r === undefined) throw new Error(`bench record ${name} is missing`);
  return r.value;
}

/** Throws if two records share a name. */
export function assertUniqueNames(records: readonly BenchRecord[]): void {
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.name)) throw new Error(`bench record ${r.name} appears twice`);
    seen.add(r.name);
  }
}

/** A correctness check inside the bench failed: the figures must not be published. */
export class BenchCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchCheckError';
  }
}
