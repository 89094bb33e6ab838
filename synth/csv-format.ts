/**
 * Text forms of the synthetic export: RFC 4180 fields (quoted only when
 * needed), ISO-8601 UTC times with whole seconds, amounts with two decimals.
 * These are the formats `standardShopSchema()` declares.
 *
 * @module
 */

/** One CSV field, quoted when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line with its CRLF-free LF terminator. */
export function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

/** `2026-03-04T05:06:07Z` from integer Unix seconds. */
export function isoSeconds(unixS: number): string {
  return new Date(unixS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `123.40` from 12340n cents. */
export function formatCents(cents: bigint): string {
  if (cents < 0n) throw new RangeError(`cents: ${cents} is negative`);
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
}

export const formatBool = (b: boolean): string => (b ? 'true' : 'false');
