/**
 * BFV through the project's crypto module: a merchant encodes, encrypts,
 * packs and signs one ciphertext full of 64-bit values; the coordinator
 * validates and adds M packed ciphertexts with `CiphertextAccumulator`
 * (`he-coordinator.ts`, which also times the SEAL path for comparison); the
 * key holder unpacks and decrypts the sum. The decrypted totals must equal
 * the plaintext column sums or the bench fails.
 */
import { performance } from 'node:perf_hooks';
import {
  generateHeKeys,
  HeContext,
  HeDecryptor,
  HeEncryptor,
  heKeyId,
  packCiphertext,
  PooledEncryptor,
  SlotLayout,
  sumPackedContributions,
  unpackCiphertext,
} from '../crypto/index.js';
import type { HeParamSetName } from '../crypto/index.js';
import type { BenchPlan } from './options.js';
import { BenchCheckError, record } from './records.js';
import type { BenchRecord } from './records.js';
import { runHeCoordinatorBench } from './he-coordinator.js';
import { ShareSigner } from './share-signing.js';
import type { SignedShare } from './share-signing.js';
import { cpuMsNow, median, sample, StageClock } from './stats.js';
import { columnSums, firstMismatch, randomContributions, U64_MAX } from './values.js';

export const HE_PARAM_SET: HeParamSetName = 'bfv-8192-t40';

/** A layout holding as many 64-bit fields as fit in one ciphertext. */
export function fullCiphertextLayout(ctx: HeContext, maxContributors: number): SlotLayout {
  const options = { plainModulus: ctx.plainModulus, slotCount: ctx.slotCount, maxContributors };
  const probe = new SlotLayout([{ name: 'v0', max: U64_MAX }], options);
  const perCiphertext = Math.floor(ctx.slotCount / probe.limbCount(0));
  const fields = Array.from({ length: perCiphertext }, (_, i) => ({ name: `v${i}`, max: U64_MAX }));
  const layout = new SlotLayout(fields, options);
  if (layout.ciphertextCount !== 1) {
    throw new Error(`expected ${perCiphertext} 64-bit fields to fill exactly one ciphertext, got ${layout.ciphertextCount}`);
  }
  return layout;
}

export interface HeBenchResult {
  readonly records: BenchRecord[];
  /** 64-bit values per ciphertext (the plaintext bench uses the same share size). */
  readonly valuesPerCiphertext: number;
}

interface MerchantSample {
  encodeMs: number;
  encryptMs: number;
  signMs: number;
  cpuMs: number;
}

export async function runHeBench(plan: BenchPlan, progress: (message: string) => void): Promise<HeBenchResult> {
  const m = plan.contributors;
  if (m < 2) throw new RangeError('contributors must be at least 2');

  progress(`HE: creating ${HE_PARAM_SET} context and keys`);
  let t0 = performance.now();
  const ctx = await HeContext.create(HE_PARAM_SET);
  const contextMs = performance.now() - t0;
  let enc: HeEncryptor | undefined;
  let dec: HeDecryptor | undefined;
  try {
    t0 = performance.now();
    const keys = generateHeKeys(ctx);
    const keygenMs = performance.now() - t0;
    enc = new HeEncryptor(ctx, keys.publicKey);
    dec = new HeDecryptor(ctx, keys.secretKey);

    const layout = fullCiphertextLayout(ctx, plan.layoutMaxContributors);
    layout.assertNoWrap(m);
    const v = layout.fields.length;
    const signer = new ShareSigner({ paramSet: HE_PARAM_SET, keyId: heKeyId(keys.publicKey), layoutDigest: layout.digest() });
    const rows = randomContributions(m, v);

    // Merchant: encode + encrypt and pack + hash and sign, once per contribution.
    const passes = plan.warmup + Math.max(plan.heMerchantSamples, m);
    progress(`HE: ${passes} merchant passes (encode, encrypt, pack, sign ${v} values each)`);
    const shares: Uint8Array[] = new Array<Uint8Array>(m);
    const signed: SignedShare[] = new Array<SignedShare>(m);
    const merchant: MerchantSample[] = [];
    for (let i = 0; i < passes; i++) {
      const row = rows[i % m] as bigint[];
      const c0 = cpuMsNow();
      const clock = new StageClock();
      const slots = layout.encode(row);
      const encodeMs = clock.lap();
      const ct = enc.encryptPacked(slots[0] as BigUint64Array);
      const encryptMs = clock.lap();
      const s = signer.sign(ct, i % m);
      const signMs = clock.lap();
      const cpuMs = cpuMsNow() - c0;
      shares[i % m] = ct;
      signed[i % m] = s;
      if (i >= plan.warmup) merchant.push({ encodeMs, encryptMs, signMs, cpuMs });
    }
    const encodeMs = median(merchant.map((x) => x.encodeMs));
    const encryptMs = median(merchant.map((x) => x.encryptMs));
    const signMs = median(merchant.map((x) => x.signMs));
    const merchantCpuMs = median(merchant.map((x) => x.cpuMs));

    // Packing alone (inside encryptPacked above): validate the SEAL bytes, then pack.
    const encrypter = enc;
    const sealSamples = Array.from({ length: Math.min(m, 8) }, (_, i) => encrypter.encrypt(layout.encode(rows[i] as bigint[])[0] as BigUint64Array));
    const pack = sample((i) => packCiphertext(ctx, sealSamples[i % sealSamples.length] as Uint8Array), {
      warmup: plan.warmup,
      samples: plan.heMerchantSamples,
    });

    // Send-time encryption, fresh against the Enc(0) pool, in one run. CPU time of this
    // single-threaded loop is time on one core; the pool's fill is timed on its own.
    progress(`HE: fresh vs pool encryption, ${plan.heMerchantSamples} ciphertexts each, and the pool's fill`);
    const encSlots = Array.from({ length: Math.min(m, 8) }, (_, i) => layout.encode(rows[i] as bigint[])[0] as BigUint64Array);
    const encOptions = { warmup: plan.warmup, samples: plan.heMerchantSamples };
    const fresh = sample((i) => encrypter.encryptPacked(encSlots[i % encSlots.length] as BigUint64Array), encOptions);
    const poolSize = plan.warmup + plan.heMerchantSamples + m;
    const pooled = new PooledEncryptor(ctx, keys.publicKey, { poolSize, autoRefill: false });
    let fillCpuMs: number;
    let fillWallMs: number;
    let poolTiming: ReturnType<typeof sample>;
    let poolSumBudget: number;
    try {
      const fc0 = cpuMsNow();
      const ft0 = performance.now();
      pooled.pool.add(pooled.keyId, pooled.encryptZerosHere(poolSize));
      fillWallMs = (performance.now() - ft0) / poolSize;
      fillCpuMs = (cpuMsNow() - fc0) / poolSize;
      poolTiming = sample((i) => pooled.encryptPacked(encSlots[i % encSlots.length] as BigUint64Array), encOptions);
      // Pool-made ciphertexts of every contribution must sum to the plaintext sums, like fresh ones.
      const poolShares = rows.map((row) => pooled.encryptPacked(layout.encode(row)[0] as BigUint64Array));
      if (pooled.fresh !== 0) throw new BenchCheckError(`HE: the pool ran dry (${pooled.fresh} fresh encryptions)`);
      const [poolSum] = sumPackedContributions(ctx, poolShares, 1);
      const poolTotals = layout.decode([dec.decryptPacked(poolSum as Uint8Array)]);
      const poolBad = firstMismatch(poolTotals, columnSums(rows));
      if (poolBad !== -1) throw new BenchCheckError(`HE: the decrypted sum of pool-made ciphertexts differs at value ${poolBad}`);
      poolSumBudget = dec.noiseBudget(unpackCiphertext(ctx, poolSum as Uint8Array));
    } finally {
      pooled.close();
    }
    const perCore = (cpuMs: number): number => (v * 1000) / cpuMs;

    // Coordinator: signature check per contribution, then the accumulator (and SEAL for comparison).
    const verify = sample(
      (i) => {
        if (!signer.verify(shares[i % m] as Uint8Array, signed[i % m] as SignedShare)) {
          throw new BenchCheckError(`HE: the envelope signature of contribution ${i % m} does not verify`);
        }
      },
      { warmup: plan.warmup, samples: plan.heValidateSamples },
    );
    const coordinator = runHeCoordinatorBench(ctx, shares, v, plan, progress);

    // Key holder: unpack and decrypt the sum; it must equal the plaintext sums.
    progress(`HE: decrypting the sum ${plan.heDecryptSamples}x and checking it`);
    const sum = coordinator.sumPacked;
    const decrypter = dec;
    const decrypt = sample(() => decrypter.decryptPacked(sum), { warmup: plan.warmup, samples: plan.heDecryptSamples });
    const totals = layout.decode([dec.decryptPacked(sum)]);
    const expected = columnSums(rows);
    const bad = firstMismatch(totals, expected);
    if (bad !== -1) {
      throw new BenchCheckError(`HE: decrypted sum of value ${bad} is ${totals[bad]}, expected ${expected[bad]}`);
    }
    const noiseBudget = dec.noiseBudget(unpackCiphertext(ctx, sum));

    const perValueUs = (ms: number): number => (ms * 1000) / v;
    const perValue = (bytes: number): number => (bytes * layout.ciphertextCount) / v;
    const coefficientBytes = 2 * ctx.slotCount * 8 * ctx.ciphertextModuli.length;
    return {
      valuesPerCiphertext: v,
      records: [
        record('he.slot_count', ctx.slotCount, 'slots', ctx.paramSet.description),
        record('he.limb_bits', layout.limbBits, 'bits', `64-bit values split into ${layout.limbCount(0)} limbs; maxContributors ${layout.maxContributors}`),
        record('he.values_per_ciphertext', v, 'values'),
        record('he.ciphertext_bytes', ctx.packedCiphertextByteLength, 'bytes', 'on the wire: packed (113-byte SEAL prefix + 2 polys x N x 60 bits)'),
        record('he.seal_ciphertext_bytes', ctx.ciphertextByteLength, 'bytes', 'uncompressed SEAL serialization (prefix + 2 polys x N x 8 bytes)'),
        record('he.header_bytes_per_ciphertext', ctx.ciphertextByteLength - coefficientBytes, 'bytes', `SEAL prefix, kept in the packed form; SEAL coefficients take ${coefficientBytes} bytes`),
        record('he.bytes_per_value', perValue(ctx.packedCiphertextByteLength), 'bytes/value', 'packedCiphertextByteLength x ciphertextCount / valuesPerCiphertext'),
        record('he.seal_bytes_per_value', perValue(ctx.ciphertextByteLength), 'bytes/value', 'ciphertextByteLength x ciphertextCount / valuesPerCiphertext (unpacked)'),
        record('he.context_create_ms', contextMs, 'ms', 'one sample; includes WASM start and self-test'),
        record('he.keygen_ms', keygenMs, 'ms', 'one sample'),
        record('he.encode_ms_per_ciphertext', encodeMs, 'ms/ciphertext', 'SlotLayout.encode into limbs'),
        record('he.encode_us_per_value', perValueUs(encodeMs), 'µs/value'),
        record('he.encrypt_ms_per_ciphertext', encryptMs, 'ms/ciphertext', 'encryptPacked: batch encode + encrypt + serialize + validate + pack'),
        record('he.encrypt_us_per_value', perValueUs(encryptMs), 'µs/value'),
        record('he.fresh_encrypt_ms_per_ciphertext', fresh.wallMs, 'ms/ciphertext', 'encryptPacked alone (public-key encryption + pack), wall'),
        record('he.fresh_encrypt_values_per_s_per_core', perCore(fresh.cpuMs), 'values/s', `${v} values / CPU time of one encryptPacked (${fresh.cpuMs.toFixed(3)} ms)`),
        record('he.pool_encrypt_ms_per_ciphertext', poolTiming.wallMs, 'ms/ciphertext', 'PooledEncryptor.encryptPacked from a filled pool: batch encode + add the scaled plaintext to a precomputed Enc(0) + pack, wall'),
        record('he.pool_encrypt_values_per_s_per_core', perCore(poolTiming.cpuMs), 'values/s', `send time: ${v} values / CPU time of one pool encryption (${poolTiming.cpuMs.toFixed(3)} ms); fill not included`),
        record('he.pool_fill_ms_per_ciphertext', fillCpuMs, 'ms/ciphertext', `CPU per precomputed Enc(0) (encryptZero + serialize), ${poolSize} made in one call; wall ${fillWallMs.toFixed(3)} ms`),
        record('he.pool_fill_plus_encrypt_values_per_s_per_core', perCore(fillCpuMs + poolTiming.cpuMs), 'values/s', 'fill and send time together, per core: what the pool costs in all'),
        record('he.pool_over_fresh_send_time', fresh.cpuMs / poolTiming.cpuMs, 'x', 'CPU of a fresh encryption / CPU of a pool encryption'),
        record('he.pool_noise_budget_bits_after_sum', poolSumBudget, 'bits', `after adding ${m} pool-made ciphertexts (fresh: he.noise_budget_bits_after_sum)`),
        record('he.pack_ms_per_ciphertext', pack.wallMs, 'ms/ciphertext', 'packCiphertext alone (included in encrypt): validate SEAL bytes + pack'),
        record('he.sign_ms_per_ciphertext', signMs, 'ms/ciphertext', 'BLAKE2b-256 of the packed ciphertext + Ed25519 envelope signature'),
        ...coordinator.records,
        record('he.verify_ms_per_ciphertext', verify.wallMs, 'ms/ciphertext', 'BLAKE2b-256 + Ed25519 verify; not in coordinator CPU'),
        record('he.decrypt_ms_per_ciphertext', decrypt.wallMs, 'ms/ciphertext', 'decryptPacked: validate + unpack + load + decrypt + BigInt decode'),
        record('he.decrypt_us_per_value', perValueUs(decrypt.wallMs), 'µs/value'),
        record('he.noise_budget_bits_after_sum', noiseBudget, 'bits', `after adding ${m} ciphertexts`),
        record('he.merchant_cpu_us_per_value', perValueUs(merchantCpuMs), 'µs/value', 'process CPU: encode + encryptPacked + sign'),
        record(
          'he.coordinator_cpu_us_per_value',
          (coordinator.roundCpuMs * 1000) / (m * v),
          'µs/value',
          `process CPU of a round (${m} accumulator adds + one reduction) / (${m} x ${v} values)`,
        ),
        record(
          'he.coordinator_cpu_with_signatures_us_per_value',
          ((coordinator.roundCpuMs + m * verify.cpuMs) * 1000) / (m * v),
          'µs/value',
          'as above + BLAKE2b and Ed25519 verify of each contribution',
        ),
      ],
    };
  } finally {
    dec?.close();
    enc?.close();
    ctx.close();
  }
}
