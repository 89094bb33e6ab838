import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rootFromLeafHashes, leafHash, EMPTY_TREE_ROOT } from '../../compliance/merkle.js';
import { ConsentLedger, ConsentLedgerError, ConsentRecordError, RightsRequestError, type ConsentRecord } from '../../compliance/consent.js';
import { EXCLUSION_REASONS } from '../../compliance/consent-evaluate.js';
import { encodeConsentRecord } from '../../compliance/consent-record.js';
import { CUTOFF, MARKETING, REPORTING, ev, hex, record } from './consent-fixtures.js';

/** A ledger of 10 customers covering every reason the ledger can see. */
function mixedLedger(): ConsentLedger {
  const l = new ConsentLedger();
  l.add('c0', record(0));
  l.add('c1', record(1));
  l.add('c2', record(2, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2025-03-01T00:00:00Z')] }));
  l.add('c3', record(3, { expiresAt: '2025-06-01T00:00:00Z' }));
  l.add('c4', record(4, { personalisedMarketingOptOut: true }));
  l.add('c5', record(5, { purposes: [record(5).purposes[1]!] }));
  l.add('c6', record(6, { separateConsent: false, purposes: [{ ...record(6).purposes[0]!, sensitive: true }] }));
  l.add('c7', record(7, { notice: { id: 'NOTICE-test', version: '2', hash: hex(0xdef) } }));
  l.add('c8', record(8));
  l.applyRightsRequest({ requestId: 'R-1', customerId: 'c8', type: 'deletion', receivedAt: '2025-05-01T00:00:00Z' });
  // c9 has no record
  return l;
}
const ALL = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'];

describe('ConsentLedger.filterForRound', () => {
  it('counts every customer asked exactly once, per reason', () => {
    const f = mixedLedger().filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ALL });
    expect([...f.includedCustomerIds].sort()).toEqual(['c0', 'c1', 'c7']);
    expect(f.excludedByReason).toEqual({
      'rights-request': 1,
      'no-record': 1,
      withdrawn: 1,
      expired: 1,
      'not-for-purpose': 1,
      'sensitive-without-separate-consent': 1,
      'opted-out-personalised-marketing': 1,
    });
    expect(Object.keys(f.excludedByReason).sort()).toEqual([...EXCLUSION_REASONS].sort());
    expect(f.recordsUsed.map((r) => r.recordId)).toEqual(['CR-000000', 'CR-000001', 'CR-000007']);
    expect(f.noticeVersions).toEqual(['NOTICE-test@1', 'NOTICE-test@2']);
  });

  it('included + Σ excluded = customers asked, for any subset (property)', () => {
    const ledger = mixedLedger();
    fc.assert(
      fc.property(fc.subarray(ALL), fc.constantFrom(MARKETING, REPORTING), fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2027, 0, 1) }), (ids, purpose, t) => {
        const f = ledger.filterForRound({ purpose, cutoff: new Date(t), customerIds: ids });
        const excluded = EXCLUSION_REASONS.reduce((s, r) => s + f.excludedByReason[r], 0);
        expect(f.includedCustomerIds.size + excluded).toBe(ids.length);
        expect(f.recordsUsed.length).toBe(f.includedCustomerIds.size);
        for (const id of f.includedCustomerIds) expect(ids).toContain(id);
      }),
    );
  });

  it('the consent root is the RFC 6962 root over the used records sorted by recordId', () => {
    const f = mixedLedger().filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ['c7', 'c1', 'c0'] });
    const expected = rootFromLeafHashes([record(0), record(1), f.recordsUsed[2]!].map((r) => leafHash(encodeConsentRecord(r))));
    expect(f.consentRoot).toEqual(expected);
    const none = mixedLedger().filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: [] });
    expect(none.consentRoot).toEqual(EMPTY_TREE_ROOT);
    // Order of the customers asked does not matter.
    const again = mixedLedger().filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ['c0', 'c1', 'c7'] });
    expect(again.consentRoot).toEqual(f.consentRoot);
  });

  it('the root changes when a used record changes, and not when an unused one does', () => {
    const variants: Array<(r: ConsentRecord) => ConsentRecord> = [
      (r) => ({ ...r, controller: `${r.controller} (renamed)` }),
      (r) => ({ ...r, notice: { ...r.notice, hash: hex(0x1234) } }),
      (r) => ({ ...r, channel: 'web' }),
      (r) => ({ ...r, events: [...r.events, ev('modified', '2025-09-01T00:00:00Z')] }),
      (r) => ({ ...r, expiresAt: '2030-01-01T00:00:00Z' }),
      (r) => ({ ...r, purposes: r.purposes.map((p) => ({ ...p, retentionDays: p.retentionDays + 1 })) }),
      (r) => ({ ...r, subjectPseudonym: hex(999) }),
    ];
    const rootWith = (change: ((r: ConsentRecord) => ConsentRecord) | undefined, who: 'c1' | 'c2'): string => {
      const l = new ConsentLedger();
      l.add('c0', record(0));
      const c1 = record(1);
      const c2 = record(2, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2025-03-01T00:00:00Z')] });
      l.add('c1', who === 'c1' && change ? change(c1) : c1);
      l.add('c2', who === 'c2' && change ? change(c2) : c2);
      return Buffer.from(l.filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ['c0', 'c1', 'c2'] }).consentRoot).toString('hex');
    };
    const baseline = rootWith(undefined, 'c1');
    for (const change of variants) {
      expect(rootWith(change, 'c1')).not.toBe(baseline);
      // c2 withdrew, so it is not used; changing it (but keeping it withdrawn) leaves the root alone.
      expect(rootWith(change, 'c2')).toBe(baseline);
    }
  });

  it('refuses a customer listed twice and bad arguments', () => {
    const l = mixedLedger();
    expect(() => l.filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ['c0', 'c0'] })).toThrow(/customerIds.*twice/);
    expect(() => l.filterForRound({ purpose: MARKETING, cutoff: new Date('x'), customerIds: [] })).toThrow(/cutoff/);
    expect(() => l.filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: 5 as unknown as string[] })).toThrow(TypeError);
  });
});

describe('ConsentLedger records', () => {
  it('refuses duplicate customers, record ids and pseudonyms', () => {
    const l = new ConsentLedger([['a', record(1)]]);
    const codeOf = (fn: () => void): string | undefined => {
      try {
        fn();
      } catch (e) {
        return e instanceof ConsentLedgerError ? e.code : String(e);
      }
      return undefined;
    };
    expect(codeOf(() => l.add('a', record(2)))).toBe('DUPLICATE_CUSTOMER');
    expect(codeOf(() => l.add('b', record(1, { subjectPseudonym: hex(77) })))).toBe('DUPLICATE_RECORD');
    expect(codeOf(() => l.add('b', record(2, { subjectPseudonym: record(1).subjectPseudonym })))).toBe('DUPLICATE_PSEUDONYM');
    expect(l.size).toBe(1);
    expect(l.customerIds()).toEqual(['a']);
  });

  it('validates records and keeps them frozen', () => {
    const l = new ConsentLedger();
    const unordered = record(3, { events: [ev('withdrawn', '2025-03-01T00:00:00Z'), ev('given', '2025-01-10T00:00:00Z')] });
    expect(() => l.add('b', unordered)).toThrow(ConsentRecordError);
    expect(() => l.add('b', { ...record(3), channel: 'fax' } as unknown as ConsentRecord)).toThrow(/channel/);
    l.add('c', record(4));
    const held = l.get('c')!;
    expect(Object.isFrozen(held) && Object.isFrozen(held.events) && Object.isFrozen(held.events[0])).toBe(true);
  });
});

describe('rights requests on the ledger', () => {
  it('withdrawal appends a withdrawn event in time order, effective from receipt', () => {
    const l = new ConsentLedger([['a', record(1, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('modified', '2025-09-01T00:00:00Z')] })]]);
    const before = l.get('a')!;
    const out = l.applyRightsRequest({ requestId: 'R-1', customerId: 'a', type: 'withdrawal', receivedAt: '2025-06-01T00:00:00Z' }, { handledAt: new Date('2025-06-03T00:00:00Z') });
    expect(out).toEqual({ requestId: 'R-1', effect: 'withdrawn' });
    expect(l.get('a')!.events.map((e) => e.type)).toEqual(['given', 'withdrawn', 'modified']);
    expect(before.events).toHaveLength(2); // earlier values are not mutated
    expect(l.evaluate('a', MARKETING, new Date('2025-05-31T00:00:00Z')).included).toBe(true);
    expect(l.evaluate('a', MARKETING, CUTOFF)).toEqual({ included: false, reason: 'withdrawn' });
    expect(l.requestsOf('a')[0]!.handledAt).toBe('2025-06-03T00:00:00.000Z');
  });

  it('marketing opt-out sets the flag for every later evaluation', () => {
    const l = new ConsentLedger([['a', record(1)]]);
    l.applyRightsRequest({ requestId: 'R-2', customerId: 'a', type: 'marketing-opt-out', receivedAt: '2025-06-01T00:00:00Z' });
    expect(l.get('a')!.personalisedMarketingOptOut).toBe(true);
    expect(l.evaluate('a', MARKETING, CUTOFF)).toEqual({ included: false, reason: 'opted-out-personalised-marketing' });
    expect(l.evaluate('a', { ...REPORTING, name: 'marketing-analytics' }, CUTOFF).included).toBe(true);
  });

  it('deletion erases the record and excludes the subject from every later round', () => {
    const l = new ConsentLedger([['a', record(1)]]);
    expect(l.applyRightsRequest({ requestId: 'R-3', customerId: 'a', type: 'deletion', receivedAt: '2025-06-01T00:00:00Z' }).effect).toBe('erased');
    expect(l.get('a')).toBeUndefined();
    expect(l.isErased('a')).toBe(true);
    for (const cutoff of [new Date('2025-03-01T00:00:00Z'), CUTOFF]) {
      expect(l.evaluate('a', MARKETING, cutoff)).toEqual({ included: false, reason: 'rights-request' });
    }
    expect(() => l.add('a', record(1))).toThrow(ConsentLedgerError);
    // Deletion of a subject without a record is still honoured.
    l.applyRightsRequest({ requestId: 'R-4', customerId: 'z', type: 'deletion', receivedAt: '2025-06-01T00:00:00Z' });
    expect(l.filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ['z'] }).excludedByReason['rights-request']).toBe(1);
  });

  it('access and correction change nothing; repeats are no-ops; conflicting ids are refused', () => {
    const l = new ConsentLedger([['a', record(1)]]);
    const req = { requestId: 'R-5', customerId: 'a', type: 'access', receivedAt: '2025-06-01T00:00:00Z' } as const;
    expect(l.applyRightsRequest(req).effect).toBe('logged');
    expect(l.applyRightsRequest({ ...req, requestId: 'R-6', type: 'correction' }).effect).toBe('logged');
    expect(l.get('a')).toEqual(record(1));
    expect(l.applyRightsRequest(req).effect).toBe('duplicate');
    expect(() => l.applyRightsRequest({ ...req, type: 'deletion' })).toThrow(RightsRequestError);
    expect(l.applyRightsRequest({ ...req, requestId: 'R-7', customerId: 'nobody', type: 'withdrawal' }).effect).toBe('no-record');
  });
});
