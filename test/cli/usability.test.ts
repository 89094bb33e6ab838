/**
 * The `fedmart` binary's own words for common mistakes: an unknown option on
 * any command is one line and exit code 2; JSON that does not parse is named
 * by line and column; a model fit's progress shows its round limit; and
 * `audit verify` without --key warns loudly that the log's key is not pinned.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady, toHex } from '../../crypto/index.js';
import { exportAuditBundle } from '../../compliance/audit.js';
import { jsonErrorOffset } from '../../cli/args.js';
import { BOOTSTRAP_TOKEN, startHttpFixture, type HttpFixture } from '../../harness/http-fixture.js';
import { START, logKeyPair, scenarioLog, scenarioRegisters } from '../compliance/audit-fixtures.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
const ENV = { ...process.env, FEDMART_API_TOKEN: '' };

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: ENV });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const COMMANDS = ['demo', 'init', 'synth', 'keyholder', 'coordinator', 'db', 'merchant', 'enrol-token', 'query', 'users', 'merchants', 'audit', 'bench'];

describe('an unknown option', () => {
  it.each(COMMANDS)('on %s is one line of our own and exit code 2', (c) => {
    const r = run(c, '--foo');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`fedmart ${c}: unknown option --foo (see fedmart ${c} --help)\n`);
  });

  it('also after a subcommand, as a short option and as --name=value', () => {
    expect(run('query', 'run', '--kind', 'x', '--speck', '{}').stderr).toBe('fedmart query: unknown option --speck (see fedmart query --help)\n');
    expect(run('merchant', '-x').stderr).toBe('fedmart merchant: unknown option -x (see fedmart merchant --help)\n');
    expect(run('audit', 'verify', 'f.json', '--kee=00').stderr).toBe('fedmart audit: unknown option --kee (see fedmart audit --help)\n');
  });

  it('an option without its value, or a flag given one, is named the same way', () => {
    const missing = run('synth', '--out');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('fedmart synth: --out needs a value (see fedmart synth --help)\n');
    const extra = run('bench', '--quick=yes');
    expect(extra.code).toBe(2);
    expect(extra.stderr).toBe('fedmart bench: --quick takes no value (see fedmart bench --help)\n');
  });
});

describe('JSON that does not parse', () => {
  const spec = (text: string) => run('query', 'run', '--kind', 'segment-stats', '--spec', text, '--http', 'http://127.0.0.1:9', '--token', 'x'.repeat(24));

  it.each([
    ['{"purpose": }', 1, 13],
    ['{"purpose": "marketing-analytics"', 1, 34],
    ['{\n  "purpose": "marketing-analytics",\n}', 3, 1],
    ['{purpose: 1}', 1, 2],
    ['{"a": 1} x', 1, 10],
    ['{"a": "\\q"}', 1, 9],
  ] as const)('--spec %j is refused naming line %i, column %i', (text, line, column) => {
    const r = spec(text);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^fedmart query: --spec is not valid JSON: .+ at line ${line}, column ${column} \\(offset \\d+\\) \\(see fedmart query --help\\)$`));
  });

  it('valid JSON that is not an object is still refused as such', () => {
    expect(spec('[1]').stderr).toBe('fedmart query: --spec must be a JSON object (see fedmart query --help)\n');
  });

  it('audit verify names the line and column in a bundle file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-badjson-'));
    try {
      const file = join(dir, 'bundle.json');
      writeFileSync(file, '{\n  "format": "fedmart-audit-bundle/2",\n  "entries": [1, 2,]\n}\n');
      const r = run('audit', 'verify', file);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^fedmart audit: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON: .+ at line 3, column 20 `));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('jsonErrorOffset finds the first error where JSON.parse does not say', () => {
    expect(jsonErrorOffset('{"a":}')).toBe(5);
    expect(jsonErrorOffset('')).toBe(0);
    expect(jsonErrorOffset('[1, tru]')).toBe(7);
    expect(jsonErrorOffset('{"a": [1, 2], "b": {"c": null}} ')).toBe(32);
  });
});

describe('model fit progress', () => {
  let fx: HttpFixture;
  let http: string;
  let token: string;

  beforeAll(async () => {
    fx = await startHttpFixture();
    await fx.app.listen({ host: '127.0.0.1', port: 0 });
    http = `http://127.0.0.1:${(fx.app.server.address() as { port: number }).port}`;
    const created = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [BIN, 'users', 'create', '--role', 'marketer', '--purposes', 'churn-modelling', '--id', 'mkt-fit', '--json', '--http', http, '--token', BOOTSTRAP_TOKEN],
        { encoding: 'utf8', env: ENV }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
    });
    token = (JSON.parse(created) as { token: string }).token;
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  /** Starts `query fit` and returns its stderr once it shows a round, then stops it. */
  async function firstRoundLine(spec: Record<string, unknown>): Promise<string> {
    const child = spawn(process.execPath, [BIN, 'query', 'fit', '--kind', 'logistic-regression', '--spec', JSON.stringify(spec), '--target', '3', '--http', http, '--token', token], { env: ENV });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    // The first round line or the command's end, however long a busy machine takes to start it.
    await new Promise<void>((resolve) => {
      child.stderr.on('data', () => { if (/round \d/.test(stderr)) resolve(); });
      child.on('exit', () => resolve());
    });
    child.kill();
    return stderr;
  }

  const SPEC = { purpose: 'churn-modelling', features: ['intercept', 'orders', 'avg_order_value'], label: 'churning', holdoutPercent: 20 };

  it('shows the round and the most rounds the fit may take', async () => {
    expect(await firstRoundLine(SPEC)).toMatch(/^model fit fit-\S+: round 1 of at most 25 · running$/m);
    expect(await firstRoundLine({ ...SPEC, maxRounds: 7 })).toMatch(/^model fit fit-\S+: round 1 of at most 7 · running$/m);
  }, 60_000);
});

describe('audit verify and the log key', () => {
  let dir: string;
  let file: string;
  let pub: string;

  beforeAll(async () => {
    await cryptoReady();
    dir = mkdtempSync(join(tmpdir(), 'fedmart-verify-key-'));
    file = join(dir, 'bundle.json');
    const { log } = await scenarioLog({ checkpointEvery: 7 });
    const bundle = await exportAuditBundle(log, {
      from: new Date(START).toISOString(), to: new Date(START + 24 * 3600_000).toISOString(),
      registers: scenarioRegisters(), keyPair: logKeyPair(), now: new Date('2025-05-02T00:00:00.000Z'),
    });
    writeFileSync(file, JSON.stringify(bundle));
    pub = toHex(logKeyPair().publicKey);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('without --key verifies but warns on stderr that the key is not pinned and how to pin it', () => {
    const r = run('audit', 'verify', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^intact: /);
    expect(r.stderr).toMatch(/WARNING: the audit log's signing key is NOT PINNED/);
    expect(r.stderr).toMatch(/anyone could have signed it/);
    expect(r.stderr).toMatch(/--key HEX/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('also with --json (the warning is on stderr only)', () => {
    const r = run('audit', 'verify', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true });
    expect(r.stderr).toMatch(/NOT PINNED/);
  });

  it('with --key says nothing on stderr', () => {
    const r = run('audit', 'verify', file, '--key', pub);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^intact: /);
    expect(r.stderr).toBe('');
  });

  it('--help explains pinning', () => {
    expect(run('audit', '--help').stdout).toMatch(/anyone could have signed\s+with, and a warning says so on stderr/);
  });
});
