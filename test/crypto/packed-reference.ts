/**
 * Independent reference for the packed-ciphertext tests: coefficients as
 * BigInt, the bit stream built as a string of '0'/'1' characters (least
 * significant bit first), so it shares no arithmetic with crypto/bit-pack.ts.
 */

/** Deterministic 64-bit generator (tests only; crypto/ uses libsodium). */
export function splitmix(seed: bigint): () => bigint {
  let s = seed & 0xffffffffffffffffn;
  return () => {
    s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return z ^ (z >> 31n);
  };
}

/** Bits of `v` in `width` characters, least significant first. */
function lsbFirst(v: bigint, width: number): string {
  return v.toString(2).padStart(width, '0').split('').reverse().join('');
}

/** The packed stream of `coefficients` with `widths[i]` bits each, zero-padded to whole bytes. */
export function referencePackStream(coefficients: readonly bigint[], widths: readonly number[]): Uint8Array {
  const parts: string[] = coefficients.map((c, i) => {
    const w = widths[i] as number;
    if (c < 0n || c >= 1n << BigInt(w)) throw new RangeError(`coefficient ${i} does not fit ${w} bits`);
    return lsbFirst(c, w);
  });
  let bits = parts.join('');
  bits = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0');
  const out = new Uint8Array(bits.length / 8);
  for (let i = 0; i < out.length; i++) {
    out[i] = Number.parseInt(bits.slice(8 * i, 8 * i + 8).split('').reverse().join(''), 2);
  }
  return out;
}

/** Sets coefficient `index` (all `width` bits) of a packed stream starting at byte `offset`, by string surgery. */
export function setPackedCoefficient(packed: Uint8Array, offset: number, width: number, index: number, value: bigint): void {
  const start = offset + Math.floor((index * width) / 8);
  const end = offset + Math.ceil(((index + 1) * width) / 8);
  let bits = '';
  for (let i = start; i < end; i++) bits += (packed[i] as number).toString(2).padStart(8, '0').split('').reverse().join('');
  const shift = (index * width) % 8;
  bits = bits.slice(0, shift) + lsbFirst(value, width) + bits.slice(shift + width);
  for (let i = start; i < end; i++) {
    const k = i - start;
    packed[i] = Number.parseInt(bits.slice(8 * k, 8 * k + 8).split('').reverse().join(''), 2);
  }
}

/** Coefficients of an uncompressed SEAL serialization (u64 little-endian from `dataOffset`). */
export function sealCoefficients(bytes: Uint8Array, dataOffset: number): bigint[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: bigint[] = [];
  for (let off = dataOffset; off < bytes.length; off += 8) out.push(view.getBigUint64(off, true));
  return out;
}

/** An uncompressed SEAL serialization: `prefix` then each coefficient as u64 little-endian. */
export function sealBytesOf(prefix: Uint8Array, coefficients: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(prefix.length + 8 * coefficients.length);
  out.set(prefix);
  const view = new DataView(out.buffer);
  coefficients.forEach((c, i) => view.setBigUint64(prefix.length + 8 * i, c, true));
  return out;
}

/**
 * `count` coefficients below `q`: uniform draws mixed with the edge values
 * that stress limb boundaries (0, 1, 2^32 - 1, 2^32, q - 1, ...).
 */
export function coefficientsBelow(q: bigint, count: number, rng: () => bigint): bigint[] {
  const edges = [0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 32n) + 1n, q - 1n, q - 2n, q >> 1n, (q >> 4n) << 4n]
    .filter((e) => e >= 0n && e < q);
  return Array.from({ length: count }, () => {
    const r = rng();
    return (r & 7n) === 0n ? (edges[Number((r >> 3n) % BigInt(edges.length))] as bigint) : (r >> 4n) % q;
  });
}

/**
 * Index of the first differing byte, or -1 when equal (lengths differ: the
 * shorter length). Cheaper than toEqual on 120 KiB arrays, and the index is
 * what a failure needs to show.
 */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
