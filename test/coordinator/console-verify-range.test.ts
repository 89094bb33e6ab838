/**
 * The console's bundle verifier holds a bundle to the range the officer asked
 * for, as `verifyAuditBundle`'s expectRange does: a bundle whose proven range
 * does not cover it fails at `range`, and the days picked on the reports page
 * ask for a `to` only once the last day has ended.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady } from '../../crypto/index.js';
import { deriveSections, exportAuditBundle, type AuditBundle } from '../../compliance/index.js';
import { parseAuditEntry } from '../../compliance/audit-events.js';
import { signAuditBundle } from '../../compliance/audit-bundle.js';
import { expectedRangeOfDays, verifyBundle } from '../../coordinator/console/verify.js';
import { scenarioEvents, scenarioLog, scenarioRegisters } from '../compliance/audit-fixtures.js';

/** Entries 8..12, range minute 8 .. minute 12 + 30 s, neighbours 7 and 13. */
let part: AuditBundle;
/** From minute 20 to the latest entry (asked up to 2100), no entry after it. */
let tail: AuditBundle;
let secretKey: Uint8Array;
const PART_FROM = '2025-05-01T00:08:00.000Z';
const PART_TO = '2025-05-01T00:12:30.000Z';

beforeAll(async () => {
  await cryptoReady();
  const { log, keyPair } = await scenarioLog();
  secretKey = keyPair.secretKey;
  part = await exportAuditBundle(log, { from: PART_FROM, to: PART_TO, registers: scenarioRegisters(), keyPair });
  tail = await exportAuditBundle(log, { from: '2025-05-01T00:20:00.000Z', to: '2100-01-01T00:00:00.000Z', registers: scenarioRegisters(), keyPair });
});

async function within(b: unknown, expectRange: { from?: string; to?: string } | null): Promise<[string, string]> {
  const v = await verifyBundle(b, { pinnedKeyHex: part.publicKey, expectRange });
  return v.ok ? ['ok', ''] : [v.firstBroken!, v.reason!];
}

describe('console verifyBundle expectRange', () => {
  it('covering and equal ranges verify', async () => {
    expect(part.range).toMatchObject({ from: PART_FROM, to: PART_TO });
    expect(await within(part, null)).toEqual(['ok', '']);
    expect(await within(part, { from: PART_FROM, to: PART_TO })).toEqual(['ok', '']);
    expect(await within(part, { from: '2025-05-01T00:09:00.000Z', to: '2025-05-01T00:12:00.000Z' })).toEqual(['ok', '']);
    expect(await within(part, { from: PART_FROM })).toEqual(['ok', '']);
  });

  it('an earlier from or a later to fails at range with the messages of the command-line verifier', async () => {
    expect(await within(part, { from: '2025-05-01T00:07:59.999Z', to: PART_TO })).toEqual([
      'range',
      'the bundle proves 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.000Z complete, not the requested 2025-05-01T00:07:59.999Z .. 2025-05-01T00:12:30.000Z: it starts after the requested from, so entries stamped from 2025-05-01T00:07:59.999Z up to 2025-05-01T00:08:00.000Z are not shown; export the range again from 2025-05-01T00:07:59.999Z',
    ]);
    expect(await within(part, { to: '2025-05-01T00:12:30.001Z' })).toEqual([
      'range',
      'the bundle proves 2025-05-01T00:08:00.000Z .. 2025-05-01T00:12:30.000Z complete, not the requested … .. 2025-05-01T00:12:30.001Z: it ends before the requested to, so entries stamped after 2025-05-01T00:12:30.000Z up to 2025-05-01T00:12:30.001Z are not shown; export the range again up to 2025-05-01T00:12:30.001Z',
    ]);
    const n = scenarioEvents().length;
    const last = new Date(Date.parse('2025-05-01T00:00:00.000Z') + (n - 1) * 60_000).toISOString();
    expect(await within(tail, { from: '2025-05-01T00:20:00.000Z', to: last })).toEqual(['ok', '']);
    const [where, why] = await within(tail, { from: '2025-05-01T00:20:00.000Z', to: '2025-06-01T23:59:59.999Z' });
    expect(where).toBe('range');
    expect(why).toContain(`an export ends a range that reaches past the latest entry at that entry (here the checkpoint's last, seq ${n - 1}, stamped ${last})`);
    expect(await within(part, { from: 'yesterday' })).toEqual(['range', 'the requested range is not a valid time range']);
  });

  it('a bundle re-signed by the audit key for a narrower range fails when the wider range is asked for', async () => {
    const { signature: _s, ...unsigned } = JSON.parse(JSON.stringify(part)) as AuditBundle;
    const entries = unsigned.entries.filter((e) => e.seq <= 11);
    const narrowed = { ...unsigned, range: { ...unsigned.range, to: '2025-05-01T00:11:30.000Z', lastSeq: 11 }, entries, neighbours: { ...unsigned.neighbours, after: part.entries.find((e) => e.seq === 12)! } };
    const shorter = signAuditBundle({ ...narrowed, sections: deriveSections(entries.map((e) => parseAuditEntry(e.entry)), narrowed.registers) }, secretKey);
    expect(await within(shorter, null)).toEqual(['ok', '']);
    const [where, why] = await within(shorter, { from: PART_FROM, to: PART_TO });
    expect(where).toBe('range');
    expect(why).toMatch(/^the bundle proves 2025-05-01T00:08:00\.000Z \.\. 2025-05-01T00:11:30\.000Z complete, .*: it ends before the requested to, /);
  });
});

describe('expectedRangeOfDays', () => {
  it('asks for the whole days picked, and for no end while the last day runs', () => {
    const noon = Date.parse('2025-05-20T12:00:00.000Z');
    expect(expectedRangeOfDays('2025-05-01', '2025-05-19', noon)).toEqual({ from: '2025-05-01T00:00:00.000Z', to: '2025-05-19T23:59:59.999Z' });
    expect(expectedRangeOfDays('2025-05-01', '2025-05-20', noon)).toEqual({ from: '2025-05-01T00:00:00.000Z' });
    expect(expectedRangeOfDays('2025-05-01', '2025-05-21', noon)).toEqual({ from: '2025-05-01T00:00:00.000Z' });
    expect(expectedRangeOfDays('2025-05-01', '2025-05-19', Date.parse('2025-05-20T00:00:00.000Z'))).toEqual({ from: '2025-05-01T00:00:00.000Z', to: '2025-05-19T23:59:59.999Z' });
  });
});
