import { describe, expect, it } from 'vitest';
import { Prio3SumVec } from '@divviup/prio3';
import { columnSumsOf, runPrio3Bench, runPrio3Round, sumVecMeasurements } from '../../bench/prio3.js';
import type { Prio3Plan } from '../../bench/prio3.js';

const TINY: Prio3Plan = { reports: 2, sumVecLength: 3, countReports: 3, histogramLength: 4, warmupRounds: 0, rounds: 1 };

describe('bench Prio3 (two aggregators in process)', () => {
  it('unshards Prio3SumVec (32-bit) to the plaintext sum, with positive byte counts', async () => {
    const vdaf = new Prio3SumVec({ shares: 2, length: 3, chunkLength: 10, bits: 32 });
    const rows = sumVecMeasurements(2, 3);
    const round = await runPrio3Round(vdaf, rows);
    expect(round.result.map((v) => BigInt(v))).toEqual(columnSumsOf(rows, 3));
    expect(round.publicShareBytes).toBeGreaterThan(0);
    expect(round.leaderInputShareBytes).toBeGreaterThan(0);
    expect(round.helperInputShareBytes).toBeGreaterThan(0);
    expect(round.prepareExchangeBytes).toBeGreaterThan(0);
    expect(round.aggregateShareBytes).toBeGreaterThan(0);
  });

  it('gives SumVec, Count and Histogram records with positive bytes per value', async () => {
    const { records, skipped } = await runPrio3Bench(TINY, () => {});
    expect(skipped).toBeUndefined();
    const names = records.map((r) => r.name);
    for (const name of ['vdaf.prio3_sumvec.bytes_per_value', 'vdaf.prio3_count.bytes_per_report', 'vdaf.prio3_histogram.bytes_per_report']) {
      expect(names).toContain(name);
      expect(records.find((r) => r.name === name)?.value).toBeGreaterThan(0);
    }
    for (const r of records) expect(Number.isFinite(r.value)).toBe(true);
    expect(names).toContain('vdaf.prio3_sumvec.client_cpu_us_per_value');
    expect(names).toContain('vdaf.prio3_sumvec.leader_cpu_us_per_value');
    expect(names).toContain('vdaf.prio3_sumvec.helper_cpu_us_per_value');
  });

  it('skips with a clear line, not a crash, when the package is missing', async () => {
    const lines: string[] = [];
    const missing = Object.assign(new Error("Cannot find package '@divviup/prio3'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const { records, skipped } = await runPrio3Bench(TINY, (m) => lines.push(m), () => Promise.reject(missing));
    expect(skipped).toMatch(/not installed/);
    expect(records.map((r) => r.name)).toEqual(['vdaf.prio3_skipped']);
    expect(lines.join('\n')).toMatch(/Prio3: skipped/);
  });
});
