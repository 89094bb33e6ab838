/**
 * gRPC face of the key holder. The Release stream is read message by message
 * with hard limits, so a hostile peer cannot make it buffer without bound,
 * and every id in it is checked with the wire's one id validator before the
 * key holder looks at it.
 */
import { status, type ServerReadableStream } from '@grpc/grpc-js';
import {
  KeyHolderServiceService,
  RpcError,
  checkRpcId,
  clientStreamHandler,
  hardenService,
  readStream,
  unaryHandler,
  type KeyHolderServiceServer,
  type ReleaseHeader,
  type ReleasePart,
  type RpcLogger,
  type SignedRelease,
} from '../protos/index.js';
import { MAX_ROUND_CONTRIBUTORS, RoundError, rpcErrorOf } from '../round/index.js';
import type { ContributionForRelease, KeyHolder } from './key-holder.js';
import type { ReleaseObserver } from './metrics.js';
import { annotateKeyHolderSpan } from './tracing.js';

/** Most contributions one release request may carry: a round's most. */
export const MAX_RELEASE_CONTRIBUTIONS = MAX_ROUND_CONTRIBUTORS;

export const keyHolderServiceDefinition = hardenService(KeyHolderServiceService);

/** Limits on reading one Release stream, before anything is verified or decrypted. */
export interface ReleaseStreamLimits {
  /** Longest wait for the next message of a stream (default 30 s): a stalled peer is cut off. */
  readonly idleTimeoutMs: number;
  /** Most bytes of contributions one request may carry (default 2 GiB of ciphertext: 10,000 merchants × 1 ciphertext, or 2,000 × 8). */
  readonly maxBytes: number;
}

export const DEFAULT_RELEASE_STREAM_LIMITS: ReleaseStreamLimits = { idleTimeoutMs: 30_000, maxBytes: 2 * 1024 * 1024 * 1024 };

/** The header and contributions of one Release stream, read under `limits`; throws RpcError. */
async function readRelease(
  call: ServerReadableStream<ReleasePart, SignedRelease>,
  keyHolder: KeyHolder,
  limits: ReleaseStreamLimits,
): Promise<{ header: ReleaseHeader; contributions: ContributionForRelease[] }> {
  let header: ReleaseHeader | undefined;
  const contributions: ContributionForRelease[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let stalled: (err: RpcError) => void = () => undefined;
  const idle = new Promise<never>((_, reject) => (stalled = reject));
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      // Answering ends the call; nothing read so far is kept.
      stalled(new RpcError(status.DEADLINE_EXCEEDED, 'STREAM_TIMEOUT', `no message within ${limits.idleTimeoutMs} ms`));
    }, limits.idleTimeoutMs);
  };
  const read = async () => {
    arm();
    for await (const part of readStream<ReleasePart>(call)) {
      arm();
      if (!header) {
        if (!part.header) throw new RpcError(status.INVALID_ARGUMENT, 'HEADER_FIRST', 'the first message must be the release header');
        header = part.header;
        checkRpcId(header.queryId, 'query_id');
        keyHolder.checkRequest(header);
        if (header.contributionCount < 1 || header.contributionCount > MAX_RELEASE_CONTRIBUTIONS) {
          throw new RpcError(status.INVALID_ARGUMENT, 'CONTRIBUTION_COUNT', `contribution_count must be 1..${MAX_RELEASE_CONTRIBUTIONS}`);
        }
        continue;
      }
      const c = part.contribution;
      if (!c?.header) throw new RpcError(status.INVALID_ARGUMENT, 'CONTRIBUTION_EXPECTED', 'messages after the header must be contributions');
      checkRpcId(c.header.queryId, 'query_id');
      checkRpcId(c.header.merchantId, 'merchant_id');
      if (contributions.length >= header.contributionCount) {
        throw new RpcError(status.INVALID_ARGUMENT, 'CONTRIBUTION_COUNT', 'more contributions than contribution_count');
      }
      bytes += c.ciphertexts.length;
      if (bytes > limits.maxBytes) {
        throw new RpcError(status.RESOURCE_EXHAUSTED, 'RELEASE_TOO_LARGE', `a release request may carry at most ${limits.maxBytes} bytes of contributions`);
      }
      contributions.push({ header: c.header, merchantSigningKey: c.merchantSigningKey, ciphertexts: c.ciphertexts, keyEvidence: c.keyEvidence });
    }
    if (!header) throw new RpcError(status.INVALID_ARGUMENT, 'HEADER_FIRST', 'empty release stream');
    if (contributions.length !== header.contributionCount) {
      throw new RpcError(status.INVALID_ARGUMENT, 'CONTRIBUTION_COUNT', `expected ${header.contributionCount} contributions, got ${contributions.length}`);
    }
    return { header, contributions };
  };
  try {
    return await Promise.race([read(), idle]);
  } finally {
    clearTimeout(timer);
  }
}

export function keyHolderServiceImplementation(
  keyHolder: KeyHolder,
  log: RpcLogger & { info(o: object, m?: string): void },
  limits: ReleaseStreamLimits = DEFAULT_RELEASE_STREAM_LIMITS,
  observer?: ReleaseObserver,
): KeyHolderServiceServer {
  return {
    getPublicKey: unaryHandler(log, 'GetPublicKey', async () => keyHolder.publicKeyBundle()),
    release: clientStreamHandler(log, 'Release', async (call) => {
      const started = process.hrtime.bigint();
      try {
        const { header, contributions } = await readRelease(call, keyHolder, limits);
        // The call's span (tracing.ts): the checked, signed request's ids and counts, nothing of its contents.
        annotateKeyHolderSpan({ 'fedmart.query.id': header.queryId, 'fedmart.query.kind': header.kind, 'fedmart.contributions': contributions.length });
        const released = await keyHolder.release(header, contributions);
        log.info({ queryId: header.queryId, merchants: contributions.length }, 'release signed');
        observer?.released(Number(process.hrtime.bigint() - started) / 1e9);
        return released;
      } catch (thrown) {
        // The one place the key holder's round refusals become gRPC statuses.
        const err = thrown instanceof RoundError ? rpcErrorOf(thrown) : thrown;
        observer?.refused(err instanceof RpcError ? err.code : 'INTERNAL');
        throw err;
      }
    }),
  };
}
