/**
 * The append-only, Merkle-tree audit log (RFC 6962 tree, C2SP checkpoints)
 * over an {@link AuditStore}.
 *
 * Every step of a round appends one catalogued event; `checkpoint()` signs
 * the current tree head. The coordinator hands out checkpoints, inclusion
 * and consistency proofs; anyone holding the log's public key can check them
 * offline, so a released number can be traced to the entries behind it and
 * the record cannot be edited afterwards without the edit showing (PIPL
 * arts. 51/54).
 *
 * Entry times strictly increase with seq: an entry is stamped with the
 * clock's time, or 1 ms after the previous entry's time when the clock is not
 * ahead of it (several entries in one millisecond, a clock set back, or
 * another coordinator sharing the database whose clock runs ahead). The time
 * is settled while the store holds its append lock, from the previous
 * entry's stored text, so the order holds across processes. An audit bundle
 * relies on it to prove that it holds every entry of a time range: an entry
 * stamped before `from` is preceded only by earlier ones, one stamped after
 * `to` is followed only by later ones, and every entry appended after a
 * checkpoint is stamped after the checkpoint's last entry.
 *
 * The log refuses to sign a checkpoint that is inconsistent with the latest
 * stored one (a log must never sign two inconsistent heads), and
 * `verifyStoredLog()` re-derives every leaf hash and checkpoint root from the
 * stored entry text, so a database edit, deletion, reordering or truncation
 * is reported with the first sequence number that no longer matches.
 *
 * @module
 */
import { constantTimeEqual, cryptoReady, toHex } from '../crypto/index.js';
import type { SigningKeyPair } from '../crypto/index.js';
import { canonicalSpecJson } from '../analytics/canonical-json.js';
import { AuditEntryError, auditLeafData, isoTime, parseAuditEntry, validateAuditEvent } from './audit-events.js';
import type { AuditEntry, AuditEvent } from './audit-events.js';
import type { AuditEntryBuilder, AuditStore } from './audit-store.js';
import { MerkleTree, leafHash } from './merkle.js';
import { signCheckpoint, verifyCheckpoint } from './checkpoint.js';
import type { ParsedCheckpoint } from './checkpoint.js';
import { CheckpointError } from './checkpoint-error.js';
import { isValidKeyName } from './signed-note.js';

/** Why the log refused an operation. */
export type AuditLogErrorCode = 'OUT_OF_RANGE' | 'INCONSISTENT_CHECKPOINT' | 'STORE_MISBEHAVED' | 'TIMES_OUT_OF_ORDER';

/** A log operation failed; `code` says why. Invalid events raise `AuditEntryError` instead. */
export class AuditLogError extends Error {
  override readonly name = 'AuditLogError';
  readonly code: AuditLogErrorCode;

  constructor(code: AuditLogErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Construction options of {@link AuditLog}. */
export interface AuditLogOptions {
  readonly store: AuditStore;
  /** Checkpoint origin line, e.g. `fedmart.example/audit`. */
  readonly origin: string;
  /** Signed-note key name of the log key (conventionally equal to the origin). */
  readonly keyName: string;
  /** The log's Ed25519 key pair (libsodium form). */
  readonly keyPair: SigningKeyPair;
  /** Time source for entry timestamps; defaults to the system clock. */
  readonly clock?: () => Date;
}

/** Result of {@link AuditLog.verifyStoredLog}. */
export type StoredLogReport =
  | { readonly ok: true; readonly size: number; readonly rootHex: string; readonly checkpointsChecked: number }
  | {
      readonly ok: false;
      /** First sequence number that does not match (for a checkpoint mismatch: the first seq it could be). */
      readonly firstBadSeq: number;
      readonly code: 'ENTRY_INVALID' | 'SEQ_MISMATCH' | 'LEAF_HASH_MISMATCH' | 'CHECKPOINT_INVALID' | 'CHECKPOINT_BEYOND_LOG' | 'CHECKPOINT_ROOT_MISMATCH';
      readonly reason: string;
    };

const PAGE = 1000;
const utf8 = new TextEncoder();

function assertSize(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/** Latest time an entry can carry (`isoTime` has four-digit years). */
const LAST_ENTRY_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The `time` of a stored entry text, in ms, or undefined if it has none (an untrusted store's text). */
function entryTimeOf(entryJson: string | undefined): number | undefined {
  if (typeof entryJson !== 'string') return undefined;
  try {
    const time: unknown = (JSON.parse(entryJson) as { time?: unknown } | null)?.time;
    return isoTime.safeParse(time).success ? Date.parse(time as string) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The time of a new entry: the clock's, or 1 ms after the previous entry's
 * when the clock is not ahead of it, so times strictly increase with seq.
 */
function stampAfter(clockMs: number, previousEntryJson: string | undefined): string {
  const previous = entryTimeOf(previousEntryJson);
  const t = previous === undefined ? clockMs : Math.max(clockMs, previous + 1);
  if (t > LAST_ENTRY_TIME) throw new AuditLogError('OUT_OF_RANGE', 'the previous entry is stamped at the last representable time');
  return new Date(t).toISOString();
}

/** The audit log. One instance per process; the store serialises appends across processes. */
export class AuditLog {
  readonly origin: string;
  readonly keyName: string;
  readonly publicKey: Uint8Array;
  private readonly store: AuditStore;
  private readonly keyPair: SigningKeyPair;
  private readonly clock: () => Date;

  constructor(options: AuditLogOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const { store, origin, keyName, keyPair, clock } = options;
    if (typeof store !== 'object' || store === null) throw new TypeError('options.store must be an AuditStore');
    if (typeof origin !== 'string' || origin.length === 0 || /[\u0000-\u001f]/.test(origin)) {
      throw new TypeError('options.origin must be a non-empty string without control characters');
    }
    if (!isValidKeyName(keyName)) throw new TypeError('options.keyName must be a key name without spaces or +');
    if (!(keyPair?.publicKey instanceof Uint8Array) || !(keyPair.secretKey instanceof Uint8Array)) {
      throw new TypeError('options.keyPair must be a SigningKeyPair');
    }
    // libsodium's secret key is seed || public key: a mismatched pair would sign checkpoints nobody can verify.
    if (keyPair.secretKey.length !== 64 || !constantTimeEqual(keyPair.secretKey.subarray(32), keyPair.publicKey)) {
      throw new RangeError('options.keyPair: secretKey does not belong to publicKey');
    }
    if (clock !== undefined && typeof clock !== 'function') throw new TypeError('options.clock must be a function');
    this.store = store;
    this.origin = origin;
    this.keyName = keyName;
    this.keyPair = keyPair;
    this.publicKey = keyPair.publicKey.slice();
    this.clock = clock ?? (() => new Date());
  }

  /**
   * Validates `event` against the catalogue, stamps it with the next seq and
   * the current time (moved to 1 ms after the previous entry's when the clock
   * is not ahead of it), and stores it. Resolves with the stored entry once
   * the store reports it durable. Throws AuditEntryError for an invalid event
   * (nothing is stored).
   */
  async append(event: AuditEvent): Promise<AuditEntry> {
    const { builders, built } = this.#prepare([event]);
    const seq = await this.store.appendEntry(builders[0] as AuditEntryBuilder);
    const entry = built[0];
    if (entry === undefined || entry.seq !== seq) {
      throw new AuditLogError('STORE_MISBEHAVED', `store returned seq ${seq} for an entry built as ${entry?.seq ?? 'nothing'}`);
    }
    return entry;
  }

  /**
   * Appends `events` in order as `append` does each, through the store's
   * `appendEntries` when it has one (one hold of its lock, one write) and
   * else one after another. Every event is validated before anything is
   * stored: an invalid one throws AuditEntryError and stores none of them.
   */
  async appendMany(events: readonly AuditEvent[]): Promise<AuditEntry[]> {
    if (!Array.isArray(events)) throw new TypeError('events must be an array');
    if (events.length === 0) return [];
    const appendEntries = this.store.appendEntries?.bind(this.store);
    if (appendEntries === undefined) {
      const out: AuditEntry[] = [];
      for (const e of events) out.push(await this.append(e));
      return out;
    }
    const { builders, built } = this.#prepare(events);
    const seqs = await appendEntries(builders);
    if (seqs.length !== events.length || seqs.some((s, i) => built[i]?.seq !== s || (i > 0 && s !== (seqs[i - 1] as number) + 1))) {
      throw new AuditLogError('STORE_MISBEHAVED', `store returned seqs ${seqs.join(',')} for entries built as ${built.map((b) => b.seq).join(',')}`);
    }
    return built;
  }

  /**
   * Validates `events` and stamps them with the current time, then returns
   * one builder per event for the store, which fills `built` (by index) as
   * it calls them. Everything but the seq is checked here, before the
   * store's append lock is taken, so that a builder cannot fail inside it
   * (its time is the clock's or a later valid one; it fails only if the
   * previous entry is stamped at LAST_ENTRY_TIME).
   */
  #prepare(events: readonly AuditEvent[]): { builders: AuditEntryBuilder[]; built: AuditEntry[] } {
    const clean = events.map((e) => validateAuditEvent(e));
    const now = this.clock();
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('clock() must return a valid Date');
    const make = (c: AuditEvent, s: number, time: string): AuditEntry => ({ seq: s, time, type: c.type, actor: c.actor, details: c.details }) as AuditEntry;
    for (const c of clean) parseAuditEntry(canonicalSpecJson(make(c, 0, now.toISOString())));
    const built: AuditEntry[] = [];
    const builders = clean.map((c, i): AuditEntryBuilder => (s, previousEntryJson) => {
      const entry = make(c, s, stampAfter(now.getTime(), previousEntryJson));
      built[i] = entry;
      const entryJson = canonicalSpecJson(entry);
      return { entryJson, leafHash: leafHash(auditLeafData(entryJson)) };
    });
    return { builders, built };
  }

  /** Number of entries. */
  size(): Promise<number> {
    return this.store.size();
  }

  /** Parsed entries with fromSeq <= seq < toSeq. */
  async entries(fromSeq: number, toSeq: number): Promise<AuditEntry[]> {
    assertSize(fromSeq, 'fromSeq');
    assertSize(toSeq, 'toSeq');
    const rows = await this.store.entries(fromSeq, toSeq);
    return rows.map((r) => parseAuditEntry(r.entryJson));
  }

  /** Stored entry rows (exact text and leaf hash) with fromSeq <= seq < toSeq, e.g. for an export bundle. */
  async entryRows(fromSeq: number, toSeq: number): Promise<{ seq: number; entryJson: string }[]> {
    assertSize(fromSeq, 'fromSeq');
    assertSize(toSeq, 'toSeq');
    return (await this.store.entries(fromSeq, toSeq)).map((r) => ({ seq: r.seq, entryJson: r.entryJson }));
  }

  /** Builds the Merkle tree of the first `size` stored leaf hashes. */
  private async tree(size: number): Promise<MerkleTree> {
    const current = await this.store.size();
    if (size > current) throw new AuditLogError('OUT_OF_RANGE', `tree size ${size} exceeds the log size ${current}`);
    const hashes = await this.store.leafHashes(size);
    if (hashes.length !== size) throw new AuditLogError('STORE_MISBEHAVED', `store returned ${hashes.length} leaf hashes for size ${size}`);
    return MerkleTree.fromLeafHashes(hashes);
  }

  /** Merkle tree (all complete subtrees cached) of the first `size` entries, for many proofs at once. */
  merkleTree(size: number): Promise<MerkleTree> {
    assertSize(size, 'size');
    return this.tree(size);
  }

  /**
   * Signs a checkpoint for the current size and stores it; returns the note.
   * If one exists for this size it is returned unchanged. Refuses
   * (INCONSISTENT_CHECKPOINT) when the stored tree no longer extends the
   * latest stored checkpoint: signing then would certify a rewritten history.
   */
  async checkpoint(): Promise<string> {
    await cryptoReady();
    const size = await this.store.size();
    const tree = await this.tree(size);
    const latest = await this.store.latestCheckpoint();
    if (latest !== undefined) {
      let prior: ParsedCheckpoint;
      try {
        prior = verifyCheckpoint(latest.note, this.keyName, this.publicKey, { origin: this.origin });
      } catch (e) {
        const why = e instanceof CheckpointError ? e.message : String(e);
        throw new AuditLogError('INCONSISTENT_CHECKPOINT', `latest stored checkpoint does not verify: ${why}`);
      }
      if (prior.size > size) {
        throw new AuditLogError('INCONSISTENT_CHECKPOINT', `log has ${size} entries but a checkpoint for ${prior.size} was signed`);
      }
      if (!constantTimeEqual(tree.root(prior.size), prior.rootHash)) {
        throw new AuditLogError('INCONSISTENT_CHECKPOINT', `stored entries no longer match the checkpoint at size ${prior.size}`);
      }
      if (prior.size === size) return latest.note;
    }
    const note = signCheckpoint({ origin: this.origin, size, rootHash: tree.root() }, this.keyName, this.keyPair.secretKey);
    await this.store.saveCheckpoint(size, note);
    return (await this.store.checkpointAt(size)) ?? note;
  }

  /** The latest stored checkpoint note, if any (not re-verified). */
  async latestCheckpoint(): Promise<string | undefined> {
    return (await this.store.latestCheckpoint())?.note;
  }

  /** The stored checkpoint note for exactly `size`, if any. */
  checkpointAt(size: number): Promise<string | undefined> {
    assertSize(size, 'size');
    return this.store.checkpointAt(size);
  }

  /** Inclusion proof of entry `seq` in the tree of size `treeSize` (default: current size). */
  async inclusionProof(seq: number, treeSize?: number): Promise<Uint8Array[]> {
    assertSize(seq, 'seq');
    const size = treeSize ?? (await this.store.size());
    assertSize(size, 'treeSize');
    if (seq >= size) throw new AuditLogError('OUT_OF_RANGE', `seq ${seq} is not below tree size ${size}`);
    return (await this.tree(size)).inclusionProof(seq, size);
  }

  /** Consistency proof from tree size `oldSize` to `newSize` (default: current size). */
  async consistencyProof(oldSize: number, newSize?: number): Promise<Uint8Array[]> {
    assertSize(oldSize, 'oldSize');
    const size = newSize ?? (await this.store.size());
    assertSize(size, 'newSize');
    if (oldSize > size) throw new AuditLogError('OUT_OF_RANGE', `oldSize ${oldSize} exceeds newSize ${size}`);
    return (await this.tree(size)).consistencyProof(oldSize, size);
  }

  /**
   * Recomputes everything from the stored entry text and reports the first
   * discrepancy:
   * 1. each row's text parses as a canonical catalogued entry whose `seq` is
   *    its position, and its leaf hash equals the stored leaf hash (and the
   *    hash `leafHashes()` returns);
   * 2. each stored checkpoint (and each of `options.checkpoints`, notes held
   *    elsewhere, e.g. by a regulator) verifies under the log key, does not
   *    exceed the log size, and its root equals the root recomputed from
   *    the entry text.
   * A checkpoint root mismatch is localised to the range between the
   * largest smaller checkpoint that still matches and this one.
   */
  async verifyStoredLog(options: { readonly checkpoints?: readonly string[] } = {}): Promise<StoredLogReport> {
    await cryptoReady();
    const size = await this.store.size();
    const storedHashes = await this.store.leafHashes(size);
    const recomputed: Uint8Array[] = [];
    for (let from = 0; from < size; from += PAGE) {
      const rows = await this.store.entries(from, Math.min(size, from + PAGE));
      for (let i = 0; i < rows.length; i++) {
        const seq = from + i;
        const row = rows[i]!;
        let entry: AuditEntry;
        try {
          entry = parseAuditEntry(row.entryJson);
        } catch (e) {
          const why = e instanceof AuditEntryError ? e.message : String(e);
          return { ok: false, firstBadSeq: seq, code: 'ENTRY_INVALID', reason: `entry ${seq}: ${why}` };
        }
        if (entry.seq !== seq || row.seq !== seq) {
          return { ok: false, firstBadSeq: seq, code: 'SEQ_MISMATCH', reason: `position ${seq} holds entry seq ${entry.seq} (row seq ${row.seq})` };
        }
        const h = leafHash(utf8.encode(row.entryJson));
        const stored = storedHashes[seq];
        if (!constantTimeEqual(h, row.leafHash) || stored === undefined || !constantTimeEqual(h, stored)) {
          return { ok: false, firstBadSeq: seq, code: 'LEAF_HASH_MISMATCH', reason: `entry ${seq}: stored leaf hash does not match the entry text` };
        }
        recomputed.push(h);
      }
      if (rows.length !== Math.min(size, from + PAGE) - from) {
        const seq = from + rows.length;
        return { ok: false, firstBadSeq: seq, code: 'SEQ_MISMATCH', reason: `store returned too few entries from ${from}` };
      }
    }
    const tree = MerkleTree.fromLeafHashes(recomputed);
    const notes = [...(await this.store.checkpoints()).map((c) => c.note), ...(options.checkpoints ?? [])];
    const parsed: ParsedCheckpoint[] = [];
    for (const note of notes) {
      try {
        parsed.push(verifyCheckpoint(note, this.keyName, this.publicKey, { origin: this.origin }));
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return { ok: false, firstBadSeq: 0, code: 'CHECKPOINT_INVALID', reason: `a stored checkpoint does not verify: ${why}` };
      }
    }
    parsed.sort((a, b) => a.size - b.size);
    let goodBelow = 0;
    for (const cp of parsed) {
      if (cp.size > size) {
        return { ok: false, firstBadSeq: size, code: 'CHECKPOINT_BEYOND_LOG', reason: `a checkpoint covers ${cp.size} entries but the log has ${size}` };
      }
      if (!constantTimeEqual(tree.root(cp.size), cp.rootHash)) {
        return {
          ok: false,
          firstBadSeq: goodBelow,
          code: 'CHECKPOINT_ROOT_MISMATCH',
          reason: `entries ${goodBelow}..${cp.size - 1} no longer match the checkpoint at size ${cp.size}`,
        };
      }
      goodBelow = cp.size;
    }
    return { ok: true, size, rootHex: toHex(tree.root()), checkpointsChecked: parsed.length };
  }
}
