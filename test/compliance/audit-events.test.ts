import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AUDIT_EVENT_TYPES, AuditEntryError, parseAuditEntry, serializeAuditEntry, validateAuditEntry, validateAuditEvent } from '../../compliance/audit-events.js';
import type { AuditEntry, AuditEvent } from '../../compliance/audit.js';
import { d, scenarioEvents } from './audit-fixtures.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuditEntryError) return `${e.code}@${e.path}`;
    throw e;
  }
  return 'accepted';
}

const entryOf = (event: AuditEvent, seq = 0, time = '2025-05-01T00:00:00.000Z'): AuditEntry =>
  ({ seq, time, ...event });

describe('audit event catalogue', () => {
  it('names the twenty event types', () => {
    expect([...AUDIT_EVENT_TYPES].sort()).toEqual(
      [
        'merchant.enrolled',
        'merchant.key-rotated',
        'merchant.revoked',
        'purpose.registered',
        'pia.recorded',
        'query.created',
        'contribution.accepted',
        'contribution.rejected',
        'threshold.suppressed',
        'query.failed',
        'fit.failed',
        'release.stored',
        'export.created',
        'rights.request',
        'config.changed',
        'auth.failed',
        'retention.deleted',
        'model.stored',
        'round.incomplete',
        'round.retried',
      ].sort(),
    );
  });

  it('accepts every scenario event and covers every type', () => {
    const events = scenarioEvents();
    for (const e of events) expect(validateAuditEvent(e)).toEqual(e);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(AUDIT_EVENT_TYPES));
  });

  it('rejects unknown types, unknown keys and missing fields, naming the path', () => {
    expect(code(() => validateAuditEvent({ type: 'user.profiled', actor: 'x', details: {} }))).toBe('UNKNOWN_TYPE@type');
    expect(code(() => validateAuditEvent({ type: 'toString', actor: 'x', details: {} }))).toBe('UNKNOWN_TYPE@type');
    expect(
      code(() => validateAuditEvent({ type: 'merchant.enrolled', actor: 'x', details: { merchantId: 'shop-1', keyDigest: d('k'), note: 'hi' } })),
    ).toMatch(/^INVALID_ENTRY@details/);
    expect(code(() => validateAuditEvent({ type: 'merchant.enrolled', actor: 'x', details: { merchantId: 'shop-1' } }))).toBe(
      'INVALID_ENTRY@details.keyDigest',
    );
    expect(code(() => validateAuditEvent({ type: 'merchant.enrolled', actor: 'x', details: { merchantId: 'shop-1', keyDigest: d('k') }, extra: 1 }))).toMatch(
      /^INVALID_ENTRY/,
    );
  });

  it('keeps personal data out: no e-mail, spaces or free text in ids, actors and reason codes', () => {
    const base = scenarioEvents().find((e) => e.type === 'contribution.rejected')!;
    const bad: unknown[] = [
      { ...base, actor: 'alice@example.com' },
      { ...base, actor: 'Zhang San' },
      { ...base, details: { ...base.details, reason: 'customer 张三 phone 13800138000 complained' } },
      { ...base, details: { ...base.details, merchantId: 'shop 1' } },
      { type: 'rights.request', actor: 'x', details: { shopId: 's', requestType: 'deletion', day: '2025-05-01', name: '张三' } },
      { type: 'rights.request', actor: 'x', details: { shopId: 's', requestType: 'deletion', day: '2025-05-01T10:11:12.000Z' } },
      { type: 'auth.failed', actor: 'x', details: { surface: 'http', route: '/v1', reason: 'BAD_TOKEN', ip: '10.0.0.1' } },
    ];
    for (const b of bad) expect(code(() => validateAuditEvent(b))).toMatch(/^INVALID_ENTRY/);
  });

  it('validates dates, times, digests and counts strictly', () => {
    const pia = scenarioEvents().find((e) => e.type === 'pia.recorded')!;
    for (const details of [
      { ...pia.details, assessedAt: '2025-02-30T00:00:00.000Z' },
      { ...pia.details, assessedAt: '2025-05-01' },
      { ...pia.details, retainUntil: '2028-05-01T00:00:00Z' },
      { ...pia.details, documentDigest: d('x').toUpperCase() },
      { ...pia.details, documentDigest: d('x').slice(2) },
    ]) {
      expect(code(() => validateAuditEvent({ ...pia, details }))).toMatch(/^INVALID_ENTRY@details\./);
    }
    const acc = scenarioEvents().find((e) => e.type === 'contribution.accepted')!;
    for (const details of [
      { ...acc.details, subjectsIncluded: -1 },
      { ...acc.details, subjectsIncluded: 1.5 },
      { ...acc.details, excludedByReason: { 'no consent': 1 } },
      { ...acc.details, excludedByReason: { withdrawn: -1 } },
      { ...acc.details, attestationDigest: undefined },
    ]) {
      expect(code(() => validateAuditEvent({ ...acc, details }))).toMatch(/^INVALID_ENTRY@details\./);
    }
    expect(code(() => validateAuditEntry({ ...entryOf(acc), time: '2025-05-01T00:00:00Z' }))).toBe('INVALID_ENTRY@time');
    expect(code(() => validateAuditEntry({ ...entryOf(acc), time: '2025-13-01T00:00:00.000Z' }))).toBe('INVALID_ENTRY@time');
    expect(code(() => validateAuditEntry({ ...entryOf(acc), seq: -1 }))).toBe('INVALID_ENTRY@seq');
  });
});

describe('canonical entry text', () => {
  it('serializes with sorted keys and parses back only that exact text', () => {
    const entry = entryOf(scenarioEvents()[0]!, 5);
    const text = serializeAuditEntry(entry);
    expect(text.startsWith('{"actor":"coordinator","details":{"allowedFields":')).toBe(true);
    expect(parseAuditEntry(text)).toEqual(entry);
    expect(code(() => parseAuditEntry(JSON.stringify(entry)))).toBe('NOT_CANONICAL@');
    expect(code(() => parseAuditEntry(text.replace('"seq":5', '"seq":5.0')))).toBe('NOT_CANONICAL@');
    expect(code(() => parseAuditEntry(text.replace('"seq":5', '"seq": 5')))).toBe('NOT_CANONICAL@');
    expect(code(() => parseAuditEntry(`${text} `))).toBe('NOT_CANONICAL@');
    expect(code(() => parseAuditEntry(text.slice(0, -1)))).toBe('INVALID_JSON@');
  });

  it('round-trips every scenario event at any seq and time (property)', () => {
    const events = scenarioEvents();
    fc.assert(
      fc.property(
        fc.nat({ max: events.length - 1 }),
        fc.maxSafeNat(),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }),
        (i, seq, date) => {
          const entry = entryOf(events[i]!, seq, date.toISOString());
          const text = serializeAuditEntry(entry);
          expect(parseAuditEntry(text)).toEqual(entry);
          expect(serializeAuditEntry(parseAuditEntry(text))).toBe(text);
        },
      ),
      { numRuns: 200 },
    );
  });
});
