/**
 * Runs scikit-learn (Debian's python3-sklearn) as an independent reference:
 * the data go in as CSV files in a temporary directory, the script prints
 * its answer on stdout. `.ci/run` installs python3-sklearn; without it (a
 * developer machine) the scikit-learn tests are skipped, in CI they fail.
 *
 * Debian installs the package for the system interpreter, /usr/bin/python3;
 * the `python3` first on PATH may be another one (pyenv), so both are tried.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The first interpreter that imports sklearn, or undefined. */
export const SKLEARN_PYTHON: string | undefined = ['/usr/bin/python3', 'python3'].find(
  (python) => spawnSync(python, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0,
);

export const HAVE_SKLEARN = SKLEARN_PYTHON !== undefined;

if (!HAVE_SKLEARN && process.env['CI'] === 'true') throw new Error('python3 cannot import sklearn (.ci/run installs python3-sklearn)');

/** Writes numeric rows (first row's keys are the columns) as a CSV file with a header. */
function csvOf(rows: readonly Readonly<Record<string, number>>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  return [cols.join(','), ...rows.map((r) => cols.map((c) => String(r[c])).join(','))].join('\n') + '\n';
}

/**
 * Runs `script` with `files` (name → numeric rows) written as CSV files in
 * a temporary directory, passed to the script as `sys.argv[1]`. Returns
 * stdout and the scikit-learn version.
 */
export async function runSklearn(files: Readonly<Record<string, readonly Readonly<Record<string, number>>[]>>, script: string): Promise<{ stdout: string; version: string }> {
  if (SKLEARN_PYTHON === undefined) throw new Error('python3 cannot import sklearn');
  const dir = await mkdtemp(join(tmpdir(), 'fedmart-sklearn-'));
  try {
    for (const [name, rows] of Object.entries(files)) await writeFile(join(dir, name), csvOf(rows));
    await writeFile(join(dir, 'script.py'), script);
    const { stdout } = await execFileAsync(SKLEARN_PYTHON, [join(dir, 'script.py'), dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const { stdout: version } = await execFileAsync(SKLEARN_PYTHON, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' });
    return { stdout, version: version.trim() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
