/**
 * Crash safety of the key holder: the key holder runs as its own process
 * and is SIGKILLed at seeded random points around a release (before it is
 * asked, while it verifies and decrypts, after it recorded the release in
 * its ledger, after the coordinator stored it). Restarted on the same data
 * folder and port, the coordinator's retry is answered — not refused as a
 * second release — the query is released with the exact pooled answer, and
 * asking the key holder again for the same query gives the same signed
 * release, byte for byte.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeContext, blake2b256, sumPackedContributions } from '../../crypto/index.js';
import { parseReleaseDocument } from '../../analytics/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/index.js';
import { KeyHolderClient } from '../../coordinator/keyholder-client.js';
import type { ReleaseHeader, ReleasePart } from '../../protos/index.js';
import { freePort, killHard, spawnFedmart, type FedmartProcess } from '../helpers/coordinator-process.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { testIdentity, type TestIdentity } from '../../harness/identity.js';
import { evidenceFor } from '../../coordinator/round-closer.js';
import { signReleaseRequest } from '../../protos/index.js';

const TOKEN = 'keyholder-crash-token-0123456789';
const RUNS = Number(process.env.FEDMART_KEYHOLDER_CRASH_RUNS ?? 8);
const SEED = Number(process.env.FEDMART_CRASH_SEED ?? 20261125);

interface QueryView {
  status: string;
  statusReason: string | null;
  contributions: number;
  result: { rows: { stage: string; customers: number; orderValueMean: number }[] } | null;
}

describe('key holder killed with SIGKILL during releases', () => {
  let dir: string;
  let address: string;
  let keyholder: FedmartProcess;
  let signingKey: string;
  let coordinator: RunningCoordinator;
  let shops: SynthShops;
  let merchants: MerchantNode[] = [];
  let ctx: HeContext;
  let identity: TestIdentity;

  const startKeyholder = async () => {
    keyholder = spawnFedmart(['keyholder', '--data', join(dir, 'keyholder'), '--listen', address,
      '--enrolment-authority', identity.authorityPublicKeyHex, '--coordinator-key', identity.requestKeyHex], join(dir, `keyholder-${Date.now()}.log`));
    signingKey = String((await keyholder.ready).signingKey);
  };

  async function http<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(coordinator.httpAddress + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await res.json()) as T;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedmart-kh-crash-'));
    address = `127.0.0.1:${await freePort()}`;
    identity = await testIdentity(dir);
    await startKeyholder();
    ctx = await HeContext.create();
    coordinator = await startCoordinator({
      database: 'memory://', grpcListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', keyholderAddress: address,
      keyholderSigningKeyHex: signingKey, apiToken: TOKEN, auditKeyFile: join(dir, 'audit.seed'), closerIntervalMs: 50,
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex, requestSigningSeedFile: identity.requestSeedFile,
      logger: pino({ level: 'silent' }),
    });
    shops = await makeShops(4, 'keyholder-crash', { customersPerShop: { min: 50, max: 120 } });
    merchants = await makeMerchants(shops, coordinator.grpcAddress, signingKey);
  }, 120_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await coordinator?.close();
    await keyholder?.stop();
    ctx?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** Asks the key holder for the release of `queryId` again, with exactly what the coordinator stored. */
  async function askAgain(queryId: string) {
    const q = (await coordinator.store.getQuery(queryId))!;
    const contributions = await coordinator.store.contributions(queryId);
    const count = contributions[0]!.header.ciphertextDigests.length;
    const sums = sumPackedContributions(ctx, contributions.map((c) => c.ciphertexts), count);
    const header: ReleaseHeader = {
      queryId, kind: q.kind, specJson: q.specJson, specDigest: Buffer.from(q.specDigest), paramSet: q.paramSet, keyId: Buffer.from(q.keyId),
      maxContributors: q.maxContributors, aggregateDigest: Buffer.from(blake2b256(Buffer.concat(sums))), contributionCount: contributions.length,
      cutoffUnixMs: BigInt(q.cutoff.getTime()), coordinatorSignature: Buffer.alloc(0),
    };
    header.coordinatorSignature = signReleaseRequest(header, identity.requestKey);
    const parts: ReleasePart[] = [
      { header },
      ...contributions.map((c) => ({
        contribution: { header: c.header, merchantSigningKey: Buffer.from(c.signingPublicKey), ciphertexts: Buffer.from(c.ciphertexts), keyEvidence: evidenceFor(c) },
      })),
    ];
    const client = new KeyHolderClient(address);
    try {
      return await client.release(parts);
    } finally {
      client.close();
    }
  }

  it(`answers the coordinator's retry after a crash with the same release, never a refusal (${RUNS} seeded runs)`, async () => {
    const rng = mulberry32(SEED);
    const reference = pooledReference(shops.pooledDir);
    const phases = { 'before the ledger record': 0, 'after the ledger record': 0, 'after the release was stored': 0 };
    const restartMs: number[] = [];
    /** Publishes a query and has three merchants answer; returns it and a function that sends the last answer. */
    const openRound = async () => {
      const created = await http<{ queryId: string }>('POST', '/v1/queries', {
        kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 4, deadlineSeconds: 120,
      });
      const q = (await merchants[0]!.openQueries()).find((o) => o.queryId === created.queryId)!;
      for (const m of merchants.slice(0, 3)) expect((await m.answer(q)).outcome).toBe('submitted');
      return q;
    };
    // Calibration: from the last merchant starting its answer until the release is stored.
    const calibration = await openRound();
    const t0 = performance.now();
    expect((await merchants[3]!.answer(calibration)).outcome).toBe('submitted');
    while ((await coordinator.store.getQuery(calibration.queryId))?.status !== 'released') await new Promise((r) => setTimeout(r, 10));
    const window = performance.now() - t0;
    for (let run = 0; run < RUNS; run++) {
      const q = await openRound();
      const last = merchants[3]!.answer(q);
      // Kill somewhere between the last contribution starting and the release being stored.
      await new Promise((r) => setTimeout(r, Math.floor(rng() * window)));
      await killHard(keyholder);
      expect((await last).outcome).toBe('submitted');
      const ledgerFile = join(dir, 'keyholder', 'released', Buffer.from(q.queryId, 'utf8').toString('base64url') + '.json');
      const storedAtKill = (await coordinator.store.getQuery(q.queryId))?.status === 'released';
      phases[storedAtKill ? 'after the release was stored' : existsSync(ledgerFile) ? 'after the ledger record' : 'before the ledger record']++;
      const restarted = performance.now();
      await startKeyholder();
      restartMs.push(performance.now() - restarted);

      let final: QueryView;
      for (const until = Date.now() + 60_000; ;) {
        final = await http<QueryView>('GET', `/v1/queries/${q.queryId}`);
        if (final.status === 'released' || final.status === 'failed' || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(final.status, final.statusReason ?? '').toBe('released');
      for (const row of final.result!.rows) {
        expect(row.customers).toBe(reference[row.stage]!.customers);
        expect(Math.abs(row.orderValueMean / reference[row.stage]!.orderValueMean - 1)).toBeLessThan(1e-9);
      }
      // Asked again (as a coordinator retrying after its own crash would), the key holder
      // delivers the very release the coordinator stored: same document, same signature.
      const stored = (await coordinator.store.getRelease(q.queryId))!;
      const again = await askAgain(q.queryId);
      expect(again.releaseJson).toBe(stored.releaseJson);
      expect(Buffer.from(again.signature).equals(Buffer.from(stored.signature))).toBe(true);
    }
    console.log(`key holder crash runs: ${JSON.stringify({ runs: RUNS, phases, killWindowMs: Math.round(window), restartMedianMs: Math.round([...restartMs].sort((a, b) => a - b)[Math.floor(RUNS / 2)] ?? 0) })}`);
    expect((await coordinator.audit.log.verifyStoredLog()).ok).toBe(true);
  }, 300_000);

  it('answers a retry for a release it recorded just before it died, with the same release', async () => {
    // A release the coordinator never received: asked for directly, then the key holder dies.
    const created = await http<{ queryId: string }>('POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 5, deadlineSeconds: 4,
    });
    const q = (await merchants[0]!.openQueries()).find((o) => o.queryId === created.queryId)!;
    for (const m of merchants) expect((await m.answer(q)).outcome).toBe('submitted');
    const first = await askAgain(q.queryId);
    expect(existsSync(join(dir, 'keyholder', 'released', Buffer.from(q.queryId, 'utf8').toString('base64url') + '.json'))).toBe(true);
    await killHard(keyholder);
    await startKeyholder();
    // At the deadline the coordinator closes the query and asks for the release itself.
    let final: QueryView;
    for (const until = Date.now() + 60_000; ;) {
      final = await http<QueryView>('GET', `/v1/queries/${q.queryId}`);
      if (final.status === 'released' || final.status === 'failed' || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(final.status, final.statusReason ?? '').toBe('released');
    const stored = (await coordinator.store.getRelease(q.queryId))!;
    expect(stored.releaseJson).toBe(first.releaseJson);
    expect(parseReleaseDocument(JSON.parse(stored.releaseJson)).merchants).toHaveLength(4);
  }, 120_000);
});
