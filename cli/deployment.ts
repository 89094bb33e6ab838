/**
 * A deployment folder, as `fedmart init` writes it and `--deployment DIR`
 * reads it: a CA (ECDSA P-256), TLS certificates it signed for the
 * coordinator and the key holder, and the Ed25519 seeds of the coordinator's
 * audit log, of its release requests and of the enrolment authority.
 *
 *   DIR/deployment.json                  paths, public keys, CA fingerprint
 *   DIR/ca/ca.key (0600), ca.crt
 *   DIR/coordinator/tls.key (0600), tls.crt, audit-signing.seed (0600), request-signing.seed (0600)
 *   DIR/keyholder/tls.key (0600), tls.crt
 *   DIR/enrolment/authority.seed (0600)  stays with the administrator
 *
 * Certificates are made in pure JS (@peculiar/x509 over node's WebCrypto).
 */
import 'reflect-metadata';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { cryptoReady, loadOrCreateSeedFile, randomBytes, signingKeyPairFromSeed, toHex } from '../crypto/index.js';
import { UsageError } from './args.js';
import { DAY_MS } from '../analytics/index.js';

/** Files of a deployment folder, relative to it. */
export const DEPLOYMENT_FILES = {
  manifest: 'deployment.json',
  caKey: 'ca/ca.key',
  caCert: 'ca/ca.crt',
  coordinatorKey: 'coordinator/tls.key',
  coordinatorCert: 'coordinator/tls.crt',
  auditSigningSeed: 'coordinator/audit-signing.seed',
  requestSigningSeed: 'coordinator/request-signing.seed',
  keyholderKey: 'keyholder/tls.key',
  keyholderCert: 'keyholder/tls.crt',
  enrolmentAuthoritySeed: 'enrolment/authority.seed',
} as const;

const FOLDERS = ['ca', 'coordinator', 'keyholder', 'enrolment'] as const;

export const DEFAULT_HOSTS = ['127.0.0.1', '::1', 'localhost'] as const;

const CA_DAYS = 3650;
const SERVER_DAYS = 825;

export interface DeploymentManifest {
  readonly version: 1;
  readonly createdAt: string;
  readonly hosts: readonly string[];
  readonly ca: { readonly certificate: string; readonly key: string; readonly sha256: string; readonly notAfter: string };
  readonly coordinator: {
    readonly certificate: string;
    readonly key: string;
    readonly auditSigningSeed: string;
    readonly auditSigningPublicKey: string;
    readonly requestSigningSeed: string;
    readonly requestSigningPublicKey: string;
  };
  readonly keyholder: { readonly certificate: string; readonly key: string };
  readonly enrolmentAuthority: { readonly seed: string; readonly publicKey: string };
}

/** Parses `--hosts`: IP addresses and DNS names, comma-separated. */
export function parseHosts(text: string | undefined): string[] {
  if (text === undefined) return [...DEFAULT_HOSTS];
  const hosts = [...new Set(text.split(',').map((h) => h.trim()).filter((h) => h.length > 0))];
  if (hosts.length === 0) throw new UsageError('--hosts needs at least one host name or address');
  for (const h of hosts) {
    const dns = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
    if (isIP(h) === 0 && !dns.test(h)) throw new UsageError(`--hosts: "${h}" is neither an IP address nor a DNS name`);
  }
  return hosts;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function provider(): void {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
}

function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  b[0] = b[0] | 0x01; // and no leading zero byte
  return toHex(b);
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

type KeyPair = webcrypto.CryptoKeyPair;

async function newKeys(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

async function makeCa(now: Date): Promise<{ cert: x509.X509Certificate; keys: KeyPair }> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=fedmart deployment CA, O=fedmart',
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function makeServerCert(
  commonName: string,
  hosts: readonly string[],
  ca: { cert: x509.X509Certificate; keys: KeyPair },
  now: Date,
): Promise<{ cert: x509.X509Certificate; keys: KeyPair }> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${commonName}, O=fedmart`,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + SERVER_DAYS * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) === 0 ? 'dns' : 'ip', value: h }) as const), false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert, keys };
}

function writeSecret(path: string, content: string | Uint8Array): void {
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

function writePublic(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o644, flag: 'wx' });
}

/**
 * Writes a new deployment folder. Refuses a folder that exists and is not
 * empty unless `force`, in which case the files it writes are replaced
 * (new keys: what was signed or encrypted to the old ones no longer verifies).
 */
export async function createDeployment(dir: string, options: { hosts?: readonly string[]; force?: boolean; now?: Date } = {}): Promise<DeploymentManifest> {
  const hosts = options.hosts ?? [...DEFAULT_HOSTS];
  if (existsSync(dir) && readdirSync(dir).length > 0 && !options.force) {
    throw new UsageError(`${dir} already exists and is not empty; use --force to replace its keys and certificates`);
  }
  await cryptoReady();
  const now = options.now ?? new Date();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const folder of FOLDERS) {
    mkdirSync(join(dir, folder), { recursive: true, mode: 0o700 });
    chmodSync(join(dir, folder), 0o700);
  }
  for (const f of Object.values(DEPLOYMENT_FILES)) rmSync(join(dir, f), { force: true });

  provider();
  const ca = await makeCa(now);
  const coordinator = await makeServerCert('fedmart coordinator', hosts, ca, now);
  const keyholder = await makeServerCert('fedmart key holder', hosts, ca, now);
  writeSecret(join(dir, DEPLOYMENT_FILES.caKey), await pkcs8Pem(ca.keys.privateKey));
  writePublic(join(dir, DEPLOYMENT_FILES.caCert), ca.cert.toString('pem') + '\n');
  writeSecret(join(dir, DEPLOYMENT_FILES.coordinatorKey), await pkcs8Pem(coordinator.keys.privateKey));
  writePublic(join(dir, DEPLOYMENT_FILES.coordinatorCert), coordinator.cert.toString('pem') + '\n');
  writeSecret(join(dir, DEPLOYMENT_FILES.keyholderKey), await pkcs8Pem(keyholder.keys.privateKey));
  writePublic(join(dir, DEPLOYMENT_FILES.keyholderCert), keyholder.cert.toString('pem') + '\n');

  const seedPublicKey = (file: string) => toHex(signingKeyPairFromSeed(loadOrCreateSeedFile(join(dir, file))).publicKey);
  const caX509 = new X509Certificate(ca.cert.toString('pem'));
  const manifest: DeploymentManifest = {
    version: 1,
    createdAt: now.toISOString(),
    hosts,
    ca: {
      certificate: DEPLOYMENT_FILES.caCert,
      key: DEPLOYMENT_FILES.caKey,
      sha256: caX509.fingerprint256.replaceAll(':', '').toLowerCase(),
      notAfter: new Date(caX509.validTo).toISOString(),
    },
    coordinator: {
      certificate: DEPLOYMENT_FILES.coordinatorCert,
      key: DEPLOYMENT_FILES.coordinatorKey,
      auditSigningSeed: DEPLOYMENT_FILES.auditSigningSeed,
      auditSigningPublicKey: seedPublicKey(DEPLOYMENT_FILES.auditSigningSeed),
      requestSigningSeed: DEPLOYMENT_FILES.requestSigningSeed,
      requestSigningPublicKey: seedPublicKey(DEPLOYMENT_FILES.requestSigningSeed),
    },
    keyholder: { certificate: DEPLOYMENT_FILES.keyholderCert, key: DEPLOYMENT_FILES.keyholderKey },
    enrolmentAuthority: {
      seed: DEPLOYMENT_FILES.enrolmentAuthoritySeed,
      publicKey: seedPublicKey(DEPLOYMENT_FILES.enrolmentAuthoritySeed),
    },
  };
  writePublic(join(dir, DEPLOYMENT_FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** Reads DIR/deployment.json. */
export function readDeployment(dir: string): DeploymentManifest {
  const file = join(dir, DEPLOYMENT_FILES.manifest);
  if (!existsSync(file)) throw new UsageError(`${file} not found; run fedmart init --dir ${dir} first`);
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as DeploymentManifest;
  if (manifest.version !== 1) throw new UsageError(`${file}: unsupported version ${String(manifest.version)}`);
  return manifest;
}

/**
 * A PEM file named by `--flag`, or else by the deployment folder; undefined
 * when neither gives one.
 */
export function pemOption(
  values: Record<string, string | boolean | undefined>,
  flag: string,
  deploymentDir: string | undefined,
  deploymentFile: string,
): string | undefined {
  const v = values[flag];
  const path = typeof v === 'string' ? v : deploymentDir === undefined ? undefined : join(deploymentDir, deploymentFile);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${typeof v === 'string' ? `--${flag} ` : ''}${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** `--deployment DIR` if given (checked to hold a deployment.json). */
export function deploymentDirOption(values: Record<string, string | boolean | undefined>): string | undefined {
  const dir = values.deployment;
  if (typeof dir !== 'string') return undefined;
  readDeployment(dir);
  return dir;
}

/** A server's certificate and key from `--tls-cert`/`--tls-key` or the deployment; both or neither. */
export function serverTlsOption(
  values: Record<string, string | boolean | undefined>,
  deploymentDir: string | undefined,
  role: 'coordinator' | 'keyholder',
): { cert: string; key: string } | undefined {
  const files = role === 'coordinator'
    ? { cert: DEPLOYMENT_FILES.coordinatorCert, key: DEPLOYMENT_FILES.coordinatorKey }
    : { cert: DEPLOYMENT_FILES.keyholderCert, key: DEPLOYMENT_FILES.keyholderKey };
  if ((typeof values['tls-cert'] === 'string') !== (typeof values['tls-key'] === 'string')) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  const cert = pemOption(values, 'tls-cert', deploymentDir, files.cert);
  const key = pemOption(values, 'tls-key', deploymentDir, files.key);
  return cert !== undefined && key !== undefined ? { cert, key } : undefined;
}
