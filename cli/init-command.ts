import { join } from 'node:path';
import { parse, requireString } from './args.js';
import { createDeployment, parseHosts, DEPLOYMENT_FILES } from './deployment.js';

export const INIT_HELP = `fedmart init — create a deployment folder: CA, TLS certificates and signing keys

Usage: fedmart init --dir DIR [--hosts HOST,...] [--force]

  --dir DIR        folder to create (0700); an existing non-empty folder is refused
  --hosts LIST     names and addresses the coordinator and key holder are reached at, put in
                   their certificates (default 127.0.0.1,::1,localhost)
  --force          replace the keys and certificates of an existing folder

Writes (secret files 0600):
  DIR/ca/ca.key, ca.crt                    the deployment CA (ECDSA P-256, 10 years)
  DIR/coordinator/tls.key, tls.crt         coordinator certificate (server, and client toward the key holder)
  DIR/keyholder/tls.key, tls.crt           key holder certificate
  DIR/coordinator/audit-signing.seed       the coordinator's audit-log signing key (Ed25519 seed)
  DIR/coordinator/request-signing.seed     the key the coordinator signs release requests with
  DIR/enrolment/authority.seed             the enrolment authority (keep it with the administrator)
  DIR/deployment.json                      paths, public keys and the CA's SHA-256 fingerprint

Then give --deployment DIR to fedmart keyholder, coordinator and merchant (merchants need only
DIR/ca/ca.crt, as --coordinator-ca), and FEDMART_CA=DIR/ca/ca.crt to query, users and audit.`;

export async function initCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    dir: { type: 'string' },
    hosts: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (values.help) {
    console.log(INIT_HELP);
    return 0;
  }
  const dir = requireString(values, 'dir');
  const hosts = parseHosts(typeof values.hosts === 'string' ? values.hosts : undefined);
  const m = await createDeployment(dir, { hosts, force: values.force === true });
  const p = (f: string) => join(dir, f);
  console.log(`deployment written to ${dir}
  CA                 ${p(DEPLOYMENT_FILES.caCert)}  SHA-256 ${m.ca.sha256}  (until ${m.ca.notAfter.slice(0, 10)})
  certificates for   ${hosts.join(', ')}: ${p(DEPLOYMENT_FILES.coordinatorCert)}, ${p(DEPLOYMENT_FILES.keyholderCert)}
  audit signing key  ${m.coordinator.auditSigningPublicKey}
  request signing    ${m.coordinator.requestSigningPublicKey}
  enrolment auth.    ${m.enrolmentAuthority.publicKey}

Keep ${p(DEPLOYMENT_FILES.caKey)} and ${p(DEPLOYMENT_FILES.enrolmentAuthoritySeed)} off the servers.
Next:
  fedmart keyholder --deployment ${dir} --data ./kh --listen 127.0.0.1:7002
  FEDMART_API_TOKEN=... fedmart coordinator --deployment ${dir} --keyholder 127.0.0.1:7002 --keyholder-key <hex>
  fedmart enrol-token --deployment ${dir} --merchant shop-01        (administrator: one token per shop)
  fedmart merchant --coordinator-ca ${p(DEPLOYMENT_FILES.caCert)} --coordinator 127.0.0.1:7001 --id shop-01 --data ./shops/shop-01 --enrol-token <token>
  FEDMART_CA=${p(DEPLOYMENT_FILES.caCert)} fedmart query segment --http https://127.0.0.1:7080`);
  return 0;
}
