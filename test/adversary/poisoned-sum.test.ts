/**
 * One enrolled shop that skips its own bound checks. BFV hides its values
 * and proves nothing about them: it can put any value below the plaintext
 * modulus in a slot, such as a customer count 65,000 times what the query
 * declares a shop can have. The key holder checks the decrypted sums
 * against contributors × each field's declared bound before releasing, and
 * refuses with `INPUT_OUT_OF_BOUNDS`; the honest shops' next round is exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotLayout } from '../../crypto/index.js';
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

  it('is refused INPUT_OUT_OF_BOUNDS when one shop writes a count far above the declared bound; nothing is released', async () => {
    const [evil, ...honest] = cluster.merchants;
    const created = await cluster.marketer<{ queryId: string }>('POST', '/v1/queries', { kind: 'segment-stats', spec: SPEC, targetMerchants: 3 });
    expect(created.status).toBe(201);
    // The malicious shop's encoder: its own values, then the first field's lowest limb set to 65,000 × its bound.
    const encode = Object.getOwnPropertyDescriptor(SlotLayout.prototype, 'encode')!.value as SlotLayout['encode'];
    SlotLayout.prototype.encode = function (this: SlotLayout, values: readonly bigint[]): BigUint64Array[] {
      const out = encode.call(this, values);
      out[0]![this.slotOffset(0)] = this.maxLimbValue(0) * 65_000n < this.plainModulus ? this.maxLimbValue(0) * 65_000n : this.plainModulus - 1n;
      return out;
    };
    try {
      expect((await evil!.answerOpenQueries()).map((o) => o.outcome)).toEqual(['submitted']);
    } finally {
      SlotLayout.prototype.encode = encode;
    }
    for (const m of honest) await m.answerOpenQueries();
    let q;
    for (;;) {
      q = (await cluster.marketer<{ status: string; statusReason: string | null; result: unknown }>('GET', `/v1/queries/${created.body.queryId}`)).body;
      if (q.status === 'released' || q.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(q.status).toBe('failed');
    expect(q.statusReason).toContain('INPUT_OUT_OF_BOUNDS');
    expect(q.result).toBeNull();
    expect((await cluster.marketer('GET', `/v1/queries/${created.body.queryId}/release`)).status).toBe(409);
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
