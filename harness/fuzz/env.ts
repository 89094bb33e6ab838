/**
 * Shared environments of the fuzz targets, each made on first use: an HE
 * context; a key holder and coordinator in this process on 127.0.0.1 with
 * three enrolled merchants and one open query; an HTTP app driven by inject
 * with one token per role. Rate limits are raised so that inputs reach the
 * code behind them (the limits have their own tests).
 *
 * `fingerprint` is what must not change when an input is refused: row counts
 * of every table, the merchants' keys and users, the audit entries other than
 * refusals (auth.failed, contribution.rejected) and the key holder's
 * decryptions.
 */
import { rmSync } from 'node:fs';
import { HeContext, cryptoReady, generateHeKeys, HeEncryptor } from '../../crypto/index.js';
import type { Database, RunningCoordinator } from '../../coordinator/index.js';
import type { RunningKeyHolder } from '../../keyholder/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import type { OpenQuery } from '../../protos/index.js';
import { makeMerchants, makeShops, type SynthShops } from '../shops.js';
import { startHttpFixture, type HttpFixture } from '../http-fixture.js';
import { TEST_TOKEN, startCluster, type Cluster } from '../cluster.js';

export const FUZZ_TOKEN = TEST_TOKEN;

export interface FuzzCluster {
  readonly cluster: Cluster;
  readonly keyholder: RunningKeyHolder;
  readonly coordinator: RunningCoordinator;
  readonly shops: SynthShops;
  readonly merchants: readonly MerchantNode[];
  /** An open query with a high target, so that accepted contributions never close it. */
  readonly query: OpenQuery;
  /** Everything a refused call must leave unchanged. */
  fingerprint(): Promise<Fingerprint>;
  /** Null when nothing but refusal entries changed since `before`, else what changed. */
  changedSince(before: Fingerprint): Promise<string | null>;
}

/** Row counts and keys, plus where the audit log stood. */
export interface Fingerprint {
  readonly state: string;
  readonly auditNext: number;
}

/** `fingerprint` and `changedSince` over a coordinator database (plus extra state, e.g. decryptions). */
async function stateProbe(db: Database, extra: () => string = () => ''): Promise<Pick<FuzzCluster, 'fingerprint' | 'changedSince'>> {
  const sql = await fingerprintQuery(db);
  const fingerprint = async (): Promise<Fingerprint> => {
    const row = (await db.query<{ f: string; next: string | number }>(sql))[0];
    return { state: `${row?.f}${extra()}`, auditNext: Number(row?.next ?? 0) };
  };
  return {
    fingerprint,
    changedSince: async (before) => {
      const after = await fingerprint();
      if (after.state !== before.state) return `${before.state} -> ${after.state}`;
      const entries = await db.query<{ type: string }>(
        `SELECT (entry_json::jsonb)->>'type' AS type FROM audit_entries WHERE seq >= $1 AND (entry_json::jsonb)->>'type' NOT IN (${REFUSAL_TYPES.map((t) => `'${t}'`).join(', ')})`,
        [before.auditNext],
      );
      return entries.length > 0 ? `audit entries ${entries.map((e) => e.type).join(', ')}` : null;
    },
  };
}

// rate_windows counts every request, refused ones too: that is how floods of refusals are limited.
const IGNORED_TABLES = new Set(['audit_entries', 'audit_checkpoints', 'rate_windows']);
const REFUSAL_TYPES = ['auth.failed', 'contribution.rejected'];

/** One SQL statement giving the state a refusal must not change. */
async function fingerprintQuery(db: Database): Promise<string> {
  const tables = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
  );
  const parts = tables.map((t) => t.table_name).filter((t) => !IGNORED_TABLES.has(t) && /^[a-z_]+$/.test(t))
    .map((t) => `(SELECT count(*) FROM ${t})::text`);
  // Whole rows of merchants: keys, key evidence, revocation.
  parts.push("(SELECT coalesce(md5(string_agg(m::text, ',' ORDER BY merchant_id)), '') FROM merchants m)");
  return `SELECT concat_ws('|', ${parts.join(', ')}) AS f, (SELECT coalesce(max(seq) + 1, 0) FROM audit_entries) AS next`;
}

export class FuzzEnv {
  private ctxPromise?: Promise<HeContext>;
  private clusterPromise?: Promise<FuzzCluster>;
  private httpPromise?: Promise<HttpFixture & Pick<FuzzCluster, 'fingerprint' | 'changedSince'>>;
  private packedPromise?: Promise<Uint8Array>;

  /** An HE context of the default parameter set. */
  ctx(): Promise<HeContext> {
    this.ctxPromise ??= (async () => {
      await cryptoReady();
      return HeContext.create();
    })();
    return this.ctxPromise;
  }

  /** A valid packed ciphertext under a throw-away key. */
  packedCiphertext(): Promise<Uint8Array> {
    this.packedPromise ??= (async () => {
      const ctx = await this.ctx();
      const keys = generateHeKeys(ctx);
      const enc = new HeEncryptor(ctx, keys.publicKey);
      const ct = enc.encryptPacked(new BigUint64Array(ctx.slotCount).fill(12345n));
      enc.close();
      return ct;
    })();
    return this.packedPromise;
  }

  cluster(): Promise<FuzzCluster> {
    this.clusterPromise ??= (async () => {
      const cluster = await startCluster({}, {
        coordinator: {
          closerIntervalMs: 250,
          streamTimeoutMs: 10_000,
          grpcRateLimit: { perMerchant: { ratePerSecond: 1e6, burst: 1e6 }, perPeer: { ratePerSecond: 1e6, burst: 1e6 } },
        },
      });
      const { keyholder, coordinator } = cluster;
      const shops = await makeShops(3, 'fuzz', { customersPerShop: 60 });
      const merchants = await makeMerchants(shops, coordinator.grpcAddress, keyholder.signingPublicKeyHex);
      const res = await fetch(`${coordinator.httpAddress}/v1/queries`, {
        method: 'POST',
        headers: { authorization: `Bearer ${FUZZ_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 1000, deadlineSeconds: 24 * 3600 }),
      });
      const { queryId } = (await res.json()) as { queryId: string };
      const query = (await merchants[0]!.openQueries()).find((q) => q.queryId === queryId);
      if (!query) throw new Error('the fuzz query is not open');
      const probe = await stateProbe(coordinator.store.db, () => `|kh-decryptions=${keyholder.keyHolder.decryptions}`);
      return { cluster, keyholder, coordinator, shops, merchants, query, ...probe };
    })();
    return this.clusterPromise;
  }

  http(): Promise<HttpFixture & Pick<FuzzCluster, 'fingerprint' | 'changedSince'>> {
    this.httpPromise ??= (async () => {
      const big = { limit: 1_000_000_000, windowMs: 60_000 };
      const fx = await startHttpFixture({ rateLimit: big, authFailureLimit: big, publicRateLimit: big });
      return Object.assign(fx, await stateProbe(fx.db));
    })();
    return this.httpPromise;
  }

  async close(): Promise<void> {
    if (this.clusterPromise) {
      const c = await this.clusterPromise;
      for (const m of c.merchants) m.close();
      await c.cluster.close();
      rmSync(c.shops.dir, { recursive: true, force: true });
    }
    if (this.httpPromise) await (await this.httpPromise).close();
    if (this.ctxPromise) (await this.ctxPromise).close();
  }
}
