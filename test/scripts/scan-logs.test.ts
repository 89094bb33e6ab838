/**
 * scripts/scan-logs.mjs: lines with a key, token or personal datum are
 * found with the right kind; ordinary service log lines (public keys, key
 * ids, digests, addresses, timestamps, zh-CN cities) are not; lines of a
 * service's stderr that are not JSON are found too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino as makePino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LOG_REDACT } from '../../protos/log-redact.js';
import { collectTestTokens, createScanner, customerNamePattern, isJsonObjectLine, notJsonLines, scanDir } from '../../scripts/scan-logs.mjs';
import { TEST_TOKEN } from '../../harness/cluster.js';

const HEX64 = 'a'.repeat(8) + '0123456789abcdef'.repeat(3) + 'deadbeef';
const B64_32 = Buffer.alloc(32, 7).toString('base64'); // 44 characters
const B64URL_32 = Buffer.alloc(32, 250).toString('base64url'); // 43 characters

const scan = createScanner();
const pino = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: 1795628901735, pid: 23688, hostname: 'vm', name: 'cluster', ...fields, msg: 'm' });

describe('scan-logs', () => {
  it.each([
    ['pem-private-key', '-----BEGIN PRIVATE KEY-----'],
    ['pem-private-key', pino({ tlsKey: '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE' })],
    ['bearer-token', pino({ req: { headers: { authorization: 'Bearer abcdef0123456789' } } })],
    ['bearer-token', 'curl -H "authorization: Bearer some-token-value" http://127.0.0.1/'],
    ['api-token', pino({ msg2: `user created fm_${B64URL_32}` })],
    ['test-token', `token=${TEST_TOKEN}`],
    ['secret-field', pino({ seed: HEX64 })],
    ['secret-field', pino({ secretKey: B64_32 })],
    ['secret-field', pino({ nested: { apiToken: B64URL_32 } })],
    ['secret-field', pino({ pseudonymKey: HEX64 })],
    ['secret-field', `FEDMART_SEED=${HEX64}`],
    ['secret-field', `"authorization": "${B64_32}"`],
    ['mobile-number', pino({ phone: '13812345678' })],
    ['mobile-number', 'customer called from 19912345678 today'],
    ['email', pino({ contact: 'li.wei@example.com' })],
    ['customer-id', pino({ customerId: 'C-03-000123' })],
    ['customer-id', 'order O-01-0000042 refunded'],
    ['customer-id', 'consent CR-02-0a1b2c3d4e5f'],
    ['customer-id', 'rights request RR-05-00017'],
    ['customer-name', pino({ name: '王伟' })],
    ['customer-name', '顾客 欧阳子轩 退货'],
  ])('finds %s in %j', (kind, line) => {
    expect(scan(line)).toContain(kind);
  });

  it.each([
    pino({ msg2: 'coordinator listening', grpcAddress: '127.0.0.1:43113', httpAddress: 'http://127.0.0.1:39967' }),
    pino({ signingKey: HEX64 }),
    pino({ keyholderSigningKey: HEX64, keyId: HEX64, keyDigest: HEX64, aggregateDigest: HEX64 }),
    pino({ publicKey: B64_32, hePublicKey: B64_32, merchantSigningKey: HEX64 }),
    pino({ tokenId: 'e2688c7d606e74bd580b573e34b69ae3', tokenHash: HEX64 }),
    pino({ seedFile: '/tmp/fedmart-test-AbCdEf/enrolment/authority-seed-file-for-tests' }),
    pino({ queryId: '0f3c4a2e-6f7b-4c2d-9b1e-8a7d6c5b4a39', merchants: 5, time2: 1795628901735 }),
    pino({ merchantId: 'shop-01', city: '上海', region: '华东' }),
    pino({ pid: 13812345 }),
    'Server listening at http://127.0.0.1:39967',
    pino({ stage: 'loyal', customers: 142 }),
  ])('finds nothing in %j', (line) => {
    expect(scan(line)).toEqual([]);
  });

  it('reads the synthetic names from synth/people.ts and the token constants from the tests', () => {
    expect(customerNamePattern()?.test('张三丰')).toBe(false); // 三 and 丰 are not given-name characters there
    expect(customerNamePattern()?.test('张伟')).toBe(true);
    expect(collectTestTokens()).toContain(TEST_TOKEN);
  });

  it('the services\' pino redaction removes credentials before the scanner would find them', () => {
    const lines: string[] = [];
    const log = makePino({ redact: LOG_REDACT }, { write: (l: string) => void lines.push(l) });
    log.info({ req: { method: 'GET', url: '/v1/queries', headers: { authorization: `Bearer ${TEST_TOKEN}`, cookie: 'sid=1' } } }, 'request');
    log.info({ user: { token: `fm_${B64URL_32}` }, token: TEST_TOKEN, seed: HEX64 }, 'user');
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toContain('[redacted]');
      expect(scan(l)).toEqual([]);
    }
  });

  it('names file, line and kind of every finding in a folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-scan-'));
    try {
      writeFileSync(join(dir, 'a.log'), [pino({ ok: true }), pino({ phone: '13912345678' }), pino({ seed: HEX64 })].join('\n') + '\n');
      writeFileSync(join(dir, 'b.log'), 'plain line\n');
      expect(scanDir(dir, scan)).toEqual([
        { file: join(dir, 'a.log'), line: 2, kind: 'mobile-number' },
        { file: join(dir, 'a.log'), line: 3, kind: 'secret-field' },
        { file: join(dir, 'b.log'), line: 1, kind: 'not-json' },
      ]);
      expect(scanDir(dir, scan, { json: false })).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds lines that are not JSON in a service\'s stderr: a Node warning, a stray print', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-scan-json-'));
    try {
      writeFileSync(join(dir, 'coordinator.log'), [
        '(node:25565) [DEP0123] DeprecationWarning: Setting the TLS ServerName to an IP address is not permitted by RFC 6066. This will be ignored in a future version.',
        '(Use `node --trace-deprecation ...` to show where the warning was created)',
        pino({ msg2: 'coordinator listening' }),
        '[1, 2]',
        '{"truncated": ',
        pino({ ok: true }),
        '',
      ].join('\n'));
      expect(scanDir(dir, scan).map((f) => [f.line, f.kind])).toEqual([[1, 'not-json'], [2, 'not-json'], [4, 'not-json'], [5, 'not-json']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('allows the CLI\'s one exit line only as the last line of a file', () => {
    const exit = 'fedmart coordinator: database schema version 0 is older than this fedmart needs (9); run fedmart db migrate [SCHEMA_NOT_MIGRATED]';
    expect(notJsonLines([pino({ ok: true }), exit, ''])).toEqual([]);
    expect(notJsonLines([exit, pino({ ok: true })])).toEqual([1]);
    expect(notJsonLines(['Server listening at http://127.0.0.1:39967'])).toEqual([1]);
    expect(isJsonObjectLine(pino({ ok: true }))).toBe(true);
    expect(isJsonObjectLine('null')).toBe(false);
  });
});
