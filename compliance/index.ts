/**
 * Public surface of `compliance/`: the consent part (consent records and
 * ledger, attestations, de-identification, purposes and PIAs, rights
 * requests) and the audit part (Merkle log, checkpoints, audit bundles).
 */
export * from './consent.js';
export * from './audit.js';
