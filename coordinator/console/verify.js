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
 * One entry given as a neighbour of the run: canonical text with its seq,
 * below the checkpoint size, proven included. Returns its parsed text or why not.
 */
async function checkNeighbour(item, cp) {
  if (!item || typeof item !== 'object' || typeof item.entry !== 'string' || !Array.isArray(item.proof)) return { reason: 'not an entry with a proof' };
  let parsed;
  try {
    parsed = JSON.parse(item.entry);
  } catch {
    return { reason: 'not JSON' };
  }
  if (!parsed || typeof parsed !== 'object' || canonicalJson(parsed) !== item.entry || typeof parsed.time !== 'string') return { reason: 'not a canonical entry' };
  if (parsed.seq !== item.seq || !Number.isSafeInteger(item.seq) || item.seq >= cp.size) return { reason: `seq ${item.seq} does not match its text or lies beyond the checkpoint` };
  let proof;
  try {
    proof = item.proof.map(fromHex);
  } catch {
    return { reason: 'proof is not hex' };
  }
  if (!(await verifyInclusion(await leafHash(item.entry), item.seq, cp.size, proof, cp.root))) return { reason: `entry ${item.seq} is not in the checkpointed log` };
  return { parsed };
}

/**
 * The range a bundle exported for the days `fromDay`..`toDay` (YYYY-MM-DD,
 * as the export form sends them: 00:00:00.000Z to 23:59:59.999Z) must prove
 * complete, for `verifyBundle`'s `expectRange`. `to` is left out while the
 * last day has not ended at `nowMs`: a range reaching past the latest entry
 * ends at that entry, so a bundle asked for "up to today" can only prove the
 * log complete up to its latest entry, which is what the officer asked for.
 * @param {string} fromDay @param {string} toDay @param {number} nowMs
 * @returns {{from: string, to?: string}}
 */
export function expectedRangeOfDays(fromDay, toDay, nowMs) {
  const from = `${fromDay}T00:00:00.000Z`;
  const to = `${toDay}T23:59:59.999Z`;
  return Date.parse(to) < nowMs ? { from, to } : { from };
}

/**
 * Verifies an audit bundle in the page: pinned key (when given), checkpoint
 * signature, every entry's seq, leaf and inclusion proof against the
 * checkpoint, that no entry of the range is left out (the entries just
 * before and after the run are proven and stamped outside [from, to], as in
 * compliance/audit-bundle-verify.ts), the bundle signature (Ed25519 over
 * BLAKE2b-256 of the canonical JSON without `signature`) and, when
 * `expectRange` ({from?, to?}, ISO times) says which range was asked for,
 * that the bundle's range covers it (`range`, as the expectRange option of
 * compliance/audit-bundle-verify.ts).
 * `onProgress(done, total)` is called while entries are checked.
 * @returns {Promise<{ok: boolean, checks: {name: string, ok: boolean, detail: string}[], firstBroken: string | null, reason: string | null, size: number | null, root: string | null, entries: number}>}
 */
export async function verifyBundle(bundle, { pinnedKeyHex = null, onProgress = () => {}, expectRange = null } = {}) {
  const checks = [];
  const out = (firstBroken, reason) => ({ ok: firstBroken === null, checks, firstBroken, reason, size: cp?.ok ? cp.size : null, root: cp?.ok ? toHex(cp.root) : null, entries: bundle?.entries?.length ?? 0 });
  let cp = null;
  if (bundle && typeof bundle === 'object' && bundle.format === 'fedmart-audit-bundle/1') {
    return out('format', 'a version 1 bundle carries no proof that it holds every entry of its range; export it again');
  }
  if (!bundle || typeof bundle !== 'object' || bundle.format !== 'fedmart-audit-bundle/2' || !Array.isArray(bundle.entries)
    || !bundle.range || typeof bundle.range !== 'object' || !bundle.neighbours || typeof bundle.neighbours !== 'object') {
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
  const { from, to } = bundle.range;
  let expected = bundle.range.firstSeq ?? null;
  let lastTime = null;
  for (let i = 0; i < bundle.entries.length; i++) {
    const e = bundle.entries[i];
    let parsed;
    try {
      parsed = JSON.parse(e.entry);
    } catch {
      return out(`entries[${i}].entry`, 'not JSON');
    }
    if (!parsed || typeof parsed !== 'object' || canonicalJson(parsed) !== e.entry) return out(`entries[${i}].entry`, 'not in canonical form');
    if (parsed.seq !== e.seq || e.seq !== expected || e.seq >= cp.size) {
      return out(`entries[${i}].seq`, expected === null ? 'range.firstSeq is null' : `entry ${expected} is missing: sequence numbers are not contiguous below the checkpoint size`);
    }
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
    if (!(parsed.time >= from && parsed.time <= to)) return out(`entries[${i}].entry`, `time ${parsed.time} lies outside the bundle's range`);
    lastTime = parsed.time;
    if (i % 50 === 49) onProgress(i + 1, bundle.entries.length);
  }
  onProgress(bundle.entries.length, bundle.entries.length);
  if ((bundle.entries.length > 0 ? expected - 1 : null) !== (bundle.range.lastSeq ?? null)) return out('entries', 'the entries do not end at range.lastSeq');
  checks.push({ name: 'entries', ok: true, detail: `${bundle.entries.length} inclusion proofs` });

  // Completeness: entry times strictly increase with seq, so the entry just
  // before the run stamped before `from` and the one just after it stamped
  // after `to` show that no entry of the range is left out. Without an entry
  // after, the run must end at the checkpoint's last entry, stamped at `to`.
  const before = bundle.neighbours.before ?? null;
  const after = bundle.neighbours.after ?? null;
  const start = bundle.range.firstSeq ?? (before === null ? 0 : before.seq + 1);
  const end = bundle.range.lastSeq === null || bundle.range.lastSeq === undefined ? start : bundle.range.lastSeq + 1;
  if (start === 0) {
    if (before !== null) return out('neighbours.before', 'the run starts at leaf 0, yet an entry before it is given');
  } else {
    if (before === null) return out('neighbours.before', `entry ${start - 1} is missing: the entry just before the run must be shown stamped before ${from}`);
    const b = await checkNeighbour(before, cp);
    if (!b.parsed) return out('neighbours.before', b.reason);
    if (before.seq !== start - 1) return out('neighbours.before', `entry ${start - 1} is missing: the entry just before the run must be seq ${start - 1}, got seq ${before.seq}`);
    if (!(b.parsed.time < from)) return out('neighbours.before', `entry ${before.seq} is stamped ${b.parsed.time}, not before ${from}`);
  }
  if (after === null) {
    if (end < cp.size) return out('neighbours.after', `entry ${end} is missing: the checkpoint holds ${cp.size} entries, so the entry right after the run must be shown stamped after ${to}`);
    if (bundle.entries.length === 0) return out('neighbours.after', 'no entry follows the range, so it is not shown empty');
    if (lastTime !== to) return out('neighbours.after', `the run ends at the checkpoint's last entry, stamped ${lastTime}, so nothing shows the log complete up to ${to}`);
  } else {
    const a = await checkNeighbour(after, cp);
    if (!a.parsed) return out('neighbours.after', a.reason);
    if (after.seq !== end) return out('neighbours.after', `entry ${end} is missing: the entry right after the run must be seq ${end}, got seq ${after.seq}`);
    if (!(a.parsed.time > to)) return out('neighbours.after', `entry ${after.seq} is stamped ${a.parsed.time}, not after ${to}`);
  }
  checks.push({ name: 'completeness', ok: true, detail: `${before === null ? 'from the first entry' : `entry ${before.seq} precedes ${from}`}; ${after === null ? `to the checkpoint's last entry, stamped ${to}` : `entry ${after.seq} follows ${to}`}` });
  const { signature, ...unsigned } = bundle;
  let sigOk = false;
  try {
    sigOk = await ed25519Verify(fromHex(bundle.publicKey), fromHex(signature), blake2b(utf8.encode(canonicalJson(unsigned)), 32));
  } catch {
    sigOk = false;
  }
  checks.push({ name: 'signature', ok: sigOk, detail: sigOk ? 'Ed25519 over BLAKE2b-256' : 'does not verify' });
  if (!sigOk) return out('signature', 'the bundle signature does not verify');
  if (expectRange) {
    const wantFrom = expectRange.from == null ? null : Date.parse(expectRange.from);
    const wantTo = expectRange.to == null ? null : Date.parse(expectRange.to);
    const iso = (ms) => (ms === null ? '…' : new Date(ms).toISOString());
    if (Number.isNaN(wantFrom) || Number.isNaN(wantTo)) return out('range', 'the requested range is not a valid time range');
    const proven = `the bundle proves ${from} .. ${to} complete, not the requested ${iso(wantFrom)} .. ${iso(wantTo)}`;
    if (wantFrom !== null && !(Date.parse(from) <= wantFrom)) {
      return out('range', `${proven}: it starts after the requested from, so entries stamped from ${iso(wantFrom)} up to ${from} are not shown; export the range again from ${iso(wantFrom)}`);
    }
    if (wantTo !== null && !(Date.parse(to) >= wantTo)) {
      if (after === null) {
        return out('range', `${proven}: an export ends a range that reaches past the latest entry at that entry (here the checkpoint's last, seq ${end - 1}, stamped ${to}), since nothing after it can be shown absent until a later entry is logged; export again once the log holds an entry stamped after ${iso(wantTo)} (every export logs one), or ask for a to no later than ${to}`);
      }
      return out('range', `${proven}: it ends before the requested to, so entries stamped after ${to} up to ${iso(wantTo)} are not shown; export the range again up to ${iso(wantTo)}`);
    }
  }
  return out(null, null);
}
