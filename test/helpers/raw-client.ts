/**
 * Clients that send exactly what a test says, including garbage, to the
 * coordinator's SubmitContribution method.
 */
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { type ContributionChunk, MerchantServiceClient, callUnary, errorCodeOf, keyEvidenceToWire, type SubmitContributionResponse } from '../../protos/index.js';
import { enrolmentDigest, enrolmentEvidence, signDigest, type KeyEvidence, type SigningKeyPair } from '../../crypto/index.js';
import { testEnrolmentToken } from '../../harness/identity.js';

export interface CallOutcome {
  readonly ok: boolean;
  readonly status?: number;
  readonly code?: string;
  readonly details?: string;
  readonly response?: SubmitContributionResponse;
}

function outcome(err: ServiceError | null, res?: SubmitContributionResponse): CallOutcome {
  if (err) return { ok: false, status: err.code, code: errorCodeOf(err), details: err.details };
  return { ok: true, response: res };
}

export class RawSubmitter {
  private readonly typed: MerchantServiceClient;
  private readonly untyped: Client;

  constructor(address: string) {
    this.typed = new MerchantServiceClient(address, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    this.untyped = new Client(address, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  }

  close(): void {
    this.typed.close();
    this.untyped.close();
  }

  /** Sends the given messages as one SubmitContribution stream. */
  send(messages: readonly ContributionChunk[]): Promise<CallOutcome> {
    return new Promise((resolve) => {
      const call = this.typed.submitContribution(new Metadata(), { deadline: new Date(Date.now() + 30_000) }, (err, res) => resolve(outcome(err, res)));
      call.on('error', () => undefined);
      for (const m of messages) call.write(m);
      call.end();
    });
  }

  /** Sends raw bytes as stream messages, bypassing protobuf encoding. */
  sendBytes(messages: readonly Uint8Array[]): Promise<CallOutcome> {
    return new Promise((resolve) => {
      const call = this.untyped.makeClientStreamRequest<Buffer, SubmitContributionResponse>(
        '/fedmart.v1.MerchantService/SubmitContribution',
        (b: Buffer) => b,
        (b: Buffer) => ({ queryId: '', merchantId: '', envelopeDigest: b, storedUnixMs: 0n }),
        new Metadata(),
        { deadline: new Date(Date.now() + 30_000) },
        (err, res) => resolve(outcome(err, res)),
      );
      call.on('error', () => undefined);
      for (const m of messages) call.write(Buffer.from(m));
      call.end();
    });
  }
}

/** Splits bytes into data chunks of at most `size`. */
export function chunks(bytes: Uint8Array, size = 256 * 1024): ContributionChunk[] {
  const out: ContributionChunk[] = [];
  for (let off = 0; off < bytes.length; off += size) out.push({ data: Buffer.from(bytes.subarray(off, off + size)) });
  return out;
}

/**
 * Calls Enroll with exactly the given evidence (a token's key evidence, a
 * forged one, or none), proving possession of `key` as a node would.
 */
export async function enrolRaw(
  address: string,
  merchantId: string,
  key: SigningKeyPair,
  evidence: KeyEvidence | undefined,
): Promise<{ ok: boolean; status?: number; code?: string; newlyEnrolled?: boolean }> {
  const client = new MerchantServiceClient(address, credentials.createInsecure());
  try {
    const res = await callUnary(client.enroll.bind(client), {
      merchantId,
      signingPublicKey: Buffer.from(key.publicKey),
      proofOfPossession: Buffer.from(signDigest(enrolmentDigest(merchantId, key.publicKey), key.secretKey)),
      keyEvidence: evidence ? keyEvidenceToWire(evidence) : undefined,
    });
    return { ok: true, newlyEnrolled: res.newlyEnrolled };
  } catch (err) {
    return { ok: false, status: (err as ServiceError).code, code: errorCodeOf(err) };
  } finally {
    client.close();
  }
}

/** Enrols `merchantId` with `key` and a fresh token of the test enrolment authority. */
export async function enrolWithTestToken(address: string, merchantId: string, key: SigningKeyPair): Promise<{ ok: boolean; code?: string }> {
  return enrolRaw(address, merchantId, key, enrolmentEvidence(await testEnrolmentToken(merchantId), merchantId, key.publicKey));
}
