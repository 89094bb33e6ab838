/**
 * The storage contract of the audit log, and an in-memory implementation for
 * tests and demos.
 *
 * The contract is deliberately small so that the coordinator can implement
 * it on PostgreSQL/PGlite in a few statements, e.g.
 *
 * ```sql
 * CREATE TABLE audit_entries (seq bigint PRIMARY KEY, entry_json text NOT NULL, leaf_hash bytea NOT NULL);
 * CREATE TABLE audit_checkpoints (size bigint PRIMARY KEY, note text NOT NULL);
 * -- appendEntry: BEGIN; LOCK TABLE audit_entries IN EXCLUSIVE MODE;
 * --   SELECT count(*) AS seq FROM audit_entries; build(seq); INSERT ...; COMMIT;
 * ```
 *
 * The store is *not* trusted: `AuditLog.verifyStoredLog` recomputes every
 * leaf hash and every checkpoint root from the stored entry text, and proofs
 * are checked by parties who only trust a signed checkpoint. What the store
 * must guarantee is atomic, gap-free appends (seq = number of entries before
 * the append, even with several coordinator replicas sharing one database),
 * the previous entry's text handed to the builder under the same lock (the
 * log stamps each entry later than the one before it), and durability
 * before `appendEntry` resolves.
 *
 * @module
 */

/** One stored entry: its canonical JSON text and the RFC 6962 leaf hash of that text. */
export interface StoredAuditEntry {
  readonly seq: number;
  readonly entryJson: string;
  readonly leafHash: Uint8Array;
}

/** One stored checkpoint: the tree size and the signed note text. */
export interface StoredCheckpoint {
  readonly size: number;
  readonly note: string;
}

/**
 * Builds the entry for the sequence number the store is about to assign,
 * given the stored text of entry `seq - 1` (undefined for seq 0), from which
 * `AuditLog` takes the time the new entry must follow. Called synchronously
 * while the store holds its append lock, once per attempt (a store that
 * retries a failed transaction may call it again with the new seq).
 * `AuditLog` validates the entry beforehand so it does not throw; if it ever
 * does, the store must store nothing and reject.
 */
export type AuditEntryBuilder = (
  seq: number,
  previousEntryJson: string | undefined,
) => { readonly entryJson: string; readonly leafHash: Uint8Array };

/** Persistence for `AuditLog`. All sizes and sequence numbers are non-negative safe integers. */
export interface AuditStore {
  /**
   * Atomically: seq = current number of entries; store `build(seq, text of
   * entry seq - 1)` at seq; resolve with seq once durable. Concurrent appends
   * are serialised.
   */
  appendEntry(build: AuditEntryBuilder): Promise<number>;
  /**
   * As `appendEntry` for each of `builds` in order, atomically and under one
   * hold of the append lock: entry i gets seq first + i and is built from
   * the text of the one before it. Optional: `AuditLog.appendMany` falls
   * back to one `appendEntry` after another.
   */
  appendEntries?(builds: readonly AuditEntryBuilder[]): Promise<number[]>;
  /** Number of entries. */
  size(): Promise<number>;
  /** Leaf hashes of entries 0 .. upToSize-1, in order. Rejects if upToSize > size(). */
  leafHashes(upToSize: number): Promise<Uint8Array[]>;
  /** Entries with fromSeq <= seq < toSeq, in seq order (toSeq is exclusive; clipped to size()). */
  entries(fromSeq: number, toSeq: number): Promise<StoredAuditEntry[]>;
  /** Stores a signed checkpoint for `size`; keeps the first note if one already exists for that size. */
  saveCheckpoint(size: number, note: string): Promise<void>;
  /** The checkpoint with the largest size, if any. */
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** The checkpoint note for exactly `size`, if any. */
  checkpointAt(size: number): Promise<string | undefined>;
  /** Every stored checkpoint, by ascending size (for `verifyStoredLog`). */
  checkpoints(): Promise<StoredCheckpoint[]>;
}

function assertSize(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/**
 * An `AuditStore` in process memory. Its arrays are public on purpose: tests
 * use them to play a dishonest database (edit, delete, reorder or truncate
 * rows) and check that verification notices.
 */
export class InMemoryAuditStore implements AuditStore {
  /** Stored rows in storage order (index should equal seq). */
  readonly rows: StoredAuditEntry[] = [];
  /** Stored checkpoints by size. */
  readonly checkpointNotes = new Map<number, string>();

  async appendEntry(build: AuditEntryBuilder): Promise<number> {
    const seq = this.rows.length;
    const { entryJson, leafHash } = build(seq, this.rows[seq - 1]?.entryJson);
    if (typeof entryJson !== 'string') throw new TypeError('entryJson must be a string');
    if (!(leafHash instanceof Uint8Array)) throw new TypeError('leafHash must be a Uint8Array');
    this.rows.push({ seq, entryJson, leafHash: leafHash.slice() });
    return seq;
  }

  async size(): Promise<number> {
    return this.rows.length;
  }

  async leafHashes(upToSize: number): Promise<Uint8Array[]> {
    assertSize(upToSize, 'upToSize');
    if (upToSize > this.rows.length) throw new RangeError(`upToSize ${upToSize} exceeds the log size ${this.rows.length}`);
    return this.rows.slice(0, upToSize).map((r) => r.leafHash.slice());
  }

  async entries(fromSeq: number, toSeq: number): Promise<StoredAuditEntry[]> {
    assertSize(fromSeq, 'fromSeq');
    assertSize(toSeq, 'toSeq');
    return this.rows.slice(fromSeq, toSeq).map((r) => ({ ...r, leafHash: r.leafHash.slice() }));
  }

  async saveCheckpoint(size: number, note: string): Promise<void> {
    assertSize(size, 'size');
    if (typeof note !== 'string') throw new TypeError('note must be a string');
    if (!this.checkpointNotes.has(size)) this.checkpointNotes.set(size, note);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const all = await this.checkpoints();
    return all[all.length - 1];
  }

  async checkpointAt(size: number): Promise<string | undefined> {
    assertSize(size, 'size');
    return this.checkpointNotes.get(size);
  }

  async checkpoints(): Promise<StoredCheckpoint[]> {
    return [...this.checkpointNotes.entries()].sort(([a], [b]) => a - b).map(([size, note]) => ({ size, note }));
  }
}
