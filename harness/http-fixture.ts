/**
 * A coordinator HTTP app on a real in-memory PGlite database and a real HE
 * context, driven through fastify's inject, with one user per role.
 */
import type { FastifyInstance } from 'fastify';
import { HeContext, cryptoReady, generateHeKeys, generateSigningKeyPair, heKeyId } from '../crypto/index.js';
import { AuditTrail, CoordinatorStore, FitRunner, PurposeStore, QueryService, buildHttpApp, openDatabase, type Database, type HttpAppDeps } from '../coordinator/index.js';
import { DEFAULT_PURPOSE_REGISTRY, type AuditEntry, type PurposeRegistry } from '../compliance/index.js';
import { testLogger } from './test-logs.js';

export const BOOTSTRAP_TOKEN = 'bootstrap-token-0123456789abcdef';

export type RoleName = 'marketer' | 'compliance' | 'admin' | 'merchant';
export const ROLE_NAMES: readonly RoleName[] = ['marketer', 'compliance', 'admin', 'merchant'];

export interface HttpFixture {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly audit: AuditTrail;
  readonly store: CoordinatorStore;
  /** Token and user id per role (the marketer is granted marketing-analytics only; the merchant operator runs shop-01). */
  readonly users: Record<RoleName, { token: string; id: string }>;
  call(token: string | null, method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: any; headers: Record<string, unknown>; raw: Buffer }>;
  lastEntry(): Promise<AuditEntry>;
  close(): Promise<void>;
}

/** One HE context and key per test file (making them is the slow part); it lives as long as the worker. */
let shared: Promise<{ ctx: HeContext; publicKey: Uint8Array }> | undefined;

function heContext(): Promise<{ ctx: HeContext; publicKey: Uint8Array }> {
  shared ??= (async () => {
    await cryptoReady();
    const ctx = await HeContext.create();
    return { ctx, publicKey: generateHeKeys(ctx).publicKey };
  })();
  return shared;
}

export async function startHttpFixture(
  options: Partial<Pick<HttpAppDeps, 'rateLimit' | 'authFailureLimit' | 'publicRateLimit' | 'chromium' | 'serverLimits' | 'https'>> & { readonly registry?: PurposeRegistry } = {},
): Promise<HttpFixture> {
  const { ctx, publicKey } = await heContext();
  const db = await openDatabase('memory://');
  const audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair: generateSigningKeyPair() });
  const purposes = new PurposeStore(db, audit);
  await purposes.sync(options.registry ?? DEFAULT_PURPOSE_REGISTRY, 'test');
  const store = new CoordinatorStore(db);
  for (const shop of ['shop-01', 'shop-02']) await store.enrolMerchant(shop, generateSigningKeyPair().publicKey);
  const logger = testLogger('http-app');
  const queries = new QueryService({
    store, audit, purposes, minSubjects: 10, ctx,
    publicKeyBundle: { paramSet: ctx.paramSet.name, publicKey: Buffer.from(publicKey), keyId: Buffer.from(heKeyId(publicKey)), keyholderSigningKey: Buffer.alloc(32), signature: Buffer.alloc(64) },
  });
  const app = buildHttpApp({
    store, queries, fits: new FitRunner(db, queries, audit, logger), audit, purposes, apiToken: BOOTSTRAP_TOKEN, logger,
    chromium: options.chromium ?? null,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    ...(options.authFailureLimit ? { authFailureLimit: options.authFailureLimit } : {}),
    ...(options.publicRateLimit ? { publicRateLimit: options.publicRateLimit } : {}),
    ...(options.serverLimits ? { serverLimits: options.serverLimits } : {}),
    ...(options.https ? { https: options.https } : {}),
  });
  await app.ready();

  const call: HttpFixture['call'] = async (token, method, url, payload) => {
    const res = await app.inject({
      method,
      url,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    let body: unknown = res.body;
    if (/json/.test(String(res.headers['content-type']))) body = res.json();
    return { status: res.statusCode, body, headers: res.headers, raw: res.rawPayload };
  };
  const users = {} as Record<RoleName, { token: string; id: string }>;
  const specs: Record<RoleName, Record<string, unknown>> = {
    marketer: { userId: 'mkt-test', role: 'marketer', purposes: ['marketing-analytics'] },
    compliance: { userId: 'dpo-test', role: 'compliance' },
    admin: { userId: 'adm-test', role: 'admin' },
    merchant: { userId: 'ops-shop-01', role: 'merchant', merchantId: 'shop-01' },
  };
  for (const role of ROLE_NAMES) {
    const res = await call(BOOTSTRAP_TOKEN, 'POST', '/v1/users', specs[role]);
    if (res.status !== 201) throw new Error(`creating ${role}: ${res.status} ${JSON.stringify(res.body)}`);
    users[role] = { token: res.body.token as string, id: res.body.user.userId as string };
  }
  return {
    app, db, audit, store, users, call,
    lastEntry: async () => {
      const size = await audit.log.size();
      return (await audit.log.entries(size - 1, size))[0]!;
    },
    close: async () => {
      await app.close();
      await db.close();
    },
  };
}
