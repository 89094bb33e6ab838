/**
 * Public surface of disclosure control: per-purpose policies, suppression
 * (k subjects, dominance, secondary), the differencing defence, exact
 * discrete Gaussian and discrete Laplace samplers, zCDP accounting, the
 * release engine, and the intervals shown with noisy results.
 * `compliance/index.ts` re-exports this file.
 *
 * @module
 */
export { DisclosureError } from './errors.js';
export { RandomReader, defaultRandomSource, type RandomSource } from './random-source.js';
export { unitsToRho, zcdpToEpsilon } from './zcdp.js';
export {
  DEFAULT_MAX_SATURATION,
  MAX_MIN_SUBJECTS,
  purposeDisclosureSchema,
  effectivePolicy,
  policyToJson,
  policyFromJson,
  loosening,
  formatRho,
  type DominanceRule,
  type DisclosureFloors,
  type EffectivePolicy,
} from './policy.js';
export { findDifferencing, type PopulationRecord, type DifferencingHit } from './differencing.js';
export { compareRowSets, releaseRowSet, type ReleaseRowSet } from './row-set-difference.js';
export { declaredDisclosure, disclosureTerms, parseDisclosureTerms, declaredDifference, type DeclaredDisclosure, type DisclosureTerms } from './terms.js';
export { applyDisclosure, type DisclosureOutcome } from './engine.js';
export { disclosureSummary } from './intervals.js';
