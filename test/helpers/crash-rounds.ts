/**
 * Seeded crash runs against a `fedmart coordinator` process on PGlite on
 * disk: each run publishes a query, has four merchant nodes answer it at
 * once, SIGKILLs the coordinator after a random delay, lets the standby
 * take over, has the merchants without a receipt answer again, and checks
 * that the round finishes with the exact pooled answer. At the end the
 * database is opened directly: every receipt's contribution is stored,
 * each query holds each merchant once, and the audit log and all its
 * checkpoints verify.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadOrCreateSeedFile, signingKeyPairFromSeed, toHex } from '../../crypto/index.js';
import { readReceipts, type MerchantNode } from '../../client-sdk/index.js';
import type { AnswerOutcome } from '../../client-sdk/merchant-node.js';
import { AuditTrail, CoordinatorStore, openDatabase } from '../../coordinator/index.js';
import { startKeyHolder, type RunningKeyHolder } from '../../keyholder/index.js';
import type { OpenQuery } from '../../protos/index.js';
import { CoordinatorChain, freePort } from './coordinator-process.js';
import { pooledReference, type ReferenceRow } from './pooled-reference.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { testIdentity } from '../../harness/identity.js';
import { testLogger } from '../../harness/test-logs.js';
import { mulberry32 } from './mulberry32.js';

const TOKEN = 'crash-test-token-0123456789';
const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

interface QueryView {
  queryId: string;
  status: string;
  contributions: number;
  result: { rows: { stage: string; suppressed: boolean; customers: number | null; orderValueMean: number | null; orderValueVariance: number | null }[] } | null;
}

/** Where in a round the kill landed, read from the query's state after the take-over. */
export type KillPhase = 'before any contribution' | 'while contributions arrived' | 'closing' | 'after the release';

export interface CrashReport {
  readonly runs: number;
  readonly phases: Record<KillPhase, number>;
  /** Contributions that had been acknowledged when the kill came (all found again). */
  readonly acknowledgedAtKill: number;
  /** Contributions stored but not acknowledged (the resend got ALREADY_EXISTS). */
  readonly storedUnacknowledged: number;
  readonly killWindowMs: number;
  readonly takeoverMs: { readonly median: number; readonly max: number };
  /** Mean milliseconds per run spent resending after the take-over, and waiting for the release after that. */
  readonly resendMs: number;
  readonly releaseWaitMs: number;
  readonly totalMs: number;
}

export class CrashRig {
  private dir!: string;
  private keyholder!: RunningKeyHolder;
  private shops!: SynthShops;
  private merchants: MerchantNode[] = [];
  private reference!: Record<string, ReferenceRow>;
  chain!: CoordinatorChain;

  constructor(private readonly label: string) {}

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), `fedmart-${this.label}-`));
    const identity = await testIdentity(this.dir);
    this.keyholder = await startKeyHolder({
      dataDir: join(this.dir, 'keyholder'),
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex,
      coordinatorRequestKeyHex: identity.requestKeyHex,
      logger: testLogger(`keyholder-${this.label}`) });
    this.chain = new CoordinatorChain({
      dir: this.dir, token: TOKEN, keyholderAddress: this.keyholder.address, keyholderKeyHex: this.keyholder.signingPublicKeyHex,
      db: join(this.dir, 'db'), grpcPort: await freePort(), httpPort: await freePort(),
    });
    await this.chain.start();
    this.shops = await makeShops(4, this.label, { customersPerShop: { min: 50, max: 120 } });
    this.reference = pooledReference(this.shops.pooledDir);
    this.merchants = await makeMerchants(this.shops, this.chain.grpc, this.keyholder.signingPublicKeyHex);
  }

  async stop(): Promise<void> {
    for (const m of this.merchants) m.close();
    await this.chain?.stop();
    await this.keyholder?.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async http<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(this.chain.http + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  private async waitFinal(queryId: string, timeoutMs = 60_000): Promise<QueryView> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const q = (await this.http<QueryView>('GET', `/v1/queries/${queryId}`)).body;
      if (q.status === 'released' || q.status === 'failed') return q;
      if (Date.now() > until) throw new Error(`query ${queryId} still ${q.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Answers until the node holds a receipt (submitted, or stored before and ALREADY_EXISTS now). */
  private async answerUntilStored(m: MerchantNode, q: OpenQuery): Promise<AnswerOutcome> {
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        const o = await m.answer(q);
        if (o.outcome === 'submitted' || o.outcome === 'already-answered') return o;
        if (Date.now() > until) return o;
      } catch (err) {
        if (Date.now() > until) throw err;
      }
      await new Promise((r) => setTimeout(r, 100)); // the channel reconnects to the new process
    }
  }

  /**
   * One round; SIGKILL after `killAfterMs` (none if null). Returns how long
   * the round took without a kill, and where a kill landed.
   */
  async round(killAfterMs: number | null): Promise<{ ms: number; phase?: KillPhase; acked: number; unacked: number; resendMs: number; releaseWaitMs: number }> {
    const created = await this.http<{ queryId: string }>('POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 4, deadlineSeconds: 120 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const q = (await this.merchants[0]!.openQueries()).find((o) => o.queryId === created.body.queryId)!;
    const t0 = performance.now();
    const answers = this.merchants.map((m) => m.answer(q).catch((err: unknown) => ({ outcome: 'error', err }) as const));
    let phase: KillPhase | undefined;
    let resendStarted = 0;
    let resendMs = 0;
    let acked = 0;
    let unacked = 0;
    if (killAfterMs !== null) {
      await new Promise((r) => setTimeout(r, killAfterMs));
      await this.chain.crash();
      const outcomes = await Promise.all(answers);
      acked = outcomes.filter((o) => o.outcome === 'submitted').length;
      const after = (await this.http<QueryView>('GET', `/v1/queries/${q.queryId}`)).body;
      // Every acknowledged contribution survived the kill.
      expect(after.contributions).toBeGreaterThanOrEqual(acked);
      phase = after.status === 'released' ? 'after the release'
        : after.status === 'closing' ? 'closing'
        : after.contributions === 0 ? 'before any contribution' : 'while contributions arrived';
      const storedBefore = after.contributions;
      resendStarted = performance.now();
      for (const m of this.merchants) {
        const o = await this.answerUntilStored(m, q);
        expect(['submitted', 'already-answered'], JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toContain(o.outcome);
      }
      unacked = storedBefore - acked;
      resendMs = performance.now() - resendStarted;
    } else {
      for (const o of await Promise.all(answers)) expect(o.outcome).toBe('submitted');
    }
    const waitStarted = performance.now();
    const final = await this.waitFinal(q.queryId);
    const releaseWaitMs = performance.now() - waitStarted;
    const ms = performance.now() - t0;
    expect(final.status).toBe('released');
    expect(final.contributions).toBe(4);
    for (const row of final.result!.rows) {
      const ref = this.reference[row.stage]!;
      expect(row.customers).toBe(ref.customers);
      expect(Math.abs(row.orderValueMean! / ref.orderValueMean - 1)).toBeLessThan(1e-9);
      expect(Math.abs(row.orderValueVariance! / ref.orderValueVariance - 1)).toBeLessThan(1e-9);
    }
    const release = await this.http<{ release: { merchants: string[] } }>('GET', `/v1/queries/${q.queryId}/release`);
    expect(release.body.release.merchants).toEqual(this.shops.shopDirs.map((s) => s.shopId).sort());
    // The log is still consistent with its latest checkpoint (checkpoint() refuses otherwise).
    expect((await this.http<{ checkpoint: string }>('GET', '/v1/audit/checkpoint')).status).toBe(200);
    return { ms, acked, unacked, resendMs, releaseWaitMs, ...(phase ? { phase } : {}) };
  }

  /** Calibrates the kill window on one undisturbed round, then runs `runs` seeded crash rounds. */
  async crashRuns(runs: number, seed: number): Promise<CrashReport> {
    const started = performance.now();
    const rng = mulberry32(seed);
    // Two undisturbed rounds (the first is slower: cold caches); kills fall within the faster
    // one's length and a little beyond, so that some land while closing and after the release.
    const calibration = Math.min((await this.round(null)).ms, (await this.round(null)).ms);
    const killWindowMs = Math.round(calibration * 1.15);
    const phases: Record<KillPhase, number> = { 'before any contribution': 0, 'while contributions arrived': 0, closing: 0, 'after the release': 0 };
    let acknowledgedAtKill = 0;
    let storedUnacknowledged = 0;
    let resendMs = 0;
    let releaseWaitMs = 0;
    for (let i = 0; i < runs; i++) {
      const r = await this.round(Math.floor(rng() * killWindowMs));
      phases[r.phase!]++;
      acknowledgedAtKill += r.acked;
      storedUnacknowledged += r.unacked;
      resendMs += r.resendMs;
      releaseWaitMs += r.releaseWaitMs;
    }
    const sorted = [...this.chain.takeoverMs].sort((a, b) => a - b);
    return {
      runs, phases, acknowledgedAtKill, storedUnacknowledged, killWindowMs,
      takeoverMs: { median: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0), max: Math.round(sorted[sorted.length - 1] ?? 0) },
      resendMs: Math.round(resendMs / runs),
      releaseWaitMs: Math.round(releaseWaitMs / runs),
      totalMs: Math.round(performance.now() - started),
    };
  }

  /** Stops the coordinators and checks the database itself: receipts, exactly-once, audit log. */
  async verifyStorage(expectedQueries: number): Promise<void> {
    await this.chain.stop();
    const db = await openDatabase(join(this.dir, 'db'));
    try {
      const perQuery = await db.query<{ query_id: string; n: number; merchants: number }>(
        'SELECT query_id, count(*)::int AS n, count(DISTINCT merchant_id)::int AS merchants FROM contributions GROUP BY query_id');
      expect(perQuery).toHaveLength(expectedQueries);
      for (const q of perQuery) expect([q.n, q.merchants]).toEqual([4, 4]);
      const digests = new Set((await db.query<{ d: Uint8Array }>('SELECT envelope_digest AS d FROM contributions')).map((r) => toHex(r.d)));
      let receipts = 0;
      for (const m of this.merchants) {
        for (const r of readReceipts(m.stateDir)) {
          expect(digests.has(r.envelopeDigest), `receipt ${r.queryId} of ${m.merchantId}`).toBe(true);
          receipts++;
        }
      }
      expect(receipts).toBeGreaterThan(0);
      // Every contribution's ciphertexts are in the file its row names, whole;
      // after the start-up sweep no file is left that no row names.
      const named = await db.query<{ f: string | null }>('SELECT ciphertexts_file AS f FROM contributions');
      expect(named.every((r) => r.f !== null)).toBe(true);
      await new CoordinatorStore(db).sweepCiphertextFiles();
      expect(readdirSync(db.ciphertextFiles!.dir).sort()).toEqual(named.map((r) => r.f).sort());
      for (const q of perQuery) expect((await new CoordinatorStore(db).contributions(q.query_id)).length).toBe(4);
      const statuses = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM queries GROUP BY status');
      expect(statuses).toEqual([{ status: 'released', n: expectedQueries }]);
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM partial_aggregates'))[0]?.n).toBe(0);
      const audit = new AuditTrail({ db, origin: 'fedmart.local/audit', keyPair: signingKeyPairFromSeed(loadOrCreateSeedFile(join(this.dir, 'audit.seed'))) });
      const report = await audit.log.verifyStoredLog();
      expect(report, JSON.stringify(report)).toMatchObject({ ok: true });
      expect((report as { checkpointsChecked: number }).checkpointsChecked).toBeGreaterThan(expectedQueries);
      const accepted = (await audit.log.entries(0, await audit.log.size())).filter((e) => e.type === 'contribution.accepted');
      expect(accepted).toHaveLength(expectedQueries * 4);
    } finally {
      await db.close();
    }
  }
}
