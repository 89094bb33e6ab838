/**
 * The intake's storing transaction on its own: `CoordinatorStore.
 * insertContributions` of one batch of contributions of a real ciphertext's
 * size, with their `contribution.accepted` audit entries written the two
 * ways the store supports, alternating: one statement per entry (an item's
 * `inTx`) and one INSERT for the batch (`auditEvent` + `AuditTrail.
 * recordMany`). No gRPC, no other work on the event loop: what the
 * database path costs by itself.
 *
 *   npx tsx bench/intake-batch.ts [--db pglite|postgres://...] [--batch 32] [--repeat 12]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cryptoReady, generateSigningKeyPair, randomBytes } from '../crypto/index.js';
import { AuditTrail, CoordinatorStore, openDatabase } from '../coordinator/index.js';
import type { NewContribution } from '../coordinator/store.js';
import type { AuditEvent } from '../compliance/index.js';
import { ContributionHeader } from '../protos/index.js';
import { createScratchDatabase } from './scratch-database.js';
import { median } from './stats.js';

export const INTAKE_BATCH_HELP = `npx tsx bench/intake-batch.ts — the intake's storing transaction on its own

Usage: npx tsx bench/intake-batch.ts [options]

  --db TARGET   pglite (default: a fresh PGlite folder) or a postgres://user@host/db URL
                the bench may create and drop a scratch database on
  --batch N     contributions per transaction (default 32, the intake's largest batch; 1..256)
  --repeat R    batches timed per way (default 12; 1..1000)
  -h, --help    this text

Prints the median wall time of one batch with one audit statement per
contribution and with one audit INSERT per batch.`;

const CIPHERTEXT_BYTES = 122_993;

function accepted(queryId: string, merchantId: string): AuditEvent {
  return {
    type: 'contribution.accepted',
    actor: merchantId,
    details: { merchantId, queryId, envelopeDigest: '00'.repeat(32), attestationDigest: '00'.repeat(32), subjectsIncluded: 20, excludedByReason: {} },
  };
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new RangeError(`--${name}: expected an integer ${min}..${max}, got ${text}`);
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { db: { type: 'string', default: 'pglite' }, batch: { type: 'string', default: '32' }, repeat: { type: 'string', default: '12' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(`${INTAKE_BATCH_HELP}\n`);
    return 0;
  }
  const size = integer('batch', values.batch, 1, 256);
  const repeat = integer('repeat', values.repeat, 1, 1000);
  await cryptoReady();
  let target: string;
  let drop: () => Promise<void>;
  if (values.db === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-intake-batch-'));
    target = join(dir, 'db');
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else if (/^postgres(ql)?:\/\//.test(values.db)) {
    const scratch = await createScratchDatabase(values.db, 'fedmart_intake_batch');
    target = scratch.url;
    drop = scratch.drop;
  } else {
    throw new RangeError(`--db: expected pglite or a postgres:// URL, got ${values.db}`);
  }
  const db = await openDatabase(target);
  try {
    const store = new CoordinatorStore(db);
    const audit = new AuditTrail({ db, origin: 'bench.local/audit', keyPair: generateSigningKeyPair() });
    for (let m = 0; m < size; m++) await store.enrolMerchant(`shop-${m}`, randomBytes(32));
    const ciphertexts = randomBytes(CIPHERTEXT_BYTES);
    let queries = 0;
    const batch = async (way: 'per entry' | 'per batch'): Promise<number> => {
      const queryId = `q-${queries++}`;
      await store.createQuery({
        queryId, kind: 'segment-stats', specJson: '{}', specDigest: new Uint8Array(32), paramSet: 'bfv-8192-t40', keyId: new Uint8Array(32),
        maxContributors: 1024, targetMerchants: 1024, minMerchants: 2, deadline: new Date(Date.now() + 600_000), purpose: 'p',
        purposeJson: '{}', termsJson: '', cutoff: new Date(), createdBy: 'bench', fitId: null, fitRound: null,
      });
      const items: NewContribution[] = Array.from({ length: size }, (_, m) => {
        const merchantId = `shop-${m}`;
        const event = accepted(queryId, merchantId);
        return {
          queryId, merchantId, envelopeDigest: randomBytes(32), ciphertexts, attestationJson: '{}', subjectsIncluded: 20,
          header: ContributionHeader.fromPartial({ queryId, merchantId }),
          ...(way === 'per entry' ? { inTx: (tx) => audit.record(event, tx) } : { auditEvent: event }),
        };
      });
      const started = performance.now();
      const outcomes = await store.insertContributions(items, audit);
      const ms = performance.now() - started;
      if (outcomes.some((o) => !o.ok)) throw new Error('a contribution was not stored');
      return ms;
    };
    await batch('per entry');
    await batch('per batch');
    const times = { 'per entry': [] as number[], 'per batch': [] as number[] };
    for (let r = 0; r < repeat; r++) for (const way of ['per entry', 'per batch'] as const) times[way].push(await batch(way));
    const log = await audit.log.verifyStoredLog();
    if (!log.ok) throw new Error('the audit log does not verify');
    process.stdout.write(`${db.backend}, batches of ${size} contributions of ${CIPHERTEXT_BYTES} bytes, median of ${repeat}: `
      + `one audit statement per contribution ${median(times['per entry']).toFixed(1)} ms, one audit INSERT per batch ${median(times['per batch']).toFixed(1)} ms\n`);
    return 0;
  } finally {
    await db.close();
    await drop();
  }
}

main(process.argv.slice(2)).then((code) => (process.exitCode = code), (err: unknown) => {
  process.stderr.write(`intake-batch: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
