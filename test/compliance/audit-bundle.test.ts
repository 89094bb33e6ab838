/**
 * Audit report bundles: built from an in-memory log they verify offline and
 * their sections match an independent reading of the scenario; every kind of
 * tampering is refused, naming the first broken item; and no entry of the
 * range can be withheld, even by someone who recomputes the sections and
 * re-signs the bundle with the audit key.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cryptoReady, fromHex, generateSigningKeyPair, toHex, verifyDigest } from '../../crypto/index.js';
import { AuditLog, AuditLogError, deriveSections, exportAuditBundle, renderAuditCsv, renderAuditReportHtml, verifyAuditBundle } from '../../compliance/audit.js';
import { InMemoryAuditStore } from '../../compliance/audit-store.js';
import { bundleSigningDigest, signAuditBundle } from '../../compliance/audit-bundle.js';
import { parseAuditEntry } from '../../compliance/audit-events.js';
import type { AuditBundle, AuditBundleVerification, AuditEvent } from '../../compliance/audit.js';
import type { UnsignedAuditBundle } from '../../compliance/audit-bundle.js';
import { KEY_NAME, ORIGIN, START, logKeyPair, scenarioEvents, scenarioLog, scenarioRegisters } from './audit-fixtures.js';
import { beijingTime, keyFingerprint } from '../../compliance/audit-report-html.js';

const FROM = new Date(START).toISOString();
const TO = new Date(START + 24 * 3600_000).toISOString();
const NOW = new Date('2025-05-02T00:00:00.000Z');

let bundle: AuditBundle;
let pub: string;

beforeAll(async () => {
  await cryptoReady();
  const { log } = await scenarioLog({ checkpointEvery: 7 });
  bundle = await exportAuditBundle(log, { from: FROM, to: TO, registers: scenarioRegisters(), keyPair: logKeyPair(), now: NOW });
  pub = toHex(logKeyPair().publicKey);
});

/** A deep copy through JSON, as a bundle file would be read back. */
const copy = (): AuditBundle => JSON.parse(JSON.stringify(bundle)) as AuditBundle;
type Mutable = Record<string, unknown>;

function broken(v: AuditBundleVerification): string {
  return v.ok ? 'ok' : v.firstBroken;
}

describe('building and verifying', () => {
  it('a bundle of the whole scenario verifies, also after a JSON round trip and with the pinned key', () => {
    const v = verifyAuditBundle(bundle);
    expect(v).toMatchObject({ ok: true });
    expect(broken(verifyAuditBundle(copy(), { publicKeyHex: pub }))).toBe('ok');
    expect(broken(verifyAuditBundle(copy(), { publicKeyHex: pub.toUpperCase() }))).toBe('ok');
    if (!v.ok) return;
    const n = scenarioEvents().length;
    expect(v.summary).toMatchObject({
      origin: ORIGIN,
      keyName: KEY_NAME,
      entries: n,
      firstSeq: 0,
      lastSeq: n - 1,
      beforeSeq: null,
      afterSeq: null,
      size: n,
      queries: 2,
      releases: 1,
      contributionsAccepted: 4,
      contributionsRejected: 2,
      rightsRequests: 1,
      authFailures: 2,
    });
    expect(bundle.format).toBe('fedmart-audit-bundle/2');
    expect(bundle.generatedAt).toBe(NOW.toISOString());
    // The range asked for reaches past the latest entry (minute n - 1): it ends at that entry's time.
    expect(bundle.range).toEqual({ from: FROM, to: new Date(START + (n - 1) * 60_000).toISOString(), firstSeq: 0, lastSeq: n - 1 });
    expect(bundle.neighbours).toEqual({ before: null, after: null });
  });

  it('sections agree with an independent reading of the scenario', () => {
    const s = bundle.sections;
    const q1 = s.queries.find((q) => q.queryId === 'q-001')!;
    expect(q1).toMatchObject({
      purpose: 'marketing-analytics',
      requester: 'user:mkt-7',
      legalBasis: 'consent',
      merchants: ['shop-001', 'shop-002', 'shop-003'],
      subjectsIncluded: 100 + 110 + 120,
      excludedByReason: { 'no-record': 13, withdrawn: 2 },
      contributionsRejected: 1,
      suppressedCells: ['churned|tier-3'],
      status: 'released',
      findings: [],
    });
    expect(q1.release?.noise).toEqual({ mechanism: 'discrete-laplace', epsilon: 0.5, delta: 0 });
    // Every entry that names q-001 is listed as evidence.
    const named = bundle.entries.filter((e) => e.entry.includes('"queryId":"q-001"')).map((e) => e.seq);
    expect(q1.evidenceSeqs).toEqual(named);

    const q2 = s.queries.find((q) => q.queryId === 'q-002')!;
    expect(q2).toMatchObject({ status: 'failed', failureReason: 'TOO_FEW_MERCHANTS', release: null, subjectsIncluded: 40 });
    expect(q2.findings).toEqual(['NO_PIA_BEFORE_QUERY']);

    expect(s.consentSummary).toEqual([
      { purpose: 'fraud-prevention', contributions: 1, subjectsIncluded: 40, subjectsExcluded: 0, excludedByReason: {} },
      { purpose: 'marketing-analytics', contributions: 3, subjectsIncluded: 330, subjectsExcluded: 15, excludedByReason: { 'no-record': 13, withdrawn: 2 } },
    ]);
    const ropa = Object.fromEntries(s.processingRegister.map((r) => [r.purpose, r]));
    expect(ropa['marketing-analytics']).toMatchObject({ registered: true, queriesRun: 1, piaIds: ['pia-2025-01'], dataCategories: ['profile', 'transaction'] });
    expect(ropa['fraud-prevention']).toMatchObject({ registered: true, queriesRun: 1, piaIds: [], sensitiveFields: ['return_count'] });
    expect(s.rightsRequests).toMatchObject({ total: 1, byType: { deletion: 1 } });
    expect(s.securityEvents.authFailed).toEqual({ total: 2, byReason: { BAD_TOKEN: 2 }, bySurface: { http: 2 } });
    expect(s.securityEvents.contributionsRejected).toEqual({
      total: 2,
      byReason: { HEADER_INVALID: 1, SIGNATURE_INVALID: 1 },
      byGrpcCode: { INVALID_ARGUMENT: 1, UNAUTHENTICATED: 1 },
    });
    expect(s.pias).toEqual([expect.objectContaining({ id: 'pia-2025-01', registered: true, loggedSeq: 2 })]);
  });

  it('takes the contiguous seq run of a time range, and an empty range', async () => {
    const { log } = await scenarioLog();
    const part = await exportAuditBundle(log, {
      from: new Date(START + 8 * 60_000),
      to: new Date(START + 12 * 60_000 + 30_000),
      registers: scenarioRegisters(),
      keyPair: logKeyPair(),
    });
    expect(part.entries.map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(part.range).toMatchObject({ firstSeq: 8, lastSeq: 12 });
    expect(broken(verifyAuditBundle(part))).toBe('ok');
    expect(part.sections.queries.find((q) => q.queryId === 'q-001')?.findings).toContain('QUERY_CREATED_OUTSIDE_RANGE');

    // Between the entries of minutes 8 and 9.
    const empty = await exportAuditBundle(log, { from: new Date(START + 8 * 60_000 + 1), to: new Date(START + 9 * 60_000 - 1), registers: scenarioRegisters(), keyPair: logKeyPair() });
    expect(empty.entries).toEqual([]);
    expect(empty.range).toMatchObject({ firstSeq: null, lastSeq: null });
    expect([empty.neighbours.before?.seq, empty.neighbours.after?.seq]).toEqual([8, 9]);
    expect(broken(verifyAuditBundle(empty))).toBe('ok');
  });

  it('records the export in the log when asked, and refuses a foreign key pair or a reversed range', async () => {
    const { log } = await scenarioLog();
    const size = await log.size();
    const b = await exportAuditBundle(log, { from: FROM, to: TO, registers: scenarioRegisters(), keyPair: logKeyPair(), recordAsActor: 'user:dpo-1' });
    const [last] = await log.entries(size, size + 1);
    // It records the range the bundle covers (ending at the latest entry), not the one asked for.
    expect(last).toMatchObject({ type: 'export.created', details: { exportKind: 'audit-bundle', entryCount: b.entries.length, from: FROM, to: b.range.to } });
    expect(b.range.to).toBe(new Date(START + (size - 1) * 60_000).toISOString());
    await expect(exportAuditBundle(log, { from: FROM, to: TO, registers: scenarioRegisters(), keyPair: generateSigningKeyPair() })).rejects.toThrow(/keyPair/);
    await expect(exportAuditBundle(log, { from: TO, to: FROM, registers: scenarioRegisters(), keyPair: logKeyPair() })).rejects.toThrow(/from/);
  });
});

describe('tampering is refused, naming the first broken item', () => {
  it('rejects non-bundles and shape errors with their path', () => {
    for (const junk of [null, 'x', 1, [], {}]) expect(verifyAuditBundle(junk)).toMatchObject({ ok: false });
    const b = copy() as unknown as Mutable;
    b.extra = 1;
    expect(broken(verifyAuditBundle(b))).toBe('bundle');
    const c = copy() as unknown as { entries: { proof: string[] }[] };
    c.entries[2]!.proof[0] = 'zz';
    expect(broken(verifyAuditBundle(c))).toBe('entries[2].proof[0]');
  });

  it('one changed character in one entry text breaks that entry', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.constantFrom(...'abcdefz0123456789"{}:,'.split('')), (i, pos, ch) => {
        const b = copy();
        const k = i % b.entries.length;
        const text = b.entries[k]!.entry;
        const p = pos % text.length;
        fc.pre(text[p] !== ch);
        (b.entries[k] as { entry: string }).entry = text.slice(0, p) + ch + text.slice(p + 1);
        expect(broken(verifyAuditBundle(b))).toMatch(new RegExp(`^entries\\[${k}\\]\\.(entry|seq|proof)$`));
      }),
      { numRuns: 300 },
    );
  });

  it('a dropped entry is found at its position, or at the end', () => {
    const n = bundle.entries.length;
    for (let k = 0; k < n; k++) {
      const b = copy();
      (b.entries as unknown[]).splice(k, 1);
      expect(broken(verifyAuditBundle(b)), `drop ${k}`).toBe(k === n - 1 ? 'entries' : `entries[${k}].seq`);
    }
  });

  it('reordered entries are found at the first moved position', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, c) => {
        const n = bundle.entries.length;
        const [i, j] = [a % n, c % n];
        fc.pre(i !== j);
        const b = copy();
        const e = b.entries as AuditBundle['entries'][number][];
        [e[i], e[j]] = [e[j]!, e[i]!];
        expect(broken(verifyAuditBundle(b))).toBe(`entries[${Math.min(i, j)}].seq`);
      }),
      { numRuns: 100 },
    );
  });

  it('a swapped proof breaks that entry', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, c) => {
        const n = bundle.entries.length;
        const [i, j] = [a % n, c % n];
        const b = copy();
        const e = b.entries as unknown as { proof: readonly string[] }[];
        fc.pre(JSON.stringify(e[i]!.proof) !== JSON.stringify(e[j]!.proof));
        [e[i]!.proof, e[j]!.proof] = [e[j]!.proof, e[i]!.proof];
        expect(broken(verifyAuditBundle(b))).toBe(`entries[${Math.min(i, j)}].proof`);
      }),
      { numRuns: 100 },
    );
    const b = copy();
    (b.entries[3] as unknown as { proof: string[] }).proof = b.entries[3]!.proof.slice(0, -1);
    expect(broken(verifyAuditBundle(b))).toBe('entries[3].proof');
  });

  it('any altered section value is found in sections, down to the field', () => {
    const leaves: (string | number)[][] = [];
    const walk = (v: unknown, path: (string | number)[]): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
      else leaves.push(path);
    };
    walk(bundle.sections, []);
    expect(leaves.length).toBeGreaterThan(100);
    fc.assert(
      fc.property(fc.constantFrom(...leaves), (path) => {
        const b = copy() as unknown as { sections: Record<string | number, unknown> };
        let parent = b.sections;
        for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
        const last = path[path.length - 1]!;
        const old = parent[last];
        parent[last] = typeof old === 'number' ? old + 1 : typeof old === 'string' ? `${old}x` : typeof old === 'boolean' ? !old : 0;
        const where = broken(verifyAuditBundle(b));
        expect(where.startsWith(`sections.${String(path[0])}`)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('an added or removed section row is found', () => {
    const b = copy() as unknown as { sections: { queries: unknown[]; consentSummary: unknown[] } };
    b.sections.queries.pop();
    expect(broken(verifyAuditBundle(b))).toBe('sections.queries[1]');
    const c = copy() as unknown as { sections: { consentSummary: unknown[] } };
    c.sections.consentSummary.push({ purpose: 'x', contributions: 1, subjectsIncluded: 1, subjectsExcluded: 0, excludedByReason: {} });
    expect(broken(verifyAuditBundle(c))).toBe('sections.consentSummary[2]');
  });

  it('an altered checkpoint, signature, public key, range or register is refused', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 0x7e }), (pos, code) => {
        const b = copy() as unknown as Mutable;
        const note = b.checkpoint as string;
        const p = pos % note.length;
        fc.pre(note.charCodeAt(p) !== code);
        b.checkpoint = note.slice(0, p) + String.fromCharCode(code) + note.slice(p + 1);
        expect(broken(verifyAuditBundle(b))).toBe('checkpoint');
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.nat({ max: 127 }), fc.constantFrom(...'0123456789abcdef'.split('')), (p, ch) => {
        const b = copy() as unknown as Mutable;
        const sig = b.signature as string;
        fc.pre(sig[p] !== ch);
        b.signature = sig.slice(0, p) + ch + sig.slice(p + 1);
        expect(broken(verifyAuditBundle(b))).toBe('signature');
      }),
      { numRuns: 100 },
    );
    const other = toHex(generateSigningKeyPair().publicKey);
    const k = copy() as unknown as Mutable;
    k.publicKey = other;
    expect(broken(verifyAuditBundle(k))).toBe('checkpoint');
    expect(broken(verifyAuditBundle(k, { publicKeyHex: pub }))).toBe('publicKey');
    expect(broken(verifyAuditBundle(copy(), { publicKeyHex: other }))).toBe('publicKey');

    const late = copy() as unknown as { range: { from: string } };
    late.range.from = new Date(START + 60_000).toISOString();
    expect(broken(verifyAuditBundle(late))).toBe('entries[0].entry');
    const early = copy() as unknown as { range: { from: string } };
    early.range.from = new Date(START - 60_000).toISOString();
    expect(broken(verifyAuditBundle(early))).toBe('signature');
    const gen = copy() as unknown as Mutable;
    gen.generatedAt = '2025-05-03T00:00:00.000Z';
    expect(broken(verifyAuditBundle(gen))).toBe('signature');

    // Register text shown in the report is recomputed; other register fields are bound by the signature.
    const desc = copy() as unknown as { registers: { purposes: { description: string }[]; classification: { grade: string }[] } };
    desc.registers.purposes[0]!.description = 'Something else';
    expect(broken(verifyAuditBundle(desc))).toMatch(/^sections\.processingRegister\[\d\]\.description$/);
    const grade = copy() as unknown as { registers: { classification: { grade: string }[] } };
    grade.registers.classification[0]!.grade = 'important';
    expect(broken(verifyAuditBundle(grade))).toBe('signature');
  });

  it('a bundle re-signed by another key after editing is refused when the audit key is pinned', () => {
    const evil = generateSigningKeyPair();
    const b = copy() as unknown as Mutable;
    b.publicKey = toHex(evil.publicKey);
    const { signature: _s, ...unsigned } = b as unknown as AuditBundle;
    const resigned = signAuditBundle(unsigned, evil.secretKey);
    // Its checkpoint was signed by the real key, so it fails there too; pinned, it fails first at the key.
    expect(broken(verifyAuditBundle(resigned))).toBe('checkpoint');
    expect(broken(verifyAuditBundle(resigned, { publicKeyHex: pub }))).toBe('publicKey');
  });

  it('a log edited after the fact cannot produce a verifying bundle for its old checkpoint', async () => {
    const store = new InMemoryAuditStore();
    const log = new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair: logKeyPair() });
    for (const e of scenarioEvents()) await log.append(e);
    const honest = await exportAuditBundle(log, { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', registers: scenarioRegisters(), keyPair: logKeyPair() });
    // Lower a consent count in the stored text, re-hash, and splice the forged text into the honest bundle.
    const k = honest.entries.findIndex((e) => e.entry.includes('"withdrawn":2'));
    const forged = honest.entries[k]!.entry.replace('"withdrawn":2', '"withdrawn":0');
    expect(parseAuditEntry(forged).seq).toBe(honest.entries[k]!.seq);
    const b = JSON.parse(JSON.stringify(honest)) as { entries: { entry: string }[] };
    b.entries[k]!.entry = forged;
    expect(broken(verifyAuditBundle(b))).toBe(`entries[${k}].proof`);
  });
});

const minute = (m: number): string => new Date(START + m * 60_000).toISOString();

type Writable<T> = { -readonly [K in keyof T]: T[K] };
type Forgeable = Omit<Writable<UnsignedAuditBundle>, 'range'> & { range: Writable<AuditBundle['range']> };

/**
 * The attack on completeness: edit a bundle, recompute its sections from the
 * entries it then carries, and sign it again with the audit key — so that
 * shape, checkpoint, proofs, sections and signature all still check out.
 */
function forge(b: AuditBundle, edit: (f: Forgeable) => void): AuditBundle {
  const { signature: _old, ...rest } = JSON.parse(JSON.stringify(b)) as AuditBundle;
  const f: Forgeable = rest;
  edit(f);
  f.sections = deriveSections(f.entries.map((e) => parseAuditEntry(e.entry)), f.registers);
  return signAuditBundle(f, logKeyPair().secretKey);
}

/** Withholds carried entry `seq`, fitting range.firstSeq/lastSeq to what is left, re-signed. */
function withhold(b: AuditBundle, seq: number): AuditBundle {
  return forge(b, (f) => {
    f.entries = f.entries.filter((e) => e.seq !== seq);
    f.range.firstSeq = f.entries[0]?.seq ?? null;
    f.range.lastSeq = f.entries.at(-1)?.seq ?? null;
  });
}

function verdict(b: unknown): [string, string] {
  const v = verifyAuditBundle(b, { publicKeyHex: pub });
  return v.ok ? ['ok', ''] : [v.firstBroken, v.reason];
}

describe('completeness: no entry of the range can be left out', () => {
  let log: AuditLog;
  /** Entries 8..12 (stamped at minutes 8..12); neighbours 7 and 13. */
  let part: AuditBundle;
  beforeAll(async () => {
    ({ log } = await scenarioLog());
    part = await exportAuditBundle(log, { from: new Date(START + 8 * 60_000), to: new Date(START + 12 * 60_000 + 30_000), registers: scenarioRegisters(), keyPair: logKeyPair() });
  });

  it('a range carries the entries just outside it, proven in the checkpoint: one stamped before from, one after to', () => {
    expect(part.entries.map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    const { before, after } = part.neighbours;
    expect([before?.seq, after?.seq]).toEqual([7, 13]);
    expect(parseAuditEntry(before!.entry).time).toBe(minute(7));
    expect(parseAuditEntry(after!.entry).time).toBe(minute(13));
    const v = verifyAuditBundle(JSON.parse(JSON.stringify(part)), { publicKeyHex: pub });
    expect(v).toMatchObject({ ok: true, summary: { entries: 5, firstSeq: 8, lastSeq: 12, beforeSeq: 7, afterSeq: 13 } });
  });

  it('an empty range is proven by two adjacent neighbours, or by leaf 0 when it precedes the log', async () => {
    const between = await exportAuditBundle(log, { from: new Date(START + 8 * 60_000 + 1), to: new Date(START + 9 * 60_000 - 1), registers: scenarioRegisters(), keyPair: logKeyPair() });
    expect([between.entries.length, between.neighbours.before?.seq, between.neighbours.after?.seq]).toEqual([0, 8, 9]);
    expect(verdict(between)).toEqual(['ok', '']);
    const first = await exportAuditBundle(log, { from: new Date(START - 3600_000), to: new Date(START - 1), registers: scenarioRegisters(), keyPair: logKeyPair() });
    expect([first.entries.length, first.neighbours.before, first.neighbours.after?.seq]).toEqual([0, null, 0]);
    expect(verdict(first)).toEqual(['ok', '']);
  });

  it('a range reaching past the latest entry ends at its time; one after the latest entry, or in an empty log, is refused', async () => {
    const n = scenarioEvents().length;
    const tail = await exportAuditBundle(log, { from: new Date(START + 20 * 60_000), to: '2100-01-01T00:00:00Z', registers: scenarioRegisters(), keyPair: logKeyPair() });
    expect(tail.range).toEqual({ from: minute(20), to: minute(n - 1), firstSeq: 20, lastSeq: n - 1 });
    expect([tail.neighbours.before?.seq, tail.neighbours.after]).toEqual([19, null]);
    expect(verdict(tail)).toEqual(['ok', '']);
    const later = exportAuditBundle(log, { from: new Date(START + n * 60_000), to: '2100-01-01T00:00:00Z', registers: scenarioRegisters(), keyPair: logKeyPair() });
    await expect(later).rejects.toThrow(AuditLogError);
    await expect(later).rejects.toMatchObject({ code: 'OUT_OF_RANGE', message: expect.stringMatching(/begins after the latest entry/) });
    const emptyLog = new AuditLog({ store: new InMemoryAuditStore(), origin: ORIGIN, keyName: KEY_NAME, keyPair: logKeyPair() });
    await expect(exportAuditBundle(emptyLog, { from: FROM, to: TO, registers: scenarioRegisters(), keyPair: logKeyPair() })).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
  });

  it('withholding the last in-range entry, with sections recomputed and the bundle re-signed by the audit key, fails at neighbours.after naming it', () => {
    const forged = withhold(part, 12);
    // Everything but completeness still checks out: the signature is the audit key's, the sections match the entries carried.
    expect(verifyDigest(fromHex(forged.signature), bundleSigningDigest(forged), logKeyPair().publicKey)).toBe(true);
    expect(forged.sections).toEqual(deriveSections(forged.entries.map((e) => parseAuditEntry(e.entry)), forged.registers));
    expect(forged.entries.map((e) => e.seq)).toEqual([8, 9, 10, 11]);
    const [where, why] = verdict(forged);
    expect(where).toBe('neighbours.after');
    expect(why).toBe('entry 12 is missing: the entry right after the run must be seq 12, got seq 13');
    // The two last entries withheld: the first of them is named.
    expect(verdict(withhold(withhold(part, 12), 11))).toEqual(['neighbours.after', 'entry 11 is missing: the entry right after the run must be seq 11, got seq 13']);
  });

  it('withholding the entry at the end of the log fails even with no entry after it', async () => {
    const n = scenarioEvents().length;
    const tail = await exportAuditBundle(log, { from: new Date(START + 20 * 60_000), to: '2100-01-01T00:00:00Z', registers: scenarioRegisters(), keyPair: logKeyPair() });
    const forged = withhold(tail, n - 1);
    expect(verdict(forged)).toEqual([
      'neighbours.after',
      `entry ${n - 1} is missing: the run ends at seq ${n - 2} but the checkpoint holds ${n} entries, so the entry right after it must be shown stamped after ${minute(n - 1)}`,
    ]);
    // Also with the range's end moved to the last entry carried.
    const fitted = forge(forged, (f) => {
      f.range.to = minute(n - 2);
    });
    expect(verdict(fitted)[0]).toBe('neighbours.after');
    expect(verdict(fitted)[1]).toMatch(new RegExp(`^entry ${n - 1} is missing`));
    // And a range widened past the log's last entry, with no entry after it, is not shown complete.
    const widened = forge(tail, (f) => {
      f.range.to = minute(n + 5);
    });
    expect(verdict(widened)).toEqual([
      'neighbours.after',
      `no entry after the run: the checkpoint's last entry (seq ${n - 1}) is stamped ${minute(n - 1)}, so nothing shows the log complete up to range.to ${minute(n + 5)}`,
    ]);
  });

  it('withholding the first in-range entry fails at neighbours.before naming it; from leaf 0 too', async () => {
    expect(verdict(withhold(part, 8))).toEqual(['neighbours.before', 'entry 8 is missing: the entry just before the run must be seq 8, got seq 7']);
    expect(verdict(withhold(bundle, 0))).toEqual([
      'neighbours.before',
      `entry 0 is missing: the run starts at seq 1, so the entry just before it must be shown stamped before ${FROM}`,
    ]);
  });

  it('withholding a middle entry fails at its position, naming it', () => {
    expect(verdict(withhold(part, 10))).toEqual([
      'entries[2].seq',
      'entry 10 is missing: the entries must be the gap-free run from range.firstSeq, but seq 11 stands here',
    ]);
  });

  it('dropping the right or the left neighbour fails, naming it', () => {
    const noAfter = forge(part, (f) => {
      f.neighbours = { ...f.neighbours, after: null };
    });
    expect(verdict(noAfter)).toEqual([
      'neighbours.after',
      `entry 13 is missing: the run ends at seq 12 but the checkpoint holds ${scenarioEvents().length} entries, so the entry right after it must be shown stamped after ${part.range.to}`,
    ]);
    const noBefore = forge(part, (f) => {
      f.neighbours = { ...f.neighbours, before: null };
    });
    expect(verdict(noBefore)).toEqual(['neighbours.before', `entry 7 is missing: the run starts at seq 8, so the entry just before it must be shown stamped before ${part.range.from}`]);
  });

  it('a neighbour replaced by the withheld in-range entry fails: it lies inside the range', () => {
    const last = part.entries.find((e) => e.seq === 12)!;
    const asAfter = forge(withhold(part, 12), (f) => {
      f.neighbours = { ...f.neighbours, after: last };
    });
    expect(verdict(asAfter)).toEqual([
      'neighbours.after',
      `entry 12 is stamped ${minute(12)}, not after ${part.range.to}: it lies inside the range and is missing from the entries`,
    ]);
    const first = part.entries.find((e) => e.seq === 8)!;
    const asBefore = forge(withhold(part, 8), (f) => {
      f.neighbours = { ...f.neighbours, before: first };
    });
    expect(verdict(asBefore)).toEqual([
      'neighbours.before',
      `entry 8 is stamped ${minute(8)}, not before ${part.range.from}: it lies inside the range and is missing from the entries`,
    ]);
  });

  it('a neighbour stamped inside the range (the range widened over it) fails', () => {
    const wider = forge(part, (f) => {
      f.range.to = minute(13);
    });
    expect(verdict(wider)).toEqual(['neighbours.after', `entry 13 is stamped ${minute(13)}, not after ${minute(13)}: it lies inside the range and is missing from the entries`]);
    const earlier = forge(part, (f) => {
      f.range.from = minute(7);
    });
    expect(verdict(earlier)).toEqual(['neighbours.before', `entry 7 is stamped ${minute(7)}, not before ${minute(7)}: it lies inside the range and is missing from the entries`]);
    // A neighbour proven for another seq does not pass for the right one.
    const moved = forge(part, (f) => {
      f.neighbours = { ...f.neighbours, after: { ...f.neighbours.after!, seq: 12 } };
    });
    expect(verdict(moved)[0]).toBe('neighbours.after.seq');
  });

  it('an empty-range bundle that hides an entry fails, naming the hidden entry', async () => {
    const one = await exportAuditBundle(log, { from: new Date(START + 8 * 60_000), to: new Date(START + 8 * 60_000 + 30_000), registers: scenarioRegisters(), keyPair: logKeyPair() });
    expect([one.neighbours.before?.seq, one.entries.map((e) => e.seq), one.neighbours.after?.seq]).toEqual([7, [8], 9]);
    const hidden = withhold(one, 8);
    expect(hidden.entries).toEqual([]);
    expect(hidden.range).toMatchObject({ firstSeq: null, lastSeq: null });
    expect(verdict(hidden)).toEqual(['neighbours.after', 'entry 8 is missing: the entry right after the run must be seq 8, got seq 9']);
    const atStart = forge(hidden, (f) => {
      f.neighbours = { ...f.neighbours, before: null };
    });
    expect(verdict(atStart)).toEqual(['neighbours.after', 'entry 0 is missing: the entry right after the run must be seq 0, got seq 9']);
    const asAfter = forge(hidden, (f) => {
      f.neighbours = { ...f.neighbours, after: one.entries[0]! };
    });
    expect(verdict(asAfter)[0]).toBe('neighbours.after');
    expect(verdict(asAfter)[1]).toMatch(/^entry 8 is stamped .*: it lies inside the range and is missing from the entries$/);
  });

  it('a version 1 bundle is refused with a message saying why', () => {
    const { neighbours: _n, ...v1 } = { ...JSON.parse(JSON.stringify(part)), format: 'fedmart-audit-bundle/1' } as AuditBundle;
    expect(verdict(v1)).toEqual([
      'format',
      'a fedmart-audit-bundle/1 bundle carries no proof that it holds every entry of its time range; export the range again for a fedmart-audit-bundle/2 bundle',
    ]);
  });

  it('for random logs and ranges, the bundle verifies and holds exactly the entries in the range; withholding any one of them, re-signed, fails naming it', async () => {
    const events = scenarioEvents();
    await fc.assert(
      fc.asyncProperty(
        // Clock steps in ms: repeats (0) and steps back (< 0) are stamped 1 ms after the previous entry.
        fc.array(fc.integer({ min: -5_000, max: 120_000 }), { minLength: 1, maxLength: 24 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom(-1, 0, 1, 30_000),
        fc.constantFrom(-1, 0, 1, 30_000, 10 ** 9),
        async (steps, a, c, fromShift, toShift) => {
          let t = START;
          let k = 0;
          const clock = () => new Date((t += steps[k++ % steps.length]!));
          const store = new InMemoryAuditStore();
          const randomLog = new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair: logKeyPair(), clock });
          for (let i = 0; i < steps.length; i++) await randomLog.append(events[i % events.length] as AuditEvent);
          const times = (await randomLog.entries(0, steps.length)).map((e) => Date.parse(e.time));
          const from = times[a % times.length]! + fromShift;
          const to = times[c % times.length]! + toShift;
          fc.pre(from <= to);
          const latest = times[times.length - 1]!;
          const exported = exportAuditBundle(randomLog, { from: new Date(from), to: new Date(to), registers: scenarioRegisters(), keyPair: logKeyPair() });
          if (from > latest) {
            await expect(exported).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
            return;
          }
          const b = await exported;
          // The independent answer: every entry whose time lies in [from, min(to, latest)].
          const end = Math.min(to, latest);
          const expected = times.flatMap((time, seq) => (time >= from && time <= end ? [seq] : []));
          expect(b.entries.map((e) => e.seq)).toEqual(expected);
          expect(b.range.to).toBe(new Date(end).toISOString());
          expect(verdict(JSON.parse(JSON.stringify(b)))).toEqual(['ok', '']);
          for (const seq of expected) {
            const [where, why] = verdict(withhold(b, seq));
            expect(where).toMatch(/^(neighbours\.(before|after)|entries\[\d+\]\.seq)$/);
            expect(why).toMatch(new RegExp(`^entry ${seq} is missing`));
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('fedmart audit verify exits 1 with one line naming the first missing entry, and 0 for the intact bundle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-bundle-'));
    try {
      const good = join(dir, 'good.json');
      const bad = join(dir, 'withheld.json');
      writeFileSync(good, JSON.stringify(part));
      writeFileSync(bad, JSON.stringify(withhold(part, 12)));
      const bin = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
      const run = (file: string) => spawnSync(process.execPath, [bin, 'audit', 'verify', file, '--key', pub], { encoding: 'utf8', timeout: 60_000 });
      const ok = run(good);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('complete: entry 7 precedes from, entry 13 follows to');
      const broken = run(bad);
      expect(broken.status).toBe(1);
      expect(broken.stdout).toBe('');
      expect(broken.stderr.trimEnd().split('\n')).toEqual([
        'fedmart audit verify: BROKEN at neighbours.after: entry 12 is missing: the entry right after the run must be seq 12, got seq 13',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the requested range: a bundle verifies only when its proven range covers the one asked for', () => {
  /** Entries 8..12 (minutes 8..12), range minute 8 .. minute 12 + 30 s, neighbours 7 and 13. */
  let part: AuditBundle;
  /** From minute 20 to the latest entry: asked up to 2100, ended by the export at the last entry, no entry after it. */
  let tail: AuditBundle;
  const PART_FROM = '2025-05-01T00:08:00.000Z';
  const PART_TO = '2025-05-01T00:12:30.000Z';
  beforeAll(async () => {
    const { log } = await scenarioLog();
    part = await exportAuditBundle(log, { from: PART_FROM, to: PART_TO, registers: scenarioRegisters(), keyPair: logKeyPair() });
    tail = await exportAuditBundle(log, { from: '2025-05-01T00:20:00.000Z', to: '2100-01-01T00:00:00.000Z', registers: scenarioRegisters(), keyPair: logKeyPair() });
  });

  const within = (b: unknown, expectRange: { from?: string | Date; to?: string | Date }): [string, string] => {
    const v = verifyAuditBundle(b, { publicKeyHex: pub, expectRange });
    return v.ok ? ['ok', ''] : [v.firstBroken, v.reason];
  };

  it('the fixtures are what the cases below assume', () => {
    expect(part.range).toEqual({ from: PART_FROM, to: PART_TO, firstSeq: 8, lastSeq: 12 });
    expect([part.neighbours.before?.seq, part.neighbours.after?.seq]).toEqual([7, 13]);
    const n = scenarioEvents().length;
    expect(tail.range).toEqual({ from: '2025-05-01T00:20:00.000Z', to: minute(n - 1), firstSeq: 20, lastSeq: n - 1 });
    expect(tail.neighbours.after).toBeNull();
  });

  it('a requested range equal to the bundle range, or inside it, verifies', () => {
    expect(within(part, { from: PART_FROM, to: PART_TO })).toEqual(['ok', '']);
    expect(within(part, { from: new Date(Date.parse(PART_FROM)), to: new Date(Date.parse(PART_TO)) })).toEqual(['ok', '']);
    // The same instants spelled otherwise.
    expect(within(part, { from: '2025-05-01T08:08:00+08:00', to: '2025-05-01T00:12:30Z' })).toEqual(['ok', '']);
    // Covered: a later from, an earlier to, both, or only one end given.
    expect(within(part, { from: '2025-05-01T00:08:00.001Z' })).toEqual(['ok', '']);
    expect(within(part, { to: '2025-05-01T00:12:29.999Z' })).toEqual(['ok', '']);
    expect(within(part, { from: '2025-05-01T00:09:00.000Z', to: '2025-05-01T00:11:00.000Z' })).toEqual(['ok', '']);
    expect(within(part, {})).toEqual(['ok', '']);
    // Only one end asked for: the other end of the bundle does not matter.
    expect(within(part, { from: '2025-05-01T00:10:00.000Z' })).toEqual(['ok', '']);
    expect(within(part, { to: '2025-05-01T00:00:00.000Z' })).toEqual(['ok', '']);
  });

  it('a requested from earlier than the bundle from fails at range, saying which entries are not shown', () => {
    expect(within(part, { from: '2025-05-01T00:07:59.999Z' })).toEqual([
      'range',
      'the bundle proves 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.000Z complete, not the requested 2025-05-01T00:07:59.999Z .. …: it starts after the requested from, so entries stamped from 2025-05-01T00:07:59.999Z up to 2025-05-01T00:08:00.000Z are not shown; export the range again from 2025-05-01T00:07:59.999Z',
    ]);
    expect(within(part, { from: '2025-05-01T00:00:00.000Z', to: '2025-05-01T00:10:00.000Z' })[0]).toBe('range');
  });

  it('a requested to later than the bundle to fails at range; with a neighbour after the run, as a narrower export', () => {
    expect(within(part, { from: PART_FROM, to: '2025-05-01T00:12:30.001Z' })).toEqual([
      'range',
      'the bundle proves 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.000Z complete, not the requested 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.001Z: it ends before the requested to, so entries stamped after 2025-05-01T00:12:30.000Z up to 2025-05-01T00:12:30.001Z are not shown; export the range again up to 2025-05-01T00:12:30.001Z',
    ]);
    // Wider at both ends: the from end is named first.
    const [where, why] = within(part, { from: '2025-05-01T00:07:00.000Z', to: '2025-05-01T00:13:00.000Z' });
    expect(where).toBe('range');
    expect(why).toMatch(/: it starts after the requested from, /);
  });

  it('a to past the latest entry, which the export ended the bundle at, fails at range explaining why and what to do', () => {
    const n = scenarioEvents().length;
    const last = minute(n - 1);
    expect(within(tail, { from: '2025-05-01T00:20:00.000Z', to: last })).toEqual(['ok', '']);
    expect(within(tail, { to: '2100-01-01T00:00:00.000Z' })).toEqual([
      'range',
      `the bundle proves 2025-05-01T00:20:00.000Z .. ${last} complete, not the requested … .. 2100-01-01T00:00:00.000Z: an export ends a range that reaches past the latest entry at that entry (here the checkpoint's last, seq ${n - 1}, stamped ${last}), since nothing after it can be shown absent until a later entry is logged; export again once the log holds an entry stamped after 2100-01-01T00:00:00.000Z (every export logs one), or ask for a to no later than ${last}`,
    ]);
  });

  it('a bundle re-signed by the audit key for a narrower range verifies on its own, and fails at range when the wider range is asked for', () => {
    const entry12 = part.entries.find((e) => e.seq === 12)!;
    const entry8 = part.entries.find((e) => e.seq === 8)!;
    // Entries 8..11 with entry 12 as the neighbour after: complete for the range up to minute 11 + 30 s.
    const shorter = forge(part, (f) => {
      f.range.to = '2025-05-01T00:11:30.000Z';
      f.entries = f.entries.filter((e) => e.seq <= 11);
      f.range.lastSeq = 11;
      f.neighbours = { ...f.neighbours, after: entry12 };
    });
    // Entries 9..12 with entry 8 as the neighbour before: complete from minute 8 + 30 s.
    const later = forge(part, (f) => {
      f.range.from = '2025-05-01T00:08:30.000Z';
      f.entries = f.entries.filter((e) => e.seq >= 9);
      f.range.firstSeq = 9;
      f.neighbours = { ...f.neighbours, before: entry8 };
    });
    for (const b of [shorter, later]) {
      expect(verdict(b)).toEqual(['ok', '']);
      expect(within(b, {})).toEqual(['ok', '']);
    }
    expect(within(shorter, { from: PART_FROM, to: PART_TO })).toEqual([
      'range',
      'the bundle proves 2025-05-01T00:08:00.000Z .. 2025-05-01T00:11:30.000Z complete, not the requested 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.000Z: it ends before the requested to, so entries stamped after 2025-05-01T00:11:30.000Z up to 2025-05-01T00:12:30.000Z are not shown; export the range again up to 2025-05-01T00:12:30.000Z',
    ]);
    expect(within(later, { from: PART_FROM, to: PART_TO })).toEqual([
      'range',
      'the bundle proves 2025-05-01T00:08:30.000Z .. 2025-05-01T00:12:30.000Z complete, not the requested 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.000Z: it starts after the requested from, so entries stamped from 2025-05-01T00:08:00.000Z up to 2025-05-01T00:08:30.000Z are not shown; export the range again from 2025-05-01T00:08:00.000Z',
    ]);
    // Still covered when only what the narrower bundle proves is asked for.
    expect(within(shorter, { from: PART_FROM, to: '2025-05-01T00:11:30.000Z' })).toEqual(['ok', '']);
  });

  it('a bundle broken otherwise is named at what is broken, not at range', () => {
    expect(within(withhold(part, 12), { from: PART_FROM, to: '2025-05-01T00:13:00.000Z' })[0]).toBe('neighbours.after');
    const unsigned = { ...JSON.parse(JSON.stringify(part)), signature: '0'.repeat(128) } as unknown;
    expect(within(unsigned, { to: '2025-05-01T00:13:00.000Z' })[0]).toBe('signature');
  });

  it('refuses a requested range that is not one with a RangeError', () => {
    expect(() => verifyAuditBundle(part, { expectRange: { from: 'not a time' } })).toThrow(RangeError);
    expect(() => verifyAuditBundle(part, { expectRange: { to: new Date(Number.NaN) } })).toThrow(/expectRange\.to/);
    expect(() => verifyAuditBundle(part, { expectRange: { from: PART_TO, to: PART_FROM } })).toThrow(/expectRange\.from must not be after/);
  });

  it('fedmart audit verify --from/--to: exit 0 when covered, 1 naming range when not, 2 for a bad date', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-bundle-range-'));
    try {
      const partFile = join(dir, 'part.json');
      const tailFile = join(dir, 'tail.json');
      writeFileSync(partFile, JSON.stringify(part));
      writeFileSync(tailFile, JSON.stringify(tail));
      const bin = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
      const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'audit', 'verify', ...args], { encoding: 'utf8', timeout: 60_000 });

      const ok = run(partFile, '--key', pub, '--from', '2025-05-01T08:08:00+08:00', '--to', PART_TO);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('  covers the requested range 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.000Z\n');

      const earlier = run(partFile, '--key', pub, '--from', '2025-05-01');
      expect(earlier.status).toBe(1);
      expect(earlier.stdout).toBe('');
      expect(earlier.stderr.trimEnd().split('\n')).toEqual([
        'fedmart audit verify: BROKEN at range: the bundle proves 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.000Z complete, not the requested 2025-05-01T00:00:00.000Z .. …: it starts after the requested from, so entries stamped from 2025-05-01T00:00:00.000Z up to 2025-05-01T00:08:00.000Z are not shown; export the range again from 2025-05-01T00:00:00.000Z',
      ]);

      const later = run(partFile, '--key', pub, '--to', '2025-05-01T00:13:00.000Z');
      expect(later.status).toBe(1);
      expect(later.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(later.stderr).toMatch(/^fedmart audit verify: BROKEN at range: .*: it ends before the requested to, /);

      const clipped = run(tailFile, '--key', pub, '--to', '2025-06-01');
      expect(clipped.status).toBe(1);
      expect(clipped.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(clipped.stderr).toContain('BROKEN at range: ');
      expect(clipped.stderr).toContain('an export ends a range that reaches past the latest entry at that entry');

      // --json carries the same verdict.
      const json = run(partFile, '--json', '--to', '2025-05-01T00:13:00.000Z');
      expect(json.status).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, firstBroken: 'range' });

      // A bad date is reported before the file is read (the first case names a file that does not exist).
      for (const [file, flag, value] of [[join(dir, 'missing.json'), '--to', '2025-02-30'], [partFile, '--from', 'May 1 2025'], [partFile, '--to', '2025-05-01T00:13:00']] as const) {
        const bad = run(file, flag, value);
        expect(bad.status, `${flag} ${value}`).toBe(2);
        expect(bad.stdout).toBe('');
        expect(bad.stderr.trimEnd().split('\n')).toEqual([
          `fedmart audit: ${flag} ${JSON.stringify(value)} is not an ISO-8601 date or time with Z or an offset (e.g. 2025-05-01 or 2025-05-31T23:59:59.999Z) (see fedmart audit --help)`,
        ]);
      }
      const reversed = run(partFile, '--from', PART_TO, '--to', PART_FROM);
      expect(reversed.status).toBe(2);
      expect(reversed.stderr.trimEnd().split('\n')).toEqual([
        'fedmart audit: --from 2025-05-01T00:12:30.000Z is after --to 2025-05-01T00:08:00.000Z (see fedmart audit --help)',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('rendering', () => {
  it('renders one self-contained, escaped zh-CN/English HTML page with the verification result', () => {
    const html = renderAuditReportHtml(bundle);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    for (const label of ['合规审计报告', 'Compliance audit report', '个人信息保护影响评估', '个人信息处理活动记录', '同意情况汇总', '数据分类分级', '安全事件', '验证通过']) {
      expect(html).toContain(label);
    }
    // No scripts and nothing fetched: the only links are the contents page's links to its own sections.
    expect(html).not.toMatch(/<script|<link|src=|href=(?!"#)/i);
    expect(html).toContain('q-001');
    expect(html).toContain('discrete-laplace ε=0.5 δ=0');

    const hostileText = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';
    const rows = bundle.sections.processingRegister.map((r) => ({ ...r, description: hostileText }));
    const b = { ...bundle, sections: { ...bundle.sections, processingRegister: rows } };
    const page = renderAuditReportHtml(b);
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img');
    expect(page).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#60;img');
    expect(page).toContain('验证失败');
    expect(page).toContain('The key this report claims to be signed with; verification FAILED.');
  });

  it('prints on A4 with page X of Y, shows Beijing time with the UTC instant, the signing key itself, and wraps long tokens', () => {
    const html = renderAuditReportHtml(bundle);
    // Paper and page numbers come from the page's own print rules.
    expect(html).toMatch(/@page\{size:A4;/);
    expect(html).toContain('counter(page) " / " counter(pages)');
    expect(html).toContain('" of " counter(pages)');
    // Times: Beijing time for the reader, the logged UTC instant kept in datetime/title and a second line.
    expect(html).toContain(`<time datetime="${NOW.toISOString()}" title="${NOW.toISOString()}">2025-05-02 08:00:00 (北京时间)</time><br><span class="utc">UTC ${NOW.toISOString()}</span>`);
    expect(html).toContain('2025-05-01 08:00:00 (北京时间)');
    for (const item of bundle.entries) {
      const t = JSON.parse(item.entry).time as string;
      expect(html).toContain(`datetime="${t}"`);
    }
    // The signing-key row shows the key that verifies the signature, not the origin or key name.
    const row = /<td>签名公钥 signing key[^<]*<\/td><td>(.*?)<\/td>/.exec(html);
    expect(row?.[1]).toContain(`<span class="hex">${pub}</span>`);
    expect(row?.[1]).not.toContain(ORIGIN);
    expect(row?.[1]).toContain('verified under');
    expect(html).toContain(keyFingerprint(pub)!);
    expect(html).toContain(`<td>密钥名称 key name (in the signed checkpoint)</td><td>${KEY_NAME.replace(/([./])/g, '$1<wbr>')}</td>`);
    // Wide tables have fixed column widths; identifiers break after their separators, words never inside.
    expect(html).toMatch(/<section id="ropa" class="wide">[^]*?<table class="wide"><colgroup>(<col style="width:\d+%">){11}<\/colgroup>/);
    expect(html).toContain('order_<wbr>total');
    expect(html).not.toMatch(/word-break:break-word/);
    // Long hex and the checkpoint's base64 lines wrap inside their boxes.
    expect(html).toMatch(/pre\{[^}]*overflow-wrap:anywhere/);
    expect(html).toContain(`<td class="mono hex">${bundle.sections.queries[0]!.specDigest}</td>`);
  });

  it('converts instants to Beijing time (UTC+8) and leaves anything else alone', () => {
    expect(beijingTime('2026-12-07T10:30:05.000Z')).toBe('2026-12-07 18:30:05 (北京时间)');
    expect(beijingTime('2025-12-31T20:00:00.999Z')).toBe('2026-01-01 04:00:00 (北京时间)');
    expect(beijingTime('2026-12-07T18:30:05+08:00')).toBe('2026-12-07 18:30:05 (北京时间)');
    expect(beijingTime('2025-05-01')).toBeNull();
    expect(beijingTime('not a time')).toBeNull();
    expect(keyFingerprint('zz')).toBeNull();
    expect(keyFingerprint('00'.repeat(32))).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  });

  it('renders four CSV files with bilingual headers, one row per record, and defused formulas', () => {
    const files = renderAuditCsv(bundle);
    expect(Object.keys(files).sort()).toEqual(['consent-summary.csv', 'processing-register.csv', 'queries.csv', 'security-events.csv']);
    const lines = (s: string): string[] => s.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines(files['queries.csv'])).toHaveLength(1 + bundle.sections.queries.length);
    expect(lines(files['processing-register.csv'])).toHaveLength(1 + bundle.sections.processingRegister.length);
    expect(lines(files['consent-summary.csv'])).toHaveLength(1 + bundle.sections.consentSummary.length);
    expect(lines(files['queries.csv'])[0]).toContain('"查询 query"');
    expect(files['queries.csv'].startsWith('\uFEFF')).toBe(true);
    expect(files['security-events.csv']).toContain('"contribution.rejected reason","SIGNATURE_INVALID","1"');
    // Each query's creation time in UTC as logged and in Beijing time beside it: 8 hours later, computed here.
    const header = lines(files['queries.csv'])[0]!.split('","');
    const utcAt = header.findIndex((h) => h.startsWith('创建时间(UTC)'));
    expect(header[utcAt + 1]).toContain('Beijing, UTC+8');
    for (const [i, q] of bundle.sections.queries.entries()) {
      const cells = lines(files['queries.csv'])[i + 1]!.slice(1, -1).split('","');
      expect(cells[utcAt]).toBe(q.createdAt ?? '');
      if (q.createdAt === null) continue;
      expect(cells[utcAt + 1]).toBe(new Date(Date.parse(q.createdAt) + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '));
    }
    expect(lines(files['consent-summary.csv'])[0]).toContain('subject-rounds included (summed over rounds, not people)');

    const registers = scenarioRegisters();
    const b = { ...bundle, sections: { ...bundle.sections, processingRegister: [{ ...bundle.sections.processingRegister[0]!, description: '=HYPERLINK("http://x")' }] } };
    expect(renderAuditCsv(b)['processing-register.csv']).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(registers.purposes).toHaveLength(2);
  });
});
