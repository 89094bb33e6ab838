import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConsentSourceError, loadConsentLedger, loadShopCompliance } from '../../client-sdk/consent-source.js';
import { pseudonymise } from '../../compliance/consent.js';
import { writeSynth } from '../../synth/index.js';
import { CUTOFF, MARKETING, record } from './consent-fixtures.js';

const line = (customerId: string, n: number, patch: object = {}): string => `${JSON.stringify({ customerId, ...record(n), ...patch })}\n`;

function shopDir(consents: string, rights?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-consent-src-'));
  writeFileSync(join(dir, 'consents.jsonl'), consents);
  if (rights !== undefined) writeFileSync(join(dir, 'rights-requests.jsonl'), rights);
  return dir;
}

async function failure(dir: string, options = {}): Promise<ConsentSourceError> {
  try {
    await loadConsentLedger(dir, options);
  } catch (e) {
    if (e instanceof ConsentSourceError) return e;
    throw e;
  }
  throw new Error('expected a ConsentSourceError');
}

describe('loadConsentLedger', () => {
  it('loads records keyed by customer id, strips the id and applies rights requests', async () => {
    const dir = shopDir(
      line('C-1', 1) + line('C-2', 2),
      `${JSON.stringify({ requestId: 'R-1', customerId: 'C-2', type: 'withdrawal', receivedAt: '2025-05-01T00:00:00Z', handledAt: '2025-05-02T00:00:00Z' })}\n`,
    );
    const ledger = await loadConsentLedger(dir);
    expect(ledger.customerIds()).toEqual(['C-1', 'C-2']);
    expect(ledger.get('C-1')).toEqual(record(1));
    expect('customerId' in ledger.get('C-1')!).toBe(false);
    const f = ledger.filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ['C-1', 'C-2'] });
    expect([...f.includedCustomerIds]).toEqual(['C-1']);
    expect(f.excludedByReason.withdrawn).toBe(1);
  });

  it('accepts CRLF and a missing final newline; no rights file means no requests', async () => {
    const ledger = await loadConsentLedger(shopDir(line('C-1', 1).replace('\n', '\r\n') + line('C-2', 2).trimEnd()));
    expect(ledger.size).toBe(2);
  });

  it.each<[string, string, string | undefined, string, number, RegExp]>([
    ['bad JSON', line('C-1', 1) + '{"customerId":\n', undefined, 'JSON_SYNTAX', 2, /consents\.jsonl line 2: not JSON/],
    ['blank line', line('C-1', 1) + '\n' + line('C-2', 2), undefined, 'JSON_SYNTAX', 2, /line 2: the line is empty/],
    ['array instead of object', '[]\n', undefined, 'JSON_SYNTAX', 1, /expected a JSON object/],
    ['missing customerId', `${JSON.stringify(record(1))}\n`, undefined, 'CUSTOMER_ID_INVALID', 1, /customerId/],
    ['invalid record', line('C-1', 1) + line('C-2', 2, { channel: 'fax' }), undefined, 'INVALID_RECORD', 2, /line 2: channel/],
    ['unknown field', line('C-1', 1, { extra: true }), undefined, 'INVALID_RECORD', 1, /line 1/],
    ['duplicate customer', line('C-1', 1) + line('C-1', 2), undefined, 'DUPLICATE', 2, /line 2: customer 'C-1'/],
    ['duplicate record id', line('C-1', 1) + line('C-2', 1, { subjectPseudonym: 'ab'.repeat(32) }), undefined, 'DUPLICATE', 2, /record 'CR-000001'/],
    ['bad rights request', line('C-1', 1), '{"requestId":"R-1","customerId":"C-1","type":"erase","receivedAt":"2025-01-01T00:00:00Z"}\n', 'INVALID_REQUEST', 1, /rights-requests\.jsonl line 1: type/],
    [
      'duplicate request id',
      line('C-1', 1),
      '{"requestId":"R-1","customerId":"C-1","type":"access","receivedAt":"2025-01-01T00:00:00Z"}\n{"requestId":"R-1","customerId":"C-1","type":"access","receivedAt":"2025-01-01T00:00:00Z"}\n',
      'DUPLICATE',
      2,
      /rights-requests\.jsonl line 2: request id 'R-1'/,
    ],
  ])('%s is an error naming file and line', async (_name, consents, rights, code, lineNo, message) => {
    const e = await failure(shopDir(consents, rights));
    expect(e.code).toBe(code);
    expect(e.line).toBe(lineNo);
    expect(e.message).toMatch(message);
  });

  it('refuses invalid UTF-8 and a missing consents file', async () => {
    const dir = shopDir('');
    writeFileSync(join(dir, 'consents.jsonl'), Buffer.concat([Buffer.from(line('C-1', 1)), Buffer.from([0xff, 0xfe, 0x0a])]));
    expect((await failure(dir)).code).toBe('ENCODING');
    const empty = mkdtempSync(join(tmpdir(), 'fedmart-consent-src-'));
    const e = await failure(empty);
    expect(e.code).toBe('FILE_MISSING');
    expect(e.file).toBe('consents.jsonl');
    expect((await failure(shopDir(line('C-1', 1)), { requireRightsFile: true })).file).toBe('rights-requests.jsonl');
  });

  it('checks pseudonyms against the shop key when given', async () => {
    const key = new Uint8Array(32).fill(7);
    const good = line('C-1', 1, { subjectPseudonym: pseudonymise('C-1', key) });
    expect((await loadConsentLedger(shopDir(good), { pseudonymKey: key })).size).toBe(1);
    const e = await failure(shopDir(good + line('C-2', 2)), { pseudonymKey: key });
    expect(e.code).toBe('PSEUDONYM_MISMATCH');
    expect(e.line).toBe(2);
  });
});

describe('loadShopCompliance', () => {
  it('loads a synth shop folder: key, classification, registry and a checked ledger', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fedmart-consent-src-'));
    const m = await writeSynth(out, { shops: 1, seed: 3, customersPerShop: 200 });
    const c = await loadShopCompliance(join(out, m.shops[0]!.dir), { handledAt: new Date('2026-01-01T00:00:00Z') });
    expect(c.pseudonymKey).toHaveLength(32);
    expect(c.registry.purposes.map((p) => p.name)).toContain('marketing-analytics');
    expect(c.classification.fields.length).toBeGreaterThan(10);
    expect(c.ledger.size).toBeGreaterThan(150);
  });

  it('falls back to defaults and creates a key in a folder with only consents', async () => {
    const dir = shopDir('');
    const c = await loadShopCompliance(dir);
    expect(c.ledger.size).toBe(0);
    expect(c.registry.purposes.length).toBe(2);
  });
});
