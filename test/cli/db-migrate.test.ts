/**
 * `fedmart db migrate` as an operator runs it, on each backend: a fresh
 * database gets every migration, a second run says it is up to date, and a
 * coordinator started with `--no-migrate` on a database that was never
 * migrated refuses with one line naming `fedmart db migrate`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../../coordinator/index.js';
import { SchemaNotMigratedError } from '../../coordinator/database-errors.js';
import { MIGRATIONS } from '../../coordinator/migrations.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describeBackends } from '../helpers/backends.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
const LATEST = MIGRATIONS.length;

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 150_000, env: { ...process.env, FEDMART_DATABASE_URL: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Lines of `text` that are not JSON log lines (the CLI's own messages). */
function plainLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

describeBackends('fedmart db migrate', (backend) => {
  const cwd = mkdtempSync(join(tmpdir(), 'fedmart-db-cli-'));
  const databases: TestDatabase[] = [];
  const fresh = async (label: string) => {
    const t = await freshDatabase(backend, label, { onDisk: true });
    databases.push(t);
    return t;
  };

  afterAll(async () => {
    for (const d of databases) await d.drop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('runs every migration on a fresh database, then says it is up to date', { timeout: 300_000 }, async () => {
    const { target } = await fresh('db-migrate');
    const first = run(['db', 'migrate', '--db', target], cwd);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^database .* \\(${backend}\\): schema version 0, this fedmart's is ${LATEST}$`));
    expect(lines.slice(1, -1)).toEqual(MIGRATIONS.map((_, i) => `applied migration ${i + 1} of ${LATEST}`));
    expect(lines.at(-1)).toMatch(new RegExp(`\\(${backend}\\): migrated from schema version 0 to ${LATEST}$`));

    const second = run(['db', 'migrate', '--db', target], cwd);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toMatch(new RegExp(`^database .* \\(${backend}\\): up to date \\(schema version ${LATEST}\\)$`));

    // FEDMART_DATABASE_URL stands in for --db, as for the coordinator; --json gives one line.
    const json = run(['db', 'migrate', '--json'], cwd, { FEDMART_DATABASE_URL: target });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ backend, from: LATEST, to: LATEST, applied: [] });

    // What --no-migrate checks now passes.
    const db = await openDatabase(target, { migrate: 'check' });
    await db.close();
  });

  it('a coordinator with --no-migrate refuses an unmigrated database with one line and exit code 1', async () => {
    const { target } = await fresh('no-migrate');
    const r = run(['coordinator', '--keyholder', '127.0.0.1:1', '--db', target, '--no-migrate',
      '--enrolment-authority', 'ab'.repeat(32), '--request-key', join(cwd, 'request.seed'), '--audit-key', join(cwd, 'audit.seed')],
    cwd, { FEDMART_API_TOKEN: 'db-migrate-test-token-0123456789' });
    expect(r.code, r.stderr).toBe(1);
    expect(plainLines(r.stderr)).toEqual([
      `fedmart coordinator: database schema version 0 is older than this fedmart needs (${LATEST}); run fedmart db migrate with the same --db, or start without --no-migrate [SCHEMA_NOT_MIGRATED]`,
    ]);
    // Nothing was migrated behind the operator's back.
    await expect(openDatabase(target, { migrate: 'check' })).rejects.toBeInstanceOf(SchemaNotMigratedError);
  });
});

it('fedmart db answers bad usage with exit code 2 and --help with 0', () => {
  const cwd = tmpdir();
  const none = run(['db'], cwd);
  expect(none.code).toBe(2);
  expect(none.stdout).toMatch(/Usage: fedmart db migrate/);
  const unknown = run(['db', 'rollback'], cwd);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr.trim()).toBe('fedmart db: unknown db subcommand "rollback" (migrate) (see fedmart db --help)');
  const help = run(['db', 'migrate', '--help'], cwd);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/--db DIR\|URL/);
});
