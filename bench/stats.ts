/**
 * Timing primitives: medians of wall-clock (`performance.now`) and process
 * CPU time (`process.cpuUsage`, user + system, all threads) per operation.
 *
 * Each sample runs `opsPerSample` operations back to back, so operations far
 * shorter than the timers' microsecond resolution can still be measured.
 * Warm-up samples run first and are discarded.
 */
import { performance } from 'node:perf_hooks';

/** Median of a non-empty list (mean of the two middle values for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('values must not be empty');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Process CPU time consumed so far, in milliseconds. */
export function cpuMsNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median cost of one operation. */
export interface Timing {
  /** Median wall-clock milliseconds per operation. */
  readonly wallMs: number;
  /** Median process CPU milliseconds per operation. */
  readonly cpuMs: number;
  /** Number of recorded samples (warm-up excluded). */
  readonly samples: number;
  /** Operations per sample. */
  readonly opsPerSample: number;
}

export interface SampleOptions {
  readonly warmup: number;
  readonly samples: number;
  readonly opsPerSample?: number;
}

/** Keeps results alive so the engine cannot drop the measured work. */
let sink: unknown;
export function consume(value: unknown): void {
  sink = value;
}
export function lastConsumed(): unknown {
  return sink;
}

/**
 * Runs `op(i)` for `warmup` discarded samples and `samples` recorded ones,
 * each of `opsPerSample` calls; `i` counts calls from 0 across all samples.
 */
export function sample(op: (i: number) => unknown, options: SampleOptions): Timing {
  const ops = options.opsPerSample ?? 1;
  if (!Number.isInteger(options.samples) || options.samples < 1) throw new RangeError('samples must be a positive integer');
  if (!Number.isInteger(ops) || ops < 1) throw new RangeError('opsPerSample must be a positive integer');
  const wall: number[] = [];
  const cpu: number[] = [];
  let i = 0;
  for (let s = 0; s < options.warmup + options.samples; s++) {
    const c0 = cpuMsNow();
    const t0 = performance.now();
    for (let k = 0; k < ops; k++) consume(op(i++));
    const t1 = performance.now();
    const c1 = cpuMsNow();
    if (s >= options.warmup) {
      wall.push((t1 - t0) / ops);
      cpu.push((c1 - c0) / ops);
    }
  }
  return { wallMs: median(wall), cpuMs: median(cpu), samples: options.samples, opsPerSample: ops };
}

/** Stage-by-stage timer for one pass through a pipeline (e.g. encode, encrypt, sign). */
export class StageClock {
  #t = performance.now();
  /** Milliseconds since the previous lap (or construction). */
  lap(): number {
    const now = performance.now();
    const d = now - this.#t;
    this.#t = now;
    return d;
  }
}

/** The value at quantile `p` (0..1) of an ascending array (nearest rank below), 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}
