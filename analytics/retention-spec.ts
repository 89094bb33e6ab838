/**
 * The `cohort-retention` spec's type and its field/cell layout, apart from
 * the query so that `retention-disclosure.ts` can build its margins without
 * importing the query that uses them.
 *
 * @module
 */
import { isoInstantSeconds, monthLabel, monthOf, monthOfLabel } from './calendar.js';
import type { CellSpec, FieldSpec } from './query-definition.js';
import { LIFECYCLE_STAGES } from './shop-data.js';

/** Query kind string, also the `kind` member of the spec JSON. */
export const COHORT_RETENTION_KIND = 'cohort-retention';

/** How the acquisition month of a customer is defined. */
export const ACQUISITION_RULES = ['first-order', 'signup'] as const;
export type AcquisitionRule = (typeof ACQUISITION_RULES)[number];

export interface CohortRetentionBounds {
  /** Consented customers of one shop. */
  readonly maxCustomers: bigint;
  /** Orders of one shop. */
  readonly maxOrders: bigint;
  /** Longest gap between two consecutive orders of a customer, seconds; a longer one is refused. */
  readonly horizonSeconds: bigint;
}

/** Parsed, normalised `cohort-retention` spec. */
export interface CohortRetentionSpec {
  readonly kind: typeof COHORT_RETENTION_KIND;
  readonly purpose: string;
  /** `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly asOf: string;
  readonly acquisition: AcquisitionRule;
  /** First cohort month, `YYYY-MM` (default: `cohorts − 1` months before the as-of month). */
  readonly firstCohort: string;
  /**
   * Number of consecutive monthly cohorts, 1–36; the last may not be after the
   * as-of month. Default 12, or up to the as-of month when firstCohort is given.
   */
  readonly cohorts: number;
  /** Largest k tracked per cohort. */
  readonly maxMonthsSince: number;
  /** No order in this many days before asOf means churned. */
  readonly churnDays: number;
  /** Offset of the calendar months from UTC, minutes (default +480, Beijing time). */
  readonly utcOffsetMinutes: number;
  readonly bounds: CohortRetentionBounds;
}

const REPURCHASE_FIELDS = ['buyers', 'repeat_buyers', 'interval_count', 'interval_sum_s'] as const;
const CHURN_FIELDS = ['buyers', 'churned'] as const;

/** The month indices of the cohorts and, per cohort, the tracked k (0..maxMonthsSince, not past the as-of month). */
export function cohortGrid(spec: CohortRetentionSpec): { readonly cohort: number; readonly months: readonly number[] }[] {
  const first = monthOfLabel(spec.firstCohort) as number;
  const asOfMonth = monthOf(isoInstantSeconds(spec.asOf) as number, spec.utcOffsetMinutes);
  return Array.from({ length: spec.cohorts }, (_, i) => {
    const cohort = first + i;
    const last = Math.min(spec.maxMonthsSince, asOfMonth - cohort);
    return { cohort, months: Array.from({ length: last + 1 }, (_, k) => k) };
  });
}

export const cohortCell = (cohort: number): string => `cohort.${monthLabel(cohort)}`;
export const activeCell = (cohort: number, k: number): string => `${cohortCell(cohort)}.m${k}`;

/** Every cell with its fields and per-shop bound, in layout order. */
function layout(spec: CohortRetentionSpec): { cell: string; fields: { name: string; max: bigint }[] }[] {
  const b = spec.bounds;
  const one = (cell: string, stat: string) => ({ cell, fields: [{ name: `${cell}.${stat}`, max: b.maxCustomers }] });
  const out = cohortGrid(spec).flatMap(({ cohort, months }) => [one(cohortCell(cohort), 'customers'), ...months.map((k) => one(activeCell(cohort, k), 'active'))]);
  const repurchaseMax = { buyers: b.maxCustomers, repeat_buyers: b.maxCustomers, interval_count: b.maxOrders, interval_sum_s: b.maxOrders * b.horizonSeconds };
  out.push({ cell: 'repurchase', fields: REPURCHASE_FIELDS.map((f) => ({ name: `repurchase.${f}`, max: repurchaseMax[f] })) });
  for (const stage of LIFECYCLE_STAGES) out.push({ cell: `churn.${stage}`, fields: CHURN_FIELDS.map((f) => ({ name: `churn.${stage}.${f}`, max: b.maxCustomers })) });
  return out;
}

export function cohortRetentionFields(spec: CohortRetentionSpec): readonly FieldSpec[] {
  return layout(spec).flatMap((c) => c.fields);
}

/** Subjects: a cohort's customers, a month's active customers, buyers (repurchase, churn). */
export function cohortRetentionCells(spec: CohortRetentionSpec): readonly CellSpec[] {
  return layout(spec).map(({ cell, fields }) => ({ name: cell, subjectsField: (fields[0] as FieldSpec).name, fields: fields.map((f) => f.name) }));
}
