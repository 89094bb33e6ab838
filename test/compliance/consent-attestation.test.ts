import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady, toHex } from '../../crypto/index.js';
import { AttestationError, ConsentLedger, attestationDigest, buildAttestation, checkAttestation, parseAttestation, type ConsentAttestation } from '../../compliance/consent.js';
import { EXCLUSION_REASONS } from '../../compliance/consent-evaluate.js';
import { encodeAttestation } from '../../compliance/attestation.js';
import { buildRowSetSketch, disclosureTerms, rowSetPowers } from '../../compliance/index.js';
import { rowContents } from '../../analytics/index.js';
import { CUTOFF, MARKETING, ev, record } from './consent-fixtures.js';

beforeAll(async () => {
  await cryptoReady();
});

function sample(): ConsentAttestation {
  const l = new ConsentLedger([
    ['a', record(1)],
    ['b', record(2, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2025-02-10T00:00:00Z')] })],
  ]);
  const filter = l.filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ['a', 'b', 'c'] });
  const terms = disclosureTerms(MARKETING, 10);
  const data = { shopId: 'shop-01', customers: [{ customerId: 'p-a', lifecycleStage: 'new' as const, consentAnalytics: true, consentMarketing: false, city: '', ageBand: '25-34', signupUnixS: 0 }], orders: [] };
  const rowSet = buildRowSetSketch(rowContents(data, ['customer.lifecycle_stage', 'order.amount']), rowSetPowers(terms.minSubjects), new Uint8Array(32).fill(7));
  return buildAttestation({ queryId: 'Q-1', merchantId: 'shop-01', purpose: MARKETING.name, cutoff: CUTOFF, filter, terms, rowSet });
}

const errorOf = (fn: () => unknown): AttestationError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof AttestationError) return e;
    throw e;
  }
  throw new Error('expected an AttestationError');
};

describe('buildAttestation', () => {
  it('summarises the filter with every reason zero-filled', () => {
    const att = sample();
    expect(att).toMatchObject({
      version: 2,
      queryId: 'Q-1',
      merchantId: 'shop-01',
      purpose: 'marketing-analytics',
      cutoff: '2025-12-31T00:00:00.000Z',
      noticeVersions: ['NOTICE-test@1'],
      subjectsIncluded: 1,
      recordsUsed: 1,
    });
    expect(att.excludedByReason).toEqual(Object.fromEntries(EXCLUSION_REASONS.map((r) => [r, r === 'withdrawn' || r === 'no-record' ? 1 : 0])));
    expect(att.consentRoot).toMatch(/^[0-9a-f]{64}$/);
    expect(parseAttestation(JSON.parse(JSON.stringify(att)))).toEqual(att);
  });
});

describe('encoding and digest', () => {
  it('is independent of JSON key order and changes with every field', () => {
    const att = sample();
    const reordered = parseAttestation(JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(att).reverse()))));
    expect(encodeAttestation(reordered)).toEqual(encodeAttestation(att));
    const digest = toHex(attestationDigest(att));
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const changes: ConsentAttestation[] = [
      { ...att, queryId: 'Q-2' },
      { ...att, merchantId: 'shop-02' },
      { ...att, purpose: 'churn-modelling', terms: { ...att.terms, purpose: 'churn-modelling' } },
      { ...att, cutoff: '2025-12-31T00:00:00.001Z' },
      { ...att, noticeVersions: ['NOTICE-test@2'] },
      { ...att, subjectsIncluded: 2, recordsUsed: 2 },
      { ...att, excludedByReason: { ...att.excludedByReason, expired: 1 } },
      { ...att, consentRoot: '00'.repeat(32) },
      { ...att, terms: { ...att.terms, minSubjects: 11 } },
      { ...att, terms: { ...att.terms, declared: { ...att.terms.declared, maxSaturation: 0.1 } } },
      { ...att, rowSet: null },
      { ...att, rowSet: { ...att.rowSet!, members: att.rowSet!.members.map((m, i) => (i === 0 ? '0000000000000001' : m)) } },
    ];
    const digests = new Set([digest, ...changes.map((c) => toHex(attestationDigest(c)))]);
    expect(digests.size).toBe(changes.length + 1);
  });
});

describe('parseAttestation rejects malformed input', () => {
  const good = (): Record<string, unknown> => JSON.parse(JSON.stringify(sample())) as Record<string, unknown>;

  it.each<[string, (a: Record<string, unknown>) => unknown, string]>([
    ['not an object', () => 'x', ''],
    ['wrong version', (a) => ({ ...a, version: 1 }), 'version'],
    ['terms of another purpose', (a) => ({ ...a, terms: { ...(a.terms as object), purpose: 'churn-modelling' } }), 'terms.purpose'],
    ['terms with dp block but exact mode', (a) => ({ ...a, terms: { ...(a.terms as object), declared: { ...((a.terms as Record<string, object>).declared), dp: { mechanism: 'discrete-gaussian', rhoPerQuery: 1, totalRho: 1, delta: null, confidence: null } } } }), 'terms'],
    ['row-set value beyond the modulus', (a) => ({ ...a, rowSet: { ...(a.rowSet as object), members: ((a.rowSet as { members: string[] }).members).map(() => 'ffffffffffffffff') } }), 'rowSet'],
    ['row-set with too few values', (a) => ({ ...a, rowSet: { ...(a.rowSet as object), members: ['0000000000000001'] } }), 'rowSet'],
    ['row-set with an odd size', (a) => ({ ...a, rowSet: { ...(a.rowSet as object), powers: 5 } }), 'rowSet'],
    ['unknown key', (a) => ({ ...a, extra: 1 }), ''],
    ['missing reason', (a) => ({ ...a, excludedByReason: { ...(a.excludedByReason as object), expired: undefined } }), 'excludedByReason.expired'],
    ['extra reason', (a) => ({ ...a, excludedByReason: { ...(a.excludedByReason as object), bored: 0 } }), 'excludedByReason'],
    ['negative count', (a) => ({ ...a, excludedByReason: { ...(a.excludedByReason as object), withdrawn: -1 } }), 'excludedByReason.withdrawn'],
    ['fractional count', (a) => ({ ...a, subjectsIncluded: 1.5, recordsUsed: 1.5 }), 'subjectsIncluded'],
    ['unsafe count', (a) => ({ ...a, subjectsIncluded: 2 ** 53, recordsUsed: 2 ** 53 }), 'subjectsIncluded'],
    ['string count', (a) => ({ ...a, recordsUsed: '1' }), 'recordsUsed'],
    ['records ≠ subjects', (a) => ({ ...a, recordsUsed: 2 }), 'recordsUsed'],
    ['unsorted notices', (a) => ({ ...a, noticeVersions: ['b@1', 'a@1'] }), 'noticeVersions.1'],
    ['duplicate notices', (a) => ({ ...a, noticeVersions: ['a@1', 'a@1'] }), 'noticeVersions.1'],
    ['notice without version', (a) => ({ ...a, noticeVersions: ['a'] }), 'noticeVersions.0'],
    ['no notice for included subjects', (a) => ({ ...a, noticeVersions: [] }), 'noticeVersions'],
    ['non-canonical cutoff', (a) => ({ ...a, cutoff: '2025-12-31T00:00:00Z' }), 'cutoff'],
    ['offset cutoff', (a) => ({ ...a, cutoff: '2025-12-31T08:00:00.000+08:00' }), 'cutoff'],
    ['upper-case root', (a) => ({ ...a, consentRoot: (a.consentRoot as string).toUpperCase() }), 'consentRoot'],
    ['short root', (a) => ({ ...a, consentRoot: 'ab' }), 'consentRoot'],
    ['empty query id', (a) => ({ ...a, queryId: '' }), 'queryId'],
  ])('%s', (_name, mutate, field) => {
    const e = errorOf(() => parseAttestation(mutate(good())));
    expect(e.code).toBe('ATTESTATION_INVALID');
    if (field !== '') expect(e.field).toBe(field);
  });

  it('never accepts a random mutation of one field that breaks its type (property)', () => {
    const keys = Object.keys(good());
    const junk = fc.oneof(fc.constant(null), fc.double(), fc.string(), fc.boolean(), fc.array(fc.integer()), fc.object(), fc.integer({ min: -1000, max: -1 }));
    fc.assert(
      fc.property(fc.constantFrom(...keys), junk, (key, value) => {
        const a = good();
        a[key] = value;
        let parsed: ConsentAttestation | undefined;
        try {
          parsed = parseAttestation(a);
        } catch (e) {
          expect(e).toBeInstanceOf(AttestationError);
          expect((e as AttestationError).code).toBe('ATTESTATION_INVALID');
          return;
        }
        // Only values that are genuinely valid get through, and they round-trip.
        expect(parseAttestation(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts any well-formed attestation (property)', () => {
    const count = fc.integer({ min: 0, max: 1_000_000 });
    fc.assert(
      fc.property(count, fc.array(count, { minLength: EXCLUSION_REASONS.length, maxLength: EXCLUSION_REASONS.length }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (n, ex, root) => {
        const att = {
          ...sample(),
          subjectsIncluded: n,
          recordsUsed: n,
          excludedByReason: Object.fromEntries(EXCLUSION_REASONS.map((r, i) => [r, ex[i]])),
          consentRoot: Buffer.from(root).toString('hex'),
        };
        expect(parseAttestation(att)).toEqual(att);
      }),
    );
  });
});

describe('checkAttestation', () => {
  const round = { queryId: 'Q-1', merchantId: 'shop-01', purpose: 'marketing-analytics', cutoff: CUTOFF };

  it('accepts the attestation of the round (cutoff as Date or any ISO spelling)', () => {
    expect(() => checkAttestation(sample(), round)).not.toThrow();
    expect(() => checkAttestation(sample(), { ...round, cutoff: '2025-12-31T08:00:00+08:00' })).not.toThrow();
  });

  it.each([
    ['queryId', { queryId: 'Q-2' }],
    ['merchantId', { merchantId: 'shop-02' }],
    ['purpose', { purpose: 'churn-modelling' }],
    ['cutoff', { cutoff: new Date(CUTOFF.getTime() + 1) }],
  ] as const)('refuses a different %s', (field, patch) => {
    const e = errorOf(() => checkAttestation(sample(), { ...round, ...patch }));
    expect(e.code).toBe('ATTESTATION_MISMATCH');
    expect(e.field).toBe(field);
    expect(e.message).toContain(field);
  });

  it('refuses a malformed attestation as invalid', () => {
    expect(errorOf(() => checkAttestation({ ...sample(), recordsUsed: -1 }, round)).code).toBe('ATTESTATION_INVALID');
  });
});
