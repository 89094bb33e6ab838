/**
 * The console's browser modules, run in Node against the project's own
 * implementations: BLAKE2b against libsodium, RFC 6962 inclusion checks
 * against the Merkle tree of compliance/, checkpoint and bundle verification
 * against real signed bundles (and tampered ones), canonical JSON against
 * analytics/, ROC AUC against the binned AUC of model evaluation, labels in
 * both languages, the reasons of withheld cells and failures against the
 * catalogue of analytics/, and no reference to anything outside the coordinator.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { blake2b256, cryptoReady, toHex } from '../../crypto/index.js';
import { canonicalSpecJson, explainReason } from '../../analytics/index.js';
import { binnedAuc } from '../../analytics/model-evaluation.js';
import { withheldLabel as catalogueLabel, GENERIC_REASON_TEMPLATE, REASON_TEMPLATES, REFUSAL_REASON_CODES, WITHHELD_LABEL_TEMPLATES, WITHHELD_REASON_CODES } from '../../analytics/disclosure-reasons.js';
import { exportAuditBundle, type AuditBundle } from '../../compliance/index.js';
import { MerkleTree, leafHash as nodeLeafHash, verifyInclusion as nodeVerifyInclusion } from '../../compliance/merkle.js';
import { signAuditBundle } from '../../compliance/audit-bundle.js';
import { auditLeafData } from '../../compliance/audit-events.js';
import { blake2b } from '../../coordinator/console/blake2b.js';
import { canonicalJson, ed25519Supported, fromHex, leafHash, verifyBundle, verifyCheckpoint, verifyInclusion } from '../../coordinator/console/verify.js';
import { barChart, heatMap, rocFromHistograms } from '../../coordinator/console/charts.js';
import { MESSAGES, PROBLEM_TITLES, explain, failureText, t, withheldLabel } from '../../coordinator/console/i18n.js';
import { PROBLEMS } from '../../coordinator/problems.js';
import { KEY_NAME, START, scenarioLog, scenarioRegisters } from '../compliance/audit-fixtures.js';

const CONSOLE = join(import.meta.dirname, '../../coordinator/console');

beforeAll(async () => {
  await cryptoReady();
});

describe('blake2b.js', () => {
  it('equals libsodium BLAKE2b-256 for any input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), (data) => toHex(blake2b(data)) === toHex(blake2b256(data))), { numRuns: 300 });
    for (const n of [0, 127, 128, 129, 256, 65_537]) {
      const data = new Uint8Array(n).map((_, i) => (i * 7) & 255);
      expect(toHex(blake2b(data)), String(n)).toBe(toHex(blake2b256(data)));
    }
  });
});

describe('verify.js', () => {
  it('accepts exactly the inclusion proofs the log owner makes', async () => {
    for (const size of [1, 2, 3, 5, 8, 13, 31]) {
      const leaves = Array.from({ length: size }, (_, i) => nodeLeafHash(new TextEncoder().encode(`entry ${i}`)));
      const tree = MerkleTree.fromLeafHashes(leaves);
      for (let i = 0; i < size; i++) {
        const proof = tree.inclusionProof(i, size);
        expect(await verifyInclusion(leaves[i]!, i, size, proof, tree.root())).toBe(true);
        if (size > 1) expect(await verifyInclusion(leaves[(i + 1) % size]!, i, size, proof, tree.root())).toBe(false);
        expect(await verifyInclusion(leaves[i]!, i, size, proof, tree.root().map((b, k) => (k === 0 ? b ^ 1 : b)))).toBe(false);
        // Same verdict as compliance/ for other claimed sizes and indices (the size itself is pinned by the signed checkpoint).
        for (const [j, n] of [[i, size + 1], [i, size - 1], [i + 1, size], [i, 2 * size]] as const) {
          expect(await verifyInclusion(leaves[i]!, j, n, proof, tree.root()), `${size} ${i} -> ${j}/${n}`).toBe(nodeVerifyInclusion(leaves[i]!, j, n, proof, tree.root()));
        }
      }
    }
    expect(await leafHash('{"a":1}')).toEqual(nodeLeafHash(auditLeafData('{"a":1}')));
  });

  it('writes canonical JSON as analytics/ does', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const value = JSON.parse(JSON.stringify(v)) as unknown;
      return canonicalJson(value) === canonicalSpecJson(value);
    }), { numRuns: 300 });
  });

  it('verifies a real checkpoint and bundle, and names what was tampered with', async () => {
    expect(await ed25519Supported()).toBe(true);
    const { log, keyPair } = await scenarioLog();
    const bundle = await exportAuditBundle(log, { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', registers: scenarioRegisters(), keyPair });
    const cp = await verifyCheckpoint(bundle.checkpoint, KEY_NAME, bundle.publicKey);
    expect(cp).toMatchObject({ ok: true, origin: bundle.origin, size: bundle.entries.length });
    expect(await verifyCheckpoint(bundle.checkpoint, KEY_NAME, '00'.repeat(32))).toMatchObject({ ok: false });
    expect(await verifyCheckpoint(bundle.checkpoint.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) + 1}\n`), KEY_NAME, bundle.publicKey)).toMatchObject({ ok: false });

    const ok = await verifyBundle(bundle, { pinnedKeyHex: bundle.publicKey });
    expect(ok).toMatchObject({ ok: true, firstBroken: null, entries: bundle.entries.length, size: bundle.entries.length });
    expect(ok.checks.map((c) => [c.name, c.ok])).toEqual([['publicKey', true], ['checkpoint', true], ['entries', true], ['completeness', true], ['signature', true]]);

    const cases: [string, (b: AuditBundle) => unknown, string][] = [
      ['an entry edited', (b) => ({ ...b, entries: b.entries.map((e, i) => (i === 3 ? { ...e, entry: e.entry.replace('"time":"2', '"time":"1') } : e)) }), 'entries[3].proof'],
      ['an entry dropped', (b) => ({ ...b, entries: b.entries.filter((_, i) => i !== 2) }), 'entries[2].seq'],
      ['a proof hash flipped', (b) => ({ ...b, entries: b.entries.map((e, i) => (i === 1 ? { ...e, proof: [e.proof[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0')), ...e.proof.slice(1)] } : e)) }), 'entries[1].proof'],
      ['a section changed', (b) => ({ ...b, sections: { ...b.sections, consentSummary: [] } }), 'signature'],
      ['the signature changed', (b) => ({ ...b, signature: b.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) }), 'signature'],
      ['another key', (b) => b, 'publicKey'],
    ];
    for (const [name, mutate, where] of cases) {
      const v = await verifyBundle(mutate(bundle), { pinnedKeyHex: name === 'another key' ? 'ab'.repeat(32) : bundle.publicKey });
      expect([name, v.ok, v.firstBroken]).toEqual([name, false, where]);
    }
    expect(fromHex('00ff')).toEqual(new Uint8Array([0, 255]));

    // A part of the log (entries 8..12, stamped at minutes 8..12) with its neighbours 7 and 13.
    const part = await exportAuditBundle(log, { from: new Date(START + 8 * 60_000), to: new Date(START + 12 * 60_000 + 30_000), registers: scenarioRegisters(), keyPair });
    expect(await verifyBundle(part, { pinnedKeyHex: part.publicKey })).toMatchObject({ ok: true, firstBroken: null, entries: 5 });
    const resigned = (b: AuditBundle): AuditBundle => {
      const { signature: _s, ...unsigned } = b;
      return signAuditBundle(unsigned, keyPair.secretKey);
    };
    const withheld: [string, AuditBundle, string, RegExp][] = [
      ['the last entry withheld', resigned({ ...part, entries: part.entries.slice(0, -1), range: { ...part.range, lastSeq: 11 } }), 'neighbours.after', /^entry 12 is missing/],
      ['the first entry withheld', resigned({ ...part, entries: part.entries.slice(1), range: { ...part.range, firstSeq: 9 } }), 'neighbours.before', /^entry 8 is missing/],
      ['the right neighbour dropped', resigned({ ...part, neighbours: { ...part.neighbours, after: null } }), 'neighbours.after', /^entry 13 is missing/],
      ['the left neighbour dropped', resigned({ ...part, neighbours: { ...part.neighbours, before: null } }), 'neighbours.before', /^entry 7 is missing/],
      ['a version 1 bundle', { ...part, format: 'fedmart-audit-bundle/1' } as unknown as AuditBundle, 'format', /version 1/],
    ];
    for (const [name, b, where, why] of withheld) {
      const v = await verifyBundle(b, { pinnedKeyHex: part.publicKey });
      expect([name, v.ok, v.firstBroken]).toEqual([name, false, where]);
      expect(v.reason, name).toMatch(why);
    }
  });
});

describe('charts.js', () => {
  it('computes the AUC of a ROC curve as model evaluation does', () => {
    fc.assert(fc.property(fc.array(fc.nat(50), { minLength: 10, maxLength: 10 }), fc.array(fc.nat(50), { minLength: 10, maxLength: 10 }), (pos, neg) => {
      const ours = rocFromHistograms(pos, neg).auc;
      const theirs = binnedAuc(pos, neg);
      return ours === null ? theirs === null : theirs !== null && Math.abs(ours - theirs) < 1e-12;
    }), { numRuns: 300 });
    const { points } = rocFromHistograms([0, 1, 3], [3, 1, 0]);
    expect(points[0]).toEqual({ fpr: 0, tpr: 0 });
    expect(points.at(-1)).toEqual({ fpr: 1, tpr: 1 });
  });

  it('escapes every label and marks suppressed cells', () => {
    const svg = barChart({ title: '<b>t</b>', labels: ['<script>x</script>', 'b'], values: [null, 3] });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('class="slot suppressed"');
    expect(svg.match(/class="bar"/g)).toHaveLength(1);
    const heat = heatMap({ title: 'r', rows: ['2025-01'], cols: ['M0', 'M1'], cells: [[1, null]] });
    expect(heat).toContain('100%');
    expect(heat).toContain('class="cell empty"');
  });
});

describe('problem titles in i18n.js', () => {
  it('word every HTTP problem code in both languages, the English being the server\'s title', () => {
    expect(Object.keys(PROBLEM_TITLES).sort()).toEqual(Object.keys(PROBLEMS).sort());
    for (const [code, { title }] of Object.entries(PROBLEMS)) {
      const both = PROBLEM_TITLES[code]!;
      expect(both.en, code).toBe(title);
      expect(both.zh, code).toMatch(/[\u4e00-\u9fff]/);
      expect(MESSAGES.zh[`problem.${code}`]).toBe(both.zh);
      expect(MESSAGES.en[`problem.${code}`]).toBe(title);
    }
  });
});

describe('reasons in i18n.js', () => {
  const LANGS = ['zh', 'en'] as const;
  const CODES = [...WITHHELD_REASON_CODES, ...REFUSAL_REASON_CODES];

  it('hold every catalogue code in both dictionaries, word for word, and nothing else', () => {
    for (const lang of LANGS) {
      for (const code of CODES) expect(MESSAGES[lang][`why.${code}`], `${lang} ${code}`).toBe(REASON_TEMPLATES[code][lang]);
      expect(MESSAGES[lang]['why.OTHER']).toBe(GENERIC_REASON_TEMPLATE[lang]);
      for (const code of WITHHELD_REASON_CODES) expect(MESSAGES[lang][`whyShort.${code}`], `${lang} ${code}`).toBe(WITHHELD_LABEL_TEMPLATES[code][lang]);
      const keys = Object.keys(MESSAGES[lang]);
      expect(keys.filter((k) => k.startsWith('why.')).sort()).toEqual([...CODES, 'OTHER'].map((c) => `why.${c}`).sort());
      expect(keys.filter((k) => k.startsWith('whyShort.')).sort()).toEqual(WITHHELD_REASON_CODES.map((c) => `whyShort.${c}`).sort());
    }
  });

  it('explain a code as the catalogue does, in the language asked for', () => {
    for (const vars of [{ k: 10, m: 3, p: 60 }, { k: 25 }, {}]) {
      for (const code of [...CODES, 'SOMETHING_NEW']) {
        const expected = explainReason(code, vars);
        for (const lang of LANGS) expect(explain(code, vars, lang), `${lang} ${code}`).toBe(expected[lang]);
      }
      for (const code of WITHHELD_REASON_CODES) {
        for (const lang of LANGS) expect(withheldLabel(code, vars, lang)).toBe(catalogueLabel(code, vars)[lang]);
      }
    }
    expect(explain('DOMINANCE', { p: 60 }, 'zh')).toContain('60% 以上');
    expect(withheldLabel('NOT_A_CODE', {}, 'en')).toBe('suppressed');
  });

  it('show a failure in the current language: the coordinator\'s explanation, else the code\'s, else its words', () => {
    const explanation = explainReason('DIFFERENCING', { k: 10 });
    const view = { statusCode: 'DIFFERENCING', explanation, statusReason: 'key holder refused: ...' };
    expect(failureText(view, {}, 'zh')).toBe(explanation.zh);
    expect(failureText(view, {}, 'en')).toBe(explanation.en);
    expect(failureText({ statusCode: 'TOO_FEW_MERCHANTS', explanation: null, statusReason: 'only 1' }, { m: 3 }, 'zh')).toBe(explainReason('TOO_FEW_MERCHANTS', { m: 3 }).zh);
    expect(failureText({ statusCode: null, explanation: null, statusReason: 'only 1' }, {}, 'zh')).toBe('only 1');
  });

  it('label each withheld bar with its own reason', () => {
    const svg = barChart({ title: 't', labels: ['a', 'b', 'c'], values: [null, 3, null], suppressedLabels: ['fewer than 10 customers', undefined, '<one shop>'], suppressedTitles: ['Fewer than 10 customers are behind this cell', undefined, undefined] });
    expect(svg).toContain('>fewer than 10 customers</tspan>');
    expect(svg).toContain('<title>a: Fewer than 10 customers are behind this cell</title>');
    expect(svg).toContain('&lt;one shop&gt;');
    expect(svg).not.toContain('<one shop>');
    expect(svg.match(/class="slot suppressed"/g)).toHaveLength(2);
  });
});

describe('console files', () => {
  const files = readdirSync(CONSOLE).filter((f) => /\.(js|html|css)$/.test(f));

  it('have every label in Chinese and English', () => {
    expect(Object.keys(MESSAGES.en).sort()).toEqual(Object.keys(MESSAGES.zh).sort());
    const used = new Set<string>();
    for (const f of files) {
      const text = readFileSync(join(CONSOLE, f), 'utf8');
      for (const m of text.matchAll(/\bt\('([a-z][\w.-]*)'/g)) used.add(m[1]!);
      for (const m of text.matchAll(/data-i18n(?:-label)?="([^"]+)"/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(100);
    expect([...used].filter((k) => !(k in MESSAGES.zh) || !(k in MESSAGES.en))).toEqual([]);
    expect(t('q.answered', { n: 2, target: 5, status: 'x' }, 'en')).toBe('2 / 5 merchants answered · x');
  });

  it('reference nothing outside the coordinator (no CDN, no web fonts)', () => {
    for (const f of files) {
      const text = readFileSync(join(CONSOLE, f), 'utf8');
      const urls = (text.match(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'`)]*/gi) ?? []).filter((u) => u !== 'http://www.w3.org/2000/svg');
      expect(urls, f).toEqual([]);
      expect(text, f).not.toMatch(/@import|@font-face|url\((?!#)/);
    }
  });
});
