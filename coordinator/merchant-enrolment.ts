/**
 * A merchant's signing key over gRPC: `Enroll` (the first key, with key
 * evidence from an enrolment token of the enrolment authority) and
 * `RotateKey` (the next key, signed by the current one). Both check the
 * merchant id with `checkRpcId` before anything else reads it, audit every
 * refused proof or evidence as `auth.failed`, and record the key in the
 * same transaction as its audit entry. Wired by `merchant-service.ts`.
 */
import { status } from '@grpc/grpc-js';
import {
  KeyEvidenceError,
  blake2b256,
  enrolmentDigest,
  keyEvidenceFromJson,
  keyEvidenceToJson,
  toHex,
  verifyDigest,
  verifyKeyEvidence,
  type KeyEvidence,
} from '../crypto/index.js';
import {
  RpcError,
  checkRpcId,
  isRpcId,
  keyEvidenceFromWire,
  keyRotationFromWire,
  type EnrollRequest,
  type EnrollResponse,
  type RotateKeyRequest,
  type RotateKeyResponse,
} from '../protos/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { GrpcRateLimiter } from './grpc-rate-limit.js';
import type { CoordinatorStore } from './store.js';

/** What enrolment and rotation use of the service's dependencies. */
export interface MerchantKeyDeps {
  readonly store: CoordinatorStore;
  readonly audit: AuditTrail;
  readonly log: { info(o: object, m?: string): void };
  /** Ed25519 public key of the enrolment authority: every enrolment needs a token it signed. */
  readonly enrolmentAuthorityPublicKey: Uint8Array;
  readonly limits: GrpcRateLimiter;
}

/** The caller of an RPC, for the per-peer limits. */
export interface RpcPeer {
  getPeer(): string;
}

/**
 * `Enroll`: registers `req.signingPublicKey` for `req.merchantId` once its
 * proof of possession and key evidence verify. Idempotent for the same key
 * and token; RpcError KEY_INVALID, PROOF_INVALID, KEY_EVIDENCE_MISSING, the
 * evidence's own code, TOKEN_USED, MERCHANT_REVOKED or MERCHANT_KEY_CONFLICT.
 */
export async function enroll(deps: MerchantKeyDeps, req: EnrollRequest, call: RpcPeer): Promise<EnrollResponse> {
  const { store, audit, log, limits } = deps;
  await limits.peer(call.getPeer());
  checkRpcId(req.merchantId, 'merchant_id');
  if (req.signingPublicKey.length !== 32) throw new RpcError(status.INVALID_ARGUMENT, 'KEY_INVALID', 'signing_public_key must be 32 bytes');
  if (!verifyDigest(req.proofOfPossession, enrolmentDigest(req.merchantId, req.signingPublicKey), req.signingPublicKey)) {
    await audit.record({ type: 'auth.failed', actor: 'coordinator', details: { surface: 'grpc', route: 'Enroll', reason: 'PROOF_INVALID' } });
    throw new RpcError(status.UNAUTHENTICATED, 'PROOF_INVALID', 'proof_of_possession does not verify');
  }
  const evidence = keyEvidenceFromWire(req.keyEvidence);
  if (!evidence) {
    await audit.record({ type: 'auth.failed', actor: 'coordinator', details: { surface: 'grpc', route: 'Enroll', reason: 'KEY_EVIDENCE_MISSING' } });
    throw new RpcError(status.UNAUTHENTICATED, 'KEY_EVIDENCE_MISSING', 'enrolment needs key evidence from an enrolment token (fedmart enrol-token)');
  }
  let tokenIdHex: string;
  try {
    if (evidence.rotations.length > 0) throw new KeyEvidenceError('ROTATION_INVALID', 'enrolment evidence must not carry rotations');
    tokenIdHex = verifyKeyEvidence(evidence, deps.enrolmentAuthorityPublicKey, req.merchantId, req.signingPublicKey, Date.now()).tokenIdHex;
  } catch (err) {
    if (!(err instanceof KeyEvidenceError)) throw err;
    await audit.record({ type: 'auth.failed', actor: 'coordinator', details: { surface: 'grpc', route: 'Enroll', reason: err.code } });
    throw new RpcError(status.PERMISSION_DENIED, err.code, `key evidence refused: ${err.message}`);
  }
  const outcome = await store.enrolMerchant(req.merchantId, req.signingPublicKey, (tx) => audit.record({
    type: 'merchant.enrolled',
    actor: req.merchantId,
    details: { merchantId: req.merchantId, keyDigest: toHex(blake2b256(req.signingPublicKey)), tokenId: tokenIdHex },
  }, tx), { tokenId: evidence.statement.tokenId, keyEvidenceJson: keyEvidenceToJson(evidence) });
  if (outcome === 'token-used') {
    throw new RpcError(status.ALREADY_EXISTS, 'TOKEN_USED', 'this enrolment token was already used for another key');
  }
  if (outcome === 'revoked') throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_REVOKED', `merchant ${req.merchantId} is revoked`);
  if (outcome === 'key-conflict') {
    throw new RpcError(status.ALREADY_EXISTS, 'MERCHANT_KEY_CONFLICT', `merchant ${req.merchantId} is enrolled with another key (rotate it with RotateKey)`);
  }
  if (outcome === 'enrolled') log.info({ merchantId: req.merchantId, tokenId: tokenIdHex }, 'merchant enrolled');
  return { merchantId: req.merchantId, newlyEnrolled: outcome === 'enrolled' };
}

/**
 * `RotateKey`: replaces an enrolled merchant's key with the rotation's new
 * key once the extended key evidence verifies. The same rotation again
 * answers as the first time; RpcError MERCHANT_NOT_ENROLLED,
 * MERCHANT_REVOKED, KEY_EVIDENCE_MISSING, ROTATION_INVALID,
 * ROTATION_SEQUENCE or the evidence's own code.
 */
export async function rotateKey(deps: MerchantKeyDeps, req: RotateKeyRequest, call: RpcPeer): Promise<RotateKeyResponse> {
  const { store, audit, log, limits } = deps;
  // An unauthenticated refusal costs the peer's bucket, like an unknown merchant.
  if (!isRpcId(req.merchantId)) await limits.peer(call.getPeer());
  checkRpcId(req.merchantId, 'merchant_id');
  const m = await store.merchantState(req.merchantId);
  if (!m) await limits.peer(call.getPeer());
  if (!m) throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_NOT_ENROLLED', `merchant ${req.merchantId} is not enrolled`);
  if (m.revokedAt !== null) throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_REVOKED', `merchant ${req.merchantId} is revoked`);
  if (m.keyEvidenceJson === null) {
    throw new RpcError(status.FAILED_PRECONDITION, 'KEY_EVIDENCE_MISSING', 'this merchant was enrolled without a token; enrol with one first');
  }
  if (!req.rotation) throw new RpcError(status.INVALID_ARGUMENT, 'ROTATION_INVALID', 'rotation is required');
  const rotation = keyRotationFromWire(req.rotation);
  const current = keyEvidenceFromJson(m.keyEvidenceJson);
  const previous = current.rotations[rotation.sequence - 1];
  if (previous && rotation.sequence === m.keySequence && Buffer.from(previous.newKey).equals(rotation.newKey) &&
      Buffer.from(previous.signature).equals(rotation.signature)) {
    // The same rotation again (a lost reply): nothing to do.
    return { merchantId: req.merchantId, sequence: m.keySequence };
  }
  if (rotation.sequence !== m.keySequence + 1) {
    throw new RpcError(status.FAILED_PRECONDITION, 'ROTATION_SEQUENCE', `the next rotation of ${req.merchantId} has sequence ${m.keySequence + 1}`);
  }
  const next: KeyEvidence = { ...current, rotations: [...current.rotations, rotation] };
  try {
    verifyKeyEvidence(next, deps.enrolmentAuthorityPublicKey, req.merchantId, rotation.newKey, null);
  } catch (err) {
    if (!(err instanceof KeyEvidenceError)) throw err;
    await limits.peer(call.getPeer());
    await audit.record({ type: 'auth.failed', actor: 'coordinator', details: { surface: 'grpc', route: 'RotateKey', reason: err.code } });
    throw new RpcError(status.UNAUTHENTICATED, err.code, `rotation refused: ${err.message}`);
  }
  await limits.merchant(req.merchantId);
  const outcome = await store.rotateMerchantKey(req.merchantId, m.keySequence, rotation.newKey, keyEvidenceToJson(next), (tx) => audit.record({
    type: 'merchant.key-rotated',
    actor: req.merchantId,
    details: { merchantId: req.merchantId, sequence: rotation.sequence, keyDigest: toHex(blake2b256(rotation.newKey)) },
  }, tx));
  if (outcome === 'revoked') throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_REVOKED', `merchant ${req.merchantId} is revoked`);
  if (outcome !== 'rotated') throw new RpcError(status.ABORTED, 'ROTATION_SEQUENCE', 'the key changed meanwhile; try again');
  log.info({ merchantId: req.merchantId, sequence: rotation.sequence }, 'merchant key rotated');
  return { merchantId: req.merchantId, sequence: rotation.sequence };
}
