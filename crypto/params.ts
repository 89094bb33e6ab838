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
 *   header = 131,185 bytes, i.e. **16 bytes per slot**.
 * - Plain modulus `PlainModulus.Batching(8192, 40)` = t = 1,099,511,480,321
 *   (a 40-bit prime, t = 1 mod 2N). A larger t leaves almost no noise budget
 *   (50 bits: 2 bits fresh, fails after additions).
 * - A 64-bit statistic is split into two 32-bit limbs (see `SlotLayout`):
 *   **32 bytes per 64-bit value**, and with 32-bit limbs up to
 *   floor((t - 1) / (2^32 - 1)) = **255 contributors** cannot wrap t. Fewer
 *   bits per limb admit more contributors.
 *
 * ## Measured on this machine (Node 20.20, node-seal 6.0.3, 2 cores)
 *
 * Figures from `bench`-style runs of this module (see the commit that added
 * them for the script); re-measure before relying on them:
 *
 * MEASURED_FIGURES
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
}

/** All supported parameter sets, keyed by name. Frozen. */
export const HE_PARAM_SETS: Readonly<Record<HeParamSetName, HeParamSet>> = Object.freeze({
  'bfv-8192-t40': Object.freeze({
    name: 'bfv-8192-t40',
    scheme: 'bfv',
    polyModulusDegree: 8192,
    coeffModulusBits: Object.freeze([60, 60]),
    plainModulusBits: 40,
    description: 'BFV, N=8192, q=[60,60] bits (one data prime), batching t of 40 bits; 16 bytes per slot',
    maxAddends: 1024,
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
