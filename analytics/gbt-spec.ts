/**
 * The spec of `gradient-boosted-trees` (federated gradient-boosted trees over
 * encrypted gradient histograms): the label (binary → logistic loss, numeric
 * → squared loss), the variables with their bins (numeric: declared bin
 * edges, or a `range` whose edges the fit finds from the data in a first
 * round, gbt-bin-edges.ts; categorical: one bin per level) and the
 * hyperparameters with their defaults.
 *
 * A spec as written (`GbtWrittenSpec`) may hold ranges; the spec shops bin
 * with (`GbtSpec`) holds edges for every numeric variable.
 *
 * This file only parses and normalises; the model kind, which adds where the
 * rows come from and registers the fit, is gradient-boosted-trees.ts.
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { gbtGridProblem } from './gbt-bin-edges.js';
import { purposeSchema } from './model-spec.js';
import { parseWith } from './spec-parse.js';

export const GBT_KIND = 'gradient-boosted-trees';

/** Defaults of the hyperparameters (the minimum subjects per leaf defaults to the purpose's k). */
export const GBT_DEFAULTS = {
  trees: 20,
  depth: 3,
  learningRate: 0.1,
  l2: 1,
  bins: 16,
  minSplitGain: 0,
  baseMargin: 0,
  maxRows: 2 ** 24,
  maxLabelAbs: 1e6,
} as const;

/** Limits of the hyperparameters. */
export const GBT_LIMITS = {
  maxTrees: 500,
  maxDepth: 6,
  minBins: 2,
  maxBins: 64,
  maxVariables: 32,
  maxL2: 1e6,
  maxRows: 2 ** 31,
  maxLabelAbs: 1e9,
  maxMinLeafSubjects: 1_000_000,
} as const;

const nameSchema = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a name like age or order_count (lower case, digits, _)');

const edgesSchema = z
  .array(z.number().finite())
  .min(1)
  .superRefine((edges, ctx) => {
    for (let i = 1; i < edges.length; i++) {
      if ((edges[i] as number) <= (edges[i - 1] as number)) {
        ctx.addIssue({ code: 'custom', path: [i], message: `edges must increase strictly (${edges[i]} follows ${edges[i - 1]})` });
      }
    }
  });

const numericVariableSchema = z.strictObject({
  name: nameSchema,
  type: z.literal('numeric'),
  /** Inner bin edges e_0 < … < e_{m−1}: bin 0 is v < e_0, bin j is e_{j−1} ≤ v < e_j, bin m is v ≥ e_{m−1}. */
  edges: edgesSchema.optional(),
  /** [lo, hi]: the edges are found from the data, at boundaries of a fine grid over it (gbt-bin-edges.ts). */
  range: z
    .tuple([z.number().finite(), z.number().finite()])
    .superRefine((range, ctx) => {
      const problem = gbtGridProblem(range);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
});

const categoricalVariableSchema = z.strictObject({
  name: nameSchema,
  type: z.literal('categorical'),
  /** One bin per level, in this order. */
  levels: z
    .array(z.string().min(1).max(64))
    .min(2)
    .refine((levels) => new Set(levels).size === levels.length, 'levels must be distinct'),
});

const variableSchema = z.discriminatedUnion('type', [numericVariableSchema, categoricalVariableSchema]);

const labelSchema = z.discriminatedUnion('type', [
  z.strictObject({ name: nameSchema, type: z.literal('binary') }),
  z.strictObject({
    name: nameSchema,
    type: z.literal('numeric'),
    /** Largest |label| a row may have; a row beyond it is refused, never clamped. */
    maxAbs: z.number().positive().max(GBT_LIMITS.maxLabelAbs).optional(),
  }),
]);

const schema = z.strictObject({
  kind: z.literal(GBT_KIND),
  purpose: purposeSchema,
  label: labelSchema,
  variables: z
    .array(variableSchema)
    .min(1)
    .max(GBT_LIMITS.maxVariables)
    .refine((vs) => new Set(vs.map((v) => v.name)).size === vs.length, 'variable names must be distinct'),
  trees: z.number().int().min(1).max(GBT_LIMITS.maxTrees).optional(),
  depth: z.number().int().min(1).max(GBT_LIMITS.maxDepth).optional(),
  learningRate: z.number().positive().max(1).optional(),
  l2: z.number().min(0).max(GBT_LIMITS.maxL2).optional(),
  bins: z.number().int().min(GBT_LIMITS.minBins).max(GBT_LIMITS.maxBins).optional(),
  minLeafSubjects: z.number().int().min(1).max(GBT_LIMITS.maxMinLeafSubjects).optional(),
  minSplitGain: z.number().min(0).max(1e12).optional(),
  baseMargin: z.number().finite().min(-1e9).max(1e9).optional(),
  maxRows: z.number().int().positive().max(GBT_LIMITS.maxRows).optional(),
});

export type GbtLoss = 'logistic' | 'squared';

export interface GbtNumericVariable {
  readonly name: string;
  readonly type: 'numeric';
  readonly edges: readonly number[];
}

/** A numeric variable as written with a `range` instead of edges: the fit finds its edges from the data. */
export interface GbtRangeVariable {
  readonly name: string;
  readonly type: 'numeric';
  readonly range: readonly [number, number];
}

export interface GbtCategoricalVariable {
  readonly name: string;
  readonly type: 'categorical';
  readonly levels: readonly string[];
}

/** A variable as shops bin it: numeric ones with their edges. */
export type GbtVariable = GbtNumericVariable | GbtCategoricalVariable;

/** A variable as a spec may write it. */
export type GbtVariableSpec = GbtVariable | GbtRangeVariable;

/** Whether a written variable still waits for its edges. */
export function isGbtRangeVariable(v: GbtVariableSpec): v is GbtRangeVariable {
  return v.type === 'numeric' && 'range' in v;
}

/** Parsed, normalised spec: every default filled in. */
export interface GbtSpec {
  readonly kind: typeof GBT_KIND;
  readonly purpose: string;
  readonly label: { readonly name: string; readonly type: 'binary' | 'numeric' };
  /** logistic for a binary label (y ∈ {0, 1}), squared for a numeric one. */
  readonly loss: GbtLoss;
  /** Largest |y| a row may have (1 for a binary label). */
  readonly maxLabelAbs: number;
  readonly variables: readonly GbtVariable[];
  readonly trees: number;
  /** Most split levels of a tree: leaves lie at depth ≤ depth, one round per level 0 … depth − 1. */
  readonly depth: number;
  readonly learningRate: number;
  /** λ of the gain G²/(H + λ) and of the leaf value −G/(H + λ). */
  readonly l2: number;
  /** Most bins of one variable. */
  readonly bins: number;
  /** Fewest subjects in each child of a split, so in every leaf; never below the purpose's k. */
  readonly minLeafSubjects: number;
  /** A split is taken only when its gain exceeds it. */
  readonly minSplitGain: number;
  /** The margin before the first tree (0: p = ½ for logistic loss). */
  readonly baseMargin: number;
  /** Most rows (subjects) of one shop. */
  readonly maxRows: number;
}

/** A spec as written: numeric variables may give a range instead of edges. */
export interface GbtWrittenSpec extends Omit<GbtSpec, 'variables'> {
  readonly variables: readonly GbtVariableSpec[];
}

/** Number of bins of a variable: inner edges + 1 (numeric) or levels (categorical). */
export function gbtBinCount(variable: GbtVariable): number {
  return variable.type === 'numeric' ? variable.edges.length + 1 : variable.levels.length;
}

/**
 * Parses untrusted JSON whose numeric variables all declare edges (the spec
 * shops bin with). `k` is the purpose's minimum subjects per released cell:
 * `minLeafSubjects` defaults to it and may not be below it. Throws
 * RangeError for a bad `k`, QuerySpecError naming the JSON path otherwise
 * (a variable giving a range names `variables.i.range`).
 */
export function parseGbtSpec(json: unknown, k: number): GbtSpec {
  const spec = parseGbtWrittenSpec(json, k);
  const i = spec.variables.findIndex(isGbtRangeVariable);
  if (i >= 0) throw new QuerySpecError(`variables.${i}.range`, `${(spec.variables[i] as GbtRangeVariable).name} gives a range: its edges are not known yet`);
  return spec as GbtSpec;
}

/**
 * The spec with the edges found for its range variables. Throws RangeError
 * when a range variable has no edges in `edges`, or more than bins − 1.
 */
export function gbtWithEdges(spec: GbtWrittenSpec, edges: Readonly<Record<string, readonly number[]>>): GbtSpec {
  const variables = spec.variables.map((v): GbtVariable => {
    if (!isGbtRangeVariable(v)) return v;
    const found = Object.hasOwn(edges, v.name) ? edges[v.name] : undefined;
    if (found === undefined) throw new RangeError(`edges: ${v.name} has none`);
    if (found.length + 1 > spec.bins) throw new RangeError(`edges: ${v.name} has ${found.length + 1} bins, more than bins = ${spec.bins}`);
    return { name: v.name, type: 'numeric', edges: [...found] };
  });
  return { ...spec, variables };
}

/** As {@link parseGbtSpec}, but numeric variables may give `range: [lo, hi]` instead of `edges`. */
export function parseGbtWrittenSpec(json: unknown, k: number): GbtWrittenSpec {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > GBT_LIMITS.maxMinLeafSubjects) {
    throw new RangeError(`k must be an integer in [1, ${GBT_LIMITS.maxMinLeafSubjects}], got ${String(k)}`);
  }
  const raw = parseWith(schema, json);
  const bins = raw.bins ?? GBT_DEFAULTS.bins;
  raw.variables.forEach((v, i) => {
    if (v.type === 'numeric' && (v.edges === undefined) === (v.range === undefined)) {
      throw new QuerySpecError(`variables.${i}`, `${v.name}: give either edges or range: [lo, hi]`);
    }
    if (v.type === 'numeric' && v.edges === undefined) return;
    const count = v.type === 'numeric' ? (v.edges as number[]).length + 1 : v.levels.length;
    if (count > bins) {
      const member = v.type === 'numeric' ? 'edges' : 'levels';
      throw new QuerySpecError(`variables.${i}.${member}`, `${v.name} has ${count} bins, more than bins = ${bins}`);
    }
  });
  const minLeafSubjects = raw.minLeafSubjects ?? k;
  if (minLeafSubjects < k) throw new QuerySpecError('minLeafSubjects', `${minLeafSubjects} is below the purpose's k = ${k}: every leaf must hold at least k subjects`);
  const variables: GbtVariableSpec[] = raw.variables.map((v) => {
    if (v.type === 'categorical') return { name: v.name, type: 'categorical', levels: [...v.levels] };
    return v.range === undefined ? { name: v.name, type: 'numeric', edges: [...(v.edges as number[])] } : { name: v.name, type: 'numeric', range: [v.range[0], v.range[1]] };
  });
  if (variables.some((v) => v.name === raw.label.name)) {
    throw new QuerySpecError('label.name', `the label ${raw.label.name} is also a variable`);
  }
  const binary = raw.label.type === 'binary';
  const maxLabelAbs = raw.label.type === 'numeric' ? (raw.label.maxAbs ?? GBT_DEFAULTS.maxLabelAbs) : 1;
  const baseMargin = raw.baseMargin ?? GBT_DEFAULTS.baseMargin;
  if (!binary && Math.abs(baseMargin) > maxLabelAbs) throw new QuerySpecError('baseMargin', `|${baseMargin}| exceeds the label's maxAbs ${maxLabelAbs}`);
  return {
    kind: GBT_KIND,
    purpose: raw.purpose,
    label: { name: raw.label.name, type: raw.label.type },
    loss: binary ? 'logistic' : 'squared',
    maxLabelAbs,
    variables,
    trees: raw.trees ?? GBT_DEFAULTS.trees,
    depth: raw.depth ?? GBT_DEFAULTS.depth,
    learningRate: raw.learningRate ?? GBT_DEFAULTS.learningRate,
    l2: raw.l2 ?? GBT_DEFAULTS.l2,
    bins,
    minLeafSubjects,
    minSplitGain: raw.minSplitGain ?? GBT_DEFAULTS.minSplitGain,
    baseMargin,
    maxRows: raw.maxRows ?? GBT_DEFAULTS.maxRows,
  };
}
