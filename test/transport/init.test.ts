/**
 * `fedmart init`: every file of a deployment folder, with its mode; the
 * certificates chain to the CA and carry the requested names; the public
 * keys in deployment.json are those of the seeds.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { DEPLOYMENT_FILES, readDeployment, type DeploymentManifest } from '../../cli/deployment.js';
import { cryptoReady, loadOrCreateSeedFile, signingKeyPairFromSeed, toHex } from '../../crypto/index.js';

const SECRET = [
  DEPLOYMENT_FILES.caKey, DEPLOYMENT_FILES.coordinatorKey, DEPLOYMENT_FILES.keyholderKey,
  DEPLOYMENT_FILES.auditSigningSeed, DEPLOYMENT_FILES.requestSigningSeed, DEPLOYMENT_FILES.enrolmentAuthoritySeed,
];
const PUBLIC = [DEPLOYMENT_FILES.caCert, DEPLOYMENT_FILES.coordinatorCert, DEPLOYMENT_FILES.keyholderCert, DEPLOYMENT_FILES.manifest];

async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('fedmart init', () => {
  const root = mkdtempSync(join(tmpdir(), 'fedmart-init-'));
  const dir = join(root, 'deploy');
  let result: { code: number; out: string; err: string };
  let manifest: DeploymentManifest;

  beforeAll(async () => {
    await cryptoReady();
    result = await runCli('init', '--dir', dir);
    manifest = readDeployment(dir);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes every file: secrets 0600, folders 0700, and says what to run next', () => {
    expect(result.code, result.err).toBe(0);
    for (const f of SECRET) expect(mode(join(dir, f)), f).toBe(0o600);
    for (const f of PUBLIC) expect(statSync(join(dir, f)).isFile(), f).toBe(true);
    for (const d of ['', 'ca', 'coordinator', 'keyholder', 'enrolment']) expect(mode(join(dir, d)), d || 'DIR').toBe(0o700);
    for (const f of [DEPLOYMENT_FILES.auditSigningSeed, DEPLOYMENT_FILES.requestSigningSeed, DEPLOYMENT_FILES.enrolmentAuthoritySeed]) {
      expect(readFileSync(join(dir, f)).length, f).toBe(32);
    }
    for (const f of [DEPLOYMENT_FILES.caKey, DEPLOYMENT_FILES.coordinatorKey, DEPLOYMENT_FILES.keyholderKey]) {
      expect(readFileSync(join(dir, f), 'utf8'), f).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    }
    expect(result.out).toContain(manifest.ca.sha256);
    expect(result.out).toMatch(/fedmart keyholder --deployment/);
    expect(result.out).toMatch(/fedmart coordinator --deployment/);
  });

  it('makes a 10-year ECDSA P-256 CA and server certificates it signed, with the default names and both EKUs', () => {
    const ca = new X509Certificate(readFileSync(join(dir, DEPLOYMENT_FILES.caCert)));
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.publicKey.asymmetricKeyType).toBe('ec');
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const years = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
    expect(manifest.ca.sha256).toBe(ca.fingerprint256.replaceAll(':', '').toLowerCase());

    for (const f of [DEPLOYMENT_FILES.coordinatorCert, DEPLOYMENT_FILES.keyholderCert]) {
      const cert = new X509Certificate(readFileSync(join(dir, f)));
      expect(cert.ca, f).toBe(false);
      expect(cert.checkIssued(ca), f).toBe(true);
      expect(cert.verify(ca.publicKey), f).toBe(true);
      expect(cert.subjectAltName, f).toBe('IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost');
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(cert.checkIP('::1')).toBe('::1');
      expect(cert.checkHost('localhost')).toBe('localhost');
      expect(cert.keyUsage?.sort(), f).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(Date.now());
    }
    // The two server keys differ from each other and from the CA's.
    const keys = [DEPLOYMENT_FILES.caKey, DEPLOYMENT_FILES.coordinatorKey, DEPLOYMENT_FILES.keyholderKey].map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(new Set(keys).size).toBe(3);
  });

  it('records the public keys of the three seeds in deployment.json', () => {
    const pub = (f: string) => toHex(signingKeyPairFromSeed(loadOrCreateSeedFile(join(dir, f))).publicKey);
    expect(manifest.coordinator.auditSigningPublicKey).toBe(pub(DEPLOYMENT_FILES.auditSigningSeed));
    expect(manifest.coordinator.requestSigningPublicKey).toBe(pub(DEPLOYMENT_FILES.requestSigningSeed));
    expect(manifest.enrolmentAuthority.publicKey).toBe(pub(DEPLOYMENT_FILES.enrolmentAuthoritySeed));
    expect(new Set([manifest.coordinator.auditSigningPublicKey, manifest.coordinator.requestSigningPublicKey, manifest.enrolmentAuthority.publicKey]).size).toBe(3);
    expect(manifest.coordinator.certificate).toBe(DEPLOYMENT_FILES.coordinatorCert);
    expect(manifest.hosts).toEqual(['127.0.0.1', '::1', 'localhost']);
  });

  it('refuses an existing folder without --force and replaces every key with it', async () => {
    const before = readFileSync(join(dir, DEPLOYMENT_FILES.caCert), 'utf8');
    const refused = await runCli('init', '--dir', dir);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/already exists.*--force/);
    expect(readFileSync(join(dir, DEPLOYMENT_FILES.caCert), 'utf8')).toBe(before);

    const forced = await runCli('init', '--dir', dir, '--force', '--hosts', '10.0.0.5,coordinator.example.com');
    expect(forced.code, forced.err).toBe(0);
    const after = readDeployment(dir);
    expect(after.ca.sha256).not.toBe(manifest.ca.sha256);
    expect(after.coordinator.auditSigningPublicKey).not.toBe(manifest.coordinator.auditSigningPublicKey);
    expect(after.hosts).toEqual(['10.0.0.5', 'coordinator.example.com']);
    const cert = new X509Certificate(readFileSync(join(dir, DEPLOYMENT_FILES.coordinatorCert)));
    expect(cert.subjectAltName).toBe('IP Address:10.0.0.5, DNS:coordinator.example.com');
    expect(cert.verify(new X509Certificate(readFileSync(join(dir, DEPLOYMENT_FILES.caCert))).publicKey)).toBe(true);
    for (const f of SECRET) expect(mode(join(dir, f)), f).toBe(0o600);
  });

  it('answers --help and bad input', async () => {
    const help = await runCli('init', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: fedmart init --dir DIR/);
    expect((await runCli('init')).err).toMatch(/--dir is required/);
    const bad = await runCli('init', '--dir', join(root, 'other'), '--hosts', 'not a host!');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/neither an IP address nor a DNS name/);
    expect((await runCli('--help')).out).toMatch(/\n {2}init {9}create a deployment folder/);
  });
});
