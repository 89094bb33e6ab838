/**
 * `npm run test:contended` (scripts/test-contended.mjs) runs a command beside
 * busy loops, reports the time and load average and exits with the
 * command's code; tried here with a tiny command instead of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const run = (...args: string[]) => spawnSync(process.execPath, ['scripts/test-contended.mjs', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('test-contended', () => {
  it('exits with the command\'s code and reports elapsed time and load average', () => {
    const r = run('--spinners', '2', '--', process.execPath, '-e', 'setTimeout(() => process.exit(3), 300)');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/beside 2 busy loop\(s\)/);
    expect(r.stderr).toMatch(/exit code 3 after \d+\.\d s beside 2 busy loop\(s\); load average at start [\d. ]+, at end [\d. ]+/);
  });

  it('refuses unknown options and an empty command', () => {
    expect(run('--nope').status).toBe(2);
    expect(run('--').status).toBe(2);
    expect(run('--spinners', 'x').status).toBe(2);
  });
});
