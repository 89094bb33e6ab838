// One-time merchant enrolment tokens made in the administrator's browser, the
// same tokens `fedmart enrol-token` prints (crypto/enrolment-token.ts). The
// enrolment authority's seed is read from a local file and used here only: it
// is never sent to the coordinator, which knows the authority's public key
// alone (a coordinator able to issue tokens could invent merchants). The
// token is returned to the caller and kept nowhere.

import { blake2b } from './blake2b.js';

const TOKEN_DOMAIN = 'fedmart/v1/enrolment-token';
const TOKEN_PREFIX = 'fmet1.';
/** Merchant ids a token may name (the same rule as the command line's). */
export const TOKEN_MERCHANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DAY_MS = 24 * 3600 * 1000;
// PKCS #8 wrapping of a 32-byte Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/** Why a token could not be made; `code` is stable (console messages are keyed by it). */
export class TokenIssueError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'TokenIssueError';
    this.code = code;
  }
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function toB64u(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromB64u(s) {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * The canonical encoding of crypto/canonical.ts for a list of strings, byte
 * strings and safe integers: "FMC1", the domain, then a typed,
 * length-prefixed list.
 */
export function canonicalEncode(domain, values) {
  const parts = [Uint8Array.from([0x46, 0x4d, 0x43, 0x31, domain.length]), new TextEncoder().encode(domain)];
  const u32 = (n) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, false);
    return b;
  };
  parts.push(Uint8Array.of(0x06), u32(values.length));
  for (const v of values) {
    if (typeof v === 'string') {
      const s = new TextEncoder().encode(v);
      parts.push(Uint8Array.of(0x01), u32(s.length), s);
    } else if (v instanceof Uint8Array) {
      parts.push(Uint8Array.of(0x02), u32(v.length), v);
    } else if (Number.isSafeInteger(v)) {
      const b = new Uint8Array(9);
      b[0] = 0x04;
      new DataView(b.buffer).setBigInt64(1, BigInt(v), false);
      parts.push(b);
    } else {
      throw new TypeError('only strings, byte strings and safe integers are encoded here');
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function pkcs8(seed) {
  const der = new Uint8Array(PKCS8_PREFIX.length + 32);
  der.set(PKCS8_PREFIX);
  der.set(seed, PKCS8_PREFIX.length);
  return der;
}

/** The Ed25519 key pair of a 32-byte seed, through WebCrypto. */
async function keyPairOfSeed(subtle, seed) {
  const privateKey = await subtle.importKey('pkcs8', pkcs8(seed), { name: 'Ed25519' }, true, ['sign']);
  const jwk = await subtle.exportKey('jwk', privateKey);
  return { privateKey, publicKey: fromB64u(jwk.x) };
}

/**
 * Makes a token for `merchantId`, usable once within `days` days, signed with
 * the authority seed (the 32 bytes of `enrolment/authority.seed`).
 * @returns {Promise<{ token: string, tokenId: string, authorityKey: string, expiresAt: string }>}
 *   the printed token, its id, the authority's public key (hex) and the expiry (ISO)
 * @throws TokenIssueError SEED_INVALID, MERCHANT_ID_INVALID, DAYS_INVALID or NO_ED25519
 */
export async function issueEnrolmentToken({ authoritySeed, merchantId, days = 7, nowMs = Date.now(), subtle = globalThis.crypto?.subtle }) {
  if (!(authoritySeed instanceof Uint8Array) || authoritySeed.length !== 32) {
    throw new TokenIssueError('SEED_INVALID', 'the authority seed file must hold exactly 32 bytes');
  }
  if (typeof merchantId !== 'string' || !TOKEN_MERCHANT_ID.test(merchantId)) {
    throw new TokenIssueError('MERCHANT_ID_INVALID', 'a merchant id is 1..128 of A-Z a-z 0-9 . _ - starting with a letter or digit');
  }
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new TokenIssueError('DAYS_INVALID', 'days must be 1..3650');
  if (!subtle) throw new TokenIssueError('NO_ED25519', 'this browser offers no WebCrypto');
  let authority;
  let tokenKey;
  try {
    authority = await keyPairOfSeed(subtle, authoritySeed);
    const tokenSeed = crypto.getRandomValues(new Uint8Array(32));
    tokenKey = { seed: tokenSeed, ...(await keyPairOfSeed(subtle, tokenSeed)) };
  } catch {
    throw new TokenIssueError('NO_ED25519', 'this browser cannot sign with Ed25519');
  }
  const tokenId = crypto.getRandomValues(new Uint8Array(16));
  const expiresUnixMs = nowMs + days * DAY_MS;
  const digest = blake2b(canonicalEncode(TOKEN_DOMAIN, [merchantId, tokenId, tokenKey.publicKey, expiresUnixMs]), 32);
  const signature = new Uint8Array(await subtle.sign({ name: 'Ed25519' }, authority.privateKey, digest));
  // Key order as in crypto/enrolment-token.ts: the parser accepts the canonical form only.
  const json = JSON.stringify({
    v: 1,
    merchantId,
    tokenId: hex(tokenId),
    tokenPublicKey: hex(tokenKey.publicKey),
    expiresUnixMs,
    authoritySignature: hex(signature),
    tokenSecretSeed: hex(tokenKey.seed),
  });
  return {
    token: TOKEN_PREFIX + toB64u(new TextEncoder().encode(json)),
    tokenId: hex(tokenId),
    authorityKey: hex(authority.publicKey),
    expiresAt: new Date(expiresUnixMs).toISOString(),
  };
}
