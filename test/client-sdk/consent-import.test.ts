/**
 * The consent table import without the CLI: times, channels and flags, how a
 * customer's rows become one record, every problem in one report, the
 * all-or-nothing write, and a property over generated tables written with an
 * independent CSV writer.
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConsentImportError,
  decodeConsentTable,
  importConsentCsv,
  isoSecondsUtc,
  keyConsentTable,
  noticeHash,
  readConsentTable,
  readConsentTime,
  type ConsentTableOptions,
} from '../../client-sdk/consent-import.js';
import { loadConsentLedger } from '../../client-sdk/consent-source.js';
import { parseCsv } from '../../client-sdk/csv.js';
import { loadShopPseudonymKey } from '../../client-sdk/pseudonym-key.js';
import { DEFAULT_FIELD_CLASSIFICATION, DEFAULT_PURPOSE_REGISTRY, DEFAULT_PURPOSES, parsePurposeRegistry, type PurposeRegistry } from '../../compliance/consent.js';
import { evaluateConsent } from '../../compliance/consent-evaluate.js';

const NOTICES = new Map([
  ['2024.1', noticeHash('notice one')],
  ['2025.2', noticeHash('notice two')],
]);
const OPTIONS: ConsentTableOptions = {
  file: 't.csv',
  registry: DEFAULT_PURPOSE_REGISTRY,
  classification: DEFAULT_FIELD_CLASSIFICATION,
  controller: 'Synthetic Shop Ltd',
  notices: NOTICES,
};
const HEADER = 'customer_id,purpose,granted_at,expires_at,withdrawn_at,notice_version,channel';
const KEY = new Uint8Array(32).fill(7);
const MARKETING = DEFAULT_PURPOSES[0]!;
const CHURN = DEFAULT_PURPOSES[1]!;

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConsentImportError) return err.lines();
    throw err;
  }
  throw new Error('expected a ConsentImportError');
}

const table = (...rows: string[]): string => [HEADER, ...rows].join('\n');
const draftOf = (text: string, options: Partial<ConsentTableOptions> = {}) => readConsentTable(text, { ...OPTIONS, ...options }).drafts;

describe('readConsentTime', () => {
  it('reads UTC and offset times to whole Unix seconds', () => {
    expect(readConsentTime('2025-03-04T05:06:07Z')).toEqual({ ok: true, value: Date.UTC(2025, 2, 4, 5, 6, 7) / 1000 });
    expect(readConsentTime(' 2025-03-04T13:06:07+08:00 ')).toEqual({ ok: true, value: Date.UTC(2025, 2, 4, 5, 6, 7) / 1000 });
    expect(readConsentTime('2025-03-04 00:06:07-05:00')).toEqual({ ok: true, value: Date.UTC(2025, 2, 4, 5, 6, 7) / 1000 });
    expect(isoSecondsUtc(Date.UTC(2025, 2, 4, 5, 6, 7) / 1000)).toBe('2025-03-04T05:06:07Z');
  });

  it('refuses times without a zone, impossible dates, offsets and other formats, saying what to write', () => {
    expect(readConsentTime('2025-03-04T05:06:07')).toMatchObject({ ok: false, problem: expect.stringMatching(/has no time zone: add Z/) });
    expect(readConsentTime('2025-02-29T00:00:00Z')).toMatchObject({ ok: false, problem: expect.stringMatching(/not a valid date/) });
    expect(readConsentTime('2025-01-01T24:00:00Z')).toMatchObject({ ok: false });
    expect(readConsentTime('2025-01-01T00:00:00+15:00')).toMatchObject({ ok: false, problem: expect.stringMatching(/impossible offset/) });
    expect(readConsentTime('2025/3/4 5:06')).toMatchObject({ ok: false, problem: expect.stringMatching(/write it like 2025-03-04T05:06:07Z/) });
    expect(readConsentTime('2025-01-01T00:00:00.5Z')).toMatchObject({ ok: false });
  });
});

describe('readConsentTable', () => {
  it('makes one record per customer: purposes, events per row, the latest grant\'s notice and channel', () => {
    const [d] = draftOf(
      table(
        'C-1,churn-modelling,2025-02-01T00:00:00Z,,,2025.2,门店',
        'C-1,marketing-analytics,2024-06-01T00:00:00Z,,2024-09-01T00:00:00Z,2024.1,app',
        'C-1,marketing-analytics,2024-10-01T00:00:00Z,,,2024.1,web',
      ),
    );
    expect(d!.customerId).toBe('C-1');
    const r = d!.draft;
    expect(r.purposes.map((p) => p.purpose)).toEqual(['churn-modelling', 'marketing-analytics']);
    expect(r.events).toEqual([
      { type: 'given', at: '2024-06-01T00:00:00Z', actor: 'subject', purposes: ['marketing-analytics'] },
      { type: 'withdrawn', at: '2024-09-01T00:00:00Z', actor: 'subject', purposes: ['marketing-analytics'] },
      { type: 'given', at: '2024-10-01T00:00:00Z', actor: 'subject', purposes: ['marketing-analytics'] },
      { type: 'given', at: '2025-02-01T00:00:00Z', actor: 'subject', purposes: ['churn-modelling'] },
    ]);
    expect(r.notice).toEqual({ id: 'privacy-notice', version: '2025.2', hash: NOTICES.get('2025.2') });
    expect(r.channel).toBe('store');
    expect(r.controller).toBe('Synthetic Shop Ltd');
    expect(r.expiresAt).toBeUndefined();
    expect(r.explicit).toBe(true);
    expect(r.separateConsent).toBe(false);
    expect(r.personalisedMarketingOptOut).toBe(false);
    // Purpose terms from the registry, data categories from the classification (customer tables only).
    const m = r.purposes[1]!;
    expect(m).toMatchObject({ legalBasis: 'consent', sensitive: false, recipients: MARKETING.recipients, retentionDays: MARKETING.retentionDays });
    expect(m.dataCategories).toEqual(['account', 'behaviour', 'demographic', 'location', 'marketing', 'transaction']);
    expect(m.dataCategories).not.toContain('business');
  });

  it('uses one expiresAt when all rows agree, and per-purpose expired events when they differ', () => {
    const [same] = draftOf(
      table('C-1,marketing-analytics,2025-01-01T00:00:00Z,2027-01-01T00:00:00Z,,2025.2,app', 'C-1,churn-modelling,2025-01-02T00:00:00Z,2027-01-01T00:00:00Z,,2025.2,app'),
    );
    expect(same!.draft.expiresAt).toBe('2027-01-01T00:00:00Z');
    expect(same!.draft.events.map((e) => e.type)).toEqual(['given', 'given']);
    const [mixed] = draftOf(table('C-1,marketing-analytics,2025-01-01T00:00:00Z,2025-06-01T00:00:00Z,,2025.2,app', 'C-1,churn-modelling,2025-01-02T00:00:00Z,,,2025.2,app'));
    const r = mixed!.draft;
    expect(r.expiresAt).toBeUndefined();
    expect(r.events.at(-1)).toEqual({ type: 'expired', at: '2025-06-01T00:00:00Z', actor: 'system', purposes: ['marketing-analytics'] });
    const record = { recordId: 'CR-x', subjectPseudonym: '00'.repeat(32), ...r };
    expect(evaluateConsent(record, MARKETING, new Date('2025-05-31T00:00:00Z')).included).toBe(true);
    expect(evaluateConsent(record, MARKETING, new Date('2025-06-01T00:00:00Z'))).toEqual({ included: false, reason: 'expired' });
    expect(evaluateConsent(record, CHURN, new Date('2026-01-01T00:00:00Z')).included).toBe(true);
  });

  it('reads the optional flag columns, and separate consent as the legal basis of the row\'s purpose', () => {
    const [a, b] = draftOf(
      `${HEADER},separate_consent,marketing_opt_out,explicit\n` +
        'C-1,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app,是,yes,1\n' +
        'C-1,churn-modelling,2025-01-01T00:00:00Z,,,2025.2,app,,yes,true\n' +
        'C-2,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,APP,0,No,否\n',
    );
    expect(a!.draft.separateConsent).toBe(true);
    expect(a!.draft.purposes.map((p) => p.legalBasis)).toEqual(['separate-consent', 'consent']);
    expect(a!.draft.personalisedMarketingOptOut).toBe(true);
    expect(b!.draft).toMatchObject({ explicit: false, separateConsent: false, personalisedMarketingOptOut: false, channel: 'app' });
  });

  it('a sensitive purpose needs the row\'s separate consent to count', () => {
    const registry: PurposeRegistry = parsePurposeRegistry(
      {
        ...DEFAULT_PURPOSE_REGISTRY,
        purposes: [{ ...MARKETING, name: 'health-offers', legalBasis: 'separate-consent', sensitiveAllowed: true, allowedFields: ['customer.health_condition', 'order.amount'] }],
        pias: [{ ...DEFAULT_PURPOSE_REGISTRY.pias[0]!, purpose: 'health-offers' }],
      },
      DEFAULT_FIELD_CLASSIFICATION,
    );
    const purpose = registry.purposes[0]!;
    const drafts = draftOf(
      `${HEADER},separate_consent\nC-1,health-offers,2025-01-01T00:00:00Z,,,2025.2,app,true\nC-2,health-offers,2025-01-01T00:00:00Z,,,2025.2,app,false\n`,
      { registry },
    );
    expect(drafts[0]!.draft.purposes[0]).toMatchObject({ legalBasis: 'separate-consent', sensitive: true, dataCategories: ['health', 'transaction'] });
    const at = new Date('2025-02-01T00:00:00Z');
    const rec = (i: number) => ({ recordId: 'CR-x', subjectPseudonym: '00'.repeat(32), ...drafts[i]!.draft });
    expect(evaluateConsent(rec(0), purpose, at).included).toBe(true);
    expect(evaluateConsent(rec(1), purpose, at)).toEqual({ included: false, reason: 'sensitive-without-separate-consent' });
  });

  it('skips empty rows, and reads quoted fields, CRLF and a BOM like the plain form', () => {
    const plain = draftOf(table('C-1,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app'));
    const fancy = draftOf(`\uFEFF${HEADER}\r\n,,,,,,\r\n"C-1","marketing-analytics"," 2025-01-01T00:00:00Z ","","","2025.2"," app "\r\n\r\n`);
    expect(fancy).toEqual(plain);
  });

  it('reports every problem of the table at once, in row and column order', () => {
    const lines = problemsOf(() =>
      readConsentTable(
        [
          'customer_id,purpose,purpose,granted_at,notice_version,colour',
          'C-1,marketing-analytics,x,2025-01-01T00:00:00Z,2025.2,red',
          'C-2,churn,x,yesterday,2025.2,red',
        ].join('\n'),
        OPTIONS,
      ),
    );
    expect(lines).toEqual([
      't.csv header (line 1), column purpose: the column appears twice: keep one',
      expect.stringMatching(/^t\.csv header \(line 1\), column colour: unknown column: remove it or rename it to one of customer_id, purpose/),
      't.csv header (line 1), column channel: this required column is missing from the header: add it',
      expect.stringMatching(/^t\.csv row 2 \(line 3\), column purpose: 'churn' is not a registered purpose/),
      expect.stringMatching(/^t\.csv row 2 \(line 3\), column granted_at: 'yesterday' is not a time: write it like 2025-03-04T05:06:07Z/),
    ]);
  });

  it('refuses rows of one customer that contradict each other', () => {
    const lines = problemsOf(() =>
      readConsentTable(
        `${HEADER},marketing_opt_out\n` +
          'C-1,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app,no\n' +
          'C-1,churn-modelling,2025-01-01T00:00:00Z,,,2025.2,app,yes\n' +
          'C-2,marketing-analytics,2025-01-01T00:00:00Z,2025-05-01T00:00:00Z,,2025.2,app,\n' +
          'C-2,marketing-analytics,2025-04-01T00:00:00Z,,,2025.2,app,\n' +
          'C-3,marketing-analytics,2025-01-01T00:00:00Z,,2025-04-01T00:00:00Z,2025.2,app,\n' +
          'C-3,marketing-analytics,2025-04-01T00:00:00Z,,,2025.2,app,\n',
        OPTIONS,
      ),
    );
    expect(lines).toEqual([
      expect.stringMatching(/^t\.csv row 2 \(line 3\), column marketing_opt_out: differs from row 1 of the same customer/),
      expect.stringMatching(/^t\.csv row 4 \(line 5\), column granted_at: row 3 gives the same customer the same purpose and is still in force/),
    ]);
  });

  it('refuses a header without rows, a missing header, a broken quote and ids with spaces around them', () => {
    expect(problemsOf(() => readConsentTable(HEADER, OPTIONS))).toEqual([expect.stringMatching(/header but no rows/)]);
    expect(problemsOf(() => readConsentTable('', OPTIONS))).toEqual([expect.stringMatching(/^t\.csv header \(line 1\): the file has no header/)]);
    expect(problemsOf(() => readConsentTable(table('C-1,"marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app'), OPTIONS))).toEqual([
      expect.stringMatching(/^t\.csv row 1 \(line 2\): a quoted field is not closed.*fix this first/),
    ]);
    expect(problemsOf(() => readConsentTable(table(' C-1,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app'), OPTIONS))).toEqual([
      expect.stringMatching(/column customer_id: the customer id starts or ends with spaces/),
    ]);
  });
});

describe('decodeConsentTable', () => {
  it('decodes GB18030 and names the line of the first invalid UTF-8 byte', () => {
    const gb = Buffer.from([...Buffer.from('a,b\nx,'), 0xc3, 0xc5, 0xb5, 0xea]);
    expect(decodeConsentTable(gb, 'gb18030', 'f.csv')).toBe('a,b\nx,门店');
    expect(problemsOf(() => decodeConsentTable(gb, 'utf-8', 'f.csv'))).toEqual([expect.stringMatching(/^f\.csv \(line 2\): the file is not valid UTF-8.*--encoding gb18030/)]);
    const utf8WithBom = Buffer.from('\uFEFFa,b\n', 'utf8');
    expect(decodeConsentTable(utf8WithBom, 'utf-8', 'f.csv')).toBe('a,b\n');
    expect(problemsOf(() => decodeConsentTable(utf8WithBom, 'gb18030', 'f.csv'))).toEqual([expect.stringMatching(/UTF-8 byte-order mark.*without --encoding gb18030/)]);
  });
});

describe('keyConsentTable', () => {
  it('pseudonymises with the key: HMAC-SHA-256 of the customer id, record ids derived from it', () => {
    const entries = keyConsentTable(readConsentTable(table('会员-1,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app'), OPTIONS), KEY);
    const hmac = createHmac('sha256', KEY).update('会员-1', 'utf8').digest('hex');
    expect(entries[0]!.record.subjectPseudonym).toBe(hmac);
    expect(entries[0]!.record.recordId).toBe(`CR-${hmac.slice(0, 32)}`);
  });
});

describe('importConsentCsv', () => {
  it('writes nothing, not even the key, when the table has a problem, and leaves no temporary file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fedmart-import-unit-'));
    const data = join(root, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'consents.jsonl'), 'old\n');
    writeFileSync(join(root, 'bad.csv'), table('C-1,marketing-analytics,nope,,,2025.2,app'));
    const options = { csvPath: join(root, 'bad.csv'), dataDir: data, stateDir: join(root, 'state'), controller: 'X', notices: NOTICES };
    await expect(importConsentCsv(options)).rejects.toBeInstanceOf(ConsentImportError);
    expect(readFileSync(join(data, 'consents.jsonl'), 'utf8')).toBe('old\n');
    expect(readdirSync(root).sort()).toEqual(['bad.csv', 'data']);
    writeFileSync(join(root, 'good.csv'), table('C-1,marketing-analytics,2025-01-01T00:00:00Z,,,2025.2,app'));
    const r = await importConsentCsv({ ...options, csvPath: join(root, 'good.csv') });
    expect(r).toMatchObject({ rows: 1, customers: 1, keyCreated: true, legacyKey: false, keyPath: join(root, 'state', 'pseudonym.key') });
    expect(readdirSync(data)).toEqual(['consents.jsonl']);
    await expect(importConsentCsv({ ...options, csvPath: join(root, 'missing.csv') })).rejects.toThrow(/missing\.csv: 1 problem/);
  });
});

describe('the CSV parser option the import uses', () => {
  it('fieldCount any returns short and long records instead of failing', () => {
    expect(() => parseCsv('a,b\n1\n')).toThrow(/expected 2 fields, found 1/);
    expect(parseCsv('a,b\n1\n1,2,3\n', { fieldCount: 'any' }).map((r) => r.fields)).toEqual([['a', 'b'], ['1'], ['1', '2', '3']]);
  });
});

/** An independent CSV writer: every field quoted, quotes doubled. */
const csvLine = (fields: readonly string[], eol: string): string => `${fields.map((f) => `"${f.split('"').join('""')}"`).join(',')}${eol}`;

describe('property: any table of valid rows', () => {
  const customerId = fc
    .string({ unit: fc.constantFrom('C', '-', '1', ',', '"', '\n', '门', '店', ' ', 'é'), minLength: 1, maxLength: 10 })
    .filter((s) => s === s.trim());
  const row = fc.record({
    customerId,
    purpose: fc.constantFrom('marketing-analytics', 'churn-modelling'),
    grantedDay: fc.integer({ min: 0, max: 1000 }),
    withdrawnAfter: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
    channel: fc.constantFrom('app', 'web', '门店', 'call-centre', '客服'),
    version: fc.constantFrom('2024.1', '2025.2'),
  });

  it('imports every customer once, under its HMAC pseudonym, and the loader reads it back', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fedmart-import-prop-'));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 25 }), fc.constantFrom('\n', '\r\n'), async (rows, eol) => {
        // One row per customer and purpose (periods of one purpose may not overlap).
        const seen = new Set<string>();
        const unique = rows.filter((r) => !seen.has(`${r.customerId}\u0000${r.purpose}`) && seen.add(`${r.customerId}\u0000${r.purpose}`));
        const day = (d: number): string => isoSecondsUtc(Date.UTC(2023, 0, 1) / 1000 + d * 86_400);
        const text =
          csvLine(HEADER.split(','), eol) +
          unique
            .map((r) => csvLine([r.customerId, r.purpose, day(r.grantedDay), '', r.withdrawnAfter === undefined ? '' : day(r.grantedDay + r.withdrawnAfter), r.version, r.channel], eol))
            .join('');
        const t = readConsentTable(text, OPTIONS);
        const customers = [...new Set(unique.map((r) => r.customerId))];
        expect(t.rows).toBe(unique.length);
        expect(t.drafts.map((d) => d.customerId)).toEqual(customers);
        for (const { customerId: id, draft } of t.drafts) {
          const mine = unique.filter((r) => r.customerId === id);
          expect(draft.events.length).toBe(mine.length + mine.filter((r) => r.withdrawnAfter !== undefined).length);
          expect(new Set(draft.purposes.map((p) => p.purpose))).toEqual(new Set(mine.map((r) => r.purpose)));
        }
        const entries = keyConsentTable(t, KEY);
        for (const { customerId: id, record } of entries) expect(record.subjectPseudonym).toBe(createHmac('sha256', KEY).update(id, 'utf8').digest('hex'));
        const dir = join(root, String(n++));
        mkdirSync(dir);
        writeFileSync(join(dir, 'table.csv'), text);
        await importConsentCsv({ csvPath: join(dir, 'table.csv'), dataDir: dir, stateDir: join(root, 'state'), controller: 'X', notices: NOTICES });
        const { key } = await loadShopPseudonymKey(dir, { stateDir: join(root, 'state') });
        const ledger = await loadConsentLedger(dir, { pseudonymKey: key });
        expect(ledger.customerIds().sort()).toEqual([...customers].sort());
      }),
      { numRuns: 60 },
    );
  });
});
