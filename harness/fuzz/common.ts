/**
 * What every fuzz target shares: its shape, hostile-input arbitraries
 * (random bytes, mutated valid messages, oversized inputs, wrong protobuf
 * wire types) and the runner that checks the property and counts outcomes.
 *
 * A target's `run` returns an outcome label (`OK`, or the precise error code
 * it was refused with) and throws {@link PropertyViolation} when the answer
 * is imprecise (INTERNAL, a 5xx, a TypeError from inside a parser) or when a
 * refused input changed state.
 */
import fc from 'fast-check';
import type { FuzzEnv } from './env.js';

/** The property was broken: the runner reports it with the input. */
export class PropertyViolation extends Error {
  override readonly name = 'PropertyViolation';
}

export function violation(message: string): never {
  throw new PropertyViolation(message);
}

export interface PreparedTarget<I = unknown> {
  readonly arbitrary: fc.Arbitrary<I>;
  /** Feeds one input; resolves with the outcome label or throws PropertyViolation. */
  run(input: I): Promise<string>;
  /** Checked once after a run: the server still answers, nothing leaked. */
  after?(): Promise<void>;
}

export interface FuzzTarget {
  readonly name: string;
  /** Slow targets (whole contribution streams) get fewer runs in the test files. */
  readonly slow?: boolean;
  prepare(env: FuzzEnv): Promise<PreparedTarget<any>>;
}

export interface TargetReport {
  readonly target: string;
  readonly runs: number;
  readonly outcomes: Record<string, number>;
  readonly ms: number;
  /** Heap used after minus before, in bytes (after a GC when `global.gc` exists). */
  readonly heapGrowth: number;
  /** The first property violation, with its counterexample, or null. */
  readonly failure: string | null;
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Runs `runs` cases of a prepared target with fast-check; never throws. */
export async function runTarget(
  name: string,
  prepared: PreparedTarget<any>,
  options: { runs: number; seed?: number; onProgress?: (done: number) => void },
): Promise<TargetReport> {
  const outcomes: Record<string, number> = {};
  let done = 0;
  const heapBefore = heapUsed();
  const start = performance.now();
  let failure: string | null = null;
  const result = await fc.check(
    fc.asyncProperty(prepared.arbitrary, async (input) => {
      const label = await prepared.run(input);
      outcomes[label] = (outcomes[label] ?? 0) + 1;
      done++;
      if (options.onProgress && done % 250 === 0) options.onProgress(done);
    }),
    { numRuns: options.runs, ...(options.seed !== undefined ? { seed: options.seed } : {}), endOnFailure: true },
  );
  if (result.failed) {
    const err = result.errorInstance;
    failure = `${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} (seed ${result.seed}, path ${result.counterexamplePath}); input ${fc.stringify(result.counterexample).slice(0, 600)}`;
  }
  if (prepared.after) {
    try {
      await prepared.after();
    } catch (err) {
      failure ??= `after the run: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  const ms = Math.round(performance.now() - start);
  return { target: name, runs: done, outcomes, ms, heapGrowth: heapUsed() - heapBefore, failure };
}

// ---------------------------------------------------------------------------
// Hostile bytes

/** One edit of a byte string. */
type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'zero'; at: number; length: number };

/** Uniform in [0, 1) (fc.double is uniform over representable doubles, nearly all of them tiny). */
const fraction = fc.noBias(fc.integer({ min: 0, max: 2 ** 30 - 1 })).map((n) => n / 2 ** 30);
const smallBytes = fc.uint8Array({ maxLength: 64 });

const editArb: fc.Arbitrary<{ kind: Edit['kind']; f: number; g: number; bytes: Uint8Array; bit: number }> = fc.record({
  kind: fc.constantFrom<Edit['kind']>('flip', 'flip', 'flip', 'truncate', 'extend', 'insert', 'overwrite', 'duplicate', 'zero'),
  f: fraction,
  g: fraction,
  bytes: smallBytes,
  bit: fc.integer({ min: 0, max: 7 }),
});

function applyEdit(b: Uint8Array, e: { kind: Edit['kind']; f: number; g: number; bytes: Uint8Array; bit: number }): Uint8Array {
  const at = Math.floor(e.f * (b.length + 1));
  switch (e.kind) {
    case 'flip': {
      if (b.length === 0) return b;
      const out = Uint8Array.from(b);
      const i = Math.min(b.length - 1, at);
      out[i] = (out[i] as number) ^ (1 << e.bit);
      return out;
    }
    case 'truncate':
      return b.subarray(0, at);
    case 'extend': {
      const out = new Uint8Array(b.length + e.bytes.length);
      out.set(b);
      out.set(e.bytes, b.length);
      return out;
    }
    case 'insert': {
      const out = new Uint8Array(b.length + e.bytes.length);
      out.set(b.subarray(0, at));
      out.set(e.bytes, at);
      out.set(b.subarray(at), at + e.bytes.length);
      return out;
    }
    case 'overwrite': {
      const out = Uint8Array.from(b);
      out.set(e.bytes.subarray(0, Math.max(0, b.length - at)), Math.min(at, b.length));
      return out;
    }
    case 'duplicate': {
      const len = Math.floor(e.g * Math.min(4096, b.length - Math.min(at, b.length)));
      const piece = b.subarray(Math.min(at, b.length), Math.min(at, b.length) + len);
      const out = new Uint8Array(b.length + piece.length);
      out.set(b.subarray(0, at));
      out.set(piece, at);
      out.set(b.subarray(at), at + piece.length);
      return out;
    }
    case 'zero': {
      const out = Uint8Array.from(b);
      out.fill(0, Math.min(at, b.length), Math.min(b.length, at + 1 + Math.floor(e.g * 64)));
      return out;
    }
  }
}

/** 1–4 edits (bit flips, truncation, extension, insertion, overwrite, duplication) of one of `seeds`. */
export function mutatedBytes(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(editArb, { minLength: 1, maxLength: 4 }))
    .map(([i, edits]) => edits.reduce(applyEdit, seeds[i] as Uint8Array));
}

/** Protobuf wire encoding of arbitrary fields with arbitrary wire types: the "wrong types" case. */
export const wireGarbage: fc.Arbitrary<Uint8Array> = fc
  .array(fc.record({ field: fc.integer({ min: 1, max: 20 }), wire: fc.integer({ min: 0, max: 7 }), value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), bytes: fc.uint8Array({ maxLength: 48 }) }), { maxLength: 8 })
  .map((fields) => {
    const out: number[] = [];
    const varint = (v: bigint) => {
      do {
        let byte = Number(v & 0x7fn);
        v >>= 7n;
        if (v > 0n) byte |= 0x80;
        out.push(byte);
      } while (v > 0n);
    };
    for (const f of fields) {
      varint(BigInt((f.field << 3) | f.wire));
      if (f.wire === 0) varint(f.value);
      else if (f.wire === 1) for (let i = 0; i < 8; i++) out.push(Number((f.value >> BigInt(8 * i)) & 0xffn));
      else if (f.wire === 2) {
        varint(BigInt(f.bytes.length));
        out.push(...f.bytes);
      } else if (f.wire === 5) for (let i = 0; i < 4; i++) out.push(Number((f.value >> BigInt(8 * i)) & 0xffn));
      else out.push(...f.bytes.subarray(0, 4)); // groups and invalid wire types 6, 7
    }
    return Uint8Array.from(out);
  });

/** A large input that costs nothing to generate: `size` copies of one byte. */
export const oversized = (min: number, max: number): fc.Arbitrary<Uint8Array> =>
  fc.tuple(fc.integer({ min, max }), fc.integer({ min: 0, max: 255 })).map(([n, v]) => new Uint8Array(n).fill(v));

/** Random bytes, mutated seeds, wrong wire types and (rarely) oversized bytes. */
export function hostileBytes(seeds: readonly Uint8Array[], options: { oversize?: [number, number] } = {}): fc.Arbitrary<Uint8Array> {
  const arbs: fc.WeightedArbitrary<Uint8Array>[] = [
    { arbitrary: fc.uint8Array({ maxLength: 512 }), weight: 3 },
    { arbitrary: mutatedBytes(seeds), weight: 6 },
    { arbitrary: wireGarbage, weight: 3 },
  ];
  if (options.oversize) arbs.push({ arbitrary: oversized(options.oversize[0], options.oversize[1]), weight: 1 });
  return fc.oneof(...arbs);
}

/** Strings hostile to identifiers and paths. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '.', '..', '../../etc/passwd', '%00', '\u0000', 'a'.repeat(300), '\ud800', 'null', '-1', '1e309', '__proto__', 'constructor', '<script>'),
  fc.integer({ min: 129, max: 20_000 }).map((n) => 'x'.repeat(n)),
);

/** Replaces, deletes, adds or swaps fields of a JSON-like object, recursively by one random path. */
export function mutatedJson(seed: unknown): fc.Arbitrary<unknown> {
  return fc.tuple(fc.array(fraction, { minLength: 1, maxLength: 6 }), fc.constantFrom('replace', 'delete', 'add', 'swap', 'type'), fc.jsonValue({ maxDepth: 2 }), hostileString)
    .map(([path, op, value, key]) => {
      const root = structuredClone(seed) as unknown;
      let parent: Record<string, unknown> | unknown[] | null = null;
      let parentKey: string | number = '';
      let node: unknown = root;
      for (const f of path) {
        if (typeof node !== 'object' || node === null) break;
        const keys = Object.keys(node);
        if (keys.length === 0) break;
        const k = keys[Math.floor(f * keys.length)] as string;
        parent = node as Record<string, unknown>;
        parentKey = Array.isArray(node) ? Number(k) : k;
        node = (node as Record<string, unknown>)[k];
      }
      if (parent === null) return op === 'delete' ? undefined : value;
      const p = parent as Record<string | number, unknown>;
      if (op === 'replace') p[parentKey] = value;
      else if (op === 'type') p[parentKey] = typeof node === 'string' ? 1 : typeof node === 'number' ? String(node) : Array.isArray(node) ? {} : typeof node === 'object' ? [] : null;
      else if (op === 'delete') {
        if (Array.isArray(p)) p.splice(Number(parentKey), 1);
        else delete p[parentKey];
      } else if (op === 'add') {
        if (Array.isArray(p)) p.push(value);
        else p[key] = value;
      } else {
        const keys = Object.keys(p);
        const other = keys[Math.floor(path[0]! * keys.length)] as string;
        const tmp = p[other];
        p[other] = p[parentKey];
        p[parentKey] = tmp;
      }
      return root;
    });
}

/** Increments a label's counter. */
export function count(map: Record<string, number>, label: string): void {
  map[label] = (map[label] ?? 0) + 1;
}
