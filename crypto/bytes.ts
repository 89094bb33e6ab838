/**
 * Byte helpers that need no libsodium initialisation: hex codec and a
 * constant-time comparison. Kept free of `await` so that they can be used in
 * synchronous parsing code (config files, CLI arguments) before
 * `cryptoReady()` has run.
 */
import { assertBytes, assertString } from './assert.js';

const HEX_DIGITS = '0123456789abcdef';
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  }
  return out;
}

/**
 * Parses hex (either case, no prefix, no whitespace). Throws RangeError on odd
 * length or a non-hex character rather than silently skipping, which
 * `Buffer.from(s, 'hex')` would do.
 */
export function fromHex(hex: string): Uint8Array {
  assertString(hex, 'hex');
  if (!HEX_RE.test(hex)) {
    throw new RangeError(
      hex.length % 2 === 1
        ? `hex must have an even number of digits, got ${hex.length}`
        : 'hex must contain only the characters 0-9, a-f, A-F',
    );
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their lengths, so a
 * MAC or digest comparison does not leak how many leading bytes matched.
 * Different lengths return false immediately (lengths are not secret here).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    diff |= (a[i] as number) ^ (b[i] as number);
  }
  return diff === 0;
}

/** Concatenates byte arrays into a fresh array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
