/**
 * gRPC over TLS to a target given by IP address: the connection carries no
 * SNI, so Node writes no DEP0123 deprecation line (the services' stderr
 * stays JSON), and the server's certificate is still checked against the
 * address: a certificate without that IP, or from another CA, is refused;
 * mutual TLS still presents the client certificate.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, makeGenericClientConstructor, status, type ServiceError, type ServiceDefinition } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, DEPLOYMENT_FILES } from '../../cli/deployment.js';
import { grpcClientCredentials, type ClientTls } from '../../protos/index.js';

const identity = (b: Buffer) => b;
const ECHO: ServiceDefinition = {
  echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};
const EchoClient = makeGenericClientConstructor(ECHO, 'Echo');

interface Pki {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

async function pki(dir: string, hosts: string[]): Promise<Pki> {
  await createDeployment(dir, { hosts });
  const f = (name: string) => readFileSync(join(dir, name), 'utf8');
  return {
    ca: f(DEPLOYMENT_FILES.caCert),
    serverCert: f(DEPLOYMENT_FILES.keyholderCert),
    serverKey: f(DEPLOYMENT_FILES.keyholderKey),
    clientCert: f(DEPLOYMENT_FILES.coordinatorCert),
    clientKey: f(DEPLOYMENT_FILES.coordinatorKey),
  };
}

/** A mutual-TLS echo server on 127.0.0.1; resolves with its port. */
async function echoServer(p: Pki, servers: Server[]): Promise<number> {
  const server = new Server();
  server.addService(ECHO, { echo: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => cb(null, call.request) });
  servers.push(server);
  const creds = ServerCredentials.createSsl(Buffer.from(p.ca), [{ private_key: Buffer.from(p.serverKey), cert_chain: Buffer.from(p.serverCert) }], true);
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))));
}

function echo(target: string, tls: ClientTls): Promise<Buffer> {
  const client = new EchoClient(target, grpcClientCredentials(target, tls));
  const deadline = new Date(Date.now() + 10_000);
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest('/test.Echo/Echo', identity, identity, Buffer.from('ping'), { deadline }, (err: ServiceError | null, res?: Buffer) =>
      err ? reject(err) : resolve(res!));
  }).finally(() => client.close());
}

describe('gRPC TLS to an IP address', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-ip-tls-'));
  const servers: Server[] = [];
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void warnings.push(w);
  let good: Pki;
  let namesOnly: Pki;
  let goodPort: number;
  let namesOnlyPort: number;

  beforeAll(async () => {
    process.on('warning', onWarning);
    good = await pki(join(dir, 'good'), ['127.0.0.1', 'localhost']);
    namesOnly = await pki(join(dir, 'names-only'), ['localhost']);
    goodPort = await echoServer(good, servers);
    namesOnlyPort = await echoServer(namesOnly, servers);
  });

  afterAll(() => {
    process.off('warning', onWarning);
    for (const s of servers) s.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with mutual TLS and writes no DEP0123 warning', async () => {
    const reply = await echo(`127.0.0.1:${goodPort}`, { ca: good.ca, cert: good.clientCert, key: good.clientKey });
    expect(reply.toString()).toBe('ping');
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(warnings.map((w) => `${(w as { code?: string }).code ?? ''} ${w.message}`)).toEqual([]);
  });

  it('still reaches a host name with SNI', async () => {
    const reply = await echo(`localhost:${goodPort}`, { ca: good.ca, cert: good.clientCert, key: good.clientKey });
    expect(reply.toString()).toBe('ping');
  });

  it('refuses a certificate that does not name the IP address', async () => {
    const err = await echo(`127.0.0.1:${namesOnlyPort}`, { ca: namesOnly.ca, cert: namesOnly.clientCert, key: namesOnly.clientKey }).catch((e: unknown) => e);
    expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const err = await echo(`127.0.0.1:${goodPort}`, { ca: namesOnly.ca, cert: good.clientCert, key: good.clientKey }).catch((e: unknown) => e);
    expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
  });

  it('is refused by the server without a client certificate', async () => {
    const err = await echo(`127.0.0.1:${goodPort}`, { ca: good.ca }).catch((e: unknown) => e);
    expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
  });
});
