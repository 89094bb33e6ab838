/**
 * Argument parsing shared by the subcommands: node:util parseArgs plus a
 * typed error that the CLI turns into one clear line and exit code 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
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
