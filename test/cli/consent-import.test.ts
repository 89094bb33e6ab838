/**
 * `fedmart merchant consents import` as a shop runs it: a CSV consent table in,
 * `consents.jsonl` out that the existing loader reads with the shop's key,
 * every problem of a bad table reported at once with nothing written, GB18030
 * tables read like their UTF-8 twins, and the pseudonym key kept in the
 * node's state folder, never in the export.
 */
import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadShopCompliance } from '../../client-sdk/index.js';
import { loadConsentLedger } from '../../client-sdk/consent-source.js';
import { DEFAULT_PURPOSES } from '../../compliance/consent.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
const MARKETING = DEFAULT_PURPOSES.find((p) => p.name === 'marketing-analytics')!;
const CHURN = DEFAULT_PURPOSES.find((p) => p.name === 'churn-modelling')!;
const CUTOFF = new Date('2025-06-01T00:00:00Z');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const mode = (path: string): number => statSync(path).mode & 0o777;
const hmacHex = (keyFile: string, customerId: string): string =>
  createHmac('sha256', Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'hex')).update(customerId, 'utf8').digest('hex');

/** A work folder with an empty export folder and the texts of two notice versions. */
function workspace(): { root: string; data: string; state: string; notices: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'fedmart-consent-import-'));
  const data = join(root, 'export');
  mkdirSync(data);
  writeFileSync(join(root, 'notice-2024.txt'), 'Synthetic Shop Ltd privacy notice, version 2024.1\n');
  writeFileSync(join(root, 'notice-2025.txt'), 'Synthetic Shop Ltd 个人信息保护政策 2025.2\n');
  return {
    root,
    data,
    state: join(root, 'state'),
    notices: ['--notice-file', `2024.1=${join(root, 'notice-2024.txt')}`, '--notice-file', `2025.2=${join(root, 'notice-2025.txt')}`],
  };
}

function importArgs(w: ReturnType<typeof workspace>, csv: string, ...extra: string[]): string[] {
  return ['merchant', 'consents', 'import', '--from', csv, '--data', w.data, '--controller', 'Synthetic Shop Ltd', ...w.notices, ...extra];
}

const HEADER = 'customer_id,purpose,granted_at,expires_at,withdrawn_at,notice_version,channel';

// Each test starts the CLI several times (about 1.5 s each when idle); on a loaded machine that takes minutes.
describe('fedmart merchant consents import', { timeout: 300_000 }, () => {
  it('round trip: the loader reads the import and answers consent for the right pseudonymised customers', async () => {
    const w = workspace();
    // customer → included for marketing-analytics at CUTOFF?
    const rows: Array<[string, boolean]> = [];
    const table: string[] = [`${HEADER},marketing_opt_out`];
    for (let i = 0; i < 40; i++) {
      const id = `C-${String(i).padStart(4, '0')}`;
      switch (i % 5) {
        case 0: // granted, in force
          table.push(`${id},marketing-analytics,2025-01-0${1 + (i % 9)}T08:00:00Z,,,2025.2,app,`);
          rows.push([id, true]);
          break;
        case 1: // withdrawn before the cutoff
          table.push(`${id},marketing-analytics,2024-11-01T08:00:00+08:00,,2025-03-01T00:00:00Z,2024.1,web,`);
          rows.push([id, false]);
          break;
        case 2: // expired before the cutoff
          table.push(`${id},marketing-analytics,2024-06-01T00:00:00Z,2025-05-01T00:00:00Z,,2024.1,门店,`);
          rows.push([id, false]);
          break;
        case 3: // churn modelling only, then marketing after a withdrawal and re-grant
          table.push(`${id},churn-modelling,2024-06-01T00:00:00Z,,,2024.1,call-centre,no`);
          table.push(`${id},marketing-analytics,2024-07-01T00:00:00Z,,2024-08-01T00:00:00Z,2024.1,web,no`);
          table.push(`${id},marketing-analytics,2025-02-01T00:00:00Z,,,2025.2,app,no`);
          rows.push([id, true]);
          break;
        case 4: // refused personalised marketing
          table.push(`"${id}",marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,客服,yes`);
          rows.push([id, false]);
          break;
      }
    }
    const csv = join(w.root, 'consents.csv');
    writeFileSync(csv, `${table.join('\r\n')}\r\n`);
    const r = run(...importArgs(w, csv, '--state', w.state));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/imported 56 rows: consent records of 40 customers written to .*consents\.jsonl/);

    const keyFile = join(w.state, 'pseudonym.key');
    {
      const compliance = await loadShopCompliance(w.data, { stateDir: w.state });
      const ledger = await loadConsentLedger(w.data, { pseudonymKey: compliance.pseudonymKey });
      expect(ledger.size).toBe(40);
      const ids = rows.map(([id]) => id);
      const f = ledger.filterForRound({ purpose: MARKETING, cutoff: CUTOFF, customerIds: ids });
      expect([...f.includedCustomerIds].sort()).toEqual(rows.filter(([, inc]) => inc).map(([id]) => id).sort());
      expect(f.excludedByReason.withdrawn).toBe(8);
      expect(f.excludedByReason.expired).toBe(8);
      expect(f.excludedByReason['opted-out-personalised-marketing']).toBe(8);
      // Every record carries the HMAC-SHA-256 of its customer under the key in the state folder.
      for (const id of ids) expect(ledger.get(id)!.subjectPseudonym).toBe(hmacHex(keyFile, id));
      // Churn modelling: only the customers who gave it.
      const churn = ledger.filterForRound({ purpose: CHURN, cutoff: CUTOFF, customerIds: ids });
      expect([...churn.includedCustomerIds].sort()).toEqual(ids.filter((_, i) => i % 5 === 3));
      // Notice versions and their hashes come from the notice texts.
      const sha = (f: string): string => createHash('sha256').update(readFileSync(join(w.root, f))).digest('hex');
      expect(ledger.get('C-0000')!.notice).toEqual({ id: 'privacy-notice', version: '2025.2', hash: sha('notice-2025.txt') });
      expect(ledger.get('C-0001')!.notice).toEqual({ id: 'privacy-notice', version: '2024.1', hash: sha('notice-2024.txt') });
      expect(ledger.get('C-0002')!.channel).toBe('store');
      expect(ledger.get('C-0004')!.channel).toBe('call-centre');
      expect(ledger.get('C-0003')!.notice.version).toBe('2025.2'); // the latest grant's
    }
  });

  it('a table with several bad rows: every problem with row and column, exit 1, nothing written', () => {
    const w = workspace();
    writeFileSync(join(w.data, 'consents.jsonl'), ''); // an existing (empty) ledger stays as it was
    const csv = join(w.root, 'bad.csv');
    writeFileSync(
      csv,
      [
        HEADER,
        'C-1,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app', // fine
        'C-2,marketing,2025-01-01T00:00:00Z,,,2025.2,app', // unknown purpose
        'C-3,marketing-analytics,2025-02-30T00:00:00Z,,,2025.2,app', // no such day
        'C-4,marketing-analytics,2025-01-01 08:00:00,,,2025.2,app', // no time zone
        'C-5,marketing-analytics,2025-01-01T00:00:00Z,2024-01-01T00:00:00Z,,2025.2,fax', // expiry before grant, unknown channel
        'C-6,marketing-analytics,2025-01-01T00:00:00Z,,,2026.1,web', // notice without text
        'C-7,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2', // a field short
        ',marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,web', // no customer
        '',
      ].join('\n'),
    );
    const r = run(...importArgs(w, csv, '--state', w.state));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`fedmart merchant: ${csv}: 8 problems, nothing written`);
    const expected: Array<[number, string | undefined, RegExp]> = [
      [2, 'purpose', /'marketing' is not a registered purpose.*use one of marketing-analytics, churn-modelling/],
      [3, 'granted_at', /'2025-02-30T00:00:00Z' is not a valid date/],
      [4, 'granted_at', /has no time zone: add Z for UTC or the offset/],
      [5, 'expires_at', /expires_at must be after granted_at/],
      [5, 'channel', /'fax' is not a consent channel: use one of app, web, store, call-centre/], // columns in header order
      [6, 'notice_version', /pass --notice-file 2026\.1=PATH/],
      [7, undefined, /expected 7 fields as in the header, found 6/],
      [8, 'customer_id', /the value is empty/],
    ];
    expect(lines.slice(1)).toHaveLength(expected.length);
    expected.forEach(([row, column, detail], i) => {
      const line = lines[i + 1]!;
      expect(line.startsWith(`  ${csv} row ${row} (line ${row + 1})${column === undefined ? ':' : `, column ${column}:`}`), line).toBe(true);
      expect(line).toMatch(detail);
    });
    expect(readFileSync(join(w.data, 'consents.jsonl'), 'utf8')).toBe('');
    expect(readdirSync(w.data)).toEqual(['consents.jsonl']);
    expect(existsSync(w.state)).toBe(false); // not even the key was created
  });

  it('a GB18030 table imports exactly like its UTF-8 twin', () => {
    // GB18030 byte sequences of the Chinese characters used below.
    const GB18030: Readonly<Record<string, readonly number[]>> = {
      门: [0xc3, 0xc5],
      店: [0xb5, 0xea],
      客: [0xbf, 0xcd],
      服: [0xb7, 0xfe],
      会: [0xbb, 0xe1],
      员: [0xd4, 0xb1],
    };
    const encode = (text: string): Buffer =>
      Buffer.from(
        [...text].flatMap((ch) => {
          if (ch.charCodeAt(0) < 0x80) return [ch.charCodeAt(0)];
          const bytes = GB18030[ch];
          if (bytes === undefined) throw new Error(`no GB18030 bytes for ${ch} in the test table`);
          return [...bytes];
        }),
      );
    const text = [
      HEADER,
      '会员-0001,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,门店',
      '会员-0002,marketing-analytics,2025-01-01T00:00:00+08:00,,2025-03-01T00:00:00Z,2024.1,客服',
      '"会员,0003",churn-modelling,2025-01-01T00:00:00Z,2026-01-01T00:00:00Z,,2025.2,门店',
    ].join('\n');
    const w = workspace();
    const utf8Csv = join(w.root, 'utf8.csv');
    const gbCsv = join(w.root, 'gb18030.csv');
    writeFileSync(utf8Csv, text);
    writeFileSync(gbCsv, encode(text));
    expect(readFileSync(gbCsv).includes(Buffer.from([0xc3, 0xc5, 0xb5, 0xea]))).toBe(true);
    const twin = join(w.root, 'export-twin');
    mkdirSync(twin);
    const a = run(...importArgs(w, utf8Csv, '--state', w.state));
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const b = run('merchant', 'consents', 'import', '--from', gbCsv, '--data', twin, '--controller', 'Synthetic Shop Ltd', ...w.notices, '--state', w.state, '--encoding', 'gb18030');
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const imported = readFileSync(join(w.data, 'consents.jsonl'));
    expect(readFileSync(join(twin, 'consents.jsonl')).equals(imported)).toBe(true);
    const first = JSON.parse(imported.toString('utf8').split('\n')[0]!) as { customerId: string; channel: string; subjectPseudonym: string };
    expect(first.customerId).toBe('会员-0001');
    expect(first.channel).toBe('store');
    expect(first.subjectPseudonym).toBe(hmacHex(join(w.state, 'pseudonym.key'), '会员-0001'));
    // The same GB18030 bytes read as UTF-8 are refused with a pointer to --encoding.
    const c = run(...importArgs(w, gbCsv, '--state', w.state));
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/\(line 2\): the file is not valid UTF-8.*--encoding gb18030/);
  });

  it('keeps the pseudonym key in the state folder (0600, folder 0700), never in the export folder', () => {
    const w = workspace();
    const csv = join(w.root, 'one.csv');
    writeFileSync(csv, `${HEADER}\nC-1,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app\n`);
    const r = run(...importArgs(w, csv, '--state', w.state));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pseudonym key ${join(w.state, 'pseudonym.key')} (created, mode 0600)`);
    expect(mode(join(w.state, 'pseudonym.key'))).toBe(0o600);
    expect(mode(w.state)).toBe(0o700);
    expect(readdirSync(w.data)).toEqual(['consents.jsonl']);
    expect(mode(join(w.data, 'consents.jsonl'))).toBe(0o600);
    // A second import reuses the key: same pseudonyms, same record ids.
    const before = readFileSync(join(w.data, 'consents.jsonl'));
    expect(run(...importArgs(w, csv, '--state', w.state)).code).toBe(0);
    expect(readFileSync(join(w.data, 'consents.jsonl')).equals(before)).toBe(true);

    // Without --state: the node's default state folder, DATA/.fedmart-state.
    const d = workspace();
    expect(run(...importArgs(d, csv)).code).toBe(0);
    expect(mode(join(d.data, '.fedmart-state', 'pseudonym.key'))).toBe(0o600);
    expect(existsSync(join(d.data, 'pseudonym.key'))).toBe(false);
  });

  it('still reads a key left in the export folder by earlier versions, and says so without the key', () => {
    const w = workspace();
    const key = 'ab'.repeat(32);
    writeFileSync(join(w.data, 'pseudonym.key'), `${key}\n`, { mode: 0o600 });
    const csv = join(w.root, 'one.csv');
    writeFileSync(csv, `${HEADER}\nC-9,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,web\n`);
    const r = run(...importArgs(w, csv, '--state', w.state));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('reading the pseudonym key from the export folder');
    expect(r.stderr).toContain(join(w.data, 'pseudonym.key'));
    expect(r.stderr).not.toContain(key);
    expect(existsSync(w.state)).toBe(false);
    const line = JSON.parse(readFileSync(join(w.data, 'consents.jsonl'), 'utf8')) as { subjectPseudonym: string };
    expect(line.subjectPseudonym).toBe(hmacHex(join(w.data, 'pseudonym.key'), 'C-9'));
  });

  it('answers bad usage with one line and exit code 2', () => {
    const w = workspace();
    const cases: Array<[string[], RegExp]> = [
      [['merchant', 'consents', 'import', '--data', w.data, '--controller', 'X', ...w.notices], /--from is required/],
      [['merchant', 'consents', 'import', '--from', 'x.csv', '--data', w.data, ...w.notices], /--controller is required/],
      [['merchant', 'consents', 'import', '--from', 'x.csv', '--data', w.data, '--controller', 'X'], /--notice-file is required/],
      [['merchant', 'consents', 'import', '--from', 'x.csv', '--data', w.data, '--controller', 'X', '--notice-file', 'v1'], /--notice-file must be VERSION=PATH/],
      [['merchant', 'consents', 'import', '--from', 'x.csv', '--data', w.data, '--controller', 'X', '--notice-file', 'v1=/nonexistent/n.txt'], /cannot read \/nonexistent\/n\.txt/],
      [['merchant', 'consents', 'import', '--from', 'x.csv', '--data', w.data, '--controller', 'X', ...w.notices, '--encoding', 'latin1'], /--encoding must be utf-8 or gb18030/],
      [['merchant', 'consents', 'export'], /unknown consents subcommand "export"/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const help = run('merchant', '--help');
    expect(help.stdout).toContain('fedmart merchant consents import --from FILE.csv --data DIR --controller NAME');
  });
});
