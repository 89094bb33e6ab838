/**
 * Group commit for the intake: contributions that finish their checks while
 * a transaction is committing wait for it, then go into the database
 * together, in one transaction with one hold of the audit log's lock
 * (`CoordinatorStore.insertContributions`). Nothing waits on a timer: a
 * contribution that finds no transaction in flight is stored at once, so a
 * lone merchant sees no added latency, and under load each commit carries
 * whatever arrived during the previous one.
 *
 * Every merchant is still acknowledged only after the transaction that
 * stores its contribution has committed. If a batch fails as a whole (a
 * database error, or one item's audit entry that cannot be written), its
 * items are stored one by one, so one bad item costs the others nothing.
 */
import type { AuditRecorder, CoordinatorStore, InsertContributionOutcome, NewContribution } from './store.js';

/** Most contributions stored in one transaction by default. */
export const DEFAULT_MAX_BATCH = 32;

interface Waiting {
  readonly item: NewContribution;
  readonly resolve: (outcome: InsertContributionOutcome) => void;
  readonly reject: (err: unknown) => void;
}

/** What a {@link ContributionBatches} reports to and stores through, besides the store. */
export interface ContributionBatchesOptions {
  /** Told the size of every committed transaction (for metrics). */
  readonly onBatch?: (contributions: number) => void;
  /** Appends the items' `auditEvent`s, once per transaction. */
  readonly recorder?: AuditRecorder;
  /**
   * Transactions in flight at once (default 1). On PostgreSQL two overlap
   * their contribution INSERTs, the heavy part, and queue only for the audit
   * log's lock and the commit; PGlite has one connection, so 1 there.
   */
  readonly concurrency?: number;
}

export class ContributionBatches {
  readonly #queue: Waiting[] = [];
  #inFlight = 0;
  readonly #concurrency: number;
  readonly #onBatch: ((contributions: number) => void) | undefined;
  readonly #recorder: AuditRecorder | undefined;
  /** Transactions committed and contributions they carried, for metrics and tests. */
  readonly stats = { batches: 0, contributions: 0, largest: 0 };

  constructor(
    private readonly store: CoordinatorStore,
    private readonly maxBatch = DEFAULT_MAX_BATCH,
    options: ContributionBatchesOptions = {},
  ) {
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    this.#concurrency = options.concurrency ?? 1;
    if (!Number.isSafeInteger(this.#concurrency) || this.#concurrency < 1) throw new RangeError(`options.concurrency must be a positive integer, got ${String(options.concurrency)}`);
    this.#onBatch = options.onBatch;
    this.#recorder = options.recorder;
  }

  /**
   * Stores `item` with the next batch; resolves with its own outcome once
   * that batch committed (or rejects with the error that stopped it).
   * Its ciphertexts are staged (written to their file) before it queues, so
   * that write overlaps the transaction in flight.
   */
  async insert(item: NewContribution): Promise<InsertContributionOutcome> {
    const staged = item.ciphertextsFile === undefined ? { ...item, ciphertextsFile: await this.store.stageCiphertexts(item.ciphertexts) } : item;
    return new Promise((resolve, reject) => {
      this.#queue.push({ item: staged, resolve, reject });
      this.#pump();
    });
  }

  /** Starts transactions for what is queued, up to the concurrency; each one, when done, starts the next. */
  #pump(): void {
    while (this.#inFlight < this.#concurrency && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.maxBatch);
      this.#inFlight++;
      void this.#store(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  /** One batch in one transaction; if it fails as a whole, its items one by one. Never rejects. */
  async #store(batch: Waiting[]): Promise<void> {
    try {
      const outcomes = await this.store.insertContributions(batch.map((w) => w.item), this.#recorder);
      this.#count(batch.length);
      batch.forEach((w, i) => w.resolve(outcomes[i] as InsertContributionOutcome));
    } catch (err) {
      if (batch.length === 1) {
        (batch[0] as Waiting).reject(err);
        return;
      }
      for (const w of batch) {
        try {
          // The failed batch deleted the staged files: each item writes its own again.
          const { ciphertextsFile: _deleted, ...item } = w.item;
          const [outcome] = await this.store.insertContributions([item], this.#recorder);
          this.#count(1);
          w.resolve(outcome as InsertContributionOutcome);
        } catch (one) {
          w.reject(one);
        }
      }
    }
  }

  #count(n: number): void {
    this.#onBatch?.(n);
    this.stats.batches++;
    this.stats.contributions += n;
    this.stats.largest = Math.max(this.stats.largest, n);
  }
}
