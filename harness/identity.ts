/**
 * Merchant identity for tests, set up the way a deployment is: an
 * enrolment authority whose tokens every merchant enrols with, and the
 * coordinator's release-request key, both as 32-byte seed files
 * (DIR/enrolment/authority.seed, DIR/coordinator/request-signing.seed).
 *
 * One authority serves a whole test process, so helpers that enrol
 * merchants (makeMerchants, raw clients) can issue tokens without being
 * told which cluster they talk to.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  authorityPublicKeyOf,
  cryptoReady,
  issueEnrolmentToken,
  loadOrCreateSeedFile,
  randomBytes,
  signingKeyPairFromSeed,
  toHex,
  type SigningKeyPair,
} from '../crypto/index.js';

let authoritySeed: Uint8Array | undefined;

/** The test process's enrolment authority seed. */
export async function testAuthoritySeed(): Promise<Uint8Array> {
  await cryptoReady();
  authoritySeed ??= randomBytes(32);
  return authoritySeed;
}

/** A one-time enrolment token for `merchantId` from the test authority. */
export async function testEnrolmentToken(merchantId: string, expiresUnixMs?: number): Promise<string> {
  return issueEnrolmentToken({ authoritySeed: await testAuthoritySeed(), merchantId, ...(expiresUnixMs === undefined ? {} : { expiresUnixMs }) });
}

export interface TestIdentity {
  /** DIR/enrolment/authority.seed (the administrator's). */
  readonly authoritySeedFile: string;
  readonly authorityPublicKeyHex: string;
  /** DIR/coordinator/request-signing.seed (the coordinator's). */
  readonly requestSeedFile: string;
  readonly requestKey: SigningKeyPair;
  readonly requestKeyHex: string;
}

/** Writes the authority seed and a request-signing seed under `dir` (0600 files, 0700 folders). */
export async function testIdentity(dir: string): Promise<TestIdentity> {
  const seed = await testAuthoritySeed();
  const authoritySeedFile = join(dir, 'enrolment', 'authority.seed');
  if (!existsSync(authoritySeedFile)) {
    mkdirSync(dirname(authoritySeedFile), { recursive: true, mode: 0o700 });
    writeFileSync(authoritySeedFile, seed, { mode: 0o600 });
  }
  const requestSeedFile = join(dir, 'coordinator', 'request-signing.seed');
  const requestKey = signingKeyPairFromSeed(loadOrCreateSeedFile(requestSeedFile));
  return {
    authoritySeedFile,
    authorityPublicKeyHex: toHex(authorityPublicKeyOf(seed)),
    requestSeedFile,
    requestKey,
    requestKeyHex: toHex(requestKey.publicKey),
  };
}
