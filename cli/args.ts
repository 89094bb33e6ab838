/**
 * Argument parsing shared by the subcommands: node:util parseArgs plus a
 * typed error that the CLI turns into one clear line and exit code 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseArgsMessage } from '../bench/parse-args-message.js';

/** Bad command-line input: printed as one line, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: readonly string[], options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
}

export function requireString(values: Record<string, string | boolean | undefined>, name: string, fallback?: string): string {
  const v = values[name] ?? fallback;
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

export function integer(values: Record<string, string | boolean | undefined>, name: string, fallback: number, min: number, max: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}`);
  return n;
}

/** Every value of an option declared `multiple: true`, in command-line order (none: []). */
export function strings(values: Readonly<Record<string, unknown>>, name: string): string[] {
  const v = values[name];
  if (v === undefined) return [];
  const list: unknown[] = Array.isArray(v) ? v : [v];
  return list.map((s) => {
    if (typeof s !== 'string' || s.length === 0) throw new UsageError(`--${name} needs a value`);
    return s;
  });
}

/** Prints a machine-readable event line on stdout (logs go to stderr). */
export function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => resolve(sig);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

/**
 * JSON.parse of a command-line value or file; a syntax error becomes one
 * UsageError line naming where it is: `--spec is not valid JSON: expected ','
 * or '}' after property value at line 1, column 7 (offset 6)`.
 */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const reported = /at position (\d+)/.exec(message);
    const offset = reported ? Number(reported[1]) : jsonErrorOffset(text);
    const reason = message
      .replace(/ (in|after) JSON at position \d+.*$/s, (_m, w: string) => (w === 'after' ? ' after the JSON value' : ''))
      .replace(/, (\.\.\.)?".*" is not valid JSON$/s, '')
      .replace(/ of JSON input$/, ' of input')
      .replace(/^./, (c) => c.toLowerCase())
      .split('\n')[0];
    const before = text.slice(0, offset).split('\n');
    const line = before.length;
    const column = (before.at(-1) ?? '').length + 1;
    throw new UsageError(`${what} is not valid JSON: ${reason} at line ${line}, column ${column} (offset ${offset})`);
  }
}

/** The offset of the first JSON syntax error in text (text.length when the input ends too early). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const lit = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail();
      const ch = text[i]!;
      if (ch === '"') return void i++;
      if (ch < ' ') fail();
      if (ch === '\\') {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) ((i += k), fail());
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (ch === '"') return str();
    if (ch === 't') return lit('true');
    if (ch === 'f') return lit('false');
    if (ch === 'n') return lit('null');
    num();
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    return Math.min(at as number, text.length);
  }
}
