/**
 * The curious marketer against merchant sets. The attack found: the same
 * segment query with `targetMerchants` 3, then 4, was released both times;
 * the release documents name the merchants, and the difference is shop-04
 * alone, including a cell of 8 customers (k = 10). Here:
 *
 * - the second release is refused `MERCHANT_DIFFERENCING` naming the shop;
 *   the pooled plaintext shows the single shop's table the difference would
 *   have been, with its cell below k;
 * - generated variants: random subsets of answering shops are released
 *   exactly when, against every earlier release, the shops that differ are
 *   none or at least m and their customers none or at least k.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopData } from '../../analytics/index.js';
import { readConsentedPool } from '../helpers/pooled-models.js';
import { startAdversaryCluster, type AdversaryCluster } from './adversary-cluster.js';

const K = 10;
const M = 3;
const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

describe('curious marketer vs merchant sets', () => {
  let cluster: AdversaryCluster;
  let pool: ShopData;
  /** Shop ids of every released query so far. */
  const released: string[][] = [];

  const customersOf = (shops: readonly string[]) => pool.customers.filter((c) => shops.includes(c.customerId.split('/')[0]!)).length;

  /** Plain rule over the released sets: the symmetric difference holds 0 or at least m shops, and 0 or at least k customers. */
  function mayRelease(shops: readonly string[]): boolean {
    return released.every((earlier) => {
      const diff = [...earlier.filter((s) => !shops.includes(s)), ...shops.filter((s) => !earlier.includes(s))];
      const customers = customersOf(diff);
      return !((diff.length > 0 && diff.length < M) || (customers > 0 && customers < K));
    });
  }

  const ids = () => cluster.merchants.map((m) => m.merchantId);
  const answering = (shops: readonly string[]) => cluster.merchants.filter((m) => shops.includes(m.merchantId));

  beforeAll(async () => {
    cluster = await startAdversaryCluster({ shops: 6, seed: 'adversary-merchants', customersPerShop: { min: 40, max: 120 }, purposes: ['marketing-analytics'] });
    pool = readConsentedPool(cluster.shops.pooledDir);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('refuses the same query answered by one more shop, naming it', async () => {
    const [a, b, c, d] = ids();
    const three = await cluster.query('segment-stats', SPEC, { answering: answering([a!, b!, c!]) });
    expect(three.status, three.statusReason ?? '').toBe('released');
    released.push([a!, b!, c!]);
    // What the difference would have been: shop d's own lifecycle table, the smallest of its cells below k or not.
    const stages = new Map<string, number>();
    for (const cu of pool.customers) if (cu.customerId.startsWith(`${d}/`)) stages.set(cu.lifecycleStage, (stages.get(cu.lifecycleStage) ?? 0) + 1);
    console.log(`merchant sets: the difference would be ${d}'s own table, cells ${JSON.stringify(Object.fromEntries(stages))}`);
    const four = await cluster.query('segment-stats', SPEC, { answering: answering([a!, b!, c!, d!]) });
    expect(four.status).toBe('failed');
    expect(four.statusReason).toContain('MERCHANT_DIFFERENCING');
    expect(four.statusReason).toContain(`by 1 merchant(s) (${d})`);
    const release = await cluster.marketer<{ code: string }>('GET', `/v1/queries/${four.queryId}/release`);
    expect(release.status).toBe(409);
  }, 120_000);

  it('releases random subsets of shops exactly when the plain rule says so (generated)', async () => {
    const outcomes: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.subarray(ids(), { minLength: M }), async (shops) => {
        const expected = mayRelease(shops);
        const q = await cluster.query('segment-stats', SPEC, { answering: answering(shops) });
        outcomes.push(`${shops.join('+')}: ${q.status}`);
        expect(q.status, `${shops.join(',')} ${q.statusReason ?? ''}`).toBe(expected ? 'released' : 'failed');
        if (expected) released.push([...shops]);
        else expect(q.statusReason).toMatch(/DIFFERENCING/);
      }),
      { numRuns: 8, seed: 5 },
    );
    console.log(`merchant sets, generated variants: ${outcomes.join('; ')}`);
    expect(outcomes.some((o) => o.endsWith('released')) && outcomes.some((o) => o.endsWith('failed'))).toBe(true);
  }, 300_000);
});
