/**
 * Client-side checks of what an audit-log server hands out: "this entry is
 * in the log" and "this newer checkpoint extends that older one". They trust
 * only the log's public key, never the server, so a server that returns a
 * proof for another index, a stale or forged root, a truncated proof, or a
 * rewritten history is caught here.
 *
 * @module
 */
import { auditLeafData, parseAuditEntry } from './audit-events.js';
import type { AuditEntry } from './audit-events.js';
import { verifyCheckpoint } from './checkpoint.js';
import type { ParsedCheckpoint } from './checkpoint.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';

/** The trusted log identity a proof is checked against. */
export interface AuditLogKey {
  readonly keyName: string;
  readonly publicKey: Uint8Array;
  /** When given, checkpoints must carry exactly this origin. */
  readonly origin?: string;
}

/** Outcome of a proof check: never throws for bad data. */
export type AuditProofResult<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly reason: string };

function openCheckpoint(note: string, key: AuditLogKey): ParsedCheckpoint | string {
  try {
    return verifyCheckpoint(note, key.keyName, key.publicKey, key.origin === undefined ? {} : { origin: key.origin });
  } catch (e) {
    return `checkpoint: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * Checks that `entryJson` is entry `seq` of the log whose signed checkpoint
 * is `checkpoint`: the checkpoint verifies under `key`, the text is a
 * canonical catalogued entry with that seq, and `proof` leads from its leaf
 * hash to the checkpoint root. Requires `await cryptoReady()`.
 */
export function verifyAuditEntryProof(
  entryJson: string,
  seq: number,
  proof: readonly Uint8Array[],
  checkpoint: string,
  key: AuditLogKey,
): AuditProofResult<{ entry: AuditEntry; checkpoint: ParsedCheckpoint }> {
  const cp = openCheckpoint(checkpoint, key);
  if (typeof cp === 'string') return { ok: false, reason: cp };
  let entry: AuditEntry;
  try {
    entry = parseAuditEntry(entryJson);
  } catch (e) {
    return { ok: false, reason: `entry: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (entry.seq !== seq) return { ok: false, reason: `entry: its seq is ${entry.seq}, not ${seq}` };
  if (!verifyInclusion(leafHash(auditLeafData(entryJson)), seq, cp.size, proof, cp.rootHash)) {
    return { ok: false, reason: `proof: entry ${seq} is not proven included in the checkpoint of size ${cp.size}` };
  }
  return { ok: true, entry, checkpoint: cp };
}

/**
 * Checks that checkpoint `newer` extends checkpoint `older` (both signed by
 * `key`, same origin, size not going backwards) with the consistency
 * `proof`. A failure between two validly signed checkpoints is evidence that
 * the log was rewritten. Requires `await cryptoReady()`.
 */
export function verifyAuditConsistency(
  older: string,
  newer: string,
  proof: readonly Uint8Array[],
  key: AuditLogKey,
): AuditProofResult<{ older: ParsedCheckpoint; newer: ParsedCheckpoint }> {
  const a = openCheckpoint(older, key);
  if (typeof a === 'string') return { ok: false, reason: `older ${a}` };
  const b = openCheckpoint(newer, key);
  if (typeof b === 'string') return { ok: false, reason: `newer ${b}` };
  if (a.origin !== b.origin) return { ok: false, reason: 'checkpoints are from different logs' };
  if (a.size > b.size) return { ok: false, reason: `older checkpoint has size ${a.size} > newer ${b.size}` };
  if (!verifyConsistency(a.size, b.size, a.rootHash, b.rootHash, proof)) {
    return { ok: false, reason: `proof: size ${b.size} is not proven to extend size ${a.size}` };
  }
  return { ok: true, older: a, newer: b };
}
