/**
 * The coordinator's client for the key holder: fetches the round public key
 * and streams release requests.
 */
import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import type { HeContext } from '../crypto/index.js';
import {
  KeyHolderServiceClient,
  callUnary,
  checkPublicKeyBundle,
  grpcClientCredentials,
  type ClientTls,
  type PublicKeyBundle,
  type ReleasePart,
  type SignedRelease,
} from '../protos/index.js';
import { expectServing } from '../protos/grpc-health.js';
import { injectTraceContext } from '../protos/tracing.js';

export class KeyHolderClient {
  private readonly client: KeyHolderServiceClient;
  private readonly credentials: ChannelCredentials;

  /**
   * With `tls`, the key holder must present a certificate signed by `tls.ca`,
   * and this coordinator presents `tls.cert` (mutual TLS). Without it, only a
   * loopback address may be used.
   */
  constructor(private readonly address: string, tls?: ClientTls) {
    const creds = grpcClientCredentials(address, tls, 'gRPC to the key holder', 'give --keyholder-ca (and --tls-cert, --tls-key)');
    this.credentials = creds;
    this.client = new KeyHolderServiceClient(address, creds, {
      'grpc.max_send_message_length': 16 * 1024 * 1024,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
  }

  close(): void {
    this.client.close();
  }

  /**
   * Resolves when the key holder answers its gRPC health check with
   * SERVING within `deadlineMs`: the cheapest call it has, with no key
   * material. Sent on a connection of its own (same address, same TLS),
   * opened and closed per check and kept out of grpc-js's shared
   * subchannel pool: a check that fails while the key holder is down must
   * not leave the connection releases use in reconnect backoff.
   */
  ping(deadlineMs: number): Promise<void> {
    return expectServing({ address: this.address, credentials: this.credentials, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } }, '', deadlineMs);
  }

  /**
   * Fetches the key holder's public key bundle and checks it: signature by
   * the key holder (pinned when `pinnedSigningKeyHex` is given), key id, and
   * the key's structure for this parameter set.
   */
  async fetchPublicKey(ctx: HeContext, pinnedSigningKeyHex?: string): Promise<PublicKeyBundle> {
    const bundle = await callUnary(this.client.getPublicKey.bind(this.client), {}, 10_000);
    checkPublicKeyBundle(bundle, ctx, pinnedSigningKeyHex);
    return bundle;
  }

  /**
   * Streams a release request; resolves with the signed release or rejects
   * with the key holder's status. The active span's trace context goes with
   * it (W3C `traceparent` metadata; none without tracing).
   */
  release(parts: Iterable<ReleasePart>, timeoutMs = 120_000): Promise<SignedRelease> {
    return new Promise((resolve, reject) => {
      const call = this.client.release(injectTraceContext(new Metadata()), { deadline: new Date(Date.now() + timeoutMs) }, (err: ServiceError | null, res?: SignedRelease) => {
        if (err) reject(err);
        else if (!res) reject(new Error('empty release response'));
        else resolve(res);
      });
      void (async () => {
        for (const part of parts) {
          if (!call.write(part)) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      })().catch(reject);
    });
  }
}

