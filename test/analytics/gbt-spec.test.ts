import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuerySpecError } from '../../analytics/errors.js';
import { GBT_DEFAULTS, GBT_KIND, gbtBinCount, gbtWithEdges, parseGbtSpec, parseGbtWrittenSpec } from '../../analytics/gbt-spec.js';

const base = {
  kind: GBT_KIND,
  purpose: 'churn-modelling',
  label: { name: 'churned', type: 'binary' },
  variables: [
    { name: 'age', type: 'numeric', edges: [30, 45, 60] },
    { name: 'region', type: 'categorical', levels: ['north', 'south'] },
  ],
};

function specError(json: unknown, k = 10): QuerySpecError {
  try {
    parseGbtSpec(json, k);
  } catch (err) {
    if (err instanceof QuerySpecError) return err;
    throw err;
  }
  throw new Error('expected a QuerySpecError');
}

describe('gradient-boosted-trees spec', () => {
  it('fills the defaults, with minLeafSubjects = k and the loss from the label type', () => {
    const spec = parseGbtSpec(base, 12);
    expect(spec).toMatchObject({
      kind: GBT_KIND,
      loss: 'logistic',
      maxLabelAbs: 1,
      trees: 20,
      depth: 3,
      learningRate: 0.1,
      l2: 1,
      bins: 16,
      minLeafSubjects: 12,
      minSplitGain: 0,
      baseMargin: 0,
      maxRows: 2 ** 24,
    });
    expect(spec.variables.map(gbtBinCount)).toEqual([4, 2]);
    const numeric = parseGbtSpec({ ...base, label: { name: 'basket', type: 'numeric' } }, 5);
    expect(numeric.loss).toBe('squared');
    expect(numeric.maxLabelAbs).toBe(GBT_DEFAULTS.maxLabelAbs);
    expect(parseGbtSpec({ ...base, label: { name: 'basket', type: 'numeric', maxAbs: 250 } }, 5).maxLabelAbs).toBe(250);
  });

  it('keeps every valid hyperparameter as given', () => {
    fc.assert(
      fc.property(
        fc.record({
          trees: fc.integer({ min: 1, max: 500 }),
          depth: fc.integer({ min: 1, max: 6 }),
          learningRate: fc.double({ min: 1e-6, max: 1, noNaN: true }),
          l2: fc.double({ min: 0, max: 1e6, noNaN: true }),
          bins: fc.integer({ min: 4, max: 64 }),
          minSplitGain: fc.double({ min: 0, max: 100, noNaN: true }),
          baseMargin: fc.double({ min: -5, max: 5, noNaN: true }),
          maxRows: fc.integer({ min: 1, max: 2 ** 31 }),
        }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        (hyper, k, above) => {
          const spec = parseGbtSpec({ ...base, ...hyper, minLeafSubjects: k + above }, k);
          expect(spec).toMatchObject({ ...hyper, minLeafSubjects: k + above });
          // Parsing the parsed spec's members again gives the same spec.
          const again = parseGbtSpec({ ...base, ...hyper, minLeafSubjects: spec.minLeafSubjects }, k);
          expect(again).toEqual(spec);
        },
      ),
    );
  });

  it('refuses a minimum subjects per leaf below the purpose k, naming the member', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10_000 }), fc.integer({ min: 1, max: 10_000 }), (k, m) => {
        fc.pre(m < k);
        const err = specError({ ...base, minLeafSubjects: m }, k);
        expect(err.path).toBe('minLeafSubjects');
        expect(err.message).toMatch(/below the purpose's k/);
      }),
    );
    expect(() => parseGbtSpec(base, 0)).toThrow(RangeError);
    expect(() => parseGbtSpec(base, 2.5)).toThrow(RangeError);
  });

  it('refuses edges that do not increase strictly, naming the element', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 15 }), (edges) => {
        const increasing = edges.every((e, i) => i === 0 || e > (edges[i - 1] as number));
        const json = { ...base, variables: [{ name: 'x', type: 'numeric', edges }] };
        if (increasing) {
          expect(parseGbtSpec(json, 5).variables[0]).toEqual({ name: 'x', type: 'numeric', edges });
        } else {
          const i = edges.findIndex((e, j) => j > 0 && !(e > (edges[j - 1] as number)));
          expect(specError(json, 5).path).toBe(`variables.0.edges.${i}`);
        }
      }),
    );
  });

  it('refuses variables with more bins than bins allows', () => {
    expect(specError({ ...base, bins: 3 }).path).toBe('variables.0.edges');
    expect(specError({ ...base, bins: 2, variables: [{ name: 'c', type: 'categorical', levels: ['a', 'b', 'c'] }] }).path).toBe('variables.0.levels');
    expect(parseGbtSpec({ ...base, bins: 4 }, 10).bins).toBe(4);
  });

  it('refuses malformed specs with the path of the first problem', () => {
    const cases: [unknown, string][] = [
      [{ ...base, kind: 'logistic-regression' }, 'kind'],
      [{ ...base, purpose: 'Bad Purpose' }, 'purpose'],
      [{ ...base, label: { name: 'y', type: 'count' } }, 'label.type'],
      [{ ...base, label: { name: 'y', type: 'binary', maxAbs: 3 } }, 'label'],
      [{ ...base, label: { name: 'age', type: 'binary' } }, 'label.name'],
      [{ ...base, variables: [] }, 'variables'],
      [{ ...base, variables: [base.variables[0], base.variables[0]] }, 'variables'],
      [{ ...base, variables: [{ name: 'c', type: 'categorical', levels: ['a', 'a'] }] }, 'variables.0.levels'],
      [{ ...base, variables: [{ name: 'c', type: 'categorical', levels: ['a'] }] }, 'variables.0.levels'],
      [{ ...base, variables: [{ name: 'x', type: 'numeric', edges: [] }] }, 'variables.0.edges'],
      [{ ...base, variables: [{ name: 'Age', type: 'numeric', edges: [1] }] }, 'variables.0.name'],
      [{ ...base, trees: 0 }, 'trees'],
      [{ ...base, depth: 7 }, 'depth'],
      [{ ...base, learningRate: 0 }, 'learningRate'],
      [{ ...base, learningRate: 1.5 }, 'learningRate'],
      [{ ...base, l2: -1 }, 'l2'],
      [{ ...base, bins: 1 }, 'bins'],
      [{ ...base, minLeafSubjects: 0 }, 'minLeafSubjects'],
      [{ ...base, extra: 1 }, ''],
      [{ ...base, label: { name: 'y', type: 'numeric', maxAbs: 10 }, baseMargin: 11 }, 'baseMargin'],
    ];
    for (const [json, path] of cases) expect([json, specError(json, 1).path]).toEqual([json, path]);
  });

  it('a numeric variable may give range: [lo, hi] instead of edges; the written spec keeps it and gbtWithEdges fills in edges found for it', () => {
    const ranged = { ...base, variables: [{ name: 'age', type: 'numeric', range: [18, 90] }, base.variables[1]], bins: 4 };
    const written = parseGbtWrittenSpec(ranged, 5);
    expect(written.variables[0]).toEqual({ name: 'age', type: 'numeric', range: [18, 90] });
    expect(specError(ranged).path).toBe('variables.0.range');
    const spec = gbtWithEdges(written, { age: [30, 50, 70] });
    expect(spec.variables[0]).toEqual({ name: 'age', type: 'numeric', edges: [30, 50, 70] });
    expect(spec).toEqual(parseGbtSpec({ ...ranged, variables: [{ name: 'age', type: 'numeric', edges: [30, 50, 70] }, base.variables[1]] }, 5));
    expect(() => gbtWithEdges(written, {})).toThrow(/age has none/);
    expect(() => gbtWithEdges(written, { age: [20, 30, 40, 50] })).toThrow(/more than bins = 4/);
    const refused = (v: Record<string, unknown>) => specError({ ...base, variables: [{ name: 'age', type: 'numeric', ...v }] }).path;
    expect(refused({ range: [90, 18] })).toBe('variables.0.range');
    expect(refused({ range: [1, 1 + 1e-14] })).toBe('variables.0.range');
    expect(refused({ range: [18, 90], edges: [30] })).toBe('variables.0');
    expect(refused({})).toBe('variables.0');
  });
});
