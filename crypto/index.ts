/**
 * Public surface of the crypto module (the leaf of the dependency graph):
 * BFV parameters, context, keys, encryption, addition and structural
 * validation through node-seal; packed ciphertexts for the wire and a
 * SEAL-free accumulator that validates and adds them; fixed-point slot
 * layouts; Ed25519, BLAKE2b and canonical encoding through libsodium; signed
 * contribution envelopes; enrolment tokens and key evidence; hex and byte
 * helpers.
 */
export {
  FedmartCryptoError,
  CiphertextFormatError,
  OverflowRiskError,
  NoiseBudgetExhaustedError,
} from './errors.js';

export { HE_PARAM_SETS, DEFAULT_HE_PARAM_SET, getHeParamSet } from './params.js';
export type { HeParamSetName } from './params.js';

export { HeContext } from './context.js';
export { generateHeKeys, HeEncryptor, HeDecryptor } from './keys.js';
export { packCiphertext, validatePackedCiphertext, unpackCiphertext } from './packed-ciphertext.js';
export { CiphertextAccumulator } from './ciphertext-accumulator.js';
export { PooledEncryptor, DEFAULT_ENC_ZERO_POOL_SIZE, MAX_ENC_ZERO_POOL_SIZE } from './enc-zero-pool.js';
export { SealWorker, SealWorkerFaultError } from './seal-worker.js';
export type { SealWorkerOptions } from './seal-worker.js';

export { SlotLayout, parseFixedPoint, formatFixedPoint } from './fixed-point.js';

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
  SIGNATURE_BYTES,
} from './sign.js';
export type { SigningKeyPair } from './sign.js';
export { isBytes } from './assert.js';

export { canonicalEncode, statementDigest } from './canonical.js';
export type { CanonicalValue } from './canonical.js';

export {
  envelopeDigest,
  signEnvelope,
  verifyEnvelope,
  validateEnvelope,
  enrolmentDigest,
  publicKeyBundleDigest,
  heKeyId,
  ENVELOPE_NONCE_BYTES,
} from './envelope.js';
export type { ContributionEnvelope } from './envelope.js';
export { loadOrCreateSeedFile } from './seed-file.js';
export { sumPackedContributions, sumStageSizes, byMerchantId } from './sum-contributions.js';
export {
  issueEnrolmentToken,
  parseEnrolmentToken,
  enrolmentEvidence,
  verifyKeyEvidence,
  rotateKeyEvidence,
  keyEvidenceUpTo,
  currentKeyOf,
  keyEvidenceToJson,
  keyEvidenceFromJson,
  authorityPublicKeyOf,
  KeyEvidenceError,
} from './enrolment-token.js';
export type { KeyEvidence, KeyRotation } from './enrolment-token.js';
