/**
 * Canonical byte encoding of everything that is hashed or signed.
 *
 * A signature is only as good as the unambiguity of what it covers: if two
 * different statements serialise to the same bytes, a signature on one is a
 * signature on the other. This encoding is therefore
 *
 * - domain-separated: it starts with a magic tag and the statement's domain
 *   (e.g. `fedmart/v1/contribution-envelope`), so a signature for one kind of
 *   statement never verifies as another kind;
 * - typed: every value carries a one-byte type tag (`5` and `5n` and `"5"`
 *   differ);
 * - length-prefixed and self-delimiting: strings, byte strings and lists carry
 *   a u32 length, so `["ab","c"]` and `["a","bc"]` differ and the top-level
 *   list is prefix-free;
 * - injective on its input type: strings must be well-formed Unicode
 *   (a lone surrogate would be replaced by U+FFFD and collide), numbers must
 *   be safe integers, nesting is bounded (no cycles).
 *
 * Format (all integers big-endian):
 * ```
 * "FMC1" | u8 domainLength | domain (printable ASCII) | LIST(values)
 * STRING = 0x01 | u32 byteLength | UTF-8
 * BYTES  = 0x02 | u32 length | bytes
 * BIGINT = 0x03 | u8 sign (0 = non-negative, 1 = negative) | u32 length | magnitude (minimal, empty for 0)
 * NUMBER = 0x04 | i64 (safe integer)
 * BOOL   = 0x05 | 0x00 or 0x01
 * LIST   = 0x06 | u32 count | items
 * ```
 */
import { blake2b256 } from './sign.js';
import { describe } from './assert.js';
import { isBytes } from './assert.js';

/** A value that can be canonically encoded. `number` must be a safe integer. */
export type CanonicalValue = string | Uint8Array | bigint | number | boolean | readonly CanonicalValue[];

const MAGIC = [0x46, 0x4d, 0x43, 0x31]; // "FMC1"
const TAG_STRING = 0x01;
const TAG_BYTES = 0x02;
const TAG_BIGINT = 0x03;
const TAG_NUMBER = 0x04;
const TAG_BOOL = 0x05;
const TAG_LIST = 0x06;
/** Deepest allowed list nesting; deeper input (or a cyclic array) is rejected. */
export const CANONICAL_MAX_DEPTH = 32;
const MAX_U32 = 0xffffffff;
const DOMAIN_RE = /^[\x21-\x7e]{1,255}$/;

const utf8 = new TextEncoder();
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const CHUNK_MASK = (1n << 48n) - 1n;

/** String.prototype.isWellFormed (Node 20) is far faster than a /\p{Cs}/u test on every string; the lib typings predate it. */
const isWellFormed: (s: string) => boolean = (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** The path of an element, built only when an error names it (a statement may hold thousands of values). */
type PathOf = () => string;

/** One growing buffer: a statement of thousands of values (a slot layout's field names and bounds) is written without a small array per value. */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private size = 0;
  private reserve(n: number): number {
    const at = this.size;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.size = at + n;
    return at;
  }
  push(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  byte(v: number): void {
    const at = this.reserve(1);
    this.buf[at] = v;
  }
  u32(v: number, name: PathOf): void {
    if (v > MAX_U32) throw new RangeError(`${name()} is too long to encode (${v} > ${MAX_U32})`);
    const at = this.reserve(4);
    this.view.setUint32(at, v, false);
  }
  /** u32 byte length, then the UTF-8 bytes, encoded in place. */
  utf8(v: string, name: PathOf): void {
    this.utf8Item(v, name, -1);
  }
  /** As utf8, for element `index` of the list at `list` (-1: the value at `list` itself); the path is built only for an error. */
  utf8Item(v: string, list: PathOf, index: number): void {
    const lengthAt = this.reserve(4 + v.length * 3);
    const at = lengthAt + 4;
    // ASCII (field names, ids) is its own UTF-8: copied without encodeInto and the view it writes through.
    const buf = this.buf;
    let written = v.length;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) {
        written = utf8.encodeInto(v, buf.subarray(at)).written;
        break;
      }
      buf[at + i] = c;
    }
    this.size = at + written;
    if (written > MAX_U32) throw new RangeError(`${index < 0 ? list() : `${list()}[${index}]`} is too long to encode (${written} > ${MAX_U32})`);
    this.view.setUint32(lengthAt, written, false);
  }
  /** sign byte, u32 length and minimal big-endian magnitude (empty for 0), written in place. */
  bigint(v: bigint): void {
    const m = v < 0n ? -v : v;
    const sign = v < 0n ? 1 : 0;
    if (m > MAX_SAFE) {
      // 48 bits at a time, least significant first (each exact in a double): no hex string.
      const chunks: number[] = [];
      for (let r = m; r > 0n; r >>= 48n) chunks.push(Number(r & CHUNK_MASK));
      let top = chunks[chunks.length - 1] as number;
      let topLen = 0;
      for (let y = top; y > 0; y = Math.floor(y / 256)) topLen++;
      const len = 6 * (chunks.length - 1) + topLen;
      const at = this.reserve(5 + len);
      this.buf[at] = sign;
      this.view.setUint32(at + 1, len, false);
      let i = at + 4 + len;
      for (let c = 0; c < chunks.length - 1; c++) {
        let x = chunks[c] as number;
        for (let b = 0; b < 6; b++, i--) {
          this.buf[i] = x % 256;
          x = Math.floor(x / 256);
        }
      }
      for (; i > at + 4; i--) {
        this.buf[i] = top % 256;
        top = Math.floor(top / 256);
      }
      return;
    }
    // Most bounds fit a double: bytes by division, without a hex string or an array per value.
    let x = Number(m);
    let len = 0;
    for (let y = x; y > 0; y = Math.floor(y / 256)) len++;
    const at = this.reserve(5 + len);
    this.buf[at] = sign;
    this.view.setUint32(at + 1, len, false);
    // The magnitude's last byte at at + 4 + len, its first at at + 5.
    for (let i = at + 4 + len; i > at + 4; i--) {
      this.buf[i] = x % 256;
      x = Math.floor(x / 256);
    }
  }
  i64(v: number): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, BigInt(v), false);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.size);
  }
}


function encodeValue(w: Writer, value: unknown, path: PathOf, depth: number): void {
  if (typeof value === 'string') {
    if (!isWellFormed(value)) {
      throw new RangeError(`${path()} must be well-formed Unicode (it contains a lone surrogate)`);
    }
    w.byte(TAG_STRING);
    w.utf8(value, path);
  } else if (isBytes(value)) {
    w.byte(TAG_BYTES);
    w.u32(value.length, path);
    w.push(value);
  } else if (typeof value === 'bigint') {
    w.byte(TAG_BIGINT);
    w.bigint(value);
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`${path()} must be a safe integer (use bigint or a decimal string otherwise), got ${value}`);
    }
    w.byte(TAG_NUMBER);
    w.i64(value);
  } else if (typeof value === 'boolean') {
    w.byte(TAG_BOOL);
    w.byte(value ? 1 : 0);
  } else if (Array.isArray(value)) {
    encodeList(w, value, path, depth + 1);
  } else {
    throw new TypeError(`${path()} must be a string, Uint8Array, bigint, safe integer, boolean or array, got ${describe(value)}`);
  }
}

function encodeList(w: Writer, list: readonly unknown[], path: PathOf, depth: number): void {
  if (depth > CANONICAL_MAX_DEPTH) {
    throw new RangeError(`${path()} nests deeper than ${CANONICAL_MAX_DEPTH} levels (or is cyclic)`);
  }
  w.byte(TAG_LIST);
  w.u32(list.length, path);
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    // Strings and bigints (a slot layout's thousands of field names and bounds) are written here, without a
    // path closure per element; the closure is made only for the other types, or when a string is refused.
    if (typeof item === 'string' && isWellFormed(item)) {
      w.byte(TAG_STRING);
      w.utf8Item(item, path, i);
    } else if (typeof item === 'bigint') {
      w.byte(TAG_BIGINT);
      w.bigint(item);
    } else {
      encodeValue(w, item, () => `${path()}[${i}]`, depth);
    }
  }
}

/**
 * Encodes `values` under `domain` (1–255 printable ASCII characters, e.g.
 * `fedmart/v1/enrolment`). Injective: distinct (domain, values) pairs give
 * distinct byte strings.
 * @throws TypeError/RangeError naming the offending argument or element path
 */
export function canonicalEncode(domain: string, values: readonly CanonicalValue[]): Uint8Array {
  if (typeof domain !== 'string') throw new TypeError(`domain must be a string, got ${describe(domain)}`);
  if (!DOMAIN_RE.test(domain)) {
    throw new RangeError('domain must be 1..255 printable ASCII characters without spaces');
  }
  if (!Array.isArray(values)) throw new TypeError(`values must be an array, got ${describe(values)}`);
  const w = new Writer();
  w.push(Uint8Array.from(MAGIC));
  w.byte(domain.length);
  w.push(utf8.encode(domain));
  encodeList(w, values, () => 'values', 1);
  return w.finish();
}

/**
 * BLAKE2b-256 of the canonical encoding: the 32-byte digest that is signed.
 * Requires `await cryptoReady()`.
 */
export function statementDigest(domain: string, values: readonly CanonicalValue[]): Uint8Array {
  return blake2b256(canonicalEncode(domain, values));
}
