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
  encodeConsentRecord,
  type ConsentChannel,
  type ConsentPurpose,
  type ConsentEvent,
  type ConsentRecord,
} from './consent-record.js';
export { EXCLUSION_REASONS, evaluateConsent, zeroReasonCounts, type ExclusionReason } from './consent-evaluate.js';
export { ConsentLedger, ConsentLedgerError, type RoundConsentFilter } from './consent-ledger.js';
export {
  AttestationError,
  buildAttestation,
  parseAttestation,
  encodeAttestation,
  attestationDigest,
  checkAttestation,
  type ConsentAttestation,
} from './attestation.js';
export {
  DEFAULT_FIELD_CLASSIFICATION,
  AGE_BANDS,
  CITY_LEVELS,
  DeidentificationError,
  parseFieldClassification,
  readFieldClassification,
  classifyField,
  pseudonymise,
  loadOrCreatePseudonymKey,
  generaliseAge,
  generaliseCity,
  deidentifyCustomer,
  type FieldClassification,
  type AgeBand,
} from './deidentify.js';
export {
  DEFAULT_PURPOSES,
  DEFAULT_PIAS,
  DEFAULT_PURPOSE_REGISTRY,
  PurposeError,
  PurposeFieldError,
  PiaMissingError,
  PiaRetentionError,
  UnknownPurposeError,
  minimumPiaRetention,
  assertPiaRetention,
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
