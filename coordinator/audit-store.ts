/**
 * The audit log's storage on the coordinator's SQL database. Appends take an
 * exclusive table lock inside their transaction, so sequence numbers are
 * gap-free and ordered even with several coordinator processes, and an entry
 * can be written in the same transaction as the fact it records. The next
 * seq is read after the lock is granted, under READ COMMITTED, so it sees
 * every entry committed by the previous holder; entries therefore become
 * visible strictly in seq order, and any snapshot holds a prefix of the log.
 * Further appends in the same transaction (a batch of contributions) take
 * the lock once and read the head once.
 */
import type { AuditEntryBuilder, AuditStore, StoredAuditEntry, StoredCheckpoint } from '../compliance/index.js';
import type { Database, SqlExecutor, SqlValue } from './database.js';

export class SqlAuditStore implements AuditStore {
  /** The store of each open transaction, so its appends share what the lock made certain. */
  private readonly perTransaction = new WeakMap<SqlExecutor, SqlAuditStore>();
  /**
   * The newest entry, once this store's transaction holds the append lock:
   * until it commits nobody else can append, so a later append in the same
   * transaction takes its seq and time from here instead of the table.
   */
  private head: { seq: number; entryJson: string } | null | undefined;

  /**
   * @param db the database, for reads and standalone appends
   * @param tx when given, every operation runs in this open transaction
   *   (appends join it; on PGlite, reads through `db` would wait for it)
   */
  constructor(
    private readonly db: Database,
    private readonly tx?: SqlExecutor,
  ) {}

  /** The store whose operations happen inside the caller's transaction (one per transaction). */
  within(tx: SqlExecutor): SqlAuditStore {
    let store = this.perTransaction.get(tx);
    if (!store) {
      store = new SqlAuditStore(this.db, tx);
      this.perTransaction.set(tx, store);
    }
    return store;
  }

  async appendEntry(build: AuditEntryBuilder): Promise<number> {
    return (await this.appendEntries([build]))[0] as number;
  }

  /** Several entries under one hold of the lock and in one INSERT (a batch of contributions' entries). */
  async appendEntries(builds: readonly AuditEntryBuilder[]): Promise<number[]> {
    if (builds.length === 0) return [];
    const append = async (tx: SqlExecutor, locked: boolean) => {
      let last = locked ? this.head : undefined;
      if (last === undefined) {
        await tx.query('LOCK TABLE audit_entries IN EXCLUSIVE MODE');
        // The newest row by the primary key reads one index page (count(*) would scan the whole
        // log while every appender waits); its text gives the time the new entry must follow.
        const rows = await tx.query<{ seq: string | number; entry_json: string }>('SELECT seq, entry_json FROM audit_entries ORDER BY seq DESC LIMIT 1');
        last = rows[0] === undefined ? null : { seq: Number(rows[0].seq), entryJson: rows[0].entry_json };
      }
      const params: SqlValue[] = [];
      const tuples: string[] = [];
      let newest = last;
      for (const build of builds) {
        const seq = newest === null ? 0 : newest.seq + 1;
        const { entryJson, leafHash } = build(seq, newest?.entryJson);
        tuples.push(`($${params.length + 1}, $${params.length + 2}, $${params.length + 3})`);
        params.push(seq, entryJson, leafHash);
        newest = { seq, entryJson };
      }
      // Forgotten until the insert succeeded: a failed one leaves the transaction to roll back.
      if (locked) this.head = undefined;
      await tx.query(`INSERT INTO audit_entries (seq, entry_json, leaf_hash) VALUES ${tuples.join(', ')}`, params);
      if (locked) this.head = newest;
      const first = last === null ? 0 : last.seq + 1;
      return builds.map((_, i) => first + i);
    };
    return this.tx ? append(this.tx, true) : this.db.transaction((tx) => append(tx, false));
  }

  private get sql(): SqlExecutor {
    return this.tx ?? this.db;
  }

  /** Number of stored entries (a gap left by a deleted row then shows up in verifyStoredLog). */
  async size(): Promise<number> {
    const rows = await this.sql.query<{ n: string | number }>('SELECT count(*) AS n FROM audit_entries');
    return Number(rows[0]?.n ?? 0);
  }

  async leafHashes(upToSize: number): Promise<Uint8Array[]> {
    const rows = await this.sql.query<{ leaf_hash: Uint8Array }>('SELECT leaf_hash FROM audit_entries WHERE seq < $1 ORDER BY seq', [upToSize]);
    if (rows.length !== upToSize) throw new RangeError(`upToSize ${upToSize} exceeds the log size ${rows.length}`);
    return rows.map((r) => r.leaf_hash);
  }

  async entries(fromSeq: number, toSeq: number): Promise<StoredAuditEntry[]> {
    const rows = await this.sql.query<{ seq: string | number; entry_json: string; leaf_hash: Uint8Array }>(
      'SELECT seq, entry_json, leaf_hash FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq',
      [fromSeq, toSeq],
    );
    return rows.map((r) => ({ seq: Number(r.seq), entryJson: r.entry_json, leafHash: r.leaf_hash }));
  }

  async saveCheckpoint(size: number, note: string): Promise<void> {
    await this.sql.query('INSERT INTO audit_checkpoints (size, note) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING', [size, note]);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const rows = await this.sql.query<{ size: string | number; note: string }>('SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1');
    const r = rows[0];
    return r ? { size: Number(r.size), note: r.note } : undefined;
  }

  async checkpointAt(size: number): Promise<string | undefined> {
    const rows = await this.sql.query<{ note: string }>('SELECT note FROM audit_checkpoints WHERE size = $1', [size]);
    return rows[0]?.note;
  }

  async checkpoints(): Promise<StoredCheckpoint[]> {
    const rows = await this.sql.query<{ size: string | number; note: string }>('SELECT size, note FROM audit_checkpoints ORDER BY size');
    return rows.map((r) => ({ size: Number(r.size), note: r.note }));
  }
}
