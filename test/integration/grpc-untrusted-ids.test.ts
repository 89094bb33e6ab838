/**
 * Every gRPC method that takes an id, on a real coordinator and key holder,
 * given a 100,000-character id full of ANSI escapes and newlines: the answer
 * is INVALID_ARGUMENT with the id's own error code and a status message of
 * at most 128 characters that quotes nothing of the id and holds no control
 * character. And the quoting every status message uses keeps echoes to 128
 * escaped characters.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContributionChunk, EnrollRequest, GetModelRequest, KeyHolderServiceClient, MerchantServiceClient, ReleasePart, ReportRightsEventsRequest, RotateKeyRequest, callUnary, errorCodeOf, quoteUntrusted } from '../../protos/index.js';
import { UNTRUSTED_ECHO_MAX, escapeUntrusted } from '../../protos/untrusted-text.js';
import { startCluster, type Cluster } from '../../harness/cluster.js';
import { RawSubmitter } from '../helpers/raw-client.js';

/** 100,000 characters: colours, cursor moves, newlines and a fake log line. */
const HOSTILE_ID = `\u001b[31m${'evil\n\u001b[2J\r{"level":50}\u0007'.repeat(4_000)}`.padEnd(100_000, 'x');

let cluster: Cluster;
let merchant: MerchantServiceClient;
let keyholder: KeyHolderServiceClient;
let raw: RawSubmitter;

beforeAll(async () => {
  cluster = await startCluster();
  merchant = new MerchantServiceClient(cluster.coordinator.grpcAddress, credentials.createInsecure());
  keyholder = new KeyHolderServiceClient(cluster.keyholder.address, credentials.createInsecure());
  raw = new RawSubmitter(cluster.coordinator.grpcAddress);
}, 120_000);
afterAll(async () => {
  merchant?.close();
  keyholder?.close();
  raw?.close();
  await cluster?.close();
});

async function failure(call: Promise<unknown>): Promise<{ code: number; fedmart: string | undefined; details: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, fedmart: errorCodeOf(e), details: e.details };
  }
  throw new Error('the call succeeded');
}

/** A Release stream of just `part`, to the key holder. */
function release(part: ReleasePart): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const call = keyholder.release(new Metadata(), { deadline: new Date(Date.now() + 30_000) }, (err, res) => (err ? reject(err) : resolve(res)));
    call.write(part);
    call.end();
  });
}

function expectRefused(f: { code: number; fedmart: string | undefined; details: string }, fedmartCode: string): void {
  expect(f.code).toBe(status.INVALID_ARGUMENT);
  expect(f.fedmart).toBe(fedmartCode);
  expect(f.details.length).toBeLessThanOrEqual(UNTRUSTED_ECHO_MAX);
  expect(f.details).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(f.details).not.toContain('evil');
}

describe('gRPC ids of any length and content', () => {
  const bind = <Req, Res>(m: (...a: never[]) => unknown) => m.bind(merchant) as unknown as Parameters<typeof callUnary<Req, Res>>[0];

  it('Enroll', async () => {
    expectRefused(await failure(callUnary(bind(merchant.enroll), EnrollRequest.fromPartial({ merchantId: HOSTILE_ID, signingPublicKey: Buffer.alloc(32) }))), 'MERCHANT_ID_INVALID');
  });

  it('RotateKey', async () => {
    expectRefused(await failure(callUnary(bind(merchant.rotateKey), RotateKeyRequest.fromPartial({ merchantId: HOSTILE_ID }))), 'MERCHANT_ID_INVALID');
  });

  it('ListOpenQueries', async () => {
    expectRefused(await failure(callUnary(bind(merchant.listOpenQueries), { merchantId: HOSTILE_ID })), 'MERCHANT_ID_INVALID');
  });

  it('ReportRightsEvents', async () => {
    const req = ReportRightsEventsRequest.fromPartial({ merchantId: HOSTILE_ID, events: [{ type: 'access', handledUnixMs: 1n }], nonce: Buffer.alloc(16), signature: Buffer.alloc(64) });
    expectRefused(await failure(callUnary(bind(merchant.reportRightsEvents), req)), 'MERCHANT_ID_INVALID');
  });

  it('GetModel', async () => {
    expectRefused(await failure(callUnary(bind(merchant.getModel), GetModelRequest.fromPartial({ modelId: HOSTILE_ID }))), 'MODEL_ID_INVALID');
    expectRefused(await failure(callUnary(bind(merchant.getModel), GetModelRequest.fromPartial({ modelId: 'fit-0123', merchantId: HOSTILE_ID }))), 'MERCHANT_ID_INVALID');
  });

  it('SubmitContribution', async () => {
    for (const [header, code] of [[{ queryId: HOSTILE_ID, merchantId: 'shop-01' }, 'QUERY_ID_INVALID'], [{ queryId: 'q-0123', merchantId: HOSTILE_ID }, 'MERCHANT_ID_INVALID']] as const) {
      const out = await raw.send([ContributionChunk.fromPartial({ header })]);
      expectRefused({ code: out.status!, fedmart: out.code, details: out.details! }, code);
    }
  });

  it("the key holder's Release", async () => {
    expectRefused(await failure(release(ReleasePart.fromPartial({ header: { queryId: HOSTILE_ID } }))), 'QUERY_ID_INVALID');
  });
});

describe('quoting untrusted text', () => {
  it('escapes control characters and keeps at most 128 characters', () => {
    const q = quoteUntrusted(HOSTILE_ID);
    expect(q.length).toBeLessThanOrEqual(UNTRUSTED_ECHO_MAX);
    expect(q).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(q.startsWith('\\u001b[31mevil\\u000a')).toBe(true);
    expect(q.endsWith('…')).toBe(true);
    // No escape is cut in half.
    expect(q.slice(0, -1)).not.toMatch(/\\u[0-9a-f]{0,3}$/);
    expect(quoteUntrusted('shop-01')).toBe('shop-01');
    expect(quoteUntrusted('x'.repeat(128))).toBe('x'.repeat(128));
    expect(quoteUntrusted('x'.repeat(129))).toHaveLength(128);
    expect(escapeUntrusted('a\u2028b\u202ec\ud800')).toBe('a\\u2028b\\u202ec\ufffd');
  });
});
