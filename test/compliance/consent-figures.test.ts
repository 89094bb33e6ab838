/**
 * Consent figures against the people behind them: the test decides which
 * customers of which shop each round includes, writes the audit entries a
 * coordinator would (only counts), and compares the figures derived from the
 * log with counts taken from its own sets — the subject-round sum, the true
 * number of distinct (shop, customer) pairs, and the lower bound.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady, signingKeyPairFromSeed } from '../../crypto/index.js';
import { AuditLog, consentFigures, type AuditEntry, type AuditEvent } from '../../compliance/audit.js';
import { InMemoryAuditStore } from '../../compliance/audit-store.js';

const d = (label: string): string => createHash('sha256').update(label).digest('hex');

/** One round as the test sees it: who each shop included and excluded. */
interface Round {
  readonly queryId: string;
  readonly purpose: string;
  /** UTC time of the round's contributions. */
  readonly at: string;
  readonly included: Readonly<Record<string, readonly string[]>>;
  readonly withdrawn?: Readonly<Record<string, number>>;
}

/** Appends the rounds' entries to a log whose clock gives each entry the time asked for. */
async function logRounds(rounds: readonly Round[]): Promise<AuditEntry[]> {
  let now = 0;
  const log = new AuditLog({
    store: new InMemoryAuditStore(),
    origin: 'fedmart.test/audit',
    keyName: 'fedmart.test/audit',
    keyPair: signingKeyPairFromSeed(new Uint8Array(32).fill(7)),
    clock: () => new Date(now),
  });
  const entries: AuditEntry[] = [];
  const append = async (at: string, event: AuditEvent) => {
    now = Date.parse(at);
    entries.push(await log.append(event));
  };
  for (const r of rounds) {
    await append(r.at, {
      type: 'query.created', actor: 'mkt-test',
      details: { queryId: r.queryId, requester: 'mkt-test', purpose: r.purpose, legalBasis: 'consent', kind: 'segment-stats', specDigest: d(r.queryId), thresholds: { minMerchants: 2, minSubjects: 10 } },
    });
    for (const [shop, customers] of Object.entries(r.included)) {
      const withdrawn = r.withdrawn?.[shop] ?? 0;
      await append(r.at, {
        type: 'contribution.accepted', actor: shop,
        details: {
          merchantId: shop, queryId: r.queryId, envelopeDigest: d(`${r.queryId}/${shop}`), attestationDigest: null,
          subjectsIncluded: customers.length, excludedByReason: { withdrawn, 'no-record': 0 },
        },
      });
    }
  }
  return entries;
}

/** Independent counts from the rounds' own sets, per purpose and month (`''` for all months). */
function truth(rounds: readonly Round[], purpose: string, month: string) {
  const mine = rounds.filter((r) => r.purpose === purpose && (month === '' || r.at.startsWith(month)));
  const pairs = new Set<string>();
  let subjectRounds = 0;
  for (const r of mine) {
    for (const [shop, customers] of Object.entries(r.included)) {
      subjectRounds += customers.length;
      for (const c of customers) pairs.add(`${shop}/${c}`);
    }
  }
  return { subjectRounds, distinct: pairs.size, rounds: mine.length };
}

const range = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

// Shop A has customers a0..a99, shop B b0..b59. Many rounds include the same customers, as a model fit does.
const ROUNDS: Round[] = [
  { queryId: 'q-1', purpose: 'marketing-analytics', at: '2025-05-03T10:00:00.000Z', included: { 'shop-a': range('a', 0, 80), 'shop-b': range('b', 0, 50) }, withdrawn: { 'shop-a': 3 } },
  { queryId: 'q-2', purpose: 'marketing-analytics', at: '2025-05-04T10:00:00.000Z', included: { 'shop-a': range('a', 0, 80), 'shop-b': range('b', 0, 50) } },
  { queryId: 'q-3', purpose: 'marketing-analytics', at: '2025-05-20T10:00:00.000Z', included: { 'shop-a': range('a', 10, 100), 'shop-b': range('b', 5, 45) }, withdrawn: { 'shop-b': 2 } },
  { queryId: 'q-4', purpose: 'marketing-analytics', at: '2025-06-02T10:00:00.000Z', included: { 'shop-a': range('a', 0, 100) } },
  { queryId: 'q-5', purpose: 'marketing-analytics', at: '2025-06-03T10:00:00.000Z', included: { 'shop-a': range('a', 0, 100), 'shop-b': range('b', 0, 60) } },
  { queryId: 'q-6', purpose: 'fraud-prevention', at: '2025-06-05T10:00:00.000Z', included: { 'shop-b': range('b', 0, 30) } },
];

let entries: AuditEntry[];

beforeAll(async () => {
  await cryptoReady();
  entries = await logRounds(ROUNDS);
});

describe('consent figures', () => {
  it('sum subject-rounds, never calling them distinct subjects', () => {
    const [fraud, marketing] = consentFigures(entries);
    expect(marketing!.purpose).toBe('marketing-analytics');
    expect(fraud!.purpose).toBe('fraud-prevention');
    const all = truth(ROUNDS, 'marketing-analytics', '');
    expect(marketing!.subjectRoundsIncluded).toBe(all.subjectRounds);
    expect(marketing!.subjectRoundsIncluded).toBe(80 + 50 + 80 + 50 + 90 + 40 + 100 + 100 + 60);
    // 650 subject-rounds from 160 distinct (shop, customer) pairs: the sum is not a count of people.
    expect(all.distinct).toBe(160);
    expect(marketing!.subjectRoundsIncluded).toBeGreaterThan(all.distinct);
    expect(marketing!.subjectRoundsExcluded).toBe(5);
    expect(marketing!.rounds).toBe(5);
    expect(marketing!.contributions).toBe(9);
    expect(marketing!.shops).toBe(2);
  });

  it('bound the distinct (shop, customer) pairs from below by each shop\'s largest round, and from above by the sum', () => {
    const marketing = consentFigures(entries).find((f) => f.purpose === 'marketing-analytics')!;
    for (const span of [{ month: '', f: marketing }, ...marketing.periods.map((p) => ({ month: p.period, f: p }))]) {
      const tr = truth(ROUNDS, 'marketing-analytics', span.month);
      expect(span.f.distinctIncludedAtLeast, span.month).toBeLessThanOrEqual(tr.distinct);
      expect(span.f.largestRoundIncluded, span.month).toBeLessThanOrEqual(span.f.distinctIncludedAtLeast);
      expect(span.f.subjectRoundsIncluded, span.month).toBe(tr.subjectRounds);
      expect(tr.distinct, span.month).toBeLessThanOrEqual(span.f.subjectRoundsIncluded);
      expect(span.f.rounds, span.month).toBe(tr.rounds);
    }
    // May: shop A's largest round 90 (a10..a99), shop B's 50; the truth is 100 + 50.
    const may = marketing.periods.find((p) => p.period === '2025-05')!;
    expect(may).toMatchObject({ largestRoundIncluded: 130, distinctIncludedAtLeast: 140, subjectRoundsIncluded: 390, rounds: 3, contributions: 6, shops: 2 });
    expect(truth(ROUNDS, 'marketing-analytics', '2025-05').distinct).toBe(150);
    // June: one round included everybody, so the lower bound is exact.
    const june = marketing.periods.find((p) => p.period === '2025-06')!;
    expect(june).toMatchObject({ largestRoundIncluded: 160, distinctIncludedAtLeast: 160, subjectRoundsIncluded: 260, rounds: 2 });
    expect(truth(ROUNDS, 'marketing-analytics', '2025-06').distinct).toBe(160);
    // Over both months the bound is not the sum of the months' bounds (the same customers recur).
    expect(marketing.distinctIncludedAtLeast).toBe(160);
    expect(marketing.periods.map((p) => p.period)).toEqual(['2025-05', '2025-06']);
  });

  it('put contributions to a query created before the entries under the unknown purpose', () => {
    const later = entries.filter((e) => !(e.type === 'query.created' && e.details.queryId === 'q-6'));
    const unknown = consentFigures(later).find((f) => f.purpose === null)!;
    expect(unknown).toMatchObject({ rounds: 1, subjectRoundsIncluded: 30, distinctIncludedAtLeast: 30 });
    expect(consentFigures([])).toEqual([]);
  });
});
