import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser, ShopDataError, parseCsv } from '../../client-sdk/csv.js';

/**
 * An independent, deliberately simple RFC 4180 writer: quote a field when it
 * holds a special character or is empty (an unquoted empty single field would
 * be indistinguishable from a missing final line break), double quotes.
 */
function writeCsv(rows: readonly (readonly string[])[], eol: string, finalEol: boolean, bom: boolean): string {
  const field = (s: string): string => (s === '' || /[",\r\n]/.test(s) ? `"${s.split('"').join('""')}"` : s);
  const body = rows.map((r) => r.map(field).join(',')).join(eol);
  return (bom ? '\uFEFF' : '') + body + (finalEol && rows.length > 0 ? eol : '');
}

/** Strings rich in CSV-special characters, plus arbitrary Unicode. */
const cell = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\r', '\n', ' ', '张', '\t'), maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);

const table = fc
  .integer({ min: 1, max: 5 })
  .chain((cols) => fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { maxLength: 12 }));

function errorOf(fn: () => unknown): ShopDataError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ShopDataError) return err;
    throw err;
  }
  throw new Error('expected a ShopDataError');
}

describe('parseCsv', () => {
  it('reads quoted fields, escaped quotes, CRLF and a BOM', () => {
    const text = '\uFEFFid,note\r\n1,"a, ""quoted""\r\nline"\r\n2,plain';
    expect(parseCsv(text).map((r) => r.fields)).toEqual([
      ['id', 'note'],
      ['1', 'a, "quoted"\r\nline'],
      ['2', 'plain'],
    ]);
  });

  it('numbers data rows from 1 after the header and tracks physical lines', () => {
    const records = parseCsv('h\n"x\ny"\nz\n');
    expect(records.map((r) => [r.row, r.line])).toEqual([
      [0, 1],
      [1, 2],
      [2, 4],
    ]);
  });

  it('treats a blank line as one empty field and empty input as no records', () => {
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('\uFEFF')).toEqual([]);
    expect(parseCsv('a\n\nb\n').map((r) => r.fields)).toEqual([['a'], [''], ['b']]);
    expect(parseCsv('a,\n,b').map((r) => r.fields)).toEqual([
      ['a', ''],
      ['', 'b'],
    ]);
  });

  it('round-trips any table written by an independent writer', () => {
    fc.assert(
      fc.property(table, fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean(), (rows, eol, finalEol, bom) => {
        const parsed = parseCsv(writeCsv(rows, eol, finalEol, bom)).map((r) => r.fields);
        expect(parsed).toEqual(rows);
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same records however the text is split into chunks', () => {
    fc.assert(
      fc.property(table, fc.array(fc.nat(), { maxLength: 8 }), (rows, cuts) => {
        const text = writeCsv(rows, '\r\n', true, true);
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const parser = new CsvParser();
        const out: string[][] = [];
        let prev = 0;
        for (const p of [...points, text.length]) {
          for (const r of parser.push(text.slice(prev, p))) out.push(r.fields);
          prev = p;
        }
        for (const r of parser.end()) out.push(r.fields);
        expect(out).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseCsv errors', () => {
  it.each([
    ['a,b\n1,2\n3\n', 'FIELD_COUNT', 2, 3],
    ['a,b\n1,"open\n2,3\n', 'CSV_SYNTAX', 1, 2],
    ['a,b\n1,x"y\n', 'CSV_SYNTAX', 1, 2],
    ['a,b\n"1"x,2\n', 'CSV_SYNTAX', 1, 2],
    ['a,b\n1,2\r3,4\n', 'CSV_SYNTAX', 1, 2],
  ])('%j → %s at row %i', (text, code, row, line) => {
    const err = errorOf(() => parseCsv(text, { file: 'orders.csv' }));
    expect(err.code).toBe(code);
    expect(err.row).toBe(row);
    expect(err.line).toBe(line);
    expect(err.file).toBe('orders.csv');
    expect(err.table).toBe('orders');
    expect(err.message).toMatch(new RegExp(`^orders\\.csv row ${row} \\(line ${line}\\): `));
    expect(err.message).not.toMatch(/\n/);
  });

  it('names the row of a malformed record anywhere in a valid file', () => {
    fc.assert(
      fc.property(table, fc.nat(), fc.constantFrom('x"y', '"a"b', 'a"', '"a" '), (rows, at, bad) => {
        const cols = rows[0]?.length ?? 1;
        const good = rows.length > 0 ? rows : [Array.from({ length: cols }, () => 'h')];
        const k = 1 + (at % good.length); // data row number of the bad record
        const badRow = [bad, ...Array.from({ length: cols - 1 }, () => 'v')];
        const field = (s: string): string => (s === '' || /[",\r\n]/.test(s) ? `"${s.split('"').join('""')}"` : s);
        const line = (r: readonly string[]): string => r.map(field).join(',');
        const lines = [...good.slice(0, k).map(line), badRow.join(','), ...good.slice(k).map(line)];
        const text = `${lines.join('\n')}\n`;
        const err = errorOf(() => parseCsv(text));
        expect(err.code).toBe('CSV_SYNTAX');
        expect(err.row).toBe(k);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses fields longer than the limit', () => {
    const err = errorOf(() => parseCsv(`a\n"${'x'.repeat(50)}"\n`, { maxFieldLength: 10 }));
    expect(err.code).toBe('FIELD_TOO_LONG');
    expect(err.row).toBe(1);
  });

  it('checks its arguments', () => {
    expect(() => parseCsv(42 as unknown as string)).toThrow(TypeError);
    expect(() => new CsvParser({ maxFieldLength: 0 })).toThrow(/maxFieldLength/);
  });
});
