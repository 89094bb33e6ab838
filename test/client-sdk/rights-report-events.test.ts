/**
 * What a merchant node reports of its rights requests: days only, a pending
 * request once while pending and again when handled, an opaque reference
 * that is the same for both reports and reveals neither the request id nor a
 * customer pseudonym, and a signed statement that older reports still match.
 */
import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady, generateSigningKeyPair, signDigest, verifyDigest } from '../../crypto/index.js';
import type { RightsRequest } from '../../compliance/index.js';
import { rightsReportDigest } from '../../protos/index.js';
import { reportedKey, rightsReportEvents, rightsRequestRef } from '../../client-sdk/rights-report-events.js';

const KEY = new Uint8Array(32).fill(9);
const day = (s: string) => BigInt(Date.parse(`${s}T00:00:00.000Z`));

const PENDING: RightsRequest = { requestId: 'RR-1', customerId: 'C-1', type: 'access', receivedAt: '2025-05-03T22:10:00Z' };
const HANDLED: RightsRequest = { requestId: 'RR-2', customerId: 'C-2', type: 'deletion', receivedAt: '2025-05-01T08:00:00Z', handledAt: '2025-05-09T17:30:00Z' };

beforeAll(async () => {
  await cryptoReady();
});

describe('rights report events', () => {
  it('report days and status, never a time of day, the request id or the customer', () => {
    const { events, keys } = rightsReportEvents([PENDING, HANDLED], new Set(), KEY);
    expect(keys).toEqual(['RR-1#pending', 'RR-2']);
    expect(events.map((e) => ({ ...e, requestRef: e.requestRef.toString('hex') }))).toEqual([
      { type: 'access', handledUnixMs: day('2025-05-03'), receivedUnixMs: day('2025-05-03'), pending: true, requestRef: rightsRequestRef(KEY, 'RR-1').toString('hex') },
      { type: 'deletion', handledUnixMs: day('2025-05-09'), receivedUnixMs: day('2025-05-01'), pending: false, requestRef: rightsRequestRef(KEY, 'RR-2').toString('hex') },
    ]);
    const text = JSON.stringify(events, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const secret of ['RR-1', 'RR-2', 'C-1', 'C-2']) expect(text).not.toContain(secret);
  });

  it('report a pending request again once handled, with the same reference, and nothing twice', () => {
    const first = rightsReportEvents([PENDING], new Set(), KEY);
    const reported = new Set(first.keys);
    expect(rightsReportEvents([PENDING], reported, KEY).events).toEqual([]);
    const handled = { ...PENDING, handledAt: '2025-05-06T09:00:00Z' };
    const second = rightsReportEvents([handled], reported, KEY);
    expect(second.keys).toEqual(['RR-1']);
    expect(second.events[0]).toMatchObject({ pending: false, receivedUnixMs: day('2025-05-03'), handledUnixMs: day('2025-05-06') });
    expect(second.events[0]!.requestRef.equals(first.events[0]!.requestRef)).toBe(true);
    // A request reported by an older node (bare id in the state file) is not reported again.
    expect(rightsReportEvents([handled], new Set(['RR-1']), KEY).events).toEqual([]);
    expect(reportedKey(handled)).toBe('RR-1');
  });

  it('derive a reference of 16 bytes under the shop key that differs from the customer pseudonym HMAC and between shops', () => {
    const ref = rightsRequestRef(KEY, 'RR-1');
    expect(ref).toHaveLength(16);
    expect(ref.toString('hex')).not.toBe(createHmac('sha256', KEY).update('RR-1', 'utf8').digest('hex').slice(0, 32));
    expect(rightsRequestRef(new Uint8Array(32).fill(8), 'RR-1').equals(ref)).toBe(false);
  });

  it('sign the new fields, and state an event without them as before', () => {
    const key = generateSigningKeyPair();
    const { events } = rightsReportEvents([HANDLED], new Set(), KEY);
    const report = { merchantId: 'shop-01', events, createdUnixMs: 1n, nonce: Buffer.alloc(16, 1) };
    const sig = signDigest(rightsReportDigest(report), key.secretKey);
    expect(verifyDigest(sig, rightsReportDigest(report), key.publicKey)).toBe(true);
    const altered = { ...report, events: [{ ...events[0]!, receivedUnixMs: day('2025-05-08') }] };
    expect(verifyDigest(sig, rightsReportDigest(altered), key.publicKey)).toBe(false);
    const old = { ...report, events: [{ type: 'deletion', handledUnixMs: day('2025-05-09') }] };
    const zeroed = { ...report, events: [{ type: 'deletion', handledUnixMs: day('2025-05-09'), receivedUnixMs: 0n, pending: false, requestRef: Buffer.alloc(0) }] };
    expect(rightsReportDigest(zeroed)).toEqual(rightsReportDigest(old));
  });
});
