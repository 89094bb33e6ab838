/**
 * The parsers of untrusted input under a few hundred hostile inputs each:
 * accepted, or refused with the module's typed error, never a crash.
 * `npm run fuzz -- --target parser --runs 10000` runs the same targets longer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FuzzEnv, runTarget } from '../../harness/fuzz/index.js';
import { PARSER_TARGETS } from '../../harness/fuzz/parsers.js';

const env = new FuzzEnv();
afterAll(() => env.close());

describe('parsers under hostile input', () => {
  for (const target of PARSER_TARGETS) {
    it(`${target.name}: accepted or refused with its typed error`, async () => {
      const report = await runTarget(target.name, await target.prepare(env), { runs: 300 });
      expect(report.failure).toBeNull();
      expect(report.runs).toBe(300);
      // Both sides of the property were exercised.
      expect(Object.keys(report.outcomes).length).toBeGreaterThan(1);
    });
  }
});
