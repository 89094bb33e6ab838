/**
 * Rounds through a real coordinator and key holder in this process (PGlite
 * on disk), watching which sum the closer used. With every contribution
 * stored by the running process, and refused streams in between (a replay,
 * a substituted ciphertext, a truncated one, each refused after its header
 * was checked), the closer uses the running sum, and the key holder, which
 * adds the stored contributions itself, accepts its digest. When the
 * coordinator restarts mid-round its memory holds only what it stored
 * since, so the closer adds the stored contributions; the round still
 * closes at its target (counted by the periodic pass) and is released.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MerchantNode } from '../../client-sdk/index.js';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/index.js';
import { startKeyHolder, type RunningKeyHolder } from '../../keyholder/index.js';
import type { OpenQuery } from '../../protos/index.js';
import { freePort } from '../helpers/coordinator-process.js';
import { testIdentity, type TestIdentity } from '../../harness/identity.js';
import { chunks, RawSubmitter } from '../helpers/raw-client.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';
import { testLogger } from '../../harness/test-logs.js';

const TOKEN = 'running-sum-token-0123456789';

interface Line { msg?: string; queryId?: string; from?: string }

describe('running sums in rounds', () => {
  let dir: string;
  let identity: TestIdentity;
  let keyholder: RunningKeyHolder;
  let coordinator: RunningCoordinator | undefined;
  let merchants: MerchantNode[] = [];
  let grpcPort: number;
  const lines: Line[] = [];

  async function start(): Promise<RunningCoordinator> {
    const logger = pino({ level: 'info' }, pino.multistream([
      { stream: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } },
      { stream: pino.destination({ dest: join(dir, 'coordinator.log'), sync: true }) },
    ]));
    return startCoordinator({
      database: join(dir, 'db'),
      grpcListen: `127.0.0.1:${grpcPort}`,
      httpListen: '127.0.0.1:0',
      keyholderAddress: keyholder.address,
      keyholderSigningKeyHex: keyholder.signingPublicKeyHex,
      apiToken: TOKEN,
      auditKeyFile: join(dir, 'audit.seed'),
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex,
      requestSigningSeedFile: identity.requestSeedFile,
      closerIntervalMs: 100,
      logger,
    });
  }

  async function http<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(coordinator!.httpAddress + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await res.json()) as T;
  }

  async function open(purpose: string, targetMerchants: number): Promise<OpenQuery> {
    const { queryId } = await http<{ queryId: string }>('POST', '/v1/queries', { kind: 'segment-stats', spec: { purpose, groupBy: 'lifecycle_stage' }, targetMerchants });
    return (await merchants[0]!.openQueries()).find((q) => q.queryId === queryId)!;
  }

  async function final(queryId: string): Promise<{ status: string; statusReason: string | null; contributions: number }> {
    for (const until = Date.now() + 60_000; ;) {
      const q = await http<{ status: string; statusReason: string | null; contributions: number }>('GET', `/v1/queries/${queryId}`);
      if (q.status === 'released' || q.status === 'failed' || Date.now() > until) return q;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const sumUsed = (queryId: string) => lines.filter((l) => l.msg === 'aggregate added' && l.queryId === queryId).map((l) => l.from);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedmart-running-sum-'));
    identity = await testIdentity(dir);
    keyholder = await startKeyHolder({
      dataDir: join(dir, 'keyholder'), listen: '127.0.0.1:0', logger: testLogger('running-sum-round'),
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex, coordinatorRequestKeyHex: identity.requestKeyHex,
    });
    grpcPort = await freePort();
    coordinator = await start();
    merchants = await makeMerchants(await makeShops(4, 'running-sum'), `127.0.0.1:${grpcPort}`, keyholder.signingPublicKeyHex);
  }, 180_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await coordinator?.close();
    await keyholder?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('closes with the running sum when this process stored every contribution, refused streams in between', async () => {
    const [m1, m2, m3] = merchants as [MerchantNode, MerchantNode, MerchantNode];
    const q = await open('churn-modelling', 3);
    expect((await m1.answer(q)).outcome).toBe('submitted');
    expect((await m2.answer(q)).outcome).toBe('submitted');
    const replay = m1.buildContribution(q);
    const valid = m3.buildContribution(q);
    const ct = valid.ciphertexts[0]!;
    const other = m2.buildContribution(q).ciphertexts[0]!;
    const raw = new RawSubmitter(`127.0.0.1:${grpcPort}`);
    try {
      expect(await raw.send([{ header: replay.header }, ...chunks(replay.ciphertexts[0]!)])).toMatchObject({ status: status.ALREADY_EXISTS, code: 'DUPLICATE_CONTRIBUTION' });
      expect(await raw.send([{ header: valid.header }, ...chunks(other)])).toMatchObject({ status: status.INVALID_ARGUMENT, code: 'CIPHERTEXT_DIGEST' });
      expect(await raw.send([{ header: valid.header }, ...chunks(ct.subarray(0, ct.length - 100))])).toMatchObject({ status: status.INVALID_ARGUMENT, code: 'CONTRIBUTION_TRUNCATED' });
    } finally {
      raw.close();
    }
    expect((await m3.answer(q)).outcome).toBe('submitted');
    const done = await final(q.queryId);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'released', contributions: 3 });
    expect(sumUsed(q.queryId)).toEqual(['running sum']);
  }, 120_000);

  it('adds the stored contributions when the coordinator restarted mid-round, and still closes at the target', async () => {
    const [m1, m2, m3, m4] = merchants as [MerchantNode, MerchantNode, MerchantNode, MerchantNode];
    const q = await open('marketing-analytics', 4);
    expect((await m1.answer(q)).outcome).toBe('submitted');
    expect((await m2.answer(q)).outcome).toBe('submitted');
    await coordinator!.close();
    coordinator = undefined;
    coordinator = await start();
    expect((await m3.answer(q)).outcome).toBe('submitted');
    expect((await m4.answer(q)).outcome).toBe('submitted');
    const done = await final(q.queryId);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'released', contributions: 4 });
    expect(sumUsed(q.queryId)).toEqual(['stored contributions']);
  }, 120_000);
});
