/**
 * Public surface of `analytics/`: the shop data model, the query-definition
 * contract and registry, and the `segment-stats` query with its pooled
 * plaintext check and console table.
 *
 * @module
 */
export {
  LIFECYCLE_STAGES,
  isLifecycleStage,
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
  isCampaignVariant,
  type CampaignVariant,
  type CampaignExposure,
  type Session,
  type ShopMetricsPeriod,
  type PooledCampaignExposure,
  type PooledSession,
  type PooledShopMetricsPeriod,
} from './shop-data.js';
export {
  assertWithinBounds,
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
  supportRowGroups,
  subjectGroupCounts,
  subjectGroupFields,
  subjectGroupRules,
  SUBJECTS_FIELD,
  type RowGroup,
  type SubjectRow,
  type CountTerm,
  type ModelGroup,
  type ModelRules,
  type ModelRefusal,
  type ModelRulesOutcome,
} from './model-rules.js';
export { canonicalSpecJson } from './canonical-json.js';
export { ratioToNumber } from './rational.js';
export { isqrt, gcd } from './integer-math.js';
export { getQueryDefinition, listQueryKinds, registerQueryDefinition, getModelDefinition, listModelKinds, registerModelDefinition, type KnownQueryKinds } from './registry.js';
export {
  SEGMENT_STATS_KIND,
  SEGMENT_STAT_NAMES,
  DEFAULT_SEGMENT_STATS_BOUNDS,
  parseSegmentStatsSpec,
  segmentFieldName,
  segmentStatBound,
  segmentStatsFields,
  segmentStatsCells,
  segmentGroups,
  type SegmentStatName,
  type SegmentStatsBounds,
  type SegmentStatsSpec,
} from './segment-stats-spec.js';
export { segmentStatsQuery, computeSegmentStatsLocal, finaliseSegmentStats, segmentRowFromTotals } from './segment-stats.js';
export type { SegmentStatsRow, SegmentStatsTable, SegmentStatValues, SegmentGroupRow, SegmentGroupTable, SegmentStatsResult } from './segment-table.js';
export { pooledSegmentStats, type PooledSegmentStatsOptions } from './pooled-segment-stats.js';
export { formatSegmentTable, largestRelativeDifference, displayWidth, STAGE_LABELS_ZH } from './segment-table-format.js';
export {
  parseReleaseDocument,
  releasedTotalsFromDocument,
  type ReleaseCell,
  type ReleaseDocument,
  type ReleaseDisclosure,
  type ReleaseDpAccount,
  type ReleasedNoise,
} from './release-document.js';
export {
  WITHHELD_REASON_CODES,
  REFUSAL_REASON_CODES,
  REASON_TEMPLATES,
  GENERIC_REASON_TEMPLATE,
  WITHHELD_LABEL_TEMPLATES,
  isDisclosureReasonCode,
  isWithheldReasonCode,
  fillReasonTemplate,
  explainReason,
  withheldLabel,
  withheldCellsOf,
  type ReasonText,
  type ReasonParams,
  type RefusalReasonCode,
  type DisclosureReasonCode,
  type WithheldCell,
} from './disclosure-reasons.js';
export { DOMINANCE_BINS_PER_DOUBLING, dominanceBinEdges, dominanceBinOf, dominanceBinField, dominanceBinLayout, withDominanceBins } from './dominance-bins.js';
export { REAL_SCALE_BITS, signedFieldSpecs, splitSigned, joinSigned, realToFixed, fixedToReal } from './signed-real.js';
export {
  AGE_BANDS,
  CITY_LEVELS,
  SEGMENT_GROUPINGS,
  GROUP_VALUES,
  GROUPING_INPUT_FIELD,
  groupOf,
  type AgeBand,
  type CityLevel,
  type SegmentGrouping,
} from './customer-groups.js';
export { bucketIndex, binIndex } from './buckets.js';
export { DAY_MS, DAY_SECONDS, DEFAULT_UTC_OFFSET_MINUTES, isoInstantSeconds, monthOf, monthLabel, monthOfLabel } from './calendar.js';
export { consentedHistories, releasedCell, type CustomerHistory } from './customer-history.js';
export { RFM_KIND, rfmCellName, rfmTriples, rfmScoreCounts, isCore, type RfmSpec, type RfmBounds, type RfmCoreRule } from './rfm-spec.js';
export {
  RFM_STAT_NAMES,
  RFM_TIERS,
  DEFAULT_RFM_BOUNDS,
  DEFAULT_RFM_WINDOW_DAYS,
  DEFAULT_RECENCY_EDGES_DAYS,
  DEFAULT_FREQUENCY_EDGES,
  DEFAULT_MONETARY_EDGES_CENTS,
  rfmQuery,
  parseRfmSpec,
  computeRfmLocal,
  finaliseRfm,
  rfmFields,
  rfmCells,
  type RfmTier,
  type RfmTable,
  type RfmTotals,
  type RfmCellResult,
  type RfmTierResult,
  type RfmBucket,
} from './rfm.js';
export {
  COHORT_RETENTION_KIND,
  ACQUISITION_RULES,
  cohortRetentionFields,
  cohortRetentionCells,
  cohortGrid,
  type AcquisitionRule,
  type CohortRetentionSpec,
  type CohortRetentionBounds,
} from './retention-spec.js';
export {
  DEFAULT_COHORT_RETENTION_BOUNDS,
  DEFAULT_COHORTS,
  DEFAULT_CHURN_DAYS,
  cohortRetentionQuery,
  parseCohortRetentionSpec,
  computeCohortRetentionLocal,
  finaliseCohortRetention,
  type CohortRetentionResult,
  type CohortResult,
  type CohortMonthResult,
  type RepurchaseResult,
  type ChurnResult,
} from './retention.js';
export { HISTOGRAM_KIND, type HistogramSpec, type HistogramBounds } from './histogram-spec.js';
export {
  HISTOGRAM_VARIABLES,
  DEFAULT_HISTOGRAM_BOUNDS,
  DEFAULT_ORDER_VALUE_EDGES_CENTS,
  DEFAULT_INTERVAL_EDGES_DAYS,
  DEFAULT_PERCENTILES,
  histogramQuery,
  parseHistogramSpec,
  computeHistogramLocal,
  finaliseHistogram,
  histogramFields,
  histogramCells,
  histogramBinCount,
  type HistogramVariable,
  type HistogramResult,
  type HistogramBin,
  type HistogramPercentile,
} from './histogram.js';
export {
  CATEGORY_LEVELS_KIND,
  DEFAULT_LEVEL_BUCKETS,
  MAX_LEVEL_BUCKETS,
  MAX_LEVEL_BYTES,
  MAX_LEVEL_SALT,
  categoryLevelsQuery,
  parseCategoryLevelsSpec,
  computeCategoryLevelsLocal,
  finaliseCategoryLevels,
  categoryLevelsFields,
  categoryLevelsCells,
  categoryLevelsMargins,
  categoryLevelsRowScope,
  categoryLevelsCellIntegrity,
  decodeBucket,
  levelBucket,
  levelCode,
  levelField,
  type BucketContent,
  type CategoryLevelsSpec,
  type CategoryLevelsResult,
  type LevelCode,
  type RevealedLevel,
} from './category-levels.js';
export type { IterativeModelDefinition, AnyIterativeModelDefinition, AdvanceResult } from './iterative.js';
export { cholesky, choleskySolve, choleskyInverse } from './linear-algebra.js';
export {
  CUSTOMER_FEATURES,
  CUSTOMER_FEATURE_NAMES,
  CUSTOMER_LABELS,
  CUSTOMER_LABEL_NAMES,
  featureInputFields,
  featureRows,
  isHoldout,
  type CustomerFeature,
  type CustomerFeatureDefinition,
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
  computeLogisticRoundLocal,
  logisticModelRules,
  trainingRowScope,
  finaliseLogisticRound,
  type LogisticFitSpec,
  type LogisticRoundSpec,
  type LogisticRoundResult,
  type LogisticModel,
  type LogisticState,
} from './logistic-regression.js';
export { SCORE_HISTOGRAM_KIND, scoreHistogramQuery, binnedAuc, scoreBin, mergeScoreBins, type MergedScoreBins, type ScoreHistogramSpec, type ModelEvaluation } from './model-evaluation.js';
export {
  KMEANS_FIT_KIND,
  KMEANS_ROUND_KIND,
  FEATURE_MOMENTS_KIND,
  kmeansFitDefinition,
  kmeansRoundQuery,
  featureMomentsQuery,
  nearestCentroid,
  seededCentroids,
  type KmeansModel,
  type KmeansFitSpec,
  type KmeansRoundSpec,
  type KmeansRoundResult,
  type FeatureMoments,
} from './kmeans.js';
export {
  AFTER_EVERY_ORDER_UNIX_S,
  PLAIN_FEATURE_NAMES,
  customerFacts,
  featureDefinition,
  featureMatrix,
  featureRowScope,
  featuresInputFields,
  isFeatureName,
  type CustomerFacts,
  type FeatureDefinition,
} from './features.js';
export {
  MOMENTS_CELL,
  accumulateMoments,
  centredScatter,
  momentCells,
  momentFields,
  momentMeans,
  momentTotals,
  rawCross,
  type MomentLayout,
  type MomentTotals,
} from './moment-sums.js';
export { symmetricEigen, type EigenPair } from './symmetric-eigen.js';
export {
  FUNNEL_KIND,
  DEFAULT_FUNNEL_CHANNELS,
  DEFAULT_FUNNEL_BOUNDS,
  funnelQuery,
  parseFunnelSpec,
  computeFunnelLocal,
  finaliseFunnel,
  type FunnelSpec,
  type FunnelBounds,
  type FunnelResult,
  type ChannelFunnel,
  type CampaignResponse,
} from './funnel.js';
export {
  AB_LIFT_KIND,
  LIFT_OUTCOMES,
  CONFIDENCE_Z,
  abLiftQuery,
  parseAbLiftSpec,
  computeAbLiftLocal,
  finaliseAbLift,
  liftFromTotals,
  type AbLiftSpec,
  type AbLiftResult,
  type ArmResult,
  type LiftInterval,
  type LiftOutcome,
} from './lift.js';
export {
  MERCHANT_BENCHMARK_KIND,
  BENCHMARK_INDICATORS,
  BENCHMARK_INDICATOR_NAMES,
  DEFAULT_MIN_VOLUME,
  merchantBenchmarkQuery,
  parseMerchantBenchmarkSpec,
  computeMerchantBenchmarkLocal,
  finaliseMerchantBenchmark,
  shopIndicators,
  benchmarkBin,
  placeShop,
  type BenchmarkIndicator,
  type MerchantBenchmarkSpec,
  type MerchantBenchmarkResult,
  type IndicatorDistribution,
  type BenchmarkBin,
  type ShopIndicators,
  type ShopPlacement,
} from './merchant-benchmark.js';
export {
  LINEAR_REGRESSION_KIND,
  linearRegressionQuery,
  parseLinearRegressionSpec,
  computeLinearRegressionLocal,
  finaliseLinearRegression,
  fitLinearRegression,
  type LinearRegressionSpec,
  type LinearRegressionResult,
  type Coefficient,
} from './linear-regression.js';
export {
  LINEAR_MODEL_KIND,
  CUSTOMERS_DATA,
  linearModelQuery,
  parseLinearModelSpec,
  linearModelDesign,
  linearModelLayout,
  linearModelRows,
  fitLinearModel,
  type LinearModelSpec,
  type LinearModelResult,
} from './linear-model.js';
export { ORDERS_DATA, modelSubjectRows } from './model-data.js';
export { parseFormula, expandFormula, type Design, type DesignColumn } from './formula.js';
export {
  LOGISTIC_MODEL_KIND,
  LOGISTIC_MODEL_ROUND_KIND,
  logisticModelFitDefinition,
  logisticModelRoundQuery,
  logisticModelRows,
  parseLogisticModelSpec,
  type LogisticModelSpec,
  type LogisticModelResult,
} from './logistic-model.js';
export { PCA_KIND, pcaQuery, parsePcaSpec, pcaVariables, computePcaLocal, finalisePca, fitPca, type PcaSpec, type PcaFeatureSpec, type PcaFormulaSpec, type PcaResult, type PrincipalComponent } from './pca.js';
export { asOfUnixS, DEFAULT_MAX_ROWS, DEFAULT_MODEL_SCALE_BITS, MAX_MODEL_VARIABLES, type ModelBounds } from './model-spec.js';
