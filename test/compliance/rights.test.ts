import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConsentLedger,
  RIGHTS_REQUEST_TYPES,
  RightsRequestError,
  parseRightsRequest,
  rightsEventForCoordinator,
  type RightsRequest,
  type RoundReceipt,
} from '../../compliance/consent.js';
import { CHURN, MARKETING, ev, record } from './consent-fixtures.js';

const req = (patch: Partial<RightsRequest> = {}): RightsRequest => ({
  requestId: 'RR-1',
  customerId: 'C-01-000042',
  type: 'access',
  receivedAt: '2025-06-01T10:11:12Z',
  ...patch,
});

describe('parseRightsRequest', () => {
  it('accepts every type and refuses malformed requests naming the field', () => {
    for (const type of RIGHTS_REQUEST_TYPES) expect(parseRightsRequest(req({ type })).type).toBe(type);
    const bad = (json: unknown, field: RegExp): void => {
      let e: unknown;
      try {
        parseRightsRequest(json);
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(RightsRequestError);
      expect(e).toMatchObject({ code: 'RIGHTS_REQUEST_INVALID' });
      expect((e as Error).message).toMatch(field);
    };
    bad({ ...req(), type: 'erase' }, /^type/);
    bad({ ...req(), receivedAt: 'yesterday' }, /^receivedAt/);
    bad({ ...req(), handledAt: '2025-05-01T00:00:00Z' }, /^handledAt: .*before/);
    bad({ ...req(), customerId: '' }, /^customerId/);
    bad({ ...req(), name: '王芳' }, /name/);
  });
});

describe('rightsEventForCoordinator', () => {
  it('gives only the type and the UTC day, never the identity (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RIGHTS_REQUEST_TYPES),
        fc.stringMatching(/^[A-Za-z0-9-]{1,30}$/),
        fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }),
        (type, customerId, at) => {
          const e = rightsEventForCoordinator(req({ type, customerId, requestId: `RR-${customerId}`, receivedAt: at.toISOString() }));
          expect(Object.keys(e).sort()).toEqual(['at', 'type']);
          expect(e).toEqual({ type, at: at.toISOString().slice(0, 10) });
        },
      ),
    );
  });

  it('uses the handling day when handled', () => {
    expect(rightsEventForCoordinator(req({ handledAt: '2025-06-03T23:59:59Z' })).at).toBe('2025-06-03');
  });
});

describe('accessReport', () => {
  const receipts: RoundReceipt[] = [
    { queryId: 'Q-1', purpose: 'marketing-analytics', cutoff: '2025-07-01T00:00:00.000Z', recordIds: ['CR-000001', 'CR-000002'] },
    { queryId: 'Q-2', purpose: 'churn-modelling', cutoff: '2025-08-01T00:00:00.000Z', recordIds: ['CR-000002'] },
    { queryId: 'Q-3', purpose: 'marketing-analytics', cutoff: '2025-09-01T00:00:00.000Z', submittedAt: '2025-09-01T01:00:00.000Z', recordIds: ['CR-000001'] },
  ];

  it('lists the record, each purpose, the rounds used in aggregate and the requests', () => {
    const l = new ConsentLedger([
      ['a', record(1, { events: [ev('given', '2025-01-10T00:00:00Z'), ev('withdrawn', '2025-10-01T00:00:00Z', { purposes: ['churn-modelling'] })] })],
      ['b', record(2)],
    ]);
    l.applyRightsRequest(req({ requestId: 'RR-9', customerId: 'a', type: 'access', receivedAt: '2025-10-02T00:00:00Z' }), { handledAt: new Date('2025-10-03T00:00:00Z') });
    const r = l.accessReport('a', receipts, { purposes: [MARKETING, CHURN], at: new Date('2025-10-05T00:00:00Z') });
    expect(r.customerId).toBe('a');
    expect(r.record?.recordId).toBe('CR-000001');
    expect(r.erased).toBeUndefined();
    expect(r.purposes).toEqual([
      { purpose: 'marketing-analytics', decision: 'included' },
      { purpose: 'churn-modelling', decision: 'withdrawn' },
    ]);
    expect(r.rounds).toEqual([
      { queryId: 'Q-1', purpose: 'marketing-analytics', cutoff: '2025-07-01T00:00:00.000Z' },
      { queryId: 'Q-3', purpose: 'marketing-analytics', cutoff: '2025-09-01T00:00:00.000Z', submittedAt: '2025-09-01T01:00:00.000Z' },
    ]);
    expect(r.requests.map((q) => [q.requestId, q.handledAt])).toEqual([['RR-9', '2025-10-03T00:00:00.000Z']]);
    expect(r.generatedAt).toBe('2025-10-05T00:00:00.000Z');
    // Nothing about the other customer.
    expect(JSON.stringify(r)).not.toContain('CR-000002');
  });

  it('after deletion reports the erasure and the rounds before it, and no record', () => {
    const l = new ConsentLedger([['a', record(1)]]);
    l.applyRightsRequest(req({ requestId: 'RR-5', customerId: 'a', type: 'deletion', receivedAt: '2025-10-01T00:00:00Z', handledAt: '2025-10-02T00:00:00Z' }));
    const r = l.accessReport('a', receipts, { purposes: [MARKETING], at: new Date('2025-10-05T00:00:00Z') });
    expect(r.record).toBeUndefined();
    expect(r.erased).toEqual({ requestId: 'RR-5', at: '2025-10-02T00:00:00Z' });
    expect(r.purposes).toEqual([{ purpose: 'marketing-analytics', decision: 'rights-request' }]);
    expect(r.rounds.map((x) => x.queryId)).toEqual(['Q-1', 'Q-3']);
  });

  it('for an unknown subject says there is nothing', () => {
    const r = new ConsentLedger().accessReport('nobody', receipts, { purposes: [MARKETING], at: new Date('2025-10-05T00:00:00Z') });
    expect(r.record).toBeUndefined();
    expect(r.rounds).toEqual([]);
    expect(r.purposes).toEqual([{ purpose: 'marketing-analytics', decision: 'no-record' }]);
  });
});
