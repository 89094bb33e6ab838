/**
 * Offline verification of an audit report bundle (`fedmart audit verify`).
 *
 * Checks, in this order, and reports the first item that fails:
 *
 * 1. shape (strict schema) — `firstBroken` is the JSON path, e.g.
 *    `entries[2].proof[0]`; a version 1 bundle, which carries no proof of
 *    completeness, is refused at `format`;
 * 2. the pinned public key, when the caller gives one — `publicKey`;
 * 3. the checkpoint: signed by `keyName`/`publicKey`, for `origin` — `checkpoint`;
 * 4. the time range — `range`;
 * 5. each entry: canonical catalogued text (`entries[i].entry`), its `seq`
 *    equal to the text's and contiguous from `range.firstSeq`, below the
 *    checkpoint size (`entries[i].seq`), its inclusion proof against the
 *    checkpoint root (`entries[i].proof`), and its time inside the range
 *    (`entries[i].entry`); then the run ends at `range.lastSeq` (`entries`);
 * 6. completeness (see `audit-bundle.ts`): `neighbours.before` is the entry
 *    right before the run, proven in the checkpoint and stamped before
 *    `from`, or absent exactly when the run starts at leaf 0;
 *    `neighbours.after` is the entry right after it, proven and stamped
 *    after `to`, or absent exactly when the run ends at the checkpoint's last
 *    leaf and `to` is that leaf's time. An empty range is placed by its
 *    neighbours, which must then be adjacent. The reason names the first
 *    entry that is missing;
 * 7. every section equals the one recomputed from entries and registers —
 *    `sections.<name>` down to the first differing field;
 * 8. the bundle signature over everything — `signature`;
 * 9. when the caller says which range it asked for (`expectRange`), that the
 *    bundle's proven range covers it: `range.from` not after the requested
 *    `from`, `range.to` not before the requested `to` — `range`.
 *
 * The signature comes last of the checks on the bundle itself on purpose: it
 * covers every byte, so checking it first would name `signature` for any
 * change and hide *what* changed. Every earlier check only trusts data
 * anchored in the signed checkpoint; the signature then binds registers,
 * range and sections to the key.
 *
 * The requested range is checked after all of them: a bundle that is intact
 * and complete for its own range, but for a narrower one than asked for
 * (exported or re-signed by the audit key holder for a smaller range, or
 * ended by the export at the latest entry because the requested `to` ran
 * past it), proves nothing about the rest of the requested range.
 *
 * Never throws for bad data (bad options are a RangeError). Requires
 * `await cryptoReady()`.
 *
 * @module
 */
import { FedmartCryptoError, fromHex, toHex, verifyDigest } from '../crypto/index.js';
import { canonicalSpecJson } from '../analytics/canonical-json.js';
import { auditLeafData, parseAuditEntry } from './audit-events.js';
import type { AuditEntry } from './audit-events.js';
import { AUDIT_SECTION_NAMES, deriveSections } from './audit-sections.js';
import { AUDIT_BUNDLE_FORMAT, AUDIT_BUNDLE_FORMAT_V1, auditBundleSchema, bundleSigningDigest } from './audit-bundle.js';
import type { AuditBundle, AuditBundleEntry } from './audit-bundle.js';
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
  /** Seq of the entry stamped before `from` that precedes the run (null: the run starts at leaf 0). */
  readonly beforeSeq: number | null;
  /** Seq of the entry stamped after `to` that follows the run (null: the run ends at the checkpoint's last leaf, stamped at `to`). */
  readonly afterSeq: number | null;
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

/** Options of {@link verifyAuditBundle}. */
export interface VerifyAuditBundleOptions {
  /** Hex public key the bundle must be signed by (any case). */
  readonly publicKeyHex?: string;
  /**
   * The range the reader asked for: the bundle's proven range must cover it,
   * i.e. start no later than `from` and end no earlier than `to`. Either end
   * may be left out; a string is read as by `Date.parse`.
   */
  readonly expectRange?: { readonly from?: Date | string; readonly to?: Date | string };
}

/** A requested range as instants (ms), with its canonical ISO spelling for messages. */
interface ExpectedRange {
  readonly from?: { readonly ms: number; readonly iso: string };
  readonly to?: { readonly ms: number; readonly iso: string };
}

function expectedInstant(value: Date | string | undefined, name: string): { ms: number; iso: string } | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError(`options.expectRange.${name} must be a valid time`);
  return { ms, iso: new Date(ms).toISOString() };
}

function expectedRange(options: VerifyAuditBundleOptions): ExpectedRange | undefined {
  const want = options.expectRange;
  if (want === undefined) return undefined;
  if (typeof want !== 'object' || want === null) throw new RangeError('options.expectRange must be an object');
  const from = expectedInstant(want.from, 'from');
  const to = expectedInstant(want.to, 'to');
  if (from !== undefined && to !== undefined && from.ms > to.ms) throw new RangeError('options.expectRange.from must not be after options.expectRange.to');
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

/**
 * Verifies a bundle (parsed JSON of unknown shape). With
 * `options.publicKeyHex`, the bundle must be signed by exactly that key —
 * without it, the bundle is only shown to be self-consistent under the key
 * it names, so pin the key whenever you know it. With `options.expectRange`,
 * the bundle must also prove the requested range complete — without it, a
 * bundle for a narrower range than the one asked for verifies, and only the
 * summary's `from`/`to` show the difference.
 */
export function verifyAuditBundle(bundle: unknown, options: VerifyAuditBundleOptions = {}): AuditBundleVerification {
  const requested = expectedRange(options);
  try {
    return verify(bundle, options, requested);
  } catch (e) {
    if (e instanceof FedmartCryptoError && e.code === 'CRYPTO_NOT_READY') throw e;
    return fail('bundle', `unexpected: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** One proven entry outside the run: its parsed text, or why it fails. */
function checkNeighbour(
  item: AuditBundleEntry,
  path: string,
  size: number,
  root: Uint8Array,
): { readonly entry: AuditEntry } | { readonly failure: AuditBundleVerification } {
  let entry: AuditEntry;
  try {
    entry = parseAuditEntry(item.entry);
  } catch (e) {
    return { failure: fail(`${path}.entry`, e instanceof Error ? e.message : String(e)) };
  }
  if (entry.seq !== item.seq) return { failure: fail(`${path}.seq`, `seq ${item.seq} but the entry text says ${entry.seq}`) };
  if (item.seq >= size) return { failure: fail(`${path}.seq`, `seq ${item.seq} is not covered by the checkpoint of size ${size}`) };
  if (!verifyInclusion(leafHash(auditLeafData(item.entry)), item.seq, size, item.proof.map(fromHex), root)) {
    return { failure: fail(`${path}.proof`, `entry ${item.seq} is not proven included in the checkpoint of size ${size}`) };
  }
  return { entry };
}

function verify(input: unknown, options: VerifyAuditBundleOptions, requested: ExpectedRange | undefined): AuditBundleVerification {
  if (typeof input === 'object' && input !== null && (input as { format?: unknown }).format === AUDIT_BUNDLE_FORMAT_V1) {
    return fail(
      'format',
      `a ${AUDIT_BUNDLE_FORMAT_V1} bundle carries no proof that it holds every entry of its time range; export the range again for a ${AUDIT_BUNDLE_FORMAT} bundle`,
    );
  }
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
    if (expectedSeq === null) return fail(`entries[${i}].seq`, `range.firstSeq is null (an empty range), yet entry ${item.seq} is carried`);
    if (item.seq !== expectedSeq) {
      return fail(`entries[${i}].seq`, `entry ${expectedSeq} is missing: the entries must be the gap-free run from range.firstSeq, but seq ${item.seq} stands here`);
    }
    if (item.seq >= size) return fail(`entries[${i}].seq`, `seq ${item.seq} is not covered by the checkpoint of size ${size}`);
    const proof = item.proof.map(fromHex);
    if (!verifyInclusion(leafHash(auditLeafData(item.entry)), item.seq, size, proof, root)) {
      return fail(`entries[${i}].proof`, `entry ${item.seq} is not proven included in the checkpoint of size ${size}`);
    }
    if (entry.time < range.from || entry.time > range.to) {
      return fail(`entries[${i}].entry`, `time ${entry.time} lies outside the bundle's range`);
    }
    parsed.push(entry);
  }
  const lastSeq = n === 0 ? null : bundle.entries[n - 1]!.seq;
  if (lastSeq !== range.lastSeq) {
    return fail('entries', `the entries end at seq ${lastSeq ?? 'none'} but range.lastSeq is ${range.lastSeq ?? 'none'}`);
  }

  // Completeness. Entry times strictly increase with seq (AuditLog stamps
  // each entry after the previous one), so an entry stamped before `from`
  // has only earlier ones before it, and one stamped after `to` only later
  // ones after it. The run is [start, end); an empty range is placed by its
  // `before` neighbour (or at leaf 0 without one).
  const { before, after } = bundle.neighbours;
  const start = range.firstSeq ?? (before === null ? 0 : before.seq + 1);
  const end = range.lastSeq === null ? start : range.lastSeq + 1;
  if (start === 0) {
    if (before !== null) return fail('neighbours.before', 'the run starts at leaf 0, which has no entry before it, yet neighbours.before is given');
  } else if (before === null) {
    return fail(
      'neighbours.before',
      `entry ${start - 1} is missing: the run starts at seq ${start}, so the entry just before it must be shown stamped before ${range.from}`,
    );
  } else {
    const checked = checkNeighbour(before, 'neighbours.before', size, root);
    if ('failure' in checked) return checked.failure;
    if (before.seq !== start - 1) {
      return fail('neighbours.before', `entry ${start - 1} is missing: the entry just before the run must be seq ${start - 1}, got seq ${before.seq}`);
    }
    if (checked.entry.time >= range.from) {
      return fail(
        'neighbours.before',
        `entry ${before.seq} is stamped ${checked.entry.time}, not before ${range.from}${checked.entry.time <= range.to ? ': it lies inside the range and is missing from the entries' : ''}`,
      );
    }
  }
  if (after === null) {
    // No entry after the run: it must end at the checkpoint's last leaf. A
    // checkpoint carries no time; what shows how far the log had got when it
    // was signed is its last leaf's time, after which every later entry is
    // stamped. So the bundle is complete only up to that time, which must be `to`.
    if (end < size) {
      return fail(
        'neighbours.after',
        `entry ${end} is missing: the run ends at seq ${end - 1} but the checkpoint holds ${size} entries, so the entry right after it must be shown stamped after ${range.to}`,
      );
    }
    if (n === 0) {
      return fail(
        'neighbours.after',
        `no entry follows the range: all ${size} entries of the checkpoint precede it, and entries in it may come later, so it is not shown empty`,
      );
    }
    const lastTime = parsed[n - 1]!.time;
    if (lastTime !== range.to) {
      return fail(
        'neighbours.after',
        `no entry after the run: the checkpoint's last entry (seq ${end - 1}) is stamped ${lastTime}, so nothing shows the log complete up to range.to ${range.to}`,
      );
    }
  } else {
    const checked = checkNeighbour(after, 'neighbours.after', size, root);
    if ('failure' in checked) return checked.failure;
    if (after.seq !== end) {
      return fail('neighbours.after', `entry ${end} is missing: the entry right after the run must be seq ${end}, got seq ${after.seq}`);
    }
    if (checked.entry.time <= range.to) {
      return fail(
        'neighbours.after',
        `entry ${after.seq} is stamped ${checked.entry.time}, not after ${range.to}${checked.entry.time >= range.from ? ': it lies inside the range and is missing from the entries' : ''}`,
      );
    }
  }

  const sections = deriveSections(parsed, bundle.registers);
  for (const name of AUDIT_SECTION_NAMES) {
    const where = firstDifference(sections[name], bundle.sections[name], `sections.${name}`);
    if (where !== undefined) return fail(where, `${name} does not match what the entries and registers say`);
  }

  if (!verifyDigest(fromHex(bundle.signature), bundleSigningDigest(bundle as unknown as AuditBundle), publicKey)) {
    return fail('signature', 'the bundle signature does not verify under publicKey');
  }

  if (requested !== undefined) {
    const proven = `the bundle proves ${range.from} .. ${range.to} complete, not the requested ${requested.from?.iso ?? '…'} .. ${requested.to?.iso ?? '…'}`;
    if (requested.from !== undefined && requested.from.ms < Date.parse(range.from)) {
      return fail(
        'range',
        `${proven}: it starts after the requested from, so entries stamped from ${requested.from.iso} up to ${range.from} are not shown; export the range again from ${requested.from.iso}`,
      );
    }
    if (requested.to !== undefined && requested.to.ms > Date.parse(range.to)) {
      if (after === null) {
        // No entry after the run: the range ends at the checkpoint's last
        // entry, as an export ends a range that reaches past the latest entry.
        return fail(
          'range',
          `${proven}: an export ends a range that reaches past the latest entry at that entry (here the checkpoint's last, seq ${end - 1}, stamped ${range.to}), since nothing after it can be shown absent until a later entry is logged; export again once the log holds an entry stamped after ${requested.to.iso} (every export logs one), or ask for a to no later than ${range.to}`,
        );
      }
      return fail(
        'range',
        `${proven}: it ends before the requested to, so entries stamped after ${range.to} up to ${requested.to.iso} are not shown; export the range again up to ${requested.to.iso}`,
      );
    }
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
      beforeSeq: before?.seq ?? null,
      afterSeq: after?.seq ?? null,
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
