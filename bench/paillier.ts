/**
 * Baseline: 2048-bit Paillier (`paillier-bigint`), one ciphertext per value,
 * as FATE-style federated systems do it. Decrypting the homomorphic sum must
 * give the plaintext sum or the bench fails.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { generateRandomKeys } from 'paillier-bigint';
import type { BenchPlan } from './options.js';
import { BenchCheckError, record } from './records.js';
import type { BenchRecord } from './records.js';
import { ShareSigner } from './share-signing.js';
import { sample } from './stats.js';
import { randomU64Values } from './values.js';

export const PAILLIER_BITS = 2048;

function byteLength(v: bigint): number {
  return Math.ceil(v.toString(2).length / 8);
}

/**
 * @param valuesPerShare values in one signed share (the HE ciphertext's count),
 *   for the cost of checking a share's signature per value
 */
export async function runPaillierBench(
  plan: BenchPlan,
  valuesPerShare: number,
  progress: (message: string) => void,
): Promise<BenchRecord[]> {
  const m = plan.contributors;
  progress(`Paillier: generating a ${PAILLIER_BITS}-bit key pair`);
  const t0 = performance.now();
  const { publicKey, privateKey } = await generateRandomKeys(PAILLIER_BITS);
  const keygenMs = performance.now() - t0;
  const n2 = publicKey.n * publicKey.n;
  const ciphertextBytes = byteLength(n2 - 1n);

  const count = plan.warmup + plan.paillierEncryptSamples;
  const values = randomU64Values(count);
  const ciphertexts: bigint[] = new Array<bigint>(count);
  progress(`Paillier: ${count} encryptions (~50 ms each)`);
  const encrypt = sample(
    (i) => {
      const c = publicKey.encrypt(values[i] as bigint);
      ciphertexts[i] = c;
      return c;
    },
    { warmup: plan.warmup, samples: plan.paillierEncryptSamples },
  );
  for (const c of ciphertexts) {
    if (byteLength(c) > ciphertextBytes) throw new BenchCheckError('Paillier: a ciphertext is longer than n^2');
  }
  // A round of M contributions reuses the encrypted values cyclically: the
  // cost of a homomorphic addition does not depend on which ciphertext it is.
  const round = Array.from({ length: m }, (_, i) => ciphertexts[i % count] as bigint);
  const expected = Array.from({ length: m }, (_, i) => values[i % count] as bigint).reduce((a, b) => a + b, 0n);

  progress(`Paillier: coordinator sum of ${m} ciphertexts ${plan.paillierAddSamples}x`);
  const add = sample(() => publicKey.addition(...round), { warmup: plan.warmup, samples: plan.paillierAddSamples });
  // The coordinator also range-checks each ciphertext (0 < c < n^2) before adding.
  const coordinator = sample(
    () => {
      for (const c of round) {
        if (c <= 0n || c >= n2) throw new BenchCheckError('Paillier: ciphertext out of range');
      }
      return publicKey.addition(...round);
    },
    { warmup: plan.warmup, samples: plan.paillierAddSamples },
  );

  // Checking a signed share of valuesPerShare ciphertexts: BLAKE2b over its bytes + one Ed25519 verify.
  const signer = new ShareSigner({ paramSet: `paillier-${PAILLIER_BITS}`, keyId: new Uint8Array(32), layoutDigest: new Uint8Array(32) });
  const share = new Uint8Array(randomBytes(ciphertextBytes * valuesPerShare));
  const signedShare = signer.sign(share, 0);
  const verify = sample(
    () => {
      if (!signer.verify(share, signedShare)) throw new BenchCheckError('Paillier: share signature does not verify');
    },
    { warmup: 1, samples: Math.max(3, Math.ceil(plan.paillierAddSamples / 5)) },
  );

  progress(`Paillier: decrypting the sum ${plan.paillierDecryptSamples}x and checking it`);
  const sum = publicKey.addition(...round);
  const decrypt = sample(() => privateKey.decrypt(sum), { warmup: 1, samples: plan.paillierDecryptSamples });
  const got = privateKey.decrypt(sum);
  if (got !== expected) throw new BenchCheckError(`Paillier: decrypted sum is ${got}, expected ${expected}`);

  return [
    record('paillier.keygen_ms', keygenMs, 'ms', `one sample, ${PAILLIER_BITS}-bit n; prime search time varies`),
    record('paillier.bytes_per_value', ciphertextBytes, 'bytes/value', 'one ciphertext mod n^2 per value'),
    record('paillier.encrypt_us_per_value', encrypt.wallMs * 1000, 'µs/value'),
    record('paillier.add_us_per_value', (add.wallMs * 1000) / (m - 1), 'µs/value', `one homomorphic addition (sum of ${m} / ${m - 1})`),
    record('paillier.decrypt_us_per_value', decrypt.wallMs * 1000, 'µs/value'),
    record('paillier.merchant_cpu_us_per_value', encrypt.cpuMs * 1000, 'µs/value', 'process CPU of encrypt; share signing not counted'),
    record('paillier.coordinator_cpu_us_per_value', (coordinator.cpuMs * 1000) / m, 'µs/value', `process CPU of range check + sum of ${m} ciphertexts / ${m}`),
    record(
      'paillier.coordinator_cpu_with_signatures_us_per_value',
      (coordinator.cpuMs * 1000) / m + (verify.cpuMs * 1000) / valuesPerShare,
      'µs/value',
      `as above + BLAKE2b and Ed25519 verify of a signed share of ${valuesPerShare} ciphertexts`,
    ),
  ];
}
