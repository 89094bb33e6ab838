/**
 * Strict RFC 4180 CSV parsing for shop exports, without dependencies.
 *
 * Strict on purpose: a lenient parser silently turns a malformed export into
 * shifted columns, and a shifted column in `amount` is a wrong aggregate that
 * nobody can see after encryption. So: quotes only around whole fields,
 * `""` as the only escape, every record the same number of fields, line
 * breaks CRLF or LF (a bare CR outside quotes is an error), an optional UTF-8
 * BOM, and a final line break that may or may not be there. Every error is a
 * {@link ShopDataError} naming the file, the data row and the physical line.
 *
 * The parser is incremental (`push` chunks, then `end`), so files of any size
 * stream through in constant memory apart from the current record.
 *
 * @module
 */
import { createReadStream } from 'node:fs';

/** Machine-readable cause of a {@link ShopDataError}. */
export type ShopDataErrorCode =
  | 'CSV_SYNTAX'
  | 'JSON_SYNTAX'
  | 'FIELD_COUNT'
  | 'FIELD_TOO_LONG'
  | 'ENCODING'
  | 'FILE_MISSING'
  | 'SCHEMA_INVALID'
  | 'MISSING_COLUMN'
  | 'UNKNOWN_COLUMN'
  | 'DUPLICATE_COLUMN'
  | 'BAD_VALUE'
  | 'DUPLICATE_ID'
  | 'UNKNOWN_CUSTOMER';

/** Most problems one load reports before it stops reading. */
export const MAX_REPORTED_PROBLEMS = 100;

/** Where in a shop's export something went wrong. */
export interface ShopDataErrorDetails {
  readonly code: ShopDataErrorCode;
  /** Logical table (`customers`, `orders`, `schema`). */
  readonly table: string;
  /** File name as shown to the user, e.g. `orders.csv`. */
  readonly file: string;
  /** 1-based data row; 0 is the header; undefined when not about a row. */
  readonly row?: number;
  /** The shop's column name, when the problem is in one column. */
  readonly column?: string;
  /** 1-based physical line, for syntax errors. */
  readonly line?: number;
  /** What is wrong, without the location (the message adds it). */
  readonly detail: string;
}

/**
 * A shop's data could not be read as declared. The message is one line:
 * `orders.csv row 17, column amount: '12.3.4' is not a decimal with 2 places`.
 */
export class ShopDataError extends Error {
  override readonly name = 'ShopDataError';
  readonly code: ShopDataErrorCode;
  readonly table: string;
  readonly file: string;
  readonly row: number | undefined;
  readonly column: string | undefined;
  readonly line: number | undefined;
  readonly detail: string;
  /**
   * Every problem found, this one first: the loader reads on past a bad value
   * so one run reports them all (up to {@link MAX_REPORTED_PROBLEMS}).
   */
  readonly problems: readonly ShopDataErrorDetails[];

  constructor(d: ShopDataErrorDetails, more: readonly ShopDataErrorDetails[] = []) {
    super(more.length === 0 ? ShopDataError.format(d) : `${ShopDataError.format(d)}; and ${more.length} more: ${more.map((m) => ShopDataError.format(m)).join('; ')}`);
    this.code = d.code;
    this.table = d.table;
    this.file = d.file;
    this.row = d.row;
    this.column = d.column;
    this.line = d.line;
    this.detail = d.detail;
    this.problems = [d, ...more];
  }

  /** One error carrying every problem (the first is the error's own location); `problems` must not be empty. */
  static of(problems: readonly ShopDataErrorDetails[]): ShopDataError {
    const [first, ...more] = problems;
    if (first === undefined) throw new RangeError('problems: expected at least one');
    return new ShopDataError(first, more);
  }

  private static format(d: ShopDataErrorDetails): string {
    let where = d.file;
    if (d.row !== undefined) where += d.row === 0 ? ' header' : ` row ${d.row}`;
    if (d.line !== undefined) where += ` (line ${d.line})`;
    if (d.column !== undefined) where += `${d.row !== undefined ? ',' : ''} column ${d.column}`;
    return `${where}: ${d.detail.replace(/[\r\n]+/g, ' ')}`;
  }
}

/** One parsed record. */
export interface CsvRecord {
  readonly fields: string[];
  /** 1-based data row (the header is row 0 when `hasHeader`). */
  readonly row: number;
  /** 1-based physical line the record starts on. */
  readonly line: number;
}

/** Context for error messages and limits. */
export interface CsvOptions {
  /** File name used in error messages (default `input.csv`). */
  readonly file?: string;
  /** Table name carried by errors (default: `file` without `.csv`). */
  readonly table?: string;
  /** Whether the first record is a header (row 0). Default true. */
  readonly hasHeader?: boolean;
  /** Longest field accepted, in UTF-16 code units. Default 1 MiB. */
  readonly maxFieldLength?: number;
  /**
   * `same` (default): a record with another number of fields than the first
   * is a `FIELD_COUNT` error. `any`: records are returned as they are, for a
   * caller that reports every such row itself.
   */
  readonly fieldCount?: 'same' | 'any';
  /**
   * Text encoding of the file (`readCsvRecords` only): `utf-8` (default) or
   * `gb18030` (which covers GBK and GB2312: what Excel and WPS save as CSV
   * on Chinese Windows).
   */
  readonly encoding?: 'utf-8' | 'gb18030';
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

const enum State {
  RecordStart,
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  AfterCr,
}

/** Incremental RFC 4180 parser. Feed text with `push`, finish with `end`. */
export class CsvParser {
  private readonly file: string;
  private readonly table: string;
  private readonly firstRow: number;
  private readonly maxFieldLength: number;
  private readonly anyFieldCount: boolean;
  private state = State.RecordStart;
  private field = '';
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private fieldLine = 1;
  private records = 0;
  private expectedFields: number | undefined;
  private seenFirstChunk = false;
  private ended = false;

  constructor(options: CsvOptions = {}) {
    this.file = options.file ?? 'input.csv';
    this.table = options.table ?? this.file.replace(/\.csv$/i, '');
    this.firstRow = options.hasHeader === false ? 1 : 0;
    const max = options.maxFieldLength ?? 1 << 20;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('options.maxFieldLength: expected a positive integer');
    this.maxFieldLength = max;
    this.anyFieldCount = options.fieldCount === 'any';
  }

  /** Parses a chunk; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    if (typeof chunk !== 'string') throw new TypeError('chunk: expected a string');
    if (this.ended) throw new RangeError('chunk: parser already ended');
    const out: CsvRecord[] = [];
    let i = 0;
    if (!this.seenFirstChunk && chunk.length > 0) {
      this.seenFirstChunk = true;
      if (chunk.charCodeAt(0) === 0xfeff) i = 1;
    }
    let seg = i;
    for (; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.state === State.RecordStart) {
        // Any character, even a line break, starts a record (a blank line is one empty field).
        this.recordLine = this.line;
        this.state = State.FieldStart;
      }
      switch (this.state) {
        case State.FieldStart:
          this.fieldLine = this.line;
          if (c === QUOTE) {
            this.state = State.Quoted;
            seg = i + 1;
          } else if (c === COMMA) {
            this.fields.push('');
            this.state = State.FieldStart;
          } else if (c === CR) {
            this.fields.push('');
            this.state = State.AfterCr;
          } else if (c === LF) {
            this.fields.push('');
            this.line++;
            out.push(this.endRecord());
          } else {
            this.state = State.Unquoted;
            seg = i;
          }
          break;
        case State.Unquoted:
          if (c === COMMA || c === CR || c === LF) {
            this.pushField(this.field + chunk.slice(seg, i));
            if (c === COMMA) this.state = State.FieldStart;
            else if (c === CR) this.state = State.AfterCr;
            else {
              this.line++;
              out.push(this.endRecord());
            }
          } else if (c === QUOTE) {
            throw this.syntax('a quote inside an unquoted field (quote the whole field and double the quote)');
          }
          break;
        case State.Quoted:
          if (c === QUOTE) {
            this.field += chunk.slice(seg, i);
            this.state = State.QuoteInQuoted;
          } else if (c === LF) {
            this.line++;
          }
          break;
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
            seg = i + 1;
          } else if (c === COMMA) {
            this.pushField(this.field);
            this.state = State.FieldStart;
          } else if (c === CR) {
            this.pushField(this.field);
            this.state = State.AfterCr;
          } else if (c === LF) {
            this.pushField(this.field);
            this.line++;
            out.push(this.endRecord());
          } else {
            throw this.syntax(`unexpected ${describe(c)} after a closing quote`);
          }
          break;
        case State.AfterCr:
          if (c !== LF) throw this.syntax('a carriage return not followed by a line feed');
          this.line++;
          out.push(this.endRecord());
          break;
      }
    }
    if (this.state === State.Unquoted || this.state === State.Quoted) {
      this.field += chunk.slice(seg);
      if (this.field.length > this.maxFieldLength) throw this.tooLong();
    }
    return out;
  }

  /** Finishes the input; returns the last record if it had no line break. */
  end(): CsvRecord[] {
    if (this.ended) return [];
    this.ended = true;
    switch (this.state) {
      case State.RecordStart:
        return [];
      case State.Quoted:
        throw new ShopDataError({
          code: 'CSV_SYNTAX',
          table: this.table,
          file: this.file,
          row: this.records + this.firstRow,
          line: this.fieldLine,
          detail: 'a quoted field is not closed before the end of the file',
        });
      case State.FieldStart:
        this.fields.push('');
        break;
      case State.Unquoted:
      case State.QuoteInQuoted:
        this.pushField(this.field);
        break;
      case State.AfterCr:
        // A CR as the very last byte is a truncated CRLF: end the record.
        break;
    }
    return [this.endRecord()];
  }

  private pushField(value: string): void {
    if (value.length > this.maxFieldLength) throw this.tooLong();
    this.fields.push(value);
    this.field = '';
  }

  private endRecord(): CsvRecord {
    const row = this.records + this.firstRow;
    const fields = this.fields;
    if (this.expectedFields === undefined) this.expectedFields = fields.length;
    else if (fields.length !== this.expectedFields && !this.anyFieldCount) {
      throw new ShopDataError({
        code: 'FIELD_COUNT',
        table: this.table,
        file: this.file,
        row,
        line: this.recordLine,
        detail: `expected ${this.expectedFields} fields, found ${fields.length}`,
      });
    }
    this.fields = [];
    this.field = '';
    this.records++;
    this.state = State.RecordStart;
    return { fields, row, line: this.recordLine };
  }

  private syntax(detail: string): ShopDataError {
    return new ShopDataError({
      code: 'CSV_SYNTAX',
      table: this.table,
      file: this.file,
      row: this.records + this.firstRow,
      line: this.line,
      detail,
    });
  }

  private tooLong(): ShopDataError {
    return new ShopDataError({
      code: 'FIELD_TOO_LONG',
      table: this.table,
      file: this.file,
      row: this.records + this.firstRow,
      line: this.fieldLine,
      detail: `a field is longer than ${this.maxFieldLength} characters`,
    });
  }
}

function describe(code: number): string {
  return code < 0x20 || code === 0x7f ? `control character U+${code.toString(16).padStart(4, '0')}` : `character '${String.fromCharCode(code)}'`;
}

/** Parses a whole CSV text into records (header first when it has one). */
export function parseCsv(text: string, options: CsvOptions = {}): CsvRecord[] {
  if (typeof text !== 'string') throw new TypeError('text: expected a string');
  const parser = new CsvParser(options);
  const records = parser.push(text);
  for (const r of parser.end()) records.push(r);
  return records;
}

/**
 * Streams the records of a UTF-8 CSV file. Invalid UTF-8 is an `ENCODING`
 * error rather than silently becoming U+FFFD; a missing file is
 * `FILE_MISSING`.
 */
export async function* readCsvRecords(path: string, options: CsvOptions = {}): AsyncGenerator<CsvRecord, void, undefined> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  const file = options.file ?? path;
  const table = options.table ?? file.replace(/\.csv$/i, '');
  const parser = new CsvParser({ ...options, file, table });
  const encoding = options.encoding ?? 'utf-8';
  if (encoding !== 'utf-8' && encoding !== 'gb18030') throw new RangeError(`options.encoding: expected utf-8 or gb18030, got ${String(encoding)}`);
  const decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  const decode = (bytes: Uint8Array | undefined): string => {
    try {
      return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
    } catch {
      throw new ShopDataError({
        code: 'ENCODING',
        table,
        file,
        detail:
          encoding === 'utf-8'
            ? 'the file is not valid UTF-8 (a CSV saved by Excel or WPS on Chinese Windows is GB18030/GBK: declare "encoding": "gb18030" for the table in schema.json)'
            : 'the file is not valid GB18030/GBK (is it UTF-8? then leave encoding out of schema.json)',
      });
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield* parser.push(decode(chunk));
  } catch (err) {
    if (isNodeError(err) && err.code === 'ENOENT') {
      throw new ShopDataError({ code: 'FILE_MISSING', table, file, detail: 'the file does not exist' });
    }
    throw err;
  } finally {
    stream.destroy();
  }
  yield* parser.push(decode(undefined));
  yield* parser.end();
}

function isNodeError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}
