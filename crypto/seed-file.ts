/**
 * 32-byte secret seeds kept in files of their own (Ed25519 signing seeds of
 * merchant nodes and of the coordinator's audit log). Created with mode 0600
 * in a 0700 folder; a file that others may read is refused rather than used,
 * so a mistaken `chmod` cannot silently expose a key.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from './sign.js';

/** Length of a seed file's content. */
export const SEED_FILE_BYTES = 32;

/** A seed file is unreadable, malformed or too widely readable. */
export class SeedFileError extends Error {
  constructor(
    readonly code: 'SEED_FILE_PERMISSIONS' | 'SEED_FILE_LENGTH',
    message: string,
  ) {
    super(message);
    this.name = 'SeedFileError';
  }
}

/** Reads the 32-byte seed at `path`, creating it from a CSPRNG on first use. */
export function loadOrCreateSeedFile(path: string): Uint8Array {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, randomBytes(SEED_FILE_BYTES), { mode: 0o600, flag: 'wx' });
  }
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0) {
    throw new SeedFileError('SEED_FILE_PERMISSIONS', `${path} has mode ${(mode & 0o777).toString(8)}; secret key files must be 0600 (chmod 600 ${path})`);
  }
  const seed = new Uint8Array(readFileSync(path));
  if (seed.length !== SEED_FILE_BYTES) throw new SeedFileError('SEED_FILE_LENGTH', `${path} must hold exactly ${SEED_FILE_BYTES} bytes`);
  return seed;
}
