/**
 * Model release rules on support counts. The groups a model's variables
 * single out (each support, an indicator's zero level, each pair's joint
 * support and the four cells of two indicators' table) are counted here by
 * scanning the rows, and `checkModelRules` over `supportCounts` refuses
 * exactly when one of them holds 1..k−1 rows, naming the variables of the
 * first such group, or when parameters reach the saturation share of the
 * rows. The moment layout's support counts, cell groups and argument checks
 * are shown on fixed vectors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accumulateMoments, checkModelRules, momentFields } from '../../analytics/index.js';
import { groupSize, pairSupportField, supportCounts, supportField, supportFields, supportGroups, type ModelGroup, type ModelRules } from '../../analytics/model-rules.js';
import { momentModelRules, type MomentLayout } from '../../analytics/moment-sums.js';

/** One group as the test sees it: the rows it holds and the variables it names. */
interface PlainGroup {
  readonly variables: readonly string[];
  readonly holds: (row: readonly number[]) => boolean;
}

/**
 * The groups of `vars` in the documented order: per variable its support and,
 * for an indicator, its zero level; then per pair (in list order) both
 * nonzero and, for two indicators, the other three cells of their table.
 */
function plainGroups(vars: readonly string[], isIndicator: readonly boolean[], skip: ReadonlySet<number> = new Set()): PlainGroup[] {
  const used = vars.map((_, i) => i).filter((i) => !skip.has(i));
  const nz = (row: readonly number[], i: number) => row[i] !== 0;
  const out: PlainGroup[] = [];
  for (const i of used) {
    out.push({ variables: [vars[i]!], holds: (r) => nz(r, i) });
    if (isIndicator[i]) out.push({ variables: [vars[i]!], holds: (r) => !nz(r, i) });
  }
  for (let x = 0; x < used.length; x++) {
    for (let y = x + 1; y < used.length; y++) {
      const i = used[x]!;
      const j = used[y]!;
      const names = [vars[i]!, vars[j]!];
      out.push({ variables: names, holds: (r) => nz(r, i) && nz(r, j) });
      if (isIndicator[i] && isIndicator[j]) {
        out.push({ variables: names, holds: (r) => nz(r, i) && !nz(r, j) });
        out.push({ variables: names, holds: (r) => !nz(r, i) && nz(r, j) });
        out.push({ variables: names, holds: (r) => !nz(r, i) && !nz(r, j) });
      }
    }
  }
  return out;
}

/** The plain decision: the first group of 1..k−1 rows, else saturation, else nothing. */
function plainDecision(rows: readonly (readonly number[])[], groups: readonly PlainGroup[], k: number, parameters: number, maxSaturation: number): { code: string; variables: readonly string[] } | null {
  for (const g of groups) {
    let size = 0;
    for (const r of rows) if (g.holds(r)) size++;
    if (size > 0 && size < k) return { code: 'LEVEL_TOO_FEW_SUBJECTS', variables: g.variables };
  }
  if (rows.length > 0 && parameters / rows.length >= maxSaturation) return { code: 'SATURATION', variables: [] };
  return null;
}

/** Totals as the key holder decrypts them: the support counts under their field names, and `n`. */
function totalsOf(vars: readonly string[], rows: readonly (readonly number[])[], skip?: (v: string) => boolean): Map<string, bigint> {
  const names = supportFields(vars, 1n << 40n, skip).map((f) => f.name);
  const counts = supportCounts(vars, rows, skip);
  expect(counts).toHaveLength(names.length);
  return new Map<string, bigint>([['n', BigInt(rows.length)], ...names.map((f, i) => [f, counts[i]!] as const)]);
}

const NAMES = ['a', 'b', 'c', 'd', 'e'];

/**
 * Rows of `width` columns: indicators 0/1, numeric columns mostly zero.
 * Half the matrices repeat a few row patterns a few times each, so that
 * groups of every size, and groups that are empty, are common.
 */
const matrixArb = fc.integer({ min: 1, max: 5 }).chain((width) => {
  const cell = fc.constantFrom(0, 0, 0, 1, -2.5, 3, 1e-9);
  const row = fc.array(cell, { minLength: width, maxLength: width });
  const scattered = fc.array(row, { maxLength: 40 });
  const patterned = fc.array(fc.tuple(row, fc.constantFrom(1, 2, 3, 4, 5, 6, 8, 10)), { maxLength: 6 }).map((ps) => ps.flatMap(([r, times]) => Array.from({ length: times }, () => r)));
  return fc.record({ indicator: fc.array(fc.boolean(), { minLength: width, maxLength: width }), values: fc.oneof(scattered, patterned) }).map(({ indicator, values }) => ({
    vars: NAMES.slice(0, width),
    indicator,
    // An indicator column is 1 where the drawn value is nonzero.
    rows: values.map((r) => r.map((v, i) => (indicator[i] ? (v !== 0 ? 1 : 0) : v))),
  }));
});

describe('checkModelRules over supportGroups (property)', () => {
  it('refuses exactly when a plainly counted group holds 1..k−1 rows (naming the first one), else on saturation', () => {
    fc.assert(
      fc.property(matrixArb, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 12 }), fc.constantFrom(0.05, 0.2, 0.5, 1), ({ vars, indicator, rows }, k, parameters, maxSaturation) => {
        const isIndicator = (v: string) => indicator[vars.indexOf(v)] === true;
        const rules: ModelRules = { rowsField: 'n', parameters, groups: supportGroups(vars, isIndicator) };
        const out = checkModelRules(rules, totalsOf(vars, rows), k, maxSaturation);
        const plain = plainDecision(rows, plainGroups(vars, indicator), k, parameters, maxSaturation);
        if (plain === null) expect(out.refusal).toBeNull();
        else expect(out.refusal).toMatchObject({ code: plain.code, variables: plain.variables });
        expect(out.withheld.size).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('leaves a skipped variable (an intercept) out of every group', () => {
    fc.assert(
      fc.property(matrixArb, fc.integer({ min: 1, max: 8 }), ({ vars, indicator, rows }, k) => {
        // Column 0 becomes an intercept: 1 in every row, and skipped.
        const withOne = rows.map((r) => [1, ...r]);
        const all = ['one', ...vars];
        const ind = [true, ...indicator];
        const skip = (v: string) => v === 'one';
        const rules: ModelRules = { rowsField: 'n', parameters: 0, groups: supportGroups(all, (v) => ind[all.indexOf(v)] === true, skip) };
        expect(rules.groups.every((g) => !g.variables.includes('one'))).toBe(true);
        const out = checkModelRules(rules, totalsOf(all, withOne, skip), k, 1);
        const plain = plainDecision(withOne, plainGroups(all, ind, new Set([0])), k, 0, 1);
        expect(out.refusal === null ? null : out.refusal.variables).toEqual(plain === null ? null : plain.variables);
      }),
      { numRuns: 100 },
    );
  });
});

describe('supportFields and supportCounts', () => {
  it('count each support and each pair (list order) as a plain scan does, in the declared field order', () => {
    const rows = [
      [1, 0, 2.5],
      [1, 1, 0],
      [0, 1, -1],
      [0, 0, 0],
      [1, 1, 7],
    ];
    const vars = ['x', 'y', 'z'];
    expect(supportFields(vars, 9n)).toEqual([
      { name: 'nz(x)', max: 9n },
      { name: 'nz(y)', max: 9n },
      { name: 'nz(z)', max: 9n },
      { name: 'nz(x,y)', max: 9n },
      { name: 'nz(x,z)', max: 9n },
      { name: 'nz(y,z)', max: 9n },
    ]);
    // x: rows 0,1,4; y: 1,2,4; z: 0,2,4; x∧y: 1,4; x∧z: 0,4; y∧z: 2,4.
    expect(supportCounts(vars, rows)).toEqual([3n, 3n, 3n, 2n, 2n, 2n]);
    expect(supportFields(vars, 9n, (v) => v === 'y').map((f) => f.name)).toEqual(['nz(x)', 'nz(z)', 'nz(x,z)']);
    expect(supportCounts(vars, rows, (v) => v === 'y')).toEqual([3n, 3n, 2n]);
    expect(supportCounts(vars, [])).toEqual([0n, 0n, 0n, 0n, 0n, 0n]);
    expect(supportField('x')).toBe('nz(x)');
    expect(pairSupportField('x', 'y')).toBe('nz(x,y)');
  });
});

describe('groupSize', () => {
  const totals = new Map([
    ['nz(a)', 7n],
    ['nz(b)', 4n],
    ['nz(a,b)', 3n],
  ]);

  it.each<[string, ModelGroup, bigint]>([
    ['a support', { label: 'a', variables: ['a'], terms: [{ field: 'nz(a)', sign: 1 }] }, 7n],
    ['a zero level', { label: 'not a', variables: ['a'], fromRows: true, terms: [{ field: 'nz(a)', sign: -1 }] }, 13n],
    ['a ∧ not b', { label: 'a∧¬b', variables: ['a', 'b'], terms: [{ field: 'nz(a)', sign: 1 }, { field: 'nz(a,b)', sign: -1 }] }, 4n],
    ['neither', { label: '¬a∧¬b', variables: ['a', 'b'], fromRows: true, terms: [{ field: 'nz(a)', sign: -1 }, { field: 'nz(b)', sign: -1 }, { field: 'nz(a,b)', sign: 1 }] }, 12n],
  ])('is rows (when fromRows) plus the signed fields: %s', (_, group, size) => {
    expect(groupSize(group, 20n, totals)).toBe(size);
  });

  it('throws RangeError naming a missing field and the group', () => {
    expect(() => groupSize({ label: 'g1', variables: ['q'], terms: [{ field: 'nz(q)', sign: 1 }] }, 5n, totals)).toThrow(/'nz\(q\)'.*'g1'/);
  });
});

describe('checkModelRules on fixed totals', () => {
  const one = (field: string): ModelGroup => ({ label: `the level ${field}`, variables: [field], terms: [{ field, sign: 1 }] });
  const rules = (parameters: number, ...groups: ModelGroup[]): ModelRules => ({ rowsField: 'n', parameters, groups });

  it.each([
    [0n, null],
    [1n, 'LEVEL_TOO_FEW_SUBJECTS'],
    [9n, 'LEVEL_TOO_FEW_SUBJECTS'],
    [10n, null],
    [11n, null],
  ])('a group of %s rows under k = 10: %s', (size, code) => {
    const out = checkModelRules(rules(1, one('x')), new Map([['n', 100n], ['x', size]]), 10, 0.2);
    expect(out.refusal?.code ?? null).toBe(code);
    if (code !== null) {
      expect(out.refusal!.variables).toEqual(['x']);
      expect(out.refusal!.message).toContain('the level x');
    }
  });

  it.each([
    [19, 100n, null],
    [20, 100n, 'SATURATION'],
    [21, 100n, 'SATURATION'],
    [5, 0n, null],
    [0, 1n, null],
  ])('%s parameters from %s rows at maxSaturation 0.2: %s', (parameters, n, code) => {
    const out = checkModelRules(rules(parameters), new Map([['n', n]]), 10, 0.2);
    expect(out.refusal?.code ?? null).toBe(code);
    if (code !== null) expect(out.refusal!.variables).toEqual([]);
  });

  // Two indicators' 2×2 table [a∧b, a∧¬b, ¬a∧b, ¬a∧¬b] with one cell of 2 under k = 5; both margins of each pass.
  it.each<[string, [number, number, number, number]]>([
    ['the intersection a ∧ b', [2, 5, 5, 5]],
    ['a ∧ not b', [5, 2, 5, 5]],
    ['not a ∧ b', [5, 5, 2, 5]],
    ['not a ∧ not b', [5, 5, 5, 2]],
    ['', [0, 5, 5, 0]],
    ['', [5, 0, 0, 5]],
  ])('refuses the one small cell of two indicators (%s) whose margins pass', (label, [ab, aNotB, notAB, neither]) => {
    const rows = [...Array(ab).fill([1, 1]), ...Array(aNotB).fill([1, 0]), ...Array(notAB).fill([0, 1]), ...Array(neither).fill([0, 0])] as number[][];
    const out = checkModelRules({ rowsField: 'n', parameters: 0, groups: supportGroups(['a', 'b'], () => true) }, totalsOf(['a', 'b'], rows), 5, 0.2);
    if (label === '') expect(out.refusal).toBeNull();
    else expect(out.refusal).toMatchObject({ code: 'LEVEL_TOO_FEW_SUBJECTS', variables: ['a', 'b'], message: expect.stringContaining(`${label} holds fewer than 5`) });
  });

  it('names the first failing group in declaration order, before saturation', () => {
    const totals = new Map([['n', 10n], ['x', 3n], ['y', 2n]]);
    expect(checkModelRules(rules(9, one('x'), one('y')), totals, 5, 0.2).refusal?.variables).toEqual(['x']);
    expect(checkModelRules(rules(9, one('y'), one('x')), totals, 5, 0.2).refusal?.variables).toEqual(['y']);
    expect(checkModelRules(rules(9), totals, 5, 0.2).refusal?.code).toBe('SATURATION');
  });

  it('withholds a cell whose inner group fails, counting fromRows in the cell, and refuses nothing for it', () => {
    const inner = (field: string): ModelGroup => ({ label: `outside ${field}`, variables: [field], fromRows: true, terms: [{ field, sign: -1 }] });
    const r: ModelRules = {
      rowsField: 'n',
      parameters: 1,
      groups: [],
      cellGroups: [
        { cell: 'c1', groups: [one('c1.x')] }, // 3 rows: withheld
        { cell: 'c2', groups: [inner('c2.x')] }, // 40 − 38 = 2 rows in the cell: withheld
        { cell: 'c3', groups: [inner('c3.x')] }, // 40 − 30 = 10: kept
        { cell: 'c4', groups: [inner('c4.x')] }, // no count of its own: 100 − 95 = 5 of all rows: withheld
        { cell: 'c5', groups: [one('c5.x')] }, // 0 rows: kept
      ],
    };
    const totals = new Map([['n', 100n], ['c1.x', 3n], ['c2', 40n], ['c2.x', 38n], ['c3', 40n], ['c3.x', 30n], ['c4.x', 95n], ['c5.x', 0n]]);
    const out = checkModelRules(r, totals, 10, 0.2);
    expect(out.refusal).toBeNull();
    expect([...out.withheld].sort()).toEqual(['c1', 'c2', 'c4']);
  });

  it.each<[string, () => unknown, RegExp | typeof TypeError | typeof RangeError]>([
    ['rules not an object', () => checkModelRules(null as unknown as ModelRules, new Map(), 10, 0.2), TypeError],
    ['totals not a Map', () => checkModelRules(rules(0), {} as unknown as Map<string, bigint>, 10, 0.2), TypeError],
    ['k of 0', () => checkModelRules(rules(0), new Map([['n', 1n]]), 0, 0.2), /minSubjects/],
    ['k not an integer', () => checkModelRules(rules(0), new Map([['n', 1n]]), 2.5, 0.2), /minSubjects/],
    ['maxSaturation 0', () => checkModelRules(rules(0), new Map([['n', 1n]]), 10, 0), /maxSaturation/],
    ['maxSaturation above 1', () => checkModelRules(rules(0), new Map([['n', 1n]]), 10, 1.5), /maxSaturation/],
    ['maxSaturation NaN', () => checkModelRules(rules(0), new Map([['n', 1n]]), 10, Number.NaN), /maxSaturation/],
    ['rows field missing', () => checkModelRules(rules(0), new Map(), 10, 0.2), /rows field 'n'/],
    ['group field missing', () => checkModelRules(rules(0, one('x')), new Map([['n', 1n]]), 10, 0.2), /'x'/],
  ])('checks its arguments: %s', (_, call, error) => {
    expect(call).toThrow(error);
  });
});

describe('momentModelRules on accumulated moments', () => {
  const K = 10;
  /** Variables: three indicators and a numeric one. */
  const layout: MomentLayout = { variables: ['stage_new', 'age_65', 'city_1', 'spend'], maxAbs: [1, 1, 1, 1e6], maxRows: 1000n, scaleBits: 8, indicators: [true, true, true, false] };

  /** 50 customers; `pick(i)` gives customer i's indicator values; spend is nonzero for everyone. */
  function totals(pick: (i: number) => [number, number, number], spend: (i: number) => number = (i) => 10 + i): Map<string, bigint> {
    const rows = Array.from({ length: 50 }, (_, i) => [...pick(i), spend(i)]);
    const names = momentFields(layout).map((f) => f.name);
    const values = accumulateMoments(layout, rows);
    expect(values).toHaveLength(names.length);
    return new Map(names.map((f, i) => [f, values[i]!]));
  }

  const check = (t: Map<string, bigint>, parameters = 5) => checkModelRules(momentModelRules(layout, parameters), t, K, 0.2);

  it('ends the layout with support counts equal to a plain count of the rows', () => {
    const t = totals((i) => [i < 20 ? 1 : 0, i >= 10 && i < 30 ? 1 : 0, i % 2], (i) => (i % 5 === 0 ? 0 : i));
    const names = momentFields(layout).map((f) => f.name);
    expect(names.slice(-10)).toEqual(supportFields(layout.variables, 1n).map((f) => f.name));
    expect(t.get('nz(stage_new)')).toBe(20n);
    expect(t.get('nz(age_65)')).toBe(20n);
    expect(t.get('nz(city_1)')).toBe(25n);
    expect(t.get('nz(spend)')).toBe(40n);
    expect(t.get('nz(stage_new,age_65)')).toBe(10n);
    expect(t.get('nz(stage_new,city_1)')).toBe(10n);
    expect(t.get('nz(age_65,spend)')).toBe(16n); // i in 10..29 not a multiple of 5
    expect(check(t).refusal).toBeNull();
  });

  it('refuses a one-hot feature held by one customer among 50, naming it', () => {
    const out = check(totals((i) => [i === 7 ? 1 : 0, i % 2, i < 25 ? 1 : 0]));
    expect(out.refusal).toMatchObject({ code: 'LEVEL_TOO_FEW_SUBJECTS', variables: ['stage_new'] });
    expect(out.refusal!.message).toContain('stage_new');
  });

  it('refuses an indicator held by all but 3, naming it (its zero level is a group)', () => {
    expect(check(totals((i) => [i < 47 ? 1 : 0, i % 2, i < 25 ? 1 : 0])).refusal).toMatchObject({ code: 'LEVEL_TOO_FEW_SUBJECTS', variables: ['stage_new'] });
  });

  it('refuses an intersection of two indicators with 3 rows, naming both', () => {
    // stage_new: 0..19, age_65: 17..36; both: 17, 18, 19. The other cells: 17, 17, 13.
    const out = check(totals((i) => [i < 20 ? 1 : 0, i >= 17 && i < 37 ? 1 : 0, i < 25 ? 1 : 0]));
    expect(out.refusal).toMatchObject({ code: 'LEVEL_TOO_FEW_SUBJECTS', variables: ['stage_new', 'age_65'] });
  });

  it('lets zero intersections through: two disjoint levels', () => {
    // stage_new: 0..19 and age_65: 20..39 never meet; city_1 (0..9 and 20..29) meets each in 10. Every other cell holds 10 or more.
    const out = check(totals((i) => [i < 20 ? 1 : 0, i >= 20 && i < 40 ? 1 : 0, (i < 10 || (i >= 20 && i < 30)) ? 1 : 0]));
    expect(out.refusal).toBeNull();
  });

  it('refuses a numeric feature nonzero for one customer, naming it', () => {
    expect(check(totals((i) => [i < 20 ? 1 : 0, i >= 20 && i < 40 ? 1 : 0, (i < 10 || (i >= 20 && i < 30)) ? 1 : 0], (i) => (i === 3 ? 99 : 0))).refusal).toMatchObject({
      code: 'LEVEL_TOO_FEW_SUBJECTS',
      variables: ['spend'],
    });
  });

  it('refuses saturation from the parameters and the rows n', () => {
    const t = totals((i) => [i < 20 ? 1 : 0, i >= 20 && i < 40 ? 1 : 0, (i < 10 || (i >= 20 && i < 30)) ? 1 : 0]);
    expect(check(t, 9).refusal).toBeNull();
    expect(check(t, 10).refusal?.code).toBe('SATURATION');
  });
});
