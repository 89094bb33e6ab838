/**
 * Adds contributions that each carry `ciphertextCount` packed ciphertexts
 * back to back: ciphertext i of every contribution goes into sum i. Used
 * identically by the coordinator and the key holder, so that both arrive at
 * byte-identical sums and can compare them by digest.
 */
import { CiphertextAccumulator } from './ciphertext-accumulator.js';
import type { HeContext } from './context.js';

/** Returns one packed sum per ciphertext position. Throws CiphertextFormatError on any invalid ciphertext. */
export function sumPackedContributions(ctx: HeContext, contributions: readonly Uint8Array[], ciphertextCount: number): Uint8Array[] {
  if (!Number.isSafeInteger(ciphertextCount) || ciphertextCount < 1) throw new RangeError('ciphertextCount must be a positive integer');
  const length = ctx.packedCiphertextByteLength;
  contributions.forEach((c, j) => {
    if (!(c instanceof Uint8Array)) throw new TypeError(`contributions[${j}] must be a Uint8Array`);
    if (c.length !== ciphertextCount * length) throw new RangeError(`contributions[${j}] must hold ${ciphertextCount} packed ciphertexts of ${length} bytes`);
  });
  const sums: Uint8Array[] = [];
  for (let i = 0; i < ciphertextCount; i++) {
    const acc = new CiphertextAccumulator(ctx);
    for (const c of contributions) acc.add(c.subarray(i * length, (i + 1) * length));
    sums.push(acc.sumPacked());
  }
  return sums;
}
