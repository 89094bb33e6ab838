/**
 * Public surface of the consent part of `compliance/`: consent records and
 * their evaluation, the shop's consent ledger, consent attestations,
 * de-identification, the purpose registry with PIAs, and rights requests.
 * `compliance/index.ts` re-exports this file.
 *
 * @module
 */
export {
  CONSENT_CHANNELS,
  ConsentRecordError,
  parseConsentRecord,
  type ConsentChannel,
  type ConsentPurpose,
  type ConsentEvent,
  type ConsentRecord,
} from './consent-record.js';
export { zeroReasonCounts } from './consent-evaluate.js';
export { ConsentLedger, ConsentLedgerError, type RoundConsentFilter } from './consent-ledger.js';
export { AttestationError, buildAttestation, parseAttestation, attestationDigest, checkAttestation, type ConsentAttestation } from './attestation.js';
export {
  DEFAULT_FIELD_CLASSIFICATION,
  readFieldClassification,
  pseudonymise,
  loadOrCreatePseudonymKey,
  generaliseAge,
  generaliseCity,
  type FieldClassification,
  type AgeBand,
} from './deidentify.js';
export {
  DEFAULT_PURPOSES,
  DEFAULT_PURPOSE_REGISTRY,
  PurposeError,
  PurposeFieldError,
  PiaMissingError,
  parsePurposeRegistry,
  readPurposeRegistry,
  getPurpose,
  assertFieldsAllowed,
  assertPiaRecorded,
  type PurposeDefinition,
  type PiaRecord,
  type PurposeRegistry,
} from './purposes.js';
export {
  RIGHTS_REQUEST_TYPES,
  RightsRequestError,
  parseRightsRequest,
  rightsEventForCoordinator,
  type RightsRequestType,
  type RightsRequest,
  type RoundReceipt,
} from './rights.js';
