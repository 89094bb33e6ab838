/**
 * The release engine on fixed decrypted totals: exact policies (k, dominance,
 * secondary suppression that no linear combination undoes), DP calibration
 * (ρ spent exactly as stated), and the coverage of the intervals shown with
 * a DP segment table over 100 seeded runs against the pooled answer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { releasedTotalsFromDocument, type SegmentStatsTable } from '../../../analytics/index.js';
import { finaliseSegmentStats } from '../../../analytics/segment-stats.js';
import type { SegmentStatsRow } from '../../../analytics/segment-table.js';
import { RandomReader, applyDisclosure, disclosureSummary, effectivePolicy, parsePurposeRegistry, DEFAULT_PURPOSE_REGISTRY, PurposeError, loosening, type EffectivePolicy } from '../../../compliance/index.js';
import { RHO_UNITS_PER_ONE } from '../../../compliance/disclosure/zcdp.js';
import { decideSuppression } from '../../../compliance/disclosure/suppression.js';
import { fractionToNumber } from '../../../compliance/disclosure/integer-math.js';
import { noiseParameterOf } from '../../../compliance/disclosure/noise.js';
import { pooledReference, type ReferenceRow } from '../../helpers/pooled-reference.js';
import { determinedCells, documentOf, segmentQuery, segmentTotals, type ShopTotals } from './fixtures.js';
import { seededSource } from './seeded-source.js';
import fc from 'fast-check';

const FLOORS = { minMerchants: 3, minSubjects: 10, dominance: null };
const STAGES = ['new', 'active', 'loyal', 'churning'];

describe('exact policy: thresholds and suppression', () => {
  let t: ShopTotals;
  beforeAll(async () => {
    t = await segmentTotals('engine-exact');
  });

  it('releases exact totals when every cell passes, with no noise', () => {
    const out = applyDisclosure({
      cells: segmentQuery.cells(t.spec), fields: segmentQuery.fields(t.spec), totals: t.totals, attestedSubjects: 100, policy: effectivePolicy('p', undefined, FLOORS),
    });
    expect(out.dp).toBeNull();
    expect(out.suppressed.size).toBe(0);
    for (const s of STAGES) {
      const cell = out.cells[s]!;
      expect(cell.suppressed).toBe(false);
      if (!cell.suppressed) {
        expect(cell.noise).toBeUndefined();
        expect(cell.totals[`${s}.orders`]).toBe(t.totals.get(`${s}.orders`)!.toString());
      }
    }
  });

  it('withholds a cell one shop dominates, a complement with it, and leaves neither derivable', () => {
    // The largest single-shop share of each stage's order value, from the shops' own vectors.
    const share = (s: string): number => {
      const f = `${s}.order_value_sum_cents`;
      const max = t.perShop.reduce((m, v) => (v.get(f)! > m ? v.get(f)! : m), 0n);
      return Number(max) / Number(t.totals.get(f)!);
    };
    const shares = STAGES.map(share).sort((a, b) => b - a);
    const top = STAGES.find((s) => share(s) === shares[0])!;
    // A threshold well below the top share (bins bound a shop's total to within 19 %) and above every
    // other stage's share once the bin slack is added.
    const p = Math.floor(shares[0]! * 100 / 1.2);
    const policy = effectivePolicy('p', { mode: 'exact', dominance: { maxSharePercent: p } }, FLOORS);
    const out = applyDisclosure({
      cells: segmentQuery.cells(t.spec), fields: segmentQuery.fields(t.spec), totals: t.totals, attestedSubjects: 100, policy, margins: segmentQuery.margins?.(t.spec),
    });
    expect(out.suppressed.get(top)).toBe('DOMINANCE');
    expect(out.cells[top]).toMatchObject({ suppressed: true, reasonCode: 'DOMINANCE' });
    expect(out.suppressed.size).toBeGreaterThanOrEqual(2);
    // The rule errs on the safe side: no released stage has a shop above p %.
    for (const s of STAGES) if (!out.suppressed.has(s)) expect(share(s) * 100).toBeLessThanOrEqual(p);
    const withheld = new Set(out.suppressed.keys());
    expect(determinedCells(STAGES, withheld, segmentQuery.margins!(t.spec))).toEqual([]);
    // Without the complement, the lone withheld stage would be determined by the grand total.
    expect(determinedCells(STAGES, new Set([top]), segmentQuery.margins!(t.spec))).toEqual([top]);
  });

  it('never leaves a relation with one withheld cell, nor withheld cells under k together (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 40 }), (counts, k) => {
        const cells = counts.map((n, i) => ({ name: `c${i}`, subjects: BigInt(n) }));
        const names = cells.map((c) => c.name);
        const out = decideSuppression(cells, { minSubjects: k, dominance: null }, [{ parts: names }]);
        for (const c of cells) if (c.subjects < BigInt(k)) expect(out.get(c.name)).toBe('FEWER_THAN_K_SUBJECTS');
        const withheld = new Set(out.keys());
        // Empty cells are withheld by k but reveal nobody when derived.
        const people = cells.filter((c) => withheld.has(c.name) && c.subjects > 0n);
        if (people.length > 0 && withheld.size < names.length) {
          expect(people.length).toBeGreaterThanOrEqual(2);
          expect(people.reduce((s, c) => s + c.subjects, 0n)).toBeGreaterThanOrEqual(BigInt(k));
        }
        const nonEmpty = new Set(people.map((c) => c.name));
        if (withheld.size < names.length) expect(determinedCells(names, withheld, [{ parts: names }]).filter((c) => nonEmpty.has(c))).toEqual([]);
      }),
    );
  });

  it('protects a total cell relation too (histogram bins under their all cell)', () => {
    const cells = [5, 40, 50, 95].map((n, i) => ({ name: i === 3 ? 'all' : `b${i}`, subjects: BigInt(n) }));
    const out = decideSuppression(cells, { minSubjects: 10, dominance: null }, [{ parts: ['b0', 'b1', 'b2'], total: 'all' }]);
    expect([...out]).toEqual([['b0', 'FEWER_THAN_K_SUBJECTS'], ['b1', 'SECONDARY']]);
    expect(determinedCells(['b0', 'b1', 'b2', 'all'], new Set(out.keys()), [{ parts: ['b0', 'b1', 'b2'], total: 'all' }])).toEqual([]);
  });
});

describe('policies in the purpose registry', () => {
  it('parse a dp block, default to exact, and refuse a per-query ρ above the total, naming the path', () => {
    const dp = { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 0.05, totalRho: 1 };
    const reg = structuredClone(DEFAULT_PURPOSE_REGISTRY) as unknown as { purposes: Record<string, unknown>[] };
    reg.purposes[0]!.disclosure = dp;
    expect(parsePurposeRegistry(reg).purposes[0]!.disclosure).toEqual(dp);
    expect(parsePurposeRegistry(DEFAULT_PURPOSE_REGISTRY).purposes[0]!.disclosure).toBeUndefined();
    reg.purposes[0]!.disclosure = { ...dp, rhoPerQuery: 2 };
    expect(() => parsePurposeRegistry(reg)).toThrow(PurposeError);
    expect(() => parsePurposeRegistry(reg)).toThrow(/purposes\.0\.disclosure\.rhoPerQuery/);
  });

  it('take the stricter of the key holder floors and the purpose, and name what a new policy loosens', () => {
    const a = effectivePolicy('p', { mode: 'dp', mechanism: 'discrete-laplace', rhoPerQuery: 0.1, totalRho: 1, minSubjects: 5, dominance: { maxSharePercent: 70 } }, { ...FLOORS, dominance: { maxSharePercent: 80 } });
    expect([a.minSubjects, a.minMerchants, a.dominance]).toEqual([10, 3, { maxSharePercent: 70 }]);
    const bigger = effectivePolicy('p', { mode: 'dp', mechanism: 'discrete-laplace', rhoPerQuery: 0.1, totalRho: 2 }, FLOORS);
    expect(loosening(a, bigger)).toMatch(/dominance|totalRho/);
    expect(loosening(a, effectivePolicy('p', { mode: 'exact' }, FLOORS))).toBeDefined();
    expect(loosening(effectivePolicy('p', undefined, FLOORS), a)).toBeUndefined();
  });
});

function dpPolicy(mechanism: 'discrete-gaussian' | 'discrete-laplace', rho = 0.5): EffectivePolicy {
  return effectivePolicy('marketing-analytics', { mode: 'dp', mechanism, rhoPerQuery: rho, totalRho: 10 }, FLOORS);
}

describe('DP policy: calibration', () => {
  let t: ShopTotals;
  beforeAll(async () => {
    t = await segmentTotals('engine-dp');
  });

  it.each(['discrete-gaussian', 'discrete-laplace'] as const)('%s: a subject\'s privacy loss over the released values is at most the stated ρ', (mechanism) => {
    const policy = dpPolicy(mechanism, 0.5);
    const sensitivity = segmentQuery.subjectSensitivity!(t.spec);
    const out = applyDisclosure({
      cells: segmentQuery.cells(t.spec), fields: segmentQuery.fields(t.spec), totals: t.totals, attestedSubjects: 4000,
      policy, sensitivity, rng: new RandomReader(seededSource(`calib-${mechanism}`)),
    });
    expect(out.dp?.touched).toBe(8); // the attested total plus the seven fields of one stage
    const cell = out.cells.loyal!;
    expect(cell.suppressed).toBe(false);
    if (cell.suppressed) return;
    const terms = [
      { d: 1, p: noiseParameterOf(out.dp!.attestedSubjectsNoise) },
      ...Object.entries(cell.noise!).map(([f, n]) => ({ d: Number(sensitivity.perField[f]!), p: noiseParameterOf(n) })),
    ];
    expect(terms).toHaveLength(8);
    const rho = 0.5;
    if (mechanism === 'discrete-gaussian') {
      const spent = terms.reduce((s, x) => s + (x.d * x.d) / (2 * fractionToNumber(x.p.parameter)), 0);
      expect(spent).toBeCloseTo(rho, 9);
    } else {
      const eps = terms.reduce((s, x) => s + x.d / fractionToNumber(x.p.parameter), 0);
      expect(eps).toBeLessThanOrEqual(Math.sqrt(2 * rho) + 1e-12);
      expect(eps * eps / 2).toBeGreaterThan(rho * 0.999);
    }
    expect(out.dp!.rhoUnits).toBe(RHO_UNITS_PER_ONE / 2n);
  });

  it('noises the attested total too, and is reproducible with an injected source', () => {
    const run = (): string => JSON.stringify(applyDisclosure({
      cells: segmentQuery.cells(t.spec), fields: segmentQuery.fields(t.spec), totals: t.totals, attestedSubjects: 4000,
      policy: dpPolicy('discrete-gaussian'), sensitivity: segmentQuery.subjectSensitivity!(t.spec), rng: new RandomReader(seededSource('repro')),
    }).cells);
    expect(run()).toBe(run());
  });
});

/** The displayed statistics that carry an interval, with the pooled value of each. */
const SHOWN = ['customers', 'repeatCustomers', 'orders', 'repurchaseRate', 'orderValueMean', 'meanDaysBetweenOrders'] as const;
function pooledValue(r: ReferenceRow, stat: (typeof SHOWN)[number]): number {
  return stat === 'repurchaseRate' ? r.repeatCustomers / r.customers : r[stat];
}

describe('DP segment table: interval coverage over 100 seeded runs', () => {
  let t: ShopTotals;
  let reference: Record<string, ReferenceRow>;
  beforeAll(async () => {
    t = await segmentTotals('dp-coverage');
    reference = pooledReference(t.shops.pooledDir);
  });

  it.each(['discrete-gaussian', 'discrete-laplace'] as const)('%s: the pooled answer lies in the shown interval in at least 95 percent of cells', (mechanism) => {
    const policy = dpPolicy(mechanism, 0.5);
    const perStat = new Map<string, [number, number]>(SHOWN.map((s) => [s, [0, 0]]));
    let shownNoise = 0;
    for (let run = 0; run < 100; run++) {
      const out = applyDisclosure({
        cells: segmentQuery.cells(t.spec), fields: segmentQuery.fields(t.spec), totals: t.totals, attestedSubjects: 3695,
        policy, sensitivity: segmentQuery.subjectSensitivity!(t.spec), margins: segmentQuery.margins!(t.spec),
        rng: new RandomReader(seededSource(`coverage-${mechanism}-${run}`)),
      });
      const doc = documentOf(out, policy);
      const table = finaliseSegmentStats(t.spec, releasedTotalsFromDocument(doc)) as SegmentStatsTable;
      const summary = disclosureSummary('segment-stats', t.spec, doc)!;
      expect(summary.mechanism).toBe(mechanism);
      for (const row of table.rows as SegmentStatsRow[]) {
        if (row.suppressed) continue;
        const ci = summary.rows![row.stage]!;
        if (summary.totals[row.stage]![`${row.stage}.customers`]!.sd > 0) shownNoise++;
        for (const stat of SHOWN) {
          const [lo, hi] = ci[stat];
          const truth = pooledValue(reference[row.stage]!, stat);
          const tally = perStat.get(stat)!;
          tally[1]++;
          if (truth >= lo - 1e-9 && truth <= hi + 1e-9) tally[0]++;
        }
      }
    }
    const covered = [...perStat.values()].reduce((s, [c]) => s + c, 0);
    const total = [...perStat.values()].reduce((s, [, n]) => s + n, 0);
    console.log(`${mechanism}: ${covered}/${total} cells covered (${(100 * covered / total).toFixed(2)} %); ` +
      [...perStat].map(([s, [c, n]]) => `${s} ${(100 * c / n).toFixed(1)} %`).join(', '));
    expect(total).toBeGreaterThanOrEqual(100 * 4 * SHOWN.length * 0.9);
    expect(shownNoise).toBeGreaterThan(0);
    expect(covered / total).toBeGreaterThanOrEqual(0.95);
  }, 120_000);
});
