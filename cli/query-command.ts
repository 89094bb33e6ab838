import { formatSegmentTable, type SegmentStatsTable } from '../analytics/index.js';
import { integer, parse, requireString, UsageError } from './args.js';
import { CoordinatorHttpClient, waitForFit, waitForQuery, type QueryView } from './http-client.js';

export const QUERY_HELP = `fedmart query — ask the coordinator for aggregate statistics

Usage:
  fedmart query segment [--target N] [--min-merchants M] [--deadline SECONDS] [--no-wait] [--json]
  fedmart query run --kind KIND --spec JSON [--target N] [--min-merchants M] [--deadline SECONDS] [--no-wait]
  fedmart query fit --kind MODEL --spec JSON [--target N] [--min-merchants M] [--deadline SECONDS] [--no-wait]
  fedmart query get QUERY_ID [--json]
  fedmart query list [--json]

Common options:
  --http URL    coordinator HTTP API (default http://127.0.0.1:7080 or FEDMART_HTTP)
  --token T     API token (default FEDMART_API_TOKEN)
  --json        print JSON instead of a table

"segment" asks, per customer lifecycle stage, for customers, repurchase rate,
mean and variance of order value and mean days between orders, waits for the
release (progress on stderr) and prints the table. "run" publishes any query
kind (rfm, cohort-retention, histogram, funnel, ab-lift, linear-regression,
pca, ...) with a JSON spec and prints the released result as JSON; "fit" starts
an iterative model (logistic-regression, kmeans) and waits for the model.`;

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
    kind: { type: 'string' },
    spec: { type: 'string' },
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
    case 'run':
    case 'fit': {
      let spec: unknown;
      try {
        spec = JSON.parse(requireString(values, 'spec'));
      } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new UsageError('--spec must be a JSON object');
      }
      if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new UsageError('--spec must be a JSON object');
      const body: Record<string, unknown> = { kind: requireString(values, 'kind'), spec };
      if (values.target !== undefined) body.targetMerchants = integer(values, 'target', 5, 1, 10_000);
      if (values['min-merchants'] !== undefined) body.minMerchants = integer(values, 'min-merchants', 3, 2, 10_000);
      if (values.deadline !== undefined) body[sub === 'fit' ? 'roundDeadlineSeconds' : 'deadlineSeconds'] = integer(values, 'deadline', 600, 1, 24 * 3600);
      if (sub === 'fit') {
        const created = await client.request<{ fitId: string }>('POST', '/v1/fits', body);
        if (values['no-wait']) {
          console.log(JSON.stringify(created, null, 2));
          return 0;
        }
        const fit = await waitForFit(client, created.fitId, (round, status) => process.stderr.write(`\rround ${round}: ${status}      `));
        process.stderr.write('\n');
        console.log(JSON.stringify(fit, null, 2));
        return fit.status === 'done' ? 0 : 1;
      }
      const created = await client.request<QueryView>('POST', '/v1/queries', body);
      if (values['no-wait']) {
        console.log(JSON.stringify(created, null, 2));
        return 0;
      }
      const done = await waitForQuery(client, created.queryId, { timeoutMs: 24 * 3600_000, onProgress: progressLine });
      process.stderr.write('\n');
      console.log(JSON.stringify(done, null, 2));
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
      throw new UsageError(`unknown query subcommand "${sub}" (segment, run, fit, get, list)`);
  }
}
