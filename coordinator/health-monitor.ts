/**
 * Keeps the coordinator's gRPC health status in step with its readiness.
 * Merchant nodes and gRPC load balancers ask `grpc.health.v1` rather than
 * `/readyz`, so the same report drives both; a gRPC health check must
 * answer at once, so the report is refreshed on a timer, not per call.
 *
 * gRPC health follows the database and the schema only: a merchant's
 * contribution is stored without the key holder (releases wait and are
 * retried), so a key holder outage must not turn merchants away. `/readyz`
 * does include the key holder, since without it no result is released.
 */
import type { Logger } from 'pino';
import type { GrpcHealth, HealthStatus } from '../protos/grpc-health.js';
import type { ReadinessProbe, ReadinessReport } from './readiness.js';

/** The fully qualified name of the merchants' gRPC service. */
export const MERCHANT_SERVICE_NAME = 'fedmart.v1.MerchantService';

/** SERVING when merchants' contributions can be stored: the database answers and its schema is current. */
export function grpcStatusOf(report: ReadinessReport): HealthStatus {
  return report.checks.database === 'ok' && report.checks.migrations === 'ok' ? 'SERVING' : 'NOT_SERVING';
}

export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private last: HealthStatus | undefined;

  constructor(
    private readonly probe: ReadinessProbe,
    private readonly health: GrpcHealth,
    private readonly log: Logger,
    private readonly intervalMs = 5000,
  ) {}

  /** Checks now, then every `intervalMs`; resolves after the first check. */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
    await this.refresh();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One check; overlapping calls share it. */
  refresh(): Promise<void> {
    this.running ??= this.probe.report()
      .then((report) => {
        const state = grpcStatusOf(report);
        if (state !== this.last) this.log.info({ grpcHealth: state }, 'gRPC health status changed');
        this.last = state;
        this.health.set(state);
      })
      .catch((err: unknown) => this.log.error({ err }, 'health refresh failed'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
