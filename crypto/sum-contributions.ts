/**
 * Adds contributions that each carry `ciphertextCount` packed ciphertexts
 * back to back: ciphertext i of every contribution goes into sum i. Used
 * identically by the coordinator and the key holder, so that both arrive at
 * byte-identical sums and can compare them by digest.
 *
 * ## Stages
 *
 * One sum keeps noise budget for at most `paramSet.maxAddends` (1024)
 * ciphertexts. A round with more contributions is added in *stages*: the
 * contributions, in the order given, are cut into the fewest consecutive
 * runs of at most `maxAddends`, as equal as possible (`sumStageSizes`),
 * and each run is summed on its own. The key holder decrypts
 * every stage sum and adds the decoded totals in BigInt; a stage's totals
 * never leave it (keyholder/key-holder.ts). Both parties pass the
 * contributions in merchant-id order (`byMerchantId`), so they cut the same
 * stages. A round of at most `maxAddends` contributions is one stage, whose
 * sums are exactly the unstaged sums.
 */
import { CiphertextAccumulator } from './ciphertext-accumulator.js';
import type { HeContext } from './context.js';

/**
 * Sizes of the stages `count` contributions are added in, in order: the
 * fewest stages of at most `maxAddends` ([count] while count <=
 * maxAddends, [] for 0), as equal as possible, the larger ones first
 * (1,025 at 1,024 → 513 + 512). Equal stages matter: the key holder decrypts
 * every stage sum, and a stage of one or a few shops (1,024 + 1) would put a
 * single shop's figures in its memory; with equal stages none holds fewer
 * than half of maxAddends.
 * @throws RangeError naming the argument for a negative count or a maxAddends below 1
 */
export function sumStageSizes(count: number, maxAddends: number): number[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${String(count)}`);
  if (!Number.isSafeInteger(maxAddends) || maxAddends < 1) throw new RangeError(`maxAddends must be a positive integer, got ${String(maxAddends)}`);
  const stages = Math.ceil(count / maxAddends);
  const base = Math.floor(count / Math.max(stages, 1));
  const larger = count - base * stages;
  return Array.from({ length: stages }, (_, i) => base + (i < larger ? 1 : 0));
}

/** Code-unit order of merchant ids: the order both parties add contributions in (not a database collation). */
export function byMerchantId<T extends { readonly merchantId: string }>(a: T, b: T): number {
  return a.merchantId < b.merchantId ? -1 : a.merchantId > b.merchantId ? 1 : 0;
}

/**
 * Returns the packed sums stage by stage (see Stages above): for stage s and
 * ciphertext position i, `sums[s * ciphertextCount + i]`. With at most
 * `maxAddends` contributions that is one sum per position.
 * Throws CiphertextFormatError on any invalid ciphertext.
 */
export function sumPackedContributions(ctx: HeContext, contributions: readonly Uint8Array[], ciphertextCount: number): Uint8Array[] {
  if (!Number.isSafeInteger(ciphertextCount) || ciphertextCount < 1) throw new RangeError('ciphertextCount must be a positive integer');
  const length = ctx.packedCiphertextByteLength;
  contributions.forEach((c, j) => {
    if (!(c instanceof Uint8Array)) throw new TypeError(`contributions[${j}] must be a Uint8Array`);
    if (c.length !== ciphertextCount * length) throw new RangeError(`contributions[${j}] must hold ${ciphertextCount} packed ciphertexts of ${length} bytes`);
  });
  const sums: Uint8Array[] = [];
  let first = 0;
  // No contributions: one stage of empty sums, as before stages existed.
  const stages = contributions.length === 0 ? [0] : sumStageSizes(contributions.length, ctx.paramSet.maxAddends);
  for (const size of stages) {
    const stage = contributions.slice(first, first + size);
    first += size;
    for (let i = 0; i < ciphertextCount; i++) {
      const acc = new CiphertextAccumulator(ctx);
      for (const c of stage) acc.add(c.subarray(i * length, (i + 1) * length));
      sums.push(acc.sumPacked());
    }
  }
  return sums;
}
