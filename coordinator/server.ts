/**
 * Starts a coordinator: storage, the key holder's public key, the gRPC
 * service for merchants, the HTTP API for people, and the round closer.
 * The coordinator never holds a secret key; it imports nothing from keyholder/.
 *
 * Several coordinators may run against one PostgreSQL database (same audit
 * key file, same key holder): each keeps running sums of what it accepted,
 * trusted by nobody else, and closing work is claimed per query in the
 * database.
 */
import { hostname } from 'node:os';
import { Server } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { HeContext, cryptoReady, fromHex, loadOrCreateSeedFile, randomBytes, signingKeyPairFromSeed, toHex, DEFAULT_HE_PARAM_SET, type HeParamSetName } from '../crypto/index.js';
import { DEFAULT_PURPOSE_REGISTRY, type PurposeRegistry } from '../compliance/index.js';
import { assertPlaintextAllowed, grpcServerCredentials, type Pem } from '../protos/index.js';
import { AuditTrail } from './audit-trail.js';
import { auditConfiguration } from './config-audit.js';
import { FitRunner } from './fit-runner.js';
import { GrpcRateLimiter, type GrpcRateLimitOptions } from './grpc-rate-limit.js';
import { QueryService } from './query-service.js';
import { PurposeStore } from './purpose-registry.js';
import { ClosingClaims } from './closing-claims.js';
import { openDatabase, type Database } from './database.js';
import { buildHttpApp } from './http-app.js';
import type { HttpServerLimits } from './http-server-limits.js';
import { GrpcHealth } from '../protos/grpc-health.js';
import { HealthMonitor, MERCHANT_SERVICE_NAME } from './health-monitor.js';
import { ReadinessProbe } from './readiness.js';
import { scrapeTokenCheck } from './http-metrics-route.js';
import { MeteredContributionIntake } from './metered-intake.js';
import { CoordinatorMetrics } from './metrics.js';
import { KeyHolderClient } from './keyholder-client.js';
import { merchantServiceDefinition, merchantServiceImplementation } from './merchant-service.js';
import { QueryLayouts } from './query-layouts.js';
import { sharedRateWindows } from './rate-windows.js';
import { JobRegistry } from './http-jobs.js';
import type { RateLimitOptions } from './http-rate-limit.js';
import { RetentionJob } from './retention.js';
import { RoundCloser } from './round-closer.js';
import { RunningSums } from './running-sums.js';
import { startTracing, traceGrpcService, type TracingOptions } from './tracing.js';
import { CoordinatorStore } from './store.js';

export interface CoordinatorOptions {
  /** PGlite data folder, `memory://` for a throw-away database, or a `postgres://` URL. */
  readonly database: string;
  /** This process's name in closing claims (default host-pid-random). */
  readonly coordinatorId?: string;
  /** How long a claim on closing a query lasts unless renewed (default 20 s). */
  readonly closeLeaseMs?: number;
  /**
   * PGlite folder held by another coordinator: prepare everything else,
   * then wait and take over when that coordinator stops or dies (default:
   * refuse to start).
   */
  readonly standby?: boolean;
  /**
   * Apply pending schema migrations on start (default true). With false the
   * coordinator refuses to start unless the schema is already this code's,
   * so that migrations stay an operator's step (`fedmart db migrate`).
   */
  readonly migrate?: boolean;
  /** How often data past its retention period is erased (default hourly). */
  readonly retentionIntervalMs?: number;
  readonly grpcListen?: string;
  readonly httpListen?: string;
  /**
   * TLS certificate and key for merchant gRPC and the HTTP API (https), also
   * presented as this coordinator's client certificate to the key holder.
   * Without it, only loopback addresses may be listened on.
   */
  readonly tls?: { readonly cert: Pem; readonly key: Pem };
  /**
   * The CA that signed the key holder's certificate: the key holder is then
   * reached over TLS trusting only this CA. Without it, only a loopback
   * key holder address may be used.
   */
  readonly keyholderCa?: Pem;
  readonly keyholderAddress: string;
  /** Hex Ed25519 key of the key holder; when given, anything else is refused. */
  readonly keyholderSigningKeyHex?: string;
  readonly apiToken: string;
  /** File holding the 32-byte seed of the audit-log signing key (created 0600). */
  readonly auditKeyFile: string;
  /**
   * Hex Ed25519 public key of the enrolment authority: merchants enrol only
   * with a one-time token it signed (`fedmart enrol-token`).
   */
  readonly enrolmentAuthorityPublicKeyHex: string;
  /**
   * File holding the 32-byte seed of the coordinator's release-request key
   * (created 0600): the key holder answers only release requests signed by
   * it. Several coordinators on one database share it.
   */
  readonly requestSigningSeedFile: string;
  /** Origin line of audit checkpoints (default `fedmart.local/audit`). */
  readonly auditOrigin?: string;
  /** Purposes and PIAs to register on start (default: the built-in registry). */
  readonly purposes?: PurposeRegistry;
  /** The key holder's k threshold, stated in query audit entries (default 10). */
  readonly minSubjects?: number;
  /** How often to sign an audit checkpoint if the log grew (default 60 s). */
  readonly checkpointIntervalMs?: number;
  readonly paramSet?: HeParamSetName;
  readonly streamTimeoutMs?: number;
  /** Cap on the ciphertext bytes of one SubmitContribution stream (default 64 MiB). */
  readonly maxStreamBytes?: number;
  /** gRPC call rates per merchant and per peer address (generous defaults), counted with every coordinator on the database. */
  readonly grpcRateLimit?: GrpcRateLimitOptions;
  /** gRPC keepalive and idle limits (defaults: `GRPC_KEEPALIVE_DEFAULTS`). */
  readonly grpcKeepalive?: Partial<GrpcKeepalive>;
  /** HTTP timeouts and connection caps (defaults: `DEFAULT_HTTP_SERVER_LIMITS`: a request is cut after 20 s, 64 connections per address). */
  readonly httpServerLimits?: Partial<HttpServerLimits>;
  readonly closerIntervalMs?: number;
  /** How often fits left waiting by a dead coordinator are looked for (default 5 s). */
  readonly fitResumeIntervalMs?: number;
  /**
   * How often one fit round that closed with fewer than its minimum of
   * merchants is published again before the fit fails (default 3; see
   * "Slow shops in fits" in docs/operations.md).
   */
  readonly fitRoundRetries?: number;
  /** A fit round never waits longer than this many times the fit's roundDeadlineSeconds (default 8). */
  readonly fitRoundDeadlineCapFactor?: number;
  /** How often readiness is checked for the gRPC health status (default 5 s). */
  readonly healthIntervalMs?: number;
  /** A token (at least 16 characters) that opens `/metrics` and nothing else, for a Prometheus server. */
  readonly metricsToken?: string;
  /**
   * OpenTelemetry spans of HTTP requests, gRPC calls and rounds (off when
   * absent; `fedmart coordinator` sets it for FEDMART_OTEL=1). See tracing.ts.
   */
  readonly tracing?: TracingOptions;
  /** HTTP requests per API token per window (default 600 a minute), counted with every coordinator on the database. */
  readonly httpRateLimit?: RateLimitOptions;
  /** Chromium renders (PDF audit reports) this coordinator runs at once; more wait their turn (default 2). */
  readonly maxConcurrentRenders?: number;
  /** How long a claim on a running export job lasts unless renewed (default 30 s). */
  readonly jobLeaseMs?: number;
  /**
   * On close, how long running export jobs may take to finish before they
   * are handed over to another coordinator (default 5 s; see "Shutdown" in
   * docs/operations.md).
   */
  readonly jobShutdownGraceMs?: number;
  readonly logger?: Logger;
}

export interface RunningCoordinator {
  readonly grpcAddress: string;
  readonly httpAddress: string;
  readonly coordinatorId: string;
  readonly store: CoordinatorStore;
  readonly audit: AuditTrail;
  readonly fits: FitRunner;
  readonly retention: RetentionJob;
  /** Export jobs: kept in the database, run here under a lease. */
  readonly jobs: JobRegistry;
  close(): Promise<void>;
}

/** Largest single gRPC message accepted from a merchant (chunks are 256 KiB). */
export const COORDINATOR_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Keepalive pings and idle limits of a gRPC server, so half-open connections are dropped. */
export interface GrpcKeepalive {
  /** Ping a connection after this long without activity. */
  readonly keepaliveTimeMs: number;
  /** Drop the connection when a ping is not answered within this. */
  readonly keepaliveTimeoutMs: number;
  /** Close (GOAWAY) a connection that had no call for this long. */
  readonly maxConnectionIdleMs: number;
}

export const GRPC_KEEPALIVE_DEFAULTS: GrpcKeepalive = { keepaliveTimeMs: 30_000, keepaliveTimeoutMs: 20_000, maxConnectionIdleMs: 300_000 };

/** grpc-js channel options for `keepalive` (defaults filled in). */
export function grpcKeepaliveOptions(keepalive: Partial<GrpcKeepalive> = {}): Record<string, number> {
  const k = { ...GRPC_KEEPALIVE_DEFAULTS, ...keepalive };
  return {
    'grpc.keepalive_time_ms': k.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': k.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': k.maxConnectionIdleMs,
  };
}

async function fetchKeyWithRetry(client: KeyHolderClient, ctx: HeContext, pin: string | undefined, log: Logger) {
  const until = Date.now() + 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.fetchPublicKey(ctx, pin);
    } catch (err) {
      if (Date.now() > until) throw err;
      if (attempt === 1) log.info('waiting for the key holder');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** 32 bytes of lower- or upper-case hex; throws RangeError naming the option otherwise. */
function parseEd25519PublicKeyHex(hex: string, name: string): Uint8Array {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError(`${name} must be 64 hex digits (an Ed25519 public key)`);
  return fromHex(hex.toLowerCase());
}

function hostOf(listen: string): string {
  return listen.slice(0, listen.lastIndexOf(':'));
}

export async function startCoordinator(options: CoordinatorOptions): Promise<RunningCoordinator> {
  const log = options.logger ?? pino({ name: 'coordinator' });
  // Plaintext on a non-loopback address is refused before anything starts.
  const grpcListen = options.grpcListen ?? '127.0.0.1:0';
  const httpListen = options.httpListen ?? '127.0.0.1:0';
  const grpcCredentials = grpcServerCredentials(grpcListen, options.tls, 'gRPC (merchants)');
  if (!options.tls) assertPlaintextAllowed(httpListen, 'HTTP', 'give --tls-cert and --tls-key (fedmart init makes them)');
  scrapeTokenCheck(options.metricsToken); // a scrape token too short to be a secret stops the start here
  const keyHolder = new KeyHolderClient(options.keyholderAddress,
    options.keyholderCa === undefined ? undefined : { ca: options.keyholderCa, ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}) });
  await cryptoReady();
  // The coordinator validates, unpacks and adds ciphertexts in TypeScript only: no SEAL, no WASM start.
  const ctx = HeContext.withoutSeal(options.paramSet ?? DEFAULT_HE_PARAM_SET);
  const fetchKey = () => fetchKeyWithRetry(keyHolder, ctx, options.keyholderSigningKeyHex, log);
  let bundle: Awaited<ReturnType<typeof fetchKey>> | undefined;
  let db: Database;
  try {
    // A standby fetches the key first, so that it has everything but the
    // database when it takes over; otherwise the database comes first, so
    // that a schema too new for this code is reported at once.
    if (options.standby) {
      bundle = await fetchKey();
      log.info({ database: options.database }, 'standing by until the database folder is free');
    }
    db = await openDatabase(options.database, { waitForLockMs: options.standby ? Infinity : 0, migrate: options.migrate === false ? 'check' : true });
  } catch (err) {
    keyHolder.close();
    ctx.close();
    throw err;
  }
  const cleanups: (() => Promise<void> | void)[] = [() => db.close(), () => keyHolder.close(), () => ctx.close()];
  try {
    // OpenTelemetry spans (off unless asked for), registered before any service answers and shut down last.
    if (options.tracing) {
      const tracing = await startTracing(options.tracing);
      cleanups.push(() => tracing.shutdown());
    }
    bundle ??= await fetchKey();
    const store = new CoordinatorStore(db);
    const audit = new AuditTrail({
      db,
      origin: options.auditOrigin ?? 'fedmart.local/audit',
      keyPair: signingKeyPairFromSeed(loadOrCreateSeedFile(options.auditKeyFile)),
    });
    const purposes = new PurposeStore(db, audit);
    const coordinatorId = options.coordinatorId ?? `${hostname()}-${process.pid}-${toHex(randomBytes(3))}`;
    const claims = new ClosingClaims(db, coordinatorId, options.closeLeaseMs ?? 20_000);
    const requestKey = signingKeyPairFromSeed(loadOrCreateSeedFile(options.requestSigningSeedFile));
    const enrolmentAuthorityPublicKey = parseEd25519PublicKeyHex(options.enrolmentAuthorityPublicKeyHex, 'enrolmentAuthorityPublicKeyHex');
    // Coordinators starting together register purposes and configuration one at a time.
    await db.withLock('fedmart.coordinator-start', async () => {
      await purposes.sync(options.purposes ?? DEFAULT_PURPOSE_REGISTRY, 'coordinator');
      await auditConfiguration(db, audit, 'coordinator.config', {
        paramSet: ctx.paramSet.name,
        auditOrigin: audit.origin,
        minSubjects: options.minSubjects ?? 10,
        keyholderSigningKey: options.keyholderSigningKeyHex ?? null,
        enrolmentAuthority: options.enrolmentAuthorityPublicKeyHex,
        requestSigningKey: toHex(requestKey.publicKey),
      });
    });
    // A PGlite folder has one owner: claims left by a killed predecessor are void now.
    if (db.backend === 'pglite') await claims.releaseAllOnOwnedDatabase();
    // ...and so are ciphertext files it wrote but never committed a row for.
    const orphanFiles = await store.sweepCiphertextFiles();
    if (orphanFiles > 0) log.info({ files: orphanFiles }, 'deleted ciphertext files no contribution names');
    await audit.checkpoint();
    const layouts = new QueryLayouts(ctx);
    // Running sums of open queries in this process's memory, owned here and shared by the intake (adds) and the closer (uses, forgets).
    const sums = new RunningSums(ctx);
    const queries = new QueryService({ store, audit, purposes, ctx, publicKeyBundle: bundle, minSubjects: options.minSubjects ?? 10 });
    // Prometheus figures of this coordinator (a registry of its own).
    const metrics = new CoordinatorMetrics({ db, logger: log });
    let poke = () => undefined as void;
    const fits = new FitRunner(db, queries, audit, log, () => poke(), {
      maxRoundRetries: options.fitRoundRetries,
      deadlineCapFactor: options.fitRoundDeadlineCapFactor,
    });
    const closer = new RoundCloser(ctx, store, layouts, keyHolder,
      options.keyholderSigningKeyHex ? fromHex(options.keyholderSigningKeyHex) : bundle.keyholderSigningKey, audit, log,
      {
        onReleased: (q) => {
          metrics.roundFinished('released', q.createdAt);
          return fits.onRoundReleased(q);
        },
        onFailed: (q, code, reason) => {
          metrics.roundFinished('failed', q.createdAt);
          return fits.onRoundFailed(q, code, reason);
        },
      },
      { claims, sums }, requestKey);
    poke = () => closer.poke();
    // Rate-limit counters in PostgreSQL: one count per key for every coordinator on it, HTTP and gRPC alike.
    const rateWindows = sharedRateWindows(db, log);
    const limits = new GrpcRateLimiter(options.grpcRateLimit, rateWindows);
    const jobs = new JobRegistry(db, log, {
      coordinatorId,
      ...(options.jobLeaseMs === undefined ? {} : { leaseMs: options.jobLeaseMs }),
      ...(options.jobShutdownGraceMs === undefined ? {} : { shutdownGraceMs: options.jobShutdownGraceMs }),
    });
    const intake = new MeteredContributionIntake(metrics, ctx, store, layouts, audit, {
      streamTimeoutMs: options.streamTimeoutMs ?? 60_000,
      ...(options.maxStreamBytes !== undefined ? { maxStreamBytes: options.maxStreamBytes } : {}),
      limits,
      onBatch: (contributions) => metrics.contributionBatch(contributions),
    }, sums);
    const checkpointTimer = setInterval(() => {
      audit.checkpoint().catch((err: unknown) => log.error({ err }, 'audit checkpoint failed'));
    }, options.checkpointIntervalMs ?? 60_000);
    checkpointTimer.unref();
    cleanups.unshift(() => clearInterval(checkpointTimer));

    const grpc = new Server({
      'grpc.max_receive_message_length': COORDINATOR_MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      ...grpcKeepaliveOptions(options.grpcKeepalive),
    });
    grpc.addService(merchantServiceDefinition, traceGrpcService(MERCHANT_SERVICE_NAME, merchantServiceImplementation({
      store, fits, audit, intake, publicKeyBundle: bundle, log, limits,
      // A pass counts the stored contributions of every open query: run one now only if this
      // query may have reached its target; deadlines and other coordinators' contributions are
      // seen by the periodic pass.
      onContribution: (queryId) => {
        if (intake.targetMayBeReached(queryId)) closer.poke();
      },
      enrolmentAuthorityPublicKey,
    })));
    // grpc.health.v1: NOT_SERVING until the first readiness check passes, and again while shutting down.
    const health = new GrpcHealth([MERCHANT_SERVICE_NAME]);
    health.addTo(grpc);
    const readiness = new ReadinessProbe({ db, keyHolder, logger: log });
    const grpcPort = await new Promise<number>((resolve, reject) => {
      grpc.bindAsync(grpcListen, grpcCredentials, (err, p) => (err ? reject(err) : resolve(p)));
    });
    cleanups.unshift(() => new Promise<void>((resolve) => grpc.tryShutdown(() => resolve())));

    const http = buildHttpApp({
      store, queries, fits, audit, purposes, apiToken: options.apiToken, logger: log, onQueryCreated: () => closer.poke(),
      minSubjects: options.minSubjects ?? 10,
      ...(options.tls ? { https: options.tls } : {}),
      ...(options.httpServerLimits ? { serverLimits: options.httpServerLimits } : {}),
      readiness,
      metrics,
      ...(options.metricsToken === undefined ? {} : { metricsToken: options.metricsToken }),
      jobs,
      rateWindows,
      ...(options.httpRateLimit ? { rateLimit: options.httpRateLimit } : {}),
      ...(options.maxConcurrentRenders === undefined ? {} : { maxConcurrentRenders: options.maxConcurrentRenders }),
    });
    await http.listen({ host: hostOf(httpListen), port: Number(httpListen.slice(httpListen.lastIndexOf(':') + 1)) });
    const httpPort = (http.server.address() as { port: number }).port;
    cleanups.unshift(() => http.close());

    closer.start(options.closerIntervalMs ?? 250);
    cleanups.unshift(() => closer.stop());
    // A coordinator that died between a fit round's release and the next
    // round left that fit waiting: any coordinator moves it on.
    const resumeFits = () => {
      fits.resumeStalled().catch((err: unknown) => log.error({ err }, 'resuming stalled fits failed'));
    };
    resumeFits();
    const fitTimer = setInterval(resumeFits, options.fitResumeIntervalMs ?? 5_000);
    fitTimer.unref();
    cleanups.unshift(() => clearInterval(fitTimer));
    const retention = new RetentionJob(db, audit, log, { intervalMs: options.retentionIntervalMs ?? 3_600_000 });
    retention.start();
    cleanups.unshift(() => retention.stop());
    const monitor = new HealthMonitor(readiness, health, log, options.healthIntervalMs ?? 5000);
    await monitor.start();
    // First on close: health checkers learn NOT_SERVING before anything stops.
    cleanups.unshift(async () => {
      await monitor.stop();
      health.shutdown();
    });

    const grpcAddress = `${hostOf(grpcListen)}:${grpcPort}`;
    const httpAddress = `${options.tls ? 'https' : 'http'}://${hostOf(httpListen)}:${httpPort}`;
    log.info({ grpcAddress, httpAddress, tls: options.tls !== undefined, keyholderTls: options.keyholderCa !== undefined, coordinatorId, database: db.location }, 'coordinator listening');
    return {
      grpcAddress,
      httpAddress,
      coordinatorId,
      store,
      audit,
      fits,
      retention,
      jobs,
      close: async () => {
        for (const c of cleanups) await c();
      },
    };
  } catch (err) {
    for (const c of cleanups) await c();
    throw err;
  }
}
