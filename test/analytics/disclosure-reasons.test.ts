/**
 * The catalogue of withheld-cell and refusal codes: every code the key
 * holder or the coordinator can send is explained in English and Chinese
 * (found by reading their sources, so a new code without an explanation
 * fails here), templates are filled consistently, unknown codes get the
 * generic text, and releases carry the Chinese reason of each withheld cell.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainReason, parseReleaseDocument, withheldCellsOf, type ReleaseDocument } from '../../analytics/index.js';
import { GENERIC_REASON_TEMPLATE, REASON_TEMPLATES, REFUSAL_REASON_CODES, WITHHELD_LABEL_TEMPLATES, WITHHELD_REASON_CODES, fillReasonTemplate, isDisclosureReasonCode, withheldLabel } from '../../analytics/disclosure-reasons.js';
import { applyDisclosure, effectivePolicy } from '../../compliance/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const all = (text: string, re: RegExp): string[] => [...text.matchAll(re)].map((m) => m[1]!);
const CJK = /[\u4e00-\u9fff]/;

/** Every stable code the key holder can answer a release with, and every code the coordinator fails a query or fit with. */
function codesInSources(): string[] {
  const codes = new Set<string>();
  // The key holder's own refusals.
  for (const c of all(read('keyholder/key-holder.ts'), /\brefuse\(\s*'([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  // Disclosure errors it passes on (refuse(err.code, ...)): the declared union and every construction.
  const errors = read('compliance/disclosure/errors.ts');
  const union = errors.slice(errors.indexOf('export type DisclosureErrorCode'), errors.indexOf(';', errors.indexOf('export type DisclosureErrorCode')));
  for (const c of all(union, /'([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  for (const f of readdirSync(join(ROOT, 'compliance/disclosure')).filter((n) => n.endsWith('.ts'))) {
    const text = read(`compliance/disclosure/${f}`);
    for (const c of all(text, /new DisclosureError\(\s*'([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
    // Differencing hits (refuse(hit.code, ...)).
    for (const c of all(text, /\bcode: '([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  }
  // Consent attestation errors (refuse(err.code, ...)).
  const attestation = read('compliance/attestation.ts');
  const attUnion = attestation.slice(attestation.indexOf('export type AttestationErrorCode'), attestation.indexOf(';', attestation.indexOf('export type AttestationErrorCode')));
  for (const c of all(attUnion, /'([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  // Model rules (refuse(ruled.refusal.code, ...)).
  for (const c of all(read('analytics/model-rules.ts'), /\bcode: '([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  // Transport: undecodable messages and internal errors.
  const rpc = read('protos/rpc.ts');
  for (const c of all(rpc, /new RpcError\([^,]+,\s*'([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  for (const c of all(rpc, /ERROR_CODE_METADATA_KEY,\s*'([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  // The coordinator's own failures and the fit runner's.
  const closer = read('coordinator/round-closer.ts');
  for (const c of all(closer, /this\.fail\(\s*q,\s*'([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  for (const c of all(closer, /\?\? '([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  for (const c of all(read('coordinator/fit-runner.ts'), /export const [A-Z_]+ = '([A-Z][A-Z0-9_]+)'/g)) codes.add(c);
  return [...codes].sort();
}

describe('the reason catalogue', () => {
  it('explains every code the key holder and the coordinator can fail with, and every withheld-cell code', () => {
    const found = codesInSources();
    // The sources were read: the codes named in the task are among them.
    for (const c of ['DIFFERENCING', 'MERCHANT_DIFFERENCING', 'LEVEL_TOO_FEW_SUBJECTS', 'SATURATION', 'POLICY_MISMATCH', 'BUDGET_EXHAUSTED', 'TOO_FEW_MERCHANTS', 'TOO_FEW_SUBJECTS', 'FIT_CANNOT_CONTINUE']) {
      expect(found).toContain(c);
    }
    expect(found.filter((c) => !isDisclosureReasonCode(c))).toEqual([]);
    expect(Object.keys(REASON_TEMPLATES).sort()).toEqual([...WITHHELD_REASON_CODES, ...REFUSAL_REASON_CODES].sort());
    expect(new Set(REFUSAL_REASON_CODES).size).toBe(REFUSAL_REASON_CODES.length);
  });

  it('has both languages for every code, with the same placeholders in each', () => {
    const placeholders = (s: string): string[] => all(s, /\{(\w+)\}/g).sort();
    const texts = [...Object.entries(REASON_TEMPLATES), ['generic', GENERIC_REASON_TEMPLATE], ...Object.entries(WITHHELD_LABEL_TEMPLATES)] as const;
    for (const [code, t] of texts) {
      expect(t.en.trim().length, code).toBeGreaterThan(10);
      expect(t.en, code).not.toMatch(CJK);
      expect(t.zh, code).toMatch(CJK);
      expect(placeholders(t.zh), code).toEqual(placeholders(t.en));
      for (const p of placeholders(t.en)) expect(['k', 'm', 'p', 'code'], code).toContain(p);
    }
    // What to do, not only what happened.
    expect(REASON_TEMPLATES.DIFFERENCING.en).toMatch(/wait until more customers/i);
    expect(REASON_TEMPLATES.DIFFERENCING.en).toMatch(/differential privacy/);
    expect(REASON_TEMPLATES.DIFFERENCING.zh).toContain('差分隐私');
    expect(REASON_TEMPLATES.LEVEL_TOO_FEW_SUBJECTS.en).toMatch(/drop or merge the variable/i);
    expect(REASON_TEMPLATES.LEVEL_TOO_FEW_SUBJECTS.zh).toContain('删除或合并');
  });

  it('fills k, m and p, leaves the letter for a missing value, and names an unknown code', () => {
    expect(explainReason('DIFFERENCING', { k: 10 })).toEqual({
      en: REASON_TEMPLATES.DIFFERENCING.en.replace('{k}', '10'),
      zh: REASON_TEMPLATES.DIFFERENCING.zh.replace('{k}', '10'),
    });
    expect(explainReason('MERCHANT_DIFFERENCING', { m: 3 }).en).toContain('fewer than 3');
    expect(explainReason('MERCHANT_DIFFERENCING', { m: 3 }).zh).toContain('不足 3 家');
    expect(explainReason('DOMINANCE', { p: 60 }).en).toContain('more than 60%');
    expect(explainReason('DOMINANCE', { p: 60 }).zh).toContain('60% 以上');
    expect(explainReason('FEWER_THAN_K_SUBJECTS').en).toContain('Fewer than k customers');
    expect(explainReason('TOO_FEW_MERCHANTS', { m: null }).zh).toContain('少于 m 家');
    for (const text of Object.values(explainReason('TOO_FEW_SUBJECTS', { k: 25, m: 4, p: 50 }))) expect(text).not.toMatch(/\{\w+\}/);
    expect(explainReason('SOMETHING_NEW')).toEqual({
      en: GENERIC_REASON_TEMPLATE.en.replace('{code}', 'SOMETHING_NEW'),
      zh: GENERIC_REASON_TEMPLATE.zh.replace('{code}', 'SOMETHING_NEW'),
    });
    expect(explainReason('').en).toContain('UNKNOWN');
    expect(fillReasonTemplate('{k}/{m}/{p}/{x}', { k: 1, m: 2, p: 3 })).toBe('1/2/3/{x}');
    expect(withheldLabel('FEWER_THAN_K_SUBJECTS', { k: 10 })).toEqual({ en: 'fewer than 10 customers', zh: '客户少于 10 人' });
    expect(isDisclosureReasonCode('toString')).toBe(false);
  });
});

describe('withheld cells in releases', () => {
  const policy = effectivePolicy('p', undefined, { minMerchants: 3, minSubjects: 10, dominance: null });
  const released = (): ReturnType<typeof applyDisclosure> => applyDisclosure({
    cells: [
      { name: 'small', subjectsField: 'small.n', fields: ['small.n'] },
      { name: 'large', subjectsField: 'large.n', fields: ['large.n'] },
      { name: 'other', subjectsField: 'other.n', fields: ['other.n'] },
    ],
    fields: [{ name: 'small.n', max: 1000n }, { name: 'large.n', max: 1000n }, { name: 'other.n', max: 1000n }],
    totals: new Map([['small.n', 3n], ['large.n', 50n], ['other.n', 40n]]),
    attestedSubjects: 93,
    policy,
    margins: [{ parts: ['small', 'large', 'other'] }],
  });

  it('carry the reason in English and Chinese from the catalogue', () => {
    const out = released();
    expect(out.cells.small).toEqual({
      suppressed: true,
      reasonCode: 'FEWER_THAN_K_SUBJECTS',
      reason: explainReason('FEWER_THAN_K_SUBJECTS', { k: 10 }).en,
      reasonZh: explainReason('FEWER_THAN_K_SUBJECTS', { k: 10 }).zh,
    });
    expect(out.cells.other).toMatchObject({ suppressed: true, reasonCode: 'SECONDARY', reasonZh: REASON_TEMPLATES.SECONDARY.zh });
  });

  it('parse with and without reasonZh, and list their withheld cells with codes and explanations', () => {
    const out = released();
    const doc: ReleaseDocument = {
      version: 1, queryId: 'q-1', kind: 'segment-stats', specDigest: 'ab', paramSet: 'bfv-8192', keyId: 'cd', merchants: ['a', 'b', 'c'],
      contributionDigests: ['00', '11', '22'], aggregateDigest: 'ff', policy: { minMerchants: 3, minSubjects: 10 }, attestedSubjects: 93,
      cells: out.cells, releasedAt: '2026-01-01T00:00:00.000Z',
      disclosure: { purpose: 'p', mode: 'exact', dominance: { maxSharePercent: 60 }, dp: null },
    };
    expect(parseReleaseDocument(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
    const older: ReleaseDocument = { ...doc, cells: { ...doc.cells, small: { suppressed: true, reason: 'fewer than 10 subjects' } } };
    expect(parseReleaseDocument(JSON.parse(JSON.stringify(older))).cells.small).toEqual({ suppressed: true, reason: 'fewer than 10 subjects' });
    expect(() => parseReleaseDocument({ ...doc, cells: { small: { suppressed: true, reason: 'x', reasonZh: 7 } } })).toThrow(/cells\.small\.reasonZh/);

    const params = { k: 10, p: 60 };
    expect(withheldCellsOf(doc)).toEqual([
      { cell: 'small', reasonCode: 'FEWER_THAN_K_SUBJECTS', reason: explainReason('FEWER_THAN_K_SUBJECTS', params), params },
      { cell: 'other', reasonCode: 'SECONDARY', reason: explainReason('SECONDARY', params), params },
    ]);
    // A release made before codes: its withheld cells count as k suppressions.
    expect(withheldCellsOf(older)[0]).toMatchObject({ cell: 'small', reasonCode: 'FEWER_THAN_K_SUBJECTS' });
    expect(withheldCellsOf({ cells: { x: { suppressed: false, subjects: '12', totals: {} } } })).toEqual([]);
  });
});
