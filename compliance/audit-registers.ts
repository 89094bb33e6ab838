/**
 * The registers an audit bundle carries beside the log entries: processing
 * purposes, impact assessments (PIAs) and the data classification, as the
 * coordinator's configuration states them.
 *
 * They are the "policies" half of the evidence — what processing was
 * declared — while the log entries are what happened. The bundle signs both
 * and derives its report sections from both, so a reader sees declared and
 * actual side by side (e.g. a purpose used by queries but never registered).
 *
 * Free text (descriptions, PIA summaries, reviewer roles) lives only here,
 * never in log entries; it is configuration, not personal data of customers.
 *
 * @module
 */
import { z } from 'zod';
import { LEGAL_BASES } from './consent-record.js';
import type { LegalBasis } from './consent-record.js';
import type { PurposeRegistry } from './purposes.js';
import type { FieldClassification } from './deidentify.js';

/** One registered purpose. */
export interface AuditPurposeRegister {
  readonly name: string;
  readonly description: string;
  readonly legalBasis: LegalBasis;
  readonly allowedFields: readonly string[];
  readonly retentionDays: number;
  readonly recipients: readonly string[];
}

/** One personal-information protection impact assessment (个人信息保护影响评估). */
export interface AuditPiaRegister {
  readonly id: string;
  readonly purpose: string;
  /** UTC ISO-8601. */
  readonly assessedAt: string;
  readonly summary: string;
  readonly reviewer: string;
  /** UTC ISO-8601. */
  readonly retainUntil: string;
}

/** Classification and grade of one field (数据分类分级). */
export interface AuditFieldRegister {
  readonly field: string;
  readonly class: string;
  readonly grade: string;
  readonly category: string;
}

/** Everything the coordinator declares about its processing. */
export interface AuditRegisters {
  readonly purposes: readonly AuditPurposeRegister[];
  readonly pias: readonly AuditPiaRegister[];
  readonly classification: readonly AuditFieldRegister[];
}

const printable = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'expected text without control characters');
const code = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'expected a code');
const isoish = z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 time');

/** zod schema of {@link AuditRegisters} (strict, bounded). */
export const auditRegistersSchema = z.strictObject({
  purposes: z
    .array(
      z.strictObject({
        name: code,
        description: printable(4096),
        legalBasis: z.enum(LEGAL_BASES),
        allowedFields: z.array(code).max(1000),
        retentionDays: z.number().int().min(0).max(1_000_000),
        recipients: z.array(printable(256)).max(1000),
      }),
    )
    .max(10_000),
  pias: z
    .array(
      z.strictObject({
        id: code,
        purpose: code,
        assessedAt: isoish,
        summary: printable(4096),
        reviewer: printable(256),
        retainUntil: isoish,
      }),
    )
    .max(100_000),
  classification: z
    .array(z.strictObject({ field: code, class: code, grade: code, category: printable(64) }))
    .max(10_000),
});

/**
 * Picks the register fields from the consent part's purpose registry and
 * field classification (the coordinator's `purposes.json` and `fields.json`).
 */
export function registersFromConfig(registry: PurposeRegistry, classification: FieldClassification): AuditRegisters {
  if (typeof registry !== 'object' || registry === null) throw new TypeError('registry must be a PurposeRegistry');
  if (typeof classification !== 'object' || classification === null) throw new TypeError('classification must be a FieldClassification');
  return {
    purposes: registry.purposes.map((p) => ({
      name: p.name,
      description: p.description,
      legalBasis: p.legalBasis,
      allowedFields: [...p.allowedFields],
      retentionDays: p.retentionDays,
      recipients: [...p.recipients],
    })),
    pias: registry.pias.map((p) => ({
      id: p.id,
      purpose: p.purpose,
      assessedAt: p.assessedAt,
      summary: p.summary,
      reviewer: p.reviewer,
      retainUntil: p.retainUntil,
    })),
    classification: classification.fields.map((f) => ({ field: f.field, class: f.class, grade: f.grade, category: f.category })),
  };
}

/** Validates registers from untrusted input; throws TypeError naming the first bad path. */
export function parseAuditRegisters(json: unknown): AuditRegisters {
  const r = auditRegistersSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue === undefined ? '' : issue.path.map(String).join('.');
  throw new TypeError(`registers${path === '' ? '' : `.${path}`}: ${issue?.message ?? 'invalid'}`);
}
