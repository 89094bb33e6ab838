import { join } from 'node:path';
import { cryptoReady, issueEnrolmentToken, parseEnrolmentToken, toHex } from '../crypto/index.js';
import { integer, parse, requireString, UsageError } from './args.js';
import { DEPLOYMENT_FILES, deploymentDirOption } from './deployment.js';
import { readSeedFile } from './identity-options.js';
import { DAY_MS } from '../analytics/index.js';

export const ENROL_TOKEN_HELP = `fedmart enrol-token — issue a one-time enrolment token for one merchant (administrator, offline)

Usage: fedmart enrol-token --authority FILE --merchant ID [--expires-days N]
       fedmart enrol-token --deployment DIR --merchant ID [--expires-days N]

  --authority FILE    the enrolment authority's 32-byte Ed25519 seed (mode 0600), e.g.
                      DIR/enrolment/authority.seed from fedmart init
  --deployment DIR    take --authority from a folder made by fedmart init
  --merchant ID       the merchant id the token is for (letters, digits, . _ -)
  --expires-days N    days the token may be used to enrol (default 7)

Prints the token on stdout and its id and expiry on stderr. The token holds a
secret: hand it to that merchant only, over a channel you trust; the merchant
starts its node once with --enrol-token TOKEN (or FEDMART_ENROL_TOKEN).

A token enrols one signing key once. The merchant sends the coordinator only
the authority-signed statement and a signature of the token key binding its
own signing key, never the token secret, so neither the coordinator nor anyone
else can bind the token to another key; the key holder verifies that chain for
every contribution it decrypts.`;

export async function enrolTokenCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    authority: { type: 'string' },
    deployment: { type: 'string' },
    merchant: { type: 'string' },
    'expires-days': { type: 'string' },
  });
  if (values.help) {
    console.log(ENROL_TOKEN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const deployment = deploymentDirOption(values);
  const authorityFile = typeof values.authority === 'string'
    ? values.authority
    : deployment !== undefined ? join(deployment, DEPLOYMENT_FILES.enrolmentAuthoritySeed) : requireString(values, 'authority');
  const merchantId = requireString(values, 'merchant');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(merchantId)) throw new UsageError('--merchant must be 1..128 of A-Z a-z 0-9 . _ - and start with a letter or digit');
  const days = integer(values, 'expires-days', 7, 1, 3650);
  await cryptoReady();
  const token = issueEnrolmentToken({ authoritySeed: readSeedFile(authorityFile, 'authority'), merchantId, expiresUnixMs: Date.now() + days * DAY_MS });
  const { statement } = parseEnrolmentToken(token);
  console.log(token);
  console.error(`token ${toHex(statement.tokenId)} for ${merchantId}, usable once until ${new Date(statement.expiresUnixMs).toISOString()}`);
  return 0;
}
