/**
 * Starts a real key holder and coordinator in this process on 127.0.0.1
 * ephemeral ports (real SEAL, real gRPC, real PGlite) for integration tests.
 * With `backend`, the coordinator stores into a database made for this
 * cluster on that backend (PostgreSQL: a new database on the configured
 * server), dropped when the cluster closes. With `tls`, a deployment folder is
 * made (as `fedmart init` does) and everything speaks TLS: merchants and the
 * HTTP API to a coordinator certificate, the coordinator to the key holder
 * with mutual TLS.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from '../coordinator/index.js';
import { startKeyHolder, type KeyHolderOptions, type RunningKeyHolder, type ReleasePolicy } from '../keyholder/index.js';
import type { PurposeRegistry } from '../compliance/index.js';
import { freshDatabase, type BackendName } from './databases.js';
import { testIdentity, type TestIdentity } from './identity.js';
import { testLogger } from './test-logs.js';
import { createDeployment, DEPLOYMENT_FILES } from '../cli/deployment.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface Cluster {
  readonly dir: string;
  readonly keyholder: RunningKeyHolder;
  readonly coordinator: RunningCoordinator;
  /** The enrolment authority and the coordinator's request key (seed files under `dir`). */
  readonly identity: TestIdentity;
  /** With `tls`: the deployment folder and the CA (PEM) clients trust. */
  readonly tls?: { readonly deploymentDir: string; readonly ca: string };
  close(): Promise<void>;
}

export async function startCluster(
  policy: Partial<ReleasePolicy> = {},
  options: { purposes?: PurposeRegistry; backend?: BackendName; tls?: boolean; coordinator?: Partial<CoordinatorOptions>; keyholder?: Partial<KeyHolderOptions> } = {},
): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-test-'));
  const deploymentDir = join(dir, 'deployment');
  if (options.tls) await createDeployment(deploymentDir);
  const pem = (f: string) => readFileSync(join(deploymentDir, f), 'utf8');
  const tls = options.tls ? { deploymentDir, ca: pem(DEPLOYMENT_FILES.caCert) } : undefined;
  const database = options.backend ? await freshDatabase(options.backend, 'cluster') : undefined;
  // Logged to test-output/logs/ for scripts/scan-logs.mjs, not silenced.
  const logger = testLogger('cluster');
  const identity = await testIdentity(dir);
  const keyholder = await startKeyHolder({
    dataDir: join(dir, 'keyholder'),
    enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex,
    coordinatorRequestKeyHex: identity.requestKeyHex,
    listen: '127.0.0.1:0',
    ...(tls ? { tls: { cert: pem(DEPLOYMENT_FILES.keyholderCert), key: pem(DEPLOYMENT_FILES.keyholderKey), clientCa: tls.ca } } : {}),
    policy,
    logger,
    ...(options.purposes ? { purposes: options.purposes.purposes } : {}),
    ...options.keyholder,
  });
  const coordinator = await startCoordinator({
    database: database?.target ?? 'memory://',
    grpcListen: '127.0.0.1:0',
    httpListen: '127.0.0.1:0',
    keyholderAddress: keyholder.address,
    ...(tls ? { tls: { cert: pem(DEPLOYMENT_FILES.coordinatorCert), key: pem(DEPLOYMENT_FILES.coordinatorKey) }, keyholderCa: tls.ca } : {}),
    keyholderSigningKeyHex: keyholder.signingPublicKeyHex,
    apiToken: TEST_TOKEN,
    auditKeyFile: join(dir, 'audit.seed'),
    enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex,
    requestSigningSeedFile: identity.requestSeedFile,
    ...(options.purposes ? { purposes: options.purposes } : {}),
    minSubjects: policy.minSubjects ?? 10,
    closerIntervalMs: 100,
    logger,
    ...options.coordinator,
  });
  return {
    dir,
    keyholder,
    coordinator,
    identity,
    ...(tls ? { tls } : {}),
    close: async () => {
      await coordinator.close();
      await keyholder.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Calls the coordinator's HTTP API with the test token. */
export async function api<T>(cluster: Cluster, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  if (cluster.tls) return httpsApi<T>(cluster.coordinator.httpAddress + path, cluster.tls.ca, method, body);
  const res = await fetch(cluster.coordinator.httpAddress + path, {
    method,
    headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export interface QueryState {
  queryId: string;
  status: string;
  statusReason: string | null;
  contributions: number;
  result: unknown;
}

/** Polls until the query is released or failed. */
export async function waitForFinal(cluster: Cluster, queryId: string, timeoutMs = 60_000): Promise<QueryState> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api<QueryState>(cluster, 'GET', `/v1/queries/${queryId}`);
    if (body.status === 'released' || body.status === 'failed') return body;
    if (Date.now() > until) throw new Error(`query ${queryId} still ${body.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The same call over https, trusting only the cluster's CA. */
function httpsApi<T>(url: string, ca: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; body: T }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method,
      ca,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
