/**
 * The key holder's disclosure state on disk: policies, budgets, release
 * populations and delivered releases survive a reopen; a weaker policy is
 * refused by name; damaged files are reported, not trusted.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DisclosureError, effectivePolicy } from '../../compliance/index.js';
import { DisclosureStore } from '../../keyholder/disclosure-store.js';

const FLOORS = { minMerchants: 3, minSubjects: 10, dominance: null };
const dp = (totalRho: number, rhoPerQuery = 0.25) => effectivePolicy('p', { mode: 'dp', mechanism: 'discrete-laplace', rhoPerQuery, totalRho }, FLOORS);
const population = (queryId: string, n: number) => ({ queryId, kind: 'segment-stats', specDigest: 'ab', merchants: { a: n, b: 5 }, attestedSubjects: n + 5, releasedAt: '2026-01-01T00:00:00.000Z' });

describe('disclosure store', () => {
  it('keeps policies, spend, populations and releases across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-dstore-'));
    const a = new DisclosureStore(dir);
    a.adopt(dp(1));
    a.recordRelease('p', population('q1', 100), 250_000_000n);
    a.recordRelease('p', population('q2', 99), 250_000_000n);
    a.storeRelease('q1', { releaseJson: '{"x":1}', signature: 'ab'.repeat(64) });

    const b = new DisclosureStore(dir);
    expect(b.policy('p')).toEqual(dp(1));
    const ledger = b.ledger('p');
    expect(ledger.rhoSpentUnits).toBe(500_000_000n);
    expect(ledger.releases.map((r) => [r.queryId, r.merchants.a, r.rhoUnits])).toEqual([['q1', 100, 250_000_000n], ['q2', 99, 250_000_000n]]);
    expect(DisclosureStore.remaining(b.policy('p')!, ledger)).toBe('0.5');
    expect(b.storedRelease('q1')).toEqual({ releaseJson: '{"x":1}', signature: 'ab'.repeat(64) });
    expect(b.storedRelease('q3')).toBeUndefined();
    expect(readdirSync(join(dir, 'disclosure')).sort()).toEqual(['policies.json', 'purposes', 'releases']);
  });

  it('accepts a stricter policy and refuses a looser one, naming purpose and change', () => {
    const s = new DisclosureStore(mkdtempSync(join(tmpdir(), 'fedmart-dstore-')));
    s.adopt(dp(1));
    expect(s.adopt(dp(0.5)).noise).toMatchObject({ totalRhoUnits: 500_000_000n });
    const err = (() => {
      try {
        s.adopt(dp(0.75));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DisclosureError);
    expect(err).toMatchObject({ code: 'POLICY_LOOSENED', purpose: 'p' });
    expect((err as Error).message).toMatch(/purpose 'p'.*totalRho 0\.5 -> 0\.75/);
    expect(() => s.adopt(effectivePolicy('p', { mode: 'exact' }, FLOORS))).toThrow(/mode dp -> exact/);
  });

  it('reports a damaged state file instead of trusting it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-dstore-'));
    new DisclosureStore(dir).recordRelease('p', population('q1', 10), 1n);
    const file = join(dir, 'disclosure', 'purposes', `${Buffer.from('p').toString('base64url')}.json`);
    writeFileSync(file, '{"version":1,"purpose":"p","rhoSpentUnits":"-5","releases":[]}');
    expect(() => new DisclosureStore(dir).ledger('p')).toThrow(DisclosureError);
    expect(() => new DisclosureStore(dir).ledger('p')).toThrow(/rhoSpentUnits/);
    writeFileSync(join(dir, 'disclosure', 'policies.json'), 'not json');
    expect(() => new DisclosureStore(dir)).toThrow(/DISCLOSURE_STATE_CORRUPT|policies\.json/);
  });

  it('lives in memory without a data folder', () => {
    const s = new DisclosureStore();
    s.recordRelease('p', population('q1', 10), 7n);
    expect(s.ledger('p').rhoSpentUnits).toBe(7n);
    expect(() => new DisclosureStore('')).toThrow(/dataDir/);
  });
});
