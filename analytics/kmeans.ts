/**
 * k-means segmentation by federated Lloyd rounds. Round 1 gathers feature
 * moments (n, Σx, Σx²) so the coordinator can place k initial centroids
 * deterministically from a seed (mean + std · z, z from a seeded normal
 * stream); each later round sends the current centroids, every shop assigns
 * its rows to the nearest one and returns encrypted per-cluster counts and
 * coordinate sums, and the coordinator moves each centroid to the mean of its
 * cluster. The fit stops when no centroid moves (assignments are stable).
 * Every step equals a pooled Lloyd run from the same initialisation.
 *
 * @module
 */
import { z } from 'zod';
import { CUSTOMER_FEATURE_NAMES, featureInputFields, featureRows, type CustomerFeature } from './customer-features.js';
import { absAtMost, atMost, equals, firstBroken, signedTotalOf, squareAtMost, totalOf, withRoundingSlack, type RelationCheck } from './input-relations.js';
import type { IterativeModelDefinition } from './iterative.js';
import { supportCounts, supportField, supportFields, supportGroups, type ModelRules } from './model-rules.js';
import { assertWithinBounds, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import { fixedToReal, joinSigned, realToFixed, signedFieldSpecs, splitSigned } from './signed-real.js';
import { parseWith } from './spec-parse.js';
import type { ShopData } from './shop-data.js';
import { QuerySpecError } from './errors.js';
import { ORDERS_DATA, modelDataSchema, modelDesign, modelInputFields, modelRowScope, modelRows, normaliseModelData, type ModelData } from './model-data.js';
import { CUSTOMER_FEATURE_TEXT } from './model-guide.js';
import { purposeMember, type KindGuideBody } from './kind-guide-types.js';
import { FEATURE_CLIP_GUIDE_MEMBERS, clippedFeatures, clippingMembers, type FeatureClip } from './logistic-clipping.js';

export const KMEANS_FIT_KIND = 'kmeans';
export const FEATURE_MOMENTS_KIND = 'feature-moments';
export const KMEANS_ROUND_KIND = 'kmeans-round';

const featureList = z
  .array(z.enum(CUSTOMER_FEATURE_NAMES.filter((f) => f !== 'intercept') as [CustomerFeature, ...CustomerFeature[]]))
  .min(1)
  .max(16)
  .refine((f) => new Set(f).size === f.length, 'features must be distinct');
/**
 * Variables from a one-sided R formula over the columns shops declare
 * (model-data.ts), instead of `features`: `{ formula: "~ income +
 * log1p(spend) + C(region)", data: "customers", asOf, levels, aggregates }`.
 */
const modelSchema = z.strictObject(modelDataSchema).optional();
const common = {
  purpose: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/),
  features: featureList.optional(),
  model: modelSchema,
  maxFeatureAbs: z.number().positive().max(1e6).default(1000),
  /** `decline` (default): a row beyond maxFeatureAbs refuses the round; `clip`: its feature is moved to ±maxFeatureAbs (logistic-clipping.ts). */
  featureClip: clippingMembers.featureClip,
  maxRows: z.number().int().positive().max(2 ** 31).default(2 ** 24),
  fitId: z.string().min(1).max(128).optional(),
  round: z.number().int().min(1).max(1000).optional(),
};

const momentsSchema = z.strictObject({ kind: z.literal(FEATURE_MOMENTS_KIND), ...common });
const roundSchema = z.strictObject({
  kind: z.literal(KMEANS_ROUND_KIND),
  ...common,
  centroids: z.array(z.array(z.number().finite())).min(2).max(20),
});
const fitSchema = z.strictObject({
  kind: z.literal(KMEANS_FIT_KIND),
  purpose: common.purpose,
  features: featureList.optional(),
  model: modelSchema,
  k: z.number().int().min(2).max(20),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
  maxRounds: z.number().int().min(2).max(200).default(50),
  maxFeatureAbs: common.maxFeatureAbs,
  featureClip: common.featureClip,
  maxRows: common.maxRows,
});

export type FeatureMomentsSpec = z.infer<typeof momentsSchema>;
export type KmeansRoundSpec = z.infer<typeof roundSchema>;
export type KmeansFitSpec = z.infer<typeof fitSchema>;

/** Largest number of variables a k-means fit takes. */
const MAX_KMEANS_VARIABLES = 16;
type VariableSource = { readonly features?: CustomerFeature[] | undefined; readonly model?: z.infer<typeof modelSchema> };
const normalised = new WeakMap<object, ModelData>();

/** The normalised model data of a formula spec (memoised per spec object). */
function modelOf(spec: VariableSource): ModelData | undefined {
  if (spec.model === undefined) return undefined;
  let m = normalised.get(spec.model);
  if (m === undefined) {
    m = normaliseModelData(spec.model, MAX_KMEANS_VARIABLES, 'none');
    normalised.set(spec.model, m);
  }
  return m;
}

/** The clustered variables: the features, or the formula's design columns. */
export function kmeansVariables(spec: VariableSource): string[] {
  const m = modelOf(spec);
  return m === undefined ? [...(spec.features ?? [])] : modelDesign(m).columns.map((c) => c.name);
}

function variableInputFields(spec: VariableSource): string[] {
  const m = modelOf(spec);
  return m === undefined ? featureInputFields(spec.features ?? []) : modelInputFields(m);
}

/** Parses with `schema` and checks that exactly one of features and model is given. */
function parseVariables<T extends VariableSource>(schema: z.ZodType<T>, json: unknown): T {
  const spec = parseWith(schema, json);
  if ((spec.features === undefined) === (spec.model === undefined)) throw new QuerySpecError('features', 'give either features or model (a one-sided formula over declared columns)');
  if (spec.model?.data === ORDERS_DATA || spec.model?.customerRows === true) {
    throw new QuerySpecError('model.data', "k-means clusters subjects: customers (data: customers, with per-customer aggregates of their orders) or rows of a business table, not customers' rows");
  }
  if (spec.model !== undefined && kmeansVariables(spec).length === 0) throw new QuerySpecError('model.formula', 'no design columns');
  return spec;
}

export interface FeatureMoments {
  readonly n: number;
  readonly mean: number[];
  readonly std: number[];
}

export interface KmeansRoundResult {
  /** Per cluster, its size; null for a cluster the key holder withheld (fewer than k rows). */
  readonly counts: (number | null)[];
  /** Per cluster, the coordinate sums (null when withheld). */
  readonly sums: (number[] | null)[];
  /** Sum of squared distances over the released clusters. */
  readonly inertia: number;
}

export interface KmeansModel {
  readonly kind: typeof KMEANS_FIT_KIND;
  readonly purpose: string;
  /** The clustered variables (features, or the formula's design columns). */
  readonly features: string[];
  readonly k: number;
  readonly seed: number;
  readonly initialCentroids: number[][];
  readonly centroids: number[][];
  readonly sizes: number[];
  readonly inertia: number;
  readonly rounds: number;
  readonly converged: boolean;
  /** Clusters dropped because a round held fewer than k customers in them (or in one feature's support within them). */
  readonly droppedClusters: number;
  /** Set when the fit clipped features to ±maxFeatureAbs; rows assigned to the clusters later should be clipped alike. */
  readonly featureClip?: FeatureClip;
  /** With featureClip clip: the bound the features were clipped to. */
  readonly maxFeatureAbs?: number;
}

export interface KmeansState {
  readonly centroids: number[][] | null;
  readonly initialCentroids: number[][] | null;
  /** Clusters dropped so far (withheld by the key holder). */
  readonly droppedClusters?: number;
}

function bitsFor(x: number): bigint {
  return BigInt(Math.ceil(Math.log2(x + 1)));
}

/**
 * The shop's rows for a round: each feature within ±maxFeatureAbs, moved to
 * the bound under `featureClip: 'clip'`; otherwise a row beyond it refuses
 * the round (RangeError naming the feature). Either way no row adds more
 * than the bound to a sum, which the key holder checks at decode.
 */
function rowsOf(spec: VariableSource & { maxFeatureAbs: number; featureClip?: FeatureClip | undefined; maxRows: number }, data: ShopData): number[][] {
  const m = modelOf(spec);
  const names = kmeansVariables(spec);
  const rows = m === undefined ? featureRows(data, spec.features ?? [], 'repeat', { holdoutPercent: 0, part: 'all' }).map((r) => r.x) : modelRows(m, data);
  if (rows.length > spec.maxRows) throw new RangeError(`field n: ${rows.length} rows exceed maxRows ${spec.maxRows}`);
  return rows.map((x) => [...clippedFeatures(spec, names, x)]);
}

// ---- round 1: feature moments ------------------------------------------------

function momentFields(spec: FeatureMomentsSpec): FieldSpec[] {
  const rows = BigInt(spec.maxRows);
  const a = bitsFor(spec.maxFeatureAbs);
  return [
    { name: 'n', max: rows },
    ...kmeansVariables(spec).flatMap((_, j) => signedFieldSpecs(`s.${j}`, rows << (a + 40n))),
    ...kmeansVariables(spec).map((_, j) => ({ name: `q.${j}`, max: rows << (2n * a + 40n) })),
    ...supportFields(kmeansVariables(spec), rows),
  ];
}

/**
 * Relations every honest shop's feature moments satisfy (input-relations.ts):
 * supports are row counts; per row |x_j| ≤ F (maxFeatureAbs) and x_j adds
 * only where nonzero, so |Σx_j| ≤ F · nz_j and Σx_j² ≤ F² · nz_j; and
 * (Σx_j)² ≤ nz_j · Σx_j² (Cauchy–Schwarz), with the slack of rounding.
 */
export function featureMomentsInputViolation(spec: FeatureMomentsSpec, totals: ReadonlyMap<string, bigint>, contributors: number): string | undefined {
  const n = totalOf(totals, 'n');
  const f1 = BigInt(Math.ceil(spec.maxFeatureAbs));
  const c = BigInt(contributors);
  return firstBroken(kmeansVariables(spec).flatMap((v, j): RelationCheck[] => {
    const nz = totalOf(totals, supportField(v));
    const sum = signedTotalOf(totals, `s.${j}`);
    const squares = totalOf(totals, `q.${j}`);
    const magnitude = sum < 0n ? -sum : sum;
    const rounded = magnitude > c ? magnitude - c : 0n;
    const product = nz * (squares + c);
    return [
      atMost(supportField(v), nz, 'n', n),
      absAtMost(`s.${j}`, sum, `maxFeatureAbs x the rows where ${v} is nonzero (at scale 2^40)`, withRoundingSlack((f1 * nz) << 40n, contributors)),
      atMost(`q.${j}`, squares, `maxFeatureAbs^2 x the rows where ${v} is nonzero (at scale 2^40)`, withRoundingSlack((f1 * f1 * nz) << 40n, contributors)),
      squareAtMost(`s.${j} (less one unit per shop)`, rounded, `the rows where ${v} is nonzero x q.${j} (at scale 2^40, with 2^-19 relative slack)`, 1n, (product + (product >> 19n)) << 40n),
    ];
  }));
}

export const featureMomentsQuery: QueryDefinition<FeatureMomentsSpec, FeatureMoments> = {
  kind: FEATURE_MOMENTS_KIND,
  parseSpec: (json) => parseVariables(momentsSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: variableInputFields,
  fields: momentFields,
  cells: (spec) => [{ name: 'all', subjectsField: 'n', fields: momentFields(spec).map((f) => f.name) }],
  computeLocal: (spec, data) => {
    const rows = rowsOf(spec, data);
    const d = kmeansVariables(spec).length;
    const s = new Array<number>(d).fill(0);
    const q = new Array<number>(d).fill(0);
    for (const x of rows) x.forEach((v, j) => {
      s[j]! += v;
      q[j]! += v * v;
    });
    const values = [BigInt(rows.length), ...s.flatMap((v) => splitSigned(realToFixed(v))), ...q.map((v) => realToFixed(v)), ...supportCounts(kmeansVariables(spec), rows)];
    assertWithinBounds(momentFields(spec), values);
    return values;
  },
  finalise: (spec, release) => {
    const t = totalsOf(release);
    const n = Number(t.n ?? 0n);
    const mean = kmeansVariables(spec).map((_, j) => fixedToReal(joinSigned(t, `s.${j}`)) / n);
    const std = kmeansVariables(spec).map((_, j) => Math.sqrt(Math.max(0, fixedToReal(t[`q.${j}`] ?? 0n) / n - mean[j]! ** 2)));
    return { n, mean, std };
  },
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  // A mean and a spread per feature; every feature's support and every pair's joint support hold 0 or at least k rows.
  rowScope: (spec) => (modelOf(spec) === undefined ? {} : modelRowScope(modelOf(spec) as ModelData)),
  modelRules: (spec) => ({ rowsField: 'n', parameters: 2 * kmeansVariables(spec).length, groups: supportGroups(kmeansVariables(spec), () => false) }),
  inputViolation: featureMomentsInputViolation,
};

// ---- Lloyd rounds ------------------------------------------------------------

/** The fields of cluster `c`: size, coordinate sums, inertia and per-feature supports. */
function clusterFields(spec: KmeansRoundSpec, c: number): FieldSpec[] {
  const rows = BigInt(spec.maxRows);
  const a = bitsFor(spec.maxFeatureAbs);
  return [
    { name: `n.${c}`, max: rows },
    ...kmeansVariables(spec).flatMap((_, j) => signedFieldSpecs(`s.${c}.${j}`, rows << (a + 40n))),
    // Squared distances to the centroid within the feature box: (2·maxAbs)² per feature.
    { name: `inertia.${c}`, max: rows << (2n * (a + 1n) + bitsFor(kmeansVariables(spec).length) + 40n) },
    ...kmeansVariables(spec).map((_, j) => ({ name: `nz.${c}.${j}`, max: rows })),
  ];
}

function roundFields(spec: KmeansRoundSpec): FieldSpec[] {
  return [{ name: 'n', max: BigInt(spec.maxRows) }, ...spec.centroids.flatMap((_, c) => clusterFields(spec, c))];
}

/** Cell `all` (the rows) and one cell per cluster, withheld when the cluster holds fewer than k rows. */
function roundCells(spec: KmeansRoundSpec): CellSpec[] {
  return [
    { name: 'all', subjectsField: 'n', fields: ['n'] },
    ...spec.centroids.map((_, c) => ({ name: `cluster.${c}`, subjectsField: `n.${c}`, fields: clusterFields(spec, c).map((f) => f.name) })),
  ];
}

/**
 * Every cluster holds 0 or at least k rows (cell suppression) and, within
 * it, every feature's support does too: a cluster of 30 where one customer
 * has a nonzero value would publish that value in its centroid. A failing
 * cluster is withheld; the fit drops its centroid.
 */
function roundModelRules(spec: KmeansRoundSpec): ModelRules {
  return {
    rowsField: 'n',
    parameters: spec.centroids.length * kmeansVariables(spec).length,
    groups: [],
    cellGroups: spec.centroids.map((_, c) => ({
      cell: `cluster.${c}`,
      groups: kmeansVariables(spec).map((f, j) => ({ label: `the rows of cluster ${c} where ${f} is nonzero`, variables: [f], terms: [{ field: `nz.${c}.${j}`, sign: 1 as const }] })),
    })),
  };
}

/** Index of the nearest centroid (lowest index on ties) and the squared distance. */
export function nearestCentroid(x: readonly number[], centroids: readonly (readonly number[])[]): { index: number; d2: number } {
  let index = 0;
  let best = Number.POSITIVE_INFINITY;
  centroids.forEach((c, i) => {
    let d2 = 0;
    for (let j = 0; j < x.length; j++) d2 += (x[j]! - c[j]!) ** 2;
    if (d2 < best) {
      best = d2;
      index = i;
    }
  });
  return { index, d2: best };
}

function totalsOf(release: ReleasedTotals): Readonly<Record<string, bigint>> {
  const cell = release.cells.all;
  if (!cell || cell.suppressed || !cell.totals) throw new RangeError('the round aggregate was suppressed');
  return cell.totals;
}

/**
 * Relations every honest shop's Lloyd round satisfies (input-relations.ts):
 * every row is assigned to exactly one cluster, a cluster's supports are
 * among its rows, and a cluster's coordinate sum is at most maxFeatureAbs
 * per row where the coordinate is nonzero (with the slack of rounding).
 */
export function kmeansRoundInputViolation(spec: KmeansRoundSpec, totals: ReadonlyMap<string, bigint>, contributors: number): string | undefined {
  const n = totalOf(totals, 'n');
  const f1 = BigInt(Math.ceil(spec.maxFeatureAbs));
  let assigned = 0n;
  const checks: RelationCheck[] = [];
  spec.centroids.forEach((_, c) => {
    const rows = totalOf(totals, `n.${c}`);
    assigned += rows;
    kmeansVariables(spec).forEach((v, j) => {
      const nz = totalOf(totals, `nz.${c}.${j}`);
      checks.push(
        atMost(`nz.${c}.${j}`, nz, `n.${c}`, rows),
        absAtMost(`s.${c}.${j}`, signedTotalOf(totals, `s.${c}.${j}`), `maxFeatureAbs x the rows of cluster ${c} where ${v} is nonzero (at scale 2^40)`, withRoundingSlack((f1 * nz) << 40n, contributors)),
      );
    });
  });
  return firstBroken([equals('the rows of all clusters', assigned, 'n', n), ...checks]);
}

export const kmeansRoundQuery: QueryDefinition<KmeansRoundSpec, KmeansRoundResult> = {
  kind: KMEANS_ROUND_KIND,
  parseSpec: (json) => parseVariables(roundSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: variableInputFields,
  fields: roundFields,
  cells: roundCells,
  computeLocal: (spec, data) => {
    const d = kmeansVariables(spec).length;
    const k = spec.centroids.length;
    if (spec.centroids.some((c) => c.length !== d)) throw new RangeError(`spec.centroids must have ${d} coordinates each`);
    const counts = new Array<number>(k).fill(0);
    const sums = Array.from({ length: k }, () => new Array<number>(d).fill(0));
    const inertia = new Array<number>(k).fill(0);
    const nonzero = Array.from({ length: k }, () => new Array<number>(d).fill(0));
    for (const x of rowsOf(spec, data)) {
      const { index, d2 } = nearestCentroid(x, spec.centroids);
      counts[index]!++;
      x.forEach((v, j) => {
        sums[index]![j]! += v;
        if (v !== 0) nonzero[index]![j]!++;
      });
      inertia[index]! += d2;
    }
    const values = [BigInt(counts.reduce((a, b) => a + b, 0))];
    for (let c = 0; c < k; c++) {
      values.push(BigInt(counts[c]!), ...sums[c]!.flatMap((v) => splitSigned(realToFixed(v))), realToFixed(inertia[c]!), ...nonzero[c]!.map(BigInt));
    }
    assertWithinBounds(roundFields(spec), values);
    return values;
  },
  finalise: (spec, release) => {
    const cluster = (c: number) => release.cells[`cluster.${c}`];
    const released = (c: number) => {
      const cell = cluster(c);
      if (cell === undefined) throw new TypeError(`release.cells.cluster.${c}: missing`);
      return !cell.suppressed && cell.totals !== undefined ? cell.totals : null;
    };
    const t = spec.centroids.map((_, c) => released(c));
    return {
      counts: t.map((x, c) => (x === null ? null : Number(x[`n.${c}`] ?? 0n))),
      sums: t.map((x, c) => (x === null ? null : kmeansVariables(spec).map((__, j) => fixedToReal(joinSigned(x, `s.${c}.${j}`))))),
      inertia: t.reduce((a, x, c) => a + (x === null ? 0 : fixedToReal(x[`inertia.${c}`] ?? 0n)), 0),
    };
  },
  disclosureRole: 'fit-round',
  fitIdOf: (spec) => spec.fitId,
  rowScope: (spec) => (modelOf(spec) === undefined ? {} : modelRowScope(modelOf(spec) as ModelData)),
  modelRules: roundModelRules,
  inputViolation: kmeansRoundInputViolation,
};

// ---- seeded initialisation -----------------------------------------------------

/** mulberry32: a tiny deterministic generator; the initialisation must be reproducible, not secret. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** k initial centroids mean + std · z with z standard normal from `seed` (Box–Muller). */
export function seededCentroids(moments: FeatureMoments, k: number, seed: number): number[][] {
  const next = mulberry32(seed);
  const normal = () => {
    const u = Math.max(next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return Array.from({ length: k }, () => moments.mean.map((m, j) => m + moments.std[j]! * normal()));
}

const KMEANS_GUIDE: KindGuideBody = {
  summary: 'k-means customer segments by federated Lloyd rounds from a seeded start.',
  description:
    'Round 1 gathers feature means and standard deviations, from which k initial centroids follow deterministically from the seed; ' +
    'each later round sends the centroids, every shop assigns its customers to the nearest and returns encrypted per-cluster counts ' +
    'and coordinate sums, and the centroids move to the cluster means until no centroid moves. A cluster that falls below k customers ' +
    'in a round is withheld and its centroid dropped (the model says how many).',
  members: [
    purposeMember('marketing-analytics'),
    {
      name: 'features',
      type: 'string[]',
      required: false,
      requiredWhen: 'without model',
      description: `1 to 16 distinct customer features: ${CUSTOMER_FEATURE_TEXT(CUSTOMER_FEATURE_NAMES.filter((f) => f !== 'intercept'))}. Give features or model, not both.`,
      values: CUSTOMER_FEATURE_NAMES.filter((f) => f !== 'intercept'),
    },
    {
      name: 'model',
      type: 'object',
      required: false,
      requiredWhen: 'without features',
      description:
        'The variables as a one-sided R formula over the columns shops declare: { formula: "~ I(income/1000) + log1p(spend)", data: "customers" or a table, asOf (customers), levels, aggregates, bounds } as for linear-model; the clustered variables are its design columns, at most 16.',
      sample: { data: 'customers', asOf: '2026-01-01T00:00:00Z', formula: '~ log1p(spend) + n_orders', aggregates: { spend: 'sum(order.amount)', n_orders: 'count(orders)' } },
      sampleWith: { features: undefined },
    },
    { name: 'k', type: 'integer', required: true, description: 'Number of clusters, 2 to 20.' },
    { name: 'seed', type: 'integer', required: false, default: '1', description: 'Seed of the initial centroids, 0 to 2^32 - 1.' },
    { name: 'maxRounds', type: 'integer', required: false, default: '50', description: 'Most rounds, 2 to 200.', sample: 20 },
    ...FEATURE_CLIP_GUIDE_MEMBERS,
    { name: 'maxRows', type: 'integer', required: false, default: String(2 ** 24), description: 'Most rows one shop may have, at most 2^31.', sample: 1_000_000 },
  ],
  sections: [],
  example: { purpose: 'marketing-analytics', features: ['orders', 'avg_order_value', 'mean_gap_days'], k: 4, seed: 1 },
};

export const kmeansFitDefinition: IterativeModelDefinition<KmeansFitSpec, KmeansState, KmeansModel> = {
  kind: KMEANS_FIT_KIND,
  guide: KMEANS_GUIDE,
  roundKinds: [FEATURE_MOMENTS_KIND, KMEANS_ROUND_KIND],
  parseFitSpec: (json) => parseVariables(fitSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: variableInputFields,
  initialState: () => ({ centroids: null, initialCentroids: null }),
  roundQuery: (spec, state, round, fitId) => {
    const variables = spec.model === undefined ? { features: spec.features } : { model: spec.model };
    const clip = spec.featureClip === undefined ? {} : { featureClip: spec.featureClip };
    const common = { purpose: spec.purpose, ...variables, maxFeatureAbs: spec.maxFeatureAbs, ...clip, maxRows: spec.maxRows, fitId, round };
    if (state.centroids === null) return { kind: FEATURE_MOMENTS_KIND, spec: common };
    return { kind: KMEANS_ROUND_KIND, spec: { ...common, centroids: state.centroids } };
  },
  advance: (spec, state, roundResult, round) => {
    if (state.centroids === null) {
      const init = seededCentroids(roundResult as FeatureMoments, spec.k, spec.seed);
      return { done: false, state: { centroids: init, initialCentroids: init } };
    }
    const r = roundResult as KmeansRoundResult;
    const dropped = state.droppedClusters ?? 0;
    const kept = state.centroids.map((_, c) => c).filter((c) => r.counts[c] !== null);
    if (kept.length < state.centroids.length) {
      // A withheld cluster's centroid is never published again; its rows join the others in the next round.
      if (kept.length < 2) {
        throw new RangeError(`round ${round}: only ${kept.length} of ${state.centroids.length} clusters hold at least k customers; try fewer clusters or another seed`);
      }
      const centroids = kept.map((c) => (r.counts[c]! > 0 ? r.sums[c]!.map((s) => s / r.counts[c]!) : state.centroids![c]!));
      return { done: false, state: { centroids, initialCentroids: state.initialCentroids, droppedClusters: dropped + state.centroids.length - kept.length } };
    }
    const centroids = state.centroids.map((old, c) => (r.counts[c]! > 0 ? r.sums[c]!.map((s) => s / r.counts[c]!) : old));
    const moved = Math.max(...centroids.flatMap((c, i) => c.map((v, j) => Math.abs(v - state.centroids![i]![j]!))));
    const converged = moved === 0;
    if (!converged && round < spec.maxRounds) return { done: false, state: { centroids, initialCentroids: state.initialCentroids, droppedClusters: dropped } };
    return {
      done: true,
      model: {
        kind: KMEANS_FIT_KIND,
        purpose: spec.purpose,
        features: kmeansVariables(spec),
        k: spec.k,
        seed: spec.seed,
        initialCentroids: state.initialCentroids ?? [],
        centroids,
        sizes: r.counts.map((x) => x as number),
        inertia: r.inertia,
        rounds: round,
        converged,
        droppedClusters: dropped,
        ...(spec.featureClip === 'clip' ? { featureClip: 'clip' as const, maxFeatureAbs: spec.maxFeatureAbs } : {}),
      },
    };
  },
};
