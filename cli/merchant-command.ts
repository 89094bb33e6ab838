import { readFileSync, writeFileSync } from 'node:fs';
import { MerchantNode, ModelScoringError, defaultStateDir, loadShopCompliance, loadShopData, readReceipts, startMerchantTracing, type MerchantNodeOptions } from '../client-sdk/index.js';
import { ConsentImportError, importConsentCsv, noticeHash, type ConsentImportEncoding } from '../client-sdk/index.js';
import { emit, integer, parse, requireString, strings, UsageError } from './args.js';
import { errorCodeOf, quoteUntrusted } from '../protos/index.js';
import { cliLogger } from './logger.js';
import { DEFAULT_ENC_ZERO_POOL_SIZE, MAX_ENC_ZERO_POOL_SIZE, toHex } from '../crypto/index.js';
import { DEPLOYMENT_FILES, deploymentDirOption, pemOption } from './deployment.js';
import { scoreFileText, scoreFormatOf, type ScoreFormat } from './score-file.js';

export const MERCHANT_HELP = `fedmart merchant — run a merchant node for one shop

Usage: fedmart merchant [run] --id MERCHANT_ID --data DIR --coordinator HOST:PORT [--keyholder-key HEX]
                        [--enrol-token TOKEN] [--state DIR] [--once] [--poll-ms MS] [--encryption-pool N]
       fedmart merchant rotate-key --id MERCHANT_ID --data DIR --coordinator HOST:PORT [--state DIR]
       fedmart merchant access --data DIR --customer CUSTOMER_ID [--state DIR]
       fedmart merchant score --id MERCHANT_ID --data DIR --coordinator HOST:PORT --model FIT_ID --out FILE
                        [--format csv|json]
       fedmart merchant consents import --from FILE.csv --data DIR --controller NAME
                        --notice-file VERSION=PATH [--notice-file VERSION=PATH ...] [--notice-id ID]
                        [--state DIR] [--encoding utf-8|gb18030]

  --id ID                 this shop's merchant id (letters, digits, . _ -)
  --data DIR              the shop's export: schema.json plus the CSV files it names
  --coordinator HOST:PORT the coordinator's gRPC address
  --keyholder-key HEX     pin the key holder's Ed25519 key; public keys not signed by it are refused
  --state DIR             signing key, pseudonym key, key evidence and receipts (default DATA/.fedmart-state;
                          choose a folder outside DATA if the export folder is copied or handed on)
  --enrol-token TOKEN     one-time enrolment token from the administrator (fedmart enrol-token), also
                          read from FEDMART_ENROL_TOKEN (preferred: a command line is visible to
                          other users of the machine); needed for the first start only: the key
                          evidence made from it is kept in --state
  --once                  answer the queries open now, then exit
  --poll-ms MS            how often to look for new queries (default 500)
  --encryption-pool N     encryptions of zero made ahead under the key holder's public key, so that a
                          ciphertext costs ~0.8 ms instead of ~5.5 ms when a query comes (default 8;
                          0: encrypt fresh each time). Kept in memory only, each used once
  --coordinator-ca FILE   reach the coordinator over TLS, trusting only this CA (not the system store)
  --deployment DIR        take --coordinator-ca from a folder made by fedmart init (ca/ca.crt)

A node whose merchant was revoked (the coordinator refuses it with MERCHANT_REVOKED)
stops with one line on stderr and exit code 3 instead of retrying (with systemd:
RestartPreventExitStatus=3). Other refusals are retried at the next poll.

Without --coordinator-ca only a coordinator on a loopback address (127.0.0.0/8, ::1,
localhost) is contacted, in plaintext.

Raw rows never leave this process: only encrypted, signed statistics are sent.

FEDMART_OTEL=1 turns on OpenTelemetry tracing of "run" (a span per answered query
with its compute, encrypt and send steps; ids and codes only), exported over
OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318), or
printed with FEDMART_OTEL_EXPORTER=console.
Handled data-subject requests (rights-requests.jsonl) are reported as type and day only.

"access" answers a data-subject access request (PIPL art. 45) at the shop: the
customer's consent record and decisions per purpose, and the rounds their data
went into, in aggregate. It prints JSON and contacts nobody.

"rotate-key" replaces the node's signing key: the new key is signed by the
current one and proves possession of its own secret. Contributions already
sent stay valid; later ones are signed with the new key only.

"score" downloads a fitted model and scores this shop's own rows locally into FILE
(CSV, mode 0600). Scores never leave the shop. FIT_ID is the fit's id (as fedmart
query fit prints it). Kinds scored: logistic-regression (e.g. churn propensity: the
probability, per consented customer) and gradient-boosted-trees (the probability of a
binary label or the prediction of a numeric one, per consented customer or per row of
the declared table, read as the fit read them: its data, asOf, aggregates and
variables). FILE has a header, then customer_id,score or row,score (row: the row's
number in the table, from 1); with --format json (the default for a FILE ending in
.json) it is one JSON object: model, kind, purpose, label, output (probability or
prediction), idColumn, leftOut and scores [{id, score}]. A row missing a variable is left out: how many is
printed, never which. Exit 1 with one line when the fit is unknown (MODEL_UNKNOWN),
has no model yet (MODEL_NOT_READY), is of a kind not scored here (MODEL_NOT_SCORABLE),
or reads what this shop does not export or its purpose does not allow
(DATA_CANNOT_SCORE). Models go to enrolled, unrevoked shops only: the request
is signed with the key in --state, so give the --state folder of the node that
enrolled (MODEL_ACCESS_REFUSED otherwise).

"consents import" builds DATA/consents.jsonl from a plain CSV consent table, one
row per consent (customer_id, purpose, granted_at, expires_at, withdrawn_at,
notice_version, channel; format in docs/consent-import.md). Customers are
pseudonymised with the shop's key from --state (created there, mode 0600, if
absent). --controller names the shop's legal entity; --notice-file gives the text
of each notice version the table names (its SHA-256 goes into the records);
--notice-id names the notice (default privacy-notice); --encoding gb18030 reads a
table saved as GBK/GB18030. Every problem of the table is reported at once (file,
row, column, what to do), exit 1, and then nothing is written.`;

export async function merchantCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    id: { type: 'string' },
    data: { type: 'string' },
    coordinator: { type: 'string' },
    'keyholder-key': { type: 'string' },
    state: { type: 'string' },
    once: { type: 'boolean' },
    'poll-ms': { type: 'string' },
    'encryption-pool': { type: 'string' },
    customer: { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string' },
    'coordinator-ca': { type: 'string' },
    deployment: { type: 'string' },
    'enrol-token': { type: 'string' },
    from: { type: 'string' },
    controller: { type: 'string' },
    'notice-file': { type: 'string', multiple: true },
    'notice-id': { type: 'string' },
    encoding: { type: 'string' },
    format: { type: 'string' },
  });
  if (values.help) {
    console.log(MERCHANT_HELP);
    return 0;
  }
  if (positionals[0] === 'consents') {
    if (positionals[1] !== 'import') throw new UsageError(`unknown consents subcommand "${positionals[1] ?? ''}" (import)`);
    if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
    return consentsImportCommand(values);
  }
  if (positionals[0] === 'access') {
    const dataDir = requireString(values, 'data');
    const stateDir = requireString(values, 'state', defaultStateDir(dataDir));
    const compliance = await loadShopCompliance(dataDir, { stateDir, logger: cliLogger('merchant') });
    const customerId = requireString(values, 'customer');
    const report = compliance.ledger.accessReport(customerId, readReceipts(stateDir), {
      purposes: compliance.registry.purposes,
    });
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  if (positionals[0] === 'score') return scoreCommand(values);
  if (positionals[0] === 'rotate-key') return rotateKeyCommand(values);
  if (positionals[0] === 'run') positionals.shift();
  if (positionals.length > 0) throw new UsageError(`unknown merchant subcommand "${positionals[0]}" (run, access, score, rotate-key, consents)`);
  const enrolmentToken = typeof values['enrol-token'] === 'string' ? values['enrol-token'] : process.env.FEDMART_ENROL_TOKEN;
  const merchantId = requireString(values, 'id');
  const pollMs = integer(values, 'poll-ms', 500, 50, 3_600_000);
  const encryptionPool = integer(values, 'encryption-pool', DEFAULT_ENC_ZERO_POOL_SIZE, 0, MAX_ENC_ZERO_POOL_SIZE);
  const pin = values['keyholder-key'];
  // FEDMART_OTEL=1: spans of each answer (compute, encrypt, send), see client-sdk/merchant-node-tracing.ts.
  const tracing = process.env.FEDMART_OTEL === '1' ? await startMerchantTracing() : undefined;
  const node = await merchantNodeFrom(values, {
    ...(typeof pin === 'string' ? { keyholderSigningKeyHex: pin } : {}),
    ...(enrolmentToken ? { enrolmentToken } : {}),
    // Encryption runs in a SEAL worker thread, replaced if it ever faults; it also fills the Enc(0) pool.
    encryptInWorker: true,
    encryptionPool,
  });
  const data = node.data;
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await node.enrol();
    await node.loadPublicKey();
    const rights = await node.reportRightsRequests();
    emit({ event: 'ready', role: 'merchant', merchantId, customers: data.customers.length, orders: data.orders.length, rightsReported: rights });
    do {
      for (const outcome of await node.answerOpenQueries()) {
        emit({ event: 'answer', merchantId, ...outcome, receipt: undefined });
        const fatal = outcome.outcome === 'refused' ? fatalRefusal(merchantId, outcome.code, outcome.message) : undefined;
        if (fatal !== undefined) {
          console.error(fatal);
          return MERCHANT_REVOKED_EXIT;
        }
      }
      if (values.once) break;
      await new Promise((r) => setTimeout(r, pollMs));
    } while (!stop);
  } catch (err) {
    // Enrolment or listing queries refused for good (e.g. a revoked merchant restarted).
    const fatal = fatalRefusal(merchantId, errorCodeOf(err), (err as { details?: unknown } | null)?.details);
    if (fatal === undefined) throw err;
    console.error(fatal);
    return MERCHANT_REVOKED_EXIT;
  } finally {
    node.close();
    await tracing?.shutdown();
  }
  return 0;
}

/** Exit code of a merchant node that stopped because its merchant is revoked (a supervisor should not restart it). */
export const MERCHANT_REVOKED_EXIT = 3;

/**
 * The one line a merchant node prints before it stops, when the coordinator
 * refused it with a code that answering again cannot change (the merchant is
 * revoked); undefined for every other refusal, which the node retries at the
 * next poll.
 */
export function fatalRefusal(merchantId: string, code: string | undefined, message?: unknown): string | undefined {
  if (code !== 'MERCHANT_REVOKED') return undefined;
  // The coordinator's words are echoed escaped and cut to one short line.
  const said = typeof message === 'string' && message !== '' ? `: ${quoteUntrusted(message)}` : '';
  return `fedmart merchant: stopping: the coordinator refuses merchant ${merchantId} for good (PERMISSION_DENIED ${code}${said}); an administrator revoked it (fedmart merchants list shows when and why), so no later contribution can be accepted under this id`;
}

/** A merchant node from --id, --data, --coordinator, --coordinator-ca/--deployment and --state, plus `extra`. */
async function merchantNodeFrom(
  values: Record<string, string | boolean | undefined>,
  extra: Partial<Pick<MerchantNodeOptions, 'keyholderSigningKeyHex' | 'enrolmentToken' | 'encryptInWorker' | 'encryptionPool'>> = {},
): Promise<MerchantNode> {
  const merchantId = requireString(values, 'id');
  const dataDir = requireString(values, 'data');
  const stateDir = requireString(values, 'state', defaultStateDir(dataDir));
  const logger = cliLogger('merchant');
  return MerchantNode.create({
    merchantId,
    coordinatorAddress: requireString(values, 'coordinator'),
    ...coordinatorCaOption(values),
    data: await loadShopData(dataDir, merchantId),
    compliance: await loadShopCompliance(dataDir, { stateDir, logger }),
    stateDir,
    ...extra,
    logger,
  });
}

async function scoreCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const out = requireString(values, 'out');
  const modelId = requireString(values, 'model');
  let format: ScoreFormat;
  try {
    format = scoreFormatOf(typeof values.format === 'string' ? values.format : undefined, out);
  } catch (err) {
    throw new UsageError(`--${(err as Error).message}`);
  }
  const node = await merchantNodeFrom(values);
  try {
    const scored = await node.scoreCustomers(modelId);
    const { scores } = scored;
    writeFileSync(out, scoreFileText(scored, format), { mode: 0o600 });
    const mean = scores.reduce((a, s) => a + s.score, 0) / Math.max(1, scores.length);
    const what = scored.idColumn === 'customer_id' ? 'customers' : 'rows';
    const leftOut = scored.leftOut > 0 ? `; ${scored.leftOut} ${what} left out (a variable missing)` : '';
    console.log(`scored ${scores.length} ${what} with ${scored.kind} (${scored.output} of ${scored.label}); mean score ${mean.toFixed(4)}${leftOut}; wrote ${out}`);
    return 0;
  } catch (err) {
    if (!(err instanceof ModelScoringError)) throw err;
    console.error(`fedmart merchant: cannot score with ${modelId}: ${err.message} [${err.code}]`);
    return 1;
  } finally {
    node.close();
  }
}


async function rotateKeyCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const merchantId = requireString(values, 'id');
  const node = await merchantNodeFrom(values);
  try {
    const sequence = await node.rotateKey();
    emit({ event: 'key-rotated', merchantId, sequence, signingKey: toHex(node.signingPublicKey) });
    return 0;
  } finally {
    node.close();
  }
}

/** `--coordinator-ca FILE`, or the CA of `--deployment DIR`. */
function coordinatorCaOption(values: Record<string, string | boolean | undefined>): { coordinatorCa?: string } {
  const ca = pemOption(values, 'coordinator-ca', deploymentDirOption(values), DEPLOYMENT_FILES.caCert);
  return ca === undefined ? {} : { coordinatorCa: ca };
}

const NOTICE_VERSION_RE = /^[\x21-\x3f\x41-\x7e]{1,128}$/;

/** `--encoding`: utf-8 (default) or gb18030; `utf8` and `gbk` (which GB18030 extends) are accepted too. */
function encodingOption(values: Record<string, string | boolean | undefined>): ConsentImportEncoding {
  const v = values.encoding;
  if (v === undefined) return 'utf-8';
  const e = String(v).toLowerCase();
  if (e === 'utf-8' || e === 'utf8') return 'utf-8';
  if (e === 'gb18030' || e === 'gbk') return 'gb18030';
  throw new UsageError(`--encoding must be utf-8 or gb18030, got "${String(v)}"`);
}

/** `--notice-file VERSION=PATH ...` → version → SHA-256 of the file's bytes. */
function noticeOptions(values: Record<string, string | boolean | undefined>): Map<string, string> {
  const notices = new Map<string, string>();
  for (const arg of strings(values, 'notice-file')) {
    const eq = arg.indexOf('=');
    const version = eq < 0 ? '' : arg.slice(0, eq);
    const path = eq < 0 ? '' : arg.slice(eq + 1);
    if (version === '' || path === '') throw new UsageError(`--notice-file must be VERSION=PATH, got "${arg}"`);
    if (!NOTICE_VERSION_RE.test(version)) throw new UsageError(`--notice-file ${arg}: the version must be printable ASCII without spaces or @`);
    if (notices.has(version)) throw new UsageError(`--notice-file: version ${version} is given twice`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new UsageError(`--notice-file ${arg}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (bytes.length === 0) throw new UsageError(`--notice-file ${arg}: ${path} is empty`);
    notices.set(version, noticeHash(bytes));
  }
  return notices;
}

async function consentsImportCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const csvPath = requireString(values, 'from');
  const dataDir = requireString(values, 'data');
  const stateDir = requireString(values, 'state', defaultStateDir(dataDir));
  const controller = requireString(values, 'controller');
  const noticeId = values['notice-id'];
  if (noticeId !== undefined && (typeof noticeId !== 'string' || !NOTICE_VERSION_RE.test(noticeId))) {
    throw new UsageError('--notice-id must be printable ASCII without spaces or @ (1–128 characters)');
  }
  if (controller.trim() === '' || controller.length > 256) throw new UsageError('--controller must name the shop\'s legal entity (1–256 characters)');
  const encoding = encodingOption(values);
  const notices = noticeOptions(values);
  if (notices.size === 0) throw new UsageError('--notice-file is required (VERSION=PATH for each notice version in the table)');
  try {
    const r = await importConsentCsv({
      csvPath,
      dataDir,
      stateDir,
      encoding,
      controller,
      notices,
      ...(typeof noticeId === 'string' ? { noticeId } : {}),
      logger: cliLogger('merchant'),
    });
    console.log(
      `imported ${r.rows} rows: consent records of ${r.customers} customers written to ${r.path}; pseudonym key ${r.keyPath}${r.keyCreated ? ' (created, mode 0600)' : ''}`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ConsentImportError)) throw err;
    console.error(`fedmart merchant: ${err.message}`);
    for (const line of err.lines()) console.error(`  ${line}`);
    return 1;
  }
}
