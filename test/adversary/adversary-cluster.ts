/**
 * A cluster as a curious marketer meets it: the key holder and the
 * coordinator each run as their own `fedmart` process on 127.0.0.1 (real
 * SEAL, real gRPC, embedded PGlite), honest shops answer with in-process
 * merchant nodes (real encryption, signatures and consent attestations),
 * and the attacker holds nothing but one marketer API token granted the
 * purposes under attack. Every attack goes through the HTTP API.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MerchantNode } from '../../client-sdk/index.js';
import { DEFAULT_PURPOSE_REGISTRY, type FieldClassification, type PurposeRegistry } from '../../compliance/index.js';
import { spawnFedmart, type FedmartProcess } from '../helpers/coordinator-process.js';
import { testIdentity } from '../../harness/identity.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

const ADMIN_TOKEN = 'adversary-admin-token-0123456789';

export interface AdversaryOptions {
  readonly shops: number;
  readonly seed: string;
  readonly customersPerShop?: { min: number; max: number };
  /** Purposes the marketer is granted. */
  readonly purposes: readonly string[];
  /** Key holder and coordinator k floor (default 10). */
  readonly minSubjects?: number;
  /** The coordinator's k floor when it differs from the key holder's. */
  readonly coordinatorMinSubjects?: number;
  /** Rewrites the registry the coordinator and the shops run under (default: the built-in one). */
  readonly registry?: (r: PurposeRegistry) => PurposeRegistry;
  /** Rewrites the registry the key holder runs under (default: the same as everyone's). */
  readonly keyholderRegistry?: (r: PurposeRegistry) => PurposeRegistry;
  /** Writes the shops' export folders instead of synthetic customer shops of `shops` and `seed` (a declared business table). */
  readonly shopFolders?: () => SynthShops | Promise<SynthShops>;
  /** The field classification key holder and coordinator check the registry against (default: the built-in one). */
  readonly fields?: FieldClassification;
}

export interface HttpAnswer<T> {
  readonly status: number;
  readonly body: T;
}

export interface QueryView {
  readonly queryId: string;
  readonly kind: string;
  readonly status: string;
  readonly statusReason: string | null;
  readonly statusCode?: string | null;
  readonly result: unknown;
}

export interface FitView {
  readonly fitId: string;
  readonly status: string;
  readonly statusReason: string | null;
  readonly round: number;
  readonly model: unknown;
  readonly evaluation: unknown;
}

export interface AdversaryCluster {
  readonly dir: string;
  readonly shops: SynthShops;
  readonly merchants: readonly MerchantNode[];
  readonly http: string;
  /** The coordinator's audit-signing seed file (the operator's, not the marketer's). */
  readonly auditSeedFile: string;
  /** An HTTP call with the marketer's token. */
  marketer<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpAnswer<T>>;
  /** An HTTP call with the bootstrap administrator's token. */
  admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpAnswer<T>>;
  /** Publishes a query as the marketer, lets `answering` merchants answer, waits for the outcome. */
  query(kind: string, spec: Record<string, unknown>, options?: { answering?: readonly MerchantNode[]; cutoff?: string }): Promise<QueryView>;
  /** Starts a fit as the marketer and drives its rounds with every merchant until it ends. */
  fit(kind: string, spec: Record<string, unknown>): Promise<FitView>;
  /** Ids of every query the shops were asked to answer (fit rounds included), in order. */
  readonly answeredQueryIds: readonly string[];
  close(): Promise<void>;
}

async function call<T>(base: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpAnswer<T>> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the processes, enrols the shops and creates the marketer. */
export async function startAdversaryCluster(o: AdversaryOptions): Promise<AdversaryCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-adversary-'));
  const processes: FedmartProcess[] = [];
  let merchants: MerchantNode[] = [];
  const cleanup = async () => {
    for (const m of merchants) m.close();
    await Promise.all(processes.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const identity = await testIdentity(dir);
    const shops = o.shopFolders ? await o.shopFolders() : await makeShops(o.shops, o.seed, o.customersPerShop ? { customersPerShop: o.customersPerShop } : {});
    const registry = (o.registry ?? ((r) => r))(DEFAULT_PURPOSE_REGISTRY);
    const keyholderRegistry = (o.keyholderRegistry ?? ((r) => r))(registry);
    // The shops register the purposes on the same terms as the coordinator (consent and notices stay theirs).
    for (const s of shops.shopDirs) {
      const file = join(s.dir, 'purposes.json');
      const own = JSON.parse(readFileSync(file, 'utf8')) as PurposeRegistry;
      const byName = new Map(registry.purposes.map((p) => [p.name, p]));
      writeFileSync(file, JSON.stringify({ ...own, purposes: own.purposes.map((p) => byName.get(p.name) ?? p) }, null, 1));
    }
    const registryFile = join(dir, 'purposes.json');
    const keyholderRegistryFile = join(dir, 'keyholder-purposes.json');
    writeFileSync(registryFile, JSON.stringify(registry, null, 1));
    writeFileSync(keyholderRegistryFile, JSON.stringify(keyholderRegistry, null, 1));
    const k = String(o.minSubjects ?? 10);
    const fieldsFile = join(dir, 'fields.json');
    if (o.fields) writeFileSync(fieldsFile, JSON.stringify(o.fields, null, 1));
    const fields = o.fields ? ['--fields', fieldsFile] : [];

    const keyholder = spawnFedmart(['keyholder', '--data', join(dir, 'keyholder'), '--listen', '127.0.0.1:0', '--enrolment-authority', identity.authorityPublicKeyHex,
      '--coordinator-key', identity.requestSeedFile, '--min-subjects', k, '--purposes', keyholderRegistryFile, ...fields], join(dir, 'keyholder.log'));
    processes.push(keyholder);
    const kh = await keyholder.ready;
    const coordinator = spawnFedmart(['coordinator', '--keyholder', String(kh.address), '--keyholder-key', String(kh.signingKey), '--db', join(dir, 'coordinator-db'),
      '--enrolment-authority', identity.authorityPublicKeyHex, '--request-key', identity.requestSeedFile, '--audit-key', join(dir, 'audit.seed'),
      '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0', '--min-subjects', String(o.coordinatorMinSubjects ?? k), '--purposes', registryFile, ...fields], join(dir, 'coordinator.log'), { FEDMART_API_TOKEN: ADMIN_TOKEN });
    processes.push(coordinator);
    const co = await coordinator.ready;
    const http = String(co.http);
    merchants = await makeMerchants(shops, String(co.grpc), String(kh.signingKey));
    const created = await call<{ token: string }>(http, ADMIN_TOKEN, 'POST', '/v1/users', { userId: 'mkt-curious', role: 'marketer', purposes: o.purposes });
    if (created.status !== 201) throw new Error(`creating the marketer answered ${created.status}: ${JSON.stringify(created.body)}`);
    const marketerToken = created.body.token;
    const marketer = <T>(method: 'GET' | 'POST', path: string, body?: unknown) => call<T>(http, marketerToken, method, path, body);

    const answeredQueryIds: string[] = [];
    const answer = async (nodes: readonly MerchantNode[]) => {
      for (const m of nodes) {
        for (const outcome of await m.answerOpenQueries()) if (!answeredQueryIds.includes(outcome.queryId)) answeredQueryIds.push(outcome.queryId);
      }
    };
    const waitQuery = async (queryId: string): Promise<QueryView> => {
      for (;;) {
        const { body } = await marketer<QueryView>('GET', `/v1/queries/${queryId}`);
        if (body.status === 'released' || body.status === 'failed') return body;
        await pause(100);
      }
    };
    return {
      dir,
      shops,
      merchants,
      http,
      answeredQueryIds,
      auditSeedFile: join(dir, 'audit.seed'),
      marketer,
      admin: (method, path, body) => call(http, ADMIN_TOKEN, method, path, body),
      query: async (kind, spec, options = {}) => {
        const answering = options.answering ?? merchants;
        const created = await marketer<{ queryId: string }>('POST', '/v1/queries', {
          kind, spec, targetMerchants: answering.length, ...(options.cutoff ? { cutoff: options.cutoff } : {}),
        });
        if (created.status !== 201) throw new Error(`POST /v1/queries answered ${created.status}: ${JSON.stringify(created.body)}`);
        await answer(answering);
        return waitQuery(created.body.queryId);
      },
      fit: async (kind, spec) => {
        const created = await marketer<FitView>('POST', '/v1/fits', { kind, spec, targetMerchants: merchants.length });
        if (created.status !== 201) throw new Error(`POST /v1/fits answered ${created.status}: ${JSON.stringify(created.body)}`);
        for (;;) {
          const { body } = await marketer<FitView>('GET', `/v1/fits/${created.body.fitId}`);
          if (body.status === 'done' || body.status === 'failed') return body;
          await answer(merchants);
          await pause(100);
        }
      },
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
