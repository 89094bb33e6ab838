/**
 * Where the shop's pseudonym key lives: the node's state folder, created
 * 0600 in a 0700 folder; a key left in the export folder by earlier versions
 * is still read, with a warning naming the paths and never the key; and no
 * key is made up for consent records that were keyed by another.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadShopCompliance } from '../../client-sdk/consent-source.js';
import { PseudonymKeyMissingError, defaultStateDir, loadShopPseudonymKey, type KeyLocationLogger } from '../../client-sdk/pseudonym-key.js';

function folders(): { data: string; state: string } {
  const root = mkdtempSync(join(tmpdir(), 'fedmart-pkey-'));
  const data = join(root, 'data');
  mkdirSync(data);
  return { data, state: join(root, 'state') };
}

function recorder(): KeyLocationLogger & { calls: Array<{ fields: Record<string, unknown>; message: string }> } {
  const calls: Array<{ fields: Record<string, unknown>; message: string }> = [];
  return { calls, warn: (fields, message) => void calls.push({ fields, message }) };
}

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('loadShopPseudonymKey', () => {
  it('creates the key in the state folder (0600, folder 0700) and reads the same key afterwards', async () => {
    const { data, state } = folders();
    const a = await loadShopPseudonymKey(data, { stateDir: state });
    expect(a).toMatchObject({ path: join(state, 'pseudonym.key'), created: true, legacy: false });
    expect(a.key).toHaveLength(32);
    expect(mode(join(state, 'pseudonym.key'))).toBe(0o600);
    expect(mode(state)).toBe(0o700);
    expect(existsSync(join(data, 'pseudonym.key'))).toBe(false);
    const b = await loadShopPseudonymKey(data, { stateDir: state });
    expect(b).toMatchObject({ created: false, legacy: false });
    expect(b.key).toEqual(a.key);
  });

  it('defaults to the node\'s default state folder, DATA/.fedmart-state', async () => {
    const { data } = folders();
    const k = await loadShopPseudonymKey(data);
    expect(k.path).toBe(join(defaultStateDir(data), 'pseudonym.key'));
    expect(k.path).toBe(join(data, '.fedmart-state', 'pseudonym.key'));
  });

  it('reads a key left in the export folder, warning with both paths and without the key', async () => {
    const { data, state } = folders();
    const hex = '5a'.repeat(32);
    writeFileSync(join(data, 'pseudonym.key'), `${hex}\n`, { mode: 0o600 });
    const log = recorder();
    const k = await loadShopPseudonymKey(data, { stateDir: state, logger: log });
    expect(k).toMatchObject({ path: join(data, 'pseudonym.key'), created: false, legacy: true });
    expect(Buffer.from(k.key).toString('hex')).toBe(hex);
    expect(existsSync(state)).toBe(false);
    expect(log.calls).toHaveLength(1);
    expect(log.calls[0]!.message).toMatch(/reading the pseudonym key from the export folder/);
    expect(log.calls[0]!.fields).toEqual({ keyFile: join(data, 'pseudonym.key'), stateKeyFile: join(state, 'pseudonym.key') });
    expect(JSON.stringify(log.calls)).not.toContain(hex);

    // Once the state folder has its own key, that one is used and the old one reported as ignored.
    mkdirSync(state, { mode: 0o700 });
    writeFileSync(join(state, 'pseudonym.key'), `${'6b'.repeat(32)}\n`, { mode: 0o600 });
    const later = recorder();
    const k2 = await loadShopPseudonymKey(data, { stateDir: state, logger: later });
    expect(Buffer.from(k2.key).toString('hex')).toBe('6b'.repeat(32));
    expect(later.calls[0]!.message).toMatch(/also in the export folder; it is ignored/);
    expect(JSON.stringify(later.calls)).not.toMatch(/5a5a|6b6b/);
  });

  it('with create false, a missing key is an error and nothing is created', async () => {
    const { data, state } = folders();
    await expect(loadShopPseudonymKey(data, { stateDir: state, create: false })).rejects.toBeInstanceOf(PseudonymKeyMissingError);
    expect(existsSync(state)).toBe(false);
  });
});

describe('loadShopCompliance and the key location', () => {
  it('loads with the key of the given state folder', async () => {
    const { data, state } = folders();
    writeFileSync(join(data, 'consents.jsonl'), '');
    const c = await loadShopCompliance(data, { stateDir: state });
    expect(Buffer.from(c.pseudonymKey)).toEqual(Buffer.from(readFileSync(join(state, 'pseudonym.key'), 'utf8').trim(), 'hex'));
  });

  it('refuses to make up a key for consent records keyed by another, naming the state folder', async () => {
    const { data, state } = folders();
    writeFileSync(join(data, 'consents.jsonl'), '{"customerId":"C-1"}\n');
    const err = await loadShopCompliance(data, { stateDir: state }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PseudonymKeyMissingError);
    expect((err as Error).message).toContain(join(state, 'pseudonym.key'));
    expect((err as Error).message).toContain('consents.jsonl holds pseudonyms made under one');
    expect(existsSync(state)).toBe(false);
  });
});
