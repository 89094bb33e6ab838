/**
 * Slot layouts of stored queries, derived once per query from its spec so
 * the intake path does not re-parse specs for every contribution.
 */
import { SlotLayout, type HeContext } from '../crypto/index.js';
import { getQueryDefinition } from '../analytics/index.js';
import type { QueryRecord } from './store.js';

export class QueryLayouts {
  private readonly cache = new Map<string, SlotLayout>();

  constructor(private readonly ctx: HeContext) {}

  /** The layout every contribution to `query` must use. */
  layoutOf(query: QueryRecord): SlotLayout {
    let layout = this.cache.get(query.queryId);
    if (!layout) {
      const definition = getQueryDefinition(query.kind);
      const spec = definition.parseSpec(JSON.parse(query.specJson));
      layout = new SlotLayout(definition.fields(spec), {
        plainModulus: this.ctx.plainModulus,
        slotCount: this.ctx.slotCount,
        maxContributors: query.maxContributors,
      });
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(query.queryId, layout);
    }
    return layout;
  }
}
