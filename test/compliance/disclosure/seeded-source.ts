/**
 * A deterministic RandomSource for reproducible statistical tests: the
 * ChaCha20 keystream of a key derived from a seed (node:crypto). Never used
 * outside tests.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { RandomSource } from '../../../compliance/disclosure/random-source.js';

export function seededSource(seed: string | number): RandomSource {
  const key = createHash('sha256').update(`fedmart-test-seed:${seed}`).digest();
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16));
  return {
    name: `chacha20-seed:${seed}`,
    fill(bytes: Uint8Array): void {
      const out = cipher.update(Buffer.alloc(bytes.length));
      bytes.set(out);
    },
  };
}
