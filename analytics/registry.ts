/**
 * Query kind → definition. The coordinator, key holder and merchant node
 * look kinds up here so that adding a query kind means adding one file, its
 * import and one entry in QUERY_KINDS below, and no service code changes.
 *
 * @module
 */
import { withDominanceBins } from './dominance-bins.js';
import { UnknownQueryKindError } from './errors.js';
import { disclosureRoleOf, type AnyQueryDefinition, type QueryDefinition } from './query-definition.js';
import { segmentStatsQuery } from './segment-stats.js';
import { logisticFitDefinition, logisticRoundQuery } from './logistic-regression.js';
import { scoreHistogramQuery } from './model-evaluation.js';
import { featureMomentsQuery, kmeansFitDefinition, kmeansRoundQuery } from './kmeans.js';
import type { AnyIterativeModelDefinition, IterativeModelDefinition } from './iterative.js';
import { rfmQuery } from './rfm.js';
import { cohortRetentionQuery } from './retention.js';
import { histogramQuery } from './histogram.js';
import { funnelQuery } from './funnel.js';
import { abLiftQuery } from './lift.js';
import { merchantBenchmarkQuery } from './merchant-benchmark.js';
import { linearModelQuery } from './linear-model.js';
import { logisticModelFitDefinition, logisticModelRoundQuery } from './logistic-model.js';
import { linearRegressionQuery } from './linear-regression.js';
import { pcaQuery } from './pca.js';
import { categoryLevelsQuery } from './category-levels.js';

/**
 * Every query kind, one entry each: the kinds a person may ask for and the
 * `fit-round` kinds of the models below. Registering a kind is adding its
 * definition here (and its import above); nothing else in the repository
 * lists kinds.
 */
const QUERY_KINDS = [
  segmentStatsQuery,
  rfmQuery,
  cohortRetentionQuery,
  histogramQuery,
  funnelQuery,
  abLiftQuery,
  merchantBenchmarkQuery,
  categoryLevelsQuery,
  linearRegressionQuery,
  linearModelQuery,
  pcaQuery,
  logisticRoundQuery,
  logisticModelRoundQuery,
  scoreHistogramQuery,
  featureMomentsQuery,
  kmeansRoundQuery,
] as const;

/** Every iterative model kind (fits made of several rounds), one entry each; their round kinds are in QUERY_KINDS. */
const MODEL_KINDS = [logisticFitDefinition, kmeansFitDefinition, logisticModelFitDefinition] as const;

/**
 * Statically known kinds, for precise types at call sites that name them:
 * each definition of QUERY_KINDS whose `kind` has a literal type (the third
 * type argument of `QueryDefinition`), keyed by that kind.
 */
export type KnownQueryKinds = {
  [D in (typeof QUERY_KINDS)[number] as string extends D['kind'] ? never : D['kind']]: D;
};

/** Adds a listed definition; a kind listed twice is a mistake, not a replacement. */
function addUnique<D>(map: Map<string, D>, kind: string, definition: D): void {
  if (map.has(kind)) throw new RangeError(`definition.kind: '${kind}' is listed twice`);
  map.set(kind, definition);
}

const registry = new Map<string, AnyQueryDefinition>();
for (const d of QUERY_KINDS) addUnique(registry, d.kind, d);

const models = new Map<string, AnyIterativeModelDefinition>();
for (const d of MODEL_KINDS) addUnique(models, d.kind, d);

/** The iterative model definition for `kind`; throws UnknownQueryKindError for unknown kinds. */
export function getModelDefinition(kind: string): AnyIterativeModelDefinition {
  if (typeof kind !== 'string') throw new TypeError('kind: expected a string');
  const def = models.get(kind);
  if (def === undefined) throw new UnknownQueryKindError(kind, [...models.keys()]);
  return def;
}

/** Registered model kinds, sorted. */
export function listModelKinds(): string[] {
  return [...models.keys()].sort();
}

/** Adds an iterative model kind; RangeError if taken. */
export function registerModelDefinition<S, St, M>(definition: IterativeModelDefinition<S, St, M>): void {
  if (models.has(definition.kind)) throw new RangeError(`definition.kind: '${definition.kind}' is already registered`);
  models.set(definition.kind, definition);
}

/**
 * The definition for `kind`. Throws `UnknownQueryKindError` (code
 * `QUERY_KIND_UNKNOWN`) for kinds nobody registered, e.g. a spec from a newer
 * coordinator.
 */
export function getQueryDefinition<K extends keyof KnownQueryKinds>(kind: K): KnownQueryKinds[K];
export function getQueryDefinition(kind: string): AnyQueryDefinition;
export function getQueryDefinition(kind: string): AnyQueryDefinition {
  if (typeof kind !== 'string') throw new TypeError('kind: expected a string');
  const def = registry.get(kind);
  if (def === undefined) throw new UnknownQueryKindError(kind, [...registry.keys()]);
  // Cells that declare a dominance field get their histogram bins in every layout.
  return withDominanceBins(def);
}

/**
 * Registered kinds, sorted. Without `includeFitRounds`, only the kinds a
 * person may ask for: the steps of fits (`fit-round` kinds) are left out.
 */
export function listQueryKinds(options: { readonly includeFitRounds?: boolean } = {}): string[] {
  return [...registry.values()].filter((d) => options.includeFitRounds === true || disclosureRoleOf(d) !== 'fit-round').map((d) => d.kind).sort();
}

/**
 * Adds a kind (for query kinds defined outside this folder, and tests).
 * Throws RangeError if the kind is taken: silently replacing a definition
 * would change the meaning of already published specs.
 */
export function registerQueryDefinition<S, R>(definition: QueryDefinition<S, R>): void {
  if (typeof definition !== 'object' || definition === null || typeof definition.kind !== 'string' || definition.kind === '') {
    throw new TypeError('definition: expected a QueryDefinition with a non-empty kind');
  }
  if (registry.has(definition.kind)) throw new RangeError(`definition.kind: '${definition.kind}' is already registered`);
  registry.set(definition.kind, definition);
}
