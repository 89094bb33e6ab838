/**
 * The coordinator's running sums of open queries (coordinator/running-sums.ts),
 * fed as the intake feeds them: a contribution is added only after the
 * store committed it. The sum equals the sum of the stored contributions;
 * after a restart (a fresh RunningSums) it no longer covers them and is not
 * offered, so the closer adds the stored contributions, which give the same
 * bytes; a contribution refused anywhere leaves the sum as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeContext, HeEncryptor, cryptoReady, generateHeKeys, randomBytes, sumPackedContributions } from '../../crypto/index.js';
import { CoordinatorStore, openDatabase, type Database } from '../../coordinator/index.js';
import { RunningSums } from '../../coordinator/running-sums.js';
import { ContributionHeader } from '../../protos/index.js';

const CT_COUNT = 2;

describe('running sums of open queries', () => {
  let ctx: HeContext;
  let db: Database;
  let store: CoordinatorStore;
  /** Contributions of CT_COUNT ciphertexts each, by merchant. */
  const bodies = new Map<string, Uint8Array>();
  const merchants = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];

  beforeAll(async () => {
    await cryptoReady();
    ctx = await HeContext.create();
    const enc = new HeEncryptor(ctx, generateHeKeys(ctx).publicKey);
    merchants.forEach((m, i) => {
      const cts = [0, 1].map((j) => enc.encryptPacked(new BigUint64Array(ctx.slotCount).fill(BigInt(10 * i + j + 1))));
      bodies.set(m, Buffer.concat(cts));
    });
    enc.close();
    db = await openDatabase('memory://');
    store = new CoordinatorStore(db);
    for (const m of merchants) await store.enrolMerchant(m, randomBytes(32));
  });

  afterAll(async () => {
    await db?.close();
    ctx?.close();
  });

  async function query(queryId: string, target = 6) {
    await store.createQuery({
      queryId, kind: 'segment-stats', specJson: '{}', specDigest: new Uint8Array(32), paramSet: ctx.paramSet.name,
      keyId: new Uint8Array(32), maxContributors: 100, targetMerchants: target, minMerchants: 2,
      deadline: new Date(Date.now() + 60_000), purpose: 'marketing-analytics', purposeJson: '{"retentionDays":365}', termsJson: '',
      cutoff: new Date(), createdBy: 'test', fitId: null, fitRound: null,
    });
  }

  /** What the intake does: store, and add to the running sum only once the store committed. */
  async function contribute(sums: RunningSums, queryId: string, merchantId: string, body = bodies.get(merchantId)!): Promise<boolean> {
    const outcome = await store.insertContribution({
      queryId, merchantId, envelopeDigest: randomBytes(32), ciphertexts: body, attestationJson: '{}', subjectsIncluded: 1,
      header: ContributionHeader.fromPartial({ queryId, merchantId, nonce: Buffer.from(randomBytes(16)), signature: Buffer.alloc(64) }),
    });
    if (outcome.ok) sums.add(queryId, merchantId, body, CT_COUNT);
    return outcome.ok;
  }

  /** What the closer does: the running sum if it covers the stored contributions, else their sum. */
  async function aggregate(sums: RunningSums, queryId: string): Promise<{ from: 'running' | 'stored'; sums: Uint8Array[]; rebuilt: Uint8Array[] }> {
    const stored = await store.contributions(queryId);
    const rebuilt = sumPackedContributions(ctx, stored.map((c) => c.ciphertexts), CT_COUNT);
    const running = sums.sumsFor(queryId, stored.map((c) => c.merchantId), CT_COUNT);
    return { from: running ? 'running' : 'stored', sums: running ?? rebuilt, rebuilt };
  }

  const hex = (xs: readonly Uint8Array[]) => xs.map((x) => Buffer.from(x).toString('hex'));

  it('equals the sum of the stored contributions; after a restart it is not offered and the stored ones give the same bytes', async () => {
    await query('q-restart');
    const before = new RunningSums(ctx);
    for (const m of ['m1', 'm2', 'm3']) expect(await contribute(before, 'q-restart', m)).toBe(true);
    const first = await aggregate(before, 'q-restart');
    expect(first.from).toBe('running');
    expect(hex(first.sums)).toEqual(hex(first.rebuilt));
    expect(before.count('q-restart')).toBe(3);

    // The process dies: its memory is gone. The next one adds what it stores from now on.
    const after = new RunningSums(ctx);
    for (const m of ['m4', 'm5']) expect(await contribute(after, 'q-restart', m)).toBe(true);
    expect(after.count('q-restart')).toBe(2);
    const second = await aggregate(after, 'q-restart');
    expect(second.from).toBe('stored');
    const all = ['m1', 'm2', 'm3', 'm4', 'm5'].map((m) => bodies.get(m)!);
    expect(hex(second.sums)).toEqual(hex(sumPackedContributions(ctx, all, CT_COUNT)));
    // What the new process holds is exactly what it stored.
    expect(hex(after.sumsFor('q-restart', ['m4', 'm5'], CT_COUNT)!)).toEqual(hex(sumPackedContributions(ctx, all.slice(3), CT_COUNT)));
    // Nor is the old process's sum offered once another contribution was stored elsewhere.
    expect(await contribute(after, 'q-restart', 'm6')).toBe(true);
    expect(before.sumsFor('q-restart', (await store.contributions('q-restart')).map((c) => c.merchantId), CT_COUNT)).toBeUndefined();
  });

  it('is unchanged by contributions the store refused: a duplicate, a closed query, a revoked merchant', async () => {
    await query('q-refused');
    const sums = new RunningSums(ctx);
    expect(await contribute(sums, 'q-refused', 'm1')).toBe(true);
    expect(await contribute(sums, 'q-refused', 'm2')).toBe(true);
    const held = hex(sums.sumsFor('q-refused', ['m1', 'm2'], CT_COUNT)!);

    // m1 again (another body, same merchant): refused as a duplicate at the insert.
    expect(await contribute(sums, 'q-refused', 'm1', bodies.get('m3'))).toBe(false);
    await store.enrolMerchant('m-revoked', randomBytes(32));
    await store.revokeMerchant('m-revoked', 'test');
    expect(await contribute(sums, 'q-refused', 'm-revoked', bodies.get('m4'))).toBe(false);
    expect(sums.count('q-refused')).toBe(2);
    expect(hex(sums.sumsFor('q-refused', ['m1', 'm2'], CT_COUNT)!)).toEqual(held);

    expect(await store.transition('q-refused', 'open', 'closing')).toBe(true);
    expect(await contribute(sums, 'q-refused', 'm5')).toBe(false);
    const closing = await aggregate(sums, 'q-refused');
    expect(closing.from).toBe('running');
    expect(hex(closing.sums)).toEqual(held);
    expect(hex(closing.sums)).toEqual(hex(closing.rebuilt));
    sums.forget('q-refused');
    expect(sums.count('q-refused')).toBe(0);
    expect(sums.queryIds()).not.toContain('q-refused');
  });

  it('gives a sum up rather than keep a wrong one: a ciphertext it cannot add, more ciphertexts than it may hold', async () => {
    const sums = new RunningSums(ctx);
    sums.add('q-bad', 'm1', bodies.get('m1')!, CT_COUNT);
    // The second ciphertext has a coefficient above its modulus: the first position would hold it, the second not.
    const bad = Uint8Array.from(bodies.get('m2')!);
    bad.fill(0xff, bad.length - 64, bad.length - 8);
    sums.add('q-bad', 'm2', bad, CT_COUNT);
    expect(sums.holdsSum('q-bad')).toBe(false);
    expect(sums.count('q-bad')).toBe(2);
    expect(sums.sumsFor('q-bad', ['m1', 'm2'], CT_COUNT)).toBeUndefined();
    // Later contributions are still counted (for the closer's target) but not summed.
    sums.add('q-bad', 'm3', bodies.get('m3')!, CT_COUNT);
    expect(sums.count('q-bad')).toBe(3);
    expect(sums.sumsFor('q-bad', ['m1', 'm2', 'm3'], CT_COUNT)).toBeUndefined();

    // Within the cap: one query of two ciphertexts fits in three, the next does not.
    const capped = new RunningSums(ctx, { maxCiphertexts: 3 });
    capped.add('q-a', 'm1', bodies.get('m1')!, CT_COUNT);
    capped.add('q-b', 'm1', bodies.get('m1')!, CT_COUNT);
    expect(capped.holdsSum('q-a')).toBe(true);
    expect(capped.holdsSum('q-b')).toBe(false);
    expect(capped.count('q-b')).toBe(1);
    // Once q-a is forgotten its room is free again.
    capped.forget('q-a');
    capped.add('q-c', 'm1', bodies.get('m1')!, CT_COUNT);
    expect(capped.holdsSum('q-c')).toBe(true);
  });

  it('offers a sum only for exactly the merchants it holds', () => {
    const sums = new RunningSums(ctx);
    sums.add('q-set', 'm1', bodies.get('m1')!, CT_COUNT);
    sums.add('q-set', 'm2', bodies.get('m2')!, CT_COUNT);
    expect(sums.sumsFor('q-set', ['m1', 'm2'], CT_COUNT)).toBeDefined();
    expect(sums.sumsFor('q-set', ['m2', 'm1'], CT_COUNT)).toBeDefined();
    expect(sums.sumsFor('q-set', ['m1'], CT_COUNT)).toBeUndefined();
    expect(sums.sumsFor('q-set', ['m1', 'm3'], CT_COUNT)).toBeUndefined();
    expect(sums.sumsFor('q-set', ['m1', 'm2', 'm3'], CT_COUNT)).toBeUndefined();
    expect(sums.sumsFor('q-set', ['m1', 'm2'], 1)).toBeUndefined();
    expect(sums.sumsFor('q-other', [], CT_COUNT)).toBeUndefined();
    // The same merchant added twice (the database never stores that): the sum is given up.
    sums.add('q-set', 'm2', bodies.get('m2')!, CT_COUNT);
    expect(sums.sumsFor('q-set', ['m1', 'm2'], CT_COUNT)).toBeUndefined();
  });
});
