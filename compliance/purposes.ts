/**
 * The purpose registry: every purpose a shop's data may be processed for,
 * which fields it may touch, and the impact assessment that preceded it.
 *
 * A query names a purpose; the merchant node refuses it unless the purpose is
 * registered, every field the query reads is on the purpose's allow-list
 * (PIPL art. 6 minimisation: 最小化, only what the purpose needs), and a
 * personal-information impact assessment (PIA, 个人信息保护影响评估, PIPL art.
 * 55, GB/T 39335) was recorded before processing. PIA reports and processing
 * records are kept at least three years (art. 56 ¶3); a PIA whose
 * `retainUntil` is earlier does not parse.
 *
 * Purposes here rest on consent: fedmart's statistics go to other parties
 * (the platform, marketers), which PIPL does not allow on contract or legal
 * obligation grounds. A purpose that reads sensitive PI must ask for separate
 * consent (art. 29) and say so in its legal basis.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CONSENT_LEGAL_BASES, PURPOSE_NAME_RE, isoTimestamp, type ConsentLegalBasis } from './consent-record.js';
import { DEFAULT_FIELD_CLASSIFICATION, FIELD_NAME_RE, type FieldClassification } from './deidentify.js';
import { purposeDisclosureSchema, type PurposeDisclosure } from './disclosure/policy.js';

/** A registered processing purpose. */
export interface PurposeDefinition {
  /** Code such as `marketing-analytics`; queries and consent records use it. */
  readonly name: string;
  readonly description: string;
  readonly legalBasis: ConsentLegalBasis;
  /** fedmart field names the purpose may read, e.g. `order.amount`. */
  readonly allowedFields: readonly string[];
  /**
   * Sensitive PI may be read at all. Even then a subject counts only with
   * separate consent (checked per record in `evaluateConsent`).
   */
  readonly sensitiveAllowed: boolean;
  /** How long results and intermediate data are kept, in days. */
  readonly retentionDays: number;
  /** Who receives the results (named in the notice, art. 17/23). */
  readonly recipients: readonly string[];
  /**
   * The results drive personalised marketing (art. 24), so subjects who
   * refused personalised marketing are left out.
   */
  readonly personalisedMarketing: boolean;
  /**
   * What the key holder may release for this purpose (`disclosure/policy.ts`):
   * thresholds and suppression only (`exact`, the default when absent) or,
   * in addition, exact integer noise under a zCDP privacy-loss budget (`dp`).
   */
  readonly disclosure?: PurposeDisclosure;
}

/** A personal-information impact assessment (GB/T 39335). */
export interface PiaRecord {
  readonly id: string;
  /** The assessed purpose's name. */
  readonly purpose: string;
  /** UTC ISO-8601. */
  readonly assessedAt: string;
  readonly reviewer: string;
  readonly summary: string;
  readonly risks: readonly string[];
  readonly measures: readonly string[];
  /** UTC ISO-8601, at least three years after `assessedAt` (art. 56). */
  readonly retainUntil: string;
}

/** A `purposes.json` file. */
export interface PurposeRegistry {
  readonly version: 1;
  readonly purposes: readonly PurposeDefinition[];
  readonly pias: readonly PiaRecord[];
}

/** Minimum PIA retention in years (PIPL art. 56 ¶3). */
export const PIA_RETENTION_YEARS = 3;

/** Machine-readable causes of purpose-registry errors. */
export type PurposeErrorCode = 'FIELD_NOT_ALLOWED' | 'PIA_MISSING' | 'PIA_RETENTION_TOO_SHORT' | 'PURPOSE_UNKNOWN' | 'PURPOSE_REGISTRY_INVALID';

/** Base of the registry's errors; `code` is stable. */
export class PurposeError extends Error {
  override name = 'PurposeError';
  readonly code: PurposeErrorCode;

  constructor(code: PurposeErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** A query asked for a field outside its purpose's allow-list. */
export class PurposeFieldError extends PurposeError {
  override name = 'PurposeFieldError';
  readonly field: string;
  readonly purpose: string;

  constructor(field: string, purpose: string) {
    super('FIELD_NOT_ALLOWED', `field '${field}' is not allowed for purpose '${purpose}'`);
    this.field = field;
    this.purpose = purpose;
  }
}

/** No impact assessment covers the purpose at the given time. */
export class PiaMissingError extends PurposeError {
  override name = 'PiaMissingError';
  readonly purpose: string;

  constructor(purpose: string, at: Date) {
    super('PIA_MISSING', `no impact assessment of purpose '${purpose}' was recorded on or before ${at.toISOString()}`);
    this.purpose = purpose;
  }
}

/** A PIA would be kept for less than three years. */
export class PiaRetentionError extends PurposeError {
  override name = 'PiaRetentionError';

  constructor(piaId: string, retainUntil: string, minimum: string) {
    super('PIA_RETENTION_TOO_SHORT', `PIA '${piaId}' must be retained until at least ${minimum} (${PIA_RETENTION_YEARS} years), got ${retainUntil}`);
  }
}

/** The registry has no purpose of that name. */
export class UnknownPurposeError extends PurposeError {
  override name = 'UnknownPurposeError';
  readonly purpose: string;

  constructor(purpose: string, known: readonly string[]) {
    super('PURPOSE_UNKNOWN', `unknown purpose '${purpose}' (registered: ${known.join(', ') || 'none'})`);
    this.purpose = purpose;
  }
}

/** The earliest allowed `retainUntil` for a PIA assessed at `assessedAt`: same calendar instant three years on. */
export function minimumPiaRetention(assessedAt: string | Date): Date {
  const t = typeof assessedAt === 'string' ? new Date(Date.parse(assessedAt)) : assessedAt;
  if (!(t instanceof Date) || Number.isNaN(t.getTime())) throw new RangeError('assessedAt: expected a valid time');
  const out = new Date(t.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + PIA_RETENTION_YEARS);
  return out;
}

/** Throws {@link PiaRetentionError} unless `pia.retainUntil` is ≥ three years after `pia.assessedAt`. */
export function assertPiaRetention(pia: Pick<PiaRecord, 'id' | 'assessedAt' | 'retainUntil'>): void {
  const minimum = minimumPiaRetention(pia.assessedAt);
  if (!(Date.parse(pia.retainUntil) >= minimum.getTime())) throw new PiaRetentionError(pia.id, pia.retainUntil, minimum.toISOString());
}

const text = z.string().min(1).max(4096);
const purposeName = z.string().max(64).regex(PURPOSE_NAME_RE, 'expected a purpose code like marketing-analytics');

const purposeSchema = z
  .strictObject({
    name: purposeName,
    description: text,
    legalBasis: z.enum(CONSENT_LEGAL_BASES),
    allowedFields: z.array(z.string().max(128).regex(FIELD_NAME_RE, 'expected a field name like order.amount')).max(1000),
    sensitiveAllowed: z.boolean(),
    retentionDays: z.number().int().min(1).max(36_600),
    recipients: z.array(z.string().min(1).max(256)).max(64),
    personalisedMarketing: z.boolean(),
    disclosure: purposeDisclosureSchema.optional(),
  })
  .refine((p) => !p.sensitiveAllowed || p.legalBasis === 'separate-consent', {
    message: 'a purpose that reads sensitive PI needs legalBasis separate-consent (PIPL art. 29)',
    path: ['legalBasis'],
  });

const piaSchema = z.strictObject({
  id: z.string().min(1).max(128),
  purpose: purposeName,
  assessedAt: isoTimestamp,
  reviewer: z.string().min(1).max(256),
  summary: text,
  risks: z.array(text).min(1).max(256),
  measures: z.array(text).min(1).max(256),
  retainUntil: isoTimestamp,
});

function registrySchema(classification: FieldClassification): z.ZodType<PurposeRegistry> {
  const classOf = new Map(classification.fields.map((e) => [e.field, e.class]));
  return z
    .strictObject({ version: z.literal(1), purposes: z.array(purposeSchema).max(1000), pias: z.array(piaSchema).max(100_000) })
    .superRefine((r, ctx) => {
      const names = new Set<string>();
      r.purposes.forEach((p, i) => {
        if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['purposes', i, 'name'], message: `purpose '${p.name}' is defined twice` });
        names.add(p.name);
        p.allowedFields.forEach((field, j) => {
          const cls = classOf.get(field);
          const path = ['purposes', i, 'allowedFields', j];
          if (cls === undefined) ctx.addIssue({ code: 'custom', path, message: `field '${field}' is not in the field classification` });
          else if (cls === 'direct-identifier') ctx.addIssue({ code: 'custom', path, message: `field '${field}' is a direct identifier and can never be allowed` });
          else if (cls === 'sensitive' && !p.sensitiveAllowed) ctx.addIssue({ code: 'custom', path, message: `field '${field}' is sensitive but the purpose does not allow sensitive PI` });
        });
      });
      const ids = new Set<string>();
      r.pias.forEach((p, i) => {
        if (ids.has(p.id)) ctx.addIssue({ code: 'custom', path: ['pias', i, 'id'], message: `PIA id '${p.id}' is used twice` });
        ids.add(p.id);
        if (!names.has(p.purpose)) ctx.addIssue({ code: 'custom', path: ['pias', i, 'purpose'], message: `PIA names unknown purpose '${p.purpose}'` });
      });
    });
}

/**
 * Validates `purposes.json` content against the field classification (allowed
 * fields must be classified, never direct identifiers, sensitive only where
 * the purpose allows it). A PIA retained for under three years throws
 * {@link PiaRetentionError}; anything else wrong throws PurposeError
 * `PURPOSE_REGISTRY_INVALID` naming the path.
 */
export function parsePurposeRegistry(json: unknown, classification: FieldClassification = DEFAULT_FIELD_CLASSIFICATION): PurposeRegistry {
  const r = registrySchema(classification).safeParse(json);
  if (r.success) {
    for (const pia of r.data.pias) assertPiaRetention(pia);
    return r.data;
  }
  const issue = r.error.issues[0];
  const path = issue === undefined ? '' : issue.path.map(String).join('.');
  throw new PurposeError('PURPOSE_REGISTRY_INVALID', `${path === '' ? '' : `${path}: `}${issue?.message ?? 'invalid purpose registry'}`);
}

/** Reads and validates a `purposes.json` file. */
export async function readPurposeRegistry(path: string, classification?: FieldClassification): Promise<PurposeRegistry> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new PurposeError('PURPOSE_REGISTRY_INVALID', `${path}: not JSON (${err.message})`);
    throw err;
  }
  try {
    return parsePurposeRegistry(json, classification);
  } catch (err) {
    if (err instanceof PurposeError) err.message = `${path}: ${err.message}`;
    throw err;
  }
}

/** The purpose called `name`; throws {@link UnknownPurposeError} otherwise. */
export function getPurpose(registry: Pick<PurposeRegistry, 'purposes'>, name: string): PurposeDefinition {
  if (typeof name !== 'string') throw new TypeError('name: expected a purpose name');
  const p = registry.purposes.find((d) => d.name === name);
  if (p === undefined) throw new UnknownPurposeError(name, registry.purposes.map((d) => d.name));
  return p;
}

/**
 * Throws {@link PurposeFieldError} (code `FIELD_NOT_ALLOWED`) naming the first
 * requested field that is not on the purpose's allow-list.
 */
export function assertFieldsAllowed(purpose: PurposeDefinition, requestedFields: Iterable<string>): void {
  if (typeof purpose !== 'object' || purpose === null) throw new TypeError('purpose: expected a PurposeDefinition');
  if (requestedFields === null || typeof requestedFields !== 'object' || !(Symbol.iterator in requestedFields)) {
    throw new TypeError('requestedFields: expected an iterable of field names');
  }
  const allowed = new Set(purpose.allowedFields);
  for (const field of requestedFields) {
    if (typeof field !== 'string') throw new TypeError('requestedFields: expected field names (strings)');
    if (!allowed.has(field)) throw new PurposeFieldError(field, purpose.name);
  }
}

/**
 * The most recent PIA of `purpose` assessed at or before `at` (art. 55: the
 * assessment comes *before* processing). Throws {@link PiaMissingError} if
 * there is none, and {@link PiaRetentionError} if the one found is kept for
 * under three years (a registry built in code bypasses the parser's check).
 */
export function assertPiaRecorded(purpose: PurposeDefinition | string, pias: readonly PiaRecord[], at: Date): PiaRecord {
  const name = typeof purpose === 'string' ? purpose : purpose?.name;
  if (typeof name !== 'string') throw new TypeError('purpose: expected a PurposeDefinition or a purpose name');
  if (!Array.isArray(pias)) throw new TypeError('pias: expected an array of PIA records');
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new TypeError('at: expected a valid Date');
  let best: PiaRecord | undefined;
  for (const p of pias) {
    if (p.purpose !== name) continue;
    const t = Date.parse(p.assessedAt);
    if (!(t <= at.getTime())) continue;
    if (best === undefined || t > Date.parse(best.assessedAt)) best = p;
  }
  if (best === undefined) throw new PiaMissingError(name, at);
  assertPiaRetention(best);
  return best;
}

const SEGMENT_FIELDS = ['customer.lifecycle_stage', 'customer.age_band', 'customer.city_level', 'customer.signup_at', 'order.amount', 'order.ordered_at', 'order.returned'];
/** Funnel sessions: how far each visit got, per channel. */
const SESSION_FIELDS = ['session.channel', 'session.viewed', 'session.carted', 'session.ordered'];
/** Campaign responses, without the campaign id (models pool all campaigns of a customer). */
const CAMPAIGN_RESPONSE_FIELDS = ['campaign.variant', 'campaign.exposed', 'campaign.opened', 'campaign.clicked', 'campaign.converted'];
/** The shop's own service figures for the merchant benchmark (business data, no customer). */
const SHOP_METRICS_FIELDS = [
  'shop_metrics.period',
  'shop_metrics.orders',
  'shop_metrics.ratings',
  'shop_metrics.positive_ratings',
  'shop_metrics.returns',
  'shop_metrics.complaints',
  'shop_metrics.inquiries',
  'shop_metrics.response_time_sum_s',
];

/**
 * Built-in purposes. Both drive precision marketing (segment-targeted
 * campaigns, retention offers to likely churners), so both honour the
 * personalised-marketing opt-out; neither reads sensitive PI.
 */
export const DEFAULT_PURPOSES: readonly PurposeDefinition[] = [
  {
    name: 'marketing-analytics',
    description: 'Aggregate segment statistics (customers, repurchase, order value, purchase interval by lifecycle stage), channel funnels, campaign response and A/B lift, and merchant benchmarks across participating shops, released only above the k-subject threshold.',
    legalBasis: 'consent',
    allowedFields: [...SEGMENT_FIELDS, ...SESSION_FIELDS, 'campaign.campaign_id', ...CAMPAIGN_RESPONSE_FIELDS, ...SHOP_METRICS_FIELDS],
    sensitiveAllowed: false,
    retentionDays: 365,
    recipients: ['fedmart platform (coordinator)', 'participating merchants (aggregate results only)'],
    personalisedMarketing: true,
  },
  {
    name: 'churn-modelling',
    description: 'Federated fitting of churn-propensity models from aggregated gradients; each shop scores its own customers locally.',
    legalBasis: 'consent',
    allowedFields: [...SEGMENT_FIELDS, ...CAMPAIGN_RESPONSE_FIELDS, ...SESSION_FIELDS],
    sensitiveAllowed: false,
    retentionDays: 365,
    recipients: ['fedmart platform (coordinator)', 'participating merchants (model parameters only)'],
    personalisedMarketing: true,
  },
];

/** PIAs of {@link DEFAULT_PURPOSES}, assessed before the synthetic history starts. */
export const DEFAULT_PIAS: readonly PiaRecord[] = [
  {
    id: 'PIA-2024-001',
    purpose: 'marketing-analytics',
    assessedAt: '2024-12-01T00:00:00Z',
    reviewer: 'Data protection officer (个人信息保护负责人)',
    summary: 'Segment statistics are computed inside each shop over consented, de-identified customers and leave only as BFV ciphertexts; the key holder releases sums above the k threshold.',
    risks: [
      'Re-identification of a customer from a small segment cell',
      'Inclusion of customers who withdrew consent or refused personalised marketing',
      'Linkage of pseudonyms across shops',
    ],
    measures: [
      'k-subject and m-merchant thresholds before decryption; suppression of small cells',
      'Consent ledger filter at the round cutoff with a signed consent attestation per contribution',
      'HMAC pseudonyms under a per-shop key that never leaves the shop',
    ],
    retainUntil: '2027-12-01T00:00:00Z',
  },
  {
    id: 'PIA-2024-002',
    purpose: 'churn-modelling',
    assessedAt: '2024-12-01T00:00:00Z',
    reviewer: 'Data protection officer (个人信息保护负责人)',
    summary: 'Model training sees only aggregated encrypted gradients; scoring of individual customers happens in the shop that holds them.',
    risks: ['Gradient leakage about individual customers', 'Automated decisions without transparency (art. 24)'],
    measures: ['Only aggregates across shops are decrypted', 'Personalised-marketing opt-out honoured; explanation on request'],
    retainUntil: '2027-12-01T00:00:00Z',
  },
];

/** The default registry, as `fedmart synth` writes it to `purposes.json`. */
export const DEFAULT_PURPOSE_REGISTRY: PurposeRegistry = { version: 1, purposes: DEFAULT_PURPOSES, pias: DEFAULT_PIAS };
