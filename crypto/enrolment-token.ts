/**
 * One-time enrolment tokens and the key evidence a merchant's signing key
 * carries back to the enrolment authority.
 *
 * The administrator (the enrolment authority, an Ed25519 key kept offline)
 * issues a token per merchant: a statement {merchantId, tokenId, token public
 * key, expiry} signed by the authority, plus the secret seed of that fresh
 * "token key". The merchant keeps the token secret. At enrolment it sends the
 * statement, the authority signature and a *token binding*: a signature by the
 * token key over (merchantId, tokenId, merchant signing key). That is the
 * merchant's key evidence. It verifies against the authority public key alone,
 * and nobody without the token secret (the coordinator in particular) can bind
 * the statement to another key or make evidence for a merchant id the
 * authority did not sign.
 *
 * Key rotation extends the evidence into a chain: each rotation is signed by
 * the previous key and by the new key (proof of possession) over
 * (merchantId, tokenId, previous key, new key, sequence).
 */
import { statementDigest } from './canonical.js';
import { fromHex, toHex } from './bytes.js';
import {
  randomBytes,
  signDigest,
  signingKeyPairFromSeed,
  verifyDigest,
  SIGNATURE_BYTES,
  SIGNING_PUBLIC_KEY_BYTES,
  SIGNING_SECRET_KEY_BYTES,
  SIGNING_SEED_BYTES,
  type SigningKeyPair,
} from './sign.js';

/** Domain of the authority's statement about a token. */
export const ENROLMENT_TOKEN_DOMAIN = 'fedmart/v1/enrolment-token';
/** Domain of the token key's binding of a merchant signing key. */
export const TOKEN_BINDING_DOMAIN = 'fedmart/v1/enrolment-token-binding';
/** Domain of a key rotation (signed by the previous and the new key). */
export const KEY_ROTATION_DOMAIN = 'fedmart/v1/key-rotation';
/** Default token lifetime: 7 days. */
export const DEFAULT_TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;
/** Length of a token id. */
export const TOKEN_ID_BYTES = 16;
/** Most rotations a chain may hold. */
export const MAX_KEY_ROTATIONS = 1000;
/** Prefix of the printed token. */
const TOKEN_PREFIX = 'fmet1.';
const MERCHANT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type KeyEvidenceErrorCode =
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_MERCHANT_MISMATCH'
  | 'AUTHORITY_SIGNATURE_INVALID'
  | 'BINDING_INVALID'
  | 'ROTATION_INVALID'
  | 'KEY_MISMATCH';

/** Why a token or key evidence was refused; `code` is stable. */
export class KeyEvidenceError extends Error {
  constructor(
    readonly code: KeyEvidenceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KeyEvidenceError';
  }
}

/** What the enrolment authority signs about one token. */
export interface EnrolmentTokenStatement {
  readonly merchantId: string;
  /** 16 random bytes; a token is usable once. */
  readonly tokenId: Uint8Array;
  /** Ed25519 public key of the token key. */
  readonly tokenPublicKey: Uint8Array;
  /** Unix ms after which the token no longer enrols. */
  readonly expiresUnixMs: number;
}

/** A parsed token: the signed statement and the token key's secret seed. */
export interface EnrolmentToken {
  readonly statement: EnrolmentTokenStatement;
  readonly authoritySignature: Uint8Array;
  readonly tokenSecretSeed: Uint8Array;
}

/** One step of a key rotation chain. */
export interface KeyRotation {
  /** 1 for the first rotation, then 2, 3, ... */
  readonly sequence: number;
  readonly newKey: Uint8Array;
  /** By the previous key over `keyRotationDigest`. */
  readonly signature: Uint8Array;
  /** By the new key over the same digest. */
  readonly proofOfPossession: Uint8Array;
}

/** What proves that a signing key belongs to a merchant the authority enrolled. */
export interface KeyEvidence {
  readonly statement: EnrolmentTokenStatement;
  readonly authoritySignature: Uint8Array;
  /** The key the token was bound to (sequence 0). */
  readonly enrolledKey: Uint8Array;
  /** By the token key over `tokenBindingDigest`. */
  readonly tokenBinding: Uint8Array;
  readonly rotations: readonly KeyRotation[];
}

/** The facts established by `verifyKeyEvidence`. */
export interface VerifiedKeyEvidence {
  readonly merchantId: string;
  readonly tokenIdHex: string;
  /** Key at sequence 0, 1, ... (the last is the current key of this evidence). */
  readonly keys: readonly Uint8Array[];
  /** Sequence of the last key. */
  readonly sequence: number;
}

function fail(code: KeyEvidenceErrorCode, message: string): never {
  throw new KeyEvidenceError(code, message);
}

function isBytesOf(v: unknown, n: number): v is Uint8Array {
  return v instanceof Uint8Array && v.length === n;
}

function checkStatement(s: EnrolmentTokenStatement): void {
  if (typeof s !== 'object' || s === null) fail('TOKEN_INVALID', 'statement must be an object');
  if (typeof s.merchantId !== 'string' || !MERCHANT_ID_RE.test(s.merchantId)) fail('TOKEN_INVALID', 'statement.merchantId is not a valid merchant id');
  if (!isBytesOf(s.tokenId, TOKEN_ID_BYTES)) fail('TOKEN_INVALID', `statement.tokenId must be ${TOKEN_ID_BYTES} bytes`);
  if (!isBytesOf(s.tokenPublicKey, SIGNING_PUBLIC_KEY_BYTES)) fail('TOKEN_INVALID', 'statement.tokenPublicKey must be 32 bytes');
  if (!Number.isSafeInteger(s.expiresUnixMs) || s.expiresUnixMs <= 0) fail('TOKEN_INVALID', 'statement.expiresUnixMs must be a positive integer');
}

/** Digest the authority signs for a token statement. */
export function enrolmentTokenDigest(s: EnrolmentTokenStatement): Uint8Array {
  checkStatement(s);
  return statementDigest(ENROLMENT_TOKEN_DOMAIN, [s.merchantId, s.tokenId, s.tokenPublicKey, s.expiresUnixMs]);
}

/** Digest the token key signs to bind `signingPublicKey` to the merchant. */
export function tokenBindingDigest(merchantId: string, tokenId: Uint8Array, signingPublicKey: Uint8Array): Uint8Array {
  if (!isBytesOf(signingPublicKey, SIGNING_PUBLIC_KEY_BYTES)) fail('BINDING_INVALID', 'the bound key must be 32 bytes');
  return statementDigest(TOKEN_BINDING_DOMAIN, [merchantId, tokenId, signingPublicKey]);
}

/** Digest both keys of a rotation sign. */
export function keyRotationDigest(merchantId: string, tokenId: Uint8Array, oldKey: Uint8Array, newKey: Uint8Array, sequence: number): Uint8Array {
  if (!isBytesOf(oldKey, SIGNING_PUBLIC_KEY_BYTES) || !isBytesOf(newKey, SIGNING_PUBLIC_KEY_BYTES)) fail('ROTATION_INVALID', 'rotation keys must be 32 bytes');
  if (!Number.isSafeInteger(sequence) || sequence < 1) fail('ROTATION_INVALID', 'rotation sequence must be a positive integer');
  return statementDigest(KEY_ROTATION_DOMAIN, [merchantId, tokenId, oldKey, newKey, sequence]);
}

/**
 * Issues a token for `merchantId`, signed with the authority's 32-byte seed.
 * The printed token holds a secret: hand it to that merchant only.
 */
export function issueEnrolmentToken(options: { authoritySeed: Uint8Array; merchantId: string; expiresUnixMs?: number; nowMs?: number }): string {
  if (!isBytesOf(options.authoritySeed, SIGNING_SEED_BYTES)) throw new RangeError('authoritySeed must be 32 bytes');
  const authority = signingKeyPairFromSeed(options.authoritySeed);
  const tokenSecretSeed = randomBytes(SIGNING_SEED_BYTES);
  const tokenKey = signingKeyPairFromSeed(tokenSecretSeed);
  const statement: EnrolmentTokenStatement = {
    merchantId: options.merchantId,
    tokenId: randomBytes(TOKEN_ID_BYTES),
    tokenPublicKey: tokenKey.publicKey,
    expiresUnixMs: options.expiresUnixMs ?? (options.nowMs ?? Date.now()) + DEFAULT_TOKEN_LIFETIME_MS,
  };
  const authoritySignature = signDigest(enrolmentTokenDigest(statement), authority.secretKey);
  return formatEnrolmentToken({ statement, authoritySignature, tokenSecretSeed });
}

function tokenJson(t: EnrolmentToken): string {
  return JSON.stringify({
    v: 1,
    merchantId: t.statement.merchantId,
    tokenId: toHex(t.statement.tokenId),
    tokenPublicKey: toHex(t.statement.tokenPublicKey),
    expiresUnixMs: t.statement.expiresUnixMs,
    authoritySignature: toHex(t.authoritySignature),
    tokenSecretSeed: toHex(t.tokenSecretSeed),
  });
}

/** The printed form of a token (`fmet1.` + base64url of its JSON). */
export function formatEnrolmentToken(t: EnrolmentToken): string {
  return TOKEN_PREFIX + Buffer.from(tokenJson(t), 'utf8').toString('base64url');
}

const HEX_RE = /^[0-9a-f]*$/;

function hexField(o: Record<string, unknown>, name: string, bytes: number): Uint8Array {
  const v = o[name];
  if (typeof v !== 'string' || v.length !== bytes * 2 || !HEX_RE.test(v)) fail('TOKEN_INVALID', `token field ${name} must be ${bytes} bytes of lowercase hex`);
  return fromHex(v);
}

/** Parses a printed token strictly: any other spelling of the same content is refused. */
export function parseEnrolmentToken(token: string): EnrolmentToken {
  if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX) || token.length > 4096) fail('TOKEN_INVALID', 'not an enrolment token (fmet1.…)');
  const body = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) fail('TOKEN_INVALID', 'the token is not base64url');
  const raw = Buffer.from(body, 'base64url');
  if (raw.toString('base64url') !== body) fail('TOKEN_INVALID', 'the token is not canonical base64url');
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    fail('TOKEN_INVALID', 'the token does not hold JSON');
  }
  if (typeof o !== 'object' || o === null || o.v !== 1) fail('TOKEN_INVALID', 'unknown token version');
  if (typeof o.merchantId !== 'string' || typeof o.expiresUnixMs !== 'number') fail('TOKEN_INVALID', 'token fields missing');
  const t: EnrolmentToken = {
    statement: {
      merchantId: o.merchantId,
      tokenId: hexField(o, 'tokenId', TOKEN_ID_BYTES),
      tokenPublicKey: hexField(o, 'tokenPublicKey', SIGNING_PUBLIC_KEY_BYTES),
      expiresUnixMs: o.expiresUnixMs,
    },
    authoritySignature: hexField(o, 'authoritySignature', SIGNATURE_BYTES),
    tokenSecretSeed: hexField(o, 'tokenSecretSeed', SIGNING_SEED_BYTES),
  };
  checkStatement(t.statement);
  if (tokenJson(t) !== raw.toString('utf8')) fail('TOKEN_INVALID', 'the token is not in canonical form');
  return t;
}

/**
 * The key evidence a merchant sends at enrolment: the token's statement and
 * authority signature, and the token key's binding of `merchantPublicKey`.
 * The token secret itself is never part of it.
 */
export function enrolmentEvidence(token: string, merchantId: string, merchantPublicKey: Uint8Array): KeyEvidence {
  const t = parseEnrolmentToken(token);
  if (t.statement.merchantId !== merchantId) fail('TOKEN_MERCHANT_MISMATCH', `the token was issued for ${t.statement.merchantId}, not ${merchantId}`);
  const tokenKey = signingKeyPairFromSeed(t.tokenSecretSeed);
  if (Buffer.compare(Buffer.from(tokenKey.publicKey), Buffer.from(t.statement.tokenPublicKey)) !== 0) {
    fail('TOKEN_INVALID', 'the token secret does not belong to the token public key');
  }
  if (!isBytesOf(merchantPublicKey, SIGNING_PUBLIC_KEY_BYTES)) throw new RangeError('merchantPublicKey must be 32 bytes');
  return {
    statement: t.statement,
    authoritySignature: t.authoritySignature,
    enrolledKey: Uint8Array.from(merchantPublicKey),
    tokenBinding: signDigest(tokenBindingDigest(merchantId, t.statement.tokenId, merchantPublicKey), tokenKey.secretKey),
    rotations: [],
  };
}

/** The last key of an evidence chain (unverified). */
export function currentKeyOf(evidence: KeyEvidence): Uint8Array {
  return evidence.rotations.length === 0 ? evidence.enrolledKey : evidence.rotations[evidence.rotations.length - 1]!.newKey;
}

/**
 * Extends `evidence` by a rotation from its current key (whose 64-byte secret
 * key is `currentSecretKey`) to `newKey`.
 */
export function rotateKeyEvidence(evidence: KeyEvidence, currentSecretKey: Uint8Array, newKey: SigningKeyPair): { evidence: KeyEvidence; rotation: KeyRotation } {
  if (!isBytesOf(currentSecretKey, SIGNING_SECRET_KEY_BYTES)) throw new RangeError('currentSecretKey must be 64 bytes');
  const oldKey = currentKeyOf(evidence);
  const sequence = evidence.rotations.length + 1;
  const digest = keyRotationDigest(evidence.statement.merchantId, evidence.statement.tokenId, oldKey, newKey.publicKey, sequence);
  const rotation: KeyRotation = {
    sequence,
    newKey: Uint8Array.from(newKey.publicKey),
    signature: signDigest(digest, currentSecretKey),
    proofOfPossession: signDigest(digest, newKey.secretKey),
  };
  return { evidence: { ...evidence, rotations: [...evidence.rotations, rotation] }, rotation };
}

/** The evidence cut after the key of `sequence` (that key is then its last). */
export function keyEvidenceUpTo(evidence: KeyEvidence, sequence: number): KeyEvidence {
  if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence > evidence.rotations.length) throw new RangeError(`no key of sequence ${sequence}`);
  return { ...evidence, rotations: evidence.rotations.slice(0, sequence) };
}

/**
 * Verifies that `key` belongs to `merchantId` by a chain from the enrolment
 * authority: authority signature over the token statement, the token key's
 * binding of the enrolled key, then each rotation signed by the previous key
 * and by the new key. `key` must be the chain's last key. With `nowMs` the
 * token must not have expired (enrolment); with null expiry is not checked
 * (a key enrolled in time stays valid).
 * @throws KeyEvidenceError with a stable code
 */
export function verifyKeyEvidence(
  evidence: KeyEvidence,
  authorityPublicKey: Uint8Array,
  merchantId: string,
  key: Uint8Array,
  nowMs: number | null,
): VerifiedKeyEvidence {
  if (typeof evidence !== 'object' || evidence === null) fail('TOKEN_INVALID', 'evidence must be an object');
  const s = evidence.statement;
  checkStatement(s);
  if (s.merchantId !== merchantId) fail('TOKEN_MERCHANT_MISMATCH', `the token was issued for ${s.merchantId}, not ${merchantId}`);
  if (!isBytesOf(evidence.authoritySignature, SIGNATURE_BYTES) ||
      !verifyDigest(evidence.authoritySignature, enrolmentTokenDigest(s), authorityPublicKey)) {
    fail('AUTHORITY_SIGNATURE_INVALID', 'the token statement is not signed by the enrolment authority');
  }
  if (nowMs !== null && nowMs > s.expiresUnixMs) fail('TOKEN_EXPIRED', `the token expired at ${new Date(s.expiresUnixMs).toISOString()}`);
  if (!isBytesOf(evidence.enrolledKey, SIGNING_PUBLIC_KEY_BYTES) || !isBytesOf(evidence.tokenBinding, SIGNATURE_BYTES) ||
      !verifyDigest(evidence.tokenBinding, tokenBindingDigest(merchantId, s.tokenId, evidence.enrolledKey), s.tokenPublicKey)) {
    fail('BINDING_INVALID', 'the token key did not bind this signing key');
  }
  if (!Array.isArray(evidence.rotations) || evidence.rotations.length > MAX_KEY_ROTATIONS) fail('ROTATION_INVALID', 'rotations must be a list');
  const keys: Uint8Array[] = [evidence.enrolledKey];
  evidence.rotations.forEach((r, i) => {
    const prev = keys[keys.length - 1]!;
    if (typeof r !== 'object' || r === null || r.sequence !== i + 1 || !isBytesOf(r.newKey, SIGNING_PUBLIC_KEY_BYTES) ||
        !isBytesOf(r.signature, SIGNATURE_BYTES) || !isBytesOf(r.proofOfPossession, SIGNATURE_BYTES)) {
      fail('ROTATION_INVALID', `rotation ${i + 1} is malformed`);
    }
    const digest = keyRotationDigest(merchantId, s.tokenId, prev, r.newKey, r.sequence);
    if (!verifyDigest(r.signature, digest, prev)) fail('ROTATION_INVALID', `rotation ${i + 1} is not signed by the previous key`);
    if (!verifyDigest(r.proofOfPossession, digest, r.newKey)) fail('ROTATION_INVALID', `rotation ${i + 1} lacks the new key's proof of possession`);
    keys.push(r.newKey);
  });
  const last = keys[keys.length - 1]!;
  if (!isBytesOf(key, SIGNING_PUBLIC_KEY_BYTES) || Buffer.compare(Buffer.from(last), Buffer.from(key)) !== 0) {
    fail('KEY_MISMATCH', 'the evidence does not end in this signing key');
  }
  return { merchantId, tokenIdHex: toHex(s.tokenId), keys, sequence: keys.length - 1 };
}

/** JSON form of key evidence (hex byte strings), e.g. for the merchant's state folder or a database column. */
export function keyEvidenceToJson(e: KeyEvidence): string {
  return JSON.stringify({
    v: 1,
    statement: {
      merchantId: e.statement.merchantId,
      tokenId: toHex(e.statement.tokenId),
      tokenPublicKey: toHex(e.statement.tokenPublicKey),
      expiresUnixMs: e.statement.expiresUnixMs,
    },
    authoritySignature: toHex(e.authoritySignature),
    enrolledKey: toHex(e.enrolledKey),
    tokenBinding: toHex(e.tokenBinding),
    rotations: e.rotations.map((r) => ({
      sequence: r.sequence,
      newKey: toHex(r.newKey),
      signature: toHex(r.signature),
      proofOfPossession: toHex(r.proofOfPossession),
    })),
  });
}

function hexOf(v: unknown): Uint8Array {
  if (typeof v !== 'string' || v.length % 2 !== 0 || !HEX_RE.test(v)) fail('TOKEN_INVALID', 'evidence field is not lowercase hex');
  return fromHex(v);
}

/** Inverse of `keyEvidenceToJson` (shape only; verify with `verifyKeyEvidence`). */
export function keyEvidenceFromJson(json: string): KeyEvidence {
  let o: {
    v?: unknown;
    statement?: { merchantId?: unknown; tokenId?: unknown; tokenPublicKey?: unknown; expiresUnixMs?: unknown };
    authoritySignature?: unknown;
    enrolledKey?: unknown;
    tokenBinding?: unknown;
    rotations?: unknown;
  };
  try {
    o = JSON.parse(json) as typeof o;
  } catch {
    fail('TOKEN_INVALID', 'evidence is not JSON');
  }
  if (typeof o !== 'object' || o === null || o.v !== 1 || typeof o.statement !== 'object' || o.statement === null || !Array.isArray(o.rotations)) {
    fail('TOKEN_INVALID', 'evidence has an unknown shape');
  }
  const s = o.statement;
  if (typeof s.merchantId !== 'string' || typeof s.expiresUnixMs !== 'number') fail('TOKEN_INVALID', 'evidence statement is incomplete');
  return {
    statement: { merchantId: s.merchantId, tokenId: hexOf(s.tokenId), tokenPublicKey: hexOf(s.tokenPublicKey), expiresUnixMs: s.expiresUnixMs },
    authoritySignature: hexOf(o.authoritySignature),
    enrolledKey: hexOf(o.enrolledKey),
    tokenBinding: hexOf(o.tokenBinding),
    rotations: (o.rotations as { sequence?: unknown; newKey?: unknown; signature?: unknown; proofOfPossession?: unknown }[]).map((r) => {
      if (typeof r !== 'object' || r === null || typeof r.sequence !== 'number') fail('TOKEN_INVALID', 'evidence rotation is malformed');
      return { sequence: r.sequence, newKey: hexOf(r.newKey), signature: hexOf(r.signature), proofOfPossession: hexOf(r.proofOfPossession) };
    }),
  };
}

/** The public key of an authority seed (what coordinator and key holder are configured with). */
export function authorityPublicKeyOf(authoritySeed: Uint8Array): Uint8Array {
  return signingKeyPairFromSeed(authoritySeed).publicKey;
}
