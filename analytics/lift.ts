/**
 * `ab-lift`: the effect of a campaign on a binary outcome (converted by
 * default, or clicked / opened), from the sufficient statistics of two arms
 * summed over shops: customers n and successes Σy per arm. Nothing else
 * leaves a shop, and the finalisation reads only the released totals.
 *
 * Arms, for one campaign:
 * - `compare: 'variant'`: customers assigned to the `treatment` variant
 *   against those assigned to `control` (defaults B against A; the hold-out
 *   variant `control` may be either arm). `population: 'assigned'` (default)
 *   counts every assigned customer (intention to treat); `'exposed'` only
 *   those the campaign reached, which a hold-out arm never is.
 * - `compare: 'exposure'`: customers the campaign reached against those it
 *   did not, optionally only within the listed `variants`.
 *
 * Statistics (z the two-sided normal quantile of `confidence`):
 * - rates p₁ = Σy₁/n₁ (treatment), p₀ = Σy₀/n₀ (control);
 * - absolute lift d = p₁ − p₀ with the Wald interval for a difference of
 *   independent proportions, d ± z·√(p₁(1−p₁)/n₁ + p₀(1−p₀)/n₀) (unpooled);
 * - relative lift r = p₁/p₀ − 1 with a delta-method interval on the ratio
 *   scale, r ± z·SE, SE² = p₁(1−p₁)/(n₁p₀²) + p₁²(1−p₀)/(n₀p₀³) (the
 *   first-order variance of p₁/p₀); undefined when p₀ = 0.
 * A suppressed arm (fewer customers than the k threshold) leaves both lifts
 * null.
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { atMost, firstBroken, totalOf } from './input-relations.js';
import { campaignIdSchema } from './funnel.js';
import { purposeSchema } from './model-spec.js';
import { assertWithinBounds, type CellMargin, type CellSpec, type FieldSpec, type QueryDefinition, type ReleasedTotals, type SubjectSensitivity } from './query-definition.js';
import { ratioToNumber } from './rational.js';
import { CAMPAIGN_VARIANTS, type CampaignExposure, type CampaignVariant, type ShopData } from './shop-data.js';
import { boundSchema, parseWith } from './spec-parse.js';
import { asJson, boundMember, purposeMember, type KindGuideBody } from './kind-guide-types.js';

export const AB_LIFT_KIND = 'ab-lift';

/** Outcomes a lift can be measured on (campaign flags). */
export const LIFT_OUTCOMES = ['converted', 'clicked', 'opened'] as const;
export type LiftOutcome = (typeof LIFT_OUTCOMES)[number];

/** Confidence levels and their two-sided standard normal quantiles. */
export const CONFIDENCE_Z: Readonly<Record<string, number>> = { '0.9': 1.6448536269514722, '0.95': 1.959963984540054, '0.99': 2.5758293035489004 };

/** Parsed, normalised `ab-lift` spec. */
export type AbLiftSpec = {
  readonly kind: typeof AB_LIFT_KIND;
  readonly purpose: string;
  readonly campaignId: string;
  readonly outcome: LiftOutcome;
  readonly confidence: 0.9 | 0.95 | 0.99;
  readonly bounds: { readonly maxCustomers: bigint };
} & (
  | { readonly compare: 'variant'; readonly treatment: CampaignVariant; readonly control: CampaignVariant; readonly population: 'assigned' | 'exposed' }
  | { readonly compare: 'exposure'; readonly variants: readonly CampaignVariant[] }
);

/** One arm as released. */
export interface ArmResult {
  /** `B`, `A`, `control`, `exposed`, `unexposed`. */
  readonly label: string;
  readonly suppressed: boolean;
  readonly customers: number | null;
  readonly successes: number | null;
  readonly rate: number | null;
}

/** An estimate with its confidence interval. */
export interface LiftInterval {
  readonly estimate: number;
  readonly standardError: number;
  readonly lower: number;
  readonly upper: number;
}

export interface AbLiftResult {
  readonly campaignId: string;
  readonly outcome: LiftOutcome;
  readonly confidence: number;
  readonly treatment: ArmResult;
  readonly control: ArmResult;
  /** p₁ − p₀, Wald (unpooled) interval. */
  readonly absoluteLift: LiftInterval | null;
  /** p₁/p₀ − 1, delta-method interval on the ratio scale. */
  readonly relativeLift: LiftInterval | null;
  readonly methods: { readonly absolute: 'wald-unpooled'; readonly relative: 'delta-method-ratio' };
}

const variant = z.enum(CAMPAIGN_VARIANTS);
const common = {
  kind: z.literal(AB_LIFT_KIND),
  purpose: purposeSchema,
  campaignId: campaignIdSchema,
  outcome: z.enum(LIFT_OUTCOMES).optional(),
  confidence: z.union([z.literal(0.9), z.literal(0.95), z.literal(0.99)]).optional(),
  bounds: z.strictObject({ maxCustomers: boundSchema.optional() }).optional(),
};
const specSchema = z.discriminatedUnion('compare', [
  z.strictObject({ ...common, compare: z.literal('variant'), treatment: variant.optional(), control: variant.optional(), population: z.enum(['assigned', 'exposed']).optional() }),
  z.strictObject({ ...common, compare: z.literal('exposure'), variants: z.array(variant).min(1).max(3).optional() }),
]);

/** Default bound: customers of one shop in one arm. */
export const DEFAULT_LIFT_MAX_CUSTOMERS = 10_000_000n;

/** Validates untrusted spec JSON; throws QuerySpecError naming the path. */
export function parseAbLiftSpec(json: unknown): AbLiftSpec {
  const raw = parseWith(specSchema, json);
  const base = {
    kind: AB_LIFT_KIND,
    purpose: raw.purpose,
    campaignId: raw.campaignId,
    outcome: raw.outcome ?? 'converted',
    confidence: raw.confidence ?? 0.95,
    bounds: { maxCustomers: raw.bounds?.maxCustomers ?? DEFAULT_LIFT_MAX_CUSTOMERS },
  } as const;
  if (raw.compare === 'exposure') {
    const variants = raw.variants ?? [...CAMPAIGN_VARIANTS];
    if (new Set(variants).size !== variants.length) throw new QuerySpecError('variants', 'a variant is listed twice');
    return { ...base, compare: 'exposure', variants: CAMPAIGN_VARIANTS.filter((v) => variants.includes(v)) };
  }
  const treatment = raw.treatment ?? 'B';
  const control = raw.control ?? 'A';
  if (treatment === control) throw new QuerySpecError('control', 'must differ from treatment');
  const population = raw.population ?? 'assigned';
  if (population === 'exposed' && (treatment === 'control' || control === 'control')) {
    throw new QuerySpecError('population', "the hold-out variant 'control' is never exposed; compare assigned customers");
  }
  return { ...base, compare: 'variant', treatment, control, population };
}

const ARMS = ['treatment', 'control'] as const;
type Arm = (typeof ARMS)[number];

export function abLiftFields(spec: AbLiftSpec): FieldSpec[] {
  return ARMS.flatMap((arm) => [
    { name: `${arm}.customers`, max: spec.bounds.maxCustomers },
    { name: `${arm}.successes`, max: spec.bounds.maxCustomers },
  ]);
}

export function abLiftCells(_spec: AbLiftSpec): CellSpec[] {
  return ARMS.map((arm) => ({ name: arm, subjectsField: `${arm}.customers`, fields: [`${arm}.customers`, `${arm}.successes`] }));
}

/**
 * Disclosure control: the arms are disjoint and together are (or are part
 * of) the campaign's customers, which other queries publish, so the two arms
 * form one relation: one arm is never withheld alone. A customer has one row
 * per campaign, so each field moves by at most 1 per customer.
 */
export function abLiftMargins(_spec: AbLiftSpec): CellMargin[] {
  return [{ parts: [...ARMS] }];
}

export function abLiftSubjectSensitivity(spec: AbLiftSpec): SubjectSensitivity {
  return { perField: Object.fromEntries(abLiftFields(spec).map((f) => [f.name, 1n])), disjointCells: true };
}

/** The arm a campaign row belongs to, if any. */
function armOf(spec: AbLiftSpec, e: CampaignExposure): Arm | undefined {
  if (spec.compare === 'exposure') {
    // With every variant listed the variant is not read (nor in inputFields).
    if (spec.variants.length < CAMPAIGN_VARIANTS.length && (e.variant === '' || !spec.variants.includes(e.variant))) return undefined;
    return e.exposed ? 'treatment' : 'control';
  }
  if (spec.population === 'exposed' && !e.exposed) return undefined;
  return e.variant === spec.treatment ? 'treatment' : e.variant === spec.control ? 'control' : undefined;
}

/**
 * Shop side: customers and successes per arm. Throws RangeError naming
 * `data.campaigns` when a customer has two rows in the campaign, and naming
 * the field when a count exceeds its bound.
 */
export function computeAbLiftLocal(spec: AbLiftSpec, data: ShopData): bigint[] {
  if (typeof data !== 'object' || data === null) throw new TypeError('data: expected ShopData');
  const n = { treatment: 0n, control: 0n };
  const y = { treatment: 0n, control: 0n };
  const seen = new Set<string>();
  for (const e of data.campaigns ?? []) {
    if (e.campaignId !== spec.campaignId) continue;
    if (seen.has(e.customerId)) throw new RangeError(`data.campaigns: customer ${e.customerId} has two rows in campaign ${e.campaignId}`);
    seen.add(e.customerId);
    const arm = armOf(spec, e);
    if (arm === undefined) continue;
    n[arm]++;
    if (e[spec.outcome]) y[arm]++;
  }
  const values = [n.treatment, y.treatment, n.control, y.control];
  assertWithinBounds(abLiftFields(spec), values);
  return values;
}

const labels = (spec: AbLiftSpec): Record<Arm, string> =>
  spec.compare === 'exposure' ? { treatment: 'exposed', control: 'unexposed' } : { treatment: spec.treatment, control: spec.control };

function interval(estimate: number, se: number, z: number): LiftInterval {
  return { estimate, standardError: se, lower: estimate - z * se, upper: estimate + z * se };
}

/**
 * Lifts from released arm totals (exported for pooled checks). Rates are
 * exact ratios rounded once; the intervals are computed in double precision.
 */
export function liftFromTotals(
  spec: AbLiftSpec,
  t: Readonly<Record<Arm, { readonly customers: bigint; readonly successes: bigint } | null>>,
): AbLiftResult {
  const label = labels(spec);
  const arm = (a: Arm): ArmResult => {
    const v = t[a];
    if (v === null) return { label: label[a], suppressed: true, customers: null, successes: null, rate: null };
    if (v.successes > v.customers) throw new RangeError(`release.cells.${a}: successes exceed customers`);
    return { label: label[a], suppressed: false, customers: Number(v.customers), successes: Number(v.successes), rate: v.customers > 0n ? ratioToNumber(v.successes, v.customers) : null };
  };
  const treatment = arm('treatment');
  const control = arm('control');
  const z = CONFIDENCE_Z[String(spec.confidence)] as number;
  let absoluteLift: LiftInterval | null = null;
  let relativeLift: LiftInterval | null = null;
  if (treatment.rate !== null && control.rate !== null) {
    const p1 = treatment.rate;
    const p0 = control.rate;
    const n1 = treatment.customers as number;
    const n0 = control.customers as number;
    absoluteLift = interval(p1 - p0, Math.sqrt((p1 * (1 - p1)) / n1 + (p0 * (1 - p0)) / n0), z);
    if (p0 > 0) {
      const varRatio = (p1 * (1 - p1)) / (n1 * p0 * p0) + (p1 * p1 * (1 - p0)) / (n0 * p0 * p0 * p0);
      relativeLift = interval(p1 / p0 - 1, Math.sqrt(varRatio), z);
    }
  }
  return {
    campaignId: spec.campaignId,
    outcome: spec.outcome,
    confidence: spec.confidence,
    treatment,
    control,
    absoluteLift,
    relativeLift,
    methods: { absolute: 'wald-unpooled', relative: 'delta-method-ratio' },
  };
}

/** Coordinator side: rates and lifts from the released arm totals only. */
export function finaliseAbLift(spec: AbLiftSpec, release: ReleasedTotals): AbLiftResult {
  if (typeof release !== 'object' || release === null || typeof release.cells !== 'object' || release.cells === null) {
    throw new TypeError('release: expected { cells }');
  }
  const read = (a: Arm): { customers: bigint; successes: bigint } | null => {
    const c = release.cells[a];
    if (c === undefined) throw new TypeError(`release.cells.${a}: missing`);
    if (c.suppressed) return null;
    const customers = c.totals?.[`${a}.customers`];
    const successes = c.totals?.[`${a}.successes`];
    if (typeof customers !== 'bigint' || customers < 0n) throw new TypeError(`release.cells.${a}.totals.${a}.customers: missing or negative`);
    if (typeof successes !== 'bigint' || successes < 0n) throw new TypeError(`release.cells.${a}.totals.${a}.successes: missing or negative`);
    return { customers, successes };
  };
  return liftFromTotals(spec, { treatment: read('treatment'), control: read('control') });
}

/** The `ab-lift` query definition registered under its kind. */
/** The relation every honest shop's arms satisfy (input-relations.ts): an arm's successes are among its customers. */
export function abLiftInputViolation(_spec: AbLiftSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  return firstBroken(ARMS.map((arm) => atMost(`${arm}.successes`, totalOf(totals, `${arm}.successes`), `${arm}.customers`, totalOf(totals, `${arm}.customers`))));
}

const AB_LIFT_GUIDE: KindGuideBody = {
  summary: 'Campaign lift on conversion (or click, open) between two arms, with confidence intervals.',
  description:
    'For one campaign, the customers n and successes of two arms, summed over shops: the treatment variant against the control variant ' +
    '(compare "variant"), or customers the campaign reached against those it did not (compare "exposure"). Released: both rates, the ' +
    'absolute lift with a Wald interval and the relative lift with a delta-method interval. A suppressed arm leaves both lifts null.',
  members: [
    purposeMember('marketing-analytics'),
    { name: 'campaignId', type: 'string', required: true, description: 'The campaign, as exported (e.g. CMP-2025-618).' },
    { name: 'compare', type: 'string', required: true, description: 'variant: treatment against control variant; exposure: reached against not reached.', values: ['variant', 'exposure'] },
    { name: 'treatment', type: 'string', required: false, default: 'B', description: 'With compare variant: the treatment arm.', values: CAMPAIGN_VARIANTS },
    { name: 'control', type: 'string', required: false, default: 'A', description: 'With compare variant: the control arm (differs from treatment).', values: CAMPAIGN_VARIANTS },
    {
      name: 'population',
      type: 'string',
      required: false,
      default: 'assigned',
      description: 'With compare variant: every assigned customer (intention to treat) or only those the campaign reached (not with the hold-out variant control).',
      values: ['assigned', 'exposed'],
      sample: 'exposed',
    },
    {
      name: 'variants',
      type: 'string[]',
      required: false,
      default: asJson(CAMPAIGN_VARIANTS),
      description: 'With compare exposure: only customers of these variants.',
      values: CAMPAIGN_VARIANTS,
      sample: ['A', 'B'],
      sampleWith: { compare: 'exposure', treatment: undefined, control: undefined, population: undefined },
    },
    { name: 'outcome', type: 'string', required: false, default: 'converted', description: 'The binary outcome.', values: LIFT_OUTCOMES },
    { name: 'confidence', type: 'number', required: false, default: '0.95', description: 'Confidence level of the intervals.', values: [0.9, 0.95, 0.99] },
    boundMember('maxCustomers', DEFAULT_LIFT_MAX_CUSTOMERS, 'customers in one arm'),
  ],
  sections: [],
  example: { purpose: 'marketing-analytics', campaignId: 'CMP-2025-618', compare: 'variant', treatment: 'B', control: 'A', outcome: 'converted', confidence: 0.95 },
};

export const abLiftQuery: QueryDefinition<AbLiftSpec, AbLiftResult, typeof AB_LIFT_KIND> = {
  kind: AB_LIFT_KIND,
  guide: AB_LIFT_GUIDE,
  parseSpec: parseAbLiftSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: (spec) => {
    const fields = new Set(['campaign.campaign_id', `campaign.${spec.outcome}`]);
    if (spec.compare === 'exposure' || spec.population === 'exposed') fields.add('campaign.exposed');
    if (spec.compare === 'variant' || spec.variants.length < 3) fields.add('campaign.variant');
    return [...fields].sort();
  },
  fields: abLiftFields,
  cells: abLiftCells,
  margins: abLiftMargins,
  subjectSensitivity: abLiftSubjectSensitivity,
  computeLocal: computeAbLiftLocal,
  finalise: finaliseAbLift,
  inputViolation: abLiftInputViolation,
};
