/**
 * The `fedmart` binary as a user runs it: help on every command, one clear
 * line and exit code 2 for bad usage.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, FEDMART_API_TOKEN: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const COMMANDS = ['demo', 'init', 'synth', 'keyholder', 'coordinator', 'db', 'merchant', 'enrol-token', 'query', 'users', 'merchants', 'audit', 'bench'];

describe('fedmart CLI', () => {
  it('lists every command with --help', () => {
    const r = run('--help');
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c}`);
  });

  it.each(['--version', '-V'])('%s prints the version in package.json', (flag) => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = run(flag);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`fedmart ${version}\n`);
    expect(r.stderr).toBe('');
  });

  it.each(COMMANDS)('%s --help prints usage and exits 0', (c) => {
    const r = run(c, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage:\s+fedmart/);
  });

  it('audit --help describes verify against a requested range', () => {
    const r = run('audit', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('fedmart audit verify FILE [--from ISO] [--to ISO] [--key HEX] [--json]');
    expect(r.stdout).toMatch(/--from\/--to give the range\s+you asked for/);
  });

  it('answers an unknown command and a bad flag with one line and exit code 2', () => {
    const unknown = run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const badFlag = run('synth', '--shops', 'many', '--out', '/tmp/x');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr.trim()).toMatch(/^fedmart synth: --shops must be an integer/);
    const missing = run('synth');
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/--out is required/);
  });

  it.each(['query', 'users', 'merchants', 'audit'])('%s names a missing --ca file with exit code 2', (c) => {
    const rest = c === 'audit' ? ['export', '--out', '/tmp/unused.json'] : [c === 'query' ? 'whoami' : 'list'];
    const r = run(c, ...rest, '--ca', '/nonexistent/ca.crt', '--token', 'x'.repeat(20));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/--ca \/nonexistent\/ca\.crt does not exist/);
  });

  it('refuses to start a coordinator without an API token', () => {
    const r = run('coordinator', '--keyholder', '127.0.0.1:1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FEDMART_API_TOKEN/);
  });
});
