/**
 * Command-line options for merchant identity: the enrolment authority's
 * public key, the coordinator's release-request key, and reading them from
 * a hex string, a seed file or a deployment folder made by `fedmart init`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cryptoReady, signingKeyPairFromSeed, toHex } from '../crypto/index.js';
import { UsageError } from './args.js';
import { DEPLOYMENT_FILES, readDeployment } from './deployment.js';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/**
 * An Ed25519 public key given as 64 hex digits, or as a FILE holding either
 * a 32-byte seed (its public key is derived; the seed is not kept) or the 64
 * hex digits of the public key.
 */
export async function publicKeyFromArg(value: string, flag: string): Promise<string> {
  if (HEX_KEY.test(value)) return value.toLowerCase();
  if (!existsSync(value) || !statSync(value).isFile()) throw new UsageError(`--${flag} must be 64 hex digits or a file, got "${value}"`);
  const bytes = readFileSync(value);
  if (bytes.length === 32) {
    await cryptoReady();
    return toHex(signingKeyPairFromSeed(new Uint8Array(bytes)).publicKey);
  }
  const text = bytes.toString('utf8').trim();
  if (HEX_KEY.test(text)) return text.toLowerCase();
  throw new UsageError(`--${flag} ${value} holds neither a 32-byte seed nor 64 hex digits of a public key`);
}

/** Hex of the enrolment authority's public key: --enrolment-authority, else the deployment's; required. */
export async function enrolmentAuthorityOption(values: Record<string, string | boolean | undefined>, deployment: string | undefined): Promise<string> {
  const v = values['enrolment-authority'];
  if (typeof v === 'string') return publicKeyFromArg(v, 'enrolment-authority');
  if (deployment !== undefined) {
    // The public key from the manifest: services never need the administrator's seed.
    const key = readDeployment(deployment).enrolmentAuthority.publicKey;
    if (HEX_KEY.test(key)) return key.toLowerCase();
  }
  throw new UsageError('--enrolment-authority HEX|FILE is required (or --deployment DIR)');
}

/** Hex of the coordinator's release-request key: --coordinator-key, else the deployment manifest's; required. */
export async function coordinatorRequestKeyOption(values: Record<string, string | boolean | undefined>, deployment: string | undefined): Promise<string> {
  const v = values['coordinator-key'];
  if (typeof v === 'string') return publicKeyFromArg(v, 'coordinator-key');
  if (deployment !== undefined) {
    const key = readDeployment(deployment).coordinator.requestSigningPublicKey;
    if (HEX_KEY.test(key)) return key.toLowerCase();
  }
  throw new UsageError('--coordinator-key HEX|FILE is required (or --deployment DIR)');
}

/** The request-signing seed file: --request-key, else the deployment's, else .fedmart/coordinator-request.seed. */
export function requestKeyFileOption(values: Record<string, string | boolean | undefined>, deployment: string | undefined): string {
  const v = values['request-key'];
  if (typeof v === 'string') return v;
  return deployment === undefined ? '.fedmart/coordinator-request.seed' : join(deployment, DEPLOYMENT_FILES.requestSigningSeed);
}

/** Reads a 32-byte seed file without creating it (the authority's seed is made by fedmart init or by hand). */
export function readSeedFile(path: string, flag: string): Uint8Array {
  if (!existsSync(path)) throw new UsageError(`--${flag}: ${path} does not exist`);
  if ((statSync(path).mode & 0o077) !== 0) throw new UsageError(`--${flag}: ${path} is readable by others; chmod 600 ${path}`);
  const seed = new Uint8Array(readFileSync(path));
  if (seed.length !== 32) throw new UsageError(`--${flag}: ${path} must hold exactly 32 bytes (an Ed25519 seed)`);
  return seed;
}
