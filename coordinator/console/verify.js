// Verification of the audit trail inside the page, with nothing but WebCrypto
// (SHA-256, Ed25519) and blake2b.js: C2SP signed-note checkpoints, RFC 6962 /
// RFC 9162 inclusion proofs, and the signature of an audit-report bundle.
// The same checks as compliance/merkle.ts, signed-note.ts and
// audit-bundle-verify.ts (which additionally recomputes the report sections;
// run `fedmart audit verify` for that). Verifiers return results, never throw
// for bad data.

import { blake2b } from './blake2b.js';

const utf8 = new TextEncoder();

/** @param {string} hex */
export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) throw new Error('not lower-case hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** @param {Uint8Array} bytes */
export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Strict standard base64 (canonical spelling only), or undefined. @param {string} text */
export function fromBase64(text) {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return toBase64(out) === text ? out : undefined;
}

/** @param {Uint8Array} bytes */
export function toBase64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** @param {...Uint8Array} parts */
export async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

/** RFC 6962 leaf hash of an entry's exact text. @param {string} entryText */
export function leafHash(entryText) {
  return sha256(new Uint8Array([0]), utf8.encode(entryText));
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * RFC 9162 §2.1.3.2: true iff `proof` shows `leaf` is leaf `index` of the tree
 * of `size` leaves with root `root`.
 * @param {Uint8Array} leaf @param {number} index @param {number} size
 * @param {Uint8Array[]} proof @param {Uint8Array} root
 */
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leaf.length !== 32 || root.length !== 32 || proof.length > 64 || proof.some((p) => p.length !== 32)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  const node = new Uint8Array([1]);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(node, p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(node, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/** True when this browser's WebCrypto can verify Ed25519. */
export async function ed25519Supported() {
  try {
    await crypto.subtle.importKey('raw', new Uint8Array(32).fill(1), { name: 'Ed25519' }, false, ['verify']);
    return true;
  } catch {
    return false;
  }
}

/** @param {Uint8Array} publicKey @param {Uint8Array} signature @param {Uint8Array} message */
export async function ed25519Verify(publicKey, signature, message) {
  try {
    const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
  } catch {
    return false;
  }
}

/** Key id of a signed-note Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]. */
export async function noteKeyId(keyName, publicKey) {
  return (await sha256(utf8.encode(keyName), new Uint8Array([0x0a, 0x01]), publicKey)).slice(0, 4);
}

/**
 * Verifies a C2SP checkpoint note signed by `keyName` / `publicKeyHex`.
 * @returns {Promise<{ok: true, origin: string, size: number, root: Uint8Array} | {ok: false, reason: string}>}
 */
export async function verifyCheckpoint(note, keyName, publicKeyHex) {
  if (typeof note !== 'string' || !note.endsWith('\n')) return { ok: false, reason: 'the checkpoint is not a signed note' };
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return { ok: false, reason: 'no blank line before the signatures' };
  const text = note.slice(0, split + 1);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) return { ok: false, reason: 'expected origin, size and root hash' };
  const root = fromBase64(lines[2]);
  if (!root || root.length !== 32) return { ok: false, reason: 'the root hash is not base64 of 32 bytes' };
  let publicKey;
  try {
    publicKey = fromHex(publicKeyHex);
  } catch {
    return { ok: false, reason: 'the public key is not hex' };
  }
  if (publicKey.length !== 32) return { ok: false, reason: 'the public key is not 32 bytes' };
  const id = toHex(await noteKeyId(keyName, publicKey));
  let mine = 0;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    if (!line.startsWith('\u2014 ')) return { ok: false, reason: 'a signature line does not start with an em dash' };
    const rest = line.slice(2);
    const space = rest.indexOf(' ');
    const blob = space < 0 ? undefined : fromBase64(rest.slice(space + 1));
    if (!blob || blob.length < 5) return { ok: false, reason: 'a signature line is malformed' };
    if (rest.slice(0, space) !== keyName || toHex(blob.slice(0, 4)) !== id) continue;
    mine++;
    if (blob.length !== 68 || !(await ed25519Verify(publicKey, blob.slice(4), utf8.encode(text)))) {
      return { ok: false, reason: `the signature by ${keyName} does not verify` };
    }
  }
  if (mine === 0) return { ok: false, reason: `no signature by ${keyName}+${id}` };
  return { ok: true, origin: lines[0], size: Number(lines[1]), root };
}

/** Canonical JSON (sorted keys, no whitespace), as analytics/canonical-json.ts writes it. */
export function canonicalJson(value) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'number':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`no JSON form for a ${typeof value}`);
  }
}

/**
 * Verifies an audit bundle in the page: pinned key (when given), checkpoint
 * signature, every entry's seq, leaf and inclusion proof against the
 * checkpoint, and the bundle signature (Ed25519 over BLAKE2b-256 of the
 * canonical JSON without `signature`). `onProgress(done, total)` is called
 * while entries are checked.
 * @returns {Promise<{ok: boolean, checks: {name: string, ok: boolean, detail: string}[], firstBroken: string | null, reason: string | null, size: number | null, root: string | null, entries: number}>}
 */
export async function verifyBundle(bundle, { pinnedKeyHex = null, onProgress = () => {} } = {}) {
  const checks = [];
  const out = (firstBroken, reason) => ({ ok: firstBroken === null, checks, firstBroken, reason, size: cp?.ok ? cp.size : null, root: cp?.ok ? toHex(cp.root) : null, entries: bundle?.entries?.length ?? 0 });
  let cp = null;
  if (!bundle || typeof bundle !== 'object' || bundle.format !== 'fedmart-audit-bundle/1' || !Array.isArray(bundle.entries)) {
    return out('format', 'not a fedmart audit bundle');
  }
  if (pinnedKeyHex) {
    const ok = pinnedKeyHex.toLowerCase() === bundle.publicKey;
    checks.push({ name: 'publicKey', ok, detail: ok ? 'matches the pinned key' : 'differs from the pinned key' });
    if (!ok) return out('publicKey', 'the bundle is signed by another key than the pinned one');
  }
  cp = await verifyCheckpoint(bundle.checkpoint, bundle.keyName, bundle.publicKey);
  checks.push({ name: 'checkpoint', ok: cp.ok, detail: cp.ok ? `size ${cp.size}` : cp.reason });
  if (!cp.ok) return out('checkpoint', cp.reason);
  if (cp.origin !== bundle.origin) return out('checkpoint', 'the checkpoint is for another origin');
  let expected = bundle.range?.firstSeq ?? null;
  for (let i = 0; i < bundle.entries.length; i++) {
    const e = bundle.entries[i];
    let parsed;
    try {
      parsed = JSON.parse(e.entry);
    } catch {
      return out(`entries[${i}].entry`, 'not JSON');
    }
    if (canonicalJson(parsed) !== e.entry) return out(`entries[${i}].entry`, 'not in canonical form');
    if (parsed.seq !== e.seq || e.seq !== expected || e.seq >= cp.size) return out(`entries[${i}].seq`, 'sequence numbers are not contiguous below the checkpoint size');
    expected = e.seq + 1;
    let proof;
    try {
      proof = e.proof.map(fromHex);
    } catch {
      return out(`entries[${i}].proof`, 'proof is not hex');
    }
    if (!(await verifyInclusion(await leafHash(e.entry), e.seq, cp.size, proof, cp.root))) {
      return out(`entries[${i}].proof`, `entry ${e.seq} is not in the checkpointed log`);
    }
    if (i % 50 === 49) onProgress(i + 1, bundle.entries.length);
  }
  onProgress(bundle.entries.length, bundle.entries.length);
  if (bundle.entries.length > 0 && expected - 1 !== bundle.range.lastSeq) return out('entries', 'the entries do not end at range.lastSeq');
  checks.push({ name: 'entries', ok: true, detail: `${bundle.entries.length} inclusion proofs` });
  const { signature, ...unsigned } = bundle;
  let sigOk = false;
  try {
    sigOk = await ed25519Verify(fromHex(bundle.publicKey), fromHex(signature), blake2b(utf8.encode(canonicalJson(unsigned)), 32));
  } catch {
    sigOk = false;
  }
  checks.push({ name: 'signature', ok: sigOk, detail: sigOk ? 'Ed25519 over BLAKE2b-256' : 'does not verify' });
  if (!sigOk) return out('signature', 'the bundle signature does not verify');
  return out(null, null);
}
