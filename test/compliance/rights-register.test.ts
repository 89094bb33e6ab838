/**
 * The rights-request register from `rights.request` entries: a request's
 * pending and handled reports become one row with its status and response
 * time, entries of older nodes stay rows of their own with no status, and a
 * late pending report never undoes a handled one. Expected rows are written
 * out from the requests the test makes, not computed by the code under test.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady, signingKeyPairFromSeed } from '../../crypto/index.js';
import { AuditLog, rightsRegister, type AuditEntry, type AuditEvent } from '../../compliance/audit.js';
import { InMemoryAuditStore } from '../../compliance/audit-store.js';

const ref = (n: number) => n.toString(16).padStart(32, '0');

function report(shopId: string, requestType: 'access' | 'deletion' | 'withdrawal', day: string, extra: { receivedDay?: string; status?: 'pending' | 'handled'; requestRef?: string } = {}): AuditEvent {
  return { type: 'rights.request', actor: shopId, details: { shopId, requestType, day, ...extra } };
}

let entries: AuditEntry[];

beforeAll(async () => {
  await cryptoReady();
  const log = new AuditLog({ store: new InMemoryAuditStore(), origin: 'fedmart.test/audit', keyName: 'fedmart.test/audit', keyPair: signingKeyPairFromSeed(new Uint8Array(32).fill(3)) });
  entries = [];
  for (const e of [
    report('shop-01', 'access', '2025-05-02'), // seq 0: an older node, status unknown
    report('shop-01', 'deletion', '2025-05-03', { receivedDay: '2025-05-03', status: 'pending', requestRef: ref(1) }), // 1
    report('shop-02', 'deletion', '2025-05-03', { receivedDay: '2025-05-03', status: 'pending', requestRef: ref(1) }), // 2: another shop, same ref bytes
    report('shop-01', 'withdrawal', '2025-05-04', { receivedDay: '2025-05-01', status: 'handled', requestRef: ref(2) }), // 3
    report('shop-01', 'deletion', '2025-05-12', { receivedDay: '2025-05-03', status: 'handled', requestRef: ref(1) }), // 4: request 1 handled
    report('shop-01', 'deletion', '2025-05-03', { receivedDay: '2025-05-03', status: 'pending', requestRef: ref(1) }), // 5: a late duplicate pending report
  ]) entries.push(await log.append(e));
});

describe('rights register', () => {
  it('keeps one row per request in its latest state, with the days from received to handled', () => {
    const r = rightsRegister(entries);
    expect(r.requests).toEqual([
      { seq: 0, shopId: 'shop-01', requestType: 'access', day: '2025-05-02', status: null, receivedDay: null, responseDays: null, reportSeqs: [0] },
      { seq: 2, shopId: 'shop-02', requestType: 'deletion', day: '2025-05-03', status: 'pending', receivedDay: '2025-05-03', responseDays: null, reportSeqs: [2] },
      { seq: 3, shopId: 'shop-01', requestType: 'withdrawal', day: '2025-05-04', status: 'handled', receivedDay: '2025-05-01', responseDays: 3, reportSeqs: [3] },
      { seq: 4, shopId: 'shop-01', requestType: 'deletion', day: '2025-05-12', status: 'handled', receivedDay: '2025-05-03', responseDays: 9, reportSeqs: [1, 4, 5] },
    ]);
    expect(r.total).toBe(4);
    expect(r.byType).toEqual({ access: 1, deletion: 2, withdrawal: 1 });
    expect(r.byStatus).toEqual({ pending: 1, handled: 2, unreported: 1 });
  });

  it('is empty without rights entries', () => {
    expect(rightsRegister([])).toEqual({ total: 0, byType: {}, byStatus: { pending: 0, handled: 0, unreported: 0 }, requests: [] });
  });
});
