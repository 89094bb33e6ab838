/**
 * Homomorphic-encryption parameter sets.
 *
 * ## Why `bfv-8192-t40`
 *
 * fedmart needs *exact* integer sums (counts, fixed-point money amounts), so
 * the scheme is BFV with batching: one ciphertext carries N = 8192 independent
 * slots and ciphertext addition adds slot-wise modulo the plain modulus t.
 *
 * - Coefficient modulus `CoeffModulus.Create(8192, [60, 60])`: 120 bits, well
 *   under the 218-bit limit for 128-bit security at N = 8192. The last prime
 *   is SEAL's special (key-switching) prime, so serialized ciphertexts carry a
 *   single 60-bit prime: 2 polys x 8192 coefficients x 8 bytes + 113 bytes of
 *   header = 131,185 bytes, i.e. 16 bytes per slot in SEAL's format. On the
 *   wire each coefficient takes its 60 bits (`packed-ciphertext.ts`):
 *   113 + 2 x 8192 x 60 / 8 = 122,993 bytes, **15 bytes per slot**.
 * - Plain modulus `PlainModulus.Batching(8192, 40)` = t = 1,099,511,480,321
 *   (a 40-bit prime, t = 1 mod 2N). A larger t leaves almost no noise budget
 *   (50 bits: 2 bits fresh, fails after additions).
 * - A 64-bit statistic is split into two 32-bit limbs (see `SlotLayout`):
 *   **30.03 bytes per 64-bit value** packed (32.03 in SEAL's format), and
 *   with 32-bit limbs up to floor((t - 1) / (2^32 - 1)) = **255
 *   contributors** cannot wrap t. Fewer bits per limb admit more
 *   contributors.
 *
 * ## Measured on this machine (Node 20.20, node-seal 6.0.3, 2 cores)
 *
 * Printed by `npx tsx test/crypto/measure-he.ts` (medians without warm-up;
 * two runs on a busy machine, so ranges); re-measure before relying on them.
 * `bench/FIGURES.md` has warmed-up figures per 64-bit value.
 *
 * | figure | value |
 * |---|---|
 * | ciphertext, SEAL (uncompressed) | 131,185 bytes = 16.01 bytes per slot |
 * | ciphertext, packed (the wire form) | 122,993 bytes = 15.01 bytes per slot |
 * | 64-bit value (2 x 32-bit limbs) | 30.03 bytes packed (32.03 SEAL), up to 255 contributors |
 * | public key / secret key | 262,257 / 131,160 bytes |
 * | noise budget, fresh | 12 bits |
 * | noise budget after summing 10 / 100 / 256 / 1024 copies of one ciphertext | 9 / 5–6 / 4 / 2 bits |
 * | HeContext.create (incl. WASM start and self-test) | 0.25–0.27 s first time |
 * | key generation | 2.4 ms |
 * | encrypt one ciphertext | 2.7–2.8 ms |
 * | packCiphertext (validate SEAL bytes + pack) | 0.13 ms |
 * | validateCiphertext (SEAL bytes) | 0.03 ms |
 * | validatePackedCiphertext | 0.02–0.03 ms |
 * | ctx.add, per ciphertext (validate + SEAL load + add) | 0.06–0.09 ms |
 * | CiphertextAccumulator.add, per ciphertext (validate + add, no SEAL) | 0.05 ms |
 * | CiphertextAccumulator reduction mod q + pack, once per round | 0.14–0.26 ms |
 * | decrypt (validate, load, noise check, decode) | 1.7–2.6 ms |
 * | decryptPacked (+ validate and unpack) | 1.7 ms |
 *
 * Summing the *same* ciphertext is the worst case for noise growth (the noise
 * terms add coherently), so `maxAddends` = 1024 keeps at least 2 bits.
 *
 * Parameter sets are data, not code paths: adding one means adding an entry
 * here and a test, nothing else.
 */

/** Names of the supported parameter sets (a closed union so typos fail to compile). */
export type HeParamSetName = 'bfv-8192-t40';

/** Description of one BFV parameter set. */
export interface HeParamSet {
  readonly name: HeParamSetName;
  readonly scheme: 'bfv';
  /** N: ring dimension and number of batching slots. */
  readonly polyModulusDegree: number;
  /** Bit sizes of the coefficient-modulus primes; the last one is the special key-switching prime. */
  readonly coeffModulusBits: readonly number[];
  /** Bit size of the batching prime t chosen by `PlainModulus.Batching`. */
  readonly plainModulusBits: number;
  /** One-line human description for logs and reports. */
  readonly description: string;
  /**
   * Largest number of fresh ciphertexts that may be added into one sum while
   * keeping a measured safety margin of noise budget. Each doubling of the
   * addend count costs about one bit; the fresh budget is 12 bits.
   */
  readonly maxAddends: number;
  /**
   * What SEAL derives from the parameters (the batching prime t, the chosen
   * RNS primes and the parms ids of the data and key levels), written down so
   * that processes that only validate and add ciphertexts (the coordinator)
   * need not start SEAL: `HeContext.withoutSeal`. `HeContext.create` checks
   * SEAL's values against these and refuses to start if they differ.
   */
  readonly derived: {
    readonly plainModulus: bigint;
    readonly dataModuli: readonly bigint[];
    readonly keyModuli: readonly bigint[];
    readonly firstParmsId: readonly bigint[];
    readonly keyParmsId: readonly bigint[];
  };
}

/** All supported parameter sets, keyed by name. Frozen. */
export const HE_PARAM_SETS: Readonly<Record<HeParamSetName, HeParamSet>> = Object.freeze({
  'bfv-8192-t40': Object.freeze({
    name: 'bfv-8192-t40',
    scheme: 'bfv',
    polyModulusDegree: 8192,
    coeffModulusBits: Object.freeze([60, 60]),
    plainModulusBits: 40,
    description: 'BFV, N=8192, q=[60,60] bits (one data prime), batching t of 40 bits; 15 bytes per slot packed (16 in SEAL format)',
    maxAddends: 1024,
    derived: Object.freeze({
      plainModulus: 1_099_511_480_321n,
      dataModuli: Object.freeze([1_152_921_504_606_748_673n]),
      keyModuli: Object.freeze([1_152_921_504_606_748_673n, 1_152_921_504_606_830_593n]),
      firstParmsId: Object.freeze([17458664736949119104n, 2612807100717907758n, 16622354708728864994n, 7822721462091302831n]),
      keyParmsId: Object.freeze([12317121340780322908n, 1520487198997540209n, 2666542028592202552n, 5735312591196787634n]),
    }),
  }),
} satisfies Record<HeParamSetName, HeParamSet>);

/** The parameter set used when none is named. */
export const DEFAULT_HE_PARAM_SET: HeParamSetName = 'bfv-8192-t40';

/** True when `name` is the name of a supported parameter set. */
export function isHeParamSetName(name: unknown): name is HeParamSetName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(HE_PARAM_SETS, name);
}

/**
 * Looks up a parameter set by name. Names arrive from the wire (query
 * specifications, envelopes), so an unknown name is a RangeError that names
 * the argument rather than `undefined` flowing onwards.
 */
export function getHeParamSet(name: string): HeParamSet {
  if (typeof name !== 'string') {
    throw new TypeError(`name must be a string, got ${typeof name}`);
  }
  if (!isHeParamSetName(name)) {
    const known = Object.keys(HE_PARAM_SETS).join(', ');
    throw new RangeError(`name must be a known HE parameter set (${known}), got ${JSON.stringify(name.slice(0, 64))}`);
  }
  return HE_PARAM_SETS[name];
}
