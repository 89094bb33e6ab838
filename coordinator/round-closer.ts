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
import { blake2b256, constantTimeEqual, toHex, verifyDigest, type HeContext } from '../crypto/index.js';
import { getQueryDefinition, parseReleaseDocument, releasedTotalsFromDocument } from '../analytics/index.js';
import { errorCodeOf, type ReleasePart } from '../protos/index.js';
import type { KeyHolderClient } from './keyholder-client.js';
import type { QueryLayouts } from './query-layouts.js';
import type { CoordinatorStore, QueryRecord } from './store.js';

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
    private readonly log: Logger,
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

  private async finish(q: QueryRecord): Promise<void> {
    const contributions = await this.store.contributions(q.queryId);
    if (contributions.length < q.minMerchants) {
      await this.store.transition(q.queryId, 'closing', 'failed', `only ${contributions.length} of the required ${q.minMerchants} merchants answered; nothing was decrypted`);
      this.log.warn({ queryId: q.queryId, contributions: contributions.length, minMerchants: q.minMerchants }, 'query failed: too few merchants');
      return;
    }
    const layout = this.layouts.layoutOf(q);
    const ctLength = this.ctx.ciphertextByteLength;
    const sums: Uint8Array[] = [];
    for (let i = 0; i < layout.ciphertextCount; i++) {
      sums.push(this.ctx.add(contributions.map((c) => c.ciphertexts.subarray(i * ctLength, (i + 1) * ctLength))));
    }
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
      const code = (err as ServiceError).code;
      if (code === grpcStatus.UNAVAILABLE || code === grpcStatus.DEADLINE_EXCEEDED) {
        this.log.warn({ queryId: q.queryId }, 'key holder unavailable; will retry');
        return;
      }
      const reason = `key holder refused: ${errorCodeOf(err) ?? 'UNKNOWN'}: ${(err as ServiceError).details ?? String(err)}`;
      await this.store.transition(q.queryId, 'closing', 'failed', reason);
      this.log.warn({ queryId: q.queryId, reason }, 'query failed');
      return;
    }
    if (!constantTimeEqual(signed.keyholderSigningKey, this.keyholderSigningKey) ||
        !verifyDigest(signed.signature, blake2b256(Buffer.from(signed.releaseJson, 'utf8')), this.keyholderSigningKey)) {
      await this.store.transition(q.queryId, 'closing', 'failed', 'release signature does not verify under the key holder key');
      this.log.error({ queryId: q.queryId }, 'release signature invalid');
      return;
    }
    const doc = parseReleaseDocument(JSON.parse(signed.releaseJson));
    if (doc.queryId !== q.queryId || doc.aggregateDigest !== toHex(aggregateDigest)) {
      await this.store.transition(q.queryId, 'closing', 'failed', 'release does not match this query\'s aggregate');
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
    });
    this.log.info({ queryId: q.queryId, merchants: doc.merchants.length }, 'release stored');
  }
}
