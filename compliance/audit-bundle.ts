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
 * - `registers`: the declared purposes, PIAs and data classification;
 * - `sections`: the report (ROPA, per-query evidence, consent summary, rights
 *   requests, PIAs, security events), derived from entries and registers by
 *   `deriveSections`, so the verifier recomputes and compares them;
 * - `signature`: Ed25519 by the audit key over BLAKE2b-256 of the canonical
 *   JSON of everything else, binding registers and range to the evidence.
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

/** Format tag of version 1 bundles. */
export const AUDIT_BUNDLE_FORMAT = 'fedmart-audit-bundle/1';
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
  readonly to: string;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
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
  entries: z
    .array(z.strictObject({ seq, entry: z.string().min(2).max(MAX_BUNDLE_ENTRY_CHARS), proof: z.array(hex64).max(64) }))
    .max(MAX_BUNDLE_ENTRIES),
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
  /** End of the time range (inclusive). */
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
  return d.toISOString();
}

const PAGE = 1000;

/**
 * Builds and signs a bundle of the log entries whose time lies in
 * [from, to]: signs a fresh checkpoint, takes the contiguous seq run from the
 * first to the last entry in the range, proves each against the checkpoint,
 * and derives the sections. Throws RangeError for a bad range or a key pair
 * that is not the log's.
 */
export async function exportAuditBundle(log: AuditLog, options: ExportAuditBundleOptions): Promise<AuditBundle> {
  if (!(log instanceof AuditLog)) throw new TypeError('log must be an AuditLog');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const from = toIso(options.from, 'options.from');
  const to = toIso(options.to, 'options.to');
  if (from > to) throw new RangeError('options.from must not be after options.to');
  const registers = parseAuditRegisters(options.registers);
  const { keyPair } = options;
  if (!(keyPair?.publicKey instanceof Uint8Array) || toHex(keyPair.publicKey) !== toHex(log.publicKey)) {
    throw new RangeError("options.keyPair must be the audit log's key pair");
  }
  await cryptoReady();

  const note = await log.checkpoint();
  const cp = parseCheckpoint(note);
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  for (let start = 0; start < cp.size; start += PAGE) {
    for (const e of await log.entries(start, Math.min(cp.size, start + PAGE))) {
      if (e.time >= from && e.time <= to) {
        firstSeq ??= e.seq;
        lastSeq = e.seq;
      }
    }
  }
  const rows = firstSeq === null || lastSeq === null ? [] : await log.entryRows(firstSeq, lastSeq + 1);
  const tree = await log.merkleTree(cp.size);
  if (toHex(tree.root()) !== toHex(cp.rootHash)) {
    throw new AuditLogError('STORE_MISBEHAVED', 'stored leaf hashes do not match the checkpoint just signed');
  }
  const parsed: AuditEntry[] = rows.map((r) => parseAuditEntry(r.entryJson));
  const unsigned: UnsignedAuditBundle = {
    format: AUDIT_BUNDLE_FORMAT,
    generatedAt: (options.now ?? new Date()).toISOString(),
    range: { from, to, firstSeq, lastSeq },
    origin: log.origin,
    keyName: log.keyName,
    publicKey: toHex(log.publicKey),
    checkpoint: note,
    entries: rows.map((r) => ({ seq: r.seq, entry: r.entryJson, proof: tree.inclusionProof(r.seq, cp.size).map(toHex) })),
    registers,
    sections: deriveSections(parsed, registers),
  };
  const bundle = signAuditBundle(unsigned, keyPair.secretKey);
  if (options.recordAsActor !== undefined) {
    await log.append({
      type: 'export.created',
      actor: options.recordAsActor,
      details: { exportKind: 'audit-bundle', queryId: null, from, to, entryCount: rows.length, digest: auditBundleDigest(bundle) },
    });
  }
  return bundle;
}
