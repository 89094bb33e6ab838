/**
 * The key holder's keys at rest: the BFV secret and public keys and the
 * Ed25519 seed it signs releases with. Secret files are created with mode
 * 0600 in a 0700 folder, and refused if anyone else may read them.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  generateHeKeys,
  randomBytes,
  signingKeyPairFromSeed,
  type HeContext,
  type SigningKeyPair,
} from '../crypto/index.js';

export interface KeyHolderKeys {
  readonly hePublicKey: Uint8Array;
  readonly heSecretKey: Uint8Array;
  readonly signing: SigningKeyPair;
}

/** A key file exists but its permissions let others read it. */
export class KeyFilePermissionError extends Error {
  readonly code = 'KEY_FILE_PERMISSIONS';
  constructor(path: string, mode: number) {
    super(`${path} has mode ${(mode & 0o777).toString(8)}; secret key files must be 0600 (chmod 600 ${path})`);
    this.name = 'KeyFilePermissionError';
  }
}

function readSecret(path: string): Uint8Array {
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0) throw new KeyFilePermissionError(path, mode);
  return new Uint8Array(readFileSync(path));
}

function writeSecret(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/**
 * Loads the keys from `dir`, generating them on first use. The HE keys are
 * bound to the parameter set of `ctx`; a folder made for another set is refused.
 */
export function loadOrCreateKeys(dir: string, ctx: HeContext): KeyHolderKeys {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty string');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // A folder made beforehand (e.g. 0755) is tightened: it holds the secret key.
  chmodSync(dir, 0o700);
  const paramFile = join(dir, 'param-set');
  const publicFile = join(dir, 'he-public.key');
  const secretFile = join(dir, 'he-secret.key');
  const seedFile = join(dir, 'signing.seed');

  if (!existsSync(secretFile)) {
    const { publicKey, secretKey } = generateHeKeys(ctx);
    writeSecret(secretFile, secretKey);
    writeFileSync(publicFile, publicKey, { mode: 0o644 });
    writeFileSync(paramFile, ctx.paramSet.name + '\n', { mode: 0o644 });
  }
  if (!existsSync(seedFile)) writeSecret(seedFile, randomBytes(32));

  const storedParamSet = readFileSync(paramFile, 'utf8').trim();
  if (storedParamSet !== ctx.paramSet.name) {
    throw new Error(`keys in ${dir} are for parameter set ${storedParamSet}, not ${ctx.paramSet.name}`);
  }
  const hePublicKey = new Uint8Array(readFileSync(publicFile));
  ctx.validatePublicKey(hePublicKey);
  const heSecretKey = readSecret(secretFile);
  const seed = readSecret(seedFile);
  if (seed.length !== 32) throw new Error(`${seedFile} must hold 32 bytes`);
  return { hePublicKey, heSecretKey, signing: signingKeyPairFromSeed(seed) };
}
