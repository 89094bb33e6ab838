/**
 * Signed audit-log checkpoints in the C2SP tlog-checkpoint format
 * (https://c2sp.org/tlog-checkpoint): a signed note whose text is
 *
 * ```
 * <origin>\n<tree size, decimal>\n<base64 RFC 6962 root hash>\n
 * ```
 *
 * A checkpoint is the coordinator's signed claim "my audit log had exactly
 * this many entries with exactly this tree head". Given to a compliance
 * officer, it pins every entry below that size: inclusion proofs show an
 * entry is there, consistency proofs show later checkpoints only appended.
 * Two signed checkpoints that are not consistent are proof of tampering.
 *
 * fedmart checkpoints carry no extension lines (the spec discourages them),
 * and the parser rejects any, so that one (origin, size, root) has exactly
 * one note text.
 *
 * @module
 */
import { MERKLE_HASH_BYTES } from './merkle.js';
import { CheckpointError } from './checkpoint-error.js';
import { decodeBase64Strict, encodeBase64, openNote, parseNote, signNote } from './signed-note.js';
import type { NoteSignature } from './signed-note.js';

/** The claim a checkpoint makes. */
export interface Checkpoint {
  /** Identity of the log, e.g. `fedmart.example/audit`. */
  readonly origin: string;
  /** Number of entries in the log. */
  readonly size: number;
  /** RFC 6962 Merkle tree hash of those entries (32 bytes). */
  readonly rootHash: Uint8Array;
}

/** A parsed checkpoint note: the claim, its exact text and its signature lines. */
export interface ParsedCheckpoint extends Checkpoint {
  /** The signed note text (the three body lines). */
  readonly body: string;
  readonly signatures: readonly NoteSignature[];
}

const SIZE_RE = /^(?:0|[1-9][0-9]*)$/;
const ORIGIN_FORBIDDEN_RE = /[\u0000-\u001f\u007f]|\p{Cs}/u;

function assertCheckpoint(c: unknown): asserts c is Checkpoint {
  if (typeof c !== 'object' || c === null) throw new TypeError('checkpoint must be an object');
  const { origin, size, rootHash } = c as Record<string, unknown>;
  if (typeof origin !== 'string') throw new TypeError('checkpoint.origin must be a string');
  if (origin.length === 0 || ORIGIN_FORBIDDEN_RE.test(origin) || origin.trim() !== origin) {
    throw new RangeError('checkpoint.origin must be non-empty, without control characters or surrounding spaces');
  }
  if (typeof size !== 'number') throw new TypeError('checkpoint.size must be a number');
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`checkpoint.size must be a non-negative safe integer, got ${size}`);
  if (!(rootHash instanceof Uint8Array)) throw new TypeError('checkpoint.rootHash must be a Uint8Array');
  if (rootHash.length !== MERKLE_HASH_BYTES) {
    throw new RangeError(`checkpoint.rootHash must be ${MERKLE_HASH_BYTES} bytes long, got ${rootHash.length}`);
  }
}

/** The checkpoint body (the note text that is signed). */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  assertCheckpoint(checkpoint);
  return `${checkpoint.origin}\n${checkpoint.size}\n${encodeBase64(checkpoint.rootHash)}\n`;
}

/**
 * Formats and signs a checkpoint with an Ed25519 key (libsodium's 64-byte
 * secret key); returns the signed note text. Requires `await cryptoReady()`.
 */
export function signCheckpoint(checkpoint: Checkpoint, keyName: string, secretKey: Uint8Array): string {
  return signNote(formatCheckpoint(checkpoint), keyName, secretKey);
}

function malformed(why: string): never {
  throw new CheckpointError('MALFORMED_CHECKPOINT', `checkpoint: ${why}`);
}

/** Parses the three body lines of a checkpoint note. */
function parseBody(body: string): Checkpoint {
  const lines = body.slice(0, -1).split('\n');
  if (lines.length !== 3) malformed(`expected 3 lines (origin, size, root hash), got ${lines.length}`);
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (origin.length === 0 || origin.trim() !== origin) malformed('empty or padded origin');
  if (!SIZE_RE.test(sizeText)) malformed('tree size must be a decimal number without leading zeros');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) malformed('tree size too large');
  const rootHash = decodeBase64Strict(rootText);
  if (rootHash === undefined || rootHash.length !== MERKLE_HASH_BYTES) {
    malformed(`root hash must be canonical base64 of ${MERKLE_HASH_BYTES} bytes`);
  }
  return { origin, size, rootHash };
}

/**
 * Parses a checkpoint note strictly, without verifying any signature (use
 * {@link verifyCheckpoint} for anything you will rely on). Accepts the note
 * as text or as raw bytes (checked to be valid UTF-8).
 * Throws CheckpointError (`MALFORMED_NOTE` or `MALFORMED_CHECKPOINT`).
 */
export function parseCheckpoint(text: string | Uint8Array): ParsedCheckpoint {
  const note = parseNote(text);
  return { ...parseBody(note.text), body: note.text, signatures: note.signatures };
}

/**
 * Verifies a checkpoint note against the log's key and returns it parsed.
 * Signatures by other keys (witnesses) are ignored; every signature by this
 * key must verify. With `options.origin`, also requires that exact origin.
 * Throws CheckpointError. Requires `await cryptoReady()`.
 */
export function verifyCheckpoint(
  text: string | Uint8Array,
  keyName: string,
  publicKey: Uint8Array,
  options: { readonly origin?: string } = {},
): ParsedCheckpoint {
  const note = openNote(text, keyName, publicKey);
  const checkpoint = parseBody(note.text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new CheckpointError('ORIGIN_MISMATCH', `checkpoint: origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(options.origin)}`);
  }
  return { ...checkpoint, body: note.text, signatures: note.signatures };
}
