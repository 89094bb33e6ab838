/**
 * Packed ciphertexts: the wire form of a BFV ciphertext.
 *
 * SEAL's uncompressed serialization spends 8 bytes on each coefficient below
 * a 60-bit prime: 131,185 bytes per ciphertext, 32.03 bytes per 64-bit value.
 * Packing keeps SEAL's 113-byte prefix and writes each coefficient in 60 bits
 * (`packed-layout.ts`): 122,993 bytes, 30.03 bytes per 64-bit value. The
 * length is fixed by the parameter set, so there is no decompression step to
 * attack, and each ciphertext has exactly one packed form.
 *
 * Validation and unpacking are pure TypeScript and never call SEAL, so they
 * are safe on hostile bytes and work after `HeContext.close()`. The sizes are
 * on the context: `HeContext.ciphertextByteLength` (SEAL) and
 * `HeContext.packedCiphertextByteLength` (packed).
 */
import type { HeContext } from './context.js';
import { packedLayoutOfContext } from './context.js';
import { assertBytes } from './assert.js';
import { allocateCoefficients, packCoefficients, unpackCoefficients } from './bit-pack.js';
import type { SplitCoefficients } from './bit-pack.js';
import { CiphertextFormatError } from './errors.js';
import type { PackedLayout } from './packed-layout.js';
import { validatePrefix } from './seal-format.js';

const PACKED_LABEL = 'packed ciphertext';

/**
 * Packs a SEAL ciphertext serialization for the wire. The SEAL bytes are
 * validated first (`ctx.validateCiphertext`), so the packed form of
 * anything accepted here is itself valid.
 * @returns `ctx.packedCiphertextByteLength` fresh bytes
 * @throws TypeError for a wrong argument type; CiphertextFormatError for invalid SEAL bytes
 */
export function packCiphertext(ctx: HeContext, sealBytes: Uint8Array): Uint8Array {
  const layout = packedLayoutOfContext(ctx);
  assertBytes(sealBytes, 'sealBytes');
  ctx.validateCiphertext(sealBytes);
  return packSplit(readSealCoefficients(sealBytes, layout), layout);
}

/**
 * Checks that `packed` is exactly a packed ciphertext of `ctx`'s parameter
 * set: exact length, the 113-byte prefix equal to the context's reference
 * prefix byte for byte, every coefficient below its modulus and zero padding
 * bits. Never calls SEAL. As with SEAL bytes, passing proves nothing about
 * honesty: verify the envelope signature as well.
 * @throws TypeError for a wrong argument type; CiphertextFormatError naming the first defect
 */
export function validatePackedCiphertext(ctx: HeContext, packed: Uint8Array): void {
  const layout = packedLayoutOfContext(ctx);
  assertBytes(packed, 'packed');
  checkPacked(packed, layout, null);
}

/**
 * Validates `packed` and returns the equivalent uncompressed SEAL
 * serialization (`ctx.ciphertextByteLength` bytes), ready for SEAL. Decoding
 * and the range check share one pass.
 * @throws TypeError for a wrong argument type; CiphertextFormatError naming the first defect
 */
export function unpackCiphertext(ctx: HeContext, packed: Uint8Array): Uint8Array {
  const layout = packedLayoutOfContext(ctx);
  assertBytes(packed, 'packed');
  const coefficients = allocateCoefficients(layout);
  checkPacked(packed, layout, coefficients);
  return writeSealCiphertext(coefficients, layout);
}

/**
 * Prefix, length and coefficient checks of a packed ciphertext; decodes into
 * `out` unless null. Shared by the functions above and the accumulator.
 */
export function checkPacked(packed: Uint8Array, layout: PackedLayout, out: SplitCoefficients | null): void {
  validatePrefix(packed, layout.seal, layout.byteLength, PACKED_LABEL);
  throwIfBad(unpackCoefficients(packed, layout, out), layout);
}

/** Turns a kernel's result (-1, a coefficient index, or coefficientCount for padding) into an error. */
export function throwIfBad(bad: number, layout: PackedLayout): void {
  if (bad === -1) return;
  if (bad === layout.coefficientCount) {
    throw new CiphertextFormatError('CIPHERTEXT_COEFFICIENT', `${PACKED_LABEL}: the padding bits after the last coefficient are not zero`);
  }
  const seg = layout.segments.find((s) => bad < s.firstIndex + s.count);
  // Runs are poly-major: run = poly * primeCount + prime.
  const primeCount = layout.seal.moduli.length;
  const run = seg === undefined ? 0 : layout.segments.indexOf(seg);
  const poly = Math.floor(run / primeCount);
  const prime = run % primeCount;
  const i = seg === undefined ? bad : bad - seg.firstIndex;
  const bit = seg === undefined ? 0 : seg.bitOffset + i * seg.bits;
  throw new CiphertextFormatError(
    'CIPHERTEXT_COEFFICIENT',
    `${PACKED_LABEL}: coefficient ${i} of polynomial ${poly}, prime ${prime} (stream bit ${bit}) is not below its modulus`,
  );
}

/** Packs coefficients known to be in range behind the reference prefix. */
export function packSplit(coefficients: SplitCoefficients, layout: PackedLayout): Uint8Array {
  const out = new Uint8Array(layout.byteLength);
  out.set(layout.seal.prefix, 0);
  packCoefficients(coefficients, layout, out);
  return out;
}

/** Writes coefficients known to be in range as an uncompressed SEAL serialization. */
export function writeSealCiphertext(coefficients: SplitCoefficients, layout: PackedLayout): Uint8Array {
  const seal = layout.seal;
  const out = new Uint8Array(seal.byteLength);
  out.set(seal.prefix, 0);
  const view = new DataView(out.buffer);
  const { lo, hi } = coefficients;
  for (let i = 0, off = seal.dataOffset; i < layout.coefficientCount; i++, off += 8) {
    view.setUint32(off, lo[i] as number, true);
    view.setUint32(off + 4, hi[i] as number, true);
  }
  return out;
}

/**
 * Reads the coefficients of validated SEAL bytes as uint32 halves, into
 * `into` when given (every coefficient of the layout is written, so scratch
 * storage needs no clearing first).
 */
export function readSealCoefficients(sealBytes: Uint8Array, layout: PackedLayout, into?: SplitCoefficients): SplitCoefficients {
  const out = into ?? allocateCoefficients(layout);
  const view = new DataView(sealBytes.buffer, sealBytes.byteOffset, sealBytes.byteLength);
  for (let i = 0, off = layout.seal.dataOffset; i < layout.coefficientCount; i++, off += 8) {
    out.lo[i] = view.getUint32(off, true);
    out.hi[i] = view.getUint32(off + 4, true);
  }
  return out;
}
