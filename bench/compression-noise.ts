/**
 * What modulus-switched ("compressed") ciphertexts would cost in noise:
 * each coefficient of c0 and c1 sent as round(c · 2^b / q) in b bits instead
 * of its 60 bits, the b-bit values summed mod 2^b and the sum scaled back,
 * round(S · q / 2^b), before decryption. Measures, for several (b0, b1), the
 * bytes per slot and the noise budget left after summing M fresh
 * encryptions of random plaintexts (or M copies of one, the coherent worst
 * case maxAddends is set by), and whether the sum still decrypts to the
 * plaintext sum. Nothing in fedmart sends compressed ciphertexts; this
 * measures whether it should (docs/encryption.md, bench/FIGURES.md).
 *
 *   npx tsx bench/compression-noise.ts [--addends M] [--copies]
 *
 * Exact BigInt arithmetic throughout (slow: about 2 s per 100 addends and
 * setting), so the figures do not depend on how a fast path would round.
 */
import { parseArgs } from 'node:util';
import { CiphertextAccumulator, HeContext, HeDecryptor, HeEncryptor, generateHeKeys, unpackCiphertext } from '../crypto/index.js';
import { packedLayoutOfContext } from '../crypto/context.js';
import { readSealCoefficients, writeSealCiphertext } from '../crypto/packed-ciphertext.js';

export const COMPRESSION_NOISE_HELP = `npx tsx bench/compression-noise.ts — noise budget of modulus-switched ciphertexts

Usage: npx tsx bench/compression-noise.ts [--addends M] [--copies]

  --addends M   ciphertexts summed (default 1024, the parameter set's maxAddends; 1..1024)
  --copies      sum M copies of one ciphertext (the coherent worst case) instead of M fresh ones
  -h, --help    this text

Prints, per (c0 bits, c1 bits), the bytes per slot, the noise budget left
after the sum and whether it decrypts to the plaintext sum.`;

/** (c0 bits, c1 bits) settings measured; 60 is the uncompressed width. */
const SETTINGS: readonly (readonly [number, number])[] = [[50, 56], [51, 56], [52, 57], [52, 58], [54, 58]];

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { addends: { type: 'string', default: '1024' }, copies: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    process.stdout.write(`${COMPRESSION_NOISE_HELP}\n`);
    return 0;
  }
  const addends = Number(values.addends);
  if (!Number.isSafeInteger(addends) || addends < 1 || addends > 1024) throw new RangeError(`--addends: expected an integer 1..1024, got ${values.addends}`);
  const ctx = await HeContext.create();
  const keys = generateHeKeys(ctx);
  const enc = new HeEncryptor(ctx, keys.publicKey);
  const dec = new HeDecryptor(ctx, keys.secretKey);
  try {
    const layout = packedLayoutOfContext(ctx);
    const q = ctx.ciphertextModuli[0] as bigint;
    const n = ctx.slotCount;
    const t = ctx.plainModulus;
    const packs: Uint8Array[] = [];
    const coefficients: bigint[][] = [];
    const expected = [0n, 0n];
    for (let j = 0; j < addends; j++) {
      if (values.copies && j > 0) {
        packs.push(packs[0] as Uint8Array);
        coefficients.push(coefficients[0] as bigint[]);
      } else {
        const plain = new BigUint64Array(n).map(() => BigInt(Math.floor(Math.random() * 2 ** 30)));
        const packed = enc.encryptPacked(plain);
        const split = readSealCoefficients(unpackCiphertext(ctx, packed), layout);
        packs.push(packed);
        coefficients.push(Array.from({ length: 2 * n }, (_, i) => (BigInt(split.hi[i] as number) << 32n) + BigInt(split.lo[i] as number)));
        expected[0] = plain[0] as bigint;
        expected[1] = plain[9] as bigint;
      }
    }
    // Expected sums of slots 0 and 9 (recomputed from the last plaintext for copies).
    const plainSums = values.copies ? [(expected[0] as bigint) * BigInt(addends) % t, (expected[1] as bigint) * BigInt(addends) % t] : undefined;
    const acc = new CiphertextAccumulator(ctx);
    for (const p of packs) acc.add(p);
    const reference = unpackCiphertext(ctx, acc.sumPacked());
    const referenceSlots = dec.decrypt(reference);
    const truth = plainSums ?? [referenceSlots[0] as bigint, referenceSlots[9] as bigint];
    process.stdout.write(`${addends} ${values.copies ? 'copies of one ciphertext' : 'fresh ciphertexts'}: uncompressed ${(layout.byteLength / n).toFixed(2)} B/slot, noise budget ${dec.noiseBudget(reference)} bits\n`);
    for (const [b0, b1] of SETTINGS) {
      const sums = new Array<bigint>(2 * n).fill(0n);
      for (const c of coefficients) {
        for (let i = 0; i < 2 * n; i++) {
          const b = BigInt(i < n ? b0 : b1);
          const k = (((c[i] as bigint) << b) + q / 2n) / q % (1n << b);
          sums[i] = ((sums[i] as bigint) + k) % (1n << b);
        }
      }
      const lo = new Uint32Array(2 * n);
      const hi = new Uint32Array(2 * n);
      for (let i = 0; i < 2 * n; i++) {
        const b = BigInt(i < n ? b0 : b1);
        const c = (((sums[i] as bigint) * q + (1n << (b - 1n))) >> b) % q;
        lo[i] = Number(c & 0xffff_ffffn);
        hi[i] = Number(c >> 32n);
      }
      const seal = writeSealCiphertext({ lo, hi }, layout);
      const budget = dec.noiseBudget(seal);
      let correct = false;
      try {
        const slots = dec.decrypt(seal);
        correct = slots[0] === truth[0] && slots[9] === truth[1];
      } catch {
        correct = false;
      }
      const bytes = layout.seal.dataOffset + Math.ceil((n * (b0 + b1)) / 8);
      process.stdout.write(`  c0 ${b0} bits, c1 ${b1} bits: ${bytes} bytes = ${(bytes / n).toFixed(2)} B/slot, noise budget ${budget} bits, decrypts correctly: ${correct}\n`);
    }
    return 0;
  } finally {
    enc.close();
    dec.close();
    ctx.close();
  }
}

main(process.argv.slice(2)).then((code) => (process.exitCode = code), (err: unknown) => {
  process.stderr.write(`compression-noise: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
