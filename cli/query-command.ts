import { formatSegmentTable, type SegmentStatsTable } from '../analytics/index.js';
import { integer, parse, requireString, UsageError } from './args.js';
import { CoordinatorHttpClient, waitForQuery, type QueryView } from './http-client.js';

export const QUERY_HELP = `fedmart query — ask the coordinator for aggregate statistics

Usage:
  fedmart query segment [--target N] [--min-merchants M] [--deadline SECONDS] [--no-wait] [--json]
  fedmart query get QUERY_ID [--json]
  fedmart query list [--json]

Common options:
  --http URL    coordinator HTTP API (default http://127.0.0.1:7080 or FEDMART_HTTP)
  --token T     API token (default FEDMART_API_TOKEN)
  --json        print JSON instead of a table

"segment" asks, per customer lifecycle stage, for customers, repurchase rate,
mean and variance of order value and mean days between orders, waits for the
release (progress on stderr) and prints the table.`;

function progressLine(q: QueryView): void {
  const width = 20;
  const filled = Math.min(width, Math.round((q.contributions / Math.max(1, q.targetMerchants)) * width));
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${q.contributions}/${q.targetMerchants} merchants, ${q.status}   `);
}

export async function queryCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    http: { type: 'string' },
    token: { type: 'string' },
    target: { type: 'string' },
    'min-merchants': { type: 'string' },
    deadline: { type: 'string' },
    'no-wait': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const sub = positionals[0];
  if (values.help || sub === undefined) {
    console.log(QUERY_HELP);
    return values.help ? 0 : 2;
  }
  const client = new CoordinatorHttpClient(
    requireString(values, 'http', process.env.FEDMART_HTTP ?? 'http://127.0.0.1:7080'),
    requireString(values, 'token', process.env.FEDMART_API_TOKEN),
  );
  const print = (q: QueryView) => {
    if (values.json) console.log(JSON.stringify(q, null, 2));
    else if (q.status === 'released' && q.kind === 'segment-stats') console.log(formatSegmentTable(q.result as SegmentStatsTable));
    else console.log(`${q.queryId} ${q.kind} ${q.status}${q.statusReason ? ` (${q.statusReason})` : ''} ${q.contributions}/${q.targetMerchants} merchants`);
  };
  switch (sub) {
    case 'segment': {
      const body: Record<string, unknown> = { kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' } };
      if (values.target !== undefined) body.targetMerchants = integer(values, 'target', 5, 1, 10_000);
      if (values['min-merchants'] !== undefined) body.minMerchants = integer(values, 'min-merchants', 3, 2, 10_000);
      if (values.deadline !== undefined) body.deadlineSeconds = integer(values, 'deadline', 600, 1, 30 * 24 * 3600);
      const created = await client.request<QueryView>('POST', '/v1/queries', body);
      if (values['no-wait']) {
        print(created);
        return 0;
      }
      const done = await waitForQuery(client, created.queryId, { timeoutMs: 24 * 3600_000, onProgress: values.json ? undefined : progressLine });
      if (!values.json) process.stderr.write('\n');
      print(done);
      return done.status === 'released' ? 0 : 1;
    }
    case 'get': {
      const id = positionals[1];
      if (!id) throw new UsageError('query get needs a QUERY_ID');
      print(await client.request<QueryView>('GET', `/v1/queries/${encodeURIComponent(id)}`));
      return 0;
    }
    case 'list': {
      const { queries } = await client.request<{ queries: QueryView[] }>('GET', '/v1/queries');
      if (values.json) console.log(JSON.stringify(queries, null, 2));
      else for (const q of queries) print(q);
      return 0;
    }
    default:
      throw new UsageError(`unknown query subcommand "${sub}" (segment, get, list)`);
  }
}
