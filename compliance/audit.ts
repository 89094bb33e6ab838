/**
 * Public surface of the audit part of compliance/: the RFC 6962 Merkle tree,
 * C2SP signed checkpoints, the audit event catalogue, the append-only audit
 * log over a pluggable store, and signed audit report bundles with their
 * offline verifier and renderers. `compliance/index.ts` re-exports this file.
 *
 * @module
 */
export { verifierKeyString } from './signed-note.js';

export { AUDIT_ID_RE } from './audit-events.js';
export type { AuditEvent, AuditEntry } from './audit-events.js';

export type { AuditStore, AuditEntryBuilder, StoredAuditEntry, StoredCheckpoint } from './audit-store.js';

export { AuditLog, AuditLogError } from './audit-log.js';

export { registersFromConfig } from './audit-registers.js';
export type { AuditRegisters } from './audit-registers.js';

export { deriveSections } from './audit-sections.js';
export { consentFigures } from './consent-figures.js';
export { rightsRegister } from './audit-sections-rights.js';
export type { RightsRegister, RightsRegisterRow } from './audit-sections-rights.js';
export type { ConsentFigures, ConsentPeriodFigures, PurposeConsentFigures } from './consent-figures.js';

export { auditBundleSchema, exportAuditBundle } from './audit-bundle.js';
export type { AuditBundle } from './audit-bundle.js';

export { verifyAuditBundle } from './audit-bundle-verify.js';
export type { AuditBundleVerification } from './audit-bundle-verify.js';

export { renderAuditReportHtml } from './audit-report-html.js';
export { renderAuditCsv } from './audit-report-csv.js';
