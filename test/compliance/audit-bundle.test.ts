/**
 * Audit report bundles: built from an in-memory log they verify offline and
 * their sections match an independent reading of the scenario; every kind of
 * tampering is refused, naming the first broken item.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cryptoReady, generateSigningKeyPair, toHex } from '../../crypto/index.js';
import {
  AuditLog,
  InMemoryAuditStore,
  exportAuditBundle,
  parseAuditEntry,
  renderAuditCsv,
  renderAuditReportHtml,
  signAuditBundle,
  verifyAuditBundle,
} from '../../compliance/audit.js';
import type { AuditBundle, AuditBundleVerification } from '../../compliance/audit.js';
import { KEY_NAME, ORIGIN, START, logKeyPair, scenarioEvents, scenarioLog, scenarioRegisters } from './audit-fixtures.js';

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
      size: n,
      queries: 2,
      releases: 1,
      contributionsAccepted: 4,
      contributionsRejected: 2,
      rightsRequests: 1,
      authFailures: 2,
    });
    expect(bundle.format).toBe('fedmart-audit-bundle/1');
    expect(bundle.generatedAt).toBe(NOW.toISOString());
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

    const empty = await exportAuditBundle(log, { from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z', registers: scenarioRegisters(), keyPair: logKeyPair() });
    expect(empty.entries).toEqual([]);
    expect(empty.range).toMatchObject({ firstSeq: null, lastSeq: null });
    expect(broken(verifyAuditBundle(empty))).toBe('ok');
  });

  it('records the export in the log when asked, and refuses a foreign key pair or a reversed range', async () => {
    const { log } = await scenarioLog();
    const size = await log.size();
    const b = await exportAuditBundle(log, { from: FROM, to: TO, registers: scenarioRegisters(), keyPair: logKeyPair(), recordAsActor: 'user:dpo-1' });
    const [last] = await log.entries(size, size + 1);
    expect(last).toMatchObject({ type: 'export.created', details: { exportKind: 'audit-bundle', entryCount: b.entries.length } });
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
        let parent = b.sections as Record<string | number, unknown>;
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

describe('rendering', () => {
  it('renders one self-contained, escaped zh-CN/English HTML page with the verification result', () => {
    const html = renderAuditReportHtml(bundle);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    for (const label of ['合规审计报告', 'Compliance audit report', '个人信息保护影响评估', '个人信息处理活动记录', '同意情况汇总', '数据分类分级', '安全事件', '验证通过']) {
      expect(html).toContain(label);
    }
    expect(html).not.toMatch(/<script|<link|src=|href=/i);
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

    const registers = scenarioRegisters();
    const b = { ...bundle, sections: { ...bundle.sections, processingRegister: [{ ...bundle.sections.processingRegister[0]!, description: '=HYPERLINK("http://x")' }] } };
    expect(renderAuditCsv(b)['processing-register.csv']).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(registers.purposes).toHaveLength(2);
  });
});
