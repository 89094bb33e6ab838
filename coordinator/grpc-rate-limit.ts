/**
 * Token-bucket rate limits for the coordinator's gRPC service: one bucket per
 * merchant id for authenticated calls (SubmitContribution after its
 * signature verified, ReportRightsEvents) and one per peer IP address for
 * calls anyone can make (Enroll, GetPublicKey, ListOpenQueries, GetModel,
 * and the first look at a contribution stream). A refused call gets
 * RESOURCE_EXHAUSTED with the stable code RATE_LIMITED and a
 * `fedmart-retry-after-ms` trailer. Buckets live in memory per coordinator.
 */
import { status } from '@grpc/grpc-js';
import { RpcError } from '../protos/index.js';

/** Trailer telling a rate-limited peer how long to wait, in milliseconds. */
export const RETRY_AFTER_METADATA_KEY = 'fedmart-retry-after-ms';

export interface TokenBucketOptions {
  /** Tokens added per second (sustained calls per second). */
  readonly ratePerSecond: number;
  /** Bucket size (calls allowed in a burst). */
  readonly burst: number;
}

export interface GrpcRateLimitOptions {
  /** Per merchant id, for authenticated calls (default 20 a second, burst 40). */
  readonly perMerchant?: TokenBucketOptions;
  /**
   * Per peer IP address, for unauthenticated calls (default 500 a second,
   * burst 5000: one host may run a thousand merchant nodes).
   */
  readonly perPeer?: TokenBucketOptions;
}

export const DEFAULT_GRPC_RATE_LIMITS: Required<GrpcRateLimitOptions> = {
  perMerchant: { ratePerSecond: 20, burst: 40 },
  perPeer: { ratePerSecond: 500, burst: 5000 },
};

export type BucketDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

/** Token buckets keyed by a string; idle full buckets are forgotten. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly options: TokenBucketOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    if (!(options.burst >= 1)) throw new RangeError('burst must be at least 1');
  }

  /** Takes one token for `key`, or says how long until one is there. */
  take(key: string): BucketDecision {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 10_000) this.prune(t);
      b = { tokens: this.options.burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.options.burst, b.tokens + ((t - b.at) / 1000) * this.options.ratePerSecond);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((1 - b.tokens) / this.options.ratePerSecond) * 1000)) };
  }

  private prune(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.options.ratePerSecond >= this.options.burst) this.buckets.delete(k);
    }
  }
}

/** The IP address of a grpc-js peer string (`ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678`). */
export function peerAddress(peer: string): string {
  const rest = peer.replace(/^ipv[46]:/, '');
  const bracket = /^\[([^\]]*)\]/.exec(rest);
  if (bracket) return bracket[1] ?? rest;
  const colon = rest.lastIndexOf(':');
  return colon > 0 && rest.indexOf(':') === colon ? rest.slice(0, colon) : rest;
}

/** The coordinator's two kinds of gRPC buckets. */
export class GrpcRateLimiter {
  private readonly merchants: TokenBuckets;
  private readonly peers: TokenBuckets;

  constructor(options: GrpcRateLimitOptions = {}, now: () => number = Date.now) {
    this.merchants = new TokenBuckets(options.perMerchant ?? DEFAULT_GRPC_RATE_LIMITS.perMerchant, now);
    this.peers = new TokenBuckets(options.perPeer ?? DEFAULT_GRPC_RATE_LIMITS.perPeer, now);
  }

  /** Throws RESOURCE_EXHAUSTED / RATE_LIMITED when the peer's bucket is empty. */
  peer(peer: string): void {
    refuseUnless(this.peers.take(peerAddress(peer)), 'calls from this address');
  }

  /** Throws RESOURCE_EXHAUSTED / RATE_LIMITED when the merchant's bucket is empty. */
  merchant(merchantId: string): void {
    refuseUnless(this.merchants.take(merchantId), `calls for merchant ${merchantId}`);
  }
}

function refuseUnless(d: BucketDecision, what: string): void {
  if (d.ok) return;
  throw new RpcError(status.RESOURCE_EXHAUSTED, 'RATE_LIMITED', `too many ${what}; retry after ${d.retryAfterMs} ms`, {
    [RETRY_AFTER_METADATA_KEY]: String(d.retryAfterMs),
  });
}
