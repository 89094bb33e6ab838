import { MAX_MIN_SUBJECTS, readFieldClassification, readPurposeRegistry } from '../compliance/index.js';
import { MIN_KEYHOLDER_METRICS_TOKEN_LENGTH, startKeyHolder } from '../keyholder/index.js';
import { emit, integer, parse, requireString, untilSignal, UsageError } from './args.js';
import { DEPLOYMENT_FILES, deploymentDirOption, pemOption, serverTlsOption } from './deployment.js';
import { cliLogger } from './logger.js';
import { coordinatorRequestKeyOption, enrolmentAuthorityOption } from './identity-options.js';

export const KEYHOLDER_HELP = `fedmart keyholder — run the key holder (holds the secret key, signs releases)

Usage: fedmart keyholder --data DIR --enrolment-authority HEX|FILE --coordinator-key HEX|FILE
                         [--listen HOST:PORT] [--min-merchants M] [--min-subjects K]
                         [--max-share P] [--purposes FILE] [--fields FILE]
                         [--metrics-listen HOST:PORT]

  --data DIR          folder for keys (created 0700, secret files 0600) and the release ledger
  --enrolment-authority HEX|FILE
                      the enrolment authority's Ed25519 public key (hex, or a file with its seed
                      or the hex key): a contribution is decrypted only if its merchant's signing
                      key traces back to a token this authority signed
  --coordinator-key HEX|FILE
                      the coordinator's release-request public key (hex, or its seed file or a
                      file with the hex key); release requests not signed by it are refused.
                      Both are taken from --deployment when not given
  --listen HOST:PORT  gRPC address (default 127.0.0.1:7002; port 0 picks a free one)
  --min-merchants M   fewest distinct merchants whose sum is decrypted (default 3)
  --min-subjects K    fewest subjects per released cell; smaller cells are suppressed (default 10,
                      at most 1000); also the fewest customers by which two releases may differ
  --max-share P       dominance rule for every purpose: withhold a cell where one merchant may
                      hold more than P % of its magnitude (default: only where a purpose asks)
  --purposes FILE     purposes.json whose disclosure blocks (exact, or DP with a zCDP budget)
                      apply (default: built-in registry); policies and budgets persist in
                      --data, and a policy weaker than one already applied stops the start
  --fields FILE       fields.json classification the registry's allowed fields are checked against
                      (default: built-in; add the columns shops declare, e.g. store_week.price)
  --tls-cert FILE     TLS certificate (PEM) to serve gRPC with; needs --tls-key
  --tls-key FILE      its private key (PEM)
  --client-ca FILE    accept only clients presenting a certificate signed by this CA (the coordinator)
  --deployment DIR    take all three from a folder made by fedmart init
                      (keyholder/tls.crt, keyholder/tls.key, ca/ca.crt)
  --metrics-listen HOST:PORT
                      serve Prometheus metrics at HOST:PORT/metrics (off by default): releases,
                      refusals by code, the DP budget ledger per purpose, process metrics.
                      HTTPS with the key holder's certificate when it has TLS, else plain HTTP.
                      Loopback only, unless FEDMART_METRICS_TOKEN and TLS are both set

Without TLS the key holder listens only on a loopback address (127.0.0.0/8, ::1, localhost).
A scrape token (at least 16 characters) in FEDMART_METRICS_TOKEN makes /metrics require
Authorization: Bearer <token> (see docs/operations.md).

FEDMART_OTEL=1 turns on OpenTelemetry tracing (spans of gRPC calls and releases,
continuing the coordinator's trace), exported over OTLP/HTTP to
OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318), or printed with
FEDMART_OTEL_EXPORTER=console.

Prints one JSON line {"event":"ready",...} on stdout when listening; logs go to stderr.`;

export async function keyholderCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: 'string' },
    listen: { type: 'string' },
    'min-merchants': { type: 'string' },
    'min-subjects': { type: 'string' },
    'max-share': { type: 'string' },
    purposes: { type: 'string' },
    fields: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'client-ca': { type: 'string' },
    deployment: { type: 'string' },
    'enrolment-authority': { type: 'string' },
    'coordinator-key': { type: 'string' },
    'metrics-listen': { type: 'string' },
  });
  if (values.help) {
    console.log(KEYHOLDER_HELP);
    return 0;
  }
  const deployment = deploymentDirOption(values);
  const tls = serverTlsOption(values, deployment, 'keyholder');
  const clientCa = pemOption(values, 'client-ca', deployment, DEPLOYMENT_FILES.caCert);
  if (!tls && clientCa !== undefined) throw new UsageError('--client-ca needs --tls-cert and --tls-key');
  const metricsListen = values['metrics-listen'];
  if (metricsListen !== undefined && typeof metricsListen !== 'string') throw new UsageError('--metrics-listen takes HOST:PORT');
  const metricsToken = process.env.FEDMART_METRICS_TOKEN || undefined;
  if (metricsListen !== undefined && metricsToken !== undefined && metricsToken.length < MIN_KEYHOLDER_METRICS_TOKEN_LENGTH) {
    throw new UsageError(`FEDMART_METRICS_TOKEN, when set, must be a secret of at least ${MIN_KEYHOLDER_METRICS_TOKEN_LENGTH} characters`);
  }
  const running = await startKeyHolder({
    dataDir: requireString(values, 'data'),
    ...(tls ? { tls: { ...tls, ...(clientCa === undefined ? {} : { clientCa }) } } : {}),
    listen: requireString(values, 'listen', '127.0.0.1:7002'),
    policy: {
      minMerchants: integer(values, 'min-merchants', 3, 2, 10_000),
      minSubjects: integer(values, 'min-subjects', 10, 1, MAX_MIN_SUBJECTS),
      ...(values['max-share'] === undefined ? {} : { dominance: { maxSharePercent: integer(values, 'max-share', 100, 1, 100) } }),
    },
    ...(typeof values.purposes === 'string' ? { purposes: (await readPurposeRegistry(values.purposes, typeof values.fields === 'string' ? await readFieldClassification(values.fields) : undefined)).purposes } : {}),
    enrolmentAuthorityPublicKeyHex: await enrolmentAuthorityOption(values, deployment),
    coordinatorRequestKeyHex: await coordinatorRequestKeyOption(values, deployment),
    ...(metricsListen === undefined ? {} : { metrics: { listen: metricsListen, token: metricsToken } }),
    ...(process.env.FEDMART_OTEL === '1' ? { tracing: {} } : {}),
    logger: cliLogger('keyholder'),
  });
  emit({
    event: 'ready', role: 'keyholder', address: running.address, signingKey: running.signingPublicKeyHex, tls: tls !== undefined,
    ...(running.metricsUrl === undefined ? {} : { metrics: `${running.metricsUrl}/metrics` }),
  });
  await untilSignal();
  await running.close();
  return 0;
}
