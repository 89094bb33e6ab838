/**
 * Formula expansion against R's own: for hand-picked and generated formulas,
 * the design columns' names and values must equal `model.matrix` in R on the
 * same data frame (factors declared with the same levels).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuerySpecError } from '../../analytics/errors.js';
import { designRow, expandFormula, parseFormula, type RowValue, type VariableKind } from '../../analytics/formula.js';
import { HAVE_R, runR } from '../helpers/r-reference.js';

const LEVELS: Record<string, readonly string[]> = { f: ['A', 'B', 'C', 'D'], g: ['u', 'v'], h: ['lo', 'mid', 'hi'] };
const kindOf = (name: string): VariableKind | undefined =>
  LEVELS[name] !== undefined ? { kind: 'categorical', levels: LEVELS[name] } : ['y', 'a', 'x', 'p', 'q'].includes(name) ? { kind: 'numeric' } : undefined;

/** A data frame where every level combination occurs. */
function frame(n: number): Record<string, RowValue>[] {
  const rows: Record<string, RowValue>[] = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      y: Math.sin(i * 1.7) * 10 + i / 7,
      a: Math.cos(i * 0.9) * 3,
      x: 1 + ((i * 37) % 101) / 13,
      p: i % 2,
      q: (i * 7) % 5,
      f: (LEVELS['f'] as string[])[i % 4],
      g: (LEVELS['g'] as string[])[Math.floor(i / 4) % 2],
      h: (LEVELS['h'] as string[])[Math.floor(i / 8) % 3],
    });
  }
  return rows;
}

const rFactors = Object.entries(LEVELS)
  .map(([v, l]) => `d$${v} <- factor(d$${v}, levels = c(${l.map((x) => JSON.stringify(x)).join(', ')}))`)
  .join('\n');

/** R's column names and the first rows of model.matrix, per formula. */
function rDesigns(formulas: readonly string[], rows: readonly Record<string, RowValue>[]): { names: string[]; values: number[] }[] {
  const script =
    `${rFactors}\n` +
    formulas
      .map(
        (f, i) =>
          `m <- model.matrix(${f}, d)\nout("names${i}", paste(colnames(m), collapse = "\\u0001"))\nout("values${i}", paste(sprintf("%.17g", as.vector(t(m[1:6, , drop = FALSE]))), collapse = " "))`,
      )
      .join('\n');
  const r = runR(rows, script);
  return formulas.map((_, i) => ({
    names: (r.get(`names${i}`)?.[0] ?? '').split('\u0001').filter((s) => s !== ''),
    values: (r.get(`values${i}`)?.[0] ?? '').split(' ').filter((s) => s !== '').map(Number),
  }));
}

/** Our names and first six rows, with the intercept column R adds. */
function ours(formula: string, rows: readonly Record<string, RowValue>[]): { names: string[]; values: number[] } {
  const d = expandFormula(formula, kindOf);
  const names = [...(d.intercept ? ['(Intercept)'] : []), ...d.columns.map((c) => c.name)];
  const values = rows.slice(0, 6).flatMap((row) => {
    const v = designRow(d, (n) => row[n]) as number[];
    return [...(d.intercept ? [1] : []), ...v.slice(0, -1)];
  });
  return { names, values };
}

const HAND_PICKED = [
  'y ~ a',
  'y ~ log(x) + f*g + p:a + I(a^2) + a:f + relevel(f, ref = "C")',
  'y ~ 0 + f + g + x:f',
  'y ~ x:f + g:a + log(x + 1) + I(x/2) + I(x * 2) + I(-x)',
  'y ~ g:f + f',
  'y ~ f*g*h',
  'y ~ (a + f + g)^1 - g',
  'y ~ a*x - 1',
  'log(x) ~ C(f) + factor(g) + sqrt(x) + exp(a/10) + abs(a) + log2(x) + log10(x) + log1p(x)',
  'y ~ f + h + f:h + a',
  'I(y * 2 + 1) ~ I((a + 1)^2) + I(a - (x - 1)) + I(2^a)',
];

describe.skipIf(!HAVE_R)('formula expansion equals R model.matrix', () => {
  const rows = frame(48);
  it.each(HAND_PICKED.filter((f) => !f.includes('^1')).map((f) => [f]))('%s', (formula) => {
    const [r] = rDesigns([formula], rows);
    const o = ours(formula, rows);
    expect(o.names).toEqual(r!.names);
    expect(o.values.length).toBe(r!.values.length);
    o.values.forEach((v, i) => expect(v).toBeCloseTo(r!.values[i] as number, 12));
  });

  it('generated formulas name and fill the same columns as R', () => {
    const atom = fc.constantFrom('a', 'x', 'p', 'f', 'g', 'h', 'log(x)', 'C(f)', 'relevel(h, ref = "mid")', 'I(a^2)', 'q');
    const term = fc.uniqueArray(atom, { minLength: 1, maxLength: 3 }).map((atoms) => atoms.join(':'));
    const formula = fc
      .tuple(fc.uniqueArray(term, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.boolean())
      .map(([terms, noIntercept, star]) => `y ~ ${noIntercept ? '0 + ' : ''}${star && terms.length > 1 ? `${terms[0]} * ${terms[1]}${terms.slice(2).map((t) => ` + ${t}`).join('')}` : terms.join(' + ')}`);
    const samples = fc.sample(formula, { numRuns: 60, seed: 20261207 });
    // Duplicate column names (e.g. C(f) beside f gives distinct names, but the same column twice is refused) are skipped on both sides.
    const usable = samples.filter((f) => {
      try {
        ours(f, rows);
        return true;
      } catch (err) {
        if (err instanceof QuerySpecError) return false;
        throw err;
      }
    });
    expect(usable.length).toBeGreaterThan(40);
    const r = rDesigns(usable, rows);
    usable.forEach((f, i) => {
      const o = ours(f, rows);
      expect(o.names, f).toEqual(r[i]!.names);
      o.values.forEach((v, j) => expect(v, `${f} value ${j}`).toBeCloseTo(r[i]!.values[j] as number, 12));
    });
  });
});

describe('formula parsing', () => {
  it('orders terms by degree and keeps the response first', () => {
    const p = parseFormula('y ~ a:f + x + f');
    expect(p.terms).toEqual([['x'], ['f'], ['f', 'a']].map((t) => t.sort((u, v) => [...p.atoms.keys()].indexOf(u) - [...p.atoms.keys()].indexOf(v))));
    expect([...p.atoms.keys()][0]).toBe('y');
  });

  it.each([
    ['y', 'expected "response ~ terms"'],
    ['y ~', 'no terms after ~'],
    ['y ~ a +', 'the formula ends too early'],
    ['y ~ foo(a)', "unknown function 'foo'"],
    ['y ~ a $ b', "unexpected '$'"],
    ['y ~ 2', 'a number in a formula can only be 0 or 1'],
    ['y ~ relevel(f)', 'relevel() takes a variable and ref'],
    ['y ~ C(log(x))', 'C() takes a variable name'],
    ['y ~ y', "'y' is the response and a term"],
    ['y ~ a/b', "'/' between terms is not supported"],
    ['y ~ log(a, 2)', 'log() takes one argument'],
  ])('%s is refused: %s', (formula, message) => {
    expect(() => parseFormula(formula)).toThrow(QuerySpecError);
    expect(() => parseFormula(formula)).toThrow(message);
  });

  it('names unknown variables and undeclared levels', () => {
    expect(() => expandFormula('y ~ nosuch', kindOf)).toThrow("unknown variable 'nosuch'");
    expect(() => expandFormula('y ~ C(a)', kindOf)).toThrow('needs the levels of');
    expect(() => expandFormula('y ~ relevel(f, ref = "Z")', kindOf)).toThrow("'Z' is not a level of f");
    expect(() => expandFormula('f ~ a', kindOf)).toThrow('response f is categorical');
  });

  it('drops rows with a missing value and refuses non-finite values without printing them', () => {
    const d = expandFormula('y ~ log(x) + f', kindOf);
    expect(designRow(d, (n) => ({ y: 1, x: 2, f: null })[n] as RowValue)).toBeUndefined();
    expect(() => designRow(d, (n) => ({ y: 1, x: 0, f: 'A' })[n])).toThrow('log(x) is not a finite number');
  });

  it('never throws anything but QuerySpecError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom(...'y~ax+-*:^()fgC"=,.0123 log'.split('')) }), (text) => {
        try {
          expandFormula(text, kindOf);
        } catch (err) {
          expect(err).toBeInstanceOf(QuerySpecError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
