/**
 * Hostile contributions against a coordinator running as its own process.
 * Each kind of bad input gets a precise gRPC status and changes nothing;
 * after 500 of them in a row the round still gives the exact answer and the
 * coordinator is still the same process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HeContext, HeEncryptor, blake2b256, generateHeKeys, randomBytes, signEnvelope, type SigningKeyPair } from '../../crypto/index.js';
import { startKeyHolder, type RunningKeyHolder } from '../../keyholder/index.js';
import { loadOrCreateSigningKey, type MerchantNode } from '../../client-sdk/index.js';
import { envelopeOf, type ContributionHeader, type OpenQuery } from '../../protos/index.js';
import { spawnService, type ServiceProcess } from '../../bench/spawn-service.js';
import { pooledReference } from '../helpers/pooled-reference.js';
import { chunks, RawSubmitter, type CallOutcome } from '../helpers/raw-client.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describeBackends } from '../helpers/backends.js';
import { testIdentity } from '../../harness/identity.js';

const TOKEN = 'hostile-test-token-0123456789';

async function http<T>(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await res.json()) as T;
}

interface QueryState { queryId: string; status: string; contributions: number; result: { rows: { stage: string; customers: number; orderValueMean: number; orderValueVariance: number }[] } }

async function waitReleased(base: string, queryId: string): Promise<QueryState> {
  for (let i = 0; i < 600; i++) {
    const q = await http<QueryState>(base, 'GET', `/v1/queries/${queryId}`);
    if (q.status === 'released' || q.status === 'failed') return q;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('query did not finish');
}

/** Re-signs a header with the merchant's own key (an enrolled but malicious merchant). */
function resign(h: ContributionHeader, key: SigningKeyPair): ContributionHeader {
  return { ...h, signature: Buffer.from(signEnvelope(envelopeOf(h), key.secretKey)) };
}

function withCiphertext(h: ContributionHeader, ct: Uint8Array, key: SigningKeyPair): ContributionHeader {
  return resign({ ...h, ciphertextDigests: [Buffer.from(blake2b256(ct))], ciphertextLengths: [ct.length] }, key);
}

describeBackends('hostile contributions', (backend) => {
  let dir: string;
  let database: TestDatabase;
  let keyholder: RunningKeyHolder;
  let coordinator: ServiceProcess;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let raw: RawSubmitter;
  let base: string;
  let ctx: HeContext;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedmart-hostile-'));
    database = await freshDatabase(backend, 'hostile', { onDisk: true });
    const identity = await testIdentity(dir);
    keyholder = await startKeyHolder({
      dataDir: join(dir, 'keyholder'), logger: pino({ level: 'silent' }),
      enrolmentAuthorityPublicKeyHex: identity.authorityPublicKeyHex, coordinatorRequestKeyHex: identity.requestKeyHex,
    });
    coordinator = await spawnService(
      ['coordinator', '--keyholder', keyholder.address, '--keyholder-key', keyholder.signingPublicKeyHex,
        '--enrolment-authority', identity.authorityPublicKeyHex, '--request-key', identity.requestSeedFile,
        '--db', database.target, '--audit-key', join(dir, 'audit.seed'), '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0',
        // 500 attacks in a row from one enrolled merchant: above the default per-merchant rate, which has its own test.
        '--merchant-rate', '100000'],
      join(dir, 'coordinator.log'),
      { FEDMART_API_TOKEN: TOKEN },
    );
    base = String(coordinator.ready.http);
    shops = await makeShops(5, 'hostile');
    merchants = await makeMerchants(shops, String(coordinator.ready.grpc), keyholder.signingPublicKeyHex);
    raw = new RawSubmitter(String(coordinator.ready.grpc));
    ctx = await HeContext.create();
  }, 120_000);

  afterAll(async () => {
    raw?.close();
    for (const m of merchants ?? []) m.close();
    ctx?.close();
    await coordinator?.stop();
    await keyholder?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses every kind of bad contribution precisely, 500 in a row, and still answers exactly', async () => {
    const pid = coordinator.child.pid;
    const [m1, m2, m3, m4, m5] = merchants as [MerchantNode, MerchantNode, MerchantNode, MerchantNode, MerchantNode];

    // A first round, so that there is a closed query to attack. Under another purpose: beside the five-shop
    // release below, three of the same shops would differ by two merchants and be refused (fewer than m).
    const closed = await http<{ queryId: string }>(base, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'churn-modelling', groupBy: 'lifecycle_stage' }, targetMerchants: 3,
    });
    const closedQuery = (await m1.openQueries()).find((q) => q.queryId === closed.queryId)!;
    for (const m of [m1, m2, m3]) await m.answer(closedQuery);
    expect((await waitReleased(base, closed.queryId)).status).toBe('released');

    // The round under attack: two honest merchants answer first.
    const target = await http<{ queryId: string }>(base, 'POST', '/v1/queries', {
      kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: 5,
    });
    const open: OpenQuery = (await m1.openQueries()).find((q) => q.queryId === target.queryId)!;
    expect((await m1.answer(open)).outcome).toBe('submitted');
    expect((await m2.answer(open)).outcome).toBe('submitted');
    const accepted1 = m1.buildContribution(open); // fresh, valid, but m1 already contributed

    // Material for the attacks, all for m3 who has not contributed yet.
    const valid = m3.buildContribution(open);
    const validCt = valid.ciphertexts[0]!;
    const m3key = loadOrCreateSigningKey(join(m3.stateDir, 'signing.seed'));
    const otherKeys = generateHeKeys(ctx);
    const foreign = new HeEncryptor(ctx, otherKeys.publicKey);
    const foreignCt = foreign.encryptPacked(new BigUint64Array(ctx.slotCount).fill(7n));
    foreign.close();
    const compressed = Uint8Array.from(validCt);
    compressed[5] = 2; // SEAL compr_mode_type::zstd
    const randomCt = randomBytes(validCt.length);
    const intruderKey = loadOrCreateSigningKey(join(dir, 'intruder.seed'));
    const closedMaterial = m4.buildContribution({ ...open, queryId: closed.queryId });

    const attacks: { name: string; expect: [number, string]; run: () => Promise<CallOutcome> }[] = [
      {
        name: 'bad signature',
        expect: [status.UNAUTHENTICATED, 'SIGNATURE_INVALID'],
        run: () => {
          const sig = Buffer.from(valid.header.signature);
          sig[0]! ^= 1;
          return raw.send([{ header: { ...valid.header, signature: sig } }, ...chunks(validCt)]);
        },
      },
      {
        name: 'unenrolled merchant',
        expect: [status.PERMISSION_DENIED, 'MERCHANT_NOT_ENROLLED'],
        run: () => raw.send([{ header: resign({ ...valid.header, merchantId: 'intruder' }, intruderKey) }, ...chunks(validCt)]),
      },
      {
        name: 'closed query',
        expect: [status.FAILED_PRECONDITION, 'QUERY_CLOSED'],
        run: () => raw.send([{ header: closedMaterial.header }, ...chunks(closedMaterial.ciphertexts[0]!)]),
      },
      {
        name: 'unknown query',
        expect: [status.NOT_FOUND, 'QUERY_UNKNOWN'],
        run: () => raw.send([{ header: resign({ ...valid.header, queryId: 'q-does-not-exist' }, m3key) }, ...chunks(validCt)]),
      },
      {
        name: 'replayed contribution',
        expect: [status.ALREADY_EXISTS, 'DUPLICATE_CONTRIBUTION'],
        run: () => raw.send([{ header: accepted1.header }, ...chunks(accepted1.ciphertexts[0]!)]),
      },
      {
        name: 'oversized: more bytes than declared',
        expect: [status.RESOURCE_EXHAUSTED, 'CONTRIBUTION_TOO_LARGE'],
        run: () => raw.send([{ header: valid.header }, ...chunks(validCt), { data: Buffer.alloc(1024) }]),
      },
      {
        name: 'oversized: declared length',
        expect: [status.INVALID_ARGUMENT, 'CIPHERTEXT_SHAPE'],
        run: () => raw.send([{ header: resign({ ...valid.header, ciphertextLengths: [validCt.length * 4] }, m3key) }]),
      },
      {
        name: 'truncated',
        expect: [status.INVALID_ARGUMENT, 'CONTRIBUTION_TRUNCATED'],
        run: () => raw.send([{ header: valid.header }, ...chunks(validCt.subarray(0, validCt.length - 100))]),
      },
      {
        name: 'random bytes signed by an enrolled merchant',
        expect: [status.INVALID_ARGUMENT, 'CIPHERTEXT_INVALID'],
        run: () => raw.send([{ header: withCiphertext(valid.header, randomCt, m3key) }, ...chunks(randomCt)]),
      },
      {
        name: 'random bytes instead of protobuf',
        expect: [status.INVALID_ARGUMENT, 'MALFORMED_MESSAGE'],
        run: () => raw.sendBytes([Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])]),
      },
      {
        name: 'in-range ciphertext under another key, substituted in transit',
        expect: [status.INVALID_ARGUMENT, 'CIPHERTEXT_DIGEST'],
        run: () => raw.send([{ header: valid.header }, ...chunks(foreignCt)]),
      },
      {
        name: 'in-range ciphertext under another key, digest swapped without the merchant key',
        expect: [status.UNAUTHENTICATED, 'SIGNATURE_INVALID'],
        run: () => raw.send([{ header: { ...valid.header, ciphertextDigests: [Buffer.from(blake2b256(foreignCt))] } }, ...chunks(foreignCt)]),
      },
      {
        name: 'SEAL compression mode set',
        expect: [status.INVALID_ARGUMENT, 'CIPHERTEXT_INVALID'],
        run: () => raw.send([{ header: withCiphertext(valid.header, compressed, m3key) }, ...chunks(compressed)]),
      },
      {
        name: 'header without ciphertexts',
        expect: [status.INVALID_ARGUMENT, 'HEADER_INVALID'],
        run: () => raw.send([{ header: { ...valid.header, ciphertextDigests: [], ciphertextLengths: [] } }]),
      },
      {
        name: 'data before header',
        expect: [status.INVALID_ARGUMENT, 'HEADER_FIRST'],
        run: () => raw.send([...chunks(validCt)]),
      },
    ];

    const seen = new Map<string, CallOutcome>();
    for (let i = 0; i < 500; i++) {
      const attack = attacks[i % attacks.length]!;
      const result = await attack.run();
      if (!seen.has(attack.name)) seen.set(attack.name, result);
      expect(result.ok, `${attack.name} was accepted`).toBe(false);
      expect([result.status, result.code], `${attack.name}: ${result.details}`).toEqual(attack.expect);
    }
    expect(seen.size).toBe(attacks.length);

    // Nothing changed: still two contributions, query still open.
    const mid = await http<QueryState>(base, 'GET', `/v1/queries/${target.queryId}`);
    expect(mid.status).toBe('open');
    expect(mid.contributions).toBe(2);

    // The honest rest answers; the result is exact and the coordinator is the same process.
    for (const m of [m3, m4, m5]) expect((await m.answer(open)).outcome).toBe('submitted');
    const final = await waitReleased(base, target.queryId);
    expect(final.status).toBe('released');
    const reference = pooledReference(shops.pooledDir);
    for (const row of final.result.rows) {
      expect(row.customers).toBe(reference[row.stage]!.customers);
      expect(Math.abs(row.orderValueMean / reference[row.stage]!.orderValueMean - 1)).toBeLessThan(1e-9);
      expect(Math.abs(row.orderValueVariance / reference[row.stage]!.orderValueVariance - 1)).toBeLessThan(1e-9);
    }
    expect(coordinator.child.exitCode).toBeNull();
    expect(coordinator.child.pid).toBe(pid);
  }, 300_000);
});
