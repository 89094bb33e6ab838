/**
 * Fixed-window rate limits kept in memory: at most `limit` requests per key
 * (a user id, or a client address for failed authentication) in each window
 * of `windowMs`. A refused request learns when the window ends, for the
 * Retry-After header of the 429 problem. Replicas each keep their own counts.
 */
export interface RateLimitOptions {
  readonly limit: number;
  readonly windowMs: number;
}

export type RateDecision = { readonly ok: true; readonly remaining: number } | { readonly ok: false; readonly retryAfterSeconds: number };

export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError('limit must be a positive integer');
    if (!(options.windowMs > 0)) throw new RangeError('windowMs must be positive');
  }

  /** Counts one request for `key`. */
  take(key: string): RateDecision {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.options.windowMs) {
      if (this.windows.size >= 10_000) this.prune(t);
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= this.options.limit) {
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((w.start + this.options.windowMs - t) / 1000)) };
    }
    w.count++;
    return { ok: true, remaining: this.options.limit - w.count };
  }

  private prune(t: number): void {
    for (const [k, w] of this.windows) if (t - w.start >= this.options.windowMs) this.windows.delete(k);
  }
}
