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
import type { CoordinatorStore, InsertContributionOutcome, NewContribution } from './store.js';

/** Most contributions stored in one transaction by default. */
export const DEFAULT_MAX_BATCH = 32;

interface Waiting {
  readonly item: NewContribution;
  readonly resolve: (outcome: InsertContributionOutcome) => void;
  readonly reject: (err: unknown) => void;
}

export class ContributionBatches {
  readonly #queue: Waiting[] = [];
  #draining = false;
  /** Transactions committed and contributions they carried, for metrics and tests. */
  readonly stats = { batches: 0, contributions: 0, largest: 0 };

  constructor(
    private readonly store: CoordinatorStore,
    private readonly maxBatch = DEFAULT_MAX_BATCH,
    /** Told the size of every committed transaction (for metrics). */
    private readonly onBatch?: (contributions: number) => void,
  ) {
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
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
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.maxBatch);
        try {
          const outcomes = await this.store.insertContributions(batch.map((w) => w.item));
          this.#count(batch.length);
          batch.forEach((w, i) => w.resolve(outcomes[i] as InsertContributionOutcome));
        } catch (err) {
          if (batch.length === 1) {
            (batch[0] as Waiting).reject(err);
            continue;
          }
          for (const w of batch) {
            try {
              // The failed batch deleted the staged files: each item writes its own again.
              const { ciphertextsFile: _deleted, ...item } = w.item;
              const [outcome] = await this.store.insertContributions([item]);
              this.#count(1);
              w.resolve(outcome as InsertContributionOutcome);
            } catch (one) {
              w.reject(one);
            }
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #count(n: number): void {
    this.onBatch?.(n);
    this.stats.batches++;
    this.stats.contributions += n;
    this.stats.largest = Math.max(this.stats.largest, n);
  }
}
