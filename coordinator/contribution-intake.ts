/**
 * Receives one contribution stream and either stores it or refuses it with a
 * precise status, changing nothing. Cheap checks run before the ciphertext is
 * read, every byte is checked in TypeScript before SEAL could see it, and the
 * merchant is acknowledged only after the database committed. The same
 * transaction appends the audit entry, so both happen or neither does
 * (contributions ready together share one transaction: ContributionBatches);
 * only after the commit are the ciphertexts added to this process's running
 * sum of the query (RunningSums), which therefore never holds a
 * contribution that is not stored.
 */
import { status, type ServerReadableStream } from '@grpc/grpc-js';
import type { HeContext } from '../crypto/index.js';
import {
  RpcError,
  checkRpcId,
  readStream,
  type ContributionChunk,
  type ContributionHeader,
  type SubmitContributionResponse,
} from '../protos/index.js';
import { AUDIT_ID_RE, attestationDigest, type AuditEvent, type ConsentAttestation } from '../compliance/index.js';
import {
  RoundError,
  checkBinding,
  checkCiphertextShape,
  checkCiphertexts,
  checkSignature,
  contributionAttestation,
  contributionDigest,
  rpcErrorOf,
  type RoundBinding,
} from '../round/index.js';
import { toHex } from '../crypto/index.js';
import type { AuditTrail } from './audit-trail.js';
import { ContributionBatches } from './contribution-batches.js';
import type { GrpcRateLimiter } from './grpc-rate-limit.js';
import type { QueryLayouts } from './query-layouts.js';
import type { RunningSums } from './running-sums.js';
import type { CoordinatorStore, QueryRecord } from './store.js';

export interface IntakeOptions {
  /** A stream that has not finished after this long is refused. */
  readonly streamTimeoutMs: number;
  /**
   * Most bytes one stream may carry after its header (default
   * `DEFAULT_MAX_STREAM_BYTES`): a larger declared size is refused before
   * any data is read, and data beyond the declared size as it arrives.
   */
  readonly maxStreamBytes?: number;
  /** Most contributions stored in one transaction (default `DEFAULT_MAX_BATCH`). */
  readonly maxBatch?: number;
  /** Called after each committed transaction of contributions, with how many it stored. */
  readonly onBatch?: (contributions: number) => void;
  /** Per-merchant bucket after the signature verified; per-peer bucket when it did not. */
  readonly limits?: GrpcRateLimiter;
}

/** Default cap on the ciphertext bytes of one contribution stream (64 MiB, about 540 ciphertexts). */
export const DEFAULT_MAX_STREAM_BYTES = 64 * 1024 * 1024;

/** Most messages one contribution stream may have (chunks are normally 256 KiB). */
export const MAX_STREAM_MESSAGES = 100_000;

function invalid(code: string, message: string): never {
  throw new RpcError(status.INVALID_ARGUMENT, code, message);
}

/** Checks the header's ids and sizes and returns the digest its signature must cover (the envelope is validated once, here). */
function checkHeaderShape(h: ContributionHeader): Uint8Array {
  checkRpcId(h.queryId, 'query_id');
  checkRpcId(h.merchantId, 'merchant_id');
  return contributionDigest(h);
}

/** What the intake learned of a stream, for the audit entry of a refusal. */
interface IntakeKnown {
  merchantId: string | null;
  queryId: string | null;
  timedOut: boolean;
}

/** A header that passed every check made before the body is read. */
interface AdmittedHeader {
  readonly header: ContributionHeader;
  /** The envelope digest the merchant signed. */
  readonly digest: Uint8Array;
  readonly keySequence: number;
  readonly attestation: ConsentAttestation;
  readonly ciphertextCount: number;
  readonly expectedBytes: number;
}

export class ContributionIntake {
  constructor(
    private readonly ctx: HeContext,
    private readonly store: CoordinatorStore,
    private readonly layouts: QueryLayouts,
    private readonly audit: AuditTrail,
    private readonly options: IntakeOptions,
    private readonly sums: RunningSums,
  ) {
    this.batches = new ContributionBatches(store, options.maxBatch, {
      onBatch: options.onBatch,
      recorder: this.audit,
      // PostgreSQL overlaps two transactions' contribution INSERTs; PGlite runs one transaction at a time anyway.
      concurrency: store.db.backend === 'postgres' ? 2 : 1,
    });
  }

  /** Contributions ready together are stored together (group commit). */
  readonly batches: ContributionBatches;

  /**
   * Queries as stored, read once each: everything the intake uses of a
   * query but its status (read fresh for every contribution) never changes.
   */
  private readonly queries = new Map<string, QueryRecord>();

  private async queryOf(queryId: string): Promise<QueryRecord | undefined> {
    let query = this.queries.get(queryId);
    if (!query) {
      query = await this.store.getQuery(queryId);
      if (!query) return undefined;
      if (this.queries.size >= 1000) this.queries.clear();
      this.queries.set(queryId, query);
    }
    return query;
  }

  /**
   * Whether `queryId` may have reached its target number of merchants, by
   * this process's count of the contributions it stored (a lower bound of
   * the stored count: other coordinators, or this one before a restart, may
   * have stored more; the closer's periodic pass counts those).
   */
  targetMayBeReached(queryId: string): boolean {
    const query = this.queries.get(queryId);
    return query !== undefined && this.sums.count(queryId) >= query.targetMerchants;
  }

  /** Handles one SubmitContribution call; resolves with the receipt or throws RpcError. */
  async submit(call: ServerReadableStream<ContributionChunk, SubmitContributionResponse>): Promise<SubmitContributionResponse> {
    let timer: NodeJS.Timeout | undefined;
    const known: IntakeKnown = { merchantId: null, queryId: null, timedOut: false };
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        known.timedOut = true;
        reject(new RpcError(status.DEADLINE_EXCEEDED, 'STREAM_TIMEOUT', `contribution not completed within ${this.options.streamTimeoutMs} ms`));
      }, this.options.streamTimeoutMs);
    });
    try {
      return await Promise.race([this.receive(call, known), timeout]);
    } catch (thrown) {
      const err = thrown instanceof RoundError ? rpcErrorOf(thrown) : thrown;
      if (err instanceof RpcError) {
        await this.audit.record({
          type: 'contribution.rejected',
          actor: 'coordinator',
          details: { merchantId: known.merchantId, queryId: known.queryId, grpcCode: status[err.status] as 'INVALID_ARGUMENT', reason: err.code },
        });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The header, then the body, then the store: each step refuses with a precise status and changes nothing. */
  private async receive(
    call: ServerReadableStream<ContributionChunk, SubmitContributionResponse>,
    known: IntakeKnown,
  ): Promise<SubmitContributionResponse> {
    const messages = readStream(call);
    const first = await messages.next();
    if (first.done || !first.value.header) invalid('HEADER_FIRST', 'the first message must be the contribution header');
    const admitted = await this.admitHeader(first.value.header, call, known);
    const body = await this.readBody(messages, admitted.expectedBytes, known);
    checkCiphertexts(this.ctx, admitted.header, body);
    return this.storeAccepted(admitted, body);
  }

  /**
   * Everything that can be checked before a ciphertext byte is read, cheapest
   * first: header sizes, enrolment, query, signature, revocation, rate,
   * replay, open round, then the round's binding, consent attestation and
   * ciphertext shape (round/check-contribution.ts, as the key holder runs them).
   */
  private async admitHeader(
    h: ContributionHeader,
    call: ServerReadableStream<ContributionChunk, SubmitContributionResponse>,
    known: IntakeKnown,
  ): Promise<AdmittedHeader> {
    const digest = checkHeaderShape(h);
    // One statement for what can change during a round (the merchant's key and
    // revocation, the query's status, an earlier contribution); the query's
    // other fields never change and are read once per query.
    const facts = await this.store.intakeFacts(h.merchantId, h.queryId);
    const merchant = facts.merchant;
    // Only the current key: a key rotated away no longer signs new contributions.
    const merchantKey = merchant?.signingPublicKey;
    if (!merchant || !merchantKey) await this.options.limits?.peer(call.getPeer());
    if (!merchant || !merchantKey) throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_NOT_ENROLLED', `merchant ${h.merchantId} is not enrolled`);
    if (AUDIT_ID_RE.test(h.merchantId)) known.merchantId = h.merchantId;
    const query = facts.queryStatus === undefined ? undefined : await this.queryOf(h.queryId);
    if (!query) throw new RpcError(status.NOT_FOUND, 'QUERY_UNKNOWN', `no query ${h.queryId}`);
    if (AUDIT_ID_RE.test(h.queryId)) known.queryId = h.queryId;
    try {
      checkSignature(h, digest, merchantKey);
    } catch (err) {
      await this.options.limits?.peer(call.getPeer());
      throw err;
    }
    if (merchant.revokedAt !== null) throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_REVOKED', `merchant ${h.merchantId} is revoked`);
    await this.options.limits?.merchant(h.merchantId);
    // A merchant resending after a lost acknowledgement learns that its
    // contribution is stored, even once the query has closed.
    if (facts.contributed) {
      throw new RpcError(status.ALREADY_EXISTS, 'DUPLICATE_CONTRIBUTION', `merchant ${h.merchantId} already contributed to ${h.queryId}`);
    }
    if (facts.queryStatus !== 'open' || query.deadline.getTime() <= Date.now()) {
      throw new RpcError(status.FAILED_PRECONDITION, 'QUERY_CLOSED', `query ${h.queryId} no longer accepts contributions`);
    }
    const round: RoundBinding = { queryId: query.queryId, paramSet: query.paramSet, keyId: query.keyId, terms: this.layouts.termsOf(query), cutoff: query.cutoff };
    checkBinding(h, round);
    const attestation = contributionAttestation(h, round);
    checkCiphertextShape(this.ctx, h, round.terms);
    const count = round.terms.layout.ciphertextCount;
    const expectedBytes = count * this.ctx.packedCiphertextByteLength;
    const maxStreamBytes = this.options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES;
    if (expectedBytes > maxStreamBytes) {
      throw new RpcError(status.RESOURCE_EXHAUSTED, 'STREAM_TOO_LARGE', `${expectedBytes} bytes declared, at most ${maxStreamBytes} accepted in one stream`);
    }
    return { header: h, digest, keySequence: merchant.keySequence, attestation, ciphertextCount: count, expectedBytes };
  }

  /** Exactly `expected` bytes of data chunks; refused as soon as more arrive, or a chunk of another kind. */
  private async readBody(messages: AsyncIterator<ContributionChunk>, expected: number, known: IntakeKnown): Promise<Uint8Array> {
    // Chunks are kept as they come, so a stream that stalls holds only what it sent.
    const parts: Uint8Array[] = [];
    let received = 0;
    for (let n = 1; ; n++) {
      const next = await messages.next();
      if (known.timedOut) throw new RpcError(status.DEADLINE_EXCEEDED, 'STREAM_TIMEOUT', 'the stream was already refused');
      if (next.done) break;
      if (n > MAX_STREAM_MESSAGES) throw new RpcError(status.RESOURCE_EXHAUSTED, 'STREAM_TOO_LARGE', `more than ${MAX_STREAM_MESSAGES} messages in one stream`);
      const data = next.value.data;
      if (!data) invalid('CHUNK_INVALID', 'only data chunks may follow the header');
      if (received + data.length > expected) {
        throw new RpcError(status.RESOURCE_EXHAUSTED, 'CONTRIBUTION_TOO_LARGE', `more than the ${expected} declared bytes`);
      }
      parts.push(data);
      received += data.length;
    }
    if (received < expected) invalid('CONTRIBUTION_TRUNCATED', `received ${received} of ${expected} bytes`);
    return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, expected);
  }

  /** Stores the contribution and its audit entry in one transaction; only then adds it to the running sum. */
  private async storeAccepted(a: AdmittedHeader, body: Uint8Array): Promise<SubmitContributionResponse> {
    const h = a.header;
    // Built before the transaction, which other contributions may share.
    const accepted: AuditEvent = {
      type: 'contribution.accepted',
      actor: h.merchantId,
      details: {
        merchantId: h.merchantId,
        queryId: h.queryId,
        envelopeDigest: toHex(a.digest),
        attestationDigest: toHex(attestationDigest(a.attestation)),
        subjectsIncluded: a.attestation.subjectsIncluded,
        excludedByReason: { ...a.attestation.excludedByReason },
      },
    };
    const outcome = await this.batches.insert({
      queryId: h.queryId,
      merchantId: h.merchantId,
      envelopeDigest: a.digest,
      header: h,
      ciphertexts: body,
      attestationJson: Buffer.from(h.consentAttestation).toString('utf8'),
      subjectsIncluded: a.attestation.subjectsIncluded,
      keySequence: a.keySequence,
      auditEvent: accepted,
    });
    if (!outcome.ok) {
      if (outcome.reason === 'duplicate') throw new RpcError(status.ALREADY_EXISTS, 'DUPLICATE_CONTRIBUTION', 'this contribution or one from the same merchant is already stored');
      if (outcome.reason === 'query-unknown') throw new RpcError(status.NOT_FOUND, 'QUERY_UNKNOWN', `no query ${h.queryId}`);
      if (outcome.reason === 'merchant-revoked') throw new RpcError(status.PERMISSION_DENIED, 'MERCHANT_REVOKED', `merchant ${h.merchantId} is revoked`);
      throw new RpcError(status.FAILED_PRECONDITION, 'QUERY_CLOSED', `query ${h.queryId} closed before the contribution was stored`);
    }
    // Committed: only now does the contribution enter this process's running sum.
    this.sums.add(h.queryId, h.merchantId, body, a.ciphertextCount);
    return { queryId: h.queryId, merchantId: h.merchantId, envelopeDigest: Buffer.from(a.digest), storedUnixMs: BigInt(outcome.storedAt.getTime()) };
  }
}
