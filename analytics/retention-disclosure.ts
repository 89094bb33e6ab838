/**
 * What the key holder needs to know about `cohort-retention` for secondary
 * suppression: the relations between its cells.
 *
 * - Churn rows: every buyer (a customer with an order up to asOf) has one
 *   lifecycle stage, so the stages' buyers add up to `repurchase.buyers` of
 *   the same release. One relation, the `churn.{stage}` cells under
 *   `repurchase`.
 * - Cohort sizes: the cohorts are disjoint, and their sum is published
 *   elsewhere: it is the buyers (first-order cohorts) or the consented
 *   customers (signup cohorts) when the cohorts cover every acquisition
 *   month, and another cohort-retention query over a wider or shifted range
 *   gives any run of them. One relation over all cohort cells, without a
 *   total.
 * - Month 0 of a first-order cohort: everyone acquired by a first order
 *   ordered in the acquisition month, so `cohort.{M}.m0` equals
 *   `cohort.{M}`: a relation of one part under that total. (With signup
 *   cohorts month 0 is only a subset.)
 *
 * Active months k ≥ 1 are subsets of their cohort and overlap one another:
 * no sum of them is published, so they need no relation. What the release
 * does give is a cell's complement, cohort minus active (the customers not
 * active in month k; likewise buyers minus churned, buyers minus repeat
 * buyers), which may hold fewer than k customers. The engine holds released
 * cells to k, not their complements (docs/disclosure-control.md).
 *
 * @module
 */
import type { CellMargin } from './query-definition.js';
import { cohortRetentionCells, type CohortRetentionSpec } from './retention-spec.js';
import { LIFECYCLE_STAGES } from './shop-data.js';

/** Churn stages under `repurchase`, the cohorts together, and month 0 under its cohort. */
export function cohortRetentionMargins(spec: CohortRetentionSpec): readonly CellMargin[] {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('spec: expected a parsed cohort-retention spec');
  const cells = new Set(cohortRetentionCells(spec).map((c) => c.name));
  const cohorts = [...cells].filter((c) => /^cohort\.\d{4}-\d{2}$/.test(c));
  const out: CellMargin[] = [{ parts: LIFECYCLE_STAGES.map((s) => `churn.${s}`), total: 'repurchase' }];
  if (cohorts.length > 1) out.push({ parts: cohorts });
  if (spec.acquisition === 'first-order') {
    for (const c of cohorts) if (cells.has(`${c}.m0`)) out.push({ parts: [`${c}.m0`], total: c });
  }
  return out;
}
