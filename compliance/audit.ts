/**
 * Public surface of the audit part of compliance/: the RFC 6962 Merkle tree,
 * C2SP signed checkpoints, the audit event catalogue, the append-only audit
 * log over a pluggable store, and signed audit report bundles with their
 * offline verifier and renderers. `compliance/index.ts` re-exports this file.
 *
 * @module
 */
export {
  MERKLE_HASH_BYTES,
  EMPTY_TREE_ROOT,
  MerkleTree,
  leafHash,
  nodeHash,
  rootFromLeafHashes,
  inclusionProof,
  verifyInclusion,
  consistencyProof,
  verifyConsistency,
} from './merkle.js';

export { CheckpointError } from './checkpoint-error.js';
export type { CheckpointErrorCode } from './checkpoint-error.js';

export {
  NOTE_ED25519_TYPE,
  MAX_NOTE_SIGNATURES,
  MAX_NOTE_BYTES,
  isValidKeyName,
  encodeBase64,
  decodeBase64Strict,
  noteKeyId,
  verifierKeyString,
  parseVerifierKey,
  signNote,
  parseNote,
  openNote,
} from './signed-note.js';
export type { NoteSignature, ParsedNote } from './signed-note.js';

export { formatCheckpoint, signCheckpoint, parseCheckpoint, verifyCheckpoint } from './checkpoint.js';
export type { Checkpoint, ParsedCheckpoint } from './checkpoint.js';

export {
  AUDIT_EVENT_SCHEMAS,
  AUDIT_EVENT_TYPES,
  AUDIT_ID_RE,
  REASON_CODE_RE,
  PURPOSE_CODE_RE,
  SLUG_RE,
  GRPC_CODE_NAMES,
  AuditEntryError,
  isEntryOfType,
  validateAuditEvent,
  validateAuditEntry,
  serializeAuditEntry,
  auditLeafData,
  parseAuditEntry,
} from './audit-events.js';
export type { AuditEventType, AuditDetails, AuditEvent, AuditEntry, AuditEntryErrorCode } from './audit-events.js';

export { InMemoryAuditStore } from './audit-store.js';
export type { AuditStore, AuditEntryBuilder, StoredAuditEntry, StoredCheckpoint } from './audit-store.js';

export { AuditLog, AuditLogError } from './audit-log.js';
export type { AuditLogOptions, AuditLogErrorCode, StoredLogReport } from './audit-log.js';

export { verifyAuditEntryProof, verifyAuditConsistency } from './audit-proof.js';
export type { AuditLogKey, AuditProofResult } from './audit-proof.js';

export { auditRegistersSchema, parseAuditRegisters, registersFromConfig } from './audit-registers.js';
export type { AuditRegisters, AuditPurposeRegister, AuditPiaRegister, AuditFieldRegister } from './audit-registers.js';

export { AUDIT_SECTION_NAMES, deriveSections } from './audit-sections.js';
export type {
  AuditSections,
  ProcessingRegisterRow,
  QueryEvidence,
  ConsentSummaryRow,
  RightsRequestsSection,
  PiaRow,
  SecurityEventsSection,
} from './audit-sections.js';

export {
  AUDIT_BUNDLE_FORMAT,
  AUDIT_BUNDLE_FORMAT_V1,
  MAX_BUNDLE_ENTRY_CHARS,
  MAX_BUNDLE_ENTRIES,
  auditBundleSchema,
  bundleSigningDigest,
  signAuditBundle,
  auditBundleDigest,
  exportAuditBundle,
} from './audit-bundle.js';
export type { AuditBundle, AuditBundleEntry, AuditBundleNeighbours, AuditBundleRange, UnsignedAuditBundle, ExportAuditBundleOptions } from './audit-bundle.js';

export { verifyAuditBundle } from './audit-bundle-verify.js';
export type { AuditBundleVerification, AuditBundleSummary } from './audit-bundle-verify.js';

export { renderAuditReportHtml, escapeHtml } from './audit-report-html.js';
export { renderAuditCsv } from './audit-report-csv.js';
export type { AuditCsvFiles } from './audit-report-csv.js';
