/**
 * Public surface of the crypto module (the leaf of the dependency graph):
 * BFV parameters, context, keys, encryption, addition and structural
 * validation through node-seal; packed ciphertexts for the wire and a
 * SEAL-free accumulator that validates and adds them; fixed-point slot
 * layouts; Ed25519, BLAKE2b and canonical encoding through libsodium; signed
 * contribution envelopes.
 */
export {
  FedmartCryptoError,
  CiphertextFormatError,
  OverflowRiskError,
  NoiseBudgetExhaustedError,
} from './errors.js';
export type { CiphertextFormatErrorCode } from './errors.js';

export { HE_PARAM_SETS, DEFAULT_HE_PARAM_SET, getHeParamSet, isHeParamSetName } from './params.js';
export type { HeParamSetName, HeParamSet } from './params.js';

export { HeContext } from './context.js';
export { generateHeKeys, HeEncryptor, HeDecryptor } from './keys.js';
export { packCiphertext, validatePackedCiphertext, unpackCiphertext } from './packed-ciphertext.js';
export { CiphertextAccumulator } from './ciphertext-accumulator.js';
export {
  EncZeroPool,
  PooledEncryptor,
  encryptWithZero,
  DEFAULT_ENC_ZERO_POOL_SIZE,
  MAX_ENC_ZERO_POOL_SIZE,
} from './enc-zero-pool.js';
export type { EncZeroSource, PooledEncryptorOptions } from './enc-zero-pool.js';
export { SealWorker, SealWorkerFaultError } from './seal-worker.js';
export type { SealWorkerOptions, SealWorkerFaultCode, TestFault } from './seal-worker.js';

export {
  SlotLayout,
  parseFixedPoint,
  formatFixedPoint,
  MAX_SCALE_DIGITS,
  MAX_LIMB_BITS,
  MIN_LIMB_BITS,
  MAX_LAYOUT_CIPHERTEXTS,
  SLOT_LAYOUT_DOMAIN,
} from './fixed-point.js';
export type { FieldSpec, SlotLayoutOptions } from './fixed-point.js';

export {
  cryptoReady,
  generateSigningKeyPair,
  signingKeyPairFromSeed,
  signDigest,
  verifyDigest,
  blake2b256,
  blake2b,
  randomBytes,
  toHex,
  fromHex,
  constantTimeEqual,
  SIGNING_PUBLIC_KEY_BYTES,
  SIGNING_SECRET_KEY_BYTES,
  SIGNING_SEED_BYTES,
  SIGNATURE_BYTES,
  DIGEST_BYTES,
} from './sign.js';
export type { SigningKeyPair } from './sign.js';
export { isBytes } from './assert.js';

export { canonicalEncode, statementDigest, CANONICAL_MAX_DEPTH } from './canonical.js';
export type { CanonicalValue } from './canonical.js';

export {
  envelopeDigest,
  signEnvelope,
  verifyEnvelope,
  validateEnvelope,
  enrolmentDigest,
  publicKeyBundleDigest,
  heKeyId,
  ENVELOPE_DOMAIN,
  ENROLMENT_DOMAIN,
  PUBLIC_KEY_BUNDLE_DOMAIN,
  ENVELOPE_NONCE_BYTES,
  ENVELOPE_NONCE_MIN_BYTES,
  ENVELOPE_NONCE_MAX_BYTES,
} from './envelope.js';
export type { ContributionEnvelope } from './envelope.js';
export { loadOrCreateSeedFile, SeedFileError, SEED_FILE_BYTES } from './seed-file.js';
export { sumPackedContributions } from './sum-contributions.js';
export {
  issueEnrolmentToken,
  formatEnrolmentToken,
  parseEnrolmentToken,
  enrolmentEvidence,
  verifyKeyEvidence,
  rotateKeyEvidence,
  keyEvidenceUpTo,
  currentKeyOf,
  keyEvidenceToJson,
  keyEvidenceFromJson,
  authorityPublicKeyOf,
  enrolmentTokenDigest,
  tokenBindingDigest,
  keyRotationDigest,
  KeyEvidenceError,
  ENROLMENT_TOKEN_DOMAIN,
  TOKEN_BINDING_DOMAIN,
  KEY_ROTATION_DOMAIN,
  DEFAULT_TOKEN_LIFETIME_MS,
  TOKEN_ID_BYTES,
  MAX_KEY_ROTATIONS,
} from './enrolment-token.js';
export type {
  EnrolmentToken,
  EnrolmentTokenStatement,
  KeyEvidence,
  KeyEvidenceErrorCode,
  KeyRotation,
  VerifiedKeyEvidence,
} from './enrolment-token.js';
