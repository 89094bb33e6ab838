/**
 * More merchants in one round than one homomorphic sum keeps noise budget
 * for (the parameter set's maxAddends, 1024): 1,030 enrolled merchant
 * identities, each with its own key, channel, encryption, attestation and
 * signature, answer one segment query against a real coordinator and key
 * holder over gRPC. Both add the contributions in two stages (515 and 515,
 * in merchant-id order); the key holder decrypts each stage, checks it
 * against its own shops' bounds and adds the totals. The released totals
 * must equal the plaintext sum of every merchant's own statistic.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeContext } from '../../crypto/index.js';
import { parseReleaseDocument } from '../../analytics/index.js';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/index.js';
import { startKeyHolder, type RunningKeyHolder } from '../../keyholder/index.js';
import { localStatistic, RoundTerms } from '../../round/index.js';
import {
  closeMerchants,
  createMerchants,
  enrolMerchant,
  fetchPublicKey,
  loadShopTemplates,
  openQuery,
  pool,
  prepareContributions,
  submitContribution,
  type ShopTemplate,
  type SimulatedMerchant,
} from '../../bench/load-merchants.js';
import { testAuthoritySeed, testIdentity, type TestIdentity } from '../../harness/identity.js';
import { pollUntil } from '../helpers/poll.js';

const TOKEN = 'staged-sums-token-0123456789abcdef';
const MERCHANTS = 1030;
/** Codes after which a merchant does not send again (as bench/load.ts). */
const FINAL_CODES = new Set(['ACCEPTED', 'DUPLICATE_CONTRIBUTION', 'ALREADY_EXISTS']);

describe(`a round of ${MERCHANTS} merchants, beyond one sum's noise budget`, () => {
  let dir: string;
  let identity: TestIdentity;
  let keyholder: RunningKeyHolder;
  let coordinator: RunningCoordinator;
  let ctx: HeContext;
  let shops: ShopTemplate[];
  let merchants: SimulatedMerchant[] = [];

  async function http<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(coordinator.httpAddress + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedmart-staged-'));
    identity = await testIdentity(dir);
    ctx = await HeContext.create();
    keyholder = await startKeyHolder({
      dataDir: join(dir, 'keyholder'), logger: pino({ level: 'silent' }),
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex, coordinatorRequestKeyHex: identity.requestKeyHex,
    });
    coordinator = await startCoordinator({
      database: 'memory://', keyholderAddress: keyholder.address, keyholderSigningKeyHex: keyholder.signingPublicKeyHex,
      apiToken: TOKEN, auditKeyFile: join(dir, 'audit.seed'), closerIntervalMs: 100,
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex, requestSigningSeedFile: identity.requestSeedFile,
      logger: pino({ level: 'silent' }),
    });
    shops = await loadShopTemplates(join(dir, 'shops'), 4);
    merchants = createMerchants('staged', MERCHANTS, coordinator.grpcAddress, shops.length);
    const authoritySeed = await testAuthoritySeed();
    await pool(merchants, 32, (m) => enrolMerchant(m, authoritySeed));
  }, 600_000);

  afterAll(async () => {
    closeMerchants(merchants);
    await coordinator?.close();
    await keyholder?.close();
    ctx?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('cuts a layout for one stage of maxAddends, not for the whole round', () => {
    const spec = { kind: 'segment-stats', purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };
    const round = RoundTerms.fromSpec(ctx, 'segment-stats', spec, 5000);
    const oneStage = RoundTerms.fromSpec(ctx, 'segment-stats', spec, ctx.paramSet.maxAddends);
    expect(ctx.paramSet.maxAddends).toBe(1024);
    expect(round.layout.limbBits).toBe(oneStage.layout.limbBits);
    expect(round.layoutDigest).toEqual(oneStage.layoutDigest);
    // Limbs for 5,000 contributors in one sum would be narrower (or impossible): each stage's sum is what must not wrap.
    expect(BigInt(ctx.paramSet.maxAddends) * ((1n << BigInt(round.layout.limbBits)) - 1n)).toBeLessThan(ctx.plainModulus);
  });

  it('releases exactly the plaintext sum of every merchant\'s statistic', async () => {
    const created = await http<{ queryId: string }>('POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' },
      targetMerchants: MERCHANTS, minMerchants: 3, maxContributors: 2000, deadlineSeconds: 3600,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const queryId = created.body.queryId;
    const bundle = await fetchPublicKey(merchants[0]!, ctx, keyholder.signingPublicKeyHex);
    const query = await openQuery(merchants[0]!, queryId);
    const prepared = prepareContributions(ctx, bundle, query, shops, merchants, () => undefined);

    // The independent answer: each merchant's own field totals, decoded from its plaintext slots, summed in BigInt.
    const perShop = shops.map((shop) => localStatistic(ctx, query, shop));
    const layout = perShop[0]!.terms.layout;
    const expected = layout.fields.map(() => 0n);
    for (const m of merchants) layout.decode(perShop[m.shop]!.slots).forEach((v, i) => (expected[i] = expected[i]! + v));

    const codes = new Map<string, number>();
    await pool(prepared, 64, async (p, i) => {
      for (let attempt = 1; ; attempt++) {
        const x = await submitContribution(merchants[i]!, p, 300_000);
        if (FINAL_CODES.has(x.code) || attempt === 5) {
          codes.set(x.code, (codes.get(x.code) ?? 0) + 1);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    });
    expect(Object.fromEntries(codes)).toEqual({ ACCEPTED: MERCHANTS });

    const final = await pollUntil(async () => {
      const q = (await http<{ status: string; statusReason: string | null }>('GET', `/v1/queries/${queryId}`)).body;
      return q.status === 'released' || q.status === 'failed' ? q : undefined;
    }, 200);
    expect(final.status, final.statusReason ?? '').toBe('released');
    const release = await http<{ release: unknown }>('GET', `/v1/queries/${queryId}/release`);
    const doc = parseReleaseDocument(release.body.release);
    expect(doc.merchants).toHaveLength(MERCHANTS);

    const byField = new Map(layout.fields.map((f, i) => [f.name, expected[i]!]));
    const cells = Object.values(doc.cells);
    // 1,030 shops' customers in every lifecycle stage: far above k, so nothing is withheld and every total is compared.
    expect(cells.length).toBeGreaterThan(0);
    expect(cells.filter((c) => c.suppressed)).toEqual([]);
    for (const cell of cells) {
      if (cell.suppressed) continue;
      expect(Object.keys(cell.totals).length).toBeGreaterThan(0);
      for (const [field, total] of Object.entries(cell.totals)) expect(BigInt(total), field).toBe(byField.get(field));
    }
  }, 900_000);
});
