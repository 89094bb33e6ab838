/**
 * Closes queries and obtains their releases. A query closes when its target
 * number of merchants answered or its deadline passed. With fewer than the
 * minimum number of merchants it fails without the key holder ever being
 * asked; otherwise the coordinator adds the ciphertexts, streams them to the
 * key holder, checks the signed release and stores it with the finalised
 * result. A key holder that cannot be reached leaves the query closing, to
 * be retried.
 *
 * With several coordinators on one database every one of them runs a
 * closer: moving a query to closing is a conditional UPDATE, and finishing
 * it is claimed by one coordinator at a time (ClosingClaims), whose lease
 * is renewed while the key holder works. The aggregate is this process's
 * running sum of the query (RunningSums) when it holds exactly the stored
 * contributions, and otherwise the sum of the stored contributions, which
 * are read anyway to be sent to the key holder.
 *
 * Passes run on a timer and when a query may have reached its target (by
 * the intake's count of what this process stored): not after every
 * contribution, since a pass counts the stored contributions of every open
 * query.
 */
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { ReleaseDocument } from '../analytics/index.js';
import type { Logger } from 'pino';
import {
  blake2b256,
  keyEvidenceFromJson,
  keyEvidenceUpTo,
  sumPackedContributions,
  byMerchantId,
  toHex,
  type HeContext,
  type SigningKeyPair,
} from '../crypto/index.js';
import { RoundError, finaliseRelease, openRelease, releaseDigest } from '../round/index.js';
import { errorCodeOf, keyEvidenceToWire, signReleaseRequest, type MerchantKeyEvidence, type ReleaseHeader, type ReleasePart, type SignedRelease } from '../protos/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { ClosingClaims } from './closing-claims.js';
import type { KeyHolderClient } from './keyholder-client.js';
import type { QueryLayouts } from './query-layouts.js';
import type { RunningSums } from './running-sums.js';
import { releaseNoiseOf, resultWithDisclosure, suppressionsOf } from './release-disclosure.js';
import { annotateActiveSpan, inSpan } from './tracing.js';
import type { CoordinatorStore, QueryRecord, StoredContribution } from './store.js';

/** What happens after a round ends (model fits chain their rounds here). */
export interface RoundHooks {
  onReleased?(q: QueryRecord, result: unknown): Promise<void>;
  onFailed?(q: QueryRecord, code: string, reason: string): Promise<void>;
}

/** How closing work is shared between coordinators. */
export interface ClosingWork {
  readonly claims: ClosingClaims;
  /** This process's running sums of open queries (the intake adds to them). */
  readonly sums: RunningSums;
  /** How often running sums of queries finished elsewhere are dropped (default 5 s). */
  readonly sweepEveryMs?: number;
  /** Wait before a query whose key holder could not be reached is tried again (default 1 s). */
  readonly retryAfterMs?: number;
}

/** The key holder's release request for a query: the signed header, then every stored contribution with its key evidence. */
export function releaseRequestParts(q: QueryRecord, contributions: readonly StoredContribution[], aggregateDigest: Uint8Array, requestKey: SigningKeyPair): ReleasePart[] {
  const header: ReleaseHeader = {
    queryId: q.queryId,
    kind: q.kind,
    specJson: q.specJson,
    specDigest: Buffer.from(q.specDigest),
    paramSet: q.paramSet,
    keyId: Buffer.from(q.keyId),
    maxContributors: q.maxContributors,
    aggregateDigest: Buffer.from(aggregateDigest),
    contributionCount: contributions.length,
    cutoffUnixMs: BigInt(q.cutoff.getTime()),
    coordinatorSignature: Buffer.alloc(0),
  };
  header.coordinatorSignature = signReleaseRequest(header, requestKey);
  return [
    { header },
    ...contributions.map((c) => ({
      contribution: {
        header: c.header,
        merchantSigningKey: Buffer.from(c.signingPublicKey),
        // A view, not a copy: a round's ciphertexts are held once (1.2 GB at 10,000 contributions).
        ciphertexts: Buffer.from(c.ciphertexts.buffer, c.ciphertexts.byteOffset, c.ciphertexts.byteLength),
        keyEvidence: evidenceFor(c),
      },
    })),
  ];
}

/** The merchant's key evidence up to the key that signed a contribution (undefined without evidence). */
export function evidenceFor(c: StoredContribution): MerchantKeyEvidence | undefined {
  if (c.keyEvidenceJson === null) return undefined;
  const evidence = keyEvidenceFromJson(c.keyEvidenceJson);
  return c.keySequence <= evidence.rotations.length ? keyEvidenceToWire(keyEvidenceUpTo(evidence, c.keySequence)) : undefined;
}

export class RoundCloser {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastSweep = 0;

  constructor(
    private readonly ctx: HeContext,
    private readonly store: CoordinatorStore,
    private readonly layouts: QueryLayouts,
    private readonly keyHolder: KeyHolderClient,
    private readonly keyholderSigningKey: Uint8Array,
    private readonly audit: AuditTrail,
    private readonly log: Logger,
    private readonly hooks: RoundHooks,
    private readonly work: ClosingWork,
    /** The coordinator's request-signing key: the key holder answers only requests it signed. */
    private readonly requestKey: SigningKeyPair,
  ) {}

  /** Checks open and closing queries every `intervalMs`. */
  start(intervalMs = 250): void {
    this.timer = setInterval(() => this.poke(), intervalMs);
    this.timer.unref();
    this.poke();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
  }

  /** Asks for a pass soon (after a contribution arrived). Passes never overlap. */
  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.pass()
      .catch((err: unknown) => this.log.error({ err }, 'round closer pass failed'))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async pass(): Promise<void> {
    for (const closed of await this.work.claims.closeDue()) {
      this.log.info({ queryId: closed.queryId, contributions: closed.contributions, reason: closed.reason }, 'query closed');
    }
    for (let q = await this.work.claims.claimNext(); q; q = await this.work.claims.claimNext()) {
      await this.finishClaimed(q);
    }
    await this.sweep();
  }

  /** Drops the running sums of queries that are neither open nor closing any more (finished by another coordinator). */
  private async sweep(): Promise<void> {
    const now = Date.now();
    if (now - this.lastSweep < (this.work.sweepEveryMs ?? 5000)) return;
    this.lastSweep = now;
    const held = this.work.sums.queryIds();
    if (held.length === 0) return;
    const unfinished = new Set(await this.store.unfinishedQueryIds(held));
    for (const queryId of held) if (!unfinished.has(queryId)) this.work.sums.forget(queryId);
  }

  /** Finishes a query this coordinator claimed, renewing the lease meanwhile; gives the claim back if it stays closing. */
  private async finishClaimed(q: QueryRecord): Promise<void> {
    const { claims } = this.work;
    const renewEvery = Math.max(50, Math.floor(claims.leaseMs / 3));
    const renewal = setInterval(() => {
      claims.renew(q.queryId).catch((err: unknown) => this.log.warn({ err, queryId: q.queryId }, 'could not renew the closing claim'));
    }, renewEvery);
    renewal.unref();
    let done = false;
    try {
      // One root span per round finished here (no-op unless tracing is on): ids and codes only, never merchant ids.
      done = await inSpan('fedmart.round.finish', { 'fedmart.query.id': q.queryId, 'fedmart.query.kind': q.kind, 'fedmart.purpose': q.purpose }, async (span) => {
        const finished = await this.finish(q);
        if (!finished) span.setAttribute('fedmart.round.outcome', 'retry');
        return finished;
      }, true);
    } finally {
      clearInterval(renewal);
      if (done) this.work.sums.forget(q.queryId);
      else await claims.release(q.queryId, this.work.retryAfterMs ?? 1000);
    }
  }

  /** Marks a closing query failed with its code and reason, with its audit entry in the same transaction. */
  private async fail(q: QueryRecord, code: string, reason: string, contributions: number): Promise<void> {
    const moved = await this.store.transition(q.queryId, 'closing', 'failed', reason, (tx) => this.audit.record({
      type: 'query.failed',
      actor: 'coordinator',
      details: { queryId: q.queryId, reason: code, contributions },
    }, tx), code);
    annotateActiveSpan({ 'fedmart.round.outcome': 'failed', 'fedmart.error.code': code, 'fedmart.contributions': contributions });
    if (!moved) return; // another coordinator finished it meanwhile
    this.log.warn({ queryId: q.queryId, code }, 'query failed');
    await this.hooks.onFailed?.(q, code, reason);
  }

  /**
   * One round's end, step by step: too few answers fail at once; otherwise
   * the aggregate, the key holder's release, its check and the stored
   * result. True when the query reached an end (released or failed), false
   * when it stays closing to be retried.
   */
  private async finish(q: QueryRecord): Promise<boolean> {
    const contributions = await this.store.contributions(q.queryId);
    if (contributions.length < q.minMerchants) {
      await this.fail(q, 'TOO_FEW_MERCHANTS', `only ${contributions.length} of the required ${q.minMerchants} merchants answered; nothing was decrypted`, contributions.length);
      return true;
    }
    const aggregateDigest = this.aggregateDigest(q, contributions);
    const asked = await this.askKeyHolder(q, contributions, aggregateDigest);
    if (asked.outcome !== 'released') return asked.outcome === 'failed';
    const { signed } = asked;
    let doc;
    try {
      doc = openRelease(signed, { keyholderSigningKey: this.keyholderSigningKey, queryId: q.queryId, aggregateDigest });
    } catch (err) {
      if (!(err instanceof RoundError)) throw err;
      await this.fail(q, err.code, err.message, contributions.length);
      return true;
    }
    const terms = this.layouts.termsOf(q);
    const result = finaliseRelease(terms, doc);
    const stored = await this.storeRelease(q, terms.spec, signed, doc, result);
    annotateActiveSpan({ 'fedmart.round.outcome': 'released', 'fedmart.contributions': contributions.length });
    if (!stored) {
      this.log.info({ queryId: q.queryId }, 'release already stored by another coordinator');
      return true;
    }
    this.log.info({ queryId: q.queryId, merchants: doc.merchants.length }, 'release stored');
    // Publish a checkpoint covering the release at once, so the result is provable
    // (if this fails, the periodic checkpoint covers it a little later).
    await this.audit.checkpoint().catch((err: unknown) => this.log.error({ err }, 'audit checkpoint after a release failed'));
    await this.hooks.onReleased?.(q, result);
    return true;
  }

  /**
   * BLAKE2b-256 of the aggregate: the running sum if it holds exactly the
   * stored contributions (this process stored them all since it started),
   * otherwise their sum added here.
   */
  private aggregateDigest(q: QueryRecord, contributions: readonly StoredContribution[]): Uint8Array {
    const layout = this.layouts.layoutOf(q);
    const running = this.work.sums.sumsFor(q.queryId, contributions.map((c) => c.merchantId), layout.ciphertextCount);
    // In merchant-id order as the key holder adds them: more than maxAddends are cut into the same stages.
    const ordered = running ? [] : [...contributions].sort(byMerchantId);
    const sums = running ?? sumPackedContributions(this.ctx, ordered.map((c) => c.ciphertexts), layout.ciphertextCount);
    this.log.info({ queryId: q.queryId, contributions: contributions.length, from: running ? 'running sum' : 'stored contributions' }, 'aggregate added');
    return blake2b256(Buffer.concat(sums));
  }

  /**
   * Streams the signed request and the contributions to the key holder. An
   * unreachable key holder leaves the round to retry; a refusal fails it
   * with the key holder's code.
   */
  private async askKeyHolder(
    q: QueryRecord,
    contributions: readonly StoredContribution[],
    aggregateDigest: Uint8Array,
  ): Promise<{ readonly outcome: 'released'; readonly signed: SignedRelease } | { readonly outcome: 'retry' | 'failed' }> {
    try {
      const parts = releaseRequestParts(q, contributions, aggregateDigest, this.requestKey);
      const signed = await inSpan('fedmart.round.keyholder-release', { 'fedmart.contributions': contributions.length }, () => this.keyHolder.release(parts));
      return { outcome: 'released', signed };
    } catch (err) {
      const grpcCode = (err as ServiceError).code;
      if (grpcCode === grpcStatus.UNAVAILABLE || grpcCode === grpcStatus.DEADLINE_EXCEEDED) {
        this.log.warn({ queryId: q.queryId }, 'key holder unavailable; will retry');
        return { outcome: 'retry' };
      }
      const code = errorCodeOf(err) ?? 'KEYHOLDER_REFUSED';
      const reason = `key holder refused: ${(err as ServiceError).details ?? String(err)}`;
      await this.fail(q, /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'KEYHOLDER_REFUSED', reason, contributions.length);
      return { outcome: 'failed' };
    }
  }

  /** The release and its finalised result, with their audit records in the same transaction; false when another coordinator stored it first. */
  private storeRelease(q: QueryRecord, spec: unknown, signed: SignedRelease, doc: ReleaseDocument, result: unknown): Promise<boolean> {
    return inSpan('fedmart.round.store-release', {}, () => this.store.saveRelease({
      queryId: q.queryId,
      releaseJson: signed.releaseJson,
      keyholderSigningKey: signed.keyholderSigningKey,
      signature: signed.signature,
      resultJson: JSON.stringify(resultWithDisclosure(q.kind, spec, result, doc), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    }, async (tx) => {
      await this.audit.record({
        type: 'release.stored',
        actor: 'coordinator',
        details: {
          queryId: q.queryId,
          merchants: [...doc.merchants],
          policy: { minMerchants: doc.policy.minMerchants, minSubjects: doc.policy.minSubjects },
          noise: releaseNoiseOf(doc),
          releaseDigest: toHex(releaseDigest(signed.releaseJson)),
        },
      }, tx);
      for (const { reason, cells } of suppressionsOf(doc)) {
        await this.audit.record({
          type: 'threshold.suppressed',
          actor: 'keyholder',
          details: { queryId: q.queryId, cells, reason },
        }, tx);
      }
    }));
  }
}
