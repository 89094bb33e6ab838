/**
 * Signed, self-contained audit report bundles (`fedmart audit export`).
 *
 * A bundle answers a regulator's question "for the numbers released between
 * these dates, which purposes, consents, contributions and policies stand
 * behind them, and show me the record was not edited afterwards" in one JSON
 * file that can be checked offline with nothing but the coordinator's audit
 * public key:
 *
 * - `checkpoint`: a signed C2SP checkpoint of the whole log;
 * - `entries`: the exact canonical text of every log entry in the time range
 *   (a contiguous run of sequence numbers), each with its RFC 6962 inclusion
 *   proof against that checkpoint — so no entry can be altered, invented or
 *   reordered without the proof failing;
 * - `neighbours`: the entries just outside the run, with their inclusion
 *   proofs — `before` (seq firstSeq − 1) stamped before `from`, `after`
 *   (seq lastSeq + 1) stamped after `to` — so no entry of the range can be
 *   left out at either end (see "Completeness" below);
 * - `registers`: the declared purposes, PIAs and data classification;
 * - `sections`: the report (ROPA, per-query evidence, consent summary, rights
 *   requests, PIAs, security events), derived from entries and registers by
 *   `deriveSections`, so the verifier recomputes and compares them;
 * - `signature`: Ed25519 by the audit key over BLAKE2b-256 of the canonical
 *   JSON of everything else, binding registers and range to the evidence.
 *
 * Completeness. Entry times strictly increase with seq (`AuditLog` stamps
 * each entry after the one before it, under the store's append lock), so the
 * entries of [from, to] are one contiguous run of leaves, and:
 * - `before`, stamped before `from`, shows that no earlier leaf is in the
 *   range; it is null only when the run starts at leaf 0;
 * - `after`, stamped after `to`, shows that no later leaf — in this
 *   checkpoint or appended after it — is in the range;
 * - with no `after` the run ends at the checkpoint's last leaf. A checkpoint
 *   carries no time of its own, so the only evidence of how far the log had
 *   got when it was signed is the time of that last leaf: every entry
 *   appended later is stamped after it. Such a bundle is complete only up to
 *   that time, so `range.to` must equal it; the export clips a range that
 *   reaches past the latest entry to that entry's time.
 * - an empty range is shown by its two neighbours being adjacent leaves (or
 *   `after` being leaf 0). A range after the latest entry cannot be shown
 *   empty — entries in it may still come — and is refused at export.
 * A bundle without this proof (format version 1) is refused by the verifier.
 *
 * @module
 */
import { z } from 'zod';
import { blake2b256, cryptoReady, signDigest, toHex } from '../crypto/index.js';
import type { SigningKeyPair } from '../crypto/index.js';
import { canonicalSpecJson } from '../analytics/canonical-json.js';
import { parseAuditEntry } from './audit-events.js';
import type { AuditEntry } from './audit-events.js';
import { AuditLog, AuditLogError } from './audit-log.js';
import { auditRegistersSchema, parseAuditRegisters } from './audit-registers.js';
import type { AuditRegisters } from './audit-registers.js';
import { deriveSections } from './audit-sections.js';
import type { AuditSections } from './audit-sections.js';
import { parseCheckpoint } from './checkpoint.js';

/** Format tag of version 2 bundles (with the neighbours that prove the range complete). */
export const AUDIT_BUNDLE_FORMAT = 'fedmart-audit-bundle/2';
/** Format tag of version 1 bundles: no completeness proof; the verifier refuses them with a clear message. */
export const AUDIT_BUNDLE_FORMAT_V1 = 'fedmart-audit-bundle/1';
/** Largest entry text accepted in a bundle. */
export const MAX_BUNDLE_ENTRY_CHARS = 65_536;
/** Most entries accepted in one bundle. */
export const MAX_BUNDLE_ENTRIES = 1_000_000;

/** One log entry with its inclusion proof against the bundle's checkpoint. */
export interface AuditBundleEntry {
  readonly seq: number;
  /** The exact canonical JSON text stored in the log (the Merkle leaf data). */
  readonly entry: string;
  /** Inclusion proof, hex hashes from the leaf's sibling upwards. */
  readonly proof: readonly string[];
}

/** The time range of a bundle and the contiguous seq run it covers (null when empty). */
export interface AuditBundleRange {
  readonly from: string;
  /** End of the range: as requested, or the latest entry's time when the request reached past it. */
  readonly to: string;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
}

/** The entries just outside the run, proving that no entry of the range was left out. */
export interface AuditBundleNeighbours {
  /** The entry right before the run, stamped before `from`; null when the run starts at leaf 0. */
  readonly before: AuditBundleEntry | null;
  /**
   * The entry right after the run, stamped after `to`; null only when the
   * run ends at the checkpoint's last leaf and `to` is that leaf's time.
   */
  readonly after: AuditBundleEntry | null;
}

/** A signed audit report bundle. */
export interface AuditBundle {
  readonly format: typeof AUDIT_BUNDLE_FORMAT;
  readonly generatedAt: string;
  readonly range: AuditBundleRange;
  readonly origin: string;
  readonly keyName: string;
  /** Hex Ed25519 public key of the audit log (signs the checkpoint and the bundle). */
  readonly publicKey: string;
  /** Signed checkpoint note covering every entry. */
  readonly checkpoint: string;
  readonly entries: readonly AuditBundleEntry[];
  readonly neighbours: AuditBundleNeighbours;
  readonly registers: AuditRegisters;
  readonly sections: AuditSections;
  /** Hex Ed25519 signature over `bundleSigningDigest`. */
  readonly signature: string;
}

/** A bundle before signing. */
export type UnsignedAuditBundle = Omit<AuditBundle, 'signature'>;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits');
const isoTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'expected an ISO-8601 UTC time like 2025-05-01T00:00:00.000Z')
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, 'not a real instant');
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const bundleEntry = z.strictObject({ seq, entry: z.string().min(2).max(MAX_BUNDLE_ENTRY_CHARS), proof: z.array(hex64).max(64) });

/**
 * zod schema of a bundle's shape. Sections are only checked to be present
 * here: their content is checked by recomputing them.
 */
export const auditBundleSchema = z.strictObject({
  format: z.literal(AUDIT_BUNDLE_FORMAT),
  generatedAt: isoTime,
  range: z.strictObject({ from: isoTime, to: isoTime, firstSeq: seq.nullable(), lastSeq: seq.nullable() }),
  origin: z.string().min(1).max(256),
  keyName: z.string().min(1).max(256),
  publicKey: hex64,
  checkpoint: z.string().min(1).max(65_536),
  entries: z.array(bundleEntry).max(MAX_BUNDLE_ENTRIES),
  neighbours: z.strictObject({ before: bundleEntry.nullable(), after: bundleEntry.nullable() }),
  registers: auditRegistersSchema,
  sections: z.strictObject({
    processingRegister: z.array(z.unknown()),
    queries: z.array(z.unknown()),
    consentSummary: z.array(z.unknown()),
    rightsRequests: z.record(z.string(), z.unknown()),
    pias: z.array(z.unknown()),
    securityEvents: z.record(z.string(), z.unknown()),
  }),
  signature: z.string().regex(/^[0-9a-f]{128}$/, 'expected 128 lower-case hex digits'),
});

/** BLAKE2b-256 of the canonical JSON of the bundle without its `signature`: what the audit key signs. */
export function bundleSigningDigest(bundle: UnsignedAuditBundle | AuditBundle): Uint8Array {
  if (typeof bundle !== 'object' || bundle === null) throw new TypeError('bundle must be an object');
  const { signature: _ignored, ...unsigned } = bundle as AuditBundle;
  return blake2b256(new TextEncoder().encode(canonicalSpecJson(unsigned)));
}

/** Signs an assembled bundle with the audit key (libsodium 64-byte secret key). Requires `await cryptoReady()`. */
export function signAuditBundle(unsigned: UnsignedAuditBundle, secretKey: Uint8Array): AuditBundle {
  return { ...unsigned, signature: toHex(signDigest(bundleSigningDigest(unsigned), secretKey)) };
}

/** Hex BLAKE2b-256 of the canonical JSON of a whole signed bundle, e.g. for an `export.created` entry. */
export function auditBundleDigest(bundle: AuditBundle): string {
  return toHex(blake2b256(new TextEncoder().encode(canonicalSpecJson(bundle))));
}

/** Options of {@link exportAuditBundle}. */
export interface ExportAuditBundleOptions {
  /** Start of the time range (inclusive). */
  readonly from: Date | string;
  /**
   * End of the time range (inclusive). When it is later than the latest
   * entry, the bundle's range ends at that entry's time: nothing after it
   * can be shown absent yet.
   */
  readonly to: Date | string;
  readonly registers: AuditRegisters;
  /** The audit log's key pair (must be the log's key). */
  readonly keyPair: SigningKeyPair;
  /** `generatedAt`; defaults to now. */
  readonly now?: Date;
  /** When given, an `export.created` entry by this actor is appended after the bundle is built. */
  readonly recordAsActor?: string;
}

function toIso(value: Date | string, name: string): string {
  const d = typeof value === 'string' ? new Date(value) : value;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new RangeError(`${name} must be a valid time`);
  const iso = d.toISOString();
  // Entry times are compared as strings, which needs the four-digit-year form entries have.
  if (!isoTime.safeParse(iso).success) throw new RangeError(`${name} must lie in the years 0000 to 9999`);
  return iso;
}

/** Which side of [from, to] a time lies on: 0 before, 1 inside, 2 after. */
function side(time: string, from: string, to: string): 0 | 1 | 2 {
  return time < from ? 0 : time <= to ? 1 : 2;
}

const PAGE = 1000;

/**
 * Builds and signs a bundle of the log entries whose time lies in
 * [from, to]: signs a fresh checkpoint, takes the contiguous seq run of the
 * entries in the range and its two neighbours, proves each against the
 * checkpoint, and derives the sections. A `to` past the latest entry is
 * clipped to that entry's time.
 *
 * Throws RangeError for a bad range or a key pair that is not the log's, and
 * AuditLogError: `OUT_OF_RANGE` when the range begins after the latest entry
 * (or the log is empty), so nothing in it can be shown complete yet;
 * `TIMES_OUT_OF_ORDER` when an entry outside the run is stamped inside the
 * range (possible only in entries written before times were ordered), since
 * no bundle could then show the range complete.
 */
export async function exportAuditBundle(log: AuditLog, options: ExportAuditBundleOptions): Promise<AuditBundle> {
  if (!(log instanceof AuditLog)) throw new TypeError('log must be an AuditLog');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const from = toIso(options.from, 'options.from');
  const requestedTo = toIso(options.to, 'options.to');
  if (from > requestedTo) throw new RangeError('options.from must not be after options.to');
  const registers = parseAuditRegisters(options.registers);
  const { keyPair } = options;
  if (!(keyPair?.publicKey instanceof Uint8Array) || toHex(keyPair.publicKey) !== toHex(log.publicKey)) {
    throw new RangeError("options.keyPair must be the audit log's key pair");
  }
  await cryptoReady();

  const note = await log.checkpoint();
  const cp = parseCheckpoint(note);
  const times: string[] = [];
  for (let start = 0; start < cp.size; start += PAGE) {
    const page = await log.entries(start, Math.min(cp.size, start + PAGE));
    for (const e of page) {
      if (e.seq !== times.length) throw new AuditLogError('STORE_MISBEHAVED', `the store returned entry ${e.seq} at position ${times.length}`);
      times.push(e.time);
    }
  }
  if (times.length !== cp.size) throw new AuditLogError('STORE_MISBEHAVED', `the store returned ${times.length} of ${cp.size} entries`);
  const latest = times[cp.size - 1];
  if (latest === undefined || latest < from) {
    throw new AuditLogError(
      'OUT_OF_RANGE',
      latest === undefined
        ? 'the audit log is empty: no range can be shown complete yet'
        : `the range begins after the latest entry (seq ${cp.size - 1}, stamped ${latest}): entries in it may still come, so it cannot be shown complete yet`,
    );
  }
  const to = latest < requestedTo ? latest : requestedTo;
  // The run is [start, end): every entry before it is stamped before `from`, every one after it after `to`.
  let start = 0;
  while (start < cp.size && times[start]! < from) start++;
  let end = start;
  while (end < cp.size && times[end]! <= to) end++;
  for (let i = 1; i < cp.size; i++) {
    if (side(times[i]!, from, to) < side(times[i - 1]!, from, to)) {
      throw new AuditLogError(
        'TIMES_OUT_OF_ORDER',
        `entry ${i} (stamped ${times[i]}) is out of time order with entry ${i - 1} (stamped ${times[i - 1]}) across the range's bounds: no bundle can show this range complete`,
      );
    }
  }
  const firstSeq = end > start ? start : null;
  const lastSeq = end > start ? end - 1 : null;
  const lo = Math.max(0, start - 1);
  const rows = await log.entryRows(lo, Math.min(cp.size, end + 1));
  if (rows.length !== Math.min(cp.size, end + 1) - lo || rows.some((r, i) => r.seq !== lo + i)) {
    throw new AuditLogError('STORE_MISBEHAVED', `the store did not return entries ${lo}..${Math.min(cp.size, end + 1) - 1}`);
  }
  const tree = await log.merkleTree(cp.size);
  if (toHex(tree.root()) !== toHex(cp.rootHash)) {
    throw new AuditLogError('STORE_MISBEHAVED', 'stored leaf hashes do not match the checkpoint just signed');
  }
  const proven = (r: { seq: number; entryJson: string }): AuditBundleEntry => ({
    seq: r.seq,
    entry: r.entryJson,
    proof: tree.inclusionProof(r.seq, cp.size).map(toHex),
  });
  const inRange = rows.filter((r) => r.seq >= start && r.seq < end);
  const before = start > 0 ? rows[0]! : undefined;
  const after = end < cp.size ? rows[rows.length - 1]! : undefined;
  const parsed: AuditEntry[] = inRange.map((r) => parseAuditEntry(r.entryJson));
  const unsigned: UnsignedAuditBundle = {
    format: AUDIT_BUNDLE_FORMAT,
    generatedAt: (options.now ?? new Date()).toISOString(),
    range: { from, to, firstSeq, lastSeq },
    origin: log.origin,
    keyName: log.keyName,
    publicKey: toHex(log.publicKey),
    checkpoint: note,
    entries: inRange.map(proven),
    neighbours: { before: before === undefined ? null : proven(before), after: after === undefined ? null : proven(after) },
    registers,
    sections: deriveSections(parsed, registers),
  };
  const bundle = signAuditBundle(unsigned, keyPair.secretKey);
  if (options.recordAsActor !== undefined) {
    await log.append({
      type: 'export.created',
      actor: options.recordAsActor,
      details: { exportKind: 'audit-bundle', queryId: null, from, to, entryCount: inRange.length, digest: auditBundleDigest(bundle) },
    });
  }
  return bundle;
}
