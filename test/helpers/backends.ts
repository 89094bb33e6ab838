/**
 * Declaring a suite once per storage backend (vitest's part of
 * harness/databases.ts, kept here so that harness/, which scripts load too,
 * does not import vitest).
 */
import { describe, it } from 'vitest';
import { TEST_DATABASE_URL, type BackendName } from '../../harness/databases.js';

/**
 * Declares `body` once per backend, titled `title [backend]`. Without a
 * configured server the PostgreSQL variant is a visible skip saying why.
 */
export function describeBackends(title: string, body: (backend: BackendName) => void): void {
  describe(`${title} [pglite]`, () => body('pglite'));
  if (TEST_DATABASE_URL) {
    describe(`${title} [postgres]`, () => body('postgres'));
  } else {
    describe.skip(`${title} [postgres] — skipped: set FEDMART_TEST_DATABASE_URL to run it against PostgreSQL`, () => {
      it('runs against PostgreSQL', () => undefined);
    });
  }
}

/** Declares `body` only when a PostgreSQL server is configured; otherwise a visible skip saying why. */
export function describePostgres(title: string, body: () => void): void {
  if (TEST_DATABASE_URL) describe(title, body);
  else describe.skip(`${title} — skipped: needs PostgreSQL; set FEDMART_TEST_DATABASE_URL`, () => it('runs against PostgreSQL', () => undefined));
}
