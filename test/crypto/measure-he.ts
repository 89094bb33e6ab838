/**
 * Prints the figures quoted in crypto/params.ts for the default parameter set.
 * Run: npx tsx test/crypto/measure-he.ts   (not a test: timings are never asserted)
 */
import {
  CiphertextAccumulator,
  HeContext,
  HeDecryptor,
  HeEncryptor,
  SlotLayout,
  generateHeKeys,
  packCiphertext,
  validatePackedCiphertext,
} from '../../crypto/index.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time<T>(fn: () => T, runs: number): { ms: number; last: T } {
  const samples: number[] = [];
  let last!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = fn();
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), last };
}

const t0 = performance.now();
const ctx = await HeContext.create();
const createMs = performance.now() - t0;
const keygen = time(() => generateHeKeys(ctx), 5);
const { publicKey, secretKey } = keygen.last;
const enc = new HeEncryptor(ctx, publicKey);
const dec = new HeDecryptor(ctx, secretKey);
const slots = new BigUint64Array(ctx.slotCount).fill(123456789n);
const encrypt = time(() => enc.encrypt(slots), 50);
const ct = encrypt.last;
const validate = time(() => ctx.validateCiphertext(ct), 200);
const add100 = time(() => ctx.add(Array.from({ length: 100 }, () => ct)), 5);
const decrypt = time(() => dec.decrypt(ct), 20);
const packed = packCiphertext(ctx, ct);
const pack = time(() => packCiphertext(ctx, ct), 50);
const validatePacked = time(() => validatePackedCiphertext(ctx, packed), 200);
const accumulate100 = time(() => {
  const acc = new CiphertextAccumulator(ctx);
  for (let i = 0; i < 100; i++) acc.add(packed);
  return acc;
}, 20);
const reduce = time(() => accumulate100.last.sumPacked(), 20);
const decryptPacked = time(() => dec.decryptPacked(packed), 20);
const budgets: Record<string, number> = { fresh: dec.noiseBudget(ct) };
for (const n of [10, 100, 256, 1024]) budgets[`sum of ${n}`] = dec.noiseBudget(ctx.add(Array.from({ length: n }, () => ct)));
const layout = new SlotLayout([{ name: 'u64', max: (1n << 64n) - 1n }], {
  plainModulus: ctx.plainModulus,
  slotCount: ctx.slotCount,
  maxContributors: 255,
});

console.log(
  JSON.stringify(
    {
      node: process.version,
      paramSet: ctx.paramSet.name,
      plainModulus: ctx.plainModulus.toString(),
      ciphertextBytes: ctx.ciphertextByteLength,
      bytesPerSlot: ctx.ciphertextByteLength / ctx.slotCount,
      publicKeyBytes: ctx.publicKeyByteLength,
      secretKeyBytes: ctx.secretKeyByteLength,
      limbBitsAt255Contributors: layout.limbBits,
      bytesPer64BitValue: (layout.limbCount(0) * ctx.ciphertextByteLength) / ctx.slotCount,
      packedCiphertextBytes: ctx.packedCiphertextByteLength,
      packedBytesPer64BitValue: (layout.limbCount(0) * ctx.packedCiphertextByteLength) / ctx.slotCount,
      maxSafeContributorsFor64Bit: layout.maxSafeContributors.toString(),
      contextCreateMs: +createMs.toFixed(1),
      keygenMs: +keygen.ms.toFixed(2),
      encryptMs: +encrypt.ms.toFixed(2),
      validateMs: +validate.ms.toFixed(3),
      addPerCiphertextMs: +(add100.ms / 100).toFixed(3),
      decryptMs: +decrypt.ms.toFixed(2),
      packMs: +pack.ms.toFixed(3),
      validatePackedMs: +validatePacked.ms.toFixed(3),
      accumulatePerCiphertextMs: +(accumulate100.ms / 100).toFixed(3),
      reducePerRoundMs: +reduce.ms.toFixed(3),
      decryptPackedMs: +decryptPacked.ms.toFixed(2),
      noiseBudgetBits: budgets,
    },
    null,
    2,
  ),
);
enc.close();
dec.close();
ctx.close();
