/**
 * Public surface of disclosure control: per-purpose policies, suppression
 * (k subjects, dominance, secondary), the differencing defence, exact
 * discrete Gaussian and discrete Laplace samplers, zCDP accounting, the
 * release engine, and the intervals shown with noisy results.
 * `compliance/index.ts` re-exports this file.
 *
 * @module
 */
export { DisclosureError, type DisclosureErrorCode } from './errors.js';
export { RandomReader, cryptoRandomSource, defaultRandomSource, uniformBelow, type RandomSource } from './random-source.js';
export { bernoulli, bernoulliExp } from './bernoulli.js';
export { fraction, formatFraction, parseFraction, fractionToNumber, type Fraction } from './integer-math.js';
export { sampleDiscreteLaplace, discreteLaplacePmf, discreteLaplaceTail, discreteLaplaceHalfWidth } from './discrete-laplace.js';
export { sampleDiscreteGaussian, discreteGaussianPmf, discreteGaussianHalfWidth, gaussianSigma, normalQuantile } from './discrete-gaussian.js';
export {
  RHO_UNITS_PER_ONE,
  NOISE_MECHANISMS,
  rhoToUnits,
  unitsToRho,
  zcdpToEpsilon,
  calibrateField,
  type NoiseMechanism,
  type FieldNoiseParameter,
} from './zcdp.js';
export { sampleNoise, noiseSd, noiseHalfWidth, describeNoise, noiseParameterOf, type NoiseDescription } from './noise.js';
export {
  EXACT_DISCLOSURE,
  DEFAULT_MAX_SATURATION,
  MAX_MIN_SUBJECTS,
  DEFAULT_DP_DELTA,
  DEFAULT_CONFIDENCE,
  purposeDisclosureSchema,
  effectivePolicy,
  policyToJson,
  policyFromJson,
  loosening,
  formatRho,
  type DominanceRule,
  type ExactDisclosure,
  type DpDisclosure,
  type PurposeDisclosure,
  type DisclosureFloors,
  type EffectiveNoise,
  type EffectivePolicy,
} from './policy.js';
export { largestContributionBound, violatesDominance, type DominanceFacts } from './dominance.js';
export { SUPPRESSION_REASONS, decideSuppression, type SuppressionReason, type CellFacts, type SuppressionRules, type MarginRelation } from './suppression.js';
export { populationDifference, findDifferencing, differencingAgainst, type PopulationRecord, type DifferencingHit, type DifferencingRules } from './differencing.js';
export { compareRowSets, linearComplexity, releaseRowSet, type ReleaseRowSet, type MerchantRowSetDigests, type CustomerDifference, type RowSetComparison } from './row-set-difference.js';
export { declaredDisclosure, disclosureTerms, parseDisclosureTerms, declaredDifference, type DeclaredDisclosure, type DisclosureTerms } from './terms.js';
export { applyDisclosure, type DisclosureInput, type DisclosureOutcome, type DisclosureDp } from './engine.js';
export { totalInterval, disclosureSummary, type Interval, type SegmentRowIntervals, type ShownTotal, type DisclosureSummary } from './intervals.js';
