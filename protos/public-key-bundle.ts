/**
 * Checks a homomorphic public key bundle before anyone encrypts under it or
 * hands its bytes to SEAL: key holder signature (pinned when a key is given),
 * key id, parameter set and the key's exact structure.
 */
import { constantTimeEqual, fromHex, heKeyId, publicKeyBundleDigest, verifyDigest, type HeContext } from '../crypto/index.js';
import type { PublicKeyBundle } from './gen/fedmart/v1/merchant.js';

/** Throws an Error naming what is wrong with a public key bundle. */
export function checkPublicKeyBundle(bundle: PublicKeyBundle, ctx: HeContext, pinnedSigningKeyHex?: string): void {
  if (bundle.paramSet !== ctx.paramSet.name) throw new Error(`key holder uses parameter set ${bundle.paramSet}, expected ${ctx.paramSet.name}`);
  if (pinnedSigningKeyHex !== undefined && !constantTimeEqual(bundle.keyholderSigningKey, fromHex(pinnedSigningKeyHex))) {
    throw new Error('key holder signing key does not match the pinned key');
  }
  if (!verifyDigest(bundle.signature, publicKeyBundleDigest(bundle.paramSet, bundle.keyId), bundle.keyholderSigningKey)) {
    throw new Error('public key bundle signature does not verify');
  }
  ctx.validatePublicKey(bundle.publicKey);
  if (!constantTimeEqual(heKeyId(bundle.publicKey), bundle.keyId)) throw new Error('key_id is not the digest of the public key');
}
