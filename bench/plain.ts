/**
 * Reference without encryption: a merchant writes its 64-bit values as 8
 * little-endian bytes each and signs the share; the coordinator reads and
 * adds them in BigInt. Same share size and contributor count as the HE bench.
 */
import { blake2b256 } from '../crypto/index.js';
import type { BenchPlan } from './options.js';
import { BenchCheckError, record } from './records.js';
import type { BenchRecord } from './records.js';
import { ShareSigner } from './share-signing.js';
import { sample } from './stats.js';
import { columnSums, firstMismatch, randomContributions } from './values.js';

const BYTES_PER_VALUE = 8;

export function encodeValues(values: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * BYTES_PER_VALUE);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigUint64(i * BYTES_PER_VALUE, v, true));
  return out;
}

/** Adds every share into `acc` (one BigInt per value), after a length check. */
export function addShares(shares: readonly Uint8Array[], valueCount: number): bigint[] {
  const acc = new Array<bigint>(valueCount).fill(0n);
  for (const share of shares) {
    if (share.length !== valueCount * BYTES_PER_VALUE) throw new BenchCheckError('plaintext: share has the wrong length');
    const view = new DataView(share.buffer, share.byteOffset, share.byteLength);
    for (let i = 0; i < valueCount; i++) acc[i] = (acc[i] as bigint) + view.getBigUint64(i * BYTES_PER_VALUE, true);
  }
  return acc;
}

export function runPlainBench(plan: BenchPlan, valuesPerShare: number, progress: (message: string) => void): BenchRecord[] {
  const m = plan.contributors;
  const v = valuesPerShare;
  progress(`plaintext: ${plan.plainSamples} merchant shares and coordinator sums of ${m} x ${v} values`);
  const placeholder = blake2b256(new TextEncoder().encode('plaintext'));
  const signer = new ShareSigner({ paramSet: 'plaintext', keyId: placeholder, layoutDigest: placeholder });
  const rows = randomContributions(m, v);

  const encode = sample((i) => encodeValues(rows[i % m] as bigint[]), { warmup: plan.warmup, samples: plan.plainSamples });
  const merchant = sample((i) => signer.sign(encodeValues(rows[i % m] as bigint[]), i % m), {
    warmup: plan.warmup,
    samples: plan.plainSamples,
  });
  const shares = rows.map(encodeValues);
  const coordinator = sample(() => addShares(shares, v), { warmup: plan.warmup, samples: plan.plainSamples });

  const totals = addShares(shares, v);
  const expected = columnSums(rows);
  const bad = firstMismatch(totals, expected);
  if (bad !== -1) throw new BenchCheckError(`plaintext: sum of value ${bad} is ${totals[bad]}, expected ${expected[bad]}`);

  const perValueUs = (ms: number, count: number): number => (ms * 1000) / count;
  return [
    record('plain.bytes_per_value', BYTES_PER_VALUE, 'bytes/value', 'little-endian u64'),
    record('plain.encode_us_per_value', perValueUs(encode.wallMs, v), 'µs/value', `DataView.setBigUint64, shares of ${v} values`),
    record('plain.add_us_per_value', perValueUs(coordinator.wallMs, m * v), 'µs/value', 'getBigUint64 + BigInt add'),
    record('plain.merchant_cpu_us_per_value', perValueUs(merchant.cpuMs, v), 'µs/value', 'process CPU: encode + BLAKE2b + Ed25519 envelope signature'),
    record('plain.coordinator_cpu_us_per_value', perValueUs(coordinator.cpuMs, m * v), 'µs/value', `process CPU: length check + read + add, ${m} shares`),
  ];
}
