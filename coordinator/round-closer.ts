/**
 * Closes queries and obtains their releases. A query closes when its target
 * number of merchants answered or its deadline passed. With fewer than the
 * minimum number of merchants it fails without the key holder ever being
 * asked; otherwise the coordinator adds the ciphertexts, streams them to the
 * key holder, checks the signed release and stores it with the finalised
 * result. A key holder that cannot be reached leaves the query closing, to
 * be retried.
 */
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { blake2b256, constantTimeEqual, sumPackedContributions, toHex, verifyDigest, type HeContext } from '../crypto/index.js';
import { getQueryDefinition, parseReleaseDocument, releasedTotalsFromDocument } from '../analytics/index.js';
import { errorCodeOf, type ReleasePart } from '../protos/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { KeyHolderClient } from './keyholder-client.js';
import type { QueryLayouts } from './query-layouts.js';
import type { CoordinatorStore, QueryRecord } from './store.js';

/** What happens after a round ends (model fits chain their rounds here). */
export interface RoundHooks {
  onReleased?(q: QueryRecord, result: unknown): Promise<void>;
  onFailed?(q: QueryRecord, code: string): Promise<void>;
}

export class RoundCloser {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: HeContext,
    private readonly store: CoordinatorStore,
    private readonly layouts: QueryLayouts,
    private readonly keyHolder: KeyHolderClient,
    private readonly keyholderSigningKey: Uint8Array,
    private readonly audit: AuditTrail,
    private readonly log: Logger,
    private readonly hooks: RoundHooks = {},
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
    const now = Date.now();
    for (const q of await this.store.listQueries('open')) {
      const count = await this.store.contributionCount(q.queryId);
      if (count >= q.targetMerchants || q.deadline.getTime() <= now) {
        if (await this.store.transition(q.queryId, 'open', 'closing')) {
          this.log.info({ queryId: q.queryId, contributions: count }, 'query closed');
        }
      }
    }
    for (const q of await this.store.listQueries('closing')) await this.finish(q);
  }

  /** Marks a closing query failed, with its audit entry in the same transaction. */
  private async fail(q: QueryRecord, code: string, reason: string, contributions: number): Promise<void> {
    await this.store.transition(q.queryId, 'closing', 'failed', reason, (tx) => this.audit.record({
      type: 'query.failed',
      actor: 'coordinator',
      details: { queryId: q.queryId, reason: code, contributions },
    }, tx));
    this.log.warn({ queryId: q.queryId, code }, 'query failed');
    await this.hooks.onFailed?.(q, code);
  }

  private async finish(q: QueryRecord): Promise<void> {
    const contributions = await this.store.contributions(q.queryId);
    if (contributions.length < q.minMerchants) {
      await this.fail(q, 'TOO_FEW_MERCHANTS', `only ${contributions.length} of the required ${q.minMerchants} merchants answered; nothing was decrypted`, contributions.length);
      return;
    }
    const layout = this.layouts.layoutOf(q);
    const sums = sumPackedContributions(this.ctx, contributions.map((c) => c.ciphertexts), layout.ciphertextCount);
    const aggregateDigest = blake2b256(Buffer.concat(sums));
    const parts: ReleasePart[] = [
      {
        header: {
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
        },
      },
      ...contributions.map((c) => ({
        contribution: { header: c.header, merchantSigningKey: Buffer.from(c.signingPublicKey), ciphertexts: Buffer.from(c.ciphertexts) },
      })),
    ];
    let signed;
    try {
      signed = await this.keyHolder.release(parts);
    } catch (err) {
      const grpcCode = (err as ServiceError).code;
      if (grpcCode === grpcStatus.UNAVAILABLE || grpcCode === grpcStatus.DEADLINE_EXCEEDED) {
        this.log.warn({ queryId: q.queryId }, 'key holder unavailable; will retry');
        return;
      }
      const code = errorCodeOf(err) ?? 'KEYHOLDER_REFUSED';
      const reason = `key holder refused: ${(err as ServiceError).details ?? String(err)}`;
      await this.fail(q, /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'KEYHOLDER_REFUSED', reason, contributions.length);
      return;
    }
    if (!constantTimeEqual(signed.keyholderSigningKey, this.keyholderSigningKey) ||
        !verifyDigest(signed.signature, blake2b256(Buffer.from(signed.releaseJson, 'utf8')), this.keyholderSigningKey)) {
      await this.fail(q, 'RELEASE_SIGNATURE_INVALID', 'release signature does not verify under the key holder key', contributions.length);
      return;
    }
    const doc = parseReleaseDocument(JSON.parse(signed.releaseJson));
    if (doc.queryId !== q.queryId || doc.aggregateDigest !== toHex(aggregateDigest)) {
      await this.fail(q, 'RELEASE_MISMATCH', 'release does not match this query\'s aggregate', contributions.length);
      return;
    }
    const definition = getQueryDefinition(q.kind);
    const result = definition.finalise(definition.parseSpec(JSON.parse(q.specJson)), releasedTotalsFromDocument(doc));
    await this.store.saveRelease({
      queryId: q.queryId,
      releaseJson: signed.releaseJson,
      keyholderSigningKey: signed.keyholderSigningKey,
      signature: signed.signature,
      resultJson: JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    }, async (tx) => {
      await this.audit.record({
        type: 'release.stored',
        actor: 'coordinator',
        details: {
          queryId: q.queryId,
          merchants: [...doc.merchants],
          policy: { minMerchants: doc.policy.minMerchants, minSubjects: doc.policy.minSubjects },
          noise: null,
          releaseDigest: toHex(blake2b256(Buffer.from(signed.releaseJson, 'utf8'))),
        },
      }, tx);
      const suppressed = Object.entries(doc.cells).filter(([, c]) => c.suppressed).map(([name]) => name);
      if (suppressed.length > 0) {
        await this.audit.record({
          type: 'threshold.suppressed',
          actor: 'keyholder',
          details: { queryId: q.queryId, cells: suppressed, reason: 'FEWER_THAN_K_SUBJECTS' },
        }, tx);
      }
    });
    this.log.info({ queryId: q.queryId, merchants: doc.merchants.length }, 'release stored');
    // Publish a checkpoint covering the release at once, so the result is provable.
    await this.audit.checkpoint();
    await this.hooks.onReleased?.(q, result);
  }
}
