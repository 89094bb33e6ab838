/**
 * Random 64-bit test values. Every contribution's first value is 2^64 - 1 so
 * that the sums exercise carries between limbs at their largest.
 */
import { randomBytes } from 'node:crypto';

export const U64_MAX = (1n << 64n) - 1n;

/** `count` uniformly random values in [0, 2^64 - 1], the first one forced to 2^64 - 1. */
export function randomU64Values(count: number): bigint[] {
  const buf = randomBytes(count * 8);
  const view = new BigUint64Array(buf.buffer, buf.byteOffset, count);
  const out = Array.from(view);
  if (count > 0) out[0] = U64_MAX;
  return out;
}

/** `contributors` independent rows of `count` values each. */
export function randomContributions(contributors: number, count: number): bigint[][] {
  const rows: bigint[][] = [];
  for (let m = 0; m < contributors; m++) rows.push(randomU64Values(count));
  return rows;
}

/** Column sums of `rows` (exact BigInt). */
export function columnSums(rows: readonly (readonly bigint[])[]): bigint[] {
  const first = rows[0];
  if (first === undefined) return [];
  const sums = first.map(() => 0n);
  for (const row of rows) {
    row.forEach((v, i) => {
      sums[i] = (sums[i] as bigint) + v;
    });
  }
  return sums;
}

/** Index of the first difference between two equal-length lists, or -1. */
export function firstMismatch(a: readonly bigint[], b: readonly bigint[]): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
