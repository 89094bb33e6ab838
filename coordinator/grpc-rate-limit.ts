/**
 * Rate limits for the coordinator's gRPC service: one window per merchant
 * id for authenticated calls (SubmitContribution after its signature
 * verified, ReportRightsEvents) and one per peer IP address for calls
 * anyone can make (Enroll, GetPublicKey, ListOpenQueries, GetModel, and the
 * first look at a contribution stream). A refused call gets
 * RESOURCE_EXHAUSTED with the stable code RATE_LIMITED and a
 * `fedmart-retry-after-ms` trailer.
 *
 * The algorithm is the HTTP API's (`http-rate-limit.ts`): fixed windows,
 * counted in the database every coordinator shares (`rate-windows.ts`) when
 * given one. A rate of R a second with a burst of B is a window of B / R
 * seconds admitting B calls: the same sustained rate, and bursts of B.
 */
import { status } from '@grpc/grpc-js';
import { RpcError } from '../protos/index.js';
import { FixedWindowLimiter, type RateDecision, type RateLimitOptions } from './http-rate-limit.js';
import type { RateWindows } from './rate-windows.js';

/** Trailer telling a rate-limited peer how long to wait, in milliseconds. */
export const RETRY_AFTER_METADATA_KEY = 'fedmart-retry-after-ms';

export interface CallRateOptions {
  /** Sustained calls per second. */
  readonly ratePerSecond: number;
  /** Calls allowed in a burst (the calls of one window). */
  readonly burst: number;
}

/** The former name of {@link CallRateOptions}. */
export type TokenBucketOptions = CallRateOptions;

export interface GrpcRateLimitOptions {
  /** Per merchant id, for authenticated calls (default 20 a second, burst 40). */
  readonly perMerchant?: CallRateOptions;
  /**
   * Per peer IP address, for unauthenticated calls (default 500 a second,
   * burst 5000: one host may run a thousand merchant nodes).
   */
  readonly perPeer?: CallRateOptions;
}

export const DEFAULT_GRPC_RATE_LIMITS: Required<GrpcRateLimitOptions> = {
  perMerchant: { ratePerSecond: 20, burst: 40 },
  perPeer: { ratePerSecond: 500, burst: 5000 },
};

/** The fixed window of a rate and burst: `burst` calls per `burst / ratePerSecond` seconds. */
export function windowOf(rate: CallRateOptions): RateLimitOptions {
  if (!(rate.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
  if (!(rate.burst >= 1)) throw new RangeError('burst must be at least 1');
  const limit = Math.floor(rate.burst);
  return { limit, windowMs: Math.max(1, Math.round((limit / rate.ratePerSecond) * 1000)) };
}

/** The IP address of a grpc-js peer string (`ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678`). */
export function peerAddress(peer: string): string {
  const rest = peer.replace(/^ipv[46]:/, '');
  const bracket = /^\[([^\]]*)\]/.exec(rest);
  if (bracket) return bracket[1] ?? rest;
  const colon = rest.lastIndexOf(':');
  return colon > 0 && rest.indexOf(':') === colon ? rest.slice(0, colon) : rest;
}

/** The coordinator's two kinds of gRPC limits. */
export class GrpcRateLimiter {
  private readonly merchants: FixedWindowLimiter;
  private readonly peers: FixedWindowLimiter;

  /** @param windows shared counters; without them each process counts in its own memory */
  constructor(options: GrpcRateLimitOptions = {}, windows?: RateWindows, now: () => number = Date.now) {
    this.merchants = new FixedWindowLimiter(windowOf(options.perMerchant ?? DEFAULT_GRPC_RATE_LIMITS.perMerchant),
      windows ? { windows, name: 'grpc.merchant' } : undefined, now);
    this.peers = new FixedWindowLimiter(windowOf(options.perPeer ?? DEFAULT_GRPC_RATE_LIMITS.perPeer),
      windows ? { windows, name: 'grpc.peer' } : undefined, now);
  }

  /** Throws RESOURCE_EXHAUSTED / RATE_LIMITED when the peer address used up its window. */
  async peer(peer: string): Promise<void> {
    refuseUnless(await this.peers.take(peerAddress(peer)), 'calls from this address');
  }

  /** Throws RESOURCE_EXHAUSTED / RATE_LIMITED when the merchant used up its window. */
  async merchant(merchantId: string): Promise<void> {
    refuseUnless(await this.merchants.take(merchantId), `calls for merchant ${merchantId}`);
  }
}

function refuseUnless(d: RateDecision, what: string): void {
  if (d.ok) return;
  throw new RpcError(status.RESOURCE_EXHAUSTED, 'RATE_LIMITED', `too many ${what}; retry after ${d.retryAfterMs} ms`, {
    [RETRY_AFTER_METADATA_KEY]: String(d.retryAfterMs),
  });
}
