/**
 * Public surface of `analytics/`, what other folders import from it: the
 * shop data model, the query-definition contract and the registry (through
 * which every kind is reached), disclosure reason texts and dominance bins,
 * the `segment-stats` query with its pooled plaintext check and console
 * table, exact integer and calendar helpers, and the parts of other kinds
 * that processes and synth use directly (definitions, spec and result
 * types, feature and moment helpers, model fits).
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
  type AnyQueryDefinition,
  type SuppressionReasonCode,
} from './query-definition.js';
export { rowContents, readsNoCustomers, type RowContents } from './row-scope.js';
export { checkModelRules } from './model-rules.js';
export { canonicalSpecJson } from './canonical-json.js';
export { isqrt, gcd } from './integer-math.js';
export { getQueryDefinition, listQueryKinds, getModelDefinition, listModelKinds } from './registry.js';
export { SEGMENT_STATS_KIND, SEGMENT_STAT_NAMES, segmentFieldName, type SegmentStatName, type SegmentStatsSpec } from './segment-stats-spec.js';
export type { SegmentStatsTable } from './segment-table.js';
export { pooledSegmentStats } from './pooled-segment-stats.js';
export { formatSegmentTable, largestRelativeDifference } from './segment-table-format.js';
export { parseReleaseDocument, releasedTotalsFromDocument, type ReleaseCell, type ReleaseDocument, type ReleasedNoise } from './release-document.js';
export { explainReason, withheldCellsOf, type ReasonParams, type WithheldCell } from './disclosure-reasons.js';
export { dominanceBinLayout } from './dominance-bins.js';
export { DAY_MS, DAY_SECONDS } from './calendar.js';
export { featureRows, type CustomerFeature, type CustomerLabel, type FeatureRow } from './customer-features.js';
export {
  LOGISTIC_FIT_KIND,
  logisticFitDefinition,
  logisticRoundQuery,
  logisticModelFeatures,
  logisticScore,
  newtonStep,
  HessianNotPositiveDefiniteError,
  type LogisticFitSpec,
  type LogisticRoundSpec,
  type LogisticRoundResult,
  type LogisticModel,
} from './logistic-regression.js';
export { SCORE_HISTOGRAM_KIND } from './model-evaluation.js';
export { accumulateMoments, momentFields } from './moment-sums.js';
export { parseLinearModelSpec, linearModelLayout, linearModelRows, fitLinearModel, type LinearModelResult } from './linear-model.js';
