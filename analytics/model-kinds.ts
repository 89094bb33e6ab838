/**
 * Every iterative model kind (a fit made of several rounds), one line each;
 * their round kinds are in kinds.ts. registry.ts reads every export of this
 * file. Export nothing but iterative model definitions.
 *
 * @module
 */
export { logisticFitDefinition } from './logistic-regression.js';
export { kmeansFitDefinition } from './kmeans.js';
export { logisticModelFitDefinition } from './logistic-model.js';
export { gbtFitDefinition } from './gradient-boosted-trees.js';
