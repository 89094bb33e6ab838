/**
 * The default randomness is the operating system CSPRNG through
 * node:crypto, never Math.random, and nothing in compliance/ or keyholder/
 * calls Math.random at all.
 */
import type * as NodeCrypto from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const cryptoSpy = vi.hoisted(() => ({ calls: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof NodeCrypto>();
  return {
    ...actual,
    randomFillSync: (...args: Parameters<typeof actual.randomFillSync>) => {
      cryptoSpy.calls++;
      return actual.randomFillSync(...args);
    },
  };
});

const { RandomReader, defaultRandomSource } = await import('../../../compliance/index.js');
const { cryptoRandomSource } = await import('../../../compliance/disclosure/random-source.js');
const { sampleDiscreteGaussian } = await import('../../../compliance/disclosure/discrete-gaussian.js');
const { sampleDiscreteLaplace } = await import('../../../compliance/disclosure/discrete-laplace.js');

const ROOT = resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

afterEach(() => vi.restoreAllMocks());

describe('randomness of disclosure noise', () => {
  it('defaults to node:crypto randomFillSync and never touches Math.random', () => {
    expect(defaultRandomSource()).toBe(cryptoRandomSource);
    expect(cryptoRandomSource.name).toBe('node:crypto');
    const mathRandom = vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random used');
    });
    const before = cryptoSpy.calls;
    const rng = new RandomReader();
    expect(rng.source).toBe(cryptoRandomSource);
    for (let i = 0; i < 2000; i++) {
      sampleDiscreteGaussian({ num: 1_000_000n, den: 7n }, rng);
      sampleDiscreteLaplace({ num: 5n, den: 3n }, rng);
    }
    expect(cryptoSpy.calls).toBeGreaterThan(before);
    expect(mathRandom).not.toHaveBeenCalled();
  });

  it('two default readers do not repeat each other', () => {
    const a = new RandomReader();
    const b = new RandomReader();
    const da = Array.from({ length: 32 }, () => sampleDiscreteGaussian({ num: 10n ** 12n, den: 1n }, a));
    const db = Array.from({ length: 32 }, () => sampleDiscreteGaussian({ num: 10n ** 12n, den: 1n }, b));
    expect(da).not.toEqual(db);
  });

  it('no source file in compliance/ or keyholder/ calls Math.random', () => {
    const offenders = [...sources(join(ROOT, 'compliance')), ...sources(join(ROOT, 'keyholder'))].filter((f) =>
      /Math\.random\s*\(/.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')),
    );
    expect(offenders).toEqual([]);
  });
});
