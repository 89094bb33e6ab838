/**
 * The coordinator's gRPC service for merchant nodes. Every method checks the
 * ids it is sent with `checkRpcId` before anything else reads them, and
 * status messages only quote ids that passed it (or `quoteUntrusted` text).
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
import { RIGHTS_REQUEST_TYPES, type RightsRequestType } from '../compliance/index.js';
import {
  MerchantServiceService,
  RpcError,
  checkRpcId,
  isRpcId,
  clientStreamHandler,
  hardenService,
  unaryHandler,
  type MerchantServiceServer,
  type PublicKeyBundle,
  type RpcLogger,
  rightsReportDigest,
  keyEvidenceFromWire,
  keyRotationFromWire,
  quoteUntrusted,
} from '../protos/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { FitRunner } from './fit-runner.js';
import { canonicalSpecJson } from '../analytics/index.js';
import type { ContributionIntake } from './contribution-intake.js';
import { GrpcRateLimiter } from './grpc-rate-limit.js';
import type { CoordinatorStore } from './store.js';

export const merchantServiceDefinition = hardenService(MerchantServiceService);

export interface MerchantServiceDeps {
  readonly store: CoordinatorStore;
  readonly fits: FitRunner;
  readonly audit: AuditTrail;
  readonly intake: ContributionIntake;
  readonly publicKeyBundle: PublicKeyBundle;
  /** Called after a contribution is stored, so the round can close promptly. */
  readonly onContribution: (queryId: string) => void;
  readonly log: RpcLogger & { info(o: object, m?: string): void };
  /** Ed25519 public key of the enrolment authority: every enrolment needs a token it signed. */
  readonly enrolmentAuthorityPublicKey: Uint8Array;
  /** Per-merchant and per-peer limits (default: `DEFAULT_GRPC_RATE_LIMITS`, counted in this process). */
  readonly limits?: GrpcRateLimiter;
}

export function merchantServiceImplementation(deps: MerchantServiceDeps): MerchantServiceServer {
  const { store, audit, log } = deps;
  const limits = deps.limits ?? new GrpcRateLimiter();
  return {
    enroll: unaryHandler(log, 'Enroll', async (req, call) => {
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
    }),
    rotateKey: unaryHandler(log, 'RotateKey', async (req, call) => {
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
    }),
    getPublicKey: unaryHandler(log, 'GetPublicKey', async (_req, call) => {
      await limits.peer(call.getPeer());
      return deps.publicKeyBundle;
    }),
    listOpenQueries: unaryHandler(log, 'ListOpenQueries', async (req, call) => {
      await limits.peer(call.getPeer());
      // merchant_id is optional here (the answer is the same for everyone), but never free text.
      if (req.merchantId !== '') checkRpcId(req.merchantId, 'merchant_id');
      const now = Date.now();
      const open = (await store.listQueries('open')).filter((q) => q.deadline.getTime() > now);
      return {
        queries: open.map((q) => ({
          queryId: q.queryId,
          kind: q.kind,
          specJson: q.specJson,
          specDigest: Buffer.from(q.specDigest),
          paramSet: q.paramSet,
          keyId: Buffer.from(q.keyId),
          deadlineUnixMs: BigInt(q.deadline.getTime()),
          maxContributors: q.maxContributors,
          purposeJson: q.purposeJson,
          cutoffUnixMs: BigInt(q.cutoff.getTime()),
          termsJson: q.termsJson,
        })),
      };
    }),
    reportRightsEvents: unaryHandler(log, 'ReportRightsEvents', async (req, call) => {
      // An unauthenticated refusal costs the peer's bucket, like an unknown merchant.
      if (!isRpcId(req.merchantId)) await limits.peer(call.getPeer());
      checkRpcId(req.merchantId, 'merchant_id');
      const key = await store.merchantKey(req.merchantId);
      if (!key) await limits.peer(call.getPeer());
      if (!key) throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_NOT_ENROLLED', `merchant ${req.merchantId} is not enrolled`);
      if (req.events.length === 0 || req.events.length > 10_000) throw new RpcError(status.INVALID_ARGUMENT, 'EVENTS_INVALID', 'events must hold 1..10000 entries');
      if (req.nonce.length < 16 || req.nonce.length > 64) throw new RpcError(status.INVALID_ARGUMENT, 'NONCE_INVALID', 'nonce must be 16..64 bytes');
      const now = Date.now();
      for (const e of req.events) {
        if (!(RIGHTS_REQUEST_TYPES as readonly string[]).includes(e.type)) throw new RpcError(status.INVALID_ARGUMENT, 'EVENT_TYPE_INVALID', `unknown rights request type ${quoteUntrusted(e.type)}`);
        if (e.handledUnixMs <= 0n || e.handledUnixMs > BigInt(now + 5 * 60_000)) throw new RpcError(status.INVALID_ARGUMENT, 'EVENT_TIME_INVALID', 'handled_unix_ms out of range');
      }
      if (req.signature.length !== 64 || !verifyDigest(req.signature, rightsReportDigest(req), key)) {
        await limits.peer(call.getPeer());
        await audit.record({ type: 'auth.failed', actor: 'coordinator', details: { surface: 'grpc', route: 'ReportRightsEvents', reason: 'SIGNATURE_INVALID' } });
        throw new RpcError(status.UNAUTHENTICATED, 'SIGNATURE_INVALID', 'the report signature does not verify under the enrolled key');
      }
      await limits.merchant(req.merchantId);
      const recorded = await store.db.transaction(async (tx) => {
        const seen = await tx.query('SELECT 1 FROM rights_reports WHERE merchant_id = $1 AND nonce = $2', [req.merchantId, req.nonce]);
        if (seen.length > 0) return -1;
        await tx.query('INSERT INTO rights_reports (merchant_id, nonce, events) VALUES ($1, $2, $3)', [req.merchantId, req.nonce, req.events.length]);
        for (const e of req.events) {
          await audit.record({
            type: 'rights.request',
            actor: req.merchantId,
            details: { shopId: req.merchantId, requestType: e.type as RightsRequestType, day: new Date(Number(e.handledUnixMs)).toISOString().slice(0, 10) },
          }, tx);
        }
        return req.events.length;
      });
      if (recorded < 0) throw new RpcError(status.ALREADY_EXISTS, 'REPORT_REPLAYED', 'this report was already recorded');
      return { recorded };
    }),
    getModel: unaryHandler(log, 'GetModel', async (req, call) => {
      await limits.peer(call.getPeer());
      checkRpcId(req.modelId, 'model_id');
      const fit = await deps.fits.get(req.modelId);
      if (!fit || fit.model === null) throw new RpcError(status.NOT_FOUND, 'MODEL_UNKNOWN', `no model ${req.modelId}`);
      const modelJson = canonicalSpecJson(fit.model);
      return { modelId: fit.fitId, kind: fit.kind, purpose: fit.purpose, modelJson, modelDigest: Buffer.from(blake2b256(Buffer.from(modelJson, 'utf8'))) };
    }),
    submitContribution: clientStreamHandler(log, 'SubmitContribution', async (call) => {
      const receipt = await deps.intake.submit(call);
      log.info({ queryId: receipt.queryId, merchantId: receipt.merchantId }, 'contribution stored');
      deps.onContribution(receipt.queryId);
      return receipt;
    }),
  };
}
