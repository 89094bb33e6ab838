/**
 * Smoke test of the load benchmark (bench/load.ts): three merchants end to
 * end through `npm run bench:load`'s entry point, so the benchmark cannot
 * rot. The figures are not checked, only that every contribution is
 * accounted for and the round is released.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoundFigure } from '../../bench/load.js';

const SCRIPT = fileURLToPath(new URL('../../bench/load.ts', import.meta.url));

describe('npm run bench:load -- --merchants 3', () => {
  let dir: string;
  let result: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedmart-load-smoke-'));
    result = await new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', SCRIPT, '--merchants', '3', '--shops', '3', '--out', join(dir, 'load.json'), '--chart', join(dir, 'load.svg')],
        { timeout: 90_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    });
  }, 100_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('releases the round with every contribution accepted and writes the JSON and the chart', async () => {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/3 merchants: all 3 answered/);
    const json = JSON.parse(await readFile(join(dir, 'load.json'), 'utf8')) as { figures: RoundFigure[] };
    const [f] = json.figures;
    expect(f).toMatchObject({ merchants: 3, outcomes: { ACCEPTED: 3 }, released: true, storedContributions: 3, releasedMerchants: 3 });
    expect(f!.ciphertextBytesPerContribution).toBeGreaterThan(100_000);
    expect(f!.coordinator.rssMiB.peakIntake).toBeGreaterThan(0);
    expect(await readFile(join(dir, 'load.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  });

  it('answers --help', async () => {
    const help = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', SCRIPT, '--help'], { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    expect(help).toMatch(/--merchants LIST/);
    expect(help).toMatch(/--concurrency/);
    expect(help).toMatch(/--db/);
  });
});
