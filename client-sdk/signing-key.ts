/**
 * The merchant node's Ed25519 identity, kept as a 32-byte seed in a 0600 file
 * that is created on first use.
 */
import { loadOrCreateSeedFile, signingKeyPairFromSeed, type SigningKeyPair } from '../crypto/index.js';

export function loadOrCreateSigningKey(path: string): SigningKeyPair {
  return signingKeyPairFromSeed(loadOrCreateSeedFile(path));
}
