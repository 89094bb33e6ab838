/**
 * Where disclosure noise gets its randomness.
 *
 * Noise protects only if the reader cannot predict or replay it, so the
 * production source is the operating system's CSPRNG through
 * `node:crypto.randomFillSync`; `Math.random` (a seeded xorshift in V8 whose
 * state can be recovered from a few outputs) is never used. Tests inject a
 * deterministic source to make statistical checks reproducible.
 *
 * Samplers draw integers, never floats: {@link uniformBelow} turns bytes
 * into an exactly uniform integer in `[0, n)` by rejection, so the sampled
 * distributions are exactly the ones the privacy analysis assumes.
 *
 * @module
 */
import { randomFillSync } from 'node:crypto';

/** A source of uniformly random bytes. */
export interface RandomSource {
  /** Short description for logs and tests, e.g. `node:crypto`. */
  readonly name: string;
  /** Overwrites every byte of `bytes` with uniformly random bytes. */
  fill(bytes: Uint8Array): void;
}

/** The operating system CSPRNG (`node:crypto.randomFillSync`). */
export const cryptoRandomSource: RandomSource = Object.freeze({
  name: 'node:crypto',
  fill: (bytes: Uint8Array): void => {
    randomFillSync(bytes);
  },
});

/** The source used when none is injected: always {@link cryptoRandomSource}. */
export function defaultRandomSource(): RandomSource {
  return cryptoRandomSource;
}

/**
 * Reads a {@link RandomSource} through a pool, so that one sample (which
 * needs tens of small draws) costs a few array reads rather than tens of
 * system calls. Pool bytes are used once and then overwritten.
 */
export class RandomReader {
  readonly source: RandomSource;
  readonly #pool: Uint8Array;
  #pos: number;

  constructor(source: RandomSource = defaultRandomSource(), poolBytes = 4096) {
    if (typeof source !== 'object' || source === null || typeof source.fill !== 'function') {
      throw new TypeError('source: expected a RandomSource with fill(bytes)');
    }
    if (!Number.isSafeInteger(poolBytes) || poolBytes < 64) throw new RangeError('poolBytes: expected an integer >= 64');
    this.source = source;
    this.#pool = new Uint8Array(poolBytes);
    this.#pos = poolBytes;
  }

  /** One uniformly random byte. */
  byte(): number {
    if (this.#pos >= this.#pool.length) {
      this.source.fill(this.#pool);
      this.#pos = 0;
    }
    const b = this.#pool[this.#pos] as number;
    this.#pool[this.#pos++] = 0;
    return b;
  }
}

/** Exactly uniform integer in `[0, n)`, by rejection of masked random bits. */
export function uniformBelow(n: bigint, rng: RandomReader): bigint {
  if (typeof n !== 'bigint' || n < 1n) throw new RangeError(`n: expected a bigint >= 1, got ${String(n)}`);
  if (n === 1n) return 0n;
  if (n <= 0x1_0000_0000n) {
    // Fast path with exact integer Numbers (all values < 2^32).
    const m = Number(n);
    const bits = 32 - Math.clz32(m - 1);
    const bytes = (bits + 7) >>> 3;
    const mask = bits === 32 ? 0xffff_ffff : (1 << bits) - 1;
    for (;;) {
      let v = 0;
      for (let i = 0; i < bytes; i++) v = v * 256 + rng.byte();
      v = bits === 32 ? v : v & mask;
      if (v < m) return BigInt(v);
    }
  }
  const bits = (n - 1n).toString(2).length;
  const bytes = (bits + 7) >> 3;
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    let v = 0n;
    for (let i = 0; i < bytes; i++) v = (v << 8n) | BigInt(rng.byte());
    v &= mask;
    if (v < n) return v;
  }
}
