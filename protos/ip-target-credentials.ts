/**
 * gRPC client TLS for a target given by IP address, without SNI.
 *
 * grpc-js always passes the target's host to `tls.connect` as `servername`.
 * For an IP address that is not allowed by RFC 6066, and Node answers it
 * with a plain-text DEP0123 deprecation line on stderr, which breaks the
 * services' rule that stderr holds nothing but JSON log lines. These
 * credentials open the same TLS connection as `credentials.createSsl`
 * (same CA, client certificate, ALPN `h2`) but leave `servername` unset;
 * Node then checks the server's certificate against `host`, the IP
 * address, so the identity check (an IP SAN must match) is unchanged.
 *
 * @module
 */
import { createSecureContext, connect, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import { CallCredentials, ChannelCredentials, type experimental } from '@grpc/grpc-js';

/** CA, and optionally client key and certificate, as `credentials.createSsl` takes them. */
export interface IpTargetTls {
  readonly ca: Buffer;
  readonly key: Buffer | null;
  readonly cert: Buffer | null;
}

/** TLS channel credentials for a target whose host is the IP address `ip` (brackets removed). */
export class IpTargetChannelCredentials extends ChannelCredentials {
  private readonly secureContext: SecureContext;

  constructor(
    private readonly ip: string,
    tls: IpTargetTls,
  ) {
    super();
    this.secureContext = createSecureContext({ ca: tls.ca, ...(tls.key ? { key: tls.key } : {}), ...(tls.cert ? { cert: tls.cert } : {}) });
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(_target: unknown, _options: unknown, callCredentials?: CallCredentials): experimental.SecureConnector {
    const { ip, secureContext } = this;
    const calls = callCredentials ?? CallCredentials.createEmpty();
    return {
      connect: (socket: Socket) =>
        new Promise((resolve, reject) => {
          // No `servername`: Node verifies the certificate against `host`.
          const tlsSocket = connect({ socket, secureContext, host: ip, ALPNProtocols: ['h2'] }, () => {
            if (!tlsSocket.authorized) {
              reject(tlsSocket.authorizationError);
              tlsSocket.destroy();
              return;
            }
            resolve({ socket: tlsSocket, secure: true });
          });
          tlsSocket.on('error', reject);
        }),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => calls,
      destroy: () => undefined,
    };
  }
}
