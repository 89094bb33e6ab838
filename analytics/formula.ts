/**
 * Model formulas in the syntax R's `lm`/`glm` (and patsy) take, expanded into
 * design columns named exactly as R's `model.matrix` names them:
 *
 *     units ~ log(price) + promo + display + C(brand) + promo:display
 *
 * Supported: `+`, `-` (drop a term), `:` (interaction), `*` (`a*b` is
 * `a + b + a:b`), parentheses, `0`/`-1` (no intercept), `1`; inside a call,
 * arithmetic `+ - * / ^` and the functions `I`, `log`, `log2`, `log10`,
 * `log1p`, `exp`, `sqrt`, `abs`; categorical variables written bare (when
 * their levels are declared), as `C(x)`, `factor(x)` or
 * `relevel(x, ref = "B")`. Names are R names or `` `back-quoted` ``.
 *
 * Expansion follows R's rules so coefficients carry R's names: terms are
 * ordered by their number of variables (stable), the variables of an
 * interaction in the order they first appear in the formula (response
 * first), the first variable varying fastest. A categorical variable in a
 * term is coded by treatment contrasts (reference = its first level) when the
 * term without it is in the model (the empty term counting when there is an
 * intercept), else by one indicator per level; without an intercept the
 * first categorical variable of the first term holding one is coded by
 * indicators (R's TermCode). Labels are deparsed as R deparses them:
 * `log(x + 1)`, `I(x/2)`, `I(x * 2)`, `I(-x)`, `relevel(f, ref = "C")A`.
 *
 * @module
 */
import { QuerySpecError } from './errors.js';

/** A parsed expression inside a term or the response. */
export type Expr =
  | { readonly t: 'num'; readonly v: number }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'var'; readonly name: string }
  | { readonly t: 'neg'; readonly e: Expr }
  | { readonly t: 'bin'; readonly op: '+' | '-' | '*' | '/' | '^'; readonly l: Expr; readonly r: Expr }
  | { readonly t: 'call'; readonly fn: string; readonly args: readonly Expr[]; readonly ref?: string | undefined }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'cmp'; readonly op: '==' | '!=' | '<' | '<=' | '>' | '>='; readonly l: Expr; readonly r: Expr }
  | { readonly t: 'logic'; readonly op: '&' | '|'; readonly l: Expr; readonly r: Expr }
  | { readonly t: 'not'; readonly e: Expr };

/** A parsed formula before the variables' types are known. */
export interface ParsedFormula {
  /** The response, or null for a one-sided formula (`~ a + b`, for PCA and clustering). */
  readonly response: Expr | null;
  /** Its label as R deparses it; '' without a response. */
  readonly responseLabel: string;
  readonly intercept: boolean;
  /** Atoms (formula variables) by label, in order of first appearance, response first. */
  readonly atoms: ReadonlyMap<string, Expr>;
  /** Terms as lists of atom labels in atom order, R's term order (by degree, stable). */
  readonly terms: readonly (readonly string[])[];
}

/** What the expansion must know of a base variable. */
export type VariableKind = { readonly kind: 'numeric' } | { readonly kind: 'categorical'; readonly levels: readonly string[] };

/** One part of a design column: a numeric atom, or a categorical atom at one level. */
export type ColumnPart = { readonly atom: string; readonly expr: Expr } | { readonly atom: string; readonly variable: string; readonly level: string };

/** One design column (the intercept is not one). */
export interface DesignColumn {
  /** As R's model.matrix names it. */
  readonly name: string;
  readonly parts: readonly ColumnPart[];
  /** A 0/1 indicator (every part categorical). */
  readonly indicator: boolean;
}

/** A formula expanded against its variables. */
export interface Design {
  readonly formula: string;
  readonly intercept: boolean;
  /** Null for a one-sided formula. */
  readonly response: Expr | null;
  /** '' for a one-sided formula. */
  readonly responseLabel: string;
  readonly columns: readonly DesignColumn[];
  /** Base variables read (response and terms), sorted. */
  readonly variables: readonly string[];
}

/** A row's value of a base variable; undefined when missing (the row is dropped, as R's na.omit). */
export type RowValue = number | string | boolean | null | undefined;

const MAX_FORMULA_LENGTH = 2000;
const NUMERIC_FUNCTIONS = new Set(['I', 'log', 'log2', 'log10', 'log1p', 'exp', 'sqrt', 'abs']);
const CATEGORICAL_FUNCTIONS = new Set(['C', 'factor', 'relevel']);

type Token = { readonly k: 'name' | 'num' | 'str' | 'op'; readonly v: string; readonly at: number };

function fail(message: string): never {
  throw new QuerySpecError('formula', message);
}

function tokenise(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    const name = /^[A-Za-z.][A-Za-z0-9._]*/.exec(rest);
    const num = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(rest);
    if (num !== null && !(name !== null && !/^\.[0-9]/.test(rest))) {
      out.push({ k: 'num', v: num[0], at: i });
      i += num[0].length;
    } else if (name !== null) {
      out.push({ k: 'name', v: name[0], at: i });
      i += name[0].length;
    } else if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) fail(`unclosed \` at character ${i + 1}`);
      const v = text.slice(i + 1, end);
      if (v === '') fail(`empty \`\` name at character ${i + 1}`);
      out.push({ k: 'name', v, at: i });
      i = end + 1;
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail(`unclosed string at character ${i + 1}`);
      out.push({ k: 'str', v: text.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (/^(==|!=|<=|>=)/.test(rest)) {
      out.push({ k: 'op', v: rest.slice(0, 2), at: i });
      i += 2;
    } else if ('~+-*/^:(),=<>&|!'.includes(c)) {
      out.push({ k: 'op', v: c, at: i });
      i++;
    } else {
      fail(`unexpected '${c}' at character ${i + 1}`);
    }
  }
  return out;
}

const isSyntacticName = (s: string): boolean => /^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$/.test(s);

/** R's number printing for the constants a formula holds (15 significant digits). */
function deparseNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const s = Number(v.toPrecision(15)).toString();
  return s.replace(/e\+?(-?)0*([0-9]+)$/, (_m, sign: string, d: string) => `e${sign === '-' ? '-' : '+'}${d.padStart(2, '0')}`);
}

/** `expr` as R's deparse writes it. */
export function deparse(e: Expr): string {
  switch (e.t) {
    case 'num':
      return deparseNumber(e.v);
    case 'str':
      return JSON.stringify(e.v);
    case 'var':
      return isSyntacticName(e.name) ? e.name : `\`${e.name}\``;
    case 'neg':
      return `-${deparseOperand(e.e, 'neg')}`;
    case 'bin': {
      const spaced = e.op === '+' || e.op === '-' || e.op === '*';
      const sep = spaced ? ` ${e.op} ` : e.op;
      return `${deparseOperand(e.l, e.op, 'l')}${sep}${deparseOperand(e.r, e.op, 'r')}`;
    }
    case 'bool':
      return e.v ? 'TRUE' : 'FALSE';
    case 'cmp':
      return `${deparseOperand(e.l, 'cmp', 'l')} ${e.op} ${deparseOperand(e.r, 'cmp', 'r')}`;
    case 'logic':
      return `${deparseOperand(e.l, e.op, 'l')} ${e.op} ${deparseOperand(e.r, e.op, 'r')}`;
    case 'not':
      return `!${deparseOperand(e.e, 'not')}`;
    case 'call': {
      const args = e.args.map(deparse);
      if (e.ref !== undefined) args.push(`ref = ${JSON.stringify(e.ref)}`);
      return `${e.fn}(${args.join(', ')})`;
    }
  }
}

const PRECEDENCE: Record<string, number> = { '|': -3, '&': -2, not: -1, cmp: 0, '+': 1, '-': 1, '*': 2, '/': 2, neg: 3, '^': 4 };

function deparseOperand(e: Expr, parentOp: string, side?: 'l' | 'r'): string {
  const text = deparse(e);
  const own =
    e.t === 'bin' || e.t === 'logic' ? (PRECEDENCE[e.op] as number) : e.t === 'neg' ? 3 : e.t === 'cmp' ? 0 : e.t === 'not' ? -1 : 9;
  const parent = PRECEDENCE[parentOp] as number;
  // Left-associative operators keep a same-precedence left operand bare; ^ is right-associative.
  const bare = own > parent || (own === parent && ((parentOp === '^' && side === 'r') || (parentOp !== '^' && side === 'l')));
  return bare ? text : `(${text})`;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  peek(v?: string): Token | undefined {
    const t = this.tokens[this.i];
    return v === undefined || (t !== undefined && t.k === 'op' && t.v === v) ? t : undefined;
  }
  next(): Token {
    const t = this.tokens[this.i++];
    if (t === undefined) fail('the formula ends too early');
    return t;
  }
  expect(v: string): void {
    const t = this.next();
    if (t.k !== 'op' || t.v !== v) fail(`expected '${v}' at character ${t.at + 1}, found '${t.v}'`);
  }
  done(): boolean {
    return this.i >= this.tokens.length;
  }

  // A label (logistic response): comparisons joined by & and |, ! for not.
  label(): Expr {
    let l = this.conjunction();
    while (this.peek('|')) {
      this.i++;
      l = { t: 'logic', op: '|', l, r: this.conjunction() };
    }
    return l;
  }
  private conjunction(): Expr {
    let l = this.negation();
    while (this.peek('&')) {
      this.i++;
      l = { t: 'logic', op: '&', l, r: this.negation() };
    }
    return l;
  }
  private negation(): Expr {
    if (this.peek('!')) {
      this.i++;
      return { t: 'not', e: this.negation() };
    }
    const l = this.expr();
    const t = this.peek();
    if (t?.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++;
      return { t: 'cmp', op: t.v as '==', l, r: this.expr() };
    }
    return l;
  }

  // Arithmetic inside calls.
  expr(): Expr {
    let l = this.term();
    for (let t = this.peek(); t?.k === 'op' && (t.v === '+' || t.v === '-'); t = this.peek()) {
      this.i++;
      l = { t: 'bin', op: t.v, l, r: this.term() };
    }
    return l;
  }
  private term(): Expr {
    let l = this.unary();
    for (let t = this.peek(); t?.k === 'op' && (t.v === '*' || t.v === '/'); t = this.peek()) {
      this.i++;
      l = { t: 'bin', op: t.v, l, r: this.unary() };
    }
    return l;
  }
  private unary(): Expr {
    if (this.peek('-')) {
      this.i++;
      return { t: 'neg', e: this.unary() };
    }
    if (this.peek('+')) {
      this.i++;
      return this.unary();
    }
    return this.power();
  }
  private power(): Expr {
    const base = this.primary();
    if (this.peek('^')) {
      this.i++;
      return { t: 'bin', op: '^', l: base, r: this.unary() };
    }
    return base;
  }
  primary(): Expr {
    const t = this.next();
    if (t.k === 'num') return { t: 'num', v: Number(t.v) };
    if (t.k === 'str') return { t: 'str', v: t.v };
    if (t.k === 'op' && t.v === '(') {
      const e = this.expr();
      this.expect(')');
      return e;
    }
    if (t.k !== 'name') fail(`unexpected '${t.v}' at character ${t.at + 1}`);
    if (!this.peek('(') && (t.v === 'TRUE' || t.v === 'FALSE' || t.v === 'true' || t.v === 'false')) return { t: 'bool', v: t.v.toUpperCase() === 'TRUE' };
    if (!this.peek('(')) return { t: 'var', name: t.v };
    this.i++;
    return this.call(t);
  }
  private call(fnToken: Token): Expr {
    const fn = fnToken.v;
    if (!NUMERIC_FUNCTIONS.has(fn) && !CATEGORICAL_FUNCTIONS.has(fn)) {
      fail(`unknown function '${fn}' at character ${fnToken.at + 1} (allowed: ${[...NUMERIC_FUNCTIONS, ...CATEGORICAL_FUNCTIONS].join(', ')})`);
    }
    const args: Expr[] = [];
    let ref: string | undefined;
    if (!this.peek(')')) {
      for (;;) {
        const a = this.tokens[this.i];
        const b = this.tokens[this.i + 1];
        if (a?.k === 'name' && b?.k === 'op' && b.v === '=') {
          if (fn !== 'relevel' || a.v !== 'ref') fail(`argument '${a.v}' is not allowed in ${fn}() (character ${a.at + 1})`);
          this.i += 2;
          const s = this.next();
          if (s.k !== 'str') fail(`ref must be a quoted level, at character ${s.at + 1}`);
          ref = s.v;
        } else {
          args.push(this.expr());
        }
        if (this.peek(',')) {
          this.i++;
          continue;
        }
        break;
      }
    }
    this.expect(')');
    if (fn === 'relevel') {
      if (ref === undefined && args.length === 2 && args[1]?.t === 'str') ref = (args.pop() as { v: string }).v;
      if (ref === undefined || args.length !== 1) fail(`relevel() takes a variable and ref = "level" (character ${fnToken.at + 1})`);
    } else if (args.length !== 1) {
      fail(`${fn}() takes one argument (character ${fnToken.at + 1})`);
    }
    if (CATEGORICAL_FUNCTIONS.has(fn) && args[0]?.t !== 'var') fail(`${fn}() takes a variable name (character ${fnToken.at + 1})`);
    return { t: 'call', fn, args, ...(ref === undefined ? {} : { ref }) };
  }
}

/** Term algebra over sets of atom labels. */
type TermSet = { terms: string[][]; intercept?: boolean };

/**
 * Parses `formula` (untrusted). Throws QuerySpecError (path `formula`)
 * naming the character position of a problem.
 */
export function parseFormula(formula: string): ParsedFormula {
  if (typeof formula !== 'string') fail('expected a string like "y ~ x + C(group)"');
  if (formula.length > MAX_FORMULA_LENGTH) fail(`longer than ${MAX_FORMULA_LENGTH} characters`);
  const tokens = tokenise(formula);
  const tilde = tokens.findIndex((t) => t.k === 'op' && t.v === '~');
  if (tilde < 0) fail('expected "response ~ terms" (or "~ terms" without a response)');
  let response: Expr | null = null;
  if (tilde > 0) {
    const lhs = new Parser(tokens.slice(0, tilde));
    response = lhs.label();
    if (!lhs.done()) fail(`unexpected '${lhs.next().v}' in the response`);
  }
  const atoms = new Map<string, Expr>();
  const responseLabel = response === null ? '' : deparse(response);
  if (response !== null) atoms.set(responseLabel, response);
  const rhs = new Parser(tokens.slice(tilde + 1));
  if (rhs.done()) fail('no terms after ~');
  let intercept = true;
  const atomOf = (e: Expr): string => {
    const label = deparse(e);
    if (response !== null && label === responseLabel) fail(`'${label}' is the response and a term`);
    if (!atoms.has(label)) atoms.set(label, e);
    return label;
  };
  const cross = (a: string[][], b: string[][]): string[][] => a.flatMap((x) => b.map((y) => [...new Set([...x, ...y])]));
  const fsum = (): string[][] => {
    const kept: string[][] = [];
    const apply = (sign: '+' | '-', part: TermSet): void => {
      if (part.intercept !== undefined) intercept = sign === '+' ? part.intercept : !part.intercept;
      for (const t of part.terms) {
        const key = [...t].sort().join('\u0000');
        const at = kept.findIndex((k) => [...k].sort().join('\u0000') === key);
        if (sign === '+' && at < 0) kept.push(t);
        if (sign === '-' && at >= 0) kept.splice(at, 1);
      }
    };
    let sign: '+' | '-' = '+';
    if (rhs.peek('-')) {
      rhs.next();
      sign = '-';
    }
    apply(sign, fprod());
    for (let t = rhs.peek(); t?.k === 'op' && (t.v === '+' || t.v === '-'); t = rhs.peek()) {
      rhs.next();
      apply(t.v, fprod());
    }
    return kept;
  };
  const fprod = (): TermSet => {
    let acc = finter();
    while (rhs.peek('*')) {
      rhs.next();
      const b = finter();
      if (acc.intercept !== undefined || b.intercept !== undefined) fail('0 and 1 cannot be multiplied');
      acc = { terms: [...acc.terms, ...b.terms, ...cross(acc.terms, b.terms)] };
    }
    return acc;
  };
  const finter = (): TermSet => {
    let acc = fatom();
    while (rhs.peek(':')) {
      rhs.next();
      const b = fatom();
      if (acc.intercept !== undefined || b.intercept !== undefined) fail('0 and 1 cannot be in an interaction');
      acc = { terms: cross(acc.terms, b.terms) };
    }
    if (rhs.peek('^') || rhs.peek('/')) fail(`'${rhs.next().v}' between terms is not supported; write the terms out, or use I(...) for arithmetic`);
    return acc;
  };
  const fatom = (): TermSet => {
    const t = rhs.peek();
    if (t?.k === 'op' && t.v === '(') {
      rhs.next();
      const inner = fsum();
      rhs.expect(')');
      return { terms: inner };
    }
    if (t?.k === 'num') {
      rhs.next();
      if (t.v === '0') return { terms: [], intercept: false };
      if (t.v === '1') return { terms: [], intercept: true };
      fail(`a number in a formula can only be 0 or 1 (character ${t.at + 1}); use I(...) for constants`);
    }
    const e = rhs.primary();
    if (e.t !== 'var' && e.t !== 'call') fail(`unexpected term '${deparse(e)}'`);
    return { terms: [[atomOf(e)]] };
  };
  const terms = fsum();
  if (!rhs.done()) {
    const t = rhs.next();
    fail(`unexpected '${t.v}' at character ${t.at + 1}`);
  }
  const order = [...atoms.keys()];
  const sorted = terms
    .map((t) => [...t].sort((a, b) => order.indexOf(a) - order.indexOf(b)))
    .map((t, i) => ({ t, i }))
    .sort((a, b) => a.t.length - b.t.length || a.i - b.i)
    .map((x) => x.t);
  // Keep only atoms still used.
  const used = new Set([...(response === null ? [] : [responseLabel]), ...sorted.flat()]);
  const kept = new Map([...atoms].filter(([k]) => used.has(k)));
  return { response, responseLabel, intercept, atoms: kept, terms: sorted };
}

/** Base variables an expression reads. */
export function exprVariables(e: Expr, out = new Set<string>()): Set<string> {
  if (e.t === 'var') out.add(e.name);
  else if (e.t === 'neg' || e.t === 'not') exprVariables(e.e, out);
  else if (e.t === 'bin' || e.t === 'cmp' || e.t === 'logic') {
    exprVariables(e.l, out);
    exprVariables(e.r, out);
  } else if (e.t === 'call') for (const a of e.args) exprVariables(a, out);
  return out;
}

/** The base variable and levels of a categorical atom, or undefined for a numeric one. */
function categoricalOf(e: Expr, kindOf: (name: string) => VariableKind | undefined): { variable: string; levels: readonly string[] } | undefined {
  if (e.t === 'var') {
    const k = kindOf(e.name);
    return k?.kind === 'categorical' ? { variable: e.name, levels: k.levels } : undefined;
  }
  if (e.t !== 'call' || !CATEGORICAL_FUNCTIONS.has(e.fn)) return undefined;
  const v = (e.args[0] as { name: string }).name;
  const k = kindOf(v);
  if (k?.kind !== 'categorical') throw new QuerySpecError(`levels.${v}`, `${deparse(e)} needs the levels of '${v}' (declare them in levels.${v}; a category-levels query lists those held by at least k subjects)`);
  if (e.fn !== 'relevel') return { variable: v, levels: k.levels };
  const ref = e.ref as string;
  if (!k.levels.includes(ref)) throw new QuerySpecError('formula', `${deparse(e)}: '${ref}' is not a level of ${v} (levels: ${k.levels.join(', ')})`);
  return { variable: v, levels: [ref, ...k.levels.filter((l) => l !== ref)] };
}

/**
 * Expands a parsed formula into R's design columns. `kindOf` tells a base
 * variable's type (undefined: unknown variable, reported naming it).
 */
export function expandFormula(formula: string, kindOf: (name: string) => VariableKind | undefined): Design {
  const parsed = parseFormula(formula);
  const variables = new Set<string>();
  for (const e of parsed.atoms.values()) exprVariables(e, variables);
  for (const v of [...variables].sort()) {
    if (kindOf(v) === undefined) throw new QuerySpecError('formula', `unknown variable '${v}'`);
  }
  if (parsed.response !== null && categoricalOf(parsed.response, kindOf) !== undefined) throw new QuerySpecError('formula', `the response ${parsed.responseLabel} is categorical; a linear model needs a numeric response`);
  const cat = new Map<string, { variable: string; levels: readonly string[] } | undefined>();
  for (const [label, e] of parsed.atoms) cat.set(label, categoricalOf(e, kindOf));
  // R's TermCode: a categorical variable is coded by contrasts when the term without it is empty or
  // contained in a preceding term, else by indicators; without an intercept, the first categorical
  // variable of the first term holding one is coded by indicators.
  const codings = parsed.terms.map((term, ti) =>
    term.map((atom) => {
      if (cat.get(atom) === undefined) return 'numeric' as const;
      const rest = term.filter((a) => a !== atom);
      const margin = rest.length === 0 || parsed.terms.slice(0, ti).some((t) => rest.every((a) => t.includes(a)));
      return margin ? ('contrasts' as const) : ('indicators' as const);
    }),
  );
  if (!parsed.intercept) {
    const order = [...parsed.atoms.keys()];
    const ti = codings.findIndex((c) => c.some((x) => x !== 'numeric'));
    if (ti >= 0) {
      const term = parsed.terms[ti] as readonly string[];
      const first = [...term].filter((a) => cat.get(a) !== undefined).sort((a, b) => order.indexOf(a) - order.indexOf(b))[0] as string;
      (codings[ti] as string[])[term.indexOf(first)] = 'indicators';
    }
  }
  const columns: DesignColumn[] = [];
  const names = new Set<string>();
  for (const [ti, term] of parsed.terms.entries()) {
    const coding = codings[ti] as readonly string[];
    let combos: { name: string[]; parts: ColumnPart[] }[] = [{ name: [], parts: [] }];
    term.forEach((atom, j) => {
      const c = cat.get(atom);
      if (c === undefined) {
        const expr = parsed.atoms.get(atom) as Expr;
        combos = combos.map((x) => ({ name: [...x.name, atom], parts: [...x.parts, { atom, expr }] }));
        return;
      }
      const levels = coding[j] === 'contrasts' ? c.levels.slice(1) : c.levels;
      // The first variable varies fastest: new variables iterate in the outer loop.
      combos = levels.flatMap((level) => combos.map((x) => ({ name: [...x.name, `${atom}${level}`], parts: [...x.parts, { atom, variable: c.variable, level }] })));
    });
    for (const x of combos) {
      const name = x.name.join(':');
      if (names.has(name)) throw new QuerySpecError('formula', `two design columns are both named '${name}'`);
      names.add(name);
      columns.push({ name, parts: x.parts, indicator: x.parts.every((p) => 'level' in p) });
    }
  }
  if (columns.length === 0 && !parsed.intercept) throw new QuerySpecError('formula', 'the model has no terms and no intercept');
  return { formula, intercept: parsed.intercept, response: parsed.response, responseLabel: parsed.responseLabel, columns, variables: [...variables].sort() };
}

/** Evaluates a numeric expression on one row; undefined when a value is missing. */
export function evaluate(e: Expr, get: (name: string) => RowValue): number | undefined {
  switch (e.t) {
    case 'num':
      return e.v;
    case 'str':
      return undefined;
    case 'bool':
      return e.v ? 1 : 0;
    case 'cmp':
    case 'logic':
    case 'not': {
      const b = evaluateLabel(e, get);
      return b === undefined ? undefined : b ? 1 : 0;
    }
    case 'var': {
      const v = get(e.name);
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'number') return v;
      if (typeof v === 'string') throw new RangeError(`variable ${e.name} is not numeric (a categorical column needs C(${e.name}) and levels.${e.name}; a category-levels query lists its levels held by at least k subjects)`);
      throw new RangeError(`variable ${e.name} is not numeric`);
    }
    case 'neg': {
      const x = evaluate(e.e, get);
      return x === undefined ? undefined : -x;
    }
    case 'bin': {
      const l = evaluate(e.l, get);
      const r = evaluate(e.r, get);
      if (l === undefined || r === undefined) return undefined;
      switch (e.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          return l / r;
        case '^':
          return l ** r;
      }
      break;
    }
    case 'call': {
      const x = evaluate(e.args[0] as Expr, get);
      if (x === undefined) return undefined;
      switch (e.fn) {
        case 'I':
          return x;
        case 'log':
          return Math.log(x);
        case 'log2':
          return Math.log2(x);
        case 'log10':
          return Math.log10(x);
        case 'log1p':
          return Math.log1p(x);
        case 'exp':
          return Math.exp(x);
        case 'sqrt':
          return Math.sqrt(x);
        case 'abs':
          return Math.abs(x);
      }
      throw new RangeError(`${e.fn}() is categorical`);
    }
  }
}

/** A value compared in a label: numbers and booleans as numbers, categorical values as their text. */
function comparable(e: Expr, get: (name: string) => RowValue): number | string | undefined {
  if (e.t === 'str') return e.v;
  if (e.t === 'var') {
    const v = get(e.name);
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? (v ? 1 : 0) : v;
  }
  return evaluate(e, get);
}

/**
 * A label expression on one row (`units > 120`, `churned == TRUE`,
 * `region == "north" & !promo`): true, false, or undefined when a value is
 * missing. A bare numeric or boolean is true when nonzero.
 */
export function evaluateLabel(e: Expr, get: (name: string) => RowValue): boolean | undefined {
  switch (e.t) {
    case 'not': {
      const b = evaluateLabel(e.e, get);
      return b === undefined ? undefined : !b;
    }
    case 'logic': {
      const l = evaluateLabel(e.l, get);
      const r = evaluateLabel(e.r, get);
      if (l === undefined || r === undefined) return undefined;
      return e.op === '&' ? l && r : l || r;
    }
    case 'cmp': {
      const l = comparable(e.l, get);
      const r = comparable(e.r, get);
      if (l === undefined || r === undefined) return undefined;
      if (typeof l !== typeof r) {
        if (e.op === '==' || e.op === '!=') return (e.op === '!=') !== (String(l) === String(r));
        throw new RangeError(`${deparse(e)} compares text with a number`);
      }
      switch (e.op) {
        case '==':
          return l === r;
        case '!=':
          return l !== r;
        case '<':
          return l < r;
        case '<=':
          return l <= r;
        case '>':
          return l > r;
        case '>=':
          return l >= r;
      }
      break;
    }
    default: {
      const x = evaluate(e, get);
      return x === undefined ? undefined : x !== 0;
    }
  }
  return undefined;
}

/** A categorical value as R's factor() would label it. */
export function levelText(v: RowValue): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return String(v);
}

/**
 * One row of the design: [columns…, response] ([columns…] for a one-sided
 * formula), or undefined when a value
 * the model reads is missing (the row is left out, as R's na.omit does).
 * Throws RangeError naming the variable or column for a level that is not
 * declared or a value that is not a finite number (log of 0, division by 0);
 * the message never carries the value itself.
 */
export function designRow(design: Design, get: (name: string) => RowValue): number[] | undefined {
  for (const v of design.variables) {
    const x = get(v);
    if (x === undefined || x === null) return undefined;
  }
  const atomValue = new Map<string, number>();
  const out: number[] = [];
  for (const col of design.columns) {
    let value = 1;
    for (const p of col.parts) {
      if ('level' in p) {
        const text = levelText(get(p.variable));
        if (text === undefined) return undefined;
        value *= text === p.level ? 1 : 0;
        continue;
      }
      let x = atomValue.get(p.atom);
      if (x === undefined) {
        x = evaluate(p.expr, get);
        if (x === undefined) return undefined;
        if (!Number.isFinite(x)) throw new RangeError(`${p.atom} is not a finite number for some row (log of 0, a division by 0?)`);
        atomValue.set(p.atom, x);
      }
      value *= x;
    }
    out.push(value);
  }
  if (design.response === null) return out;
  const y = evaluate(design.response, get);
  if (y === undefined) return undefined;
  if (!Number.isFinite(y)) throw new RangeError(`the response ${design.responseLabel} is not a finite number for some row`);
  out.push(y);
  return out;
}

/**
 * Checks that each categorical value of a row is a declared level; throws
 * RangeError naming the variable (not the value, which could be personal).
 */
export function checkLevels(design: Design, kindOf: (name: string) => VariableKind | undefined, get: (name: string) => RowValue): void {
  for (const v of design.variables) {
    const k = kindOf(v);
    if (k?.kind !== 'categorical') continue;
    const text = levelText(get(v));
    if (text !== undefined && !k.levels.includes(text)) throw new RangeError(`a value of ${v} is not one of its declared levels (levels.${v})`);
  }
}
