/**
 * Exact decimal <-> scaled-integer conversion for fixed-point statistics.
 *
 * Money amounts and rates are declared with a decimal scale (e.g. 2 digits for
 * yuan and fen) and travel as integers, because BFV adds integers exactly and
 * binary floating point cannot represent 0.1. No `number` arithmetic is used
 * on the value itself.
 */
import { assertBigInt, assertInteger, assertString } from './assert.js';

/** Largest supported decimal scale. */
export const MAX_SCALE_DIGITS = 64;
/** Longest accepted decimal text (guards BigInt parsing cost on hostile input). */
export const MAX_DECIMAL_TEXT_LENGTH = 1024;

const DECIMAL_RE = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;

/**
 * Parses an exact decimal string into an integer scaled by 10^scaleDigits:
 * `parseFixedPoint("12.30", 2) === 1230n`, `parseFixedPoint("-0.5", 2) === -50n`.
 *
 * Accepted: optional `-`, at least one integer digit, optionally `.` followed
 * by 1..scaleDigits digits. Rejected with RangeError: empty text, `+`,
 * whitespace, exponents, thousands separators, `.5`, `5.`, and more
 * fractional digits than the declared scale (even trailing zeros: the scale is
 * a declared contract and silently accepting more digits hides mistakes).
 */
export function parseFixedPoint(text: string, scaleDigits: number): bigint {
  assertString(text, 'text');
  assertInteger(scaleDigits, 'scaleDigits', 0, MAX_SCALE_DIGITS);
  if (text.length > MAX_DECIMAL_TEXT_LENGTH) {
    throw new RangeError(`text must be at most ${MAX_DECIMAL_TEXT_LENGTH} characters, got ${text.length}`);
  }
  const m = DECIMAL_RE.exec(text);
  if (m === null) {
    throw new RangeError(`text must be a plain decimal number like "12.30", got ${JSON.stringify(text.slice(0, 40))}`);
  }
  const negative = m[1] === '-';
  const intPart = m[2] as string;
  const fracPart = m[3] ?? '';
  if (fracPart.length > scaleDigits) {
    throw new RangeError(`text has ${fracPart.length} decimal digits but the declared scale allows ${scaleDigits}`);
  }
  const magnitude = BigInt(intPart + fracPart.padEnd(scaleDigits, '0'));
  return negative ? -magnitude : magnitude;
}

/**
 * Formats a scaled integer as an exact decimal string with exactly
 * `scaleDigits` fractional digits: `formatFixedPoint(1230n, 2) === "12.30"`.
 * Inverse of `parseFixedPoint` on its canonical outputs.
 */
export function formatFixedPoint(value: bigint, scaleDigits: number): string {
  assertBigInt(value, 'value');
  assertInteger(scaleDigits, 'scaleDigits', 0, MAX_SCALE_DIGITS);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scaleDigits + 1, '0');
  const sign = negative ? '-' : '';
  if (scaleDigits === 0) return sign + digits;
  return `${sign}${digits.slice(0, digits.length - scaleDigits)}.${digits.slice(digits.length - scaleDigits)}`;
}
