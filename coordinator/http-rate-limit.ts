/**
 * Fixed-window rate limits: at most `limit` requests per key (a user id, or
 * a client address for failed authentication and requests without a token)
 * in each window of `windowMs`. A refused request learns when the window
 * ends, for the Retry-After header of the 429 problem. With shared
 * counters (`rate-windows.ts`) every coordinator on the database counts
 * into one window per key; without them, or while the database does not
 * answer, this process counts in its own memory. gRPC limits
 * (`grpc-rate-limit.ts`) use the same class.
 */
import type { RateWindows } from './rate-windows.js';

export interface RateLimitOptions {
  readonly limit: number;
  readonly windowMs: number;
}

export type RateDecision = { readonly ok: true; readonly remaining: number } | { readonly ok: false; readonly retryAfterSeconds: number; readonly retryAfterMs: number };

/** Counters in the database, and the name this limiter's keys are counted under there. */
export interface SharedCounters {
  readonly windows: RateWindows;
  /** Prefix of this limiter's buckets (`http.user`, `grpc.peer`, ...), so limiters never share a count. */
  readonly name: string;
}

export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly shared?: SharedCounters,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError('limit must be a positive integer');
    if (!(options.windowMs > 0)) throw new RangeError('windowMs must be positive');
  }

  /** Counts one request for `key`. */
  async take(key: string): Promise<RateDecision> {
    if (this.shared) {
      try {
        const { count, msLeft } = await this.shared.windows.count(`${this.shared.name}:${key}`, this.options.windowMs);
        return this.decide(count, msLeft);
      } catch (err) {
        this.shared.windows.warnFallback(err);
      }
    }
    return this.takeInMemory(key);
  }

  /** Counts one request for `key` in this process's memory only. */
  takeInMemory(key: string): RateDecision {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.options.windowMs) {
      if (this.windows.size >= 10_000) this.prune(t);
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= this.options.limit) return this.decide(w.count + 1, w.start + this.options.windowMs - t);
    w.count++;
    return this.decide(w.count, w.start + this.options.windowMs - t);
  }

  private decide(count: number, msLeft: number): RateDecision {
    if (count <= this.options.limit) return { ok: true, remaining: this.options.limit - count };
    const retryAfterMs = Math.max(1, Math.ceil(msLeft));
    return { ok: false, retryAfterMs, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
  }

  private prune(t: number): void {
    for (const [k, w] of this.windows) if (t - w.start >= this.options.windowMs) this.windows.delete(k);
  }
}
