/**
 * The coordinator's gRPC service for merchant nodes.
 */
import { status } from '@grpc/grpc-js';
import { enrolmentDigest, verifyDigest } from '../crypto/index.js';
import {
  MerchantServiceService,
  RpcError,
  clientStreamHandler,
  hardenService,
  unaryHandler,
  type MerchantServiceServer,
  type PublicKeyBundle,
  type RpcLogger,
} from '../protos/index.js';
import type { ContributionIntake } from './contribution-intake.js';
import type { CoordinatorStore } from './store.js';

export const merchantServiceDefinition = hardenService(MerchantServiceService);

const MERCHANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface MerchantServiceDeps {
  readonly store: CoordinatorStore;
  readonly intake: ContributionIntake;
  readonly publicKeyBundle: PublicKeyBundle;
  /** Called after a contribution is stored, so the round can close promptly. */
  readonly onContribution: (queryId: string) => void;
  readonly log: RpcLogger & { info(o: object, m?: string): void };
}

export function merchantServiceImplementation(deps: MerchantServiceDeps): MerchantServiceServer {
  const { store, log } = deps;
  return {
    enroll: unaryHandler(log, 'Enroll', async (req) => {
      if (!MERCHANT_ID.test(req.merchantId)) {
        throw new RpcError(status.INVALID_ARGUMENT, 'MERCHANT_ID_INVALID', 'merchant_id must be 1..128 of A-Z a-z 0-9 . _ - and start with a letter or digit');
      }
      if (req.signingPublicKey.length !== 32) throw new RpcError(status.INVALID_ARGUMENT, 'KEY_INVALID', 'signing_public_key must be 32 bytes');
      if (!verifyDigest(req.proofOfPossession, enrolmentDigest(req.merchantId, req.signingPublicKey), req.signingPublicKey)) {
        throw new RpcError(status.UNAUTHENTICATED, 'PROOF_INVALID', 'proof_of_possession does not verify');
      }
      const outcome = await store.enrolMerchant(req.merchantId, req.signingPublicKey);
      if (outcome === 'key-conflict') {
        throw new RpcError(status.ALREADY_EXISTS, 'MERCHANT_KEY_CONFLICT', `merchant ${req.merchantId} is enrolled with another key`);
      }
      if (outcome === 'enrolled') log.info({ merchantId: req.merchantId }, 'merchant enrolled');
      return { merchantId: req.merchantId, newlyEnrolled: outcome === 'enrolled' };
    }),
    getPublicKey: unaryHandler(log, 'GetPublicKey', async () => deps.publicKeyBundle),
    listOpenQueries: unaryHandler(log, 'ListOpenQueries', async () => {
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
        })),
      };
    }),
    submitContribution: clientStreamHandler(log, 'SubmitContribution', async (call) => {
      const receipt = await deps.intake.submit(call);
      log.info({ queryId: receipt.queryId, merchantId: receipt.merchantId }, 'contribution stored');
      deps.onContribution(receipt.queryId);
      return receipt;
    }),
  };
}
