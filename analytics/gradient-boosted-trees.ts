/**
 * `gradient-boosted-trees` as a model kind: the fit is a chain of `gbt-level`
 * rounds, one per level of the tree being grown, after one `gbt-bin-grid`
 * round (gbt-bin-grid.ts) when a numeric variable gives a range instead of
 * edges: its summed counts give the edges (gbt-bin-edges.ts), which the fit
 * state keeps and every later round carries. After every tree from the
 * second, a `gbt-leaf-overlap` round (gbt-leaf-overlap.ts) counts the rows
 * each of its leaves shares with each leaf of the earlier trees, and the fit
 * runner prunes it until every such count is 0 or at least the purpose's k
 * (gbt-prune.ts), so no two leaves of the model differ by 1 … k − 1 subjects;
 * the state keeps the sums of the growing tree's nodes for that. gbt-spec.ts, gbt-tree.ts,
 * gbt-local.ts, gbt-split.ts hold the computation; this file reads the rows,
 * lays out the round and drives the fit.
 *
 * A round's spec carries the fit's spec and the model so far (`forest`: the
 * complete trees and the growing one, leaf values and splits without their
 * subject counts, which shops do not need). Each shop rebuilds the model,
 * routes its rows and sends, per open node, variable and bin, the row count
 * and the gradient (and Hessian) sums at the margin of the complete trees;
 * only the sums over all shops are decrypted, and only for the fit runner
 * (`fit-round`): people see the finished model, never a level's histograms.
 *
 * Rows are read as the formula models read theirs (model-data.ts): the
 * label and the variables are variables of a customer model (`data:
 * customers`, with `asOf` and per-customer `aggregates`, built-in
 * categoricals, named features and declared customer columns) or columns of
 * a business table the shops declare, so the purposes' allow-lists apply to
 * exactly the fields read. A row missing the label or a variable is left
 * out (as R's na.omit does). Rows are subjects: orders and other customers'
 * rows are refused, since a leaf's count must be a count of subjects.
 *
 * The minimum subjects per leaf defaults to the purpose's k, which the fit
 * learns from the key holder's release of the first level (the k it applied);
 * a declared `minLeafSubjects` below it stops the fit. A finished model any
 * of whose leaves holds fewer than that many subjects is refused (no model is
 * stored: `assertReleasableGbtModel`).
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { levelText, type RowValue } from './formula.js';
import { GBT_SCALE_BITS, decodeGbtLevel, gbtBinPrefix, gbtGradientBound, gbtLevelFields, gbtLevelLocal, type GbtLevelHistograms } from './gbt-local.js';
import { GBT_DEFAULTS, GBT_KIND, GBT_LIMITS, gbtBinCount, gbtWithEdges, isGbtRangeVariable, parseGbtWrittenSpec, type GbtSpec, type GbtVariable, type GbtWrittenSpec } from './gbt-spec.js';
import { GBT_GRID_CELLS, chooseGbtEdges } from './gbt-bin-edges.js';
import { advanceGbtLevel, gbtLeafValue, gbtOpenNodeSums, type GbtSums } from './gbt-split.js';
import { assertReleasableGbtModel, emptyGbtModel, gbtFrontier, gbtNodeDepth, startGbtTree, type GbtModel, type GbtNode, type GbtRow, type GbtSplit, type GbtTree } from './gbt-tree.js';
import { absAtMost, atMost, equals, firstBroken, signedTotalOf, totalOf, withRoundingSlack, type RelationCheck } from './input-relations.js';
import type { IterativeModelDefinition } from './iterative.js';
import { AS_OF, purposeMember, type KindGuideBody } from './kind-guide-types.js';
import { CUSTOMERS_DATA, ORDERS_DATA, kindOfVariable, modelDataSchema, modelInputFields, modelRowScope, modelUnits, normaliseModelData, type ModelData } from './model-data.js';
import type { ModelGroup, ModelRules } from './model-rules.js';
import { assertWithinBounds, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals, type SubjectSensitivity } from './query-definition.js';
import { LIFECYCLE_STAGES, type ShopData } from './shop-data.js';
import { parseWith } from './spec-parse.js';
import { AGE_BANDS } from './customer-groups.js';
import { isHoldout } from './customer-features.js';
import type { RowScope } from './row-scope.js';
import { gbtImportance } from './gbt-importance.js';
import type { GbtBinGridResult, GbtEvaluation, GbtEvaluationResult, GbtLeafOverlapResult } from './gbt-round-results.js';
import { pruneGbtTreeByOverlap } from './gbt-prune.js';
import { gbtBaseMarginFromRoot, gbtLevelAtBaseMargin } from './gbt-base-margin.js';

export const GBT_LEVEL_KIND = 'gbt-level';
/** The first round of a fit some of whose numeric variables give a range: the shops count their rows on a fine grid (gbt-bin-grid.ts). */
export const GBT_BIN_GRID_KIND = 'gbt-bin-grid';
/** The last round of a fit with a hold-out: the shops score their held-out rows (gbt-evaluation.ts). */
export const GBT_EVALUATION_KIND = 'gbt-evaluation';
/** After every tree from the second: the shops count the rows each leaf of that tree shares with each leaf of every earlier tree (gbt-leaf-overlap.ts). */
export const GBT_LEAF_OVERLAP_KIND = 'gbt-leaf-overlap';

/** Default share of customers held out for evaluation (`data: customers`; a business table holds none out). */
export const GBT_DEFAULT_HOLDOUT_PERCENT = 20;
export const GBT_MAX_HOLDOUT_PERCENT = 50;

/**
 * Most nodes the trees of one fit may hold (trees × (2^(depth+1) − 1)): every
 * round's spec carries the model so far, and must stay well within the 4 MiB
 * a shop accepts in one message.
 */
export const GBT_MAX_FOREST_NODES = 16_384;

/** The field counting the rows of a level (the rows on the frontier): the k rule's subjects. */
const ROWS_FIELD = 'n';
const ROUND_CELL = 'all';

/** Members of a fit spec that say where the rows come from (model-data.ts) and which of them train, beside the members of gbt-spec.ts. */
const DATA_MEMBERS = ['data', 'asOf', 'aggregates', 'holdoutPercent'] as const;
const dataSchema = z.strictObject({
  data: modelDataSchema.data,
  asOf: modelDataSchema.asOf,
  aggregates: modelDataSchema.aggregates,
  holdoutPercent: z.number().int().min(0).max(GBT_MAX_HOLDOUT_PERCENT).optional(),
});
/** Members a round adds to its fit's spec. */
const ROUND_MEMBERS = ['fitId', 'round', 'forest'] as const;

const splitSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('numeric'), variable: z.string().max(64), bin: z.number().int().min(0).max(GBT_LIMITS.maxBins), threshold: z.number().finite() }),
  z.strictObject({ type: z.literal('categorical'), variable: z.string().max(64), levels: z.array(z.string().min(1).max(64)).min(1).max(GBT_LIMITS.maxBins) }),
]);
const nodeId = z.number().int().min(0).max(2 ** (GBT_LIMITS.maxDepth + 1) - 2);
const nodeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ id: nodeId, kind: z.literal('split'), split: splitSchema }),
  z.strictObject({ id: nodeId, kind: z.literal('leaf'), value: z.number().finite() }),
  z.strictObject({ id: nodeId, kind: z.literal('open') }),
]);
const roundSchema = z.strictObject({
  fitId: z.string().min(1).max(128),
  round: z.number().int().min(1).max(GBT_LIMITS.maxTrees * GBT_LIMITS.maxDepth),
  forest: z
    .array(z.strictObject({ nodes: z.array(nodeSchema).min(1).max(2 ** (GBT_LIMITS.maxDepth + 1) - 1) }))
    .min(1)
    .max(GBT_LIMITS.maxTrees),
});

/** A node as a round carries it: no subject counts. */
export type GbtRoundNode = z.infer<typeof nodeSchema>;
export type GbtRoundTree = { readonly nodes: readonly GbtRoundNode[] };

/**
 * A parsed fit spec, in the form it is written (defaults filled in), so that
 * its canonical JSON parses back to it: the coordinator stores that JSON and
 * the fit runner parses it again every round.
 */
export interface GbtFitSpec
  extends Pick<GbtWrittenSpec, 'kind' | 'purpose' | 'variables' | 'trees' | 'depth' | 'learningRate' | 'l2' | 'bins' | 'minSplitGain' | 'maxRows'> {
  /**
   * The margin before the first tree, or `auto`: found from the first
   * level's root sums (the label's log-odds or mean, gbt-base-margin.ts) and
   * kept in the fit state; every later round carries the number.
   */
  readonly baseMargin: number | 'auto';
  /** `customers` or a business table the shops declare. */
  readonly data: string;
  readonly asOf?: string;
  readonly aggregates?: Readonly<Record<string, string>>;
  /**
   * Share of customers (by pseudonym, as the logistic fit splits them) held
   * out: they never train and score the finished model. 0 for a business
   * table, whose rows carry no stable identity to split by.
   */
  readonly holdoutPercent: number;
  readonly label: { readonly name: string; readonly type: 'binary' } | { readonly name: string; readonly type: 'numeric'; readonly maxAbs: number };
  /** As declared; absent: the purpose's k, learnt from the first level's release. */
  readonly minLeafSubjects?: number;
}

/** A parsed `gbt-level` spec: the fit's spec, the fit and round, and the model so far. */
export interface GbtLevelSpec extends Omit<GbtFitSpec, 'kind' | 'variables'> {
  readonly kind: typeof GBT_LEVEL_KIND;
  /** Every numeric variable with its edges (found by the bin-grid round when the fit gives a range). */
  readonly variables: readonly GbtVariable[];
  readonly fitId: string;
  readonly round: number;
  readonly forest: readonly GbtRoundTree[];
}

type GbtSpecBody = Omit<GbtFitSpec, 'kind'>;

/** A round spec of kind `K` carrying the fit's spec as written (ranges kept), the fit and the round: no forest. */
export type GbtFitRoundSpec<K extends string = string> = GbtSpecBody & { readonly kind: K; readonly fitId: string; readonly round: number };

/** What a level's release gives the fit runner. */
export interface GbtLevelResult {
  /** Rows on the frontier (summed over the shops). */
  readonly n: number;
  /** The k the key holder released the level under. */
  readonly minSubjects: number | undefined;
  readonly histograms: GbtLevelHistograms;
}

/** The fit's state between rounds. */
export interface GbtFitState {
  /** Complete trees, then the tree being grown. */
  readonly trees: readonly GbtTree[];
  /** The minimum subjects per leaf in force, once a release stated the purpose's k. */
  readonly minLeafSubjects?: number;
  /**
   * The largest k a release of the fit stated (absent in states saved before
   * it was kept): two leaves of different trees share no row or at least
   * this many.
   */
  readonly disclosureK?: number;
  /** The base margin found from the first level, when the spec says `auto`. */
  readonly baseMargin?: number;
  /** Edges found by the bin-grid round for the variables that give a range, by name. */
  readonly edges?: Readonly<Record<string, readonly number[]>>;
  /** The finished model, while its held-out rows are scored (the `gbt-evaluation` round). */
  readonly model?: GbtFitModel;
  /**
   * Sums (count, G and H at scale 2^48, as decimal strings) of every node of
   * the last tree that was open in a level, by node id: a split the
   * `gbt-leaf-overlap` round makes the fit prune becomes a leaf with these.
   * Kept here, never in the published model.
   */
  readonly nodeSums?: Readonly<Record<string, GbtStoredSums>>;
}

/** A node's sums as the fit state keeps them (JSON has no bigint). */
export interface GbtStoredSums {
  readonly n: string;
  readonly g: string;
  readonly h: string;
}

/** The fitted model, as stored and shown: a `GbtModel` (gbt-tree.ts scores rows with it) with what it was fitted on. */
export interface GbtFitModel extends GbtModel {
  readonly kind: typeof GBT_KIND;
  readonly purpose: string;
  readonly data: string;
  readonly label: { readonly name: string; readonly type: 'binary' | 'numeric' };
  readonly learningRate: number;
  readonly l2: number;
  readonly depth: number;
  /** The minimum subjects per leaf the fit ran under (every leaf holds at least this many). */
  readonly minLeafSubjects: number;
  readonly rounds: number;
  /** Subjects the last tree was grown on. */
  readonly trainingRows: number;
  /** Share of customers held out of training (absent in models stored before hold-outs). */
  readonly holdoutPercent?: number;
  /** Total split gain per variable over all trees, largest first (0 for a variable never split on). */
  readonly importance?: readonly { readonly variable: string; readonly gain: number }[];
  /** On the held-out rows (`gbt-evaluation`); absent without a hold-out or when the key holder withheld them. */
  readonly evaluation?: GbtEvaluation;
}

/** Derived forms of a parsed spec: the gbt-spec.ts spec and the model data the rows are read with. */
interface Derived {
  /** As written: numeric variables may give a range. */
  readonly written: GbtWrittenSpec;
  /** As shops bin with it; reading it throws RangeError when a variable gives a range. */
  readonly gbt: GbtSpec;
  readonly data: ModelData;
}

function makeDerived(written: GbtWrittenSpec, data: ModelData): Derived {
  const ranged = written.variables.find(isGbtRangeVariable);
  if (ranged === undefined) return { written, gbt: gbtWithEdges(written, {}), data };
  return {
    written,
    data,
    get gbt(): GbtSpec {
      throw new RangeError(`${ranged.name} gives a range: its edges are found by the fit's ${GBT_BIN_GRID_KIND} round`);
    },
  };
}

const derivedOf = new WeakMap<object, Derived>();

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rethrows a model-data error about the formula this file writes as one about the members the spec has. */
function asSpecError(err: unknown): never {
  if (err instanceof QuerySpecError && err.path === 'formula') {
    const message = err.message.slice('formula: '.length);
    throw new QuerySpecError(/the response/.test(message) ? 'label.name' : 'variables', message);
  }
  throw err;
}

/**
 * Parses the members a fit and its rounds share (everything but `kind` and
 * the round's own members). Throws QuerySpecError naming the path.
 */
function parseBody(json: Record<string, unknown>): { readonly body: GbtSpecBody; readonly derived: Derived } {
  const picked = (keys: readonly string[]) => Object.fromEntries(keys.filter((k) => Object.hasOwn(json, k)).map((k) => [k, json[k]]));
  const source = parseWith(dataSchema, picked(DATA_MEMBERS));
  const rest = Object.fromEntries(Object.entries(json).filter(([k]) => !(DATA_MEMBERS as readonly string[]).includes(k)));
  // `auto` is the fit's to resolve; the trees are computed with a number (0 until the first level finds it).
  const autoMargin = rest['baseMargin'] === 'auto';
  if (autoMargin) delete rest['baseMargin'];
  // k = 1 here: the purpose's k is not known when a spec is parsed; the fit holds minLeafSubjects to it once a release states it.
  const gbt = parseGbtWrittenSpec({ ...rest, kind: GBT_KIND }, 1);
  const declaredMinLeaf = Object.hasOwn(rest, 'minLeafSubjects') ? gbt.minLeafSubjects : undefined;
  if (source.data === ORDERS_DATA) {
    throw new QuerySpecError('data', 'every leaf counts subjects, so a row must be one: customers (data: customers) or rows of a business table, not orders');
  }
  if (source.data !== CUSTOMERS_DATA && (source.holdoutPercent ?? 0) > 0) {
    // A table row has no identity but its position in the shop's file (row-scope.ts), which an edit of the file moves:
    // no split by it stays the same between rounds, nor can a row scope name the rows on either side.
    throw new QuerySpecError('holdoutPercent', `rows of ${source.data} carry no stable key to split them by; a hold-out needs data: customers (split by customer pseudonym), so leave holdoutPercent out or 0`);
  }
  const holdoutPercent = source.holdoutPercent ?? (source.data === CUSTOMERS_DATA ? GBT_DEFAULT_HOLDOUT_PERCENT : 0);
  const nodes = gbt.trees * (2 ** (gbt.depth + 1) - 1);
  if (nodes > GBT_MAX_FOREST_NODES) {
    throw new QuerySpecError('trees', `${gbt.trees} trees of depth ${gbt.depth} may hold ${nodes} nodes; at most ${GBT_MAX_FOREST_NODES} (each round carries the model so far to the shops)`);
  }
  const names = new Set([gbt.label.name, ...gbt.variables.map((v) => v.name)]);
  for (const [name] of Object.entries(source.aggregates ?? {})) {
    if (!names.has(name)) throw new QuerySpecError(`aggregates.${name}`, `${name} is neither the label nor a variable`);
  }
  gbt.variables.forEach((v, i) => {
    if (v.type === 'categorical' && source.aggregates?.[v.name] !== undefined) throw new QuerySpecError(`variables.${i}.type`, `${v.name} is an aggregate, so numeric`);
  });
  const levels = Object.fromEntries(gbt.variables.flatMap((v) => (v.type === 'categorical' ? [[v.name, [...v.levels]]] : [])));
  const terms = gbt.variables.map((v) => v.name).join(' + ');
  let data: ModelData;
  try {
    data = normaliseModelData(
      {
        formula: `${gbt.label.name} ~ ${terms}`,
        data: source.data,
        asOf: source.asOf,
        levels,
        aggregates: source.aggregates,
        bounds: { maxRows: BigInt(gbt.maxRows) },
      },
      GBT_LIMITS.maxVariables * GBT_LIMITS.maxBins,
    );
  } catch (err) {
    asSpecError(err);
  }
  const kindOf = kindOfVariable(data);
  gbt.variables.forEach((v, i) => {
    const k = kindOf(v.name);
    if (v.type === 'numeric' && k.kind === 'categorical') {
      throw new QuerySpecError(`variables.${i}.type`, `${v.name} is categorical (levels ${k.levels.join(', ')}): declare it with type categorical and its levels`);
    }
  });
  const body: GbtSpecBody = {
    purpose: gbt.purpose,
    data: source.data,
    ...(source.asOf === undefined ? {} : { asOf: source.asOf }),
    ...(source.aggregates === undefined ? {} : { aggregates: source.aggregates }),
    holdoutPercent,
    label: gbt.label.type === 'binary' ? { name: gbt.label.name, type: 'binary' } : { name: gbt.label.name, type: 'numeric', maxAbs: gbt.maxLabelAbs },
    variables: gbt.variables,
    trees: gbt.trees,
    depth: gbt.depth,
    learningRate: gbt.learningRate,
    l2: gbt.l2,
    bins: gbt.bins,
    ...(declaredMinLeaf === undefined ? {} : { minLeafSubjects: declaredMinLeaf }),
    minSplitGain: gbt.minSplitGain,
    baseMargin: autoMargin ? 'auto' : gbt.baseMargin,
    maxRows: gbt.maxRows,
  };
  return { body, derived: makeDerived(gbt, data) };
}

/** The derived forms of a parsed fit or round spec (memoised per spec object). */
function derived(spec: GbtSpecBody): Derived {
  let d = derivedOf.get(spec);
  if (d === undefined) {
    const { kind: _kind, fitId: _fitId, round: _round, forest: _forest, ...body } = spec as GbtSpecBody & Partial<Pick<GbtLevelSpec, 'kind' | 'fitId' | 'round' | 'forest'>>;
    d = parseBody(body).derived;
    derivedOf.set(spec, d);
  }
  return d;
}

/**
 * The gbt-spec.ts form of a parsed fit or round spec (minLeafSubjects as
 * declared, or 1 when it is left to the purpose's k), with `edges` for the
 * variables that give a range (the fit state's). Throws RangeError when such
 * a variable has none.
 */
export function gbtSpecOf(spec: GbtFitSpec | GbtForestSpec, edges?: Readonly<Record<string, readonly number[]>>): GbtSpec {
  return edges === undefined ? derived(spec).gbt : gbtWithEdges(derived(spec).written, edges);
}

/** Shop fields a fit or any of its rounds reads (model-data.ts): the purpose's allow-list applies to exactly these. */
export function gbtInputFields(spec: GbtFitSpec | GbtForestSpec | GbtFitRoundSpec): string[] {
  return modelInputFields(derived(spec).data);
}

/** Parses untrusted JSON as a `gradient-boosted-trees` fit spec. Throws QuerySpecError naming the path. */
export function parseGbtFitSpec(json: unknown): GbtFitSpec {
  if (!isRecord(json)) throw new QuerySpecError('', 'expected a JSON object');
  const { body, derived: d } = parseBody(json);
  const spec: GbtFitSpec = { kind: GBT_KIND, ...body };
  derivedOf.set(spec, d);
  return spec;
}

/**
 * Checks a round's forest against its spec: complete trees, then one tree
 * with open nodes (the level to compute); every split on a declared variable
 * and bin with both children, every node below a split and within the depth.
 */
function checkForest(gbt: GbtSpec, forest: readonly GbtRoundTree[], state: GbtForestState = 'growing'): void {
  if (forest.length > gbt.trees) throw new QuerySpecError('forest', `${forest.length} trees; the fit grows ${gbt.trees}`);
  if (state === 'finished' && forest.length !== gbt.trees) throw new QuerySpecError('forest', `${forest.length} trees; the finished model has ${gbt.trees}`);
  if (state === 'complete' && forest.length < 2) throw new QuerySpecError('forest', `${forest.length} tree; leaves are compared across at least 2`);
  forest.forEach((tree, t) => {
    const last = t === forest.length - 1;
    const byId = new Map<number, GbtRoundNode>();
    tree.nodes.forEach((node, i) => {
      const at = `forest.${t}.nodes.${i}`;
      if (i > 0 && node.id <= (tree.nodes[i - 1] as GbtRoundNode).id) throw new QuerySpecError(`${at}.id`, 'node ids must increase');
      const depth = gbtNodeDepth(node.id);
      if (depth > gbt.depth) throw new QuerySpecError(`${at}.id`, `node ${node.id} lies below depth ${gbt.depth}`);
      if (node.id > 0 && byId.get((node.id - 1) >> 1)?.kind !== 'split') throw new QuerySpecError(`${at}.id`, `node ${node.id} is not the child of a split`);
      if (node.kind === 'open') {
        if (state !== 'growing') throw new QuerySpecError(at, state === 'finished' ? 'the model is finished: no node is open' : 'the trees are complete: no node is open');
        if (!last) throw new QuerySpecError(at, 'only the last tree may be growing');
        if (depth >= gbt.depth) throw new QuerySpecError(at, `an open node at depth ${depth} cannot be split`);
      }
      if (node.kind === 'split') checkSplit(gbt, node.split, `${at}.split`);
      byId.set(node.id, node);
    });
    if (!byId.has(0)) throw new QuerySpecError(`forest.${t}.nodes`, 'the tree has no root (node 0)');
    for (const node of byId.values()) {
      if (node.kind === 'split' && (!byId.has(2 * node.id + 1) || !byId.has(2 * node.id + 2))) throw new QuerySpecError(`forest.${t}.nodes`, `split node ${node.id} lacks a child`);
    }
    if (state === 'growing' && last && !tree.nodes.some((n) => n.kind === 'open')) throw new QuerySpecError(`forest.${t}`, 'the last tree has no open node: there is no level to compute');
  });
}

function checkSplit(gbt: GbtSpec, split: GbtSplit, at: string): void {
  const variable = gbt.variables.find((v) => v.name === split.variable);
  if (variable === undefined) throw new QuerySpecError(`${at}.variable`, `${split.variable} is not a variable of the spec`);
  if (variable.type !== split.type) throw new QuerySpecError(`${at}.type`, `${split.variable} is ${variable.type}`);
  if (split.type === 'numeric' && variable.type === 'numeric') {
    if (split.bin >= variable.edges.length || variable.edges[split.bin] !== split.threshold) throw new QuerySpecError(`${at}.threshold`, `not the edge ${split.bin} of ${split.variable}`);
  } else if (split.type === 'categorical' && variable.type === 'categorical') {
    if (split.levels.some((l) => !variable.levels.includes(l)) || new Set(split.levels).size !== split.levels.length || split.levels.length >= variable.levels.length) {
      throw new QuerySpecError(`${at}.levels`, `expected a proper subset of the levels of ${split.variable}`);
    }
  }
}

/** A level's forest has its last tree growing; the leaf overlap's is complete trees (at least 2, the last one checked); the evaluation's is the finished model. */
export type GbtForestState = 'growing' | 'complete' | 'finished';

/** A round spec carrying the fit's spec and a forest, of round kind `K`. */
export type GbtForestSpec<K extends string = string> = Omit<GbtLevelSpec, 'kind'> & { readonly kind: K };

/**
 * Parses untrusted JSON as a round spec of `kind` carrying the fit's spec and
 * a forest in `state`. Throws QuerySpecError naming the path.
 */
export function parseGbtForestSpec<K extends string>(json: unknown, kind: K, state: GbtForestState): GbtForestSpec<K> {
  if (!isRecord(json)) throw new QuerySpecError('', 'expected a JSON object');
  if (json['kind'] !== kind) throw new QuerySpecError('kind', `expected ${kind}`);
  const own = Object.fromEntries(ROUND_MEMBERS.filter((k) => Object.hasOwn(json, k)).map((k) => [k, json[k]]));
  const round = parseWith(roundSchema, own);
  const fitJson = Object.fromEntries(Object.entries(json).filter(([k]) => k !== 'kind' && !(ROUND_MEMBERS as readonly string[]).includes(k)));
  const { body, derived: d } = parseBody(fitJson);
  // Shops bin with the edges the fit found: a round never carries a range.
  const ranged = d.written.variables.findIndex(isGbtRangeVariable);
  if (ranged >= 0) throw new QuerySpecError(`variables.${ranged}.range`, `a ${kind} round bins with edges; ${(d.written.variables[ranged] as GbtVariable).name} gives none`);
  checkForest(d.gbt, round.forest, state);
  const spec: GbtForestSpec<K> = { kind, ...body, variables: d.gbt.variables, fitId: round.fitId, round: round.round, forest: round.forest };
  derivedOf.set(spec, d);
  return spec;
}

/** Parses untrusted JSON as a `gbt-level` round spec. Throws QuerySpecError naming the path. */
export function parseGbtLevelSpec(json: unknown): GbtLevelSpec {
  return parseGbtForestSpec(json, GBT_LEVEL_KIND, 'growing');
}

const fitRoundSchema = z.strictObject({ fitId: roundSchema.shape.fitId, round: roundSchema.shape.round });

/** Parses untrusted JSON as a round spec of `kind` carrying the fit's spec as written and the fit and round (no forest). Throws QuerySpecError naming the path. */
export function parseGbtFitRoundSpec<K extends string>(json: unknown, kind: K): GbtFitRoundSpec<K> {
  if (!isRecord(json)) throw new QuerySpecError('', 'expected a JSON object');
  if (json['kind'] !== kind) throw new QuerySpecError('kind', `expected ${kind}`);
  const own = Object.fromEntries(['fitId', 'round'].filter((k) => Object.hasOwn(json, k)).map((k) => [k, json[k]]));
  const round = parseWith(fitRoundSchema, own);
  const { body, derived: d } = parseBody(Object.fromEntries(Object.entries(json).filter(([k]) => k !== 'kind' && !Object.hasOwn(own, k))));
  const spec: GbtFitRoundSpec<K> = { kind, ...body, fitId: round.fitId, round: round.round };
  derivedOf.set(spec, d);
  return spec;
}

/** The variables of a parsed fit or round spec as written (numeric ones with edges or a range). */
export function gbtWrittenSpecOf(spec: GbtFitSpec | GbtForestSpec | GbtFitRoundSpec): GbtWrittenSpec {
  return derived(spec).written;
}

/** The model a round's forest describes (subject counts, which shops do not need, are 0). */
export function gbtRoundModel(spec: GbtForestSpec): GbtModel {
  const { gbt } = derived(spec);
  const trees = spec.forest.map((t): GbtTree => ({
    nodes: t.nodes.map((n): GbtNode => (n.kind === 'open' ? { id: n.id, kind: 'open' } : n.kind === 'leaf' ? { id: n.id, kind: 'leaf', subjects: 0, value: n.value } : { id: n.id, kind: 'split', subjects: 0, split: n.split })),
  }));
  return { ...emptyGbtModel(gbt), trees };
}

/** Trees as a round carries them: splits and leaf values, without subject counts. */
export function gbtRoundForest(trees: readonly GbtTree[]): GbtRoundTree[] {
  return trees.map((t) => ({
    nodes: t.nodes.map((n): GbtRoundNode => {
      if (n.kind === 'open') return { id: n.id, kind: 'open' };
      if (n.kind === 'leaf') return { id: n.id, kind: 'leaf', value: n.value };
      const s = n.split;
      return { id: n.id, kind: 'split', split: s.type === 'numeric' ? { type: 'numeric', variable: s.variable, bin: s.bin, threshold: s.threshold } : { type: 'categorical', variable: s.variable, levels: [...s.levels] } };
    }),
  }));
}

function numericValue(name: string, v: RowValue): number {
  const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  if (typeof x !== 'number') throw new RangeError(`variable ${name} is not numeric for some row (declare it with type categorical and its levels)`);
  if (!Number.isFinite(x)) throw new RangeError(`variable ${name} is not a finite number for some row`);
  return x;
}

function labelValue(gbt: Pick<GbtWrittenSpec, 'label' | 'loss' | 'maxLabelAbs'>, v: RowValue): number {
  const name = gbt.label.name;
  const y = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  if (gbt.loss === 'logistic') {
    if (y !== 0 && y !== 1) throw new RangeError(`label ${name}: a binary label is 0, 1, TRUE or FALSE, and some row holds another value`);
    return y;
  }
  if (typeof y !== 'number' || !Number.isFinite(y)) throw new RangeError(`label ${name} is not a finite number for some row`);
  if (Math.abs(y) > gbt.maxLabelAbs) throw new RangeError(`label ${name}: some row lies beyond maxAbs ${gbt.maxLabelAbs}`);
  return y;
}

/** Which rows: the training split (levels), the held-out split (the evaluation) or every row (pooled checks). */
export type GbtRowPart = 'train' | 'holdout' | 'all';

/**
 * The rows of one shop (or of pooled data, for checks): the variables and
 * the label of every unit of analysis in `part` (customers are split by
 * pseudonym with customer-features.ts's `isHoldout`, as the logistic fit
 * splits them); a unit missing one of them is left out. Throws RangeError naming the variable (never a value) for an
 * undeclared level, a value of the wrong type or a label out of range.
 */
export function gbtRows(spec: GbtFitSpec | GbtForestSpec | GbtFitRoundSpec, data: ShopData, part: GbtRowPart = 'all'): GbtRow[] {
  const { written: gbt, data: model } = derived(spec);
  const out: GbtRow[] = [];
  for (const u of modelUnits(model, data)) {
    if (part !== 'all' && isHoldout(u.customerId ?? '', spec.holdoutPercent) !== (part === 'holdout')) continue;
    const label = u.get(gbt.label.name);
    if (label === undefined || label === null) continue;
    const x: Record<string, number | string> = {};
    let complete = true;
    for (const v of gbt.variables) {
      const raw = u.get(v.name);
      if (raw === undefined || raw === null) {
        complete = false;
        break;
      }
      x[v.name] = v.type === 'numeric' ? numericValue(v.name, raw) : (levelText(raw) as string);
    }
    if (complete) out.push({ x, y: labelValue(gbt, label) });
  }
  return out;
}

/**
 * The rows a round reads (row-scope.ts): model-data.ts's scope, narrowed to
 * the customers of `part` when customers are held out, so the row-set sketch
 * covers exactly the rows read.
 */
export function gbtRowScope(spec: GbtFitSpec | GbtForestSpec | GbtFitRoundSpec, part: Exclude<GbtRowPart, 'all'>): RowScope {
  const scope = modelRowScope(derived(spec).data);
  if (spec.holdoutPercent === 0) return part === 'train' ? scope : { ...scope, customer: () => false };
  const inner = scope.customer;
  return { ...scope, customer: (c) => isHoldout(c.customerId, spec.holdoutPercent) === (part === 'holdout') && (inner === undefined || inner(c)) };
}

/** The fields of a round: the rows on the frontier, then gbt-local.ts's level fields. */
function levelFields(spec: GbtLevelSpec): FieldSpec[] {
  const { gbt } = derived(spec);
  return [{ name: ROWS_FIELD, max: BigInt(gbt.maxRows) }, ...gbtLevelFields(gbt, gbtFrontier(gbtRoundModel(spec)))];
}

/** Names of the count fields of the first variable: one per bin of every open node, so each row of the level in exactly one. */
function rowCountFields(gbt: GbtSpec, frontier: readonly number[]): Map<number, string[]> {
  const first = gbt.variables[0] as GbtVariable;
  return new Map(frontier.map((id) => [id, Array.from({ length: gbtBinCount(first) }, (_, b) => `${gbtBinPrefix(id, first.name, b)}.n`)]));
}

/** Shop side: the rows on the frontier, then per open node, variable and bin the count and the gradient (and Hessian) sums. */
export function computeGbtLevelLocal(spec: GbtLevelSpec, data: ShopData): bigint[] {
  const { gbt } = derived(spec);
  const model = gbtRoundModel(spec);
  const frontier = gbtFrontier(model);
  const level = gbtLevelLocal(gbt, model, gbtRows(spec, data, 'train'));
  const fields = gbtLevelFields(gbt, frontier);
  const counted = new Set([...rowCountFields(gbt, frontier).values()].flat());
  let rows = 0n;
  fields.forEach((f, i) => {
    if (counted.has(f.name)) rows += level[i] as bigint;
  });
  const values = [rows, ...level];
  assertWithinBounds(levelFields(spec), values);
  return values;
}

/** Fit-runner side: the level's released totals as histograms. Throws RangeError when the level was withheld. */
export function finaliseGbtLevel(spec: GbtLevelSpec, release: ReleasedTotals): GbtLevelResult {
  const cell = release.cells[ROUND_CELL];
  if (!cell || cell.suppressed || !cell.totals) throw new RangeError('the level was withheld');
  const { gbt } = derived(spec);
  return {
    n: Number(cell.totals[ROWS_FIELD] ?? 0n),
    minSubjects: release.minSubjects,
    histograms: decodeGbtLevel(gbt, gbtFrontier(gbtRoundModel(spec)), cell.totals),
  };
}

/** The split variables on the way from the root to node `id` of the growing tree. */
function pathVariables(spec: GbtLevelSpec, id: number): string[] {
  const tree = spec.forest.at(-1) as GbtRoundTree;
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  const out = new Set<string>();
  for (let at = id; at > 0; ) {
    at = (at - 1) >> 1;
    const node = byId.get(at);
    if (node?.kind === 'split') out.add(node.split.variable);
  }
  return [...out].reverse();
}

/**
 * What the key holder checks before the fit runner sees a level: every open
 * node holds no one or at least k subjects (a shop missing since the
 * previous level could leave a node with fewer), and the leaves the level can
 * make (two per open node) stay below the saturation ratio of its rows.
 */
export function gbtLevelRules(spec: GbtLevelSpec): ModelRules {
  const { gbt } = derived(spec);
  const frontier = gbtFrontier(gbtRoundModel(spec));
  const counts = rowCountFields(gbt, frontier);
  const tree = spec.forest.length;
  return {
    rowsField: ROWS_FIELD,
    parameters: 2 * frontier.length,
    groups: frontier.map((id): ModelGroup => {
      const variables = pathVariables(spec, id);
      return {
        label: id === 0 ? `the rows of tree ${tree}` : `the rows at node ${id} of tree ${tree} (split on ${variables.join(', ')})`,
        variables,
        terms: (counts.get(id) ?? []).map((field) => ({ field, sign: 1 as const })),
      };
    }),
  };
}

/**
 * Relations every honest shop's level sums keep (input-relations.ts): at
 * every open node each variable's bins count the same rows, and the open
 * nodes together count `n`; per bin |G| ≤ the per-row gradient bound × its
 * rows and, for logistic loss, H ≤ its rows / 4 (H ≥ 0 holds by the field
 * being unsigned), at scale 2^48 with the rounding slack of each shop.
 */
export function gbtLevelInputViolation(spec: GbtLevelSpec, totals: ReadonlyMap<string, bigint>, contributors: number): string | undefined {
  const { gbt } = derived(spec);
  const frontier = gbtFrontier(gbtRoundModel(spec));
  const scale = BigInt(GBT_SCALE_BITS);
  const bound = BigInt(Math.ceil(gbtGradientBound(gbt)));
  const checks: RelationCheck[] = [];
  const first = (gbt.variables[0] as GbtVariable).name;
  let level = 0n;
  for (const id of frontier) {
    let nodeRows: bigint | undefined;
    for (const v of gbt.variables) {
      let rows = 0n;
      for (let b = 0; b < gbtBinCount(v); b++) {
        const p = gbtBinPrefix(id, v.name, b);
        const n = totalOf(totals, `${p}.n`);
        rows += n;
        checks.push(absAtMost(`${p}.g`, signedTotalOf(totals, `${p}.g`), `the per-row gradient bound ${bound} x ${p}.n (at scale 2^${GBT_SCALE_BITS})`, withRoundingSlack((bound * n) << scale, contributors)));
        if (gbt.loss === 'logistic') checks.push(atMost(`${p}.h`, totalOf(totals, `${p}.h`), `${p}.n / 4 (at scale 2^${GBT_SCALE_BITS})`, withRoundingSlack((n << scale) >> 2n, contributors)));
      }
      if (nodeRows === undefined) nodeRows = rows;
      else checks.push(equals(`the rows of node ${id} counted over the bins of ${v.name}`, rows, `those counted over the bins of ${first}`, nodeRows));
    }
    level += nodeRows ?? 0n;
  }
  checks.unshift(equals(ROWS_FIELD, totalOf(totals, ROWS_FIELD), 'the rows of the open nodes', level));
  return firstBroken(checks);
}

/** Per-subject sensitivity: a subject is one row, in one bin of every variable at one open node. */
export function gbtLevelSensitivity(spec: GbtLevelSpec): SubjectSensitivity {
  const { gbt } = derived(spec);
  const scale = BigInt(GBT_SCALE_BITS);
  const g = (BigInt(Math.ceil(gbtGradientBound(gbt))) << scale) + 1n;
  const h = (1n << (scale - 2n)) + 1n;
  const perField = Object.fromEntries(levelFields(spec).map((f) => [f.name, f.name.endsWith('.h') ? h : f.name.endsWith('+') || f.name.endsWith('-') ? g : 1n]));
  return { perField, disjointCells: true };
}

export const gbtLevelQuery: QueryDefinition<GbtLevelSpec, GbtLevelResult, typeof GBT_LEVEL_KIND> = {
  kind: GBT_LEVEL_KIND,
  parseSpec: parseGbtLevelSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => modelInputFields(derived(spec).data),
  fields: levelFields,
  cells: (spec): CellSpec[] => [{ name: ROUND_CELL, subjectsField: ROWS_FIELD, fields: levelFields(spec).map((f) => f.name) }],
  computeLocal: computeGbtLevelLocal,
  finalise: finaliseGbtLevel,
  subjectSensitivity: gbtLevelSensitivity,
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  rowScope: (spec) => gbtRowScope(spec, 'train'),
  modelRules: gbtLevelRules,
  inputViolation: gbtLevelInputViolation,
};

/**
 * The minimum subjects per leaf after a release made under k = `releasedK`:
 * the declared minLeafSubjects, else k, and never below k nor below what an
 * earlier release stated. Throws RangeError when the declared value is below
 * k, or when neither states one.
 */
function gbtMinLeafSubjects(spec: GbtFitSpec, state: GbtFitState, releasedK: number | undefined): number {
  const k = releasedK ?? spec.minLeafSubjects;
  if (k === undefined) throw new RangeError("the round's release states no k, and the spec declares no minLeafSubjects");
  if (spec.minLeafSubjects !== undefined && spec.minLeafSubjects < k) {
    throw new RangeError(`minLeafSubjects ${spec.minLeafSubjects} is below the purpose's k = ${k}: every leaf must hold at least k subjects`);
  }
  return Math.max(spec.minLeafSubjects ?? k, k, state.minLeafSubjects ?? 1);
}

/**
 * The largest k stated by the fit's releases so far, this one's included
 * (minLeafSubjects when no release stated one): the fewest rows two leaves
 * of different trees may share when they share any.
 */
function gbtDisclosureK(state: GbtFitState, releasedK: number | undefined, minLeafSubjects: number): number {
  return Math.max(releasedK ?? minLeafSubjects, state.disclosureK ?? 1);
}

/**
 * The gbt-spec.ts form of the fit's spec in `state`: the edges found, and
 * the base margin found when the spec says `auto` (0 until the first level).
 */
function gbtFitSpecAt(spec: GbtFitSpec, state: GbtFitState): GbtSpec {
  const gbt = gbtSpecOf(spec, state.edges);
  return spec.baseMargin === 'auto' ? { ...gbt, baseMargin: state.baseMargin ?? 0 } : gbt;
}

/** A round's `baseMargin`: the spec's number, or with `auto` the one found (`auto` until the first level: the shops compute it at 0). */
function roundBaseMargin(spec: GbtFitSpec, state: GbtFitState): number | 'auto' {
  return spec.baseMargin === 'auto' ? (state.baseMargin ?? 'auto') : spec.baseMargin;
}

/** Whether the fit still has to find edges: some variable gives a range and no bin-grid round was released yet. */
function needsGbtEdges(spec: GbtFitSpec, state: GbtFitState): boolean {
  return state.edges === undefined && spec.variables.some(isGbtRangeVariable);
}

/**
 * The state after the bin-grid round: every variable that gives a range
 * gets the edges gbt-bin-edges.ts chooses from the summed grid counts, with
 * every bin holding at least minLeafSubjects (≥ the released k) rows. Throws
 * RangeError when a variable gets no edge (fewer than 2 × minLeafSubjects
 * rows, or nearly all of them in one cell of its range).
 */
export function gbtStateWithEdges(spec: GbtFitSpec, state: GbtFitState, result: GbtBinGridResult): GbtFitState {
  const minLeafSubjects = gbtMinLeafSubjects(spec, state, result.minSubjects);
  const disclosureK = gbtDisclosureK(state, result.minSubjects, minLeafSubjects);
  const edges: Record<string, readonly number[]> = {};
  for (const v of spec.variables) {
    if (!isGbtRangeVariable(v)) continue;
    const counts = result.cells[v.name];
    if (counts === undefined) throw new RangeError(`the bin grid holds no counts of ${v.name}`);
    const found = chooseGbtEdges(v.range, counts, spec.bins, minLeafSubjects);
    if (found.length === 0) {
      throw new RangeError(`${v.name}: no edge in [${v.range[0]}, ${v.range[1]}] leaves at least ${minLeafSubjects} of the ${result.n} rows on both sides; give a narrower range or declare edges`);
    }
    edges[v.name] = found;
  }
  return { ...state, edges, minLeafSubjects, disclosureK };
}

/** The sums of every open node of a level, as the fit state keeps them. */
function frontierSums(result: GbtLevelResult): Record<string, GbtStoredSums> {
  return Object.fromEntries([...gbtOpenNodeSums(result.histograms)].map(([id, s]) => [String(id), { n: String(s.n), g: String(s.g), h: String(s.h) }]));
}

/** The state without the last tree's node sums (a new tree starts). */
function withoutNodeSums(state: GbtFitState): GbtFitState {
  const { nodeSums: _nodeSums, ...rest } = state;
  return rest;
}

/** Whether the last tree is complete and waits for its `gbt-leaf-overlap` round (every tree from the second does). */
export function awaitsGbtLeafOverlap(state: GbtFitState): boolean {
  const last = state.trees.at(-1);
  return state.model === undefined && state.trees.length >= 2 && last !== undefined && !last.nodes.some((n) => n.kind === 'open');
}

/**
 * The model state one level's release leads to, or the finished model. A
 * tree from the second on, once complete, waits in the state for its
 * `gbt-leaf-overlap` round (the next tree is not started yet). With a
 * hold-out the finished model waits in the state for its evaluation round.
 * Throws RangeError when the fit cannot go on or its model cannot be
 * released.
 */
export function advanceGbtFit(spec: GbtFitSpec, state: GbtFitState, result: GbtLevelResult, round: number): { readonly done: false; readonly state: GbtFitState } | { readonly done: true; readonly model: GbtFitModel } {
  if (spec.baseMargin === 'auto' && state.baseMargin === undefined) {
    // The first level, computed at margin 0: the root's sums give the base margin, and the level is read at it.
    if (state.trees.length !== 1 || state.trees[0]!.nodes.length !== 1) throw new RangeError('state: the base margin is found from the first level of the first tree');
    const atZero = gbtSpecOf(spec, state.edges);
    const b = gbtBaseMarginFromRoot(atZero, result.histograms);
    return advanceGbtFit(spec, { ...state, baseMargin: b }, { ...result, histograms: gbtLevelAtBaseMargin(atZero, result.histograms, b) }, round);
  }
  const gbt = gbtFitSpecAt(spec, state);
  const minLeafSubjects = gbtMinLeafSubjects(spec, state, result.minSubjects);
  const disclosureK = gbtDisclosureK(state, result.minSubjects, minLeafSubjects);
  const nodeSums = { ...state.nodeSums, ...frontierSums(result) };
  const next = advanceGbtLevel({ ...gbt, minLeafSubjects }, { ...emptyGbtModel(gbt), trees: state.trees }, result.histograms);
  // advanceGbtLevel starts the next tree as soon as one is complete.
  const completed = next.done || next.model.trees.length > state.trees.length;
  if (!completed) return { done: false, state: { ...state, trees: next.model.trees, minLeafSubjects, disclosureK, nodeSums } };
  const trees = next.done ? next.model.trees : next.model.trees.slice(0, -1);
  // From the second tree on, the leaves are compared with the earlier trees' before anything else.
  if (trees.length >= 2) return { done: false, state: { ...state, trees, minLeafSubjects, disclosureK, nodeSums } };
  if (!next.done) return { done: false, state: { ...withoutNodeSums(state), trees: next.model.trees, minLeafSubjects, disclosureK } };
  return finishGbtTrees(spec, { ...withoutNodeSums(state), disclosureK }, trees, minLeafSubjects, round);
}

/**
 * The state after a `gbt-leaf-overlap` round: the last tree pruned until
 * each of its leaves shares no row or at least k rows (the largest k the
 * fit's releases stated) with every leaf of every earlier tree (gbt-prune.ts; a split turned leaf takes
 * its value and subjects from the sums the state kept), then the next tree
 * started, or the finished model. Throws RangeError when the tree's root
 * itself shares 1 … k − 1 rows with an earlier leaf (the rows
 * changed between trees: the fit stops) or a merged split's sums are missing.
 */
export function gbtStateAfterLeafOverlap(spec: GbtFitSpec, state: GbtFitState, result: GbtLeafOverlapResult, round: number): { readonly done: false; readonly state: GbtFitState } | { readonly done: true; readonly model: GbtFitModel } {
  if (!awaitsGbtLeafOverlap(state)) throw new RangeError('state: no complete tree awaits its leaf overlap');
  const gbt = gbtFitSpecAt(spec, state);
  const minLeafSubjects = gbtMinLeafSubjects(spec, state, result.minSubjects);
  const disclosureK = gbtDisclosureK(state, result.minSubjects, minLeafSubjects);
  const sumsOf = (id: number): GbtSums => {
    const s = state.nodeSums?.[String(id)];
    if (s === undefined) throw new RangeError(`state: no sums of node ${id} of the last tree`);
    return { n: BigInt(s.n), g: BigInt(s.g), h: BigInt(s.h) };
  };
  const last = state.trees.at(-1) as GbtTree;
  const pruned = pruneGbtTreeByOverlap(last, result.overlaps, disclosureK, (id) => gbtLeafValue(sumsOf(id), gbt));
  const trees = [...state.trees.slice(0, -1), pruned];
  const rest = { ...withoutNodeSums(state), disclosureK };
  if (trees.length < gbt.trees) return { done: false, state: { ...rest, trees: startGbtTree({ ...emptyGbtModel(gbt), trees }).trees, minLeafSubjects } };
  return finishGbtTrees(spec, rest, trees, minLeafSubjects, round);
}

/**
 * The finished trees as the stored model, refused unless every leaf holds
 * at least minLeafSubjects; with a hold-out it waits in the state for its
 * evaluation round.
 */
function finishGbtTrees(spec: GbtFitSpec, state: GbtFitState, trees: readonly GbtTree[], minLeafSubjects: number, round: number): { readonly done: false; readonly state: GbtFitState } | { readonly done: true; readonly model: GbtFitModel } {
  const gbt = gbtFitSpecAt(spec, state);
  const finished: GbtModel = { ...emptyGbtModel(gbt), trees };
  // No model is stored unless every leaf holds at least minLeafSubjects (≥ k) subjects.
  assertReleasableGbtModel(finished, minLeafSubjects);
  const root = (trees.at(-1) as GbtTree).nodes[0] as GbtNode;
  const model: GbtFitModel = {
    kind: GBT_KIND,
    purpose: spec.purpose,
    data: spec.data,
    label: { name: spec.label.name, type: spec.label.type },
    learningRate: gbt.learningRate,
    l2: gbt.l2,
    depth: gbt.depth,
    minLeafSubjects,
    rounds: round,
    trainingRows: root.kind === 'open' ? 0 : root.subjects,
    holdoutPercent: spec.holdoutPercent,
    importance: gbtImportance(gbt.variables, trees),
    ...finished,
  };
  if (spec.holdoutPercent > 0) return { done: false, state: { ...state, trees, minLeafSubjects, model } };
  return { done: true, model };
}

/** The stored model once its evaluation round is released: the model with its evaluation, and the rounds counting that one. */
export function finishGbtEvaluation(state: GbtFitState, result: GbtEvaluationResult, round: number): { readonly done: true; readonly model: GbtFitModel } {
  if (state.model === undefined) throw new RangeError('state: no finished model awaits an evaluation');
  return { done: true, model: { ...state.model, rounds: round, ...(result.evaluation === null ? {} : { evaluation: result.evaluation }) } };
}

const GBT_GUIDE: KindGuideBody = {
  summary: 'Gradient-boosted trees on binned variables: binary (logistic) or numeric (squared) label.',
  description:
    'Boosted regression trees like XGBoost or LightGBM on histogram bins: numeric variables by declared edges, or by edges found from the data ' +
    `when they give a range (a first round counts the rows on ${GBT_GRID_CELLS} equal cells over it; the edges are cell boundaries at equal-count ` +
    'quantiles, every bin holding at least minLeafSubjects rows), categorical ones by level. Each round grows one level of one tree: every shop sends, per open node, variable and bin, its encrypted row count and ' +
    'gradient and Hessian sums at the current model; only sums over all shops are decrypted, for the fit runner alone, which picks the best ' +
    'split of every node. After every tree from the second, one more round counts the rows each of its leaves shares with each leaf of the earlier ' +
    'trees, and the tree is pruned (a leaf\'s parent made a leaf) until every such count is 0 or at least the purpose\'s k, so no two leaves of ' +
    'the model differ by 1 to k − 1 subjects. Every leaf holds at least minLeafSubjects subjects (never fewer than the purpose\'s k), or no model is stored. ' +
    'Rows are customers (data: customers) or rows of a business table; a row missing a value is left out. With data: customers, holdoutPercent ' +
    'of the customers (by pseudonym, as the logistic fit splits them) never train: after the last tree they score the model in a last round, ' +
    'published under the rules of the logistic fit\'s evaluation (binary label: AUC, log-loss and rates at 0.5 from merged score histograms; ' +
    'numeric label: RMSE and MAE). Rows of a business table carry no stable key, so they all train. The model lists each variable\'s total split gain (importance).',
  members: [
    purposeMember('marketing-analytics'),
    {
      name: 'data',
      type: 'string',
      required: true,
      description: 'Unit of analysis: customers (one row per consented customer, at asOf) or a business table the shops declare (one row each). Not orders: every row must be a subject.',
    },
    { name: 'asOf', type: 'string', required: false, requiredWhen: 'data is customers', description: `UTC instant the customers are measured at, like ${AS_OF}; orders at or after it do not exist.` },
    {
      name: 'aggregates',
      type: 'object',
      required: false,
      description: 'Per-customer order aggregates by variable name (data: customers): count(orders), sum|mean|min|max|last(order.<column>), days_since(order.ordered_at).',
      sample: { n_orders: 'count(orders)', avg_spend: 'mean(order.amount)' },
    },
    {
      name: 'holdoutPercent',
      type: 'integer',
      required: false,
      default: `${GBT_DEFAULT_HOLDOUT_PERCENT} (data: customers), 0 (a business table)`,
      description: `Share of customers (by pseudonym) held out of training and scored after the last tree, 0 to ${GBT_MAX_HOLDOUT_PERCENT}; 0: every row trains and no evaluation runs. A business table takes only 0 (its rows have no stable key).`,
      sample: 25,
    },
    {
      name: 'label',
      type: 'object',
      required: true,
      description:
        'What is predicted: { name, type: "binary" } (0/1 or TRUE/FALSE; logistic loss, the model gives a probability) or { name, type: "numeric", maxAbs } ' +
        `(squared loss; rows with |label| above maxAbs, default ${GBT_DEFAULTS.maxLabelAbs}, are refused). The name is an aggregate, a built-in or named customer feature, a declared column.`,
    },
    {
      name: 'variables',
      type: 'object[]',
      required: true,
      description:
        `1 to ${GBT_LIMITS.maxVariables} variables: { name, type: "numeric", edges } with strictly increasing inner bin edges (v < edges[0] is the first bin, v ≥ the last edge the last), ` +
        `{ name, type: "numeric", range: [lo, hi] } (lo < hi) whose edges the fit finds from the data at boundaries of ${GBT_GRID_CELLS} equal cells over the range (values outside it fall in the end cells), ` +
        'or { name, type: "categorical", levels } with every level a row may hold. Names are read like the label.',
    },
    { name: 'trees', type: 'integer', required: false, default: String(GBT_DEFAULTS.trees), description: `Trees to grow, 1 to ${GBT_LIMITS.maxTrees}; trees x (2^(depth+1) - 1) at most ${GBT_MAX_FOREST_NODES}.` },
    { name: 'depth', type: 'integer', required: false, default: String(GBT_DEFAULTS.depth), description: `Most split levels per tree, 1 to ${GBT_LIMITS.maxDepth}: one round per level (and one more per tree from the second).` },
    { name: 'learningRate', type: 'number', required: false, default: String(GBT_DEFAULTS.learningRate), description: 'Shrinkage of every leaf value, in (0, 1].' },
    { name: 'l2', type: 'number', required: false, default: String(GBT_DEFAULTS.l2), description: `L2 penalty lambda of the leaf values and gains, 0 to ${GBT_LIMITS.maxL2}.`, sample: 2 },
    { name: 'bins', type: 'integer', required: false, default: String(GBT_DEFAULTS.bins), description: `Most bins of one variable (edges + 1, or levels; a range gets at most this many), ${GBT_LIMITS.minBins} to ${GBT_LIMITS.maxBins}.`, sample: 32 },
    { name: 'minLeafSubjects', type: 'integer', required: false, default: "the purpose's k", description: "Fewest subjects in every leaf; at least the purpose's k (a smaller value stops the fit).", sample: 50 },
    { name: 'minSplitGain', type: 'number', required: false, default: String(GBT_DEFAULTS.minSplitGain), description: 'A split is made only when its gain exceeds it.', sample: 0.5 },
    {
      name: 'baseMargin',
      type: 'number or "auto"',
      required: false,
      default: String(GBT_DEFAULTS.baseMargin),
      description:
        'The margin before the first tree (log-odds for a binary label, the prediction for a numeric one; at most maxAbs), or "auto": the log-odds of the training label mean (binary) or the mean (numeric), ' +
        'found from the first level without a round of its own (it is the mean over the root\'s rows, at least k) and stored with the model.',
      sample: 'auto',
    },
    { name: 'maxRows', type: 'integer', required: false, default: String(GBT_DEFAULTS.maxRows), description: `Most rows of one shop, at most 2^31.`, sample: 1_000_000 },
  ],
  sections: [],
  example: {
    purpose: 'marketing-analytics',
    data: CUSTOMERS_DATA,
    asOf: AS_OF,
    aggregates: { returned_any: 'max(order.returned)', n_orders: 'count(orders)', avg_spend: 'mean(order.amount)' },
    label: { name: 'returned_any', type: 'binary' },
    variables: [
      { name: 'n_orders', type: 'numeric', edges: [2, 3, 5, 8, 13] },
      { name: 'avg_spend', type: 'numeric', edges: [50, 100, 200, 400, 800] },
      { name: 'tenure_days', type: 'numeric', edges: [90, 180, 365, 730] },
      { name: 'lifecycle_stage', type: 'categorical', levels: [...LIFECYCLE_STAGES] },
      { name: 'age_band', type: 'categorical', levels: [...AGE_BANDS] },
    ],
    trees: 20,
    depth: 3,
    learningRate: 0.1,
  },
};

export const gbtFitDefinition: IterativeModelDefinition<GbtFitSpec, GbtFitState, GbtFitModel> = {
  kind: GBT_KIND,
  guide: GBT_GUIDE,
  roundKinds: [GBT_BIN_GRID_KIND, GBT_LEVEL_KIND, GBT_LEAF_OVERLAP_KIND, GBT_EVALUATION_KIND],
  parseFitSpec: parseGbtFitSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => modelInputFields(derived(spec).data),
  initialState: (spec) => ({ trees: startGbtTree(emptyGbtModel({ ...derived(spec).written, variables: [] })).trees }),
  roundQuery: (spec, state, round, fitId) => {
    const { kind: _kind, ...written } = spec;
    // A variable gives a range: the first round counts rows on its grid; every later round carries the edges found.
    if (needsGbtEdges(spec, state)) return { kind: GBT_BIN_GRID_KIND, spec: { ...written, fitId, round } };
    const body = { ...written, variables: gbtSpecOf(spec, state.edges ?? {}).variables, baseMargin: roundBaseMargin(spec, state) };
    // The trees are finished: the last round scores the held-out rows with them.
    if (state.model !== undefined) return { kind: GBT_EVALUATION_KIND, spec: { ...body, fitId, round, forest: gbtRoundForest(state.model.trees) } };
    // A tree from the second is complete: its leaves are compared with the earlier trees' before the next level.
    if (awaitsGbtLeafOverlap(state)) return { kind: GBT_LEAF_OVERLAP_KIND, spec: { ...body, fitId, round, forest: gbtRoundForest(state.trees) } };
    return { kind: GBT_LEVEL_KIND, spec: { ...body, fitId, round, forest: gbtRoundForest(state.trees) } };
  },
  advance: (spec, state, roundResult, round) => {
    if (needsGbtEdges(spec, state)) return { done: false, state: gbtStateWithEdges(spec, state, roundResult as GbtBinGridResult) };
    if (state.model !== undefined) return finishGbtEvaluation(state, roundResult as GbtEvaluationResult, round);
    if (awaitsGbtLeafOverlap(state)) return gbtStateAfterLeafOverlap(spec, state, roundResult as GbtLeafOverlapResult, round);
    return advanceGbtFit(spec, state, roundResult as GbtLevelResult, round);
  },
};
