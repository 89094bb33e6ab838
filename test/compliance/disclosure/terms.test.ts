/**
 * The disclosure terms a query is published under. Terms of the built-in
 * purposes and of random exact and DP blocks round-trip through canonical
 * JSON and the parser; the stated k is the larger of the floor and the
 * purpose's; two declared blocks are equal exactly when declaredDifference
 * names nothing, and otherwise it names the first member, in the documented
 * order, in which they differ; the parser refuses malformed terms with
 * DISCLOSURE_TERMS_INVALID naming the path, and whatever it accepts of a
 * random mutation is the input itself and round-trips.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson } from '../../../analytics/index.js';
import { DEFAULT_PURPOSES, DisclosureError, declaredDifference, declaredDisclosure, disclosureTerms, parseDisclosureTerms, type DeclaredDisclosure, type DisclosureTerms } from '../../../compliance/index.js';
import type { PurposeDisclosure } from '../../../compliance/disclosure/policy.js';

const roundTrip = (t: DisclosureTerms): DisclosureTerms => parseDisclosureTerms(JSON.parse(canonicalSpecJson(t)));

const DP: PurposeDisclosure = { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQuery: 0.05, totalRho: 1, delta: 1e-6, confidence: 0.95, minSubjects: 10, minMerchants: 3, dominance: { maxSharePercent: 60 }, maxSaturation: 0.2 };
const EXACT: PurposeDisclosure = { mode: 'exact', minSubjects: 10, minMerchants: 3, dominance: { maxSharePercent: 60 }, maxSaturation: 0.2 };

/** Valid disclosure blocks, every optional member present or not. */
const thresholds = {
  minSubjects: fc.integer({ min: 1, max: 50 }),
  minMerchants: fc.integer({ min: 2, max: 10 }),
  dominance: fc.record({ maxSharePercent: fc.integer({ min: 1, max: 100 }) }),
  maxSaturation: fc.constantFrom(0.05, 0.1, 0.2, 0.5, 1),
};
const blockArb: fc.Arbitrary<PurposeDisclosure> = fc.oneof(
  fc.record({ mode: fc.constant('exact' as const), ...thresholds }, { requiredKeys: ['mode'] }),
  fc
    .record(
      {
        mode: fc.constant('dp' as const),
        mechanism: fc.constantFrom('discrete-gaussian' as const, 'discrete-laplace' as const),
        rhoMillis: fc.integer({ min: 1, max: 5000 }),
        times: fc.integer({ min: 1, max: 100 }),
        delta: fc.constantFrom(1e-6, 1e-9, 0.01),
        confidence: fc.constantFrom(0.5, 0.9, 0.95, 0.99),
        ...thresholds,
      },
      { requiredKeys: ['mode', 'mechanism', 'rhoMillis', 'times'] },
    )
    .map(({ rhoMillis, times, ...rest }) => ({ ...rest, rhoPerQuery: rhoMillis / 1000, totalRho: (rhoMillis * times) / 1000 })),
);

/** The members declaredDifference compares, in the documented order, read from a declared block. */
const MEMBERS: [string, (d: DeclaredDisclosure) => unknown][] = [
  ['mode', (d) => d.mode],
  ['minSubjects', (d) => d.minSubjects],
  ['minMerchants', (d) => d.minMerchants],
  ['dominance.maxSharePercent', (d) => d.dominance?.maxSharePercent ?? null],
  ['maxSaturation', (d) => d.maxSaturation],
  ['dp.mechanism', (d) => d.dp?.mechanism ?? null],
  ['dp.rhoPerQuery', (d) => d.dp?.rhoPerQuery ?? null],
  ['dp.totalRho', (d) => d.dp?.totalRho ?? null],
  ['dp.delta', (d) => d.dp?.delta ?? null],
  ['dp.confidence', (d) => d.dp?.confidence ?? null],
];

describe('declaredDisclosure and disclosureTerms', () => {
  it.each(DEFAULT_PURPOSES.map((p) => [p.name, p] as const))('terms of the built-in purpose %s round-trip through canonical JSON', (_, p) => {
    const t = disclosureTerms(p, 10);
    expect(roundTrip(t)).toEqual(t);
    expect(t.purpose).toBe(p.name);
    expect(t.minSubjects).toBe(Math.max(10, p.disclosure?.minSubjects ?? 0));
    if (p.disclosure === undefined) expect(t.declared).toEqual({ mode: 'exact', minSubjects: null, minMerchants: null, dominance: null, maxSaturation: null, dp: null });
  });

  it('makes every member explicit, and round-trips terms of random blocks (property)', () => {
    fc.assert(
      fc.property(blockArb, fc.integer({ min: 1, max: 40 }), (block, floor) => {
        const t = disclosureTerms({ name: 'p-1', disclosure: block }, floor);
        expect(roundTrip(t)).toEqual(t);
        expect(t.minSubjects).toBe(Math.max(floor, block.minSubjects ?? 0));
        const d = t.declared;
        expect(d.mode).toBe(block.mode);
        expect(d.minSubjects).toBe(block.minSubjects ?? null);
        expect(d.minMerchants).toBe(block.minMerchants ?? null);
        expect(d.dominance).toEqual(block.dominance ?? null);
        expect(d.maxSaturation).toBe(block.maxSaturation ?? null);
        if (block.mode === 'dp') {
          expect(d.dp).toEqual({ mechanism: block.mechanism, rhoPerQuery: block.rhoPerQuery, totalRho: block.totalRho, delta: block.delta ?? null, confidence: block.confidence ?? null });
        } else expect(d.dp).toBeNull();
      }),
      { numRuns: 150 },
    );
  });

  it.each<[number, number | undefined, number]>([
    [10, undefined, 10],
    [10, 5, 10],
    [10, 10, 10],
    [10, 25, 25],
    [1, 3, 3],
  ])('states k = %i floor with the purpose asking %s as %i', (floor, k, expected) => {
    expect(disclosureTerms({ name: 'p', disclosure: k === undefined ? undefined : { mode: 'exact', minSubjects: k } }, floor).minSubjects).toBe(expected);
  });

  it('refuses a block that does not parse, naming the purpose and the path', () => {
    const bad = { ...DP, mechanism: 'coin-flip' } as unknown as PurposeDisclosure;
    expect(() => declaredDisclosure('promo', bad)).toThrow(expect.objectContaining({ code: 'DISCLOSURE_POLICY_INVALID', purpose: 'promo', message: expect.stringContaining("purpose 'promo' disclosure.mechanism") }));
    expect(() => declaredDisclosure('promo', { ...DP, rhoPerQuery: 2 })).toThrow(/disclosure\.rhoPerQuery/);
    expect(() => disclosureTerms(null as unknown as { name: string }, 10)).toThrow(TypeError);
    expect(() => disclosureTerms({ name: 'p' }, 0)).toThrow(RangeError);
  });
});

describe('declaredDifference', () => {
  const dp = declaredDisclosure('p', DP);

  it('names mode first between a DP block and an exact one with the same thresholds', () => {
    expect(declaredDifference(dp, declaredDisclosure('p', EXACT))).toBe('mode: "dp" vs "exact"');
    expect(declaredDifference(declaredDisclosure('p', EXACT), dp)).toBe('mode: "exact" vs "dp"');
    expect(declaredDifference(declaredDisclosure('p', undefined), dp)).toMatch(/^mode: /);
  });

  it.each<[string, PurposeDisclosure]>([
    ['minSubjects', { ...DP, minSubjects: 11 }],
    ['minMerchants', { ...DP, minMerchants: 4 }],
    ['dominance.maxSharePercent', { ...DP, dominance: { maxSharePercent: 50 } }],
    ['dominance.maxSharePercent', { ...DP, dominance: undefined }],
    ['maxSaturation', { ...DP, maxSaturation: 0.1 }],
    ['maxSaturation', { ...DP, maxSaturation: undefined }],
    ['dp.mechanism', { ...DP, mechanism: 'discrete-laplace' }],
    ['dp.rhoPerQuery', { ...DP, rhoPerQuery: 0.04 }],
    ['dp.totalRho', { ...DP, totalRho: 2 }],
    ['dp.delta', { ...DP, delta: 1e-7 }],
    ['dp.delta', { ...DP, delta: undefined }],
    ['dp.confidence', { ...DP, confidence: 0.9 }],
    ['minSubjects', { ...DP, minSubjects: 12, totalRho: 3, confidence: 0.9 }],
  ])('names %s', (member, other) => {
    const d = declaredDifference(dp, declaredDisclosure('p', other));
    expect(d).toMatch(new RegExp(`^${member.replace('.', '\\.')}: `));
  });

  it('names nothing exactly when the blocks are equal, else the first member that differs (property)', () => {
    fc.assert(
      fc.property(blockArb, blockArb, fc.boolean(), (x, y, same) => {
        const a = declaredDisclosure('p', x);
        const b = declaredDisclosure('p', same ? structuredClone(x) : y);
        const d = declaredDifference(a, b);
        expect(d === undefined).toBe(isDeepStrictEqual(a, b));
        if (d === undefined) return;
        const i = MEMBERS.findIndex(([name]) => d.startsWith(`${name}: `));
        expect(i).toBeGreaterThanOrEqual(0);
        const [, read] = MEMBERS[i]!;
        expect(read(a)).not.toBe(read(b));
        expect(d).toBe(`${MEMBERS[i]![0]}: ${JSON.stringify(read(a))} vs ${JSON.stringify(read(b))}`);
        for (const [, earlier] of MEMBERS.slice(0, i)) expect(earlier(a)).toBe(earlier(b));
      }),
      { numRuns: 200 },
    );
  });
});

/** The path a DISCLOSURE_TERMS_INVALID error names ('' for the terms themselves). */
function refusedPath(e: unknown): string {
  expect(e).toBeInstanceOf(DisclosureError);
  expect((e as DisclosureError).code).toBe('DISCLOSURE_TERMS_INVALID');
  const head = (e as DisclosureError).message.split(': ')[0]!;
  expect(head.startsWith('disclosure terms')).toBe(true);
  return head.slice('disclosure terms'.length).trim();
}

function refusal(json: unknown): string {
  try {
    parseDisclosureTerms(json);
  } catch (e) {
    return refusedPath(e);
  }
  throw new Error('accepted');
}

describe('parseDisclosureTerms', () => {
  const valid = (): Record<string, any> => JSON.parse(canonicalSpecJson(disclosureTerms({ name: 'p', disclosure: DP }, 10))) as Record<string, any>;
  const edit = (f: (o: Record<string, any>) => void): unknown => {
    const o = valid();
    f(o);
    return o;
  };

  it.each<[string, string, (o: Record<string, any>) => void]>([
    ['an extra key', '', (o) => (o.extra = 1)],
    ['an extra declared key', 'declared', (o) => (o.declared.extra = 1)],
    ['an extra dp key', 'declared.dp', (o) => (o.declared.dp.epsilon = 1)],
    ['no purpose', 'purpose', (o) => delete o.purpose],
    ['an empty purpose', 'purpose', (o) => (o.purpose = '')],
    ['a purpose of 129 characters', 'purpose', (o) => (o.purpose = 'p'.repeat(129))],
    ['k of 0', 'minSubjects', (o) => (o.minSubjects = 0)],
    ['k of 2.5', 'minSubjects', (o) => (o.minSubjects = 2.5)],
    ['k as a string', 'minSubjects', (o) => (o.minSubjects = '10')],
    ['an unknown mode', 'declared.mode', (o) => (o.declared.mode = 'noisy')],
    ['dp terms under mode exact', 'declared.dp', (o) => (o.declared.mode = 'exact')],
    ['mode dp without dp terms', 'declared.dp', (o) => (o.declared.dp = null)],
    ['declared k of 0', 'declared.minSubjects', (o) => (o.declared.minSubjects = 0)],
    ['one merchant', 'declared.minMerchants', (o) => (o.declared.minMerchants = 1)],
    ['a dominance share of 0', 'declared.dominance.maxSharePercent', (o) => (o.declared.dominance.maxSharePercent = 0)],
    ['a dominance share above 100', 'declared.dominance.maxSharePercent', (o) => (o.declared.dominance.maxSharePercent = 101)],
    ['a saturation of 0', 'declared.maxSaturation', (o) => (o.declared.maxSaturation = 0)],
    ['a saturation above 1', 'declared.maxSaturation', (o) => (o.declared.maxSaturation = 1.5)],
    ['a missing saturation member', 'declared.maxSaturation', (o) => delete o.declared.maxSaturation],
    ['an unknown mechanism', 'declared.dp.mechanism', (o) => (o.declared.dp.mechanism = 'gaussian')],
    ['ρ of 0', 'declared.dp.rhoPerQuery', (o) => (o.declared.dp.rhoPerQuery = 0)],
    ['a negative total ρ', 'declared.dp.totalRho', (o) => (o.declared.dp.totalRho = -1)],
    ['δ as a string', 'declared.dp.delta', (o) => (o.declared.dp.delta = '1e-6')],
    ['declared as an array', 'declared', (o) => (o.declared = [])],
  ])('refuses %s, naming %j', (_, path, f) => {
    expect(refusal(edit(f))).toBe(path);
  });

  it.each([null, [], 'terms', 5, undefined])('refuses %j, naming the terms', (v) => {
    expect(refusal(v)).toBe('');
  });

  it('refuses random mutations or accepts them as they are, and what it accepts round-trips (property)', () => {
    const value: fc.Arbitrary<unknown> = fc.oneof(
      fc.constantFrom('exact', 'dp', 'discrete-laplace', 'discrete-gaussian', '', 'p', 'x'.repeat(129)),
      fc.constantFrom(0, 1, 2, 0.5, 0.2, 1.5, 10, 100, 101, -1, 1e9, 1e9 + 1, 2.5),
      fc.constantFrom(null, true, [], {}, { maxSharePercent: 50 }),
      fc.double({ min: -2, max: 200, noNaN: true }),
    );
    const paths = [[], ['purpose'], ['minSubjects'], ['declared'], ['declared', 'mode'], ['declared', 'minSubjects'], ['declared', 'minMerchants'], ['declared', 'dominance'], ['declared', 'dominance', 'maxSharePercent'], ['declared', 'maxSaturation'], ['declared', 'dp'], ['declared', 'dp', 'mechanism'], ['declared', 'dp', 'rhoPerQuery'], ['declared', 'dp', 'totalRho'], ['declared', 'dp', 'delta'], ['declared', 'dp', 'confidence']];
    const mutation = fc.record({ path: fc.constantFrom(...paths), op: fc.constantFrom('set', 'delete', 'add'), key: fc.constantFrom('extra', 'mode', 'dp', '__proto__'), value });
    fc.assert(
      fc.property(blockArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (block, mutations) => {
        const o = JSON.parse(canonicalSpecJson(disclosureTerms({ name: 'p', disclosure: block }, 10))) as Record<string, unknown>;
        const touched: string[] = [];
        for (const m of mutations) {
          const parentPath = m.op === 'add' ? m.path : m.path.slice(0, -1);
          let parent: unknown = o;
          for (const step of parentPath) parent = typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>)[step] : undefined;
          if (typeof parent !== 'object' || parent === null || (m.op !== 'add' && m.path.length === 0)) continue;
          const target = parent as Record<string, unknown>;
          const last = m.path[m.path.length - 1]!;
          if (m.op === 'set') target[last] = m.value;
          else if (m.op === 'delete') delete target[last];
          else Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
          touched.push(m.path.join('.'));
        }
        let parsed: DisclosureTerms | undefined;
        let error: unknown;
        try {
          parsed = parseDisclosureTerms(o);
        } catch (e) {
          error = e;
        }
        if (parsed !== undefined) {
          expect(parsed).toEqual(o);
          expect(roundTrip(parsed)).toEqual(parsed);
          expect(parsed.declared.mode === 'dp').toBe(parsed.declared.dp !== null);
          expect(Number.isInteger(parsed.minSubjects) && parsed.minSubjects >= 1).toBe(true);
          return;
        }
        const path = refusedPath(error);
        // The path named is on the way to a change or inside one; the dp/mode rule may name declared.dp for a change of mode.
        const related = touched.some((t) => t.startsWith(path) || path.startsWith(t)) || (path === 'declared.dp' && touched.some((t) => t.startsWith('declared')));
        expect(related).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
