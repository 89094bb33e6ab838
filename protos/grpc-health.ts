/**
 * The standard gRPC health service (`grpc.health.v1.Health`) for the
 * coordinator's and the key holder's servers, so load balancers, Kubernetes
 * gRPC probes and `grpc_health_probe` can ask either service whether to send
 * it work, and a client for it.
 *
 * The proto and the status map come from the grpc-node project's
 * `grpc-health-check` package; its handlers are wrapped here because they
 * are written for friendly peers: Check echoes the requested service name,
 * of any length, in its NOT_FOUND status, and every Watch of a new name
 * adds an entry that is never removed, and no Watch ever ends, which would
 * hold a graceful shutdown open forever. Wrapped, only the names a server
 * declares are answered, nothing the peer sent is echoed, open watches are
 * capped, and `shutdown()` reports NOT_SERVING to every watcher and then
 * ends their streams.
 */
import {
  makeClientConstructor,
  status,
  type ChannelCredentials,
  type Client,
  type Server,
  type ServiceError,
} from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';

/** What a health check answers. UNKNOWN and SERVICE_UNKNOWN are never set by fedmart. */
export type HealthStatus = 'SERVING' | 'NOT_SERVING';

/** Default cap on Watch streams open at once on one server. */
export const DEFAULT_MAX_HEALTH_WATCHES = 64;

type Handler = (call: never, callback?: never) => void;

/** The connection of an existing client (`client.getChannel()`). */
type Channel = ReturnType<Client['getChannel']>;

interface WatchCall {
  readonly request: { service?: unknown };
  write(message: { status: string }): boolean;
  end(): void;
  on(event: 'cancelled' | 'close' | 'finish' | 'error', listener: () => void): unknown;
  emit(event: 'error', err: Partial<ServiceError>): boolean;
}

interface CheckCall {
  readonly request: { service?: unknown };
}

type UnaryCallback = (err: { code: number; details: string } | null, value?: { status: string }) => void;

/** The health service of one gRPC server. */
export class GrpcHealth {
  private readonly impl: HealthImplementation;
  private readonly names: ReadonlySet<string>;
  private readonly watches = new Set<WatchCall>();
  private stopping = false;

  /**
   * `services` are the fully qualified service names the server answers
   * for besides the whole server (`''`). Every one starts NOT_SERVING:
   * a server says SERVING only once it has checked it can work.
   */
  constructor(services: readonly string[], private readonly maxWatches = DEFAULT_MAX_HEALTH_WATCHES) {
    this.names = new Set(['', ...services]);
    this.impl = new HealthImplementation(Object.fromEntries([...this.names].map((n) => [n, 'NOT_SERVING'])));
  }

  /** Sets the status of the server and of every declared service (they stand or fall together here). Ignored once shutting down. */
  set(state: HealthStatus): void {
    if (this.stopping) return;
    for (const name of this.names) this.impl.setStatus(name, state);
  }

  /** NOT_SERVING from now on, told to every watcher, whose streams are then ended so a graceful shutdown can finish. */
  shutdown(): void {
    for (const name of this.names) this.impl.setStatus(name, 'NOT_SERVING');
    this.stopping = true;
    for (const call of this.watches) call.end();
    this.watches.clear();
  }

  addTo(server: Pick<Server, 'addService'>): void {
    let handlers: Record<string, Handler> = {};
    this.impl.addToServer({ addService: (_def, impl) => (handlers = impl as unknown as Record<string, Handler>) });
    const check = handlers.check as unknown as (call: CheckCall, callback: UnaryCallback) => void;
    const watch = handlers.watch as unknown as (call: WatchCall) => void;
    const list = handlers.list as unknown as (call: unknown, callback: UnaryCallback) => void;
    server.addService(healthService, {
      check: (call: CheckCall, callback: UnaryCallback) => {
        if (!this.known(call.request.service)) {
          callback({ code: status.NOT_FOUND, details: 'no health status for the requested service' });
          return;
        }
        check(call, callback);
      },
      watch: (call: WatchCall) => {
        if (!this.known(call.request.service)) {
          call.write({ status: 'SERVICE_UNKNOWN' });
          call.end();
          return;
        }
        if (this.stopping) {
          call.write({ status: 'NOT_SERVING' });
          call.end();
          return;
        }
        if (this.watches.size >= this.maxWatches) {
          call.emit('error', { code: status.RESOURCE_EXHAUSTED, details: 'too many health watches open' });
          return;
        }
        this.watches.add(call);
        const forget = () => this.watches.delete(call);
        call.on('cancelled', forget);
        call.on('close', forget);
        call.on('finish', forget);
        call.on('error', forget);
        watch(call);
      },
      list,
    });
  }

  private known(name: unknown): name is string {
    return typeof name === 'string' && this.names.has(name);
  }
}

interface HealthClient {
  check(request: { service: string }, options: { deadline: Date }, callback: (err: ServiceError | null, res?: { status: string }) => void): unknown;
  close(): void;
}

const HealthClientConstructor = makeClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as
  new (address: string, credentials: ChannelCredentials, options?: Record<string, unknown>) => HealthClient;

/** Raised when a health check answers, but not SERVING. */
export class NotServingError extends Error {
  readonly code = 'NOT_SERVING';
  constructor(readonly status: string) {
    super(`health check answered ${status}`);
    this.name = 'NotServingError';
  }
}

/** Where a health check is sent. */
export interface HealthTarget {
  readonly address: string;
  readonly credentials: ChannelCredentials;
  /** An existing client's connection to use (the caller keeps it open). */
  readonly channel?: Channel;
  /** Options of the check's own channel when no `channel` is given. */
  readonly channelOptions?: Readonly<Record<string, string | number>>;
}

/**
 * Asks a server's health service for `service` (`''`: the whole server),
 * on `target.channel` when given, else on a channel of its own that is
 * closed afterwards.
 */
export function checkHealth(target: HealthTarget, service: string, deadlineMs: number): Promise<string> {
  const client = new HealthClientConstructor(target.address, target.credentials, target.channel ? { channelOverride: target.channel } : { ...target.channelOptions });
  return new Promise<string>((resolve, reject) => {
    client.check({ service }, { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
      if (err) reject(err);
      else resolve(res?.status ?? 'UNKNOWN');
    });
  }).finally(() => {
    // With a shared channel, closing the client would close the owner's channel too.
    if (!target.channel) client.close();
  });
}

/** Resolves when the server answers SERVING for `service`; rejects with NotServingError or the call's error otherwise. */
export async function expectServing(target: HealthTarget, service: string, deadlineMs: number): Promise<void> {
  const answer = await checkHealth(target, service, deadlineMs);
  if (answer !== 'SERVING') throw new NotServingError(answer);
}
