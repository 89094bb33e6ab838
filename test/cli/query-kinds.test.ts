/**
 * `fedmart query kinds KIND`: the guide of one kind printed offline (no
 * coordinator, no token), the variables a formula model could use in a
 * generated shop export (`--shop DIR`), one line and exit code 2 for an
 * unknown kind, and the printed command line and every example accepted by
 * a listening coordinator.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PURPOSE_REGISTRY } from '../../compliance/index.js';
import { kindGuides } from '../../analytics/kind-guide.js';
import { getQueryDefinition } from '../../analytics/registry.js';
import { writeSynth } from '../../synth/index.js';
import { BOOTSTRAP_TOKEN, startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';
import { addDemographics } from '../helpers/demographics.js';
import { BRANDS, storeWeekSchema } from '../helpers/store-week.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));

function fedmart(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, FEDMART_API_TOKEN: '', FEDMART_HTTP: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** The spec of the printed `fedmart query run|fit --kind K --spec '…'` line. */
function printedCommand(stdout: string): { sub: string; kind: string; spec: string } {
  const m = /^ {2}fedmart query (run|fit) --kind (\S+) --spec '([^']*)'$/m.exec(stdout);
  if (m === null) throw new Error(`no command line in:\n${stdout}`);
  return { sub: m[1] as string, kind: m[2] as string, spec: m[3] as string };
}

let shopDir: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-kinds-'));
  const manifest = await writeSynth(dir, { shops: 1, seed: 'kinds-guide', customersPerShop: 40 });
  shopDir = join(dir, manifest.shops[0]!.dir);
  // Customer columns (income, gender, region) and a store-week table beside the standard tables.
  addDemographics(shopDir, false);
  const schema = JSON.parse(readFileSync(join(shopDir, 'schema.json'), 'utf8')) as Record<string, unknown>;
  schema['extraTables'] = (storeWeekSchema() as { extraTables: unknown }).extraTables;
  writeFileSync(join(shopDir, 'schema.json'), JSON.stringify(schema, null, 2));
});

// Each test starts the CLI once or a few times (seconds each when idle, much more on a loaded machine).
describe('fedmart query kinds KIND', { timeout: 300_000 }, () => {
  it('prints the linear-model guide offline: members, formula syntax, aggregates and a command line whose spec parses', async () => {
    const r = await fedmart('query', 'kinds', 'linear-model');
    expect(r.code, r.stderr).toBe(0);
    for (const text of [
      'linear-model (query: fedmart query run)',
      'Spec members:',
      '  formula  string, required',
      '  data  string, required',
      '  asOf  string, required when data is "customers"',
      '  levels  object, optional',
      '  aggregates  object, optional',
      '  bounds.maxAbs  object, optional',
      'relevel(x, ref = "B")',
      '`-1`',
      'extraTables',
      'count(orders)',
      'sum(order.<column>)',
      'days_since(order.ordered_at)',
      'Example spec:',
      'POST /v1/queries {"kind":"linear-model","spec":',
    ]) {
      expect(r.stdout).toContain(text);
    }
    const cmd = printedCommand(r.stdout);
    expect(cmd).toMatchObject({ sub: 'run', kind: 'linear-model' });
    expect(() => getQueryDefinition('linear-model').parseSpec({ ...JSON.parse(cmd.spec), kind: 'linear-model' })).not.toThrow();
  });

  it('prints a model kind with the fit command and the label response explained', async () => {
    const r = await fedmart('query', 'kinds', 'logistic-model');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('units > 120');
    expect(printedCommand(r.stdout)).toMatchObject({ sub: 'fit', kind: 'logistic-model' });
    const json = JSON.parse((await fedmart('query', 'kinds', 'logistic-model', '--json')).stdout) as { kind: string; role: string; members: { name: string; sample?: unknown }[]; command: string };
    expect(json).toMatchObject({ kind: 'logistic-model', role: 'model' });
    expect(json.command).toMatch(/^fedmart query fit --kind logistic-model --spec '/);
    expect(json.members.map((m) => m.name)).toContain('formula');
    expect(json.members.some((m) => m.sample !== undefined)).toBe(false);
  });

  it('lists the variables a formula could use in a shop export with --shop', async () => {
    const r = await fedmart('query', 'kinds', 'linear-model', '--shop', shopDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {4}income +numeric\s*$/m);
    expect(r.stdout).toMatch(/^ {4}gender +categorical +levels: F, M; declare its levels under "levels"$/m);
    expect(r.stdout).toMatch(/^ {4}region +categorical +levels: north, south, east, west;/m);
    expect(r.stdout).toMatch(/^ {4}lifecycle_stage +categorical +levels: new, active, loyal, churning$/m);
    expect(r.stdout).toMatch(/^ {4}recency_days +numeric +days from the last order to asOf/m);
    expect(r.stdout).toMatch(/^ {4}frequency +numeric /m);
    expect(r.stdout).toContain('sessions:app');
    expect(r.stdout).toContain('lifecycle:churning');
    expect(r.stdout).toContain('count(orders), sum(order.<column>)');
    expect(r.stdout).toContain('data: "orders" (one row per order before asOf');
    expect(r.stdout).toMatch(/^ {4}amount +numeric +yuan$/m);
    expect(r.stdout).toMatch(/^ {4}customer\.income +numeric\s*$/m);
    expect(r.stdout).toMatch(/^ {4}customer\.lifecycle_stage +categorical /m);
    expect(r.stdout).toContain('data: "store_week" (extraTables; one row per table row');
    expect(r.stdout).toMatch(/^ {4}price +numeric\s*$/m);
    expect(r.stdout).toMatch(new RegExp(`^ {4}brand +categorical +levels: ${BRANDS.join(', ')};`, 'm'));

    const json = JSON.parse((await fedmart('query', 'kinds', 'logistic-model', '--shop', shopDir, '--json')).stdout) as {
      customers: { columns: { name: string; type: string; levels?: string[] }[]; features: { name: string }[]; aggregates: string[] };
      tables: { name: string; columns: { name: string; type: string }[] }[];
    };
    expect(json.customers.columns).toEqual([
      { name: 'income', type: 'numeric' },
      { name: 'gender', type: 'categorical', levels: ['F', 'M'], note: 'declare its levels under "levels"' },
      { name: 'region', type: 'categorical', levels: ['north', 'south', 'east', 'west'], note: 'declare its levels under "levels"' },
    ]);
    expect(json.customers.features.map((f) => f.name)).toContain('monetary_yuan');
    expect(json.customers.aggregates).toContain('days_since(order.ordered_at)');
    expect(json.tables.map((t) => t.name)).toEqual(['store_week']);
    expect(json.tables[0]!.columns.find((c) => c.name === 'units')).toMatchObject({ type: 'integer' });
  });

  it('answers an unknown kind with one line naming the known kinds and exit code 2', async () => {
    const r = await fedmart('query', 'kinds', 'shoe-size');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fedmart query: unknown kind "shoe-size"; known kinds: .*segment-stats.*; models: .*logistic-model/);
    for (const g of kindGuides()) expect(lines[0]).toContain(g.kind);
  });

  it('documents KIND and --shop in fedmart query --help', async () => {
    const r = await fedmart('query', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('fedmart query kinds KIND [--shop DIR] [--json]');
    expect(r.stdout).toMatch(/--shop DIR +with "kinds KIND" for a formula kind/);
  });

  it('refuses --shop for a kind without formula, a folder without schema.json and --shop without a kind (exit 2)', async () => {
    const cases = [
      ['query', 'kinds', 'rfm', '--shop', shopDir],
      ['query', 'kinds', 'linear-model', '--shop', tmpdir()],
      ['query', 'kinds', '--shop', shopDir],
    ];
    const results = await Promise.all(cases.map((args) => fedmart(...args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]!.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), cases[i]!.join(' ')).toHaveLength(1);
    });
    expect(results[0]!.stderr).toContain('--shop lists the variables of formula models (linear-model, logistic-model, pca), not of rfm');
    expect(results[1]!.stderr).toContain('has no schema.json');
  });
});

describe('the guide examples against a coordinator', { timeout: 300_000 }, () => {
  let fx: HttpFixture;
  let http: string;

  beforeAll(async () => {
    // The category-levels example reads a column shops declare themselves (customer.brand): their purposes.json allows it.
    const registry = {
      ...DEFAULT_PURPOSE_REGISTRY,
      purposes: DEFAULT_PURPOSE_REGISTRY.purposes.map((p) => (p.name === 'marketing-analytics' ? { ...p, allowedFields: [...p.allowedFields, 'customer.brand'] } : p)),
    };
    fx = await startHttpFixture({ registry });
    await fx.app.listen({ host: '127.0.0.1', port: 0 });
    http = `http://127.0.0.1:${(fx.app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('publishes the query the printed linear-model command line asks for', async () => {
    const cmd = printedCommand((await fedmart('query', 'kinds', 'linear-model')).stdout);
    const r = await fedmart('query', cmd.sub, '--kind', cmd.kind, '--spec', cmd.spec, '--no-wait', '--json', '--http', http, '--token', fx.users.marketer.token);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'linear-model', status: 'open' });
  });

  it('accepts every example as the HTTP request the guide prints', async () => {
    // A marketer granted both built-in purposes the examples use.
    const user = await fx.call(BOOTSTRAP_TOKEN, 'POST', '/v1/users', { userId: 'mkt-kinds', role: 'marketer', purposes: ['marketing-analytics', 'churn-modelling'] });
    expect(user.status).toBe(201);
    for (const g of kindGuides()) {
      const res = await fx.call(user.body.token as string, 'POST', g.role === 'model' ? '/v1/fits' : '/v1/queries', { kind: g.kind, spec: g.example });
      expect(res.status, `${g.kind}: ${JSON.stringify(res.body)}`).toBe(201);
    }
  });
});
