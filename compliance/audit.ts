/**
 * Public surface of the audit part of compliance/: the RFC 6962 Merkle tree,
 * C2SP signed checkpoints, the audit event catalogue, the append-only audit
 * log over a pluggable store, and signed audit report bundles with their
 * offline verifier and renderers. `compliance/index.ts` re-exports this file.
 *
 * @module
 */
export { MerkleTree, leafHash, verifyInclusion } from './merkle.js';

export { CheckpointError } from './checkpoint-error.js';

export { noteKeyId, verifierKeyString, parseVerifierKey, signNote, parseNote, openNote } from './signed-note.js';

export { formatCheckpoint, signCheckpoint, parseCheckpoint, verifyCheckpoint } from './checkpoint.js';

export {
  AUDIT_EVENT_TYPES,
  AUDIT_ID_RE,
  AuditEntryError,
  validateAuditEvent,
  validateAuditEntry,
  serializeAuditEntry,
  auditLeafData,
  parseAuditEntry,
} from './audit-events.js';
export type { AuditEvent, AuditEntry } from './audit-events.js';

export { InMemoryAuditStore } from './audit-store.js';
export type { AuditStore, AuditEntryBuilder, StoredAuditEntry, StoredCheckpoint } from './audit-store.js';

export { AuditLog, AuditLogError } from './audit-log.js';
export type { StoredLogReport } from './audit-log.js';

export { verifyAuditEntryProof, verifyAuditConsistency } from './audit-proof.js';
export type { AuditLogKey } from './audit-proof.js';

export { registersFromConfig } from './audit-registers.js';
export type { AuditRegisters } from './audit-registers.js';

export { deriveSections } from './audit-sections.js';

export { auditBundleSchema, bundleSigningDigest, signAuditBundle, exportAuditBundle } from './audit-bundle.js';
export type { AuditBundle, UnsignedAuditBundle } from './audit-bundle.js';

export { verifyAuditBundle } from './audit-bundle-verify.js';
export type { AuditBundleVerification } from './audit-bundle-verify.js';

export { renderAuditReportHtml } from './audit-report-html.js';
export { renderAuditCsv } from './audit-report-csv.js';
