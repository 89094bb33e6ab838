/**
 * The round terms of stored queries (round/round-terms.ts), derived once per
 * query so the intake path neither re-parses specs nor re-hashes the
 * layout's description for every contribution.
 */
import type { HeContext, SlotLayout } from '../crypto/index.js';
import { RoundTerms } from '../round/index.js';
import type { QueryRecord } from './store.js';

export class QueryLayouts {
  private readonly cache = new Map<string, RoundTerms>();

  constructor(private readonly ctx: HeContext) {}

  /** The terms of `query` (its spec was checked when it was created, so this does not throw for a stored query). */
  termsOf(query: QueryRecord): RoundTerms {
    let terms = this.cache.get(query.queryId);
    if (!terms) {
      terms = RoundTerms.of(this.ctx, { kind: query.kind, specJson: query.specJson, maxContributors: query.maxContributors });
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(query.queryId, terms);
    }
    return terms;
  }

  /** The layout every contribution to `query` must use. */
  layoutOf(query: QueryRecord): SlotLayout {
    return this.termsOf(query).layout;
  }
}
