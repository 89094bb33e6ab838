/**
 * The loopback rule: plaintext only on 127.0.0.0/8, ::1 and localhost —
 * for servers binding and for clients connecting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { CoordinatorHttpClient } from '../../cli/http-client.js';
import { MerchantNode } from '../../client-sdk/index.js';
import { startCoordinator } from '../../coordinator/index.js';
import { KeyHolderClient } from '../../coordinator/keyholder-client.js';
import { startKeyHolder } from '../../keyholder/index.js';
import { assertPlaintextAllowed, grpcClientCredentials, grpcServerCredentials, hostOfAddress, isLoopbackHost } from '../../protos/index.js';
import { PlaintextRefusedError } from '../../protos/tls.js';

/** Independent oracle: the WHATWG URL parser's canonical form of an IPv6 address. */
function canonicalV6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname;
}

describe('isLoopbackHost', () => {
  it('accepts exactly 127.0.0.0/8 among IPv4 addresses', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(isLoopbackHost(ip)).toBe(ip.split('.')[0] === '127');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)), ([a, b, c]) => {
        expect(isLoopbackHost(`127.${a}.${b}.${c}`)).toBe(true);
      }),
    );
  });

  it('accepts ::1 (and IPv4-mapped 127/8) in any spelling, bracketed or not, and no other IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.boolean(), (ip, bracketed) => {
        const canonical = canonicalV6(ip);
        const loopback = canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
        expect(isLoopbackHost(bracketed ? `[${ip}]` : ip)).toBe(loopback);
      }),
      { numRuns: 2000 },
    );
    for (const ip of ['::1', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001', '[::1]', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      expect(isLoopbackHost(ip), ip).toBe(true);
    }
  });

  it('refuses wildcards, other names and non-canonical spellings', () => {
    for (const h of ['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0', '', ' ', '127.1', '0x7f.0.0.1', '127.0.0.1.example.com', 'localhost.example.com',
      'my-localhost', '10.0.0.1', '192.168.1.1', '::2', 'fe80::1', '::ffff:10.0.0.1', 'example.com']) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
    fc.assert(
      fc.property(fc.domain(), (d) => {
        expect(isLoopbackHost(d)).toBe(d.toLowerCase() === 'localhost');
      }),
    );
    for (const h of ['localhost', 'LOCALHOST', 'LocalHost', 'localhost.']) expect(isLoopbackHost(h), h).toBe(true);
  });

  it('finds the host of gRPC targets and listen addresses', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.domain()), fc.nat(65535), (host, port) => {
        expect(hostOfAddress(`${host}:${port}`)).toBe(host);
        expect(hostOfAddress(`dns:///${host}:${port}`)).toBe(host);
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), fc.nat(65535), (ip, port) => {
        expect(hostOfAddress(`[${ip}]:${port}`)).toBe(`[${ip}]`);
        expect(isLoopbackHost(hostOfAddress(`[${ip}]:${port}`))).toBe(isLoopbackHost(ip));
      }),
    );
    expect(hostOfAddress('ipv4:10.0.0.1:80')).toBe('10.0.0.1');
    expect(hostOfAddress('unix:/run/fedmart.sock')).toBe('unix:');
  });
});

/** Identity keys the refused starts never get to use. */
const UNUSED_KEY = '11'.repeat(32);

describe('plaintext only on loopback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-loopback-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the credential helpers refuse plaintext off loopback and allow it on loopback', () => {
    for (const a of ['0.0.0.0:7001', '[::]:7001', '10.0.0.1:7001', 'coordinator.example.com:7001', 'dns:///example.com:443']) {
      expect(() => grpcServerCredentials(a, undefined), a).toThrow(PlaintextRefusedError);
      expect(() => grpcClientCredentials(a, undefined), a).toThrow(/refusing plaintext gRPC on .*: not a loopback address/);
    }
    for (const a of ['127.0.0.1:0', '[::1]:7001', 'localhost:7001', '127.8.9.10:1']) {
      expect(() => grpcServerCredentials(a, undefined), a).not.toThrow();
      expect(() => assertPlaintextAllowed(a, 'gRPC', '')).not.toThrow();
    }
  });

  it('a key holder refuses to bind plaintext gRPC on 0.0.0.0', async () => {
    const err = await startKeyHolder({
      dataDir: join(dir, 'kh'), listen: '0.0.0.0:0', logger: pino({ level: 'silent' }),
      enrolmentAuthorityPublicKeyHex: UNUSED_KEY, coordinatorRequestKeyHex: UNUSED_KEY,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlaintextRefusedError);
    expect((err as PlaintextRefusedError).code).toBe('PLAINTEXT_NOT_LOOPBACK');
    expect((err as Error).message).toMatch(/0\.0\.0\.0:0: not a loopback address.*--tls-cert/);
  });

  it('a coordinator refuses plaintext gRPC or HTTP on 0.0.0.0 and a plaintext key holder off loopback', async () => {
    const base = {
      database: 'memory://', keyholderAddress: '127.0.0.1:1', apiToken: 'x'.repeat(20), auditKeyFile: join(dir, 'audit.seed'),
      enrolmentAuthorityPublicKeyHex: UNUSED_KEY, requestSigningSeedFile: join(dir, 'request.seed'),
      logger: pino({ level: 'silent' }),
    };
    await expect(startCoordinator({ ...base, grpcListen: '0.0.0.0:0' })).rejects.toThrow(/refusing plaintext gRPC \(merchants\) on 0\.0\.0\.0:0/);
    await expect(startCoordinator({ ...base, httpListen: '0.0.0.0:0' })).rejects.toThrow(/refusing plaintext HTTP on 0\.0\.0\.0:0/);
    await expect(startCoordinator({ ...base, keyholderAddress: '192.0.2.7:7002' })).rejects.toThrow(/refusing plaintext gRPC to the key holder on 192\.0\.2\.7:7002/);
  });

  it('clients refuse a plaintext connection to a non-loopback address', async () => {
    expect(() => new KeyHolderClient('192.0.2.7:7002')).toThrow(PlaintextRefusedError);
    expect(() => new CoordinatorHttpClient('http://192.0.2.7:7080', 't')).toThrow(/refusing plaintext HTTP on 192\.0\.2\.7/);
    expect(() => new CoordinatorHttpClient('http://0.0.0.0:7080', 't')).toThrow(PlaintextRefusedError);
    expect(() => new CoordinatorHttpClient('http://127.0.0.1:7080', 't')).not.toThrow();
    expect(() => new CoordinatorHttpClient('http://[::1]:7080', 't')).not.toThrow();
    expect(() => new CoordinatorHttpClient('https://192.0.2.7:7080', 't')).not.toThrow();
    const err = await MerchantNode.create({
      merchantId: 'shop-x', coordinatorAddress: 'coordinator.example.com:7001', data: {} as never, compliance: {} as never,
      stateDir: join(dir, 'merchant'), logger: pino({ level: 'silent' }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlaintextRefusedError);
    expect((err as Error).message).toMatch(/refusing plaintext gRPC to the coordinator on coordinator\.example\.com:7001.*--coordinator-ca/);
  });
});
