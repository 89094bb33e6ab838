/**
 * Key evidence on the wire (MerchantKeyEvidence) and the statement the
 * coordinator signs for a release request. One definition each, used by the
 * merchant, the coordinator and the key holder.
 */
import { signDigest, statementDigest, type KeyEvidence, type KeyRotation as KeyRotationValue, type SigningKeyPair } from '../crypto/index.js';
import type { KeyRotation, MerchantKeyEvidence } from './gen/fedmart/v1/merchant.js';
import type { ReleaseHeader } from './gen/fedmart/v1/keyholder.js';

export const RELEASE_REQUEST_DOMAIN = 'fedmart/v1/release-request';

export function keyRotationToWire(r: KeyRotationValue): KeyRotation {
  return { sequence: r.sequence, newKey: Buffer.from(r.newKey), signature: Buffer.from(r.signature), proofOfPossession: Buffer.from(r.proofOfPossession) };
}

export function keyRotationFromWire(r: KeyRotation): KeyRotationValue {
  return { sequence: r.sequence, newKey: r.newKey, signature: r.signature, proofOfPossession: r.proofOfPossession };
}

export function keyEvidenceToWire(e: KeyEvidence): MerchantKeyEvidence {
  return {
    statement: {
      merchantId: e.statement.merchantId,
      tokenId: Buffer.from(e.statement.tokenId),
      tokenPublicKey: Buffer.from(e.statement.tokenPublicKey),
      expiresUnixMs: BigInt(e.statement.expiresUnixMs),
    },
    authoritySignature: Buffer.from(e.authoritySignature),
    enrolledKey: Buffer.from(e.enrolledKey),
    tokenBinding: Buffer.from(e.tokenBinding),
    rotations: e.rotations.map(keyRotationToWire),
  };
}

/** Shape conversion only; undefined when the statement is missing. Verify with `verifyKeyEvidence`. */
export function keyEvidenceFromWire(e: MerchantKeyEvidence | undefined): KeyEvidence | undefined {
  if (!e?.statement) return undefined;
  const expires = e.statement.expiresUnixMs;
  return {
    statement: {
      merchantId: e.statement.merchantId,
      tokenId: e.statement.tokenId,
      tokenPublicKey: e.statement.tokenPublicKey,
      expiresUnixMs: expires > 0n && expires <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(expires) : -1,
    },
    authoritySignature: e.authoritySignature,
    enrolledKey: e.enrolledKey,
    tokenBinding: e.tokenBinding,
    rotations: e.rotations.map(keyRotationFromWire),
  };
}

/** The digest the coordinator's request-signing key signs: every header field but the signature. */
export function releaseRequestDigest(h: ReleaseHeader): Uint8Array {
  return statementDigest(RELEASE_REQUEST_DOMAIN, [
    h.queryId,
    h.kind,
    h.specJson,
    h.specDigest,
    h.paramSet,
    h.keyId,
    h.maxContributors,
    h.aggregateDigest,
    h.contributionCount,
    h.cutoffUnixMs,
  ]);
}

/** The coordinator's signature over a release header (every field but the signature). */
export function signReleaseRequest(header: ReleaseHeader, requestKey: SigningKeyPair): Buffer {
  return Buffer.from(signDigest(releaseRequestDigest(header), requestKey.secretKey));
}
