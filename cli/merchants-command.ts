/**
 * `fedmart merchants`: an administrator lists enrolled merchants and revokes
 * one. A revoked merchant's later contributions are refused
 * (MERCHANT_REVOKED); those already accepted stay valid and auditable.
 */
import { parse, UsageError } from './args.js';
import { HTTP_CLIENT_OPTIONS, httpClientFrom } from './http-client.js';

export const MERCHANTS_HELP = `fedmart merchants — enrolled merchants (administrators)

Usage:
  fedmart merchants list [--json]
  fedmart merchants revoke ID [--reason CODE]

  --http URL     coordinator HTTP API (default http://127.0.0.1:7080 or FEDMART_HTTP)
  --ca FILE      the one CA to trust for https:// (default: the file FEDMART_CA names)
  --token T      an administrator's token (default FEDMART_API_TOKEN)
  --reason CODE  why, as a code for the audit log, e.g. CONTRACT_ENDED (default REVOKED_BY_ADMINISTRATOR)

"revoke" refuses the merchant's later contributions and enrolments; contributions
already accepted stay in their releases. It is recorded as merchant.revoked.
To let the shop take part again, issue it a token for a new merchant id.`;

interface MerchantView {
  readonly merchantId: string;
  readonly enrolledAt: string;
  readonly keyDigest: string;
  readonly contributions: number;
  readonly keySequence: number;
  readonly tokenEnrolled: boolean;
  readonly revokedAt: string | null;
}

function line(m: MerchantView): string {
  return [m.merchantId, m.revokedAt ? `revoked ${m.revokedAt}` : 'active', `key ${m.keySequence} ${m.keyDigest.slice(0, 16)}`,
    m.tokenEnrolled ? 'token' : 'no-token', `${m.contributions} contributions`].join('\t');
}

export async function merchantsCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...HTTP_CLIENT_OPTIONS,
    reason: { type: 'string' },
    json: { type: 'boolean' },
  });
  const sub = positionals[0];
  if (values.help || sub === undefined) {
    console.log(MERCHANTS_HELP);
    return values.help ? 0 : 2;
  }
  const client = httpClientFrom(values);
  switch (sub) {
    case 'list': {
      const { merchants } = await client.request<{ merchants: MerchantView[] }>('GET', '/v1/merchants');
      if (values.json) console.log(JSON.stringify(merchants, null, 2));
      else for (const m of merchants) console.log(line(m));
      return 0;
    }
    case 'revoke': {
      const id = positionals[1];
      if (!id) throw new UsageError('merchants revoke needs a merchant id');
      const reason = typeof values.reason === 'string' ? values.reason : undefined;
      if (reason !== undefined && !/^[A-Z][A-Z0-9_]{0,63}$/.test(reason)) throw new UsageError('--reason must be a code like CONTRACT_ENDED');
      console.log(line(await client.request<MerchantView>('POST', `/v1/merchants/${encodeURIComponent(id)}/revoke`, reason === undefined ? {} : { reason })));
      return 0;
    }
    default:
      throw new UsageError(`unknown merchants subcommand "${sub}" (list, revoke)`);
  }
}
