/**
 * The coordinator's gRPC service for merchant nodes: a thin adapter that
 * wires each RPC to its handler (enrolment and key rotation in
 * `merchant-enrolment.ts`, contributions in `contribution-intake.ts`, the
 * rest below). Every method checks the ids it is sent with `checkRpcId`
 * before anything else reads them, and status messages only quote ids that
 * passed it (or `quoteUntrusted` text).
 */
import { status, type ServerReadableStream } from '@grpc/grpc-js';
import { blake2b256, verifyDigest } from '../crypto/index.js';
import { RIGHTS_REQUEST_TYPES, type RightsRequestType } from '../compliance/index.js';
import {
  MerchantServiceService,
  RpcError,
  checkRpcId,
  isRpcId,
  clientStreamHandler,
  hardenService,
  unaryHandler,
  type ContributionChunk,
  type GetModelRequest,
  type GetModelResponse,
  type ListOpenQueriesRequest,
  type ListOpenQueriesResponse,
  type MerchantServiceServer,
  type PublicKeyBundle,
  type ReportRightsEventsRequest,
  type ReportRightsEventsResponse,
  type RpcLogger,
  type SubmitContributionResponse,
  rightsReportDigest,
  modelRequestDigest,
  quoteUntrusted,
} from '../protos/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { FitRunner } from './fit-runner.js';
import { canonicalSpecJson } from '../analytics/index.js';
import type { ContributionIntake } from './contribution-intake.js';
import { GrpcRateLimiter } from './grpc-rate-limit.js';
import { enroll, rotateKey, type RpcPeer } from './merchant-enrolment.js';
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

/** The service's dependencies as its handlers see them: with the limits in force. */
type MerchantRpcDeps = MerchantServiceDeps & { readonly limits: GrpcRateLimiter };

export function merchantServiceImplementation(deps: MerchantServiceDeps): MerchantServiceServer {
  const rpc: MerchantRpcDeps = { ...deps, limits: deps.limits ?? new GrpcRateLimiter() };
  const { log } = deps;
  return {
    enroll: unaryHandler(log, 'Enroll', (req, call) => enroll(rpc, req, call)),
    rotateKey: unaryHandler(log, 'RotateKey', (req, call) => rotateKey(rpc, req, call)),
    getPublicKey: unaryHandler(log, 'GetPublicKey', (_req, call) => getPublicKey(rpc, call)),
    listOpenQueries: unaryHandler(log, 'ListOpenQueries', (req, call) => listOpenQueries(rpc, req, call)),
    reportRightsEvents: unaryHandler(log, 'ReportRightsEvents', (req, call) => reportRightsEvents(rpc, req, call)),
    getModel: unaryHandler(log, 'GetModel', (req, call) => getModel(rpc, req, call)),
    submitContribution: clientStreamHandler(log, 'SubmitContribution', (call) => submitContribution(rpc, call)),
  };
}

/** `GetPublicKey`: the key holder's signed public key bundle. */
async function getPublicKey(deps: MerchantRpcDeps, call: RpcPeer): Promise<PublicKeyBundle> {
  await deps.limits.peer(call.getPeer());
  return deps.publicKeyBundle;
}

/** `ListOpenQueries`: the queries open now whose deadline has not passed (the same answer for every merchant). */
async function listOpenQueries(deps: MerchantRpcDeps, req: ListOpenQueriesRequest, call: RpcPeer): Promise<ListOpenQueriesResponse> {
  await deps.limits.peer(call.getPeer());
  // merchant_id is optional here (the answer is the same for everyone), but never free text.
  if (req.merchantId !== '') checkRpcId(req.merchantId, 'merchant_id');
  const now = Date.now();
  const open = (await deps.store.listQueries('open')).filter((q) => q.deadline.getTime() > now);
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
}

/**
 * `ReportRightsEvents`: records the data-subject requests an enrolled shop
 * handled or has pending (type, days and an opaque reference only), each as a
 * `rights.request` audit entry, once per signed report (its nonce).
 */
async function reportRightsEvents(deps: MerchantRpcDeps, req: ReportRightsEventsRequest, call: RpcPeer): Promise<ReportRightsEventsResponse> {
  const { store, audit, limits } = deps;
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
    if (e.receivedUnixMs < 0n || e.receivedUnixMs > e.handledUnixMs || (e.pending && e.receivedUnixMs !== e.handledUnixMs)) {
      throw new RpcError(status.INVALID_ARGUMENT, 'EVENT_TIME_INVALID', 'received_unix_ms must be 0 or at most handled_unix_ms (equal to it while pending)');
    }
    if (e.receivedUnixMs === 0n ? e.pending || e.requestRef.length !== 0 : e.requestRef.length !== 16) {
      throw new RpcError(status.INVALID_ARGUMENT, 'EVENT_REF_INVALID', 'request_ref must be 16 bytes with received_unix_ms, and empty (and pending false) without it');
    }
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
        details: {
          shopId: req.merchantId,
          requestType: e.type as RightsRequestType,
          day: utcDay(e.handledUnixMs),
          ...(e.receivedUnixMs === 0n ? {} : { receivedDay: utcDay(e.receivedUnixMs), status: e.pending ? 'pending' as const : 'handled' as const, requestRef: e.requestRef.toString('hex') }),
        },
      }, tx);
    }
    return req.events.length;
  });
  if (recorded < 0) throw new RpcError(status.ALREADY_EXISTS, 'REPORT_REPLAYED', 'this report was already recorded');
  return { recorded };
}

/** `YYYY-MM-DD` of a Unix-ms time. */
function utcDay(unixMs: bigint): string {
  return new Date(Number(unixMs)).toISOString().slice(0, 10);
}

/** How far a signed model request's time may be from the coordinator's clock. */
const MODEL_REQUEST_SKEW_MS = 5 * 60_000;

/**
 * `GetModel`: a fitted model, so the shop can score its own customers
 * locally. Only for an enrolled, unrevoked merchant whose current key signed
 * the request (modelRequestDigest) within MODEL_REQUEST_SKEW_MS: a model is
 * a released result of its purpose, not for whoever learnt a fit id.
 */
async function getModel(deps: MerchantRpcDeps, req: GetModelRequest, call: RpcPeer): Promise<GetModelResponse> {
  const { store, audit, limits } = deps;
  await limits.peer(call.getPeer());
  checkRpcId(req.modelId, 'model_id');
  checkRpcId(req.merchantId, 'merchant_id');
  const merchant = await store.merchantState(req.merchantId);
  if (!merchant) throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_NOT_ENROLLED', `merchant ${req.merchantId} is not enrolled`);
  if (req.nonce.length < 16 || req.nonce.length > 64) throw new RpcError(status.INVALID_ARGUMENT, 'NONCE_INVALID', 'nonce must be 16..64 bytes');
  const skew = Number(req.createdUnixMs) - Date.now();
  if (!(Math.abs(skew) <= MODEL_REQUEST_SKEW_MS)) throw new RpcError(status.INVALID_ARGUMENT, 'REQUEST_TIME_INVALID', 'created_unix_ms must be within 5 minutes of the coordinator\'s clock');
  if (req.signature.length !== 64 || !verifyDigest(req.signature, modelRequestDigest(req), merchant.signingPublicKey)) {
    await audit.record({ type: 'auth.failed', actor: 'coordinator', details: { surface: 'grpc', route: 'GetModel', reason: 'SIGNATURE_INVALID' } });
    throw new RpcError(status.UNAUTHENTICATED, 'SIGNATURE_INVALID', 'the request signature does not verify under the enrolled key');
  }
  if (merchant.revokedAt !== null) throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_REVOKED', `merchant ${req.merchantId} is revoked`);
  const fit = await deps.fits.get(req.modelId);
  if (!fit) throw new RpcError(status.NOT_FOUND, 'MODEL_UNKNOWN', `no model ${req.modelId}`);
  // A fit still running (or failed) has no model yet: said apart from an unknown id, so a shop knows to wait.
  if (fit.model === null) {
    throw new RpcError(status.FAILED_PRECONDITION, 'MODEL_NOT_READY', fit.status === 'failed' ? 'the fit failed; it has no model' : `the fit is ${fit.status}; its model is stored when it is done`);
  }
  const modelJson = canonicalSpecJson(fit.model);
  return {
    modelId: fit.fitId,
    kind: fit.kind,
    purpose: fit.purpose,
    modelJson,
    modelDigest: Buffer.from(blake2b256(Buffer.from(modelJson, 'utf8'))),
    // The spec's rounds were offered to every shop: where its rows come from is no news to them.
    specJson: canonicalSpecJson(fit.spec),
  };
}

/** `SubmitContribution`: one contribution through the intake; the round may close once it is stored. */
async function submitContribution(deps: MerchantRpcDeps, call: ServerReadableStream<ContributionChunk, SubmitContributionResponse>): Promise<SubmitContributionResponse> {
  const receipt = await deps.intake.submit(call);
  deps.log.info({ queryId: receipt.queryId, merchantId: receipt.merchantId }, 'contribution stored');
  deps.onContribution(receipt.queryId);
  return receipt;
}
