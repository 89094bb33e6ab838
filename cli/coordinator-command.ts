import { join } from 'node:path';
import { startCoordinator } from '../coordinator/index.js';
import { MAX_MIN_SUBJECTS, readFieldClassification, readPurposeRegistry } from '../compliance/index.js';
import { emit, integer, parse, requireString, untilSignal } from './args.js';
import { databaseOption } from './database-option.js';
import { DEPLOYMENT_FILES, deploymentDirOption, pemOption, serverTlsOption } from './deployment.js';
import { cliLogger } from './logger.js';
import { enrolmentAuthorityOption, requestKeyFileOption } from './identity-options.js';

export const COORDINATOR_HELP = `fedmart coordinator — run the coordinator (merchant gRPC, HTTP API, round closing)

Usage: fedmart coordinator --keyholder HOST:PORT [--keyholder-key HEX] [--db DIR|URL] [--no-migrate]
                           [--grpc HOST:PORT] [--http HOST:PORT]

  --keyholder HOST:PORT  the key holder's gRPC address
  --keyholder-key HEX    pin the key holder's Ed25519 key (recommended)
  --db DIR|URL           embedded database folder (default .fedmart/coordinator-db; memory:// for none),
                         or a postgres://user@host:port/db URL (default from FEDMART_DATABASE_URL)
  --no-migrate           apply no schema migrations on start: refuse to start unless the database is
                         already at this version's schema (run fedmart db migrate first); by default
                         pending migrations are applied on start
  --grpc HOST:PORT       merchant gRPC address (default 127.0.0.1:7001)
  --http HOST:PORT       HTTP API address (default 127.0.0.1:7080)
  --audit-key FILE       seed of the audit-log signing key, created 0600 (default .fedmart/coordinator-audit.seed)
  --enrolment-authority HEX|FILE
                         the enrolment authority's Ed25519 public key (hex, or a file with the
                         authority's seed or the hex key); merchants enrol only with its tokens.
                         Required unless --deployment gives enrolment/authority.seed
  --request-key FILE     seed of the key that signs release requests to the key holder, created 0600
                         (default .fedmart/coordinator-request.seed, or coordinator/request-signing.seed
                         of --deployment); the key holder is told its public key
  --origin NAME          origin line of audit checkpoints (default fedmart.local/audit)
  --purposes FILE        purposes.json registry of purposes and PIAs (default: built-in registry)
  --fields FILE          fields.json classification the registry's allowed fields are checked against
                         (default: built-in; add the columns shops declare, e.g. store_week.price)
  --min-subjects K       the key holder's k (default 10, at most 1000), stated in audit entries and in
                         the terms sent to shops; the key holder refuses queries stating a smaller k
  --id NAME              this coordinator's name in closing claims
                         (default host-pid-random)
  --close-lease-ms MS    how long a claim on closing a query lasts unless renewed (default 20000)
  --merchant-rate N      gRPC calls a second per merchant once authenticated, burst 2N (default 20)
  --peer-rate N          unauthenticated gRPC calls a second per peer address, burst 10N (default 500)
  --fit-round-retries N  times a fit round that closed with too few merchants is published again
                         before the fit fails (default 3; docs/operations.md, "Slow shops in fits")
  --fit-round-deadline-cap N
                         a fit round waits at most N times the fit's roundDeadlineSeconds (default 8)
  --max-renders N        headless Chromium renders (PDF audit reports) at once; further export jobs
                         wait their turn (default 2)
  --http-request-timeout-ms MS
                         an HTTP request, body included, must arrive within this, or it is cut with
                         408 (default 20000; headers within min(10000, MS))
  --http-max-connections N
                         open HTTP connections in all; more are closed at once (default 1024)
  --http-max-connections-per-address N
                         open HTTP connections from one client address (default 64)
  --standby              if another coordinator holds the PGlite folder, start up, wait, and take
                         over the moment it stops or dies
  --tls-cert FILE        TLS certificate (PEM) for merchant gRPC and the HTTP API (https), also shown
                         to the key holder as this coordinator's client certificate; needs --tls-key
  --tls-key FILE         its private key (PEM)
  --keyholder-ca FILE    reach the key holder over TLS, trusting only this CA
  --deployment DIR       take the three above and --audit-key from a folder made by fedmart init
                         (coordinator/tls.crt, coordinator/tls.key, ca/ca.crt,
                         coordinator/audit-signing.seed); explicit flags win

Without TLS the coordinator listens only on loopback addresses (127.0.0.0/8, ::1, localhost),
and without --keyholder-ca it reaches only a key holder on a loopback address.

Several coordinators can serve merchants at once against one PostgreSQL
database: give them the same --db URL, --keyholder, --keyholder-key and
--audit-key file (see docs/scale-out.md). A PGlite folder belongs to one
coordinator at a time.

The HTTP API token is read from FEDMART_API_TOKEN (required). A token that
opens only GET /metrics, for a Prometheus server, may be set in
FEDMART_METRICS_TOKEN (see docs/operations.md).

FEDMART_OTEL=1 turns on OpenTelemetry tracing (spans of HTTP requests, gRPC
calls and rounds), exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT
(default http://localhost:4318), or printed with FEDMART_OTEL_EXPORTER=console.
Prints one JSON line {"event":"ready",...} on stdout when listening; logs go to stderr.`;

export async function coordinatorCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    keyholder: { type: 'string' },
    'keyholder-key': { type: 'string' },
    db: { type: 'string' },
    grpc: { type: 'string' },
    http: { type: 'string' },
    'audit-key': { type: 'string' },
    origin: { type: 'string' },
    purposes: { type: 'string' },
    fields: { type: 'string' },
    'min-subjects': { type: 'string' },
    id: { type: 'string' },
    'close-lease-ms': { type: 'string' },
    standby: { type: 'boolean' },
    'no-migrate': { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'keyholder-ca': { type: 'string' },
    deployment: { type: 'string' },
    'enrolment-authority': { type: 'string' },
    'request-key': { type: 'string' },
    'merchant-rate': { type: 'string' },
    'peer-rate': { type: 'string' },
    'fit-round-retries': { type: 'string' },
    'fit-round-deadline-cap': { type: 'string' },
    'max-renders': { type: 'string' },
    'http-request-timeout-ms': { type: 'string' },
    'http-max-connections': { type: 'string' },
    'http-max-connections-per-address': { type: 'string' },
  });
  if (values.help) {
    console.log(COORDINATOR_HELP);
    return 0;
  }
  const apiToken = process.env.FEDMART_API_TOKEN;
  if (!apiToken || apiToken.length < 16) {
    console.error('fedmart coordinator: set FEDMART_API_TOKEN to a secret of at least 16 characters');
    return 2;
  }
  const metricsToken = process.env.FEDMART_METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) {
    console.error('fedmart coordinator: FEDMART_METRICS_TOKEN, when set, must be a secret of at least 16 characters');
    return 2;
  }
  const pin = values['keyholder-key'];
  const deployment = deploymentDirOption(values);
  const tls = serverTlsOption(values, deployment, 'coordinator');
  const keyholderCa = pemOption(values, 'keyholder-ca', deployment, DEPLOYMENT_FILES.caCert);
  const running = await startCoordinator({
    keyholderAddress: requireString(values, 'keyholder'),
    ...(tls ? { tls } : {}),
    ...(keyholderCa === undefined ? {} : { keyholderCa }),
    ...(typeof pin === 'string' ? { keyholderSigningKeyHex: pin } : {}),
    database: databaseOption(values),
    ...(typeof values.id === 'string' ? { coordinatorId: values.id } : {}),
    closeLeaseMs: integer(values, 'close-lease-ms', 20_000, 500, 3_600_000),
    fitRoundRetries: integer(values, 'fit-round-retries', 3, 0, 100),
    fitRoundDeadlineCapFactor: integer(values, 'fit-round-deadline-cap', 8, 1, 1000),
    grpcRateLimit: {
      perMerchant: ((r) => ({ ratePerSecond: r, burst: 2 * r }))(integer(values, 'merchant-rate', 20, 1, 1_000_000)),
      perPeer: ((r) => ({ ratePerSecond: r, burst: 10 * r }))(integer(values, 'peer-rate', 500, 1, 1_000_000)),
    },
    maxConcurrentRenders: integer(values, 'max-renders', 2, 1, 64),
    httpServerLimits: ((requestTimeoutMs) => ({
      requestTimeoutMs,
      headersTimeoutMs: Math.min(10_000, requestTimeoutMs),
      maxConnections: integer(values, 'http-max-connections', 1024, 1, 1_000_000),
      maxConnectionsPerAddress: integer(values, 'http-max-connections-per-address', 64, 1, 1_000_000),
    }))(integer(values, 'http-request-timeout-ms', 20_000, 1_000, 3_600_000)),
    standby: values.standby === true,
    migrate: values['no-migrate'] !== true,
    grpcListen: requireString(values, 'grpc', '127.0.0.1:7001'),
    httpListen: requireString(values, 'http', '127.0.0.1:7080'),
    apiToken,
    ...(metricsToken === undefined ? {} : { metricsToken }),
    ...(process.env.FEDMART_OTEL === '1' ? { tracing: {} } : {}),
    auditKeyFile: requireString(values, 'audit-key', deployment === undefined ? '.fedmart/coordinator-audit.seed' : join(deployment, DEPLOYMENT_FILES.auditSigningSeed)),
    auditOrigin: requireString(values, 'origin', 'fedmart.local/audit'),
    ...(typeof values.purposes === 'string' ? { purposes: await readPurposeRegistry(values.purposes, typeof values.fields === 'string' ? await readFieldClassification(values.fields) : undefined) } : {}),
    minSubjects: integer(values, 'min-subjects', 10, 1, MAX_MIN_SUBJECTS),
    enrolmentAuthorityPublicKeyHex: await enrolmentAuthorityOption(values, deployment),
    requestSigningSeedFile: requestKeyFileOption(values, deployment),
    logger: cliLogger('coordinator'),
  });
  emit({ event: 'ready', role: 'coordinator', grpc: running.grpcAddress, http: running.httpAddress, tls: tls !== undefined });
  await untilSignal();
  await running.close();
  return 0;
}
