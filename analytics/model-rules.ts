/**
 * Release rules for models, after DataSHIELD's disclosure filters
 * (`nfilter.tab`, `nfilter.glm`, `nfilter.levels`) and stricter than them.
 *
 * A model's released numbers are functions of sums over its rows. A group of
 * rows that is small and can be singled out by the model's variables gives
 * its members away: a one-hot feature held by one customer makes Σx_a the
 * count 1 and Σx_a·y that customer's target; a cross term of two indicators
 * is the size of their intersection; a sparse numeric feature nonzero for
 * one customer makes Σx_a·x_b a product of that customer's values. So every
 * model kind declares, as counts its shops send beside the model's sums, the
 * groups its variables single out, and the key holder checks them before
 * anything reaches the fit runner:
 *
 * - per variable, the rows where it is nonzero (its support); for a 0/1
 *   indicator also the rows where it is zero (the other level);
 * - per pair of variables, the rows where both are nonzero; for two
 *   indicators all four cells of their 2×2 table;
 * - for a binary label, each level, and each level within a variable's support.
 *
 * Each group must hold no one or at least k subjects, or the fit is refused
 * naming the variables (`LEVEL_TOO_FEW_SUBJECTS`). Empty groups pass: they
 * say that nobody has a combination, which is true of the whole population
 * and of no one in particular (DataSHIELD's table filter lets zero cells
 * through for the same reason); refusing them would forbid most models with
 * two categorical variables. A model whose parameters are a large share of
 * its rows nearly reproduces them, so parameters / rows must stay below the
 * purpose's saturation ratio (`SATURATION`, DataSHIELD's `nfilter.glm`).
 * Groups inside a released cell (a k-means cluster) withhold that cell
 * instead of refusing the fit.
 *
 * @module
 */

/** One count field with its sign in a group's size. */
export interface CountTerm {
  readonly field: string;
  readonly sign: 1 | -1;
}

/** A group of rows the model's variables single out; its size is a signed sum of count fields. */
export interface ModelGroup {
  /** How the group is named in a refusal, e.g. `age_band:65+ ∧ lifecycle:new`. */
  readonly label: string;
  /** The variables that define it (named in a refusal). */
  readonly variables: readonly string[];
  /** Size = (the rows if `fromRows`) + Σ sign · total(field). */
  readonly fromRows?: boolean;
  readonly terms: readonly CountTerm[];
}

/** What the key holder checks on a model kind's decrypted totals. */
export interface ModelRules {
  /** Field counting the rows (subjects) the model is fitted on. */
  readonly rowsField: string;
  /** Parameters the model estimates from those rows. */
  readonly parameters: number;
  /** Groups that must hold 0 or at least k subjects, or the release is refused. */
  readonly groups: readonly ModelGroup[];
  /** Groups inside a released cell: when one fails, that cell is withheld. */
  readonly cellGroups?: readonly { readonly cell: string; readonly groups: readonly ModelGroup[] }[];
}

/** Why a model release was refused. */
export interface ModelRefusal {
  readonly code: 'LEVEL_TOO_FEW_SUBJECTS' | 'SATURATION';
  readonly message: string;
  /** The variables concerned (empty for saturation). */
  readonly variables: readonly string[];
}

/** The outcome of {@link checkModelRules}. */
export interface ModelRulesOutcome {
  readonly refusal: ModelRefusal | null;
  /** Cells to withhold because a group inside them is too small. */
  readonly withheld: ReadonlySet<string>;
}

/** The size of `group` from decrypted totals. Throws RangeError naming a missing field. */
export function groupSize(group: ModelGroup, rows: bigint, totals: ReadonlyMap<string, bigint>): bigint {
  let size = group.fromRows ? rows : 0n;
  for (const t of group.terms) {
    const v = totals.get(t.field);
    if (v === undefined) throw new RangeError(`totals: field '${t.field}' of group '${group.label}' is missing`);
    size += t.sign === 1 ? v : -v;
  }
  return size;
}

function tooSmall(size: bigint, k: number): boolean {
  return size !== 0n && size < BigInt(k);
}

/**
 * Applies `rules` to decrypted totals under k = `minSubjects` and the
 * saturation ratio `maxSaturation` (in (0, 1]). Reports the first failing
 * group (in declaration order), else saturation, else nothing; and the cells
 * whose inner groups fail. Throws RangeError / TypeError naming a bad argument.
 */
export function checkModelRules(rules: ModelRules, totals: ReadonlyMap<string, bigint>, minSubjects: number, maxSaturation: number): ModelRulesOutcome {
  if (typeof rules !== 'object' || rules === null || !Array.isArray(rules.groups)) throw new TypeError('rules: expected ModelRules');
  if (!(totals instanceof Map)) throw new TypeError('totals: expected a Map of field totals');
  if (!Number.isSafeInteger(minSubjects) || minSubjects < 1) throw new RangeError('minSubjects: expected an integer >= 1');
  if (!(maxSaturation > 0 && maxSaturation <= 1)) throw new RangeError('maxSaturation: expected a ratio in (0, 1]');
  const rows = totals.get(rules.rowsField);
  if (rows === undefined) throw new RangeError(`totals: rows field '${rules.rowsField}' is missing`);
  const withheld = new Set<string>();
  for (const c of rules.cellGroups ?? []) {
    const cellRows = totals.get(c.cell) ?? rows;
    if (c.groups.some((g) => tooSmall(groupSize(g, cellRows, totals), minSubjects))) withheld.add(c.cell);
  }
  for (const g of rules.groups) {
    const size = groupSize(g, rows, totals);
    if (tooSmall(size, minSubjects)) {
      return {
        refusal: {
          code: 'LEVEL_TOO_FEW_SUBJECTS',
          message: `${g.label} holds fewer than ${minSubjects} subjects; a model using ${g.variables.length > 1 ? `${g.variables.join(' and ')} together` : g.variables[0] ?? 'it'} would single them out: drop or merge ${g.variables.length > 1 ? 'one of them' : 'it'}`,
          variables: [...g.variables],
        },
        withheld,
      };
    }
  }
  if (rows > 0n && rules.parameters / Number(rows) >= maxSaturation) {
    return {
      refusal: {
        code: 'SATURATION',
        message: `${rules.parameters} parameters from ${rows} subjects is a ratio of ${(rules.parameters / Number(rows)).toFixed(3)}, not below the purpose's saturation limit ${maxSaturation}: a model this close to its rows nearly reproduces them`,
        variables: [],
      },
      withheld,
    };
  }
  return { refusal: null, withheld };
}

/** Count-field names of the supports declared by {@link supportGroups}. */
export const supportField = (v: string): string => `nz(${v})`;
export const pairSupportField = (a: string, b: string): string => `nz(${a},${b})`;

/**
 * The groups of a list of variables from per-variable and per-pair support
 * counts (fields {@link supportField} and {@link pairSupportField}, pairs in
 * list order a < b): each support; for an indicator, its zero level too; for
 * a pair, both nonzero; for two indicators, the other three cells of their
 * table. `skip` names variables nonzero in every row (an intercept), whose
 * groups are the rows themselves.
 */
export function supportGroups(variables: readonly string[], indicator: (v: string) => boolean, skip: (v: string) => boolean = () => false): ModelGroup[] {
  const groups: ModelGroup[] = [];
  const vars = variables.filter((v) => !skip(v));
  for (const v of vars) {
    const f = supportField(v);
    groups.push({ label: indicator(v) ? `the level ${v}` : `the rows where ${v} is nonzero`, variables: [v], terms: [{ field: f, sign: 1 }] });
    if (indicator(v)) groups.push({ label: `the rows outside ${v}`, variables: [v], fromRows: true, terms: [{ field: f, sign: -1 }] });
  }
  for (let i = 0; i < vars.length; i++) {
    for (let j = i + 1; j < vars.length; j++) {
      const a = vars[i] as string;
      const b = vars[j] as string;
      const ab = pairSupportField(a, b);
      groups.push({ label: indicator(a) && indicator(b) ? `the intersection ${a} ∧ ${b}` : `the rows where ${a} and ${b} are both nonzero`, variables: [a, b], terms: [{ field: ab, sign: 1 }] });
      if (indicator(a) && indicator(b)) {
        groups.push({ label: `${a} ∧ not ${b}`, variables: [a, b], terms: [{ field: supportField(a), sign: 1 }, { field: ab, sign: -1 }] });
        groups.push({ label: `not ${a} ∧ ${b}`, variables: [a, b], terms: [{ field: supportField(b), sign: 1 }, { field: ab, sign: -1 }] });
        groups.push({ label: `not ${a} ∧ not ${b}`, variables: [a, b], fromRows: true, terms: [{ field: supportField(a), sign: -1 }, { field: supportField(b), sign: -1 }, { field: ab, sign: 1 }] });
      }
    }
  }
  return groups;
}

/** Count fields for {@link supportGroups}, with `max` as each one's per-shop bound. */
export function supportFields(variables: readonly string[], max: bigint, skip: (v: string) => boolean = () => false): { name: string; max: bigint }[] {
  const vars = variables.filter((v) => !skip(v));
  const out = vars.map((v) => ({ name: supportField(v), max }));
  for (let i = 0; i < vars.length; i++) for (let j = i + 1; j < vars.length; j++) out.push({ name: pairSupportField(vars[i] as string, vars[j] as string), max });
  return out;
}

/** Shop side: support counts of `rows` (values in `variables` order), in {@link supportFields} order. */
export function supportCounts(variables: readonly string[], rows: readonly (readonly number[])[], skip: (v: string) => boolean = () => false): bigint[] {
  const idx = variables.map((v, i) => [v, i] as const).filter(([v]) => !skip(v)).map(([, i]) => i);
  const single = new Array<bigint>(idx.length).fill(0n);
  const pair = new Array<bigint>((idx.length * (idx.length - 1)) / 2).fill(0n);
  for (const row of rows) {
    const nz = idx.map((i) => (row[i] as number) !== 0);
    let k = 0;
    for (let a = 0; a < idx.length; a++) {
      if (nz[a]) single[a] = (single[a] as bigint) + 1n;
      for (let b = a + 1; b < idx.length; b++, k++) if (nz[a] && nz[b]) pair[k] = (pair[k] as bigint) + 1n;
    }
  }
  return [...single, ...pair];
}

/**
 * A group of rows defined by a test on one row: which of the variables are
 * nonzero in it (variables' order) and, for a model with a binary label,
 * whether its label is 1.
 */
export interface RowGroup {
  readonly label: string;
  readonly variables: readonly string[];
  readonly test: (nonzero: readonly boolean[], positive: boolean) => boolean;
}

/**
 * The groups of {@link supportGroups} as row tests, with the same labels:
 * used when a model's rows are not its subjects (each order of a customer),
 * so every group is counted as the customers having a row in it.
 */
export function supportRowGroups(variables: readonly string[], indicator: (v: string) => boolean, skip: (v: string) => boolean = () => false): RowGroup[] {
  const at = variables.map((v, i) => [v, i] as const).filter(([v]) => !skip(v));
  const groups: RowGroup[] = [];
  for (const [v, i] of at) {
    groups.push({ label: indicator(v) ? `the level ${v}` : `the rows where ${v} is nonzero`, variables: [v], test: (nz) => nz[i] === true });
    if (indicator(v)) groups.push({ label: `the rows outside ${v}`, variables: [v], test: (nz) => nz[i] !== true });
  }
  for (let p = 0; p < at.length; p++) {
    for (let q = p + 1; q < at.length; q++) {
      const [a, i] = at[p] as readonly [string, number];
      const [b, j] = at[q] as readonly [string, number];
      const both = indicator(a) && indicator(b);
      groups.push({ label: both ? `the intersection ${a} ∧ ${b}` : `the rows where ${a} and ${b} are both nonzero`, variables: [a, b], test: (nz) => nz[i] === true && nz[j] === true });
      if (both) {
        groups.push({ label: `${a} ∧ not ${b}`, variables: [a, b], test: (nz) => nz[i] === true && nz[j] !== true });
        groups.push({ label: `not ${a} ∧ ${b}`, variables: [a, b], test: (nz) => nz[i] !== true && nz[j] === true });
        groups.push({ label: `not ${a} ∧ not ${b}`, variables: [a, b], test: (nz) => nz[i] !== true && nz[j] !== true });
      }
    }
  }
  return groups;
}

/** Field counting the distinct subjects (customers) behind rows that are not subjects themselves. */
export const SUBJECTS_FIELD = 'subjects';
const subjectGroupField = (i: number): string => `subjects:${i}`;

/** Count fields of subject-counted groups: the subjects, then one per group; `max` bounds each per shop. */
export function subjectGroupFields(groups: readonly RowGroup[], max: bigint): { name: string; max: bigint }[] {
  return [{ name: SUBJECTS_FIELD, max }, ...groups.map((_, i) => ({ name: subjectGroupField(i), max }))];
}

/**
 * The rules of a model whose rows belong to subjects (several orders of one
 * customer): every group must hold 0 or at least k *customers* with a row
 * in it (k orders of one customer would single that customer out just the
 * same), and parameters stay below the saturation ratio of the customers.
 */
export function subjectGroupRules(groups: readonly RowGroup[], parameters: number): ModelRules {
  return {
    rowsField: SUBJECTS_FIELD,
    parameters,
    groups: groups.map((g, i) => ({ label: g.label.replace(/^the rows/, 'the customers with rows'), variables: g.variables, terms: [{ field: subjectGroupField(i), sign: 1 as const }] })),
  };
}

/** One row as the subject counts see it. */
export interface SubjectRow {
  readonly subject: string;
  readonly nonzero: readonly boolean[];
  readonly positive: boolean;
}

/**
 * Shop side, in {@link subjectGroupFields} order: the distinct subjects of
 * `rows`, then per group the distinct subjects with at least one row in it.
 * A subject is counted once per shop; subjects of different shops are
 * different customers, so the sums over shops are exact.
 */
export function subjectGroupCounts(groups: readonly RowGroup[], rows: readonly SubjectRow[]): bigint[] {
  const all = new Set<string>();
  const inGroup = groups.map(() => new Set<string>());
  for (const r of rows) {
    all.add(r.subject);
    groups.forEach((g, i) => {
      if (g.test(r.nonzero, r.positive)) (inGroup[i] as Set<string>).add(r.subject);
    });
  }
  return [BigInt(all.size), ...inGroup.map((s) => BigInt(s.size))];
}

/** Throws RangeError when one customer has more than `perSubject` rows (the sensitivity would not hold). */
export function assertRowsPerSubject(subjects: readonly string[], perSubject: bigint): void {
  const rowsOf = new Map<string, number>();
  let most = 0;
  for (const s of subjects) {
    const n = (rowsOf.get(s) ?? 0) + 1;
    rowsOf.set(s, n);
    if (n > most) most = n;
  }
  if (BigInt(most) > perSubject) throw new RangeError(`bounds.maxRowsPerCustomer: a customer has ${most} rows, more than ${perSubject}`);
}
