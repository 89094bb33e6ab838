/**
 * Strict JSON-lines reading for shop exports declared `format: 'jsonl'`: one
 * JSON object per line, UTF-8 only (an optional BOM), LF or CRLF line ends,
 * no blank line except after the last record. Lines stream through one at a
 * time, so files of any size are read in constant memory apart from the
 * current line. Every problem is a {@link ShopDataError} naming file, row
 * (= the record's 1-based line) and line.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { ShopDataError } from './csv.js';

/** One parsed line: a JSON object whose members are the table's columns. */
export interface JsonlRecord {
  readonly object: Readonly<Record<string, unknown>>;
  /** 1-based data row; for JSON lines the same as the line. */
  readonly row: number;
  readonly line: number;
}

/** Context for error messages and limits. */
export interface JsonlOptions {
  readonly file: string;
  readonly table: string;
  /** Longest line accepted, in UTF-16 code units. Default 1 MiB. */
  readonly maxLineLength?: number;
}

const DEFAULT_MAX_LINE = 1 << 20;

/**
 * Splits text pushed in chunks into records. `push` returns the records
 * completed by the chunk, `end` the last one (a final line without a line
 * break is a record).
 */
export class JsonlParser {
  private pending = '';
  private line = 0;
  private blankAt: number | undefined;
  private readonly maxLineLength: number;

  constructor(private readonly options: JsonlOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options: expected { file, table }');
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE;
    if (!Number.isSafeInteger(this.maxLineLength) || this.maxLineLength < 1) throw new RangeError('options.maxLineLength: expected a positive integer');
  }

  push(chunk: string): JsonlRecord[] {
    if (typeof chunk !== 'string') throw new TypeError('chunk: expected a string');
    const out: JsonlRecord[] = [];
    let text = this.pending + chunk;
    if (this.line === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      const raw = text.slice(start, nl);
      start = nl + 1;
      const rec = this.record(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
      if (rec !== undefined) out.push(rec);
    }
    this.pending = text.slice(start);
    if (this.pending.length > this.maxLineLength) throw this.error('FIELD_TOO_LONG', this.line + 1, `a line is longer than ${this.maxLineLength} characters`);
    return out;
  }

  end(): JsonlRecord[] {
    const rest = this.pending;
    this.pending = '';
    if (rest === '') return [];
    const rec = this.record(rest);
    if (this.blankAt !== undefined) throw this.error('JSON_SYNTAX', this.blankAt, 'a blank line before the end of the file');
    return rec === undefined ? [] : [rec];
  }

  private record(text: string): JsonlRecord | undefined {
    this.line++;
    if (text.length > this.maxLineLength) throw this.error('FIELD_TOO_LONG', this.line, `a line is longer than ${this.maxLineLength} characters`);
    if (text.trim() === '') {
      this.blankAt ??= this.line;
      return undefined;
    }
    if (this.blankAt !== undefined) throw this.error('JSON_SYNTAX', this.blankAt, 'a blank line before the end of the file');
    if (text.includes('\r')) throw this.error('JSON_SYNTAX', this.line, 'a carriage return inside a line');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw this.error('JSON_SYNTAX', this.line, `not JSON (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.error('JSON_SYNTAX', this.line, 'expected a JSON object');
    return { object: value as Record<string, unknown>, row: this.line, line: this.line };
  }

  private error(code: 'JSON_SYNTAX' | 'FIELD_TOO_LONG', line: number, detail: string): ShopDataError {
    return new ShopDataError({ code, table: this.options.table, file: this.options.file, row: line, line, detail });
  }
}

/** Parses a whole JSON-lines text. */
export function parseJsonl(text: string, options: JsonlOptions): JsonlRecord[] {
  if (typeof text !== 'string') throw new TypeError('text: expected a string');
  const parser = new JsonlParser(options);
  return [...parser.push(text), ...parser.end()];
}

/**
 * Streams the records of a UTF-8 JSON-lines file. Invalid UTF-8 is an
 * `ENCODING` error; a missing file is `FILE_MISSING`.
 */
export async function* readJsonlRecords(path: string, options: JsonlOptions): AsyncGenerator<JsonlRecord, void, undefined> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  const parser = new JsonlParser(options);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const decode = (bytes: Uint8Array | undefined): string => {
    try {
      return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
    } catch {
      throw new ShopDataError({ code: 'ENCODING', table: options.table, file: options.file, detail: 'the file is not valid UTF-8' });
    }
  };
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield* parser.push(decode(chunk));
  } catch (err) {
    if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ShopDataError({ code: 'FILE_MISSING', table: options.table, file: options.file, detail: 'the file does not exist' });
    }
    throw err;
  } finally {
    stream.destroy();
  }
  yield* parser.push(decode(undefined));
  yield* parser.end();
}
