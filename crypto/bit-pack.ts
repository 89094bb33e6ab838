/**
 * Bit-packing kernels for ciphertext coefficients (see `packed-layout.ts` for
 * the format). Pure TypeScript, no SEAL: these run on untrusted bytes.
 *
 * A coefficient is carried as two uint32 halves, `hi * 2^32 + lo`, so that
 * no kernel needs a BigInt per coefficient. For the only parameter set
 * (60-bit prime) two coefficients fill exactly 15 bytes and the fast paths
 * read and write them with four `DataView` uint32 accesses:
 *
 * ```
 * byte   0..3   a[0..31]            w0 = aLo
 * byte   4..7   a[32..59] b[0..3]   w1 = aHi | bLo << 28
 * byte   8..11  b[4..35]            w2 = bLo >>> 4 | bHi << 28
 * byte  12..14  b[36..59]           bHi >>> 4 (24 bits)
 * ```
 *
 * Other prime widths (2..60 bits) take a slower bit-at-a-time path with the
 * same results; it exists so that a new parameter set is data, not code.
 *
 * Internal module: not re-exported from `index.ts`.
 */
import type { PackedLayout } from './packed-layout.js';

/** Coefficients as parallel uint32 halves: value_i = hi[i] * 2^32 + lo[i]. */
export interface SplitCoefficients {
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
}

/** Fresh zeroed storage for every coefficient of `layout`. */
export function allocateCoefficients(layout: PackedLayout): SplitCoefficients {
  return { lo: new Uint32Array(layout.coefficientCount), hi: new Uint32Array(layout.coefficientCount) };
}

const LOW_28 = 0x0fffffff;
/** 2^k for k in 0..32, so the generic path multiplies instead of shifting past bit 31. */
const POW2: readonly number[] = Array.from({ length: 33 }, (_, k) => 2 ** k);

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads `width` (<= 32) bits starting at stream bit `bitPos`. */
function readBits(bytes: Uint8Array, base: number, bitPos: number, width: number): number {
  let value = 0;
  let got = 0;
  let pos = bitPos;
  while (got < width) {
    const shift = pos & 7;
    const take = Math.min(8 - shift, width - got);
    const chunk = ((bytes[base + (pos >>> 3)] as number) >>> shift) & ((1 << take) - 1);
    value += chunk * (POW2[got] as number);
    got += take;
    pos += take;
  }
  return value;
}

/** ORs the low `width` (<= 32) bits of `value` into the stream at bit `bitPos` (target bits must be zero). */
function writeBits(bytes: Uint8Array, base: number, bitPos: number, width: number, value: number): void {
  let rest = value;
  let left = width;
  let pos = bitPos;
  while (left > 0) {
    const shift = pos & 7;
    const take = Math.min(8 - shift, left);
    const unit = 1 << take;
    const index = base + (pos >>> 3);
    bytes[index] = (bytes[index] as number) | ((rest % unit) << shift);
    rest = Math.floor(rest / unit);
    left -= take;
    pos += take;
  }
}

/**
 * Writes every coefficient of `c` into `out` from `layout.dataOffset` on.
 * The caller writes the prefix and guarantees each coefficient is below its
 * modulus (it came from validated SEAL bytes or from a reduction). `out`
 * must be freshly zeroed (the generic path ORs bits in).
 */
export function packCoefficients(c: SplitCoefficients, layout: PackedLayout, out: Uint8Array): void {
  const { lo, hi } = c;
  if (layout.pairs60) {
    const view = viewOf(out);
    let off = layout.dataOffset;
    for (let i = 0; i < layout.coefficientCount; i += 2, off += 15) {
      const aLo = lo[i] as number;
      const aHi = hi[i] as number;
      const bLo = lo[i + 1] as number;
      const bHi = hi[i + 1] as number;
      view.setUint32(off, aLo, true);
      view.setUint32(off + 4, (aHi | (bLo << 28)) >>> 0, true);
      view.setUint32(off + 8, ((bLo >>> 4) | (bHi << 28)) >>> 0, true);
      const top = bHi >>> 4;
      out[off + 12] = top & 0xff;
      out[off + 13] = (top >>> 8) & 0xff;
      out[off + 14] = top >>> 16;
    }
    return;
  }
  const base = layout.dataOffset;
  for (const seg of layout.segments) {
    const loBits = Math.min(seg.bits, 32);
    const hiBits = seg.bits - loBits;
    let pos = seg.bitOffset;
    for (let i = seg.firstIndex; i < seg.firstIndex + seg.count; i++, pos += seg.bits) {
      writeBits(out, base, pos, loBits, lo[i] as number);
      if (hiBits > 0) writeBits(out, base, pos + 32, hiBits, hi[i] as number);
    }
  }
}

/**
 * Decodes the stream of `packed` (whose prefix and length the caller has
 * checked) and checks every coefficient against its modulus, writing the
 * coefficients to `out` unless it is null.
 * @returns -1 if all is well; the index of the first coefficient that is not
 *   below its modulus; or `layout.coefficientCount` if the padding bits of
 *   the last byte are not zero
 */
export function unpackCoefficients(packed: Uint8Array, layout: PackedLayout, out: SplitCoefficients | null): number {
  if (layout.pairs60) {
    const view = viewOf(packed);
    let off = layout.dataOffset;
    for (const seg of layout.segments) {
      const { qHi, qLo } = seg;
      const end = seg.firstIndex + seg.count;
      for (let i = seg.firstIndex; i < end; i += 2, off += 15) {
        const w1 = view.getUint32(off + 4, true);
        const aLo = view.getUint32(off, true);
        const aHi = w1 & LOW_28;
        const bLo = ((w1 >>> 28) | (view.getUint32(off + 8, true) << 4)) >>> 0;
        const bHi = view.getUint32(off + 11, true) >>> 4;
        if (aHi > qHi || (aHi === qHi && aLo >= qLo)) return i;
        if (bHi > qHi || (bHi === qHi && bLo >= qLo)) return i + 1;
        if (out !== null) {
          out.lo[i] = aLo;
          out.hi[i] = aHi;
          out.lo[i + 1] = bLo;
          out.hi[i + 1] = bHi;
        }
      }
    }
    return -1;
  }
  const base = layout.dataOffset;
  for (const seg of layout.segments) {
    const { qHi, qLo } = seg;
    const loBits = Math.min(seg.bits, 32);
    const hiBits = seg.bits - loBits;
    let pos = seg.bitOffset;
    for (let i = seg.firstIndex; i < seg.firstIndex + seg.count; i++, pos += seg.bits) {
      const lo = readBits(packed, base, pos, loBits);
      const hi = hiBits > 0 ? readBits(packed, base, pos + 32, hiBits) : 0;
      if (hi > qHi || (hi === qHi && lo >= qLo)) return i;
      if (out !== null) {
        out.lo[i] = lo;
        out.hi[i] = hi;
      }
    }
  }
  const used = layout.streamBits & 7;
  if (used !== 0 && (packed[layout.byteLength - 1] as number) >>> used !== 0) return layout.coefficientCount;
  return -1;
}

/**
 * Validates the stream of `packed` and adds every coefficient into the
 * running sums, in one pass on the fast path. If a coefficient is out of
 * range, the coefficients already added are subtracted again (exact: every
 * partial sum is an integer below 2^53), so the sums are unchanged on
 * return. The generic path decodes into `scratch` first and adds after.
 * @returns as `unpackCoefficients`
 */
export function accumulateCoefficients(
  packed: Uint8Array,
  layout: PackedLayout,
  sumLo: Float64Array,
  sumHi: Float64Array,
  scratch: SplitCoefficients,
): number {
  if (!layout.pairs60) {
    const bad = unpackCoefficients(packed, layout, scratch);
    if (bad !== -1) return bad;
    for (let i = 0; i < layout.coefficientCount; i++) {
      sumLo[i] = (sumLo[i] as number) + (scratch.lo[i] as number);
      sumHi[i] = (sumHi[i] as number) + (scratch.hi[i] as number);
    }
    return -1;
  }
  const view = viewOf(packed);
  for (const seg of layout.segments) {
    const off = layout.dataOffset + seg.bitOffset / 8;
    const bad = addPairs60(view, off, seg.firstIndex, seg.firstIndex + seg.count, seg.qHi, seg.qLo, sumLo, sumHi);
    if (bad !== -1) {
      // Coefficients [0, bad rounded down to a pair) were added: take them out again.
      subtractPairs60(view, layout.dataOffset, bad & ~1, sumLo, sumHi);
      return bad;
    }
  }
  return -1;
}

/**
 * The coordinator's hot loop (60-bit path): adds pairs [start, end) read from
 * byte `off` on, checking both coefficients of a pair before adding either.
 * A small function of scalars and typed arrays, with the rare rollback kept
 * outside it. About 0.04 ms per ciphertext; the validation-only loop alone
 * takes about 0.02 ms.
 * @returns -1, or the index of the first coefficient not below q (its pair is not added)
 */
function addPairs60(
  view: DataView,
  off: number,
  start: number,
  end: number,
  qHi: number,
  qLo: number,
  sumLo: Float64Array,
  sumHi: Float64Array,
): number {
  for (let i = start; i < end; i += 2, off += 15) {
    const w1 = view.getUint32(off + 4, true);
    const aLo = view.getUint32(off, true);
    const aHi = w1 & LOW_28;
    const bLo = ((w1 >>> 28) | (view.getUint32(off + 8, true) << 4)) >>> 0;
    const bHi = view.getUint32(off + 11, true) >>> 4;
    if (aHi > qHi || (aHi === qHi && aLo >= qLo)) return i;
    if (bHi > qHi || (bHi === qHi && bLo >= qLo)) return i + 1;
    sumLo[i] = (sumLo[i] as number) + aLo;
    sumHi[i] = (sumHi[i] as number) + aHi;
    sumLo[i + 1] = (sumLo[i + 1] as number) + bLo;
    sumHi[i + 1] = (sumHi[i + 1] as number) + bHi;
  }
  return -1;
}

/** Undoes the additions of coefficients [0, end) (end even) of a 60-bit packed stream. */
function subtractPairs60(view: DataView, dataOffset: number, end: number, sumLo: Float64Array, sumHi: Float64Array): void {
  let off = dataOffset;
  for (let i = 0; i < end; i += 2, off += 15) {
    const w1 = view.getUint32(off + 4, true);
    sumLo[i] = (sumLo[i] as number) - view.getUint32(off, true);
    sumHi[i] = (sumHi[i] as number) - (w1 & LOW_28);
    sumLo[i + 1] = (sumLo[i + 1] as number) - (((w1 >>> 28) | (view.getUint32(off + 8, true) << 4)) >>> 0);
    sumHi[i + 1] = (sumHi[i + 1] as number) - (view.getUint32(off + 11, true) >>> 4);
  }
}
