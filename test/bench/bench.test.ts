import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TARGETS } from '../../bench/targets.js';
import { benchCommand } from '../../bench/run.js';
import { median } from '../../bench/stats.js';

const REQUIRED = [
  'he.encrypt_ms_per_ciphertext',
  'he.encrypt_us_per_value',
  'he.accumulate_ms_per_ciphertext',
  'he.accumulate_us_per_value',
  'he.reduce_ms_per_round',
  'he.sum_ms_per_round',
  'he.validate_ms_per_ciphertext',
  'he.validate_us_per_value',
  'he.seal_validate_ms_per_ciphertext',
  'he.seal_add_ms_per_ciphertext',
  'he.seal_coordinator_cpu_us_per_value',
  'he.decrypt_ms_per_ciphertext',
  'he.decrypt_us_per_value',
  'he.bytes_per_value',
  'he.seal_bytes_per_value',
  'he.merchant_cpu_us_per_value',
  'he.coordinator_cpu_us_per_value',
  'paillier.encrypt_us_per_value',
  'paillier.add_us_per_value',
  'paillier.decrypt_us_per_value',
  'paillier.bytes_per_value',
  'paillier.merchant_cpu_us_per_value',
  'paillier.coordinator_cpu_us_per_value',
  'plain.encode_us_per_value',
  'plain.add_us_per_value',
  'plain.bytes_per_value',
  'plain.merchant_cpu_us_per_value',
  'plain.coordinator_cpu_us_per_value',
  'ratio.paillier_over_he.merchant_cpu_per_value',
  'ratio.paillier_over_he.coordinator_cpu_per_value',
  'ratio.paillier_over_he.bytes_per_value',
  'ratio.he_over_plain.merchant_cpu_per_value',
  'ratio.he_over_plain.coordinator_cpu_per_value',
  'ratio.he_over_plain.bytes_per_value',
  'ratio.seal_over_accumulator.coordinator_cpu_per_value',
  'ratio.seal_over_accumulator.ms_per_ciphertext',
  'target.he_bytes_per_value',
  'target.merchant_cpu_vs_paillier',
  'target.coordinator_cpu_vs_paillier',
  'gbt.encryption_overhead_largest',
  'target.gbt_encryption_overhead',
];

function silentIo(sink: { out: string; err: string }) {
  return { out: (t: string) => void (sink.out += t), err: (t: string) => void (sink.err += t) };
}

describe('fedmart bench --quick', () => {
  let dir: string;
  let code: number;
  let records: unknown;
  const output = { out: '', err: '' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedmart-bench-'));
    const outPath = join(dir, 'results.json');
    code = await benchCommand(['--quick', '--out', outPath], silentIo(output));
    records = code === 0 ? JSON.parse(await readFile(outPath, 'utf8')) : undefined;
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('succeeds, including its correctness checks', () => {
    expect(output.err).not.toMatch(/failed/);
    expect(code).toBe(0);
  });

  it('writes an array of {name, value, unit, note?} records with finite values and unique names', () => {
    expect(Array.isArray(records)).toBe(true);
    const list = records as Record<string, unknown>[];
    for (const r of list) {
      expect(Object.keys(r).filter((k) => !['name', 'value', 'unit', 'note'].includes(k))).toEqual([]);
      expect(typeof r.name).toBe('string');
      expect(r.name).toMatch(/^[a-z]+(\.[a-z0-9_]+)+$/);
      expect(typeof r.value).toBe('number');
      expect(Number.isFinite(r.value)).toBe(true);
      expect(typeof r.unit).toBe('string');
      if ('note' in r) expect(typeof r.note).toBe('string');
    }
    const names = list.map((r) => r.name as string);
    expect(new Set(names).size).toBe(names.length);
    for (const name of REQUIRED) expect(names).toContain(name);
  });

  it('reports the wire sizes fixed by the parameters', () => {
    const byName = new Map((records as { name: string; value: number }[]).map((r) => [r.name, r.value]));
    expect(byName.get('he.values_per_ciphertext')).toBe(4096);
    expect(byName.get('he.bytes_per_value')).toBeCloseTo(122993 / 4096, 4);
    expect(byName.get('he.bytes_per_value')).toBeLessThanOrEqual(32);
    expect(byName.get('he.seal_bytes_per_value')).toBeCloseTo(131185 / 4096, 4);
    expect(byName.get('he.ciphertext_bytes')).toBe(122993);
    expect(byName.get('target.he_bytes_per_value')).toBe(1);
    expect(byName.get('paillier.bytes_per_value')).toBe(512);
    expect(byName.get('plain.bytes_per_value')).toBe(8);
    for (const name of REQUIRED.filter((n) => n.startsWith('target.'))) expect([0, 1]).toContain(byName.get(name));
  });

  it('prints a table with PASS or MISS for every target', () => {
    expect(output.out).toContain('he.bytes_per_value');
    expect(output.out.match(/^ {2}(PASS|MISS) {2}/gm)).toHaveLength(TARGETS.length);
  });
});

describe('fedmart bench arguments', () => {
  it('prints help and exits 0', async () => {
    const sink = { out: '', err: '' };
    expect(await benchCommand(['--help'], silentIo(sink))).toBe(0);
    expect(sink.out).toContain('--quick');
  });

  it('rejects an unknown option with exit code 2', async () => {
    const sink = { out: '', err: '' };
    expect(await benchCommand(['--fast'], silentIo(sink))).toBe(2);
    expect(sink.err).toContain('--fast');
  });
});

describe('fedmart bench --only', () => {
  it('refuses a part it does not know, naming the parts, with exit code 2', async () => {
    const sink = { out: '', err: '' };
    expect(await benchCommand(['--only', 'gbts'], silentIo(sink))).toBe(2);
    expect(sink.err).toContain('--only must be one of he, logistic, gbt, prio3');
  });

  it('measures the named part alone and judges only the targets it measured', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedmart-bench-only-'));
    try {
      const outPath = join(dir, 'results.json');
      const sink = { out: '', err: '' };
      expect(await benchCommand(['--quick', '--only', 'gbt', '--out', outPath], silentIo(sink))).toBe(0);
      const names = (JSON.parse(await readFile(outPath, 'utf8')) as { name: string }[]).map((r) => r.name);
      const parts = new Set(names.map((n) => n.split('.')[0]));
      expect([...parts].sort()).toEqual(['bench', 'gbt', 'target']);
      // Every target whose metric is a gbt record, and no other.
      const expected = TARGETS.filter((t) => t.metric.startsWith('gbt.')).map((t) => t.name);
      expect(expected.length).toBeGreaterThan(0);
      expect(names.filter((n) => n.startsWith('target.')).sort()).toEqual(expected.sort());
      expect(sink.out.match(/^ {2}(PASS|MISS) {2}/gm)).toHaveLength(expected.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });
});
