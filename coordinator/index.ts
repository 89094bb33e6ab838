/** Public surface of the coordinator service. */
export { startCoordinator, COORDINATOR_MAX_MESSAGE_BYTES, type CoordinatorOptions, type RunningCoordinator } from './server.js';
export { buildHttpApp, type HttpAppDeps } from './http-app.js';
export { type TracingOptions, type RunningTracing } from './tracing.js';
export { DEFAULT_HTTP_SERVER_LIMITS, type HttpServerLimits } from './http-server-limits.js';
export { openDatabase, migrate, type Database } from './database.js';
export { CoordinatorStore, type QueryRecord, type QueryStatus } from './store.js';
export { HttpProblem, type ProblemCode } from './problems.js';
export { AuditTrail, type AuditTrailOptions } from './audit-trail.js';
export { SqlAuditStore } from './audit-store.js';
export { PurposeStore } from './purpose-registry.js';
export { QueryService, type CreateQueryRequest } from './query-service.js';
export { FitRunner, type FitRecord, type FitStatus, type CreateFitRequest } from './fit-runner.js';
