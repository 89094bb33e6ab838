/**
 * `cohort-retention`: cohort retention (留存), repurchase (复购率) and
 * purchase interval (购买间隔), and churn (流失) by lifecycle stage, all as
 * of a declared instant over customers who consented to analytics. Orders
 * after `asOf` do not exist for the query.
 *
 * - Cohorts: a customer's acquisition month is the month of their first
 *   order (`acquisition: 'first-order'`) or of their signup (`'signup'`), in
 *   calendar months at `utcOffsetMinutes`. A customer is retained in month k
 *   (k = 0 is the acquisition month) when they ordered in that calendar
 *   month. Cell `cohort.{YYYY-MM}` counts the cohort's customers, cell
 *   `cohort.{YYYY-MM}.m{k}` its customers active in month k; months after the
 *   as-of month are not in the layout. Orders before a signup month belong to
 *   no month k (there is no negative k).
 * - `repurchase`: buyers (≥ 1 order), repeat buyers (≥ 2) and the gaps
 *   between consecutive orders, so repurchase rate = repeat / buyers and the
 *   mean interval = Σ gaps / #gaps exactly.
 * - `churn.{stage}`: buyers of the stage and those churned, i.e. with no
 *   order in the last `churnDays` days before asOf (asOf − churnDays·86400,
 *   asOf]. Customers who never ordered cannot churn and are not counted.
 *
 * Subjects: every cell's subject count is the number of distinct customers
 * behind it (cohort customers, active customers, buyers), which is what the
 * key holder compares with k. The stages' buyers add up to the repurchase
 * cell's buyers, the cohorts to figures published elsewhere, and month 0 of
 * a first-order cohort is the cohort; these relations are declared for
 * secondary suppression (`retention-disclosure.ts`), so the key holder never
 * leaves one cell of them withheld alone.
 *
 * @module
 */
import { z } from 'zod';
import { DAY_SECONDS } from './calendar.js';
import {
  DEFAULT_UTC_OFFSET_MINUTES,
  isoInstantSchema,
  isoInstantSeconds,
  monthLabel,
  monthLabelSchema,
  monthOf,
  monthOfLabel,
  utcOffsetSchema,
} from './calendar.js';
import { consentedHistories, releasedCell } from './customer-history.js';
import { QuerySpecError } from './errors.js';
import { atLeast, atMost, equals, firstBroken, totalOf, type RelationCheck } from './input-relations.js';
import { cohortRetentionMargins } from './retention-disclosure.js';
import {
  activeCell,
  ACQUISITION_RULES,
  cohortCell,
  cohortGrid,
  cohortRetentionCells,
  cohortRetentionFields,
  COHORT_RETENTION_KIND,
  type AcquisitionRule,
  type CohortRetentionBounds,
  type CohortRetentionSpec,
} from './retention-spec.js';
import type { CellSpec, QueryDefinition, ReleasedTotals } from './query-definition.js';
import { assertWithinBounds } from './query-definition.js';
import { ratioToNumber } from './rational.js';
import { LIFECYCLE_STAGES, type LifecycleStage, type ShopData } from './shop-data.js';
import { boundSchema, parseWith } from './spec-parse.js';
import { AS_OF, asOfMember, boundMember, purposeMember, type KindGuideBody } from './kind-guide-types.js';

export const DEFAULT_COHORT_RETENTION_BOUNDS: CohortRetentionBounds = {
  maxCustomers: 1_000_000n,
  maxOrders: 10_000_000n,
  horizonSeconds: 315_360_000n,
};
export const DEFAULT_COHORTS = 12;
const MAX_COHORTS = 36;
export const DEFAULT_CHURN_DAYS = 90;

const specSchema = z.strictObject({
  kind: z.literal(COHORT_RETENTION_KIND),
  purpose: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a purpose code like marketing-analytics'),
  asOf: isoInstantSchema,
  acquisition: z.enum(ACQUISITION_RULES).optional(),
  firstCohort: monthLabelSchema.optional(),
  cohorts: z.number().int().min(1).max(MAX_COHORTS).optional(),
  maxMonthsSince: z.number().int().min(0).max(35).optional(),
  churnDays: z.number().int().min(1).max(3650).optional(),
  utcOffsetMinutes: utcOffsetSchema.optional(),
  bounds: z
    .strictObject({ maxCustomers: boundSchema.optional(), maxOrders: boundSchema.optional(), horizonSeconds: boundSchema.optional() })
    .optional(),
});

/** Validates untrusted spec JSON and fills in defaults; throws QuerySpecError naming the path. */
export function parseCohortRetentionSpec(json: unknown): CohortRetentionSpec {
  const raw = parseWith(specSchema, json);
  const utcOffsetMinutes = raw.utcOffsetMinutes ?? DEFAULT_UTC_OFFSET_MINUTES;
  const asOfMonth = monthOf(isoInstantSeconds(raw.asOf) as number, utcOffsetMinutes);
  const declaredFirst = raw.firstCohort === undefined ? undefined : (monthOfLabel(raw.firstCohort) as number);
  // Without a count, cohorts run from the first one to the as-of month (at most 36).
  const cohorts = raw.cohorts ?? (declaredFirst === undefined ? DEFAULT_COHORTS : Math.max(1, Math.min(MAX_COHORTS, asOfMonth - declaredFirst + 1)));
  const first = declaredFirst ?? asOfMonth - (cohorts - 1);
  if (first < 0) throw new QuerySpecError('cohorts', `${cohorts} cohorts before ${raw.asOf} start before 1970`);
  if (first + cohorts - 1 > asOfMonth) {
    throw new QuerySpecError(raw.firstCohort === undefined ? 'cohorts' : 'firstCohort', `cohorts ${monthLabel(first)} + ${cohorts} months run past the as-of month ${monthLabel(asOfMonth)}`);
  }
  const d = DEFAULT_COHORT_RETENTION_BOUNDS;
  return {
    kind: COHORT_RETENTION_KIND,
    purpose: raw.purpose,
    asOf: raw.asOf,
    acquisition: raw.acquisition ?? 'first-order',
    firstCohort: monthLabel(first),
    cohorts,
    maxMonthsSince: raw.maxMonthsSince ?? DEFAULT_COHORTS - 1,
    churnDays: raw.churnDays ?? DEFAULT_CHURN_DAYS,
    utcOffsetMinutes,
    bounds: {
      maxCustomers: raw.bounds?.maxCustomers ?? d.maxCustomers,
      maxOrders: raw.bounds?.maxOrders ?? d.maxOrders,
      horizonSeconds: raw.bounds?.horizonSeconds ?? d.horizonSeconds,
    },
  };
}

/**
 * Shop side. Throws RangeError naming `repurchase.interval_sum_s` for a gap
 * above bounds.horizonSeconds, naming the field when a total exceeds its
 * bound, and TypeError naming `data` on malformed input.
 */
export function computeCohortRetentionLocal(spec: CohortRetentionSpec, data: ShopData): bigint[] {
  const asOf = isoInstantSeconds(spec.asOf) as number;
  const churnFrom = asOf - spec.churnDays * DAY_SECONDS;
  const grid = new Map(cohortGrid(spec).map((g) => [g.cohort, new Set(g.months)]));
  const counts = new Map<string, bigint>(cohortRetentionFields(spec).map((f) => [f.name, 0n]));
  const add = (field: string, by = 1n): void => void counts.set(field, (counts.get(field) as bigint) + by);

  for (const { customer, orders } of consentedHistories(data, { excludeReturned: false })) {
    const times = orders.map((o) => o.orderedUnixS).filter((t) => t <= asOf); // ascending
    const firstOrder = times[0];
    const lastOrder = times[times.length - 1];
    let acquired: number | undefined;
    if (spec.acquisition === 'signup') {
      if (!Number.isSafeInteger(customer.signupUnixS as unknown)) throw new TypeError(`data.customers: customer ${customer.customerId} signupUnixS is not an integer`);
      if (customer.signupUnixS <= asOf) acquired = monthOf(customer.signupUnixS, spec.utcOffsetMinutes);
    } else if (firstOrder !== undefined) {
      acquired = monthOf(firstOrder, spec.utcOffsetMinutes);
    }
    const tracked = acquired === undefined ? undefined : grid.get(acquired);
    if (acquired !== undefined && tracked !== undefined) {
      add(`${cohortCell(acquired)}.customers`);
      const activeMonths = new Set(times.map((t) => monthOf(t, spec.utcOffsetMinutes) - acquired));
      for (const k of activeMonths) if (tracked.has(k)) add(`${activeCell(acquired, k)}.active`);
    }
    if (firstOrder === undefined || lastOrder === undefined) continue;
    add('repurchase.buyers');
    if (times.length >= 2) add('repurchase.repeat_buyers');
    for (let i = 1; i < times.length; i++) {
      const gap = BigInt((times[i] as number) - (times[i - 1] as number));
      if (gap > spec.bounds.horizonSeconds) {
        throw new RangeError(`field repurchase.interval_sum_s: a gap of ${gap} s exceeds bounds.horizonSeconds ${spec.bounds.horizonSeconds}`);
      }
      add('repurchase.interval_count');
      add('repurchase.interval_sum_s', gap);
    }
    const stage: LifecycleStage = customer.lifecycleStage;
    if (!LIFECYCLE_STAGES.includes(stage)) throw new RangeError(`customer.lifecycle_stage: customer ${customer.customerId} has '${String(stage)}'`);
    add(`churn.${stage}.buyers`);
    if (lastOrder <= churnFrom) add(`churn.${stage}.churned`);
  }
  const values = [...counts.values()];
  assertWithinBounds(cohortRetentionFields(spec), values);
  return values;
}

export interface CohortMonthResult {
  readonly monthsSince: number;
  /** Calendar month, `YYYY-MM`. */
  readonly month: string;
  readonly suppressed: boolean;
  readonly active: number | null;
  /** active / cohort customers; null when either is suppressed. */
  readonly retention: number | null;
}

export interface CohortResult {
  readonly cohort: string;
  readonly suppressed: boolean;
  readonly customers: number | null;
  readonly months: readonly CohortMonthResult[];
}

export interface RepurchaseResult {
  readonly suppressed: boolean;
  readonly buyers: number | null;
  readonly repeatBuyers: number | null;
  /** repeat buyers / buyers (复购率). */
  readonly repurchaseRate: number | null;
  /** Mean gap between a customer's consecutive orders, days (购买间隔). */
  readonly meanDaysBetweenOrders: number | null;
}

export interface ChurnResult {
  readonly stage: LifecycleStage;
  readonly suppressed: boolean;
  readonly buyers: number | null;
  readonly churned: number | null;
  /** churned / buyers (流失率). */
  readonly churnRate: number | null;
}

export interface CohortRetentionResult {
  readonly asOf: string;
  readonly acquisition: AcquisitionRule;
  readonly utcOffsetMinutes: number;
  readonly churnDays: number;
  readonly cohorts: readonly CohortResult[];
  readonly repurchase: RepurchaseResult;
  readonly churn: readonly ChurnResult[];
}

/** Coordinator side: released totals to rates, exact until one final rounding; suppressed cells are null. */
export function finaliseCohortRetention(spec: CohortRetentionSpec, release: ReleasedTotals): CohortRetentionResult {
  const cells = new Map(cohortRetentionCells(spec).map((c) => [c.name, c]));
  const read = (cell: string): Record<string, bigint> | null => releasedCell(release, cell, (cells.get(cell) as CellSpec).fields);
  const cohorts = cohortGrid(spec).map(({ cohort, months }): CohortResult => {
    const size = read(cohortCell(cohort))?.[`${cohortCell(cohort)}.customers`] ?? null;
    return {
      cohort: monthLabel(cohort),
      suppressed: size === null,
      customers: size === null ? null : Number(size),
      months: months.map((k) => {
        const active = read(activeCell(cohort, k))?.[`${activeCell(cohort, k)}.active`] ?? null;
        return {
          monthsSince: k,
          month: monthLabel(cohort + k),
          suppressed: active === null,
          active: active === null ? null : Number(active),
          retention: active !== null && size !== null && size > 0n ? ratioToNumber(active, size) : null,
        };
      }),
    };
  });
  const r = read('repurchase');
  const buyers = r?.['repurchase.buyers'];
  const repeat = r?.['repurchase.repeat_buyers'];
  const gaps = r?.['repurchase.interval_count'];
  const repurchase: RepurchaseResult = {
    suppressed: r === null,
    buyers: buyers === undefined ? null : Number(buyers),
    repeatBuyers: repeat === undefined ? null : Number(repeat),
    repurchaseRate: buyers !== undefined && repeat !== undefined && buyers > 0n ? ratioToNumber(repeat, buyers) : null,
    meanDaysBetweenOrders: gaps !== undefined && gaps > 0n ? ratioToNumber(r?.['repurchase.interval_sum_s'] as bigint, gaps * BigInt(DAY_SECONDS)) : null,
  };
  const churn = LIFECYCLE_STAGES.map((stage): ChurnResult => {
    const c = read(`churn.${stage}`);
    const b = c?.[`churn.${stage}.buyers`];
    const ch = c?.[`churn.${stage}.churned`];
    return {
      stage,
      suppressed: c === null,
      buyers: b === undefined ? null : Number(b),
      churned: ch === undefined ? null : Number(ch),
      churnRate: b !== undefined && ch !== undefined && b > 0n ? ratioToNumber(ch, b) : null,
    };
  });
  return { asOf: spec.asOf, acquisition: spec.acquisition, utcOffsetMinutes: spec.utcOffsetMinutes, churnDays: spec.churnDays, cohorts, repurchase, churn };
}

/**
 * Relations every honest shop's retention counts satisfy, checked by the key
 * holder on the pooled sums (input-relations.ts): a month's active customers
 * belong to their cohort; repeat buyers are buyers with at least one
 * interval, none longer than horizonSeconds; churned buyers are buyers; the
 * churn table's buyers are the repurchase buyers split by stage; and when
 * cohorts are by first order, every cohort customer is a buyer.
 */
export function cohortRetentionInputViolation(spec: CohortRetentionSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  const t = (name: string): bigint => totalOf(totals, name);
  const checks: RelationCheck[] = [];
  let cohortCustomers = 0n;
  for (const { cohort, months } of cohortGrid(spec)) {
    const customers = `${cohortCell(cohort)}.customers`;
    cohortCustomers += t(customers);
    for (const k of months) checks.push(atMost(`${activeCell(cohort, k)}.active`, t(`${activeCell(cohort, k)}.active`), customers, t(customers)));
  }
  const buyers = t('repurchase.buyers');
  checks.push(
    atMost('repurchase.repeat_buyers', t('repurchase.repeat_buyers'), 'repurchase.buyers', buyers),
    atLeast('repurchase.interval_count', t('repurchase.interval_count'), 'repurchase.repeat_buyers', t('repurchase.repeat_buyers')),
    atMost('repurchase.interval_sum_s', t('repurchase.interval_sum_s'), 'repurchase.interval_count x horizonSeconds', t('repurchase.interval_count') * spec.bounds.horizonSeconds),
  );
  let churnBuyers = 0n;
  for (const stage of LIFECYCLE_STAGES) {
    churnBuyers += t(`churn.${stage}.buyers`);
    checks.push(atMost(`churn.${stage}.churned`, t(`churn.${stage}.churned`), `churn.${stage}.buyers`, t(`churn.${stage}.buyers`)));
  }
  checks.push(equals('the churn table\'s buyers', churnBuyers, 'repurchase.buyers', buyers));
  if (spec.acquisition !== 'signup') checks.push(atMost('the cohorts\' customers', cohortCustomers, 'repurchase.buyers', buyers));
  return firstBroken(checks);
}

const COHORT_RETENTION_GUIDE: KindGuideBody = {
  summary: 'Cohort retention by months since acquisition, repurchase, purchase interval, churn by stage.',
  description:
    "A customer's cohort is the calendar month of their first order (or signup); cell cohort.YYYY-MM.m{k} counts the cohort's " +
    'customers who ordered k months later. Beside the cohorts: buyers, repeat buyers and the gaps between consecutive orders ' +
    '(repurchase rate, mean purchase interval), and per lifecycle stage the buyers with no order in the last churnDays days (churn). ' +
    'Everything is as of asOf, over consented customers.',
  members: [
    purposeMember('marketing-analytics'),
    asOfMember('retention'),
    { name: 'acquisition', type: 'string', required: false, default: 'first-order', description: "What makes a customer's cohort month: the first order or the signup.", values: ACQUISITION_RULES },
    { name: 'firstCohort', type: 'string', required: false, default: 'cohorts - 1 months before the as-of month', description: 'First cohort month, like 2025-01.' },
    { name: 'cohorts', type: 'integer', required: false, default: `${DEFAULT_COHORTS}, or up to the as-of month when firstCohort is given`, description: 'Number of consecutive monthly cohorts, 1 to 36; the last may not be after the as-of month.' },
    { name: 'maxMonthsSince', type: 'integer', required: false, default: String(DEFAULT_COHORTS - 1), description: 'Largest k (months since acquisition) tracked per cohort, 0 to 35.' },
    { name: 'churnDays', type: 'integer', required: false, default: String(DEFAULT_CHURN_DAYS), description: 'No order in this many days before asOf means churned (1 to 3650).' },
    { name: 'utcOffsetMinutes', type: 'integer', required: false, default: '480 (Beijing time)', description: 'Offset of the calendar months from UTC, minutes (-720 to 840).', sample: 0 },
    boundMember('maxCustomers', DEFAULT_COHORT_RETENTION_BOUNDS.maxCustomers, 'consented customers'),
    boundMember('maxOrders', DEFAULT_COHORT_RETENTION_BOUNDS.maxOrders, 'orders'),
    boundMember('horizonSeconds', DEFAULT_COHORT_RETENTION_BOUNDS.horizonSeconds, 'longest gap between two orders of a customer, seconds'),
  ],
  sections: [],
  example: { purpose: 'marketing-analytics', asOf: AS_OF, acquisition: 'first-order', firstCohort: '2025-01', cohorts: 12, maxMonthsSince: 11, churnDays: 90 },
};

/** The `cohort-retention` query definition registered under its kind. */
export const cohortRetentionQuery: QueryDefinition<CohortRetentionSpec, CohortRetentionResult, typeof COHORT_RETENTION_KIND> = {
  kind: COHORT_RETENTION_KIND,
  guide: COHORT_RETENTION_GUIDE,
  parseSpec: parseCohortRetentionSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => ['customer.lifecycle_stage', 'order.ordered_at', ...(spec.acquisition === 'signup' ? ['customer.signup_at'] : [])],
  fields: cohortRetentionFields,
  cells: cohortRetentionCells,
  computeLocal: computeCohortRetentionLocal,
  finalise: finaliseCohortRetention,
  margins: cohortRetentionMargins,
  inputViolation: cohortRetentionInputViolation,
};
