/**
 * The k a query is published under: the `query.created` audit entry and the
 * query view state the k the key holder will apply to the query's purpose,
 * i.e. the coordinator's configured k or the purpose's stricter
 * `disclosure.minSubjects`, never a looser one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeContext, cryptoReady, generateHeKeys, generateSigningKeyPair, heKeyId } from '../../crypto/index.js';
import { AuditTrail, CoordinatorStore, PurposeStore, QueryService, openDatabase, type Database } from '../../coordinator/index.js';
import { effectiveMinSubjects } from '../../coordinator/query-service.js';
import { queryView } from '../../coordinator/http-query-routes.js';
import { DEFAULT_PURPOSE_REGISTRY, type PurposeRegistry } from '../../compliance/index.js';

const FLOOR = 10;

describe('the k stated for a query', () => {
  let db: Database;
  let audit: AuditTrail;
  let purposes: PurposeStore;
  let queries: QueryService;

  beforeAll(async () => {
    await cryptoReady();
    const ctx = await HeContext.create();
    const publicKey = generateHeKeys(ctx).publicKey;
    db = await openDatabase('memory://');
    audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair: generateSigningKeyPair() });
    purposes = new PurposeStore(db, audit);
    await purposes.sync(DEFAULT_PURPOSE_REGISTRY, 'test');
    const store = new CoordinatorStore(db);
    for (const shop of ['shop-01', 'shop-02', 'shop-03']) await store.enrolMerchant(shop, generateSigningKeyPair().publicKey);
    queries = new QueryService({
      store, audit, purposes, minSubjects: FLOOR, ctx,
      publicKeyBundle: { paramSet: ctx.paramSet.name, publicKey: Buffer.from(publicKey), keyId: Buffer.from(heKeyId(publicKey)), keyholderSigningKey: Buffer.alloc(32), signature: Buffer.alloc(64) },
    });
  });

  afterAll(async () => {
    await db?.close();
  });

  /** Registers marketing-analytics with `disclosure`, publishes a query, returns the k its audit entry and view state. */
  async function statedK(disclosure: Record<string, unknown> | undefined): Promise<{ audited: unknown; shown: number }> {
    const registry = structuredClone(DEFAULT_PURPOSE_REGISTRY) as unknown as { purposes: Record<string, unknown>[] };
    const p = registry.purposes.find((x) => x.name === 'marketing-analytics')!;
    if (disclosure === undefined) delete p.disclosure;
    else p.disclosure = disclosure;
    await purposes.sync(registry as unknown as PurposeRegistry, 'test');
    const q = await queries.create({ kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, createdBy: 'mkt-test' });
    const size = await audit.log.size();
    const entry = (await audit.log.entries(size - 1, size))[0]!;
    expect(entry).toMatchObject({ type: 'query.created', details: { queryId: q.queryId } });
    return { audited: (entry.details as { thresholds: { minSubjects: number } }).thresholds.minSubjects, shown: queryView(q, 0, FLOOR).minSubjects };
  }

  it('states the purpose\'s own k when it is stricter than the coordinator\'s', async () => {
    expect(await statedK({ mode: 'exact', minSubjects: 25 })).toEqual({ audited: 25, shown: 25 });
    expect(await statedK({ mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 0.05, totalRho: 1, minSubjects: 40 })).toEqual({ audited: 40, shown: 40 });
  });

  it('states the coordinator\'s k when the purpose asks for less or says nothing', async () => {
    expect(await statedK({ mode: 'exact', minSubjects: 5 })).toEqual({ audited: FLOOR, shown: FLOOR });
    expect(await statedK({ mode: 'exact' })).toEqual({ audited: FLOOR, shown: FLOOR });
    expect(await statedK(undefined)).toEqual({ audited: FLOOR, shown: FLOOR });
  });

  it('checks its floor argument', () => {
    expect(() => effectiveMinSubjects(0, undefined)).toThrow(RangeError);
    expect(() => effectiveMinSubjects(0, undefined)).toThrow(/floor/);
    expect(effectiveMinSubjects(3, { disclosure: { mode: 'exact', minSubjects: 7 } })).toBe(7);
  });
});
