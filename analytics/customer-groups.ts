/**
 * The declared value lists a customer can be grouped by. A query's cells must
 * be known before any shop answers (the coordinator checks the layout and the
 * key holder suppresses per cell), so groups are fixed lists, never values
 * discovered in the data.
 *
 * The age-band and city-level labels are what de-identification produces
 * (`compliance/deidentify.ts` generalises into exactly these lists and
 * re-exports them); they are declared here because `analytics/` sits above
 * `compliance/` and query layouts need them.
 *
 * @module
 */
import { LIFECYCLE_STAGES, type Customer } from './shop-data.js';

/** Age bands in increasing order (labels of `generaliseAge`). */
export const AGE_BANDS = ['<18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

/** City tiers from most to least developed (labels of `generaliseCity`). */
export const CITY_LEVELS = ['tier-1', 'new-tier-1', 'tier-2', 'other'] as const;
export type CityLevel = (typeof CITY_LEVELS)[number];

/** Customer attributes a segment query may group by. */
export const SEGMENT_GROUPINGS = ['lifecycle_stage', 'age_band', 'city_level'] as const;
export type SegmentGrouping = (typeof SEGMENT_GROUPINGS)[number];

/** The values of each grouping, in the fixed order of the layout and the result. */
export const GROUP_VALUES: Readonly<Record<SegmentGrouping, readonly string[]>> = {
  lifecycle_stage: LIFECYCLE_STAGES,
  age_band: AGE_BANDS,
  city_level: CITY_LEVELS,
};

/** The shop field (`customer.*`) each grouping reads; it must be on the purpose's allow-list. */
export const GROUPING_INPUT_FIELD: Readonly<Record<SegmentGrouping, string>> = {
  lifecycle_stage: 'customer.lifecycle_stage',
  age_band: 'customer.age_band',
  city_level: 'customer.city_level',
};

/**
 * The customer's group under `grouping`. In a round view `city` already holds
 * the city level and `ageBand` the band. A value outside the declared list
 * (e.g. a blanked field, or a raw city name) throws RangeError naming the
 * input field: putting the customer in some other group would be a silently
 * wrong answer.
 */
export function groupOf(grouping: SegmentGrouping, customer: Customer): string {
  const value = grouping === 'lifecycle_stage' ? customer.lifecycleStage : grouping === 'age_band' ? customer.ageBand : customer.city;
  if (!GROUP_VALUES[grouping].includes(value)) {
    throw new RangeError(
      `${GROUPING_INPUT_FIELD[grouping]}: customer ${customer.customerId} has '${String(value)}', not one of ${GROUP_VALUES[grouping].join(', ')}`,
    );
  }
  return value;
}
