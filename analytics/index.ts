/**
 * Public surface of `analytics/`, what other folders import from it: the
 * shop data model, the query-definition contract and the registry (through
 * which every kind is reached), disclosure reason texts and dominance bins,
 * the `segment-stats` query with its pooled plaintext check and console
 * table, exact integer and calendar helpers, and the parts of other kinds
 * that processes, synth and tests use directly (definitions, spec and
 * result types, feature and moment helpers, model fits).
 *
 * @module
 */
export {
  LIFECYCLE_STAGES,
  type LifecycleStage,
  type Customer,
  type Order,
  type ShopData,
  type ColumnValue,
  type DataTable,
  type PooledCustomer,
  type PooledOrder,
  type PooledData,
  CAMPAIGN_VARIANTS,
  type CampaignVariant,
  type CampaignExposure,
  type Session,
  type ShopMetricsPeriod,
  type PooledCampaignExposure,
  type PooledSession,
  type PooledShopMetricsPeriod,
} from './shop-data.js';
export {
  disclosureRoleOf,
  type DisclosureRole,
  type FieldSpec,
  type CellSpec,
  type SubjectSensitivity,
  type CellMargin,
  type QueryDefinition,
  type AnyQueryDefinition,
  type ReleasedTotals,
  type SuppressionReasonCode,
} from './query-definition.js';
export { QuerySpecError, UnknownQueryKindError } from './errors.js';
export { rowContents, readsNoCustomers, ROW_CONTENT_FIELDS, type RowScope, type RowContents } from './row-scope.js';
export {
  checkModelRules,
  groupSize,
  supportGroups,
  supportFields,
  supportCounts,
  supportField,
  pairSupportField,
  type ModelGroup,
  type ModelRules,
} from './model-rules.js';
export { canonicalSpecJson } from './canonical-json.js';
export { ratioToNumber } from './rational.js';
export { isqrt, gcd } from './integer-math.js';
export { getQueryDefinition, listQueryKinds, registerQueryDefinition, getModelDefinition, listModelKinds } from './registry.js';
export {
  SEGMENT_STATS_KIND,
  SEGMENT_STAT_NAMES,
  parseSegmentStatsSpec,
  segmentFieldName,
  type SegmentStatName,
  type SegmentStatsSpec,
} from './segment-stats-spec.js';
export { segmentStatsQuery, computeSegmentStatsLocal, finaliseSegmentStats } from './segment-stats.js';
export type { SegmentStatsRow, SegmentStatsTable, SegmentGroupTable } from './segment-table.js';
export { pooledSegmentStats } from './pooled-segment-stats.js';
export { formatSegmentTable, largestRelativeDifference, displayWidth } from './segment-table-format.js';
export { parseReleaseDocument, releasedTotalsFromDocument, type ReleaseCell, type ReleaseDocument, type ReleasedNoise } from './release-document.js';
export {
  WITHHELD_REASON_CODES,
  REFUSAL_REASON_CODES,
  REASON_TEMPLATES,
  GENERIC_REASON_TEMPLATE,
  WITHHELD_LABEL_TEMPLATES,
  isDisclosureReasonCode,
  fillReasonTemplate,
  explainReason,
  withheldLabel,
  withheldCellsOf,
  type ReasonParams,
  type WithheldCell,
} from './disclosure-reasons.js';
export { dominanceBinEdges, dominanceBinOf, dominanceBinLayout, withDominanceBins } from './dominance-bins.js';
export { AGE_BANDS, CITY_LEVELS } from './customer-groups.js';
export { DAY_MS, DAY_SECONDS } from './calendar.js';
export type { RfmSpec } from './rfm-spec.js';
export { rfmQuery, type RfmTable } from './rfm.js';
export type { CohortRetentionSpec } from './retention-spec.js';
export { cohortRetentionQuery, type CohortRetentionResult } from './retention.js';
export type { HistogramSpec } from './histogram-spec.js';
export { histogramQuery, type HistogramResult } from './histogram.js';
export {
  MAX_LEVEL_BYTES,
  categoryLevelsQuery,
  parseCategoryLevelsSpec,
  computeCategoryLevelsLocal,
  finaliseCategoryLevels,
  categoryLevelsFields,
  categoryLevelsCells,
  categoryLevelsRowScope,
  categoryLevelsCellIntegrity,
  decodeBucket,
  levelBucket,
  type CategoryLevelsSpec,
  type CategoryLevelsResult,
} from './category-levels.js';
export {
  CUSTOMER_FEATURES,
  CUSTOMER_FEATURE_NAMES,
  featureInputFields,
  featureRows,
  type CustomerFeature,
  type CustomerLabel,
  type FeatureRow,
} from './customer-features.js';
export {
  LOGISTIC_FIT_KIND,
  LOGISTIC_ROUND_KIND,
  logisticFitDefinition,
  logisticRoundQuery,
  logisticScore,
  newtonStep,
  HessianNotPositiveDefiniteError,
  type LogisticFitSpec,
  type LogisticRoundSpec,
  type LogisticRoundResult,
  type LogisticModel,
  type LogisticState,
} from './logistic-regression.js';
export { SCORE_HISTOGRAM_KIND, scoreHistogramQuery, binnedAuc, mergeScoreBins, type ScoreHistogramSpec } from './model-evaluation.js';
export { seededCentroids } from './kmeans.js';
export { AFTER_EVERY_ORDER_UNIX_S, PLAIN_FEATURE_NAMES, customerFacts, featureDefinition, featureMatrix, featuresInputFields } from './features.js';
export { accumulateMoments, centredScatter, momentFields, momentMeans, momentTotals, type MomentLayout, type MomentTotals } from './moment-sums.js';
export { symmetricEigen } from './symmetric-eigen.js';
export { funnelQuery, type FunnelSpec, type FunnelResult } from './funnel.js';
export { abLiftQuery, type AbLiftSpec, type AbLiftResult } from './lift.js';
export { merchantBenchmarkQuery, shopIndicators, placeShop, type MerchantBenchmarkSpec } from './merchant-benchmark.js';
export { linearRegressionQuery, fitLinearRegression, type LinearRegressionSpec, type LinearRegressionResult } from './linear-regression.js';
export { linearModelQuery, parseLinearModelSpec, linearModelLayout, linearModelRows, fitLinearModel, type LinearModelResult } from './linear-model.js';
export type { LogisticModelResult } from './logistic-model.js';
export { pcaQuery, fitPca, type PcaFeatureSpec, type PcaResult } from './pca.js';
