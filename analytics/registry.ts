/**
 * Query kind → definition. The coordinator, key holder and merchant node
 * look kinds up here so that adding a query kind means adding one file and
 * one line below, and no service code changes.
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
import type { SegmentStatsSpec } from './segment-stats-spec.js';
import type { SegmentStatsResult } from './segment-table.js';
import { rfmQuery, type RfmTable } from './rfm.js';
import type { RfmSpec } from './rfm-spec.js';
import { cohortRetentionQuery, type CohortRetentionResult } from './retention.js';
import type { CohortRetentionSpec } from './retention-spec.js';
import { histogramQuery, type HistogramResult } from './histogram.js';
import type { HistogramSpec } from './histogram-spec.js';
import { funnelQuery, type FunnelResult, type FunnelSpec } from './funnel.js';
import { abLiftQuery, type AbLiftResult, type AbLiftSpec } from './lift.js';
import { merchantBenchmarkQuery, type MerchantBenchmarkResult, type MerchantBenchmarkSpec } from './merchant-benchmark.js';
import { linearModelQuery, type LinearModelResult, type LinearModelSpec } from './linear-model.js';
import { logisticModelFitDefinition, logisticModelRoundQuery } from './logistic-model.js';
import { linearRegressionQuery, type LinearRegressionResult, type LinearRegressionSpec } from './linear-regression.js';
import { pcaQuery, type PcaResult, type PcaSpec } from './pca.js';
import { categoryLevelsQuery, type CategoryLevelsResult, type CategoryLevelsSpec } from './category-levels.js';

/** Statically known kinds, for precise types at call sites that name them. */
export interface KnownQueryKinds {
  'segment-stats': QueryDefinition<SegmentStatsSpec, SegmentStatsResult>;
  rfm: QueryDefinition<RfmSpec, RfmTable>;
  'cohort-retention': QueryDefinition<CohortRetentionSpec, CohortRetentionResult>;
  histogram: QueryDefinition<HistogramSpec, HistogramResult>;
  funnel: QueryDefinition<FunnelSpec, FunnelResult>;
  'ab-lift': QueryDefinition<AbLiftSpec, AbLiftResult>;
  'merchant-benchmark': QueryDefinition<MerchantBenchmarkSpec, MerchantBenchmarkResult>;
  'linear-regression': QueryDefinition<LinearRegressionSpec, LinearRegressionResult>;
  'linear-model': QueryDefinition<LinearModelSpec, LinearModelResult>;
  pca: QueryDefinition<PcaSpec, PcaResult>;
  'category-levels': QueryDefinition<CategoryLevelsSpec, CategoryLevelsResult>;
}

const registry = new Map<string, AnyQueryDefinition>([[segmentStatsQuery.kind, segmentStatsQuery]]);
for (const d of [rfmQuery, cohortRetentionQuery, histogramQuery] as AnyQueryDefinition[]) registry.set(d.kind, d);
for (const d of [funnelQuery, abLiftQuery] as AnyQueryDefinition[]) registry.set(d.kind, d);
for (const d of [merchantBenchmarkQuery, categoryLevelsQuery] as AnyQueryDefinition[]) registry.set(d.kind, d);
for (const d of [linearRegressionQuery, linearModelQuery, pcaQuery] as AnyQueryDefinition[]) registry.set(d.kind, d);
for (const d of [logisticRoundQuery, logisticModelRoundQuery, scoreHistogramQuery, featureMomentsQuery, kmeansRoundQuery] as AnyQueryDefinition[]) registry.set(d.kind, d);

/** Iterative model kinds (fits made of several rounds). */
const models = new Map<string, AnyIterativeModelDefinition>([
  [logisticFitDefinition.kind, logisticFitDefinition],
  [kmeansFitDefinition.kind, kmeansFitDefinition],
  [logisticModelFitDefinition.kind, logisticModelFitDefinition],
]);

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
 * `unknown-query-kind`) for kinds nobody registered, e.g. a spec from a newer
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
