import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MerchantNode, loadShopCompliance, loadShopData, readReceipts, type MerchantNodeOptions } from '../client-sdk/index.js';
import { emit, integer, parse, requireString, UsageError } from './args.js';
import { cliLogger } from './logger.js';
import { DEPLOYMENT_FILES, deploymentDirOption, pemOption } from './deployment.js';

export const MERCHANT_HELP = `fedmart merchant — run a merchant node for one shop

Usage: fedmart merchant [run] --id MERCHANT_ID --data DIR --coordinator HOST:PORT [--keyholder-key HEX]
                        [--enrol-token TOKEN] [--state DIR] [--once] [--poll-ms MS]
       fedmart merchant rotate-key --id MERCHANT_ID --data DIR --coordinator HOST:PORT [--state DIR]
       fedmart merchant access --data DIR --customer CUSTOMER_ID [--state DIR]
       fedmart merchant score --id MERCHANT_ID --data DIR --coordinator HOST:PORT --model MODEL_ID --out FILE

  --id ID                 this shop's merchant id (letters, digits, . _ -)
  --data DIR              the shop's export: schema.json plus the CSV files it names
  --coordinator HOST:PORT the coordinator's gRPC address
  --keyholder-key HEX     pin the key holder's Ed25519 key; public keys not signed by it are refused
  --state DIR             signing key, key evidence and receipts (default DATA/.fedmart-state)
  --enrol-token TOKEN     one-time enrolment token from the administrator (fedmart enrol-token), also
                          read from FEDMART_ENROL_TOKEN (preferred: a command line is visible to
                          other users of the machine); needed for the first start only: the key
                          evidence made from it is kept in --state
  --once                  answer the queries open now, then exit
  --poll-ms MS            how often to look for new queries (default 500)
  --coordinator-ca FILE   reach the coordinator over TLS, trusting only this CA (not the system store)
  --deployment DIR        take --coordinator-ca from a folder made by fedmart init (ca/ca.crt)

Without --coordinator-ca only a coordinator on a loopback address (127.0.0.0/8, ::1,
localhost) is contacted, in plaintext.

Raw rows never leave this process: only encrypted, signed statistics are sent.
Handled data-subject requests (rights-requests.jsonl) are reported as type and day only.

"access" answers a data-subject access request (PIPL art. 45) at the shop: the
customer's consent record and decisions per purpose, and the rounds their data
went into, in aggregate. It prints JSON and contacts nobody.

"rotate-key" replaces the node's signing key: the new key is signed by the
current one and proves possession of its own secret. Contributions already
sent stay valid; later ones are signed with the new key only.

"score" downloads a fitted model (e.g. churn propensity) and scores this shop's
own consented customers locally into FILE (CSV, mode 0600). Scores never leave the shop.`;

export async function merchantCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    id: { type: 'string' },
    data: { type: 'string' },
    coordinator: { type: 'string' },
    'keyholder-key': { type: 'string' },
    state: { type: 'string' },
    once: { type: 'boolean' },
    'poll-ms': { type: 'string' },
    customer: { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string' },
    'coordinator-ca': { type: 'string' },
    deployment: { type: 'string' },
    'enrol-token': { type: 'string' },
  });
  if (values.help) {
    console.log(MERCHANT_HELP);
    return 0;
  }
  if (positionals[0] === 'access') {
    const dataDir = requireString(values, 'data');
    const compliance = await loadShopCompliance(dataDir);
    const customerId = requireString(values, 'customer');
    const report = compliance.ledger.accessReport(customerId, readReceipts(requireString(values, 'state', join(dataDir, '.fedmart-state'))), {
      purposes: compliance.registry.purposes,
    });
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  if (positionals[0] === 'score') return scoreCommand(values);
  if (positionals[0] === 'rotate-key') return rotateKeyCommand(values);
  if (positionals[0] === 'run') positionals.shift();
  if (positionals.length > 0) throw new UsageError(`unknown merchant subcommand "${positionals[0]}" (run, access, score, rotate-key)`);
  const enrolmentToken = typeof values['enrol-token'] === 'string' ? values['enrol-token'] : process.env.FEDMART_ENROL_TOKEN;
  const merchantId = requireString(values, 'id');
  const pollMs = integer(values, 'poll-ms', 500, 50, 3_600_000);
  const pin = values['keyholder-key'];
  const node = await merchantNodeFrom(values, {
    ...(typeof pin === 'string' ? { keyholderSigningKeyHex: pin } : {}),
    ...(enrolmentToken ? { enrolmentToken } : {}),
    // Encryption runs in a SEAL worker thread, replaced if it ever faults.
    encryptInWorker: true,
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
      for (const outcome of await node.answerOpenQueries()) emit({ event: 'answer', merchantId, ...outcome, receipt: undefined });
      if (values.once) break;
      await new Promise((r) => setTimeout(r, pollMs));
    } while (!stop);
  } finally {
    node.close();
  }
  return 0;
}

/** A merchant node from --id, --data, --coordinator, --coordinator-ca/--deployment and --state, plus `extra`. */
async function merchantNodeFrom(
  values: Record<string, string | boolean | undefined>,
  extra: Partial<Pick<MerchantNodeOptions, 'keyholderSigningKeyHex' | 'enrolmentToken' | 'encryptInWorker'>> = {},
): Promise<MerchantNode> {
  const merchantId = requireString(values, 'id');
  const dataDir = requireString(values, 'data');
  return MerchantNode.create({
    merchantId,
    coordinatorAddress: requireString(values, 'coordinator'),
    ...coordinatorCaOption(values),
    data: await loadShopData(dataDir, merchantId),
    compliance: await loadShopCompliance(dataDir),
    stateDir: requireString(values, 'state', join(dataDir, '.fedmart-state')),
    ...extra,
    logger: cliLogger('merchant'),
  });
}

async function scoreCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const merchantId = requireString(values, 'id');
  const dataDir = requireString(values, 'data');
  const out = requireString(values, 'out');
  const modelId = requireString(values, 'model');
  const node = await merchantNodeFrom(values);
  try {
    const { model, scores } = await node.scoreCustomers(modelId);
    const lines = ['customer_id,score', ...scores.map((s) => `${s.customerId},${s.score.toFixed(6)}`)];
    writeFileSync(out, lines.join('\n') + '\n', { mode: 0o600 });
    const mean = scores.reduce((a, s) => a + s.score, 0) / Math.max(1, scores.length);
    console.log(`scored ${scores.length} customers with ${model.kind} (${model.label}); mean score ${mean.toFixed(4)}; wrote ${out}`);
    return 0;
  } finally {
    node.close();
  }
}

async function rotateKeyCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const merchantId = requireString(values, 'id');
  const node = await merchantNodeFrom(values);
  try {
    const sequence = await node.rotateKey();
    emit({ event: 'key-rotated', merchantId, sequence, signingKey: Buffer.from(node.signingPublicKey).toString('hex') });
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
