/**
 * The bridge between the wire header of a contribution and the envelope a
 * merchant signs: one definition, used by the merchant, the coordinator and
 * the key holder alike, so the three can never disagree on what was signed.
 */
import { blake2b256, type ContributionEnvelope } from '../crypto/index.js';
import type { ContributionHeader } from './gen/fedmart/v1/merchant.js';

export function envelopeOf(h: ContributionHeader): ContributionEnvelope {
  return {
    queryId: h.queryId,
    merchantId: h.merchantId,
    specDigest: h.specDigest,
    keyId: h.keyId,
    paramSet: h.paramSet,
    layoutDigest: h.layoutDigest,
    ciphertextDigests: h.ciphertextDigests,
    ciphertextLengths: h.ciphertextLengths,
    createdUnixMs: h.createdUnixMs,
    nonce: h.nonce,
    attestationDigest: blake2b256(h.consentAttestation),
  };
}
