/**
 * The coordinator's audit trail: one RFC 6962 Merkle log of every processing
 * event, stored in the coordinator database and signed with the coordinator's
 * audit key. Events that record a database change are appended inside that
 * change's transaction, so the log can never miss a stored fact.
 *
 * Several coordinators may share the database and the audit key: appends
 * serialise on the entries table's lock, and signing a checkpoint holds an
 * exclusive lock on the checkpoints table, so no other coordinator can store
 * a checkpoint between this one reading the log's size and comparing it
 * with the latest checkpoint.
 */
import { type SigningKeyPair } from '../crypto/index.js';
import { AuditLog, exportAuditBundle, type AuditBundle, type AuditEntry, type AuditEvent, type AuditRegisters } from '../compliance/index.js';
import { SqlAuditStore } from './audit-store.js';
import type { Database, SqlExecutor } from './database.js';

export interface AuditTrailOptions {
  readonly db: Database;
  /** Checkpoint origin, e.g. `fedmart.local/audit`. */
  readonly origin: string;
  readonly keyPair: SigningKeyPair;
}

export class AuditTrail {
  readonly log: AuditLog;
  private readonly store: SqlAuditStore;
  private readonly options: AuditTrailOptions;

  constructor(options: AuditTrailOptions) {
    this.options = options;
    this.store = new SqlAuditStore(options.db);
    this.log = this.logOver(this.store);
  }

  private logOver(store: SqlAuditStore): AuditLog {
    return new AuditLog({ store, origin: this.options.origin, keyName: this.options.origin, keyPair: this.options.keyPair });
  }

  get origin(): string {
    return this.options.origin;
  }

  get publicKey(): Uint8Array {
    return this.options.keyPair.publicKey;
  }

  /** Appends an event, inside `tx` when given (it commits or rolls back with it). */
  record(event: AuditEvent, tx?: SqlExecutor): Promise<AuditEntry> {
    return tx ? this.logOver(this.store.within(tx)).append(event) : this.log.append(event);
  }

  /** Appends `events` in order inside `tx`, under one hold of the append lock and in one INSERT. */
  recordMany(events: readonly AuditEvent[], tx: SqlExecutor): Promise<AuditEntry[]> {
    return this.logOver(this.store.within(tx)).appendMany(events);
  }

  /** Signs a checkpoint of the current log (or returns the latest if the log did not grow). */
  checkpoint(): Promise<string> {
    return this.withCheckpointLock((log) => log.checkpoint());
  }

  /** Runs `fn` on a log whose every operation is in one transaction holding the checkpoint lock. */
  private withCheckpointLock<T>(fn: (log: AuditLog) => Promise<T>): Promise<T> {
    return this.options.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE audit_checkpoints IN EXCLUSIVE MODE');
      return fn(this.logOver(this.store.within(tx)));
    });
  }

  /** Signs a report bundle of the entries in [from, to] and records the export in the log. */
  exportBundle(options: { from: string; to: string; registers: AuditRegisters; actor: string }): Promise<AuditBundle> {
    return this.withCheckpointLock((log) => exportAuditBundle(log, {
      from: options.from,
      to: options.to,
      registers: options.registers,
      keyPair: this.options.keyPair,
      recordAsActor: options.actor,
    }));
  }
}
