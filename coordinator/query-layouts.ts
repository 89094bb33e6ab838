/**
 * Slot layouts of stored queries, derived once per query from its spec so
 * the intake path does not re-parse specs, nor re-hash the layout's
 * description, for every contribution.
 */
import { SlotLayout, type HeContext } from '../crypto/index.js';
import { getQueryDefinition } from '../analytics/index.js';
import type { QueryRecord } from './store.js';

interface LayoutEntry {
  readonly layout: SlotLayout;
  /** `layout.digest()`, computed once (a BLAKE2b over its canonical description). */
  readonly digest: Uint8Array;
}

export class QueryLayouts {
  private readonly cache = new Map<string, LayoutEntry>();

  constructor(private readonly ctx: HeContext) {}

  private entryOf(query: QueryRecord): LayoutEntry {
    let entry = this.cache.get(query.queryId);
    if (!entry) {
      const definition = getQueryDefinition(query.kind);
      const spec = definition.parseSpec(JSON.parse(query.specJson));
      const layout = new SlotLayout(definition.fields(spec), {
        plainModulus: this.ctx.plainModulus,
        slotCount: this.ctx.slotCount,
        maxContributors: query.maxContributors,
      });
      entry = { layout, digest: layout.digest() };
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(query.queryId, entry);
    }
    return entry;
  }

  /** The layout every contribution to `query` must use. */
  layoutOf(query: QueryRecord): SlotLayout {
    return this.entryOf(query).layout;
  }

  /** `layoutOf(query).digest()`, memoised per query; do not modify the bytes. */
  digestOf(query: QueryRecord): Uint8Array {
    return this.entryOf(query).digest;
  }
}
