/**
 * Structural validation of serialized SEAL objects, in plain TypeScript.
 *
 * SEAL (compiled to WebAssembly) must never see untrusted bytes first: its C++
 * exceptions leak WASM memory, a truncated ciphertext can abort the instance
 * and a compressed "bomb" exhausts the heap. Every serialization we accept is
 * therefore checked here byte-for-byte against the one shape the parameter set
 * allows: exact length, the whole fixed-size prefix (SEAL header, parms_id,
 * metadata, inner array header) and every coefficient below its RNS prime.
 *
 * Layout of an uncompressed SEAL 4.1 serialization (all little-endian):
 *
 * ```
 * SEALHeader  (16)  magic 5e a1 | header size 0x10 | version 4.1 |
 *                   compr_mode (byte 5, must be 0 = none) | reserved u16 |
 *                   u64 total size
 * Ciphertext / PublicKey:
 *   parms_id (32) 4 x u64
 *   is_ntt_form (1) | size u64 | poly_modulus_degree u64 |
 *   coeff_modulus_size u64 | scale f64 | correction_factor u64
 *   DynArray: SEALHeader (16) | u64 count | count x u64 coefficients
 * SecretKey (a Plaintext in NTT form):
 *   parms_id (32) | coeff_count u64 | scale f64
 *   DynArray: SEALHeader (16) | u64 count | count x u64 coefficients
 * ```
 *
 * Coefficients are stored poly-major: for each polynomial, for each RNS
 * prime q_j, N coefficients that must be < q_j.
 *
 * What this cannot catch: a same-parameter serialization whose coefficients
 * are random but in range, or a ciphertext under another public key. Those
 * are indistinguishable from honest ones without the secret key; only the
 * signature on the contribution envelope protects the aggregate from them.
 */
import { CiphertextFormatError } from './errors.js';
import type { CiphertextFormatErrorCode } from './errors.js';
import { assertBytes } from './assert.js';

/** Size of a SEALHeader in bytes. */
export const SEAL_HEADER_BYTES = 16;
const SEAL_MAGIC_0 = 0x5e;
const SEAL_MAGIC_1 = 0xa1;
const SEAL_VERSION_MAJOR = 4;
const SEAL_VERSION_MINOR = 1;
const COMPR_MODE_OFFSET = 5;
const PARMS_ID_OFFSET = 16;
const PARMS_ID_BYTES = 32;

/** Which SEAL object a layout describes; used in error messages. */
export type SealObjectKind = 'ciphertext' | 'public key' | 'secret key';

/** The one valid shape of a serialized object for a parameter set and level. */
export interface SealObjectLayout {
  readonly kind: SealObjectKind;
  /** Exact serialized length. */
  readonly byteLength: number;
  /** Expected bytes [0, dataOffset): every header and metadata byte. */
  readonly prefix: Uint8Array;
  /** Offset of the first coefficient. */
  readonly dataOffset: number;
  /** Number of polynomials (2 for a fresh ciphertext or public key, 1 for a secret key). */
  readonly polyCount: number;
  /** RNS primes of the level, in storage order. */
  readonly moduli: readonly bigint[];
  /** N, coefficients per polynomial per prime. */
  readonly degree: number;
}

/** Parameters shared by every layout builder. */
export interface LayoutParams {
  readonly parmsId: BigUint64Array;
  readonly moduli: readonly bigint[];
  readonly degree: number;
}

class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  u64(v: bigint): void {
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
  }
  f64(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  sealHeader(totalSize: number): void {
    this.u8(SEAL_MAGIC_0);
    this.u8(SEAL_MAGIC_1);
    this.u8(SEAL_HEADER_BYTES);
    this.u8(SEAL_VERSION_MAJOR);
    this.u8(SEAL_VERSION_MINOR);
    this.u8(0); // compr_mode none
    this.u8(0);
    this.u8(0); // reserved
    this.u64(BigInt(totalSize));
  }
  parmsId(id: BigUint64Array): void {
    if (id.length !== 4) throw new RangeError(`parmsId must have 4 words, got ${id.length}`);
    for (const w of id) this.u64(w);
  }
  get offset(): number {
    return this.pos;
  }
}

/** Layout of a ciphertext/public key at one level: `polyCount` polys, NTT flag as given. */
export function ciphertextLayout(kind: 'ciphertext' | 'public key', p: LayoutParams, polyCount: number, nttForm: boolean): SealObjectLayout {
  const coeffCount = polyCount * p.moduli.length * p.degree;
  const dataOffset = SEAL_HEADER_BYTES + PARMS_ID_BYTES + 1 + 8 * 5 + SEAL_HEADER_BYTES + 8;
  const byteLength = dataOffset + coeffCount * 8;
  const w = new ByteWriter(dataOffset);
  w.sealHeader(byteLength);
  w.parmsId(p.parmsId);
  w.u8(nttForm ? 1 : 0);
  w.u64(BigInt(polyCount));
  w.u64(BigInt(p.degree));
  w.u64(BigInt(p.moduli.length));
  w.f64(1.0); // scale (unused by BFV)
  w.u64(1n); // correction_factor (BGV only; 1 for BFV)
  w.sealHeader(SEAL_HEADER_BYTES + 8 + coeffCount * 8);
  w.u64(BigInt(coeffCount));
  if (w.offset !== dataOffset) throw new Error('internal: ciphertext layout size mismatch');
  return { kind, byteLength, prefix: w.bytes, dataOffset, polyCount, moduli: p.moduli, degree: p.degree };
}

/** Layout of a secret key: one NTT-form plaintext over all key-level primes. */
export function secretKeyLayout(p: LayoutParams): SealObjectLayout {
  const coeffCount = p.moduli.length * p.degree;
  const dataOffset = SEAL_HEADER_BYTES + PARMS_ID_BYTES + 8 + 8 + SEAL_HEADER_BYTES + 8;
  const byteLength = dataOffset + coeffCount * 8;
  const w = new ByteWriter(dataOffset);
  w.sealHeader(byteLength);
  w.parmsId(p.parmsId);
  w.u64(BigInt(coeffCount));
  w.f64(1.0);
  w.sealHeader(SEAL_HEADER_BYTES + 8 + coeffCount * 8);
  w.u64(BigInt(coeffCount));
  if (w.offset !== dataOffset) throw new Error('internal: secret key layout size mismatch');
  return { kind: 'secret key', byteLength, prefix: w.bytes, dataOffset, polyCount: 1, moduli: p.moduli, degree: p.degree };
}

function fail(code: CiphertextFormatErrorCode, layout: SealObjectLayout, detail: string): never {
  throw new CiphertextFormatError(code, `${layout.kind}: ${detail}`);
}

function firstDifference(bytes: Uint8Array, expected: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== expected[i]) return i;
  }
  return -1;
}

/** Names the metadata field at a prefix offset, for error messages. */
function fieldAt(layout: SealObjectLayout, offset: number): string {
  if (offset < 2) return 'SEAL magic';
  if (offset === 2) return 'SEAL header size';
  if (offset < 5) return 'SEAL version';
  if (offset === 5) return 'compression mode';
  if (offset < 8) return 'SEAL header reserved bytes';
  if (offset < 16) return 'total size';
  if (offset < 48) return 'parms_id';
  const innerHeader = layout.dataOffset - 24;
  if (offset >= innerHeader) return offset < layout.dataOffset - 8 ? 'coefficient array header' : 'coefficient count';
  if (layout.kind === 'secret key') return offset < 56 ? 'coefficient count' : 'scale';
  if (offset === 48) return 'is_ntt_form';
  if (offset < 57) return 'polynomial count';
  if (offset < 65) return 'poly_modulus_degree';
  if (offset < 73) return 'coeff_modulus_size';
  if (offset < 81) return 'scale';
  return 'correction_factor';
}

/**
 * Checks `bytes` against `layout`; throws CiphertextFormatError (never
 * anything else for a Uint8Array argument). Cost: one pass over the bytes,
 * about 0.3 ms for a 128 KiB ciphertext.
 *
 * Check order gives the most useful code: header magic/version, then
 * compression (so a compressed serialization is reported as such, not merely
 * as the wrong length), then exact length, then every other prefix byte,
 * then every coefficient.
 */
export function validateSerialized(bytes: Uint8Array, layout: SealObjectLayout): void {
  assertBytes(bytes, layout.kind === 'ciphertext' ? 'ciphertext' : layout.kind === 'public key' ? 'publicKey' : 'secretKey');
  validatePrefix(bytes, layout, layout.byteLength, layout.kind);
  checkCoefficients(bytes, layout);
}

/**
 * The prefix half of `validateSerialized`, for encodings that keep SEAL's
 * prefix but store the coefficients differently (the packed ciphertext):
 * every byte of `[0, layout.dataOffset)` must equal the reference prefix and
 * the whole input must be exactly `byteLength` bytes. Same check order and
 * codes as `validateSerialized`; `label` names the encoding in messages.
 * The caller has already checked that `bytes` is a Uint8Array.
 */
export function validatePrefix(bytes: Uint8Array, layout: SealObjectLayout, byteLength: number, label: string): void {
  const fail = (code: CiphertextFormatErrorCode, detail: string): never => {
    throw new CiphertextFormatError(code, `${label}: ${detail}`);
  };
  if (bytes.length < SEAL_HEADER_BYTES) {
    fail('CIPHERTEXT_LENGTH', `expected ${byteLength} bytes, got ${bytes.length}`);
  }
  const magicDiff = firstDifference(bytes, layout.prefix, 0, COMPR_MODE_OFFSET);
  if (magicDiff >= 0) {
    fail('CIPHERTEXT_HEADER', `bad ${fieldAt(layout, magicDiff)} at byte ${magicDiff}`);
  }
  const compr = bytes[COMPR_MODE_OFFSET] as number;
  if (compr !== 0) {
    fail('CIPHERTEXT_COMPRESSED', `compression mode ${compr} is not accepted; send uncompressed (mode 0) serializations`);
  }
  if (bytes.length !== byteLength) {
    fail('CIPHERTEXT_LENGTH', `expected ${byteLength} bytes, got ${bytes.length}`);
  }
  const headerDiff = firstDifference(bytes, layout.prefix, COMPR_MODE_OFFSET + 1, PARMS_ID_OFFSET);
  if (headerDiff >= 0) {
    fail('CIPHERTEXT_HEADER', `bad ${fieldAt(layout, headerDiff)} at byte ${headerDiff}`);
  }
  if (firstDifference(bytes, layout.prefix, PARMS_ID_OFFSET, PARMS_ID_OFFSET + PARMS_ID_BYTES) >= 0) {
    fail('CIPHERTEXT_PARMS_ID', 'parms_id does not match this parameter set and level');
  }
  const metaDiff = firstDifference(bytes, layout.prefix, PARMS_ID_OFFSET + PARMS_ID_BYTES, layout.dataOffset);
  if (metaDiff >= 0) {
    fail('CIPHERTEXT_HEADER', `bad ${fieldAt(layout, metaDiff)} at byte ${metaDiff}`);
  }
}

function checkCoefficients(bytes: Uint8Array, layout: SealObjectLayout): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = layout.dataOffset;
  for (let poly = 0; poly < layout.polyCount; poly++) {
    for (let j = 0; j < layout.moduli.length; j++) {
      const q = layout.moduli[j] as bigint;
      const qHi = Number(q >> 32n);
      const qLo = Number(q & 0xffffffffn);
      for (let i = 0; i < layout.degree; i++, pos += 8) {
        const hi = view.getUint32(pos + 4, true);
        if (hi < qHi) continue;
        if (hi > qHi || view.getUint32(pos, true) >= qLo) {
          fail(
            'CIPHERTEXT_COEFFICIENT',
            layout,
            `coefficient ${i} of polynomial ${poly}, prime ${j} (byte ${pos}) is not below its modulus`,
          );
        }
      }
    }
  }
}
