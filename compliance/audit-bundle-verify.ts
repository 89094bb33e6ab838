/**
 * Offline verification of an audit report bundle (`fedmart audit verify`).
 *
 * Checks, in this order, and reports the first item that fails:
 *
 * 1. shape (strict schema) — `firstBroken` is the JSON path, e.g. `entries[2].proof[0]`;
 * 2. the pinned public key, when the caller gives one — `publicKey`;
 * 3. the checkpoint: signed by `keyName`/`publicKey`, for `origin` — `checkpoint`;
 * 4. the time range — `range`;
 * 5. each entry: canonical catalogued text (`entries[i].entry`), its `seq`
 *    equal to the text's and contiguous from `range.firstSeq`, below the
 *    checkpoint size (`entries[i].seq`), the first and last inside the time
 *    range, and its inclusion proof against the checkpoint root
 *    (`entries[i].proof`); then the run ends at `range.lastSeq` (`entries`);
 * 6. every section equals the one recomputed from entries and registers —
 *    `sections.<name>` down to the first differing field;
 * 7. the bundle signature over everything — `signature`.
 *
 * The signature comes last on purpose: it covers every byte, so checking it
 * first would name `signature` for any change and hide *what* changed. Every
 * earlier check only trusts data anchored in the signed checkpoint; the
 * final signature then binds registers, range and sections to the key.
 *
 * Never throws for bad data. Requires `await cryptoReady()`.
 *
 * @module
 */
import { FedmartCryptoError, fromHex, toHex, verifyDigest } from '../crypto/index.js';
import { canonicalSpecJson } from '../analytics/canonical-json.js';
import { auditLeafData, parseAuditEntry } from './audit-events.js';
import type { AuditEntry } from './audit-events.js';
import { AUDIT_SECTION_NAMES, deriveSections } from './audit-sections.js';
import { auditBundleSchema, bundleSigningDigest } from './audit-bundle.js';
import type { AuditBundle } from './audit-bundle.js';
import { verifyCheckpoint } from './checkpoint.js';
import { leafHash, verifyInclusion } from './merkle.js';

/** What a verified bundle attests, for display. */
export interface AuditBundleSummary {
  readonly origin: string;
  readonly keyName: string;
  readonly publicKey: string;
  readonly generatedAt: string;
  readonly from: string;
  readonly to: string;
  /** Checkpoint tree size and root (hex). */
  readonly size: number;
  readonly root: string;
  readonly entries: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly purposes: number;
  readonly queries: number;
  readonly releases: number;
  readonly contributionsAccepted: number;
  readonly contributionsRejected: number;
  readonly rightsRequests: number;
  readonly authFailures: number;
  /** Number of per-query findings a reviewer should look at. */
  readonly findings: number;
}

/** Outcome of {@link verifyAuditBundle}. */
export type AuditBundleVerification =
  | { readonly ok: true; readonly summary: AuditBundleSummary }
  | { readonly ok: false; readonly firstBroken: string; readonly reason: string };

function fail(firstBroken: string, reason: string): AuditBundleVerification {
  return { ok: false, firstBroken, reason };
}

function pathOf(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out;
}

/** Path of the first difference between two JSON values (canonical comparison), or undefined if equal. */
function firstDifference(expected: unknown, actual: unknown, path: string): string | undefined {
  let same: boolean;
  try {
    same = canonicalSpecJson(expected) === canonicalSpecJson(actual);
  } catch {
    return path; // a value with no canonical JSON form (not a plain object) is not what the entries say
  }
  if (same) return undefined;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      if (i >= expected.length || i >= actual.length) return `${path}[${i}]`;
      const d = firstDifference(expected[i], actual[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return path;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(expected) && isObj(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    for (const k of keys) {
      if (!Object.hasOwn(expected, k) || !Object.hasOwn(actual, k)) return `${path}.${k}`;
      const d = firstDifference(expected[k], actual[k], `${path}.${k}`);
      if (d !== undefined) return d;
    }
  }
  return path;
}

/**
 * Verifies a bundle (parsed JSON of unknown shape). With
 * `options.publicKeyHex`, the bundle must be signed by exactly that key —
 * without it, the bundle is only shown to be self-consistent under the key
 * it names, so pin the key whenever you know it.
 */
export function verifyAuditBundle(bundle: unknown, options: { readonly publicKeyHex?: string } = {}): AuditBundleVerification {
  try {
    return verify(bundle, options);
  } catch (e) {
    if (e instanceof FedmartCryptoError && e.code === 'CRYPTO_NOT_READY') throw e;
    return fail('bundle', `unexpected: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function verify(input: unknown, options: { readonly publicKeyHex?: string }): AuditBundleVerification {
  const shape = auditBundleSchema.safeParse(input);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    const where = pathOf(issue?.path ?? []);
    return fail(where === '' ? 'bundle' : where, issue?.message ?? 'invalid bundle');
  }
  const bundle = shape.data;
  if (options.publicKeyHex !== undefined && options.publicKeyHex.toLowerCase() !== bundle.publicKey) {
    return fail('publicKey', 'the bundle is not signed by the pinned audit key');
  }
  const publicKey = fromHex(bundle.publicKey);

  let size: number;
  let root: Uint8Array;
  try {
    const cp = verifyCheckpoint(bundle.checkpoint, bundle.keyName, publicKey, { origin: bundle.origin });
    size = cp.size;
    root = cp.rootHash;
  } catch (e) {
    return fail('checkpoint', e instanceof Error ? e.message : String(e));
  }

  const { range } = bundle;
  if (range.from > range.to) return fail('range', 'range.from is after range.to');
  if ((range.firstSeq === null) !== (range.lastSeq === null) || (range.firstSeq !== null && range.lastSeq! < range.firstSeq)) {
    return fail('range', 'range.firstSeq and range.lastSeq must both be null or an ascending pair');
  }

  const parsed: AuditEntry[] = [];
  const n = bundle.entries.length;
  for (let i = 0; i < n; i++) {
    const item = bundle.entries[i]!;
    let entry: AuditEntry;
    try {
      entry = parseAuditEntry(item.entry);
    } catch (e) {
      return fail(`entries[${i}].entry`, e instanceof Error ? e.message : String(e));
    }
    const expectedSeq = range.firstSeq === null ? null : range.firstSeq + i;
    if (entry.seq !== item.seq) return fail(`entries[${i}].seq`, `seq ${item.seq} but the entry text says ${entry.seq}`);
    if (expectedSeq === null || item.seq !== expectedSeq) {
      return fail(`entries[${i}].seq`, `expected seq ${expectedSeq ?? 'none'} (a sorted, gap-free run from range.firstSeq), got ${item.seq}`);
    }
    if (item.seq >= size) return fail(`entries[${i}].seq`, `seq ${item.seq} is not covered by the checkpoint of size ${size}`);
    if ((i === 0 || i === n - 1) && (entry.time < range.from || entry.time > range.to)) {
      return fail(`entries[${i}].entry`, `time ${entry.time} lies outside the bundle's range`);
    }
    const proof = item.proof.map(fromHex);
    if (!verifyInclusion(leafHash(auditLeafData(item.entry)), item.seq, size, proof, root)) {
      return fail(`entries[${i}].proof`, `entry ${item.seq} is not proven included in the checkpoint of size ${size}`);
    }
    parsed.push(entry);
  }
  const lastSeq = n === 0 ? null : bundle.entries[n - 1]!.seq;
  if (lastSeq !== range.lastSeq) {
    return fail('entries', `the entries end at seq ${lastSeq ?? 'none'} but range.lastSeq is ${range.lastSeq ?? 'none'}`);
  }

  const sections = deriveSections(parsed, bundle.registers);
  for (const name of AUDIT_SECTION_NAMES) {
    const where = firstDifference(sections[name], bundle.sections[name], `sections.${name}`);
    if (where !== undefined) return fail(where, `${name} does not match what the entries and registers say`);
  }

  if (!verifyDigest(fromHex(bundle.signature), bundleSigningDigest(bundle as unknown as AuditBundle), publicKey)) {
    return fail('signature', 'the bundle signature does not verify under publicKey');
  }

  const q = sections.queries;
  return {
    ok: true,
    summary: {
      origin: bundle.origin,
      keyName: bundle.keyName,
      publicKey: bundle.publicKey,
      generatedAt: bundle.generatedAt,
      from: range.from,
      to: range.to,
      size,
      root: toHex(root),
      entries: n,
      firstSeq: range.firstSeq,
      lastSeq: range.lastSeq,
      purposes: sections.processingRegister.length,
      queries: q.length,
      releases: q.filter((x) => x.status === 'released').length,
      contributionsAccepted: parsed.filter((e) => e.type === 'contribution.accepted').length,
      contributionsRejected: sections.securityEvents.contributionsRejected.total,
      rightsRequests: sections.rightsRequests.total,
      authFailures: sections.securityEvents.authFailed.total,
      findings: q.reduce((s, x) => s + x.findings.length, 0),
    },
  };
}
