/**
 * `CiphertextAccumulator`: the coordinator's homomorphic sum, without SEAL.
 *
 * BFV addition of two ciphertexts with the same header is coefficient-wise
 * addition modulo q_j. So the coordinator need not load untrusted bytes into
 * SEAL at all (whose C++ exceptions leak WASM memory and whose malformed
 * input can abort the instance): it reads packed ciphertexts in TypeScript,
 * checks every coefficient and adds it in the same pass, and reduces modulo
 * q_j once per round. Per coefficient it keeps the sum of the low 32 bits and
 * the sum of the high bits in two Float64Arrays; after `paramSet.maxAddends`
 * (1024) additions they are below 2^42 and 2^38, far inside the 2^53 of exact
 * doubles. The reduced sum is byte-identical to SEAL's `evaluator.add`
 * chain, which keeps every coefficient in [0, q_j).
 *
 * An input that fails validation throws `CiphertextFormatError` and leaves
 * the running sum exactly as it was (the kernel subtracts what it had added),
 * so one hostile contribution cannot spoil a round.
 *
 * Like structural validation, this cannot tell a forged but well-formed
 * ciphertext from an honest one: verify each envelope signature before `add`.
 */
import type { HeContext } from './context.js';
import { packedLayoutOfContext } from './context.js';
import { assertBytes } from './assert.js';
import { accumulateCoefficients, allocateCoefficients } from './bit-pack.js';
import type { SplitCoefficients } from './bit-pack.js';
import { FedmartCryptoError } from './errors.js';
import type { PackedLayout } from './packed-layout.js';
import { packSplit, throwIfBad, writeSealCiphertext } from './packed-ciphertext.js';
import { validatePrefix } from './seal-format.js';
import { MAX_EXACT_ADDENDS, reduceSplitSums } from './split-reduce.js';

export class CiphertextAccumulator {
  readonly #layout: PackedLayout;
  readonly #maxAddends: number;
  readonly #sumLo: Float64Array;
  readonly #sumHi: Float64Array;
  /** Decode buffer of the generic (non-60-bit) path; unused on the fast path. */
  readonly #scratch: SplitCoefficients;
  #count = 0;

  /**
   * Uses only `ctx`'s pure-TypeScript layout (reference prefix, moduli), never
   * its SEAL objects: the accumulator keeps working after `ctx.close()`.
   * @throws TypeError unless `ctx` is an HeContext
   */
  constructor(ctx: HeContext) {
    this.#layout = packedLayoutOfContext(ctx);
    this.#maxAddends = ctx.paramSet.maxAddends;
    if (this.#maxAddends > MAX_EXACT_ADDENDS) {
      throw new FedmartCryptoError(
        'HE_PARAMETERS_INVALID',
        `maxAddends ${this.#maxAddends} exceeds ${MAX_EXACT_ADDENDS}, beyond which the split sums are not exact in doubles`,
      );
    }
    const n = this.#layout.coefficientCount;
    this.#sumLo = new Float64Array(n);
    this.#sumHi = new Float64Array(n);
    this.#scratch = this.#layout.pairs60 ? { lo: new Uint32Array(0), hi: new Uint32Array(0) } : allocateCoefficients(this.#layout);
  }

  /** Number of ciphertexts added so far. */
  get count(): number {
    return this.#count;
  }

  /** Most ciphertexts one sum may hold (`paramSet.maxAddends`: noise budget). */
  get maxAddends(): number {
    return this.#maxAddends;
  }

  /**
   * Validates one packed ciphertext (exact length, reference prefix, every
   * coefficient below its modulus, zero padding) and adds it, in one pass.
   * On any error the running sum and `count` are unchanged.
   * @throws TypeError unless `packed` is a Uint8Array
   * @throws RangeError if `maxAddends` ciphertexts have already been added
   * @throws CiphertextFormatError naming the first defect
   */
  add(packed: Uint8Array): void {
    assertBytes(packed, 'packed');
    if (this.#count >= this.#maxAddends) {
      throw new RangeError(`packed cannot be added: the sum already holds maxAddends = ${this.#maxAddends} ciphertexts (noise budget)`);
    }
    const layout = this.#layout;
    validatePrefix(packed, layout.seal, layout.byteLength, 'packed ciphertext');
    throwIfBad(accumulateCoefficients(packed, layout, this.#sumLo, this.#sumHi, this.#scratch), layout);
    this.#count++;
  }

  /**
   * The sum as a packed ciphertext (`ctx.packedCiphertextByteLength` bytes).
   * Reduces modulo q_j here, once; the accumulator stays usable.
   * @throws RangeError if nothing has been added
   */
  sumPacked(): Uint8Array {
    return packSplit(this.#reduced(), this.#layout);
  }

  /**
   * The sum as an uncompressed SEAL serialization, byte-identical to
   * `ctx.add` of the same ciphertexts unpacked.
   * @throws RangeError if nothing has been added
   */
  sumSeal(): Uint8Array {
    return writeSealCiphertext(this.#reduced(), this.#layout);
  }

  #reduced(): SplitCoefficients {
    if (this.#count === 0) {
      throw new RangeError('the accumulator is empty: add at least one ciphertext before taking the sum');
    }
    const out = allocateCoefficients(this.#layout);
    reduceSplitSums(this.#sumLo, this.#sumHi, this.#layout, out);
    return out;
  }
}
