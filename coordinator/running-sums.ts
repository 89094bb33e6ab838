/**
 * Running sums of the open queries, in this coordinator process's memory.
 *
 * Every contribution this process stores is added here after its
 * transaction committed, never before: a contribution refused or rolled
 * back at any point leaves the sum as it was, so what a running sum holds
 * is always a subset of the stored contributions, and it names that subset
 * (the merchants added). At close the sum is used only if it holds exactly
 * the stored contributions of the query; otherwise — after a restart, with
 * several coordinators on one database (each holds only what it accepted
 * itself), or when the sum was not kept — the closer adds the stored
 * contributions, which it reads anyway to send them to the key holder.
 * BFV addition is coefficient-wise modulo q_j, so both ways give a
 * byte-identical aggregate. Nothing here is trusted by another process, and
 * nothing is written to the database per contribution.
 *
 * The sums are pure TypeScript (CiphertextAccumulator: two Float64Arrays
 * per ciphertext, 256 KiB at bfv-8192-t40); no SEAL object is involved.
 * This class is their one owner: the closer forgets a query's sum when the
 * query is finished, and from time to time the sums of queries finished
 * by another coordinator.
 *
 * A sum holds at most the parameter set's `maxAddends` contributions: the
 * accumulator refuses the next one, and the sum is given up. A round of more
 * is added at close, in stages (crypto/sum-contributions.ts).
 *
 * The merchants counted per query also tell the intake when a query may
 * have reached its target, so the round closer need not count the stored
 * contributions after every contribution.
 */
import { CiphertextAccumulator, type HeContext } from '../crypto/index.js';

/** Default cap on the ciphertexts summed in memory at once, over all queries (256 KiB each at bfv-8192-t40). */
export const DEFAULT_MAX_RUNNING_CIPHERTEXTS = 256;

interface RoundSum {
  /** Merchants whose stored contribution this process added (or counted, when `sums` is null). */
  readonly merchants: Set<string>;
  readonly ciphertextCount: number;
  /** One accumulator per ciphertext position; null once the sum is not kept (over the cap, or an add failed). */
  sums: CiphertextAccumulator[] | null;
}

export interface RunningSumsOptions {
  /** Most ciphertext positions summed in memory at once, over all queries (default 256). */
  readonly maxCiphertexts?: number;
}

export class RunningSums {
  readonly #ctx: HeContext;
  readonly #maxCiphertexts: number;
  readonly #rounds = new Map<string, RoundSum>();
  #ciphertextsHeld = 0;

  constructor(ctx: HeContext, options: RunningSumsOptions = {}) {
    this.#ctx = ctx;
    this.#maxCiphertexts = options.maxCiphertexts ?? DEFAULT_MAX_RUNNING_CIPHERTEXTS;
    if (!Number.isSafeInteger(this.#maxCiphertexts) || this.#maxCiphertexts < 0) throw new RangeError('maxCiphertexts must be a non-negative integer');
  }

  /**
   * Adds the contribution of `merchantId` to `queryId` (`ciphertextCount`
   * packed ciphertexts back to back, already validated), which this process
   * has just committed. Never throws: if the sum cannot take it, the query's
   * sum is no longer kept (its merchants are still counted) and the closer
   * adds the stored contributions instead.
   */
  add(queryId: string, merchantId: string, ciphertexts: Uint8Array, ciphertextCount: number): void {
    let round = this.#rounds.get(queryId);
    if (!round) {
      const fits = this.#ciphertextsHeld + ciphertextCount <= this.#maxCiphertexts;
      round = {
        merchants: new Set(),
        ciphertextCount,
        sums: fits ? Array.from({ length: ciphertextCount }, () => new CiphertextAccumulator(this.#ctx)) : null,
      };
      if (fits) this.#ciphertextsHeld += ciphertextCount;
      this.#rounds.set(queryId, round);
    }
    if (round.merchants.has(merchantId)) {
      // Stored once per merchant by the database: a second add means this sum cannot be trusted.
      this.#dropSums(round);
      return;
    }
    round.merchants.add(merchantId);
    if (!round.sums) return;
    const length = this.#ctx.packedCiphertextByteLength;
    if (ciphertextCount !== round.ciphertextCount || ciphertexts.length !== ciphertextCount * length) {
      this.#dropSums(round);
      return;
    }
    try {
      for (let i = 0; i < ciphertextCount; i++) {
        (round.sums[i] as CiphertextAccumulator).add(ciphertexts.subarray(i * length, (i + 1) * length));
      }
    } catch {
      // Each accumulator refuses as a whole, but earlier positions may already hold this
      // contribution: the sum is no longer a sum of contributions.
      this.#dropSums(round);
    }
  }

  /** Merchants this process stored for `queryId` since it started (0 if none). */
  count(queryId: string): number {
    return this.#rounds.get(queryId)?.merchants.size ?? 0;
  }

  /** Whether the running sum of `queryId` is kept (false when not known or given up). */
  holdsSum(queryId: string): boolean {
    return (this.#rounds.get(queryId)?.sums ?? null) !== null;
  }

  /**
   * The aggregate of `queryId` (one packed sum per ciphertext position) if
   * this process's running sum holds exactly the contributions of
   * `merchantIds` — the merchants of the stored contributions — and has
   * `ciphertextCount` positions; undefined otherwise.
   */
  sumsFor(queryId: string, merchantIds: readonly string[], ciphertextCount: number): Uint8Array[] | undefined {
    const round = this.#rounds.get(queryId);
    if (!round?.sums || round.ciphertextCount !== ciphertextCount) return undefined;
    if (round.merchants.size !== merchantIds.length || merchantIds.length === 0) return undefined;
    for (const m of merchantIds) if (!round.merchants.has(m)) return undefined;
    return round.sums.map((s) => s.sumPacked());
  }

  /** Forgets the running sum of a finished query. */
  forget(queryId: string): void {
    const round = this.#rounds.get(queryId);
    if (!round) return;
    this.#dropSums(round);
    this.#rounds.delete(queryId);
  }

  /** Query ids with running state. */
  queryIds(): string[] {
    return [...this.#rounds.keys()];
  }

  #dropSums(round: RoundSum): void {
    if (!round.sums) return;
    this.#ciphertextsHeld -= round.ciphertextCount;
    round.sums = null;
  }
}
