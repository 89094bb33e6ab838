/**
 * Policy drift between the parties. The attack found: a purpose run as DP by
 * the coordinator and the shops, with the key holder started without that
 * disclosure block, came back exact three times; no budget was spent, nothing
 * was refused or warned. Here the query's disclosure terms travel with it
 * and in every shop's signed attestation, and the key holder compares them
 * with its own registry:
 *
 * - a purpose declared DP by the shops and the coordinator but not by the key
 *   holder is refused `POLICY_MISMATCH` every time; nothing exact comes back;
 * - a purpose the key holder holds as DP but the others as exact is refused too;
 * - a coordinator stating a smaller k than the key holder applies is refused,
 *   naming the flag to set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurposeRegistry } from '../../compliance/index.js';
import { startAdversaryCluster, type AdversaryCluster } from './adversary-cluster.js';

const DP = { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 0.5, totalRho: 2 } as const;

function withDisclosure(purpose: string, disclosure: unknown): (r: PurposeRegistry) => PurposeRegistry {
  return (r) => ({ ...r, purposes: r.purposes.map((p) => (p.name === purpose ? { ...p, disclosure } : p)) } as PurposeRegistry);
}

const SEGMENT = { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' };

describe('the key holder binds the disclosure policy', () => {
  let cluster: AdversaryCluster;

  beforeAll(async () => {
    cluster = await startAdversaryCluster({
      shops: 3,
      seed: 'adversary-policy',
      customersPerShop: { min: 40, max: 80 },
      purposes: ['marketing-analytics', 'churn-modelling'],
      // Shops and coordinator: marketing-analytics is DP. Key holder: the block is missing, and churn-modelling is DP there only.
      registry: withDisclosure('marketing-analytics', DP),
      keyholderRegistry: (r) => withDisclosure('churn-modelling', DP)(withDisclosure('marketing-analytics', undefined)(r)),
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('refuses a purpose declared DP everywhere but at the key holder, every time, and releases nothing exact', async () => {
    // The marketer may read the purpose's terms (this answered 500 while a purpose carried a disclosure block).
    const purposes = await cluster.marketer<{ purposes: { name: string; disclosure?: unknown }[] }>('GET', '/v1/purposes');
    expect(purposes.status).toBe(200);
    expect(purposes.body.purposes.find((p) => p.name === 'marketing-analytics')?.disclosure).toEqual(DP);
    for (let i = 0; i < 3; i++) {
      const q = await cluster.query('segment-stats', SEGMENT);
      expect(q.status).toBe('failed');
      expect(q.statusReason).toContain('POLICY_MISMATCH');
      expect(q.statusReason).toContain('mode: "dp" vs "exact"');
      expect(q.result).toBeNull();
      expect((await cluster.marketer('GET', `/v1/queries/${q.queryId}/release`)).status).toBe(409);
    }
  }, 120_000);

  it('refuses a purpose the key holder holds as DP and the others as exact', async () => {
    const q = await cluster.query('segment-stats', { ...SEGMENT, purpose: 'churn-modelling' });
    expect(q.status).toBe('failed');
    expect(q.statusReason).toContain('POLICY_MISMATCH');
    expect(q.statusReason).toContain('mode: "exact" vs "dp"');
  }, 120_000);
});

describe('the key holder refuses a smaller k than its own', () => {
  let cluster: AdversaryCluster;

  beforeAll(async () => {
    cluster = await startAdversaryCluster({ shops: 3, seed: 'adversary-k', customersPerShop: { min: 40, max: 80 }, purposes: ['marketing-analytics'], minSubjects: 10, coordinatorMinSubjects: 5 });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('names the coordinator flag that disagrees', async () => {
    const q = await cluster.query('segment-stats', SEGMENT);
    expect(q.status).toBe('failed');
    expect(q.statusReason).toContain('POLICY_MISMATCH');
    expect(q.statusReason).toContain('the query states k=5 but this key holder applies k=10; start the coordinator with --min-subjects 10');
  }, 120_000);
});
