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
import type { IterativeModelDefinition } from './iterative.js';
import { assertWithinBounds, type FieldSpec, type QueryDefinition, type ReleasedTotals } from './query-definition.js';
import { fixedToReal, joinSigned, realToFixed, signedFieldSpecs, splitSigned } from './signed-real.js';
import { parseWith } from './spec-parse.js';
import type { ShopData } from './shop-data.js';

export const KMEANS_FIT_KIND = 'kmeans';
export const FEATURE_MOMENTS_KIND = 'feature-moments';
export const KMEANS_ROUND_KIND = 'kmeans-round';

const featureList = z
  .array(z.enum(CUSTOMER_FEATURE_NAMES.filter((f) => f !== 'intercept') as [CustomerFeature, ...CustomerFeature[]]))
  .min(1)
  .max(16)
  .refine((f) => new Set(f).size === f.length, 'features must be distinct');
const common = {
  purpose: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/),
  features: featureList,
  maxFeatureAbs: z.number().positive().max(1e6).default(1000),
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
  features: featureList,
  k: z.number().int().min(2).max(20),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
  maxRounds: z.number().int().min(2).max(200).default(50),
  maxFeatureAbs: common.maxFeatureAbs,
  maxRows: common.maxRows,
});

export type FeatureMomentsSpec = z.infer<typeof momentsSchema>;
export type KmeansRoundSpec = z.infer<typeof roundSchema>;
export type KmeansFitSpec = z.infer<typeof fitSchema>;

export interface FeatureMoments {
  readonly n: number;
  readonly mean: number[];
  readonly std: number[];
}

export interface KmeansRoundResult {
  readonly counts: number[];
  /** Per cluster, the coordinate sums. */
  readonly sums: number[][];
  readonly inertia: number;
}

export interface KmeansModel {
  readonly kind: typeof KMEANS_FIT_KIND;
  readonly purpose: string;
  readonly features: CustomerFeature[];
  readonly k: number;
  readonly seed: number;
  readonly initialCentroids: number[][];
  readonly centroids: number[][];
  readonly sizes: number[];
  readonly inertia: number;
  readonly rounds: number;
  readonly converged: boolean;
}

export interface KmeansState {
  readonly centroids: number[][] | null;
  readonly initialCentroids: number[][] | null;
}

function bitsFor(x: number): bigint {
  return BigInt(Math.ceil(Math.log2(x + 1)));
}

function rowsOf(spec: { features: CustomerFeature[]; maxFeatureAbs: number; maxRows: number }, data: ShopData): number[][] {
  const rows = featureRows(data, spec.features, 'repeat', { holdoutPercent: 0, part: 'all' }).map((r) => r.x);
  if (rows.length > spec.maxRows) throw new RangeError(`field n: ${rows.length} rows exceed maxRows ${spec.maxRows}`);
  for (const x of rows) {
    x.forEach((v, j) => {
      if (Math.abs(v) > spec.maxFeatureAbs) throw new RangeError(`feature ${spec.features[j]}: |${v}| exceeds maxFeatureAbs ${spec.maxFeatureAbs}`);
    });
  }
  return rows;
}

// ---- round 1: feature moments ------------------------------------------------

function momentFields(spec: FeatureMomentsSpec): FieldSpec[] {
  const rows = BigInt(spec.maxRows);
  const a = bitsFor(spec.maxFeatureAbs);
  return [
    { name: 'n', max: rows },
    ...spec.features.flatMap((_, j) => signedFieldSpecs(`s.${j}`, rows << (a + 40n))),
    ...spec.features.map((_, j) => ({ name: `q.${j}`, max: rows << (2n * a + 40n) })),
  ];
}

export const featureMomentsQuery: QueryDefinition<FeatureMomentsSpec, FeatureMoments> = {
  kind: FEATURE_MOMENTS_KIND,
  parseSpec: (json) => parseWith(momentsSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => featureInputFields(spec.features),
  fields: momentFields,
  cells: (spec) => [{ name: 'all', subjectsField: 'n', fields: momentFields(spec).map((f) => f.name) }],
  computeLocal: (spec, data) => {
    const rows = rowsOf(spec, data);
    const d = spec.features.length;
    const s = new Array<number>(d).fill(0);
    const q = new Array<number>(d).fill(0);
    for (const x of rows) x.forEach((v, j) => {
      s[j]! += v;
      q[j]! += v * v;
    });
    const values = [BigInt(rows.length), ...s.flatMap((v) => splitSigned(realToFixed(v))), ...q.map((v) => realToFixed(v))];
    assertWithinBounds(momentFields(spec), values);
    return values;
  },
  finalise: (spec, release) => {
    const t = totalsOf(release);
    const n = Number(t.n ?? 0n);
    const mean = spec.features.map((_, j) => fixedToReal(joinSigned(t, `s.${j}`)) / n);
    const std = spec.features.map((_, j) => Math.sqrt(Math.max(0, fixedToReal(t[`q.${j}`] ?? 0n) / n - mean[j]! ** 2)));
    return { n, mean, std };
  },
};

// ---- Lloyd rounds ------------------------------------------------------------

function roundFields(spec: KmeansRoundSpec): FieldSpec[] {
  const rows = BigInt(spec.maxRows);
  const a = bitsFor(spec.maxFeatureAbs);
  return [
    { name: 'n', max: rows },
    ...spec.centroids.map((_, c) => ({ name: `n.${c}`, max: rows })),
    ...spec.centroids.flatMap((_, c) => spec.features.flatMap((__, j) => signedFieldSpecs(`s.${c}.${j}`, rows << (a + 40n)))),
    // Squared distances to centroids within the feature box: (2·maxAbs)² per feature.
    { name: 'inertia', max: rows << (2n * (a + 1n) + bitsFor(spec.features.length) + 40n) },
  ];
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

export const kmeansRoundQuery: QueryDefinition<KmeansRoundSpec, KmeansRoundResult> = {
  kind: KMEANS_ROUND_KIND,
  parseSpec: (json) => parseWith(roundSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => featureInputFields(spec.features),
  fields: roundFields,
  cells: (spec) => [{ name: 'all', subjectsField: 'n', fields: roundFields(spec).map((f) => f.name) }],
  computeLocal: (spec, data) => {
    const d = spec.features.length;
    const k = spec.centroids.length;
    if (spec.centroids.some((c) => c.length !== d)) throw new RangeError(`spec.centroids must have ${d} coordinates each`);
    const counts = new Array<number>(k).fill(0);
    const sums = Array.from({ length: k }, () => new Array<number>(d).fill(0));
    let inertia = 0;
    for (const x of rowsOf(spec, data)) {
      const { index, d2 } = nearestCentroid(x, spec.centroids);
      counts[index]!++;
      x.forEach((v, j) => (sums[index]![j]! += v));
      inertia += d2;
    }
    const values = [BigInt(counts.reduce((a, b) => a + b, 0)), ...counts.map(BigInt), ...sums.flatMap((row) => row.flatMap((v) => splitSigned(realToFixed(v)))), realToFixed(inertia)];
    assertWithinBounds(roundFields(spec), values);
    return values;
  },
  finalise: (spec, release) => {
    const t = totalsOf(release);
    return {
      counts: spec.centroids.map((_, c) => Number(t[`n.${c}`] ?? 0n)),
      sums: spec.centroids.map((_, c) => spec.features.map((__, j) => fixedToReal(joinSigned(t, `s.${c}.${j}`)))),
      inertia: fixedToReal(t.inertia ?? 0n),
    };
  },
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

export const kmeansFitDefinition: IterativeModelDefinition<KmeansFitSpec, KmeansState, KmeansModel> = {
  kind: KMEANS_FIT_KIND,
  roundKinds: [FEATURE_MOMENTS_KIND, KMEANS_ROUND_KIND],
  parseFitSpec: (json) => parseWith(fitSchema, json),
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => featureInputFields(spec.features),
  initialState: () => ({ centroids: null, initialCentroids: null }),
  roundQuery: (spec, state, round, fitId) => {
    const common = { purpose: spec.purpose, features: spec.features, maxFeatureAbs: spec.maxFeatureAbs, maxRows: spec.maxRows, fitId, round };
    if (state.centroids === null) return { kind: FEATURE_MOMENTS_KIND, spec: common };
    return { kind: KMEANS_ROUND_KIND, spec: { ...common, centroids: state.centroids } };
  },
  advance: (spec, state, roundResult, round) => {
    if (state.centroids === null) {
      const init = seededCentroids(roundResult as FeatureMoments, spec.k, spec.seed);
      return { done: false, state: { centroids: init, initialCentroids: init } };
    }
    const r = roundResult as KmeansRoundResult;
    const centroids = state.centroids.map((old, c) => (r.counts[c]! > 0 ? r.sums[c]!.map((s) => s / r.counts[c]!) : old));
    const moved = Math.max(...centroids.flatMap((c, i) => c.map((v, j) => Math.abs(v - state.centroids![i]![j]!))));
    const converged = moved === 0;
    if (!converged && round < spec.maxRounds) return { done: false, state: { centroids, initialCentroids: state.initialCentroids } };
    return {
      done: true,
      model: {
        kind: KMEANS_FIT_KIND,
        purpose: spec.purpose,
        features: [...spec.features],
        k: spec.k,
        seed: spec.seed,
        initialCentroids: state.initialCentroids ?? [],
        centroids,
        sizes: r.counts,
        inertia: r.inertia,
        rounds: round,
        converged,
      },
    };
  },
};
