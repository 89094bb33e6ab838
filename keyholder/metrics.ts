/**
 * The key holder's Prometheus metrics (served by `metrics-http.ts` when the
 * key holder is started with a metrics listener; off by default).
 *
 * - Events of this process, reset on restart: releases signed (each one
 *   decrypted once), releases delivered again from storage, aggregates
 *   decrypted, Release requests refused by stable code, and how long a
 *   signed release took.
 * - State of the data folder, read at scrape: per purpose, the releases its
 *   ledger holds and, for purposes with a differentially private policy, the
 *   zCDP budget ρ (total, spent, left). This ledger is the authority the
 *   coordinator's `fedmart_dp_budget_rho_remaining` quotes from releases.
 * - prom-client's default process metrics.
 *
 * Labels hold only stable refusal codes and purpose codes; no query,
 * merchant or key id is ever a label.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { unitsToRho } from '../compliance/index.js';
import type { KeyHolder } from './key-holder.js';

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Seconds from a Release stream's start to its signed release: a few ms in tests to minutes for 1,000 shops. */
export const RELEASE_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** What the gRPC service reports about Release calls. */
export interface ReleaseObserver {
  /** A release was returned after `seconds` (newly signed or delivered again). */
  released(seconds: number): void;
  /** A Release call was refused with `code` (RpcError code; INTERNAL for an unexpected error). */
  refused(code: string): void;
}

export class KeyHolderMetrics implements ReleaseObserver {
  readonly registry = new Registry();
  private readonly refusals: Counter<'code'>;
  private readonly seconds: Histogram;

  constructor(keyHolder: KeyHolder, options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    // Counts the key holder keeps itself, read at scrape.
    const counterOf = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counterOf('fedmart_keyholder_releases_total', 'Releases this key holder signed and delivered for the first time (each decrypted once)', () => keyHolder.releasesSigned);
    counterOf('fedmart_keyholder_releases_repeated_total', 'Releases asked for again and delivered unchanged from storage, without decrypting', () => keyHolder.releasesRepeated);
    counterOf('fedmart_keyholder_decryptions_total', 'Aggregates this key holder decrypted (a decrypted sum can still be refused, e.g. INPUT_OUT_OF_BOUNDS)', () => keyHolder.decryptions);
    this.refusals = new Counter({
      name: 'fedmart_keyholder_release_refusals_total',
      help: 'Release requests this key holder refused, by the stable code the coordinator was told',
      labelNames: ['code'],
      registers,
    });
    this.seconds = new Histogram({
      name: 'fedmart_keyholder_release_duration_seconds',
      help: 'Seconds from a Release stream\'s start to the signed release being returned',
      buckets: RELEASE_SECONDS_BUCKETS,
      registers,
    });
    // The purposes' ledgers, as stored in the data folder.
    const perPurpose = (name: string, help: string, value: (purpose: string) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['purpose'],
        registers,
        collect() {
          this.reset();
          for (const purpose of keyHolder.disclosure.purposes()) {
            let v: number | undefined;
            try {
              v = value(purpose);
            } catch {
              v = Number.NaN; // an unreadable ledger: unknown, not zero
            }
            if (v !== undefined) this.set({ purpose }, v);
          }
        },
      });
    const dp = (purpose: string) => {
      const policy = keyHolder.disclosure.policy(purpose);
      return policy?.noise.mode === 'dp' ? policy.noise : undefined;
    };
    perPurpose('fedmart_keyholder_purpose_releases', 'Releases recorded in the purpose\'s ledger (all time, kept in the data folder)', (p) => keyHolder.disclosure.ledger(p).releases.length);
    perPurpose('fedmart_keyholder_dp_budget_rho_total', 'zCDP privacy-loss budget (rho) of a DP purpose', (p) => {
      const noise = dp(p);
      return noise ? unitsToRho(noise.totalRhoUnits) : undefined;
    });
    perPurpose('fedmart_keyholder_dp_budget_rho_spent', 'zCDP rho a DP purpose has spent, from the key holder\'s ledger', (p) => (dp(p) ? unitsToRho(keyHolder.disclosure.ledger(p).rhoSpentUnits) : undefined));
    perPurpose('fedmart_keyholder_dp_budget_rho_remaining', 'zCDP rho a DP purpose has left; below its rho per release, the next release is refused with BUDGET_EXHAUSTED', (p) => {
      const noise = dp(p);
      if (!noise) return undefined;
      const left = noise.totalRhoUnits - keyHolder.disclosure.ledger(p).rhoSpentUnits;
      return unitsToRho(left > 0n ? left : 0n);
    });
    perPurpose('fedmart_keyholder_dp_budget_rho_per_release', 'zCDP rho one release of a DP purpose costs', (p) => {
      const noise = dp(p);
      return noise ? unitsToRho(noise.rhoPerQueryUnits) : undefined;
    });
  }

  released(seconds: number): void {
    this.seconds.observe(Math.max(0, seconds));
  }

  refused(code: string): void {
    this.refusals.inc({ code: CODE_RE.test(code) ? code : 'OTHER' });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
