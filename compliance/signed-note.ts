/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys: the
 * envelope of audit-log checkpoints.
 *
 * Why this format rather than our own canonical encoding: checkpoints are
 * published to outsiders (regulators, auditors, witnesses), and the signed
 * note is what the transparency-log ecosystem (Go checksum database, Sigstore,
 * Trillian, witnesses) already verifies. Signatures are plain RFC 8032
 * Ed25519 over the note text, so the Go reference vector reproduces byte for
 * byte.
 *
 * ```
 * <text lines, each ending in \n>
 * <blank line>
 * — <key name> <base64(key id (4 bytes, big-endian) || signature)>\n   (one or more)
 * ```
 * key id = SHA-256(key name || 0x0A || 0x01 || public key)[:4].
 *
 * Parsing is strict: base64 must be canonical (re-encoding gives the same
 * text, so the unused low bits of the last character cannot be flipped
 * unnoticed), every signature line must be well formed, and the note must be
 * well-formed UTF-8 without control characters other than newline.
 *
 * The Ed25519 functions come from crypto/ (libsodium): `await cryptoReady()`
 * before signing or verifying.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { SIGNATURE_BYTES, SIGNING_PUBLIC_KEY_BYTES, SIGNING_SECRET_KEY_BYTES, signDigest, toHex, verifyDigest } from '../crypto/index.js';
import { CheckpointError } from './checkpoint-error.js';

/** Signature type byte of Ed25519 in the signed-note key id and verifier key. */
export const NOTE_ED25519_TYPE = 0x01;
/** Most signature lines accepted in one note (the spec requires at least 16; Go accepts 100). */
export const MAX_NOTE_SIGNATURES = 100;
/** Largest note accepted, a guard against memory exhaustion by hostile input. */
export const MAX_NOTE_BYTES = 1 << 20;

const EM_DASH_PREFIX = '\u2014 ';
const CONTROL_RE = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE_RE = /\p{Cs}/u;
const KEY_NAME_FORBIDDEN_RE = /[\s\p{Z}+\u0000-\u001f\u007f]/u;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One parsed signature line. */
export interface NoteSignature {
  readonly keyName: string;
  /** The 4-byte key id, as 8 lower-case hex digits. */
  readonly keyId: string;
  /** The signature bytes after the key id. */
  readonly signature: Uint8Array;
}

/** A syntactically valid signed note; nothing is verified yet. */
export interface ParsedNote {
  /** The signed text, including its final newline. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** True iff `name` is a valid key name: non-empty, no Unicode space, no '+', no control character. */
export function isValidKeyName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && !KEY_NAME_FORBIDDEN_RE.test(name) && !LONE_SURROGATE_RE.test(name);
}

function assertKeyName(name: unknown, argName: string): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`${argName} must be a string`);
  if (!isValidKeyName(name)) {
    throw new RangeError(`${argName} must be non-empty and contain no spaces, '+' or control characters`);
  }
}

function assertPublicKey(publicKey: unknown, argName: string): asserts publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array)) throw new TypeError(`${argName} must be a Uint8Array`);
  if (publicKey.length !== SIGNING_PUBLIC_KEY_BYTES) {
    throw new RangeError(`${argName} must be ${SIGNING_PUBLIC_KEY_BYTES} bytes long, got ${publicKey.length}`);
  }
}

/** Standard base64 (RFC 4648 §4) with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Decodes canonical standard base64, or returns undefined. Node's decoder
 * silently ignores bad characters and non-zero padding bits; requiring the
 * re-encoding to match makes every encoded byte string have one spelling.
 */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  return encodeBase64(bytes) === text ? bytes : undefined;
}

/** Key id of an Ed25519 key: SHA-256(keyName || "\n" || 0x01 || publicKey)[:4]. */
export function noteKeyId(keyName: string, publicKey: Uint8Array): Uint8Array {
  assertKeyName(keyName, 'keyName');
  assertPublicKey(publicKey, 'publicKey');
  const h = createHash('sha256');
  h.update(utf8.encode(keyName));
  h.update(new Uint8Array([0x0a, NOTE_ED25519_TYPE]));
  h.update(publicKey);
  return new Uint8Array(h.digest().subarray(0, 4));
}

/** The verifier key string `<name>+<8 hex key id>+<base64(0x01 || public key)>`, for publishing the log key. */
export function verifierKeyString(keyName: string, publicKey: Uint8Array): string {
  const id = noteKeyId(keyName, publicKey);
  return `${keyName}+${toHex(id)}+${encodeBase64(new Uint8Array([NOTE_ED25519_TYPE, ...publicKey]))}`;
}

/**
 * Parses a verifier key string back into name and Ed25519 public key, checking
 * that its key id matches. Throws CheckpointError('MALFORMED_KEY').
 */
export function parseVerifierKey(vkey: string): { keyName: string; publicKey: Uint8Array } {
  if (typeof vkey !== 'string') throw new TypeError('vkey must be a string');
  const bad = (why: string): never => {
    throw new CheckpointError('MALFORMED_KEY', `verifier key: ${why}`);
  };
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (first <= 0 || second < 0) bad('expected <name>+<hex id>+<base64 key>');
  const keyName = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const material = decodeBase64Strict(vkey.slice(second + 1));
  if (!isValidKeyName(keyName)) bad('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) bad('key id must be 8 lower-case hex digits');
  if (material === undefined || material.length !== 1 + SIGNING_PUBLIC_KEY_BYTES) bad('key material must be base64 of 33 bytes');
  if (material![0] !== NOTE_ED25519_TYPE) bad('only Ed25519 keys (type 0x01) are supported');
  const publicKey = material!.slice(1);
  if (toHex(noteKeyId(keyName, publicKey)) !== idHex) bad('key id does not match the key');
  return { keyName, publicKey };
}

function assertNoteText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  if (text.length === 0 || !text.endsWith('\n')) throw new RangeError('text must be non-empty and end with a newline');
  if (CONTROL_RE.test(text) || LONE_SURROGATE_RE.test(text)) {
    throw new RangeError('text must be well-formed Unicode without control characters other than newline');
  }
}

/**
 * Signs `text` (which must end in a newline) with an Ed25519 key in
 * libsodium's 64-byte form and returns the complete signed note.
 */
export function signNote(text: string, keyName: string, secretKey: Uint8Array): string {
  assertNoteText(text);
  assertKeyName(keyName, 'keyName');
  if (!(secretKey instanceof Uint8Array)) throw new TypeError('secretKey must be a Uint8Array');
  if (secretKey.length !== SIGNING_SECRET_KEY_BYTES) {
    throw new RangeError(`secretKey must be ${SIGNING_SECRET_KEY_BYTES} bytes long, got ${secretKey.length}`);
  }
  // libsodium's secret key is seed || public key.
  const publicKey = secretKey.slice(32);
  const signature = signDigest(utf8.encode(text), secretKey);
  const blob = new Uint8Array([...noteKeyId(keyName, publicKey), ...signature]);
  return `${text}\n${EM_DASH_PREFIX}${keyName} ${encodeBase64(blob)}\n`;
}

function malformed(why: string): never {
  throw new CheckpointError('MALFORMED_NOTE', `signed note: ${why}`);
}

/** Decodes note bytes as strict UTF-8, or checks a string for lone surrogates. */
function noteString(note: string | Uint8Array): string {
  if (typeof note === 'string') {
    if (note.length > MAX_NOTE_BYTES) malformed('too large');
    if (LONE_SURROGATE_RE.test(note)) malformed('not well-formed Unicode');
    return note;
  }
  if (!(note instanceof Uint8Array)) throw new TypeError('note must be a string or a Uint8Array');
  if (note.length > MAX_NOTE_BYTES) malformed('too large');
  try {
    return utf8Strict.decode(note);
  } catch {
    return malformed('not valid UTF-8');
  }
}

/**
 * Splits a signed note into its text and signature lines without verifying
 * anything. Throws CheckpointError('MALFORMED_NOTE').
 */
export function parseNote(note: string | Uint8Array): ParsedNote {
  const s = noteString(note);
  if (CONTROL_RE.test(s)) malformed('contains control characters');
  if (!s.endsWith('\n')) malformed('does not end with a newline');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) malformed('no blank line before the signatures');
  const text = s.slice(0, split + 1);
  const lines = s.slice(split + 2, -1).split('\n');
  if (text.length === 0) malformed('empty text');
  if (lines.length > MAX_NOTE_SIGNATURES) malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i): NoteSignature => {
    if (!line.startsWith(EM_DASH_PREFIX)) malformed(`signature line ${i + 1} does not start with an em dash and a space`);
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) malformed(`signature line ${i + 1} has no signature`);
    const keyName = rest.slice(0, space);
    if (!isValidKeyName(keyName)) malformed(`signature line ${i + 1} has an invalid key name`);
    const blob = decodeBase64Strict(rest.slice(space + 1));
    if (blob === undefined) malformed(`signature line ${i + 1} is not canonical base64`);
    if (blob.length < 5) malformed(`signature line ${i + 1} is too short`);
    return { keyName, keyId: toHex(blob.subarray(0, 4)), signature: blob.slice(4) };
  });
  return { text, signatures };
}

/**
 * Verifies a signed note against one trusted Ed25519 key and returns its
 * text. Signatures by other keys (e.g. witness cosignatures) are ignored, as
 * the spec requires; every signature by the trusted key must verify, and
 * there must be at least one. Throws CheckpointError.
 */
export function openNote(note: string | Uint8Array, keyName: string, publicKey: Uint8Array): ParsedNote {
  assertKeyName(keyName, 'keyName');
  assertPublicKey(publicKey, 'publicKey');
  const parsed = parseNote(note);
  const id = toHex(noteKeyId(keyName, publicKey));
  const mine = parsed.signatures.filter((sig) => sig.keyName === keyName && sig.keyId === id);
  if (mine.length === 0) throw new CheckpointError('NO_TRUSTED_SIGNATURE', `signed note: no signature by ${keyName}+${id}`);
  const message = utf8.encode(parsed.text);
  for (const sig of mine) {
    if (sig.signature.length !== SIGNATURE_BYTES || !verifyDigest(sig.signature, message, publicKey)) {
      throw new CheckpointError('INVALID_SIGNATURE', `signed note: the signature by ${keyName}+${id} does not verify`);
    }
  }
  return parsed;
}
