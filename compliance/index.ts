/**
 * Public surface of `compliance/`: the consent part (consent records and
 * ledger, attestations, de-identification, purposes and PIAs, rights
 * requests), the audit part (Merkle log, checkpoints, audit bundles) and
 * disclosure control (thresholds, suppression, differential privacy).
 */
export * from './consent.js';
export * from './audit.js';
export * from './disclosure/index.js';
export { ROW_SET_MAX_K, rowSetPowers, buildRowSetSketch, contributionRowSet } from './row-set.js';
