/**
 * The merchant node's Ed25519 identity, kept as a 32-byte seed in a 0600 file
 * that is created on first use.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes, signingKeyPairFromSeed, type SigningKeyPair } from '../crypto/index.js';

export function loadOrCreateSigningKey(path: string): SigningKeyPair {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
  }
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0) throw new Error(`${path} has mode ${(mode & 0o777).toString(8)}; the signing key must be 0600`);
  const seed = new Uint8Array(readFileSync(path));
  if (seed.length !== 32) throw new Error(`${path} must hold a 32-byte seed`);
  return signingKeyPairFromSeed(seed);
}
