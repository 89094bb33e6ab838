import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { explainReason, formatSegmentTable, type SegmentStatsTable } from '../analytics/index.js';
import { kindGuide } from '../analytics/kind-guide.js';
import { integer, parse, parseJson, requireString, UsageError } from './args.js';
import { HTTP_CLIENT_OPTIONS, httpClientFrom, waitForFit, waitForQuery, type FitView, type QueryView, type ReasonTextView } from './http-client.js';
import { exampleCommand, exampleRequest, FORMULA_KINDS, formatKindGuide, formatKindList, formatShopVariables, knownKindsLine, shopModelVariables } from './kind-guide-text.js';

export const QUERY_HELP = `fedmart query — ask the coordinator for aggregate statistics

Usage:
  fedmart query segment [--group-by STAGE|age_band|city_level] [--purpose P] [--exclude-returned]
                        [--target N] [--min-merchants M] [--deadline SECONDS] [--no-wait] [--json]
  fedmart query run --kind KIND --spec JSON [--target N] [--min-merchants M] [--deadline SECONDS] [--no-wait] [--json]
  fedmart query fit --kind MODEL --spec JSON [--target N] [--min-merchants M] [--deadline SECONDS] [--no-wait] [--json]
  fedmart query get ID [--json]          a query (q-…) or a model fit (fit-…)
  fedmart query list [--json]            queries of the purposes you are granted
  fedmart query fits [--json]            model fits of the purposes you are granted
  fedmart query whoami [--json]          the role and purposes of your token
  fedmart query kinds [--json]           query and model kinds the coordinator runs, one line each
  fedmart query kinds KIND [--shop DIR] [--json]
                                         what KIND asks for: its spec members, allowed values,
                                         defaults and an example spec with the command to run it
                                         (offline: no coordinator or token needed)

Common options:
  --http URL    coordinator HTTP API (default http://127.0.0.1:7080 or FEDMART_HTTP)
                https:// trusts only the CA in the file FEDMART_CA names, when set; plain
                http:// only to a loopback address
  --ca FILE     the one CA to trust for https:// (default: the file FEDMART_CA names)
  --token T     API token (default FEDMART_API_TOKEN): a marketer's token limits you to
                the purposes you are granted; FEDMART_API_TOKEN of the coordinator is the
                bootstrap administrator
  --json        print JSON only (no progress), for scripts
  --shop DIR    with "kinds KIND" for a formula kind (linear-model, logistic-model, pca): the
                variables a formula could use in that shop export folder, read from its
                schema.json: declared customer columns with types and levels, built-in
                columns, named features, order aggregates, and each table under extraTables

"segment" asks, per customer lifecycle stage (or age band or city level), for
customers, repurchase rate, mean and variance of order value and mean days
between orders, waits for the release with a progress bar on stderr
(merchants answered of the target, the m and k thresholds) and prints the
table. "run" publishes any query kind (rfm, cohort-retention, histogram,
funnel, ab-lift, linear-regression, linear-model, pca, ...) with a JSON spec
and prints the released result as JSON; "fit" starts an iterative model
(logistic-regression, kmeans, logistic-model) and waits for the model,
showing "round N of at most M" on stderr (M is the spec's maxRounds, else the
kind's default). A --spec that is not valid JSON is refused with the line and
column of the error.
"kinds KIND" says what a kind's spec holds, with an example to paste. Exit 0 when released (or done), 1 when the
query failed or the coordinator refused (the problem code is printed), 2 for
bad command-line input.

Why something is missing (on stderr, unless --json, whose output carries the
same as "withheld" and "statusCode"/"explanation"): after a released result,
one line per withheld cell with its reason code (FEWER_THAN_K_SUBJECTS,
DOMINANCE, SECONDARY) and what it means in English and Chinese; for a failed
query or model fit, its code (DIFFERENCING, BUDGET_EXHAUSTED, TOO_FEW_MERCHANTS,
...) with what it means and what to do, in English and Chinese.`;

function isReasonText(v: unknown): v is ReasonTextView {
  return typeof v === 'object' && v !== null && typeof (v as ReasonTextView).en === 'string' && typeof (v as ReasonTextView).zh === 'string';
}

/** Withheld cells of one code beyond which they are listed on one line (a category-levels query withholds hundreds of buckets). */
const WITHHELD_LINES_PER_CODE = 12;

/**
 * One line per withheld cell of a released result: the cell, its reason code
 * and why, in English and Chinese. Reads `withheld` of a table's result
 * (`{ cell, reasonCode, reason }`) or of a model evaluation (`{ what,
 * reasonCode }`, explained from the catalogue); nothing when there is none.
 * More than {@link WITHHELD_LINES_PER_CODE} cells of one code share one
 * line, naming the first few, so the reasons stay readable.
 */
export function withheldLines(result: unknown): string[] {
  const list = typeof result === 'object' && result !== null ? (result as { withheld?: unknown }).withheld : undefined;
  if (!Array.isArray(list)) return [];
  const byCode = new Map<string, { names: string[]; text: ReasonTextView }>();
  for (const w of list as { cell?: unknown; what?: unknown; reasonCode?: unknown; reason?: unknown }[]) {
    const name = typeof w?.cell === 'string' ? w.cell : typeof w?.what === 'string' ? w.what : undefined;
    const code = typeof w?.reasonCode === 'string' ? w.reasonCode : undefined;
    if (name === undefined || code === undefined) continue;
    const group = byCode.get(code) ?? { names: [], text: isReasonText(w.reason) ? w.reason : explainReason(code) };
    group.names.push(name);
    byCode.set(code, group);
  }
  // In cell order; a code over the limit gets its one line where its first cell is.
  const lines: string[] = [];
  for (const w of list as { cell?: unknown; what?: unknown; reasonCode?: unknown }[]) {
    const name = typeof w?.cell === 'string' ? w.cell : typeof w?.what === 'string' ? w.what : undefined;
    const group = typeof w?.reasonCode === 'string' ? byCode.get(w.reasonCode) : undefined;
    if (name === undefined || group === undefined) continue;
    const { names, text } = group;
    if (names.length <= WITHHELD_LINES_PER_CODE) lines.push(`withheld ${name} [${w.reasonCode as string}]: ${text.en} / ${text.zh}`);
    else if (name === names[0]) lines.push(`withheld ${names.length} cells (${names.slice(0, 3).join(', ')}, …) [${w.reasonCode as string}]: ${text.en} / ${text.zh}`);
  }
  return lines;
}

/**
 * For a failed query or fit: its code, then what it means in English and in
 * Chinese (the coordinator's explanation, or the catalogue's when the
 * coordinator sent none). Nothing unless failed with a code.
 */
export function failureLines(v: { readonly status: string; readonly statusCode?: string | null; readonly explanation?: ReasonTextView | null }): string[] {
  if (v.status !== 'failed' || typeof v.statusCode !== 'string' || v.statusCode === '') return [];
  const text = isReasonText(v.explanation) ? v.explanation : explainReason(v.statusCode);
  return [`failed [${v.statusCode}]`, `  en: ${text.en}`, `  zh: ${text.zh}`];
}

interface QueryProgress extends QueryView {
  readonly minSubjects?: number;
}

/** A progress line on stderr: a bar on a terminal, one line per change otherwise. */
function progressReporter(enabled: boolean): (q: QueryProgress) => void {
  let last = '';
  return (q) => {
    if (!enabled) return;
    const width = 24;
    const filled = Math.min(width, Math.round((q.contributions / Math.max(1, q.targetMerchants)) * width));
    const thresholds = `m≥${q.minMerchants}${q.minSubjects === undefined ? '' : ` k≥${q.minSubjects}`}`;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${q.contributions}/${q.targetMerchants} merchants answered · ${thresholds} · ${q.status}`;
    if (line === last) return;
    last = line;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}   `);
    else process.stderr.write(`${line}\n`);
  };
}

function endProgress(enabled: boolean): void {
  if (enabled && process.stderr.isTTY) process.stderr.write('\n');
}

function body(values: Record<string, string | boolean | undefined>, kind: string, spec: unknown, deadlineKey: 'deadlineSeconds' | 'roundDeadlineSeconds'): Record<string, unknown> {
  const out: Record<string, unknown> = { kind, spec };
  if (values.target !== undefined) out.targetMerchants = integer(values, 'target', 5, 1, 10_000);
  if (values['min-merchants'] !== undefined) out.minMerchants = integer(values, 'min-merchants', 3, 2, 10_000);
  if (values.deadline !== undefined) out[deadlineKey] = integer(values, 'deadline', 600, 1, deadlineKey === 'deadlineSeconds' ? 30 * 24 * 3600 : 24 * 3600);
  return out;
}

/**
 * The most rounds a fit of `kind` may take: the spec's maxRounds, else the
 * kind's default from the kind guide; undefined for a kind without one.
 */
export function fitRoundLimit(kind: string, spec: Readonly<Record<string, unknown>>): number | undefined {
  const given = spec.maxRounds;
  if (typeof given === 'number' && Number.isInteger(given) && given > 0) return given;
  const fallback = kindGuide(kind)?.members.find((m) => m.name === 'maxRounds')?.default;
  const n = fallback === undefined ? NaN : Number(fallback);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** "round 3 of at most 25" (or "round 3" when the limit is not known). */
export function fitRoundText(round: number, limit: number | undefined): string {
  return limit === undefined ? `round ${round}` : `round ${round} of at most ${limit}`;
}

function jsonSpec(values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const spec = parseJson(requireString(values, 'spec'), '--spec');
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new UsageError('--spec must be a JSON object');
  return spec as Record<string, unknown>;
}

export async function queryCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...HTTP_CLIENT_OPTIONS,
    target: { type: 'string' },
    'min-merchants': { type: 'string' },
    deadline: { type: 'string' },
    'no-wait': { type: 'boolean' },
    json: { type: 'boolean' },
    kind: { type: 'string' },
    spec: { type: 'string' },
    'group-by': { type: 'string' },
    purpose: { type: 'string' },
    'exclude-returned': { type: 'boolean' },
    shop: { type: 'string' },
  });
  const sub = positionals[0];
  if (values.help || sub === undefined) {
    console.log(QUERY_HELP);
    return values.help ? 0 : 2;
  }
  const json = values.json === true;
  if (values.shop !== undefined && !(sub === 'kinds' && positionals[1] !== undefined)) throw new UsageError('--shop goes with "kinds KIND"');
  if (sub === 'kinds' && positionals[1] !== undefined) return kindGuideCommand(positionals[1], values, json);
  const client = httpClientFrom(values);
  const printJson = (v: unknown) => console.log(JSON.stringify(v, null, 2));
  /** Why cells are missing or why it failed, on stderr after the output (JSON output carries the same). */
  const explain = (v: { status: string; statusCode?: string | null; explanation?: ReasonTextView | null; result?: unknown; evaluation?: unknown }) => {
    if (json) return;
    const lines = v.status === 'failed' ? failureLines(v) : [...withheldLines(v.result), ...withheldLines(v.evaluation)];
    for (const line of lines) process.stderr.write(`${line}\n`);
  };
  const print = (q: QueryView) => {
    if (json) printJson(q);
    else if (q.status === 'released' && q.kind === 'segment-stats') console.log(formatSegmentTable(q.result as SegmentStatsTable));
    else console.log(`${q.queryId} ${q.kind} ${q.status}${q.statusReason ? ` (${q.statusReason})` : ''} ${q.contributions}/${q.targetMerchants} merchants`);
  };
  const wait = async (created: QueryView): Promise<QueryView> => {
    const done = await waitForQuery(client, created.queryId, { timeoutMs: 24 * 3600_000, onProgress: progressReporter(!json) });
    endProgress(!json);
    return done;
  };
  switch (sub) {
    case 'segment': {
      const groupBy = requireString(values, 'group-by', 'lifecycle_stage');
      if (!['lifecycle_stage', 'age_band', 'city_level'].includes(groupBy)) throw new UsageError('--group-by must be lifecycle_stage, age_band or city_level');
      const spec = { purpose: requireString(values, 'purpose', 'marketing-analytics'), groupBy, ...(values['exclude-returned'] ? { excludeReturned: true } : {}) };
      const created = await client.request<QueryView>('POST', '/v1/queries', body(values, 'segment-stats', spec, 'deadlineSeconds'));
      if (values['no-wait']) {
        print(created);
        return 0;
      }
      const done = await wait(created);
      // Rows grouped by age band or city level are printed as JSON.
      if (!json && done.status === 'released' && (done.result as { groupBy?: string } | null)?.groupBy !== undefined) printJson(done.result);
      else print(done);
      explain(done);
      return done.status === 'released' ? 0 : 1;
    }
    case 'run': {
      const created = await client.request<QueryView>('POST', '/v1/queries', body(values, requireString(values, 'kind'), jsonSpec(values), 'deadlineSeconds'));
      if (values['no-wait']) {
        printJson(created);
        return 0;
      }
      const done = await wait(created);
      printJson(done);
      explain(done);
      return done.status === 'released' ? 0 : 1;
    }
    case 'fit': {
      const kind = requireString(values, 'kind');
      const spec = jsonSpec(values);
      const limit = fitRoundLimit(kind, spec);
      const created = await client.request<{ fitId: string }>('POST', '/v1/fits', body(values, kind, spec, 'roundDeadlineSeconds'));
      if (values['no-wait']) {
        printJson(created);
        return 0;
      }
      const fit = await waitForFit(client, created.fitId, (round, status) => {
        if (json) return;
        const line = `model fit ${created.fitId}: ${fitRoundText(round, limit)} · ${status}`;
        process.stderr.write(process.stderr.isTTY ? `\r${line}      ` : `${line}\n`);
      });
      endProgress(!json);
      printJson(fit);
      explain(fit);
      return fit.status === 'done' ? 0 : 1;
    }
    case 'get': {
      const id = positionals[1];
      if (!id) throw new UsageError('query get needs a query or fit id');
      if (id.startsWith('fit-')) {
        const fit = await client.request<FitView>('GET', `/v1/fits/${encodeURIComponent(id)}`);
        printJson(fit);
        explain(fit);
      } else {
        const q = await client.request<QueryView>('GET', `/v1/queries/${encodeURIComponent(id)}`);
        print(q);
        explain(q);
      }
      return 0;
    }
    case 'list': {
      const { queries } = await client.request<{ queries: QueryView[] }>('GET', '/v1/queries');
      if (json) printJson(queries);
      else for (const q of queries) print(q);
      return 0;
    }
    case 'fits': {
      const { fits } = await client.request<{ fits: { fitId: string; kind: string; purpose: string; status: string; round: number }[] }>('GET', '/v1/fits');
      if (json) printJson(fits);
      else for (const f of fits) console.log(`${f.fitId} ${f.kind} ${f.purpose} ${f.status} round ${f.round}`);
      return 0;
    }
    case 'whoami': {
      const me = await client.request<{ id: string; role: string; purposes: string[]; merchantId: string | null; bootstrap: boolean }>('GET', '/v1/me');
      if (json) printJson(me);
      else console.log(`${me.id} ${me.role}${me.bootstrap ? ' (bootstrap administrator)' : ''}${me.purposes.length > 0 ? ` purposes: ${me.purposes.join(', ')}` : ''}${me.merchantId ? ` shop: ${me.merchantId}` : ''}`);
      return 0;
    }
    case 'kinds': {
      const kinds = await client.request<{ queryKinds: string[]; modelKinds: string[] }>('GET', '/v1/kinds');
      if (json) printJson({ ...kinds, summaries: Object.fromEntries([...kinds.queryKinds, ...kinds.modelKinds].map((k) => [k, kindGuide(k)?.summary ?? null])) });
      else console.log(formatKindList(kinds.queryKinds, kinds.modelKinds));
      return 0;
    }
    default:
      throw new UsageError(`unknown query subcommand "${sub}" (segment, run, fit, get, list, fits, whoami, kinds)`);
  }
}

/**
 * `fedmart query kinds KIND [--shop DIR]`: the kind's guide, read locally
 * (no coordinator); with --shop, the variables a formula model could use in
 * that export. Unknown kind or a folder without schema.json: UsageError.
 */
async function kindGuideCommand(kind: string, values: Record<string, string | boolean | undefined>, json: boolean): Promise<number> {
  const guide = kindGuide(kind);
  if (guide === undefined) throw new UsageError(`unknown kind "${kind}"; known kinds: ${knownKindsLine()}`);
  const shop = values.shop;
  if (shop === undefined) {
    // sample/sampleWith are the guide's own test aids, not part of what a kind asks for.
    const members = guide.members.map(({ sample: _s, sampleWith: _w, ...m }) => m);
    if (json) console.log(JSON.stringify({ ...guide, members, command: exampleCommand(guide), request: exampleRequest(guide) }, null, 2));
    else console.log(formatKindGuide(guide));
    return 0;
  }
  if (typeof shop !== 'string' || shop === '') throw new UsageError('--shop needs a shop export folder');
  if (!FORMULA_KINDS.includes(kind)) throw new UsageError(`--shop lists the variables of formula models (${FORMULA_KINDS.join(', ')}), not of ${kind}`);
  if (!existsSync(join(shop, 'schema.json'))) throw new UsageError(`--shop ${shop} has no schema.json`);
  // Loaded only here: the shop reader pulls in the CSV and database readers.
  const { readShopSchema } = await import('../client-sdk/load-shop-data.js');
  const variables = shopModelVariables(await readShopSchema(shop));
  if (json) console.log(JSON.stringify({ kind, shop, ...variables }, null, 2));
  else console.log(formatShopVariables(kind, shop, variables));
  return 0;
}
