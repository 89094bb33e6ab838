/**
 * Transport security shared by every fedmart endpoint: gRPC server and
 * client credentials from PEM material, and the loopback rule — plaintext
 * (gRPC or HTTP) is allowed only on loopback addresses, for servers binding
 * and for clients connecting alike.
 *
 * Clients given a CA trust only that CA (pinning), never the system store.
 */
import { BlockList, isIP } from 'node:net';
import { type ChannelCredentials, ServerCredentials, credentials } from '@grpc/grpc-js';
import { IpTargetChannelCredentials } from './ip-target-credentials.js';

/** PEM text or bytes. */
export type Pem = string | Uint8Array;

/** A server's certificate chain and key; with `clientCa`, clients must present a certificate it signed. */
export interface ServerTls {
  readonly cert: Pem;
  readonly key: Pem;
  readonly clientCa?: Pem;
}

/** The one CA a client trusts, and optionally its own certificate and key (mutual TLS). */
export interface ClientTls {
  readonly ca: Pem;
  readonly cert?: Pem;
  readonly key?: Pem;
}

/** Plaintext was asked for on an address that is not loopback. */
export class PlaintextRefusedError extends Error {
  readonly code = 'PLAINTEXT_NOT_LOOPBACK';
  constructor(message: string) {
    super(message);
    this.name = 'PlaintextRefusedError';
  }
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * True for 127.0.0.0/8, ::1 (in any spelling, bracketed or not, and
 * IPv4-mapped 127/8) and `localhost`. Wildcards (0.0.0.0, ::) and every other
 * name are not loopback: a name could resolve anywhere.
 */
export function isLoopbackHost(host: string): boolean {
  if (typeof host !== 'string') return false;
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h === 'localhost.') return true;
  const family = isIP(h);
  if (family === 4) return LOOPBACK.check(h, 'ipv4');
  if (family === 6) return LOOPBACK.check(h, 'ipv6');
  return false;
}

/**
 * The host of a gRPC target or listen address: `host:port`, `[v6]:port`,
 * `dns:host:port`, `dns:///host:port`, `ipv4:a.b.c.d:port`, `ipv6:[::1]:port`.
 * Unix socket targets give `unix:` (local by nature).
 */
export function hostOfAddress(address: string): string {
  let a = address.trim();
  if (/^unix(-abstract)?:/i.test(a)) return 'unix:';
  a = a.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/i, '');
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    return end < 0 ? a : a.slice(0, end + 1);
  }
  const colons = a.split(':').length - 1;
  if (colons === 1) return a.slice(0, a.indexOf(':'));
  return a; // no port, or a bare IPv6 address
}

function isLocalAddress(address: string): boolean {
  const host = hostOfAddress(address);
  return host === 'unix:' || isLoopbackHost(host);
}

/** Throws PlaintextRefusedError unless `address` (host:port or a URL host) is loopback. */
export function assertPlaintextAllowed(address: string, what: string, how: string): void {
  if (!isLocalAddress(address)) {
    throw new PlaintextRefusedError(
      `refusing plaintext ${what} on ${address}: not a loopback address (only 127.0.0.0/8, ::1 and localhost may go without TLS); ${how}`,
    );
  }
}

function bytes(pem: Pem): Buffer {
  return typeof pem === 'string' ? Buffer.from(pem, 'utf8') : Buffer.from(pem);
}

/**
 * Credentials for a gRPC server listening on `listen`: TLS when `tls` is
 * given (requiring client certificates signed by `tls.clientCa` when set),
 * otherwise plaintext, which only a loopback address may use.
 */
export function grpcServerCredentials(listen: string, tls: ServerTls | undefined, what = 'gRPC'): ServerCredentials {
  if (!tls) {
    assertPlaintextAllowed(listen, what, 'give --tls-cert and --tls-key (fedmart init makes them)');
    return ServerCredentials.createInsecure();
  }
  return ServerCredentials.createSsl(
    tls.clientCa === undefined ? null : bytes(tls.clientCa),
    [{ private_key: bytes(tls.key), cert_chain: bytes(tls.cert) }],
    tls.clientCa !== undefined,
  );
}

/**
 * Credentials for a gRPC client of `target`: TLS trusting only `tls.ca`
 * (presenting `tls.cert` when given), otherwise plaintext, which only a
 * loopback target may use. An IP-address target gets TLS without SNI
 * (see ip-target-credentials.ts), so that Node writes no DEP0123 line.
 */
export function grpcClientCredentials(target: string, tls: ClientTls | undefined, what = 'gRPC', how = 'give the CA to trust'): ChannelCredentials {
  if (!tls) {
    assertPlaintextAllowed(target, what, how);
    return credentials.createInsecure();
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new TypeError('a client certificate needs its key and the other way round');
  const material = { ca: bytes(tls.ca), key: tls.key === undefined ? null : bytes(tls.key), cert: tls.cert === undefined ? null : bytes(tls.cert) };
  // A target given by IP address is reached without SNI (RFC 6066 allows host names only).
  const host = hostOfAddress(target).replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) return new IpTargetChannelCredentials(host, material);
  return credentials.createSsl(material.ca, material.key, material.cert);
}
