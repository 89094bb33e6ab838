/**
 * gRPC face of the key holder. The Release stream is read message by message
 * with hard limits, so a hostile peer cannot make it buffer without bound.
 */
import { status } from '@grpc/grpc-js';
import {
  KeyHolderServiceService,
  RpcError,
  clientStreamHandler,
  hardenService,
  readStream,
  unaryHandler,
  type KeyHolderServiceServer,
  type ReleaseHeader,
  type ReleasePart,
  type RpcLogger,
} from '../protos/index.js';
import type { ContributionForRelease, KeyHolder } from './key-holder.js';

/** Upper bound on contributions in one release request. */
export const MAX_RELEASE_CONTRIBUTIONS = 10_000;

export const keyHolderServiceDefinition = hardenService(KeyHolderServiceService);

export function keyHolderServiceImplementation(keyHolder: KeyHolder, log: RpcLogger & { info(o: object, m?: string): void }): KeyHolderServiceServer {
  return {
    getPublicKey: unaryHandler(log, 'GetPublicKey', async () => keyHolder.publicKeyBundle()),
    release: clientStreamHandler(log, 'Release', async (call) => {
      let header: ReleaseHeader | undefined;
      const contributions: ContributionForRelease[] = [];
      for await (const part of readStream<ReleasePart>(call)) {
        if (!header) {
          if (!part.header) throw new RpcError(status.INVALID_ARGUMENT, 'HEADER_FIRST', 'the first message must be the release header');
          header = part.header;
          keyHolder.checkRequest(header);
          if (header.contributionCount < 1 || header.contributionCount > MAX_RELEASE_CONTRIBUTIONS) {
            throw new RpcError(status.INVALID_ARGUMENT, 'CONTRIBUTION_COUNT', `contribution_count must be 1..${MAX_RELEASE_CONTRIBUTIONS}`);
          }
          continue;
        }
        const c = part.contribution;
        if (!c?.header) throw new RpcError(status.INVALID_ARGUMENT, 'CONTRIBUTION_EXPECTED', 'messages after the header must be contributions');
        if (contributions.length >= header.contributionCount) {
          throw new RpcError(status.INVALID_ARGUMENT, 'CONTRIBUTION_COUNT', 'more contributions than contribution_count');
        }
        contributions.push({ header: c.header, merchantSigningKey: c.merchantSigningKey, ciphertexts: c.ciphertexts, keyEvidence: c.keyEvidence });
      }
      if (!header) throw new RpcError(status.INVALID_ARGUMENT, 'HEADER_FIRST', 'empty release stream');
      if (contributions.length !== header.contributionCount) {
        throw new RpcError(status.INVALID_ARGUMENT, 'CONTRIBUTION_COUNT', `expected ${header.contributionCount} contributions, got ${contributions.length}`);
      }
      const released = await keyHolder.release(header, contributions);
      log.info({ queryId: header.queryId, merchants: contributions.length }, 'release signed');
      return released;
    }),
  };
}
