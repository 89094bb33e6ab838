/**
 * The coordinator crash test, declared once per part file so that the 50
 * seeded kills run in four files of about a minute each (in parallel where
 * the test runner has workers to spare). FEDMART_CRASH_RUNS sets the runs
 * in all (split over the parts), FEDMART_CRASH_SEED the base seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrashRig } from './crash-rounds.js';

export const CRASH_PARTS = 4;
const TOTAL_RUNS = Number(process.env.FEDMART_CRASH_RUNS ?? 50);
const BASE_SEED = Number(process.env.FEDMART_CRASH_SEED ?? 20261125);

export function crashSuite(part: number): void {
  const seed = BASE_SEED + part;
  const RUNS = Math.floor(TOTAL_RUNS / CRASH_PARTS) + (part <= TOTAL_RUNS % CRASH_PARTS ? 1 : 0);
  describe(`coordinator killed with SIGKILL during rounds (part ${part} of ${CRASH_PARTS})`, () => {
    const rig = new CrashRig(`crash-${part}`);

    beforeAll(() => rig.start(), 120_000);
    afterAll(() => rig.stop(), 60_000);

    it(`loses no acknowledged contribution, counts none twice and finishes every round (${RUNS} runs, seed ${seed})`, async () => {
      const report = await rig.crashRuns(RUNS, seed);
      console.log(`coordinator crash runs, part ${part}: ${JSON.stringify(report)}`);
      expect(Object.values(report.phases).reduce((a, b) => a + b, 0)).toBe(RUNS);
      await rig.verifyStorage(RUNS + 2);
    }, 600_000);
  });
}
