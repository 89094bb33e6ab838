/**
 * Starts a key holder: loads or creates its keys, then serves gRPC.
 */
import { Server } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { HeContext, SealWorker, cryptoReady, fromHex, toHex, DEFAULT_HE_PARAM_SET, type HeParamSetName, type SealWorkerOptions } from '../crypto/index.js';
import { grpcServerCredentials, type ServerTls } from '../protos/index.js';
import { GrpcHealth } from '../protos/grpc-health.js';
import type { PurposeDefinition } from '../compliance/index.js';
import { DisclosureStore } from './disclosure-store.js';
import { KeyHolder, DEFAULT_RELEASE_POLICY, type ReleasePolicy } from './key-holder.js';
import { DEFAULT_RELEASE_STREAM_LIMITS, keyHolderServiceDefinition, keyHolderServiceImplementation, type ReleaseStreamLimits } from './grpc-service.js';
import { loadOrCreateKeys } from './key-store.js';
import { KeyHolderMetrics } from './metrics.js';
import { startMetricsListener, type KeyHolderMetricsListenOptions, type RunningMetricsListener } from './metrics-http.js';
import { ReleaseLedger } from './release-ledger.js';
import { startKeyHolderTracing, traceKeyHolderService, type KeyHolderTracingOptions } from './tracing.js';

export interface KeyHolderOptions {
  /** Folder for keys and the release ledger. */
  readonly dataDir: string;
  /** host:port to listen on; port 0 picks a free one. */
  readonly listen?: string;
  /**
   * TLS certificate and key; with `clientCa`, only clients presenting a
   * certificate signed by it (the coordinator) may call. Without TLS only a
   * loopback address may be used.
   */
  readonly tls?: ServerTls;
  readonly paramSet?: HeParamSetName;
  readonly policy?: Partial<ReleasePolicy>;
  /**
   * Registered purposes whose disclosure policies apply (default: the
   * built-in ones). Policies and budgets persist in the data folder; a
   * policy weaker than one already applied stops the start.
   */
  readonly purposes?: readonly PurposeDefinition[];
  readonly logger?: Logger;
  /**
   * Hex Ed25519 public key of the enrolment authority. A contribution is
   * decrypted only if its signing key traces back to a token this key signed.
   */
  readonly enrolmentAuthorityPublicKeyHex: string;
  /** Hex Ed25519 public key of the coordinator's release-request key; unsigned requests are refused. */
  readonly coordinatorRequestKeyHex: string;
  /**
   * The SEAL worker that holds the secret key and decrypts (request timeout,
   * a ready spare; `testHooks` only in tests). Default: a spare, 60 s timeout.
   */
  readonly sealWorker?: Pick<SealWorkerOptions, 'requestTimeoutMs' | 'spare' | 'testHooks'>;
  /** Keepalive pings and idle limits, so half-open connections are dropped (defaults below). */
  readonly keepalive?: Partial<{ keepaliveTimeMs: number; keepaliveTimeoutMs: number; maxConnectionIdleMs: number }>;
  /** Idle timeout and size cap of one Release stream (defaults: `DEFAULT_RELEASE_STREAM_LIMITS`). */
  readonly releaseStream?: Partial<ReleaseStreamLimits>;
  /**
   * An HTTP listener serving Prometheus `GET /metrics` (off when absent):
   * loopback unless a scrape token and `tls` are both given (see metrics-http.ts).
   */
  readonly metrics?: KeyHolderMetricsListenOptions;
  /**
   * OpenTelemetry spans of gRPC calls and releases (off when absent;
   * `fedmart keyholder` sets it for FEDMART_OTEL=1). See tracing.ts. One
   * tracing setup per process: in a process that has one already, leave
   * this out; the spans go to that one.
   */
  readonly tracing?: KeyHolderTracingOptions;
}

/** Default keepalive of the key holder's gRPC server. */
export const KEYHOLDER_KEEPALIVE_DEFAULTS = { keepaliveTimeMs: 30_000, keepaliveTimeoutMs: 20_000, maxConnectionIdleMs: 300_000 };

export interface RunningKeyHolder {
  readonly address: string;
  readonly port: number;
  readonly keyHolder: KeyHolder;
  /** The worker thread that decrypts (replaced when it faults). */
  readonly sealWorker: SealWorker;
  /** Hex of the Ed25519 key merchants and the coordinator pin. */
  readonly signingPublicKeyHex: string;
  /** Base URL of the metrics listener (`${metricsUrl}/metrics`), when one was asked for. */
  readonly metricsUrl?: string;
  close(): Promise<void>;
}

/** The fully qualified name of the key holder's gRPC service, as its health status is asked for. */
export const KEYHOLDER_SERVICE_NAME = 'fedmart.v1.KeyHolderService';

/** Largest message the key holder accepts: one contribution of a few ciphertexts. */
export const KEYHOLDER_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** 64 hex digits to 32 bytes; RangeError naming the option otherwise. */
function ed25519PublicKeyFromHex(hex: string, name: string): Uint8Array {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError(`${name} must be 64 hex digits (an Ed25519 public key)`);
  return fromHex(hex);
}

export async function startKeyHolder(options: KeyHolderOptions): Promise<RunningKeyHolder> {
  const log = options.logger ?? pino({ name: 'keyholder' });
  const listen = options.listen ?? '127.0.0.1:0';
  const serverCredentials = grpcServerCredentials(listen, options.tls, 'gRPC (key holder)');
  await cryptoReady();
  const ctx = await HeContext.create(options.paramSet ?? DEFAULT_HE_PARAM_SET);
  const keys = loadOrCreateKeys(options.dataDir, ctx);
  const policy = { ...DEFAULT_RELEASE_POLICY, ...options.policy };
  let keyHolder: KeyHolder;
  let sealWorker: SealWorker | undefined;
  try {
    // Only this worker thread loads the secret key into SEAL; a fault there costs a worker, not the key holder.
    sealWorker = await SealWorker.start({
      paramSet: ctx.paramSet.name,
      secretKey: keys.heSecretKey,
      spare: true,
      ...options.sealWorker,
      onReplaced: ({ code, readyMs }) => log.warn({ code, readyMs: Math.round(readyMs) }, 'SEAL worker replaced after a fault'),
    });
    keyHolder = new KeyHolder(ctx, keys, policy, new ReleaseLedger(options.dataDir), {
      enrolmentAuthorityPublicKey: ed25519PublicKeyFromHex(options.enrolmentAuthorityPublicKeyHex, 'enrolmentAuthorityPublicKeyHex'),
      coordinatorRequestKey: ed25519PublicKeyFromHex(options.coordinatorRequestKeyHex, 'coordinatorRequestKeyHex'),
    }, {
      purposes: options.purposes,
      store: new DisclosureStore(options.dataDir),
      decryptor: sealWorker,
    });
  } catch (err) {
    await sealWorker?.close();
    ctx.close();
    throw err;
  }

  // Registered before any call is answered, shut down last.
  let tracing;
  try {
    tracing = options.tracing ? await startKeyHolderTracing(options.tracing) : undefined;
  } catch (err) {
    await keyHolder.close();
    ctx.close();
    throw err;
  }
  const server = new Server({
    'grpc.max_receive_message_length': KEYHOLDER_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': KEYHOLDER_MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': options.keepalive?.keepaliveTimeMs ?? KEYHOLDER_KEEPALIVE_DEFAULTS.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': options.keepalive?.keepaliveTimeoutMs ?? KEYHOLDER_KEEPALIVE_DEFAULTS.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': options.keepalive?.maxConnectionIdleMs ?? KEYHOLDER_KEEPALIVE_DEFAULTS.maxConnectionIdleMs,
  });
  const metrics = options.metrics ? new KeyHolderMetrics(keyHolder, { processMetrics: options.metrics.processMetrics !== false }) : undefined;
  server.addService(keyHolderServiceDefinition, traceKeyHolderService(KEYHOLDER_SERVICE_NAME, keyHolderServiceImplementation(keyHolder, log, { ...DEFAULT_RELEASE_STREAM_LIMITS, ...options.releaseStream }, metrics)));
  // grpc.health.v1: SERVING once keys, ledger and SEAL worker are up (they are by now), NOT_SERVING from the start of close().
  const health = new GrpcHealth([KEYHOLDER_SERVICE_NAME]);
  health.addTo(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, serverCredentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  let metricsListener: RunningMetricsListener | undefined;
  if (metrics && options.metrics) {
    try {
      metricsListener = await startMetricsListener(options.metrics, () => metrics.render(), log, options.tls);
    } catch (err) {
      server.forceShutdown();
      await keyHolder.close();
      ctx.close();
      await tracing?.shutdown();
      throw err;
    }
  }
  health.set('SERVING');
  const host = listen.slice(0, listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  const signingPublicKeyHex = toHex(keys.signing.publicKey);
  log.info({ address, tracing: tracing !== undefined, tls: options.tls !== undefined, clientCertificates: options.tls?.clientCa !== undefined, keyId: toHex(keyHolder.keyId), policy, purposes: keyHolder.disclosure.purposes(), ...(metricsListener ? { metrics: `${metricsListener.url}/metrics`, metricsToken: options.metrics?.token !== undefined } : {}) }, 'key holder listening');
  return {
    address,
    port,
    keyHolder,
    sealWorker,
    signingPublicKeyHex,
    ...(metricsListener ? { metricsUrl: metricsListener.url } : {}),
    close: async () => {
      health.shutdown();
      await metricsListener?.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await keyHolder.close();
      ctx.close();
      await tracing?.shutdown();
    },
  };
}
