/**
 * One enrolled shop that skips its own bound checks. BFV hides its values
 * and proves nothing about them: it can put any value below the plaintext
 * modulus in a slot, such as a customer count 65,000 times what the query
 * declares a shop can have. The key holder checks the decrypted sums
 * against contributors × each field's declared bound before releasing, and
 * refuses with `INPUT_OUT_OF_BOUNDS`. So it does when the sums break a
 * relation no sum of honest shops breaks (analytics/input-relations.ts),
 * such as more repeat customers than customers, even with every field far
 * below its bound. The honest shops' next round is exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotLayout } from '../../crypto/index.js';
import { pollUntil } from '../helpers/poll.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { startAdversaryCluster, type AdversaryCluster } from './adversary-cluster.js';

const SPEC = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

describe('a shop poisoning a sum', () => {
  let cluster: AdversaryCluster;

  beforeAll(async () => {
    cluster = await startAdversaryCluster({ shops: 3, seed: 'adversary-poison', customersPerShop: { min: 40, max: 80 }, purposes: ['marketing-analytics'] });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  /**
   * Publishes a segment query, has the first shop answer it with `encode`
   * wrapped by `poisoned` and the others honestly, and returns the query
   * once it is released or failed.
   */
  async function poisonedQuery(poisoned: (encode: SlotLayout['encode'], layout: SlotLayout, values: readonly bigint[]) => BigUint64Array[]) {
    const [evil, ...honest] = cluster.merchants;
    const created = await cluster.marketer<{ queryId: string }>('POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    expect(created.status).toBe(201);
    const encode = Object.getOwnPropertyDescriptor(SlotLayout.prototype, 'encode')!.value as SlotLayout['encode'];
    SlotLayout.prototype.encode = function (this: SlotLayout, values: readonly bigint[]): BigUint64Array[] {
      return poisoned(encode, this, values);
    };
    try {
      expect((await evil!.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    } finally {
      SlotLayout.prototype.encode = encode;
    }
    for (const m of honest) await m.answerOpenQueries();
    const q = await pollUntil(async () => {
      const seen = (await cluster.marketer<{ status: string; statusReason: string | null; result: unknown }>('GET', `/v1/queries/${created.body.queryId}`)).body;
      return seen.status === 'released' || seen.status === 'failed' ? seen : undefined;
    }, 100);
    return { queryId: created.body.queryId, ...q };
  }

  it('is refused INPUT_OUT_OF_BOUNDS when one shop writes a count far above the declared bound; nothing is released', async () => {
    // The malicious shop's encoder: its own values, then the first field's lowest limb set to 65,000 × its bound.
    const q = await poisonedQuery((encode, layout, values) => {
      const out = encode.call(layout, values);
      out[0]![layout.slotOffset(0)] = layout.maxLimbValue(0) * 65_000n < layout.plainModulus ? layout.maxLimbValue(0) * 65_000n : layout.plainModulus - 1n;
      return out;
    });
    expect(q.status).toBe('failed');
    expect(q.statusReason).toContain('INPUT_OUT_OF_BOUNDS');
    expect(q.result).toBeNull();
    expect((await cluster.marketer('GET', `/v1/queries/${q.queryId}/release`)).status).toBe(409);
  }, 120_000);

  it('is refused INPUT_OUT_OF_BOUNDS when one shop, within every field\'s bound, counts more repeat customers than customers', async () => {
    // Far below the declared bound (10^6 customers per shop), so only the relation between the two fields can catch it.
    const q = await poisonedQuery((encode, layout, values) => {
      const at = layout.fields.findIndex((f) => f.name === 'loyal.repeat_customers');
      const customers = layout.fields.findIndex((f) => f.name === 'loyal.customers');
      const poisoned = [...values];
      poisoned[at] = values[customers]! + 1000n;
      return encode.call(layout, poisoned);
    });
    expect(q.status).toBe('failed');
    expect(q.statusReason).toContain('INPUT_OUT_OF_BOUNDS');
    expect(q.statusReason).toMatch(/loyal\.repeat_customers is \d+, above loyal\.customers/);
    expect(q.result).toBeNull();
    expect((await cluster.marketer('GET', `/v1/queries/${q.queryId}/release`)).status).toBe(409);
  }, 120_000);

  it('leaves honest rounds exact against the pooled answer', async () => {
    // The refused round released nothing, so nothing of it is compared with this one.
    const q = await cluster.query('segment-stats', SPEC);
    expect(q.status, q.statusReason ?? '').toBe('released');
    const reference = pooledReference(cluster.shops.pooledDir);
    for (const row of (q.result as { rows: { stage: string; suppressed: boolean; customers: number | null }[] }).rows) {
      if (!row.suppressed) expect(row.customers).toBe(reference[row.stage]!.customers);
    }
  }, 120_000);
});
