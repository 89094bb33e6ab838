/**
 * The version `fedmart --version` prints: read from package.json at run
 * time, so that a release bumps one number in one place.
 */
import { readFileSync } from 'node:fs';

/** The `version` field of the package.json beside cli/. */
export function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version = (pkg as { version?: unknown }).version;
  if (typeof version !== 'string' || version.length === 0) throw new Error('package.json has no version');
  return version;
}
