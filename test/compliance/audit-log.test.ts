/**
 * The audit log over an in-memory store playing an honest, then a dishonest,
 * database; and proof checks against a server that forges proofs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cryptoReady, generateSigningKeyPair } from '../../crypto/index.js';
import { AuditLog, AuditLogError } from '../../compliance/audit.js';
import { AuditEntryError, parseAuditEntry } from '../../compliance/audit-events.js';
import { InMemoryAuditStore } from '../../compliance/audit-store.js';
import { leafHash } from '../../compliance/merkle.js';
import { parseCheckpoint, signCheckpoint, verifyCheckpoint } from '../../compliance/checkpoint.js';
import { verifyAuditConsistency, verifyAuditEntryProof } from '../../compliance/audit-proof.js';
import type { AuditEvent, StoredAuditEntry } from '../../compliance/audit.js';
import type { AuditLogKey } from '../../compliance/audit-proof.js';
import type { StoredLogReport } from '../../compliance/audit-log.js';
import { KEY_NAME, ORIGIN, START, logKeyPair, scenarioEvents, scenarioLog } from './audit-fixtures.js';

let KEY: AuditLogKey;

beforeAll(async () => {
  await cryptoReady();
  KEY = { keyName: KEY_NAME, publicKey: logKeyPair().publicKey, origin: ORIGIN };
});
const utf8 = new TextEncoder();

function rehash(row: StoredAuditEntry, entryJson: string, seq = row.seq): StoredAuditEntry {
  return { seq, entryJson, leafHash: leafHash(utf8.encode(entryJson)) };
}

function flipByte(text: string, i: number, delta: number): string {
  const bytes = utf8.encode(text);
  bytes[i]! ^= delta;
  return new TextDecoder().decode(bytes);
}

function bad(report: StoredLogReport): { seq: number; code: string } | 'ok' {
  return report.ok ? 'ok' : { seq: report.firstBadSeq, code: report.code };
}

describe('AuditLog: honest store', () => {
  it('assigns 0-based seq and clock time, stores the canonical text and its leaf hash', async () => {
    const { log, store } = await scenarioLog();
    const events = scenarioEvents();
    expect(await log.size()).toBe(events.length);
    const entries = await log.entries(0, events.length);
    entries.forEach((e, i) => {
      expect(e.seq).toBe(i);
      expect(e.time).toBe(new Date(START + i * 60_000).toISOString());
      expect({ type: e.type, actor: e.actor, details: e.details }).toEqual(events[i]);
      const row = store.rows[i]!;
      expect(parseAuditEntry(row.entryJson)).toEqual(e);
      expect(Buffer.from(row.leafHash).equals(Buffer.from(leafHash(utf8.encode(row.entryJson))))).toBe(true);
    });
    expect(bad(await log.verifyStoredLog())).toBe('ok');
  });

  it('refuses an invalid event and stores nothing', async () => {
    const { log } = await scenarioLog();
    const before = await log.size();
    await expect(log.append({ type: 'merchant.enrolled', actor: 'x', details: { merchantId: 'a b', keyDigest: '00' } })).rejects.toBeInstanceOf(
      AuditEntryError,
    );
    await expect(log.append({ type: 'no.such', actor: 'x', details: {} } as unknown as AuditEvent)).rejects.toThrow(/unknown audit event type/);
    expect(await log.size()).toBe(before);
  });

  it('rejects a mismatched key pair and a clock beyond year 9999 (nothing stored)', async () => {
    const store = new InMemoryAuditStore();
    const a = logKeyPair();
    const b = generateSigningKeyPair();
    expect(() => new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair: { publicKey: b.publicKey, secretKey: a.secretKey } })).toThrow(RangeError);
    expect(() => new AuditLog({ store, origin: ORIGIN, keyName: 'has space', keyPair: a })).toThrow(/keyName/);
    const log = new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair: a, clock: () => new Date(Date.UTC(10000, 0, 1)) });
    await expect(log.append(scenarioEvents()[0]!)).rejects.toBeInstanceOf(AuditEntryError);
    expect(store.rows).toHaveLength(0);
  });

  it('serialises concurrent appends into gap-free, unique seqs', async () => {
    const store = new InMemoryAuditStore();
    const log = new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair: logKeyPair() });
    const event = scenarioEvents()[0]!;
    const entries = await Promise.all(Array.from({ length: 50 }, () => log.append(event)));
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(bad(await log.verifyStoredLog())).toBe('ok');
  });

  it('stamps times that strictly increase with seq when the clock stands still, goes back or jumps ahead', async () => {
    const store = new InMemoryAuditStore();
    const t = (iso: string) => new Date(iso);
    const readings = [
      t('2025-05-01T10:00:00.000Z'),
      t('2025-05-01T10:00:00.000Z'), // same millisecond
      t('2025-05-01T10:00:00.000Z'),
      t('2025-05-01T09:00:00.000Z'), // clock set back an hour
      t('2025-05-01T10:00:05.000Z'), // ahead again
      t('2025-05-01T10:00:04.999Z'),
    ];
    let n = 0;
    const log = new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair: logKeyPair(), clock: () => readings[n++]! });
    const event = scenarioEvents()[0]!;
    for (let i = 0; i < readings.length; i++) await log.append(event);
    expect((await log.entries(0, readings.length)).map((e) => e.time)).toEqual([
      '2025-05-01T10:00:00.000Z',
      '2025-05-01T10:00:00.001Z',
      '2025-05-01T10:00:00.002Z',
      '2025-05-01T10:00:00.003Z',
      '2025-05-01T10:00:05.000Z',
      '2025-05-01T10:00:05.001Z',
    ]);
    // A second log instance over the same store (another coordinator) follows the stored entries, not its own clock.
    const other = new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair: logKeyPair(), clock: () => t('2025-04-30T00:00:00.000Z') });
    expect((await other.append(event)).time).toBe('2025-05-01T10:00:05.002Z');
    expect(bad(await log.verifyStoredLog())).toBe('ok');
  });

  it('keeps times strictly increasing under concurrent appends on the system clock', async () => {
    const store = new InMemoryAuditStore();
    const log = new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair: logKeyPair() });
    const entries = await Promise.all(Array.from({ length: 200 }, () => log.append(scenarioEvents()[0]!)));
    const bySeq = [...entries].sort((a, b) => a.seq - b.seq).map((e) => Date.parse(e.time));
    for (let i = 1; i < bySeq.length; i++) expect(bySeq[i]! - bySeq[i - 1]!).toBeGreaterThanOrEqual(1);
  });

  it('signs checkpoints that verify, and reuses the note when nothing was appended', async () => {
    const { log } = await scenarioLog();
    const note = await log.checkpoint();
    const cp = verifyCheckpoint(note, KEY_NAME, KEY.publicKey, { origin: ORIGIN });
    expect(cp.size).toBe(await log.size());
    expect(await log.checkpoint()).toBe(note);
    expect(await log.latestCheckpoint()).toBe(note);
    expect(await log.checkpointAt(cp.size)).toBe(note);
  });

  it('every entry has an inclusion proof against every later checkpoint, and checkpoints chain by consistency proofs', async () => {
    const { log, store } = await scenarioLog({ checkpointEvery: 4 });
    await log.checkpoint();
    const notes = (await store.checkpoints()).map((c) => c.note);
    expect(notes.length).toBeGreaterThan(3);
    for (const note of notes) {
      const { size } = parseCheckpoint(note);
      for (let seq = 0; seq < size; seq++) {
        const proof = await log.inclusionProof(seq, size);
        const r = verifyAuditEntryProof(store.rows[seq]!.entryJson, seq, proof, note, KEY);
        expect(r.ok, `seq ${seq} in size ${size}`).toBe(true);
      }
    }
    for (let i = 0; i < notes.length; i++) {
      for (let j = i; j < notes.length; j++) {
        const a = parseCheckpoint(notes[i]!).size;
        const b = parseCheckpoint(notes[j]!).size;
        expect(verifyAuditConsistency(notes[i]!, notes[j]!, await log.consistencyProof(a, b), KEY).ok).toBe(true);
      }
    }
    expect(bad(await log.verifyStoredLog())).toBe('ok');
  });

  it('rejects out-of-range proof requests', async () => {
    const { log } = await scenarioLog();
    const size = await log.size();
    await expect(log.inclusionProof(size)).rejects.toBeInstanceOf(AuditLogError);
    await expect(log.inclusionProof(0, size + 1)).rejects.toBeInstanceOf(AuditLogError);
    await expect(log.consistencyProof(3, 2)).rejects.toBeInstanceOf(AuditLogError);
    await expect(log.inclusionProof(-1)).rejects.toThrow(RangeError);
  });
});

describe('AuditLog: dishonest store', () => {
  it('detects every single-byte change of any stored entry text, at that seq', async () => {
    const { log, store } = await scenarioLog();
    await log.checkpoint();
    const original = store.rows.slice();
    let probes = 0;
    for (let seq = 0; seq < original.length; seq++) {
      const text = original[seq]!.entryJson;
      for (let i = 0; i < utf8.encode(text).length; i++) {
        store.rows[seq] = { ...original[seq]!, entryJson: flipByte(text, i, 0x01) };
        const report = await log.verifyStoredLog();
        expect(report.ok, `seq ${seq} byte ${i}`).toBe(false);
        expect(bad(report)).toMatchObject({ seq });
        probes++;
      }
      store.rows[seq] = original[seq]!;
    }
    expect(probes).toBeGreaterThan(3000);
    expect(bad(await log.verifyStoredLog())).toBe('ok');
  });

  it('detects a change whose leaf hash was recomputed too, through the signed checkpoint (property)', async () => {
    const { log, store } = await scenarioLog();
    await log.checkpoint();
    const original = store.rows.slice();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: original.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (seq, pos, delta) => {
        const text = original[seq]!.entryJson;
        const i = pos % utf8.encode(text).length;
        store.rows[seq] = rehash(original[seq]!, flipByte(text, i, delta));
        try {
          const report = await log.verifyStoredLog();
          expect(report.ok).toBe(false);
          if (!report.ok) expect(report.firstBadSeq).toBeLessThanOrEqual(seq);
        } finally {
          store.rows[seq] = original[seq]!;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('detects a semantically valid rewrite with recomputed hashes (e.g. lowering a consent count)', async () => {
    const { log, store } = await scenarioLog();
    await log.checkpoint();
    const seq = store.rows.findIndex((r) => r.entryJson.includes('"withdrawn":2'));
    const forged = store.rows[seq]!.entryJson.replace('"withdrawn":2', '"withdrawn":0');
    expect(parseAuditEntry(forged).seq).toBe(seq);
    store.rows[seq] = rehash(store.rows[seq]!, forged);
    const report = await log.verifyStoredLog();
    expect(bad(report)).toEqual({ seq: 0, code: 'CHECKPOINT_ROOT_MISMATCH' });
    await expect(log.checkpoint()).rejects.toMatchObject({ code: 'INCONSISTENT_CHECKPOINT' });
  });

  it('localises a rewrite between two checkpoints', async () => {
    const { log, store } = await scenarioLog({ checkpointEvery: 5 });
    const seq = 12;
    store.rows[seq] = rehash(store.rows[seq]!, store.rows[seq]!.entryJson.replace('"actor":"', '"actor":"x'));
    expect(bad(await log.verifyStoredLog())).toEqual({ seq: 10, code: 'CHECKPOINT_ROOT_MISMATCH' });
  });

  it('detects deletion of any entry at its seq', async () => {
    const { log, store } = await scenarioLog();
    const original = store.rows.slice();
    for (let seq = 0; seq < original.length - 1; seq++) {
      store.rows.splice(0, store.rows.length, ...original.filter((_, i) => i !== seq).map((r, i) => ({ ...r, seq: i })));
      expect(bad(await log.verifyStoredLog())).toEqual({ seq, code: 'SEQ_MISMATCH' });
    }
  });

  it('detects reordering of any two entries at the first moved seq', async () => {
    const { log, store } = await scenarioLog();
    const original = store.rows.slice();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: original.length - 1 }), fc.nat({ max: original.length - 1 }), async (a, b) => {
        fc.pre(a !== b);
        const rows = original.map((r) => ({ ...r }));
        [rows[a], rows[b]] = [{ ...rows[b]!, seq: a }, { ...rows[a]!, seq: b }];
        store.rows.splice(0, store.rows.length, ...rows);
        expect(bad(await log.verifyStoredLog())).toEqual({ seq: Math.min(a, b), code: 'SEQ_MISMATCH' });
      }),
      { numRuns: 50 },
    );
  });

  it('detects truncation below a checkpoint; a checkpoint held elsewhere catches truncation that also removed checkpoints', async () => {
    const { log, store } = await scenarioLog();
    const held = await log.checkpoint();
    const size = store.rows.length;
    store.rows.splice(size - 2);
    expect(bad(await log.verifyStoredLog())).toEqual({ seq: size - 2, code: 'CHECKPOINT_BEYOND_LOG' });
    await expect(log.checkpoint()).rejects.toMatchObject({ code: 'INCONSISTENT_CHECKPOINT' });
    store.checkpointNotes.clear();
    expect(bad(await log.verifyStoredLog())).toBe('ok');
    expect(bad(await log.verifyStoredLog({ checkpoints: [held] }))).toEqual({ seq: size - 2, code: 'CHECKPOINT_BEYOND_LOG' });
  });

  it('detects a forged or altered stored checkpoint', async () => {
    const { log, store } = await scenarioLog();
    const note = await log.checkpoint();
    const size = store.rows.length;
    store.checkpointNotes.set(size, note.replace(`\n${size}\n`, `\n${size - 1}\n`));
    expect(bad(await log.verifyStoredLog())).toMatchObject({ code: 'CHECKPOINT_INVALID' });
    const other = generateSigningKeyPair();
    store.checkpointNotes.set(size, signCheckpoint({ origin: ORIGIN, size, rootHash: new Uint8Array(32) }, KEY_NAME, other.secretKey));
    expect(bad(await log.verifyStoredLog())).toMatchObject({ code: 'CHECKPOINT_INVALID' });
  });
});

describe('proof checks against a forging server', () => {
  it('catches a proof for another index, a stale root, a truncated or padded proof, a swapped entry and a foreign key', async () => {
    const { log, store } = await scenarioLog();
    const old = await log.checkpoint();
    await log.append(scenarioEvents()[0]!);
    await log.append(scenarioEvents()[1]!);
    const cp = await log.checkpoint();
    const size = store.rows.length;
    const seq = size - 1;
    const text = store.rows[seq]!.entryJson;
    const proof = await log.inclusionProof(seq, size);
    expect(verifyAuditEntryProof(text, seq, proof, cp, KEY).ok).toBe(true);

    const forged: Array<[string, ReturnType<typeof verifyAuditEntryProof>]> = [
      ['proof for another index', verifyAuditEntryProof(text, seq, await log.inclusionProof(seq - 1, size), cp, KEY)],
      ['stale checkpoint (entry not yet in it)', verifyAuditEntryProof(text, seq, proof, old, KEY)],
      ['truncated proof', verifyAuditEntryProof(text, seq, proof.slice(0, -1), cp, KEY)],
      ['padded proof', verifyAuditEntryProof(text, seq, [...proof, proof[0]!], cp, KEY)],
      ['other entry text at this seq', verifyAuditEntryProof(store.rows[seq - 1]!.entryJson, seq, proof, cp, KEY)],
      ['other entry with its own seq but this proof', verifyAuditEntryProof(store.rows[seq - 1]!.entryJson, seq - 1, proof, cp, KEY)],
      ['checkpoint of another key', verifyAuditEntryProof(text, seq, proof, cp, { ...KEY, publicKey: generateSigningKeyPair().publicKey })],
      ['checkpoint of another origin', verifyAuditEntryProof(text, seq, proof, cp, { ...KEY, origin: 'elsewhere' })],
    ];
    for (const [what, r] of forged) expect(r.ok, what).toBe(false);

    // An older entry proven against the stale root with a proof made for the new size.
    const oldSize = parseCheckpoint(old).size;
    expect(verifyAuditEntryProof(store.rows[0]!.entryJson, 0, await log.inclusionProof(0, size), old, KEY).ok).toBe(false);
    expect(verifyAuditEntryProof(store.rows[0]!.entryJson, 0, await log.inclusionProof(0, oldSize), old, KEY).ok).toBe(true);
  });

  it('catches a rewritten history even when the rewriting log signs the new head with the real key', async () => {
    const { log, store, keyPair } = await scenarioLog();
    const before = await log.checkpoint();
    const seq = 3;
    store.rows[seq] = rehash(store.rows[seq]!, store.rows[seq]!.entryJson.replace('"actor":"', '"actor":"x'));
    await log.append(scenarioEvents()[0]!);
    // The honest code path refuses to sign; a dishonest operator signs anyway.
    await expect(log.checkpoint()).rejects.toMatchObject({ code: 'INCONSISTENT_CHECKPOINT' });
    const tree = await log.merkleTree(store.rows.length);
    const after = signCheckpoint({ origin: ORIGIN, size: tree.size, rootHash: tree.root() }, KEY_NAME, keyPair.secretKey);
    const oldSize = parseCheckpoint(before).size;
    const proof = await log.consistencyProof(oldSize, tree.size);
    expect(verifyAuditConsistency(before, after, proof, KEY).ok).toBe(false);
    // And the stale proof of the honest history does not help either.
    expect(verifyAuditConsistency(before, after, [], KEY).ok).toBe(false);
  });

  it('rejects a consistency claim going backwards or with a truncated proof', async () => {
    const { log } = await scenarioLog({ checkpointEvery: 10 });
    const [a, b] = [await log.checkpointAt(10), await log.checkpointAt(20)];
    expect(verifyAuditConsistency(a!, b!, await log.consistencyProof(10, 20), KEY).ok).toBe(true);
    expect(verifyAuditConsistency(b!, a!, await log.consistencyProof(10, 20), KEY).ok).toBe(false);
    expect(verifyAuditConsistency(a!, b!, (await log.consistencyProof(10, 20)).slice(1), KEY).ok).toBe(false);
  });
});
