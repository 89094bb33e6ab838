/**
 * Every query kind, one line each: the kinds a person may ask for and the
 * `fit-round` kinds of the iterative models (those are listed in
 * model-kinds.ts). Registering a kind is adding its definition's export
 * here; registry.ts reads every export of this file, and nothing else in
 * the repository lists kinds. Export nothing but query definitions.
 *
 * @module
 */
export { segmentStatsQuery } from './segment-stats.js';
export { rfmQuery } from './rfm.js';
export { cohortRetentionQuery } from './retention.js';
export { histogramQuery } from './histogram.js';
export { funnelQuery } from './funnel.js';
export { abLiftQuery } from './lift.js';
export { merchantBenchmarkQuery } from './merchant-benchmark.js';
export { categoryLevelsQuery } from './category-levels.js';
export { linearRegressionQuery } from './linear-regression.js';
export { linearModelQuery } from './linear-model.js';
export { pcaQuery } from './pca.js';
export { logisticRoundQuery } from './logistic-regression.js';
export { logisticModelRoundQuery } from './logistic-model.js';
export { scoreHistogramQuery } from './model-evaluation.js';
export { featureMomentsQuery, kmeansRoundQuery } from './kmeans.js';
export { gbtLevelQuery } from './gradient-boosted-trees.js';
export { gbtBinGridQuery } from './gbt-bin-grid.js';
export { gbtEvaluationQuery } from './gbt-evaluation.js';
export { gbtLeafOverlapQuery } from './gbt-leaf-overlap.js';
