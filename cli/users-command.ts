/**
 * `fedmart users`: an administrator creates, lists and revokes API users
 * (marketers with granted purposes, compliance officers, administrators,
 * merchant operators). A new user's token is printed once and never again.
 */
import { parse, requireString, UsageError } from './args.js';
import { HTTP_CLIENT_OPTIONS, httpClientFrom } from './http-client.js';

export const USERS_HELP = `fedmart users — API users and their roles (administrators)

Usage:
  fedmart users list [--json]
  fedmart users create --role marketer --purposes P1,P2 [--id ID] [--label TEXT] [--json]
  fedmart users create --role compliance|admin [--id ID] [--label TEXT] [--json]
  fedmart users create --role merchant --merchant SHOP_ID [--id ID] [--label TEXT] [--json]
  fedmart users revoke ID

  --http URL    coordinator HTTP API (default http://127.0.0.1:7080 or FEDMART_HTTP)
                https:// trusts only the CA in the file FEDMART_CA names, when set; plain
                http:// only to a loopback address
  --ca FILE     the one CA to trust for https:// (default: the file FEDMART_CA names)
  --token T     an administrator's token (default FEDMART_API_TOKEN, the bootstrap administrator)

"create" prints the new user's API token once; only its SHA-256 is stored.`;

interface UserView {
  readonly userId: string;
  readonly role: string;
  readonly purposes: string[];
  readonly merchantId: string | null;
  readonly label: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

function line(u: UserView): string {
  return [u.userId, u.role, u.purposes.join(',') || '-', u.merchantId ?? '-', u.revokedAt ? `revoked ${u.revokedAt}` : 'active', u.label ?? ''].join('\t').trimEnd();
}

export async function usersCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...HTTP_CLIENT_OPTIONS,
    role: { type: 'string' },
    purposes: { type: 'string' },
    merchant: { type: 'string' },
    id: { type: 'string' },
    label: { type: 'string' },
    json: { type: 'boolean' },
  });
  const sub = positionals[0];
  if (values.help || sub === undefined) {
    console.log(USERS_HELP);
    return values.help ? 0 : 2;
  }
  const client = httpClientFrom(values);
  switch (sub) {
    case 'list': {
      const { users } = await client.request<{ users: UserView[] }>('GET', '/v1/users');
      if (values.json) console.log(JSON.stringify(users, null, 2));
      else for (const u of users) console.log(line(u));
      return 0;
    }
    case 'create': {
      const role = requireString(values, 'role');
      if (!['marketer', 'compliance', 'admin', 'merchant'].includes(role)) throw new UsageError('--role must be marketer, compliance, admin or merchant');
      const body: Record<string, unknown> = { role };
      if (typeof values.purposes === 'string') body.purposes = values.purposes.split(',').map((p) => p.trim()).filter(Boolean);
      if (typeof values.merchant === 'string') body.merchantId = values.merchant;
      if (typeof values.id === 'string') body.userId = values.id;
      if (typeof values.label === 'string') body.label = values.label;
      const created = await client.request<{ user: UserView; token: string }>('POST', '/v1/users', body);
      if (values.json) console.log(JSON.stringify(created, null, 2));
      else {
        console.log(line(created.user));
        console.log(`token: ${created.token}`);
        console.error('The token is shown only now; hand it to the user securely.');
      }
      return 0;
    }
    case 'revoke': {
      const id = positionals[1];
      if (!id) throw new UsageError('users revoke needs a user id');
      console.log(line(await client.request<UserView>('POST', `/v1/users/${encodeURIComponent(id)}/revoke`)));
      return 0;
    }
    default:
      throw new UsageError(`unknown users subcommand "${sub}" (list, create, revoke)`);
  }
}
